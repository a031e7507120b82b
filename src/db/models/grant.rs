//! Delegations: (user, client, permissions), who granted them and from which grant they derive.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{clients, grants, users};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, GrantId, UserId};

/// A grant as stored; `permissions` is a comma-separated list.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = grants)]
pub struct Grant {
    pub id: GrantId,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub permissions: String,
    pub can_delegate: bool,
    /// The person who granted it; None when the operator did.
    pub granted_by: Option<UserId>,
    pub parent_grant_id: Option<GrantId>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<UserId>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = grants)]
pub struct NewGrant<'a> {
    pub id: &'a GrantId,
    pub user_id: &'a UserId,
    pub client_id: &'a ClientId,
    pub permissions: &'a str,
    pub can_delegate: bool,
    pub granted_by: Option<&'a UserId>,
    pub parent_grant_id: Option<&'a GrantId>,
    pub created_at: NaiveDateTime,
}

impl Grant {
    pub fn insert(conn: &mut AnyConn, row: &NewGrant<'_>) -> Result<(), DbError> {
        diesel::insert_into(grants::table).values(row).execute(conn)?;
        Ok(())
    }

    /// The user's live (unrevoked) grants, optionally on one client.
    pub fn live_for_user(
        conn: &mut AnyConn,
        user_id: &UserId,
        client_id: Option<&ClientId>,
    ) -> Result<Vec<Self>, DbError> {
        let mut q = grants::table
            .filter(grants::user_id.eq(user_id))
            .filter(grants::revoked_at.is_null())
            .into_boxed();
        if let Some(c) = client_id {
            q = q.filter(grants::client_id.eq(c.to_owned()));
        }
        Ok(q.order(grants::created_at.asc()).select(Self::as_select()).load(conn)?)
    }

    /// Live grants on a client with the grantee's e-mail, for the access page.
    pub fn live_for_client(conn: &mut AnyConn, client_id: &ClientId) -> Result<Vec<(Self, String)>, DbError> {
        Ok(grants::table
            .inner_join(users::table.on(users::id.eq(grants::user_id)))
            .filter(grants::client_id.eq(client_id))
            .filter(grants::revoked_at.is_null())
            .order(grants::created_at.asc())
            .select((Self::as_select(), users::email))
            .load(conn)?)
    }

    pub fn find_live(conn: &mut AnyConn, id: &GrantId) -> Result<Option<Self>, DbError> {
        Ok(grants::table
            .find(id)
            .filter(grants::revoked_at.is_null())
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Revokes a grant and, transitively, every live grant derived from it. Returns the ids.
    pub fn revoke_tree(
        conn: &mut AnyConn,
        root: &GrantId,
        by: Option<&UserId>,
        at: NaiveDateTime,
    ) -> Result<Vec<GrantId>, DbError> {
        let mut revoked = Vec::new();
        let mut frontier = vec![root.clone()];
        while !frontier.is_empty() {
            diesel::update(
                grants::table.filter(grants::id.eq_any(&frontier)).filter(grants::revoked_at.is_null()),
            )
            .set((grants::revoked_at.eq(Some(at)), grants::revoked_by.eq(by)))
            .execute(conn)?;
            revoked.extend(frontier.iter().cloned());
            frontier = grants::table
                .filter(grants::parent_grant_id.eq_any(&frontier))
                .filter(grants::revoked_at.is_null())
                .select(grants::id)
                .load(conn)?;
        }
        Ok(revoked)
    }

    /// Ids of the clients on which the user holds a live grant.
    pub fn client_ids_for_user(conn: &mut AnyConn, user_id: &UserId) -> Result<Vec<ClientId>, DbError> {
        Ok(grants::table
            .inner_join(clients::table)
            .filter(grants::user_id.eq(user_id))
            .filter(grants::revoked_at.is_null())
            .select(grants::client_id)
            .distinct()
            .load(conn)?)
    }
}
