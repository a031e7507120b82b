//! People who log in to the panel, and their panel sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{user_sessions, users};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, UserId, UserSessionId};

/// A user as stored (the password only as an argon2id PHC string).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    /// The company of a board member; None for office staff.
    pub client_id: Option<ClientId>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub client_id: Option<&'a ClientId>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
}

/// A panel session row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_sessions)]
pub struct UserSession {
    pub id: UserSessionId,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub ip: Option<String>,
}

impl User {
    pub fn insert(conn: &mut AnyConn, row: &NewUser<'_>) -> Result<(), DbError> {
        diesel::insert_into(users::table).values(row).execute(conn)?;
        Ok(())
    }

    pub fn find(conn: &mut AnyConn, id: &UserId) -> Result<Option<Self>, DbError> {
        Ok(users::table.find(id).select(Self::as_select()).first(conn).optional()?)
    }

    /// E-mail addresses are stored lower-case, so look-ups are exact.
    pub fn find_by_email(conn: &mut AnyConn, email: &str) -> Result<Option<Self>, DbError> {
        Ok(users::table.filter(users::email.eq(email)).select(Self::as_select()).first(conn).optional()?)
    }

    pub fn list(conn: &mut AnyConn) -> Result<Vec<Self>, DbError> {
        Ok(users::table.order(users::email.asc()).select(Self::as_select()).load(conn)?)
    }

    /// Turns an account off or back on; a disabled account's sessions stop at once
    /// (`find_live` skips them) and are revoked by the caller as well.
    pub fn set_disabled(conn: &mut AnyConn, id: &UserId, disabled: bool) -> Result<(), DbError> {
        diesel::update(users::table.find(id)).set(users::disabled.eq(disabled)).execute(conn)?;
        Ok(())
    }

    pub fn set_password_hash(conn: &mut AnyConn, id: &UserId, phc: &str) -> Result<(), DbError> {
        diesel::update(users::table.find(id)).set(users::password_hash.eq(phc)).execute(conn)?;
        Ok(())
    }

    /// The active board members of a client company.
    pub fn board_of(conn: &mut AnyConn, client_id: &ClientId) -> Result<Vec<Self>, DbError> {
        Ok(users::table
            .filter(users::client_id.eq(client_id))
            .filter(users::disabled.eq(false))
            .order(users::email.asc())
            .select(Self::as_select())
            .load(conn)?)
    }

    pub fn record_login(conn: &mut AnyConn, id: &UserId, at: NaiveDateTime) -> Result<(), DbError> {
        diesel::update(users::table.find(id)).set(users::last_login_at.eq(Some(at))).execute(conn)?;
        Ok(())
    }
}

impl UserSession {
    pub fn insert(
        conn: &mut AnyConn,
        id: &UserSessionId,
        user_id: &UserId,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
        ip: Option<&str>,
    ) -> Result<(), DbError> {
        diesel::insert_into(user_sessions::table)
            .values((
                user_sessions::id.eq(id),
                user_sessions::user_id.eq(user_id),
                user_sessions::created_at.eq(now),
                user_sessions::expires_at.eq(expires_at),
                user_sessions::ip.eq(ip),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// The session with its user, when the session is neither revoked nor expired and the user
    /// is not disabled.
    pub fn find_live(
        conn: &mut AnyConn,
        id: &UserSessionId,
        now: NaiveDateTime,
    ) -> Result<Option<(Self, User)>, DbError> {
        Ok(user_sessions::table
            .inner_join(users::table)
            .filter(user_sessions::id.eq(id))
            .filter(user_sessions::revoked_at.is_null())
            .filter(user_sessions::expires_at.gt(now))
            .filter(users::disabled.eq(false))
            .select((Self::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    }

    /// Revokes every live session of a user except `keep` (the session changing its own
    /// password stays logged in); returns how many were revoked.
    pub fn revoke_all_of(
        conn: &mut AnyConn,
        user_id: &UserId,
        keep: Option<&UserSessionId>,
        now: NaiveDateTime,
    ) -> Result<usize, DbError> {
        let live = user_sessions::table
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::revoked_at.is_null())
            .filter(user_sessions::id.ne(keep.map_or("", UserSessionId::as_str)));
        Ok(diesel::update(live).set(user_sessions::revoked_at.eq(Some(now))).execute(conn)?)
    }

    pub fn revoke(conn: &mut AnyConn, id: &UserSessionId, now: NaiveDateTime) -> Result<(), DbError> {
        diesel::update(user_sessions::table.find(id).filter(user_sessions::revoked_at.is_null()))
            .set(user_sessions::revoked_at.eq(Some(now)))
            .execute(conn)?;
        Ok(())
    }
}
