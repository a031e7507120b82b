//! When each person last opened each list: what was stored since is "nowe" for them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::list_visits;
use crate::db::{AnyConn, DbError};
use crate::domain::{ListVisitId, UserId};

/// Records that `user_id` opened the list `list_key` at `at`; returns the previous visit (None
/// on the first).
pub fn visit(
    conn: &mut AnyConn,
    user_id: &UserId,
    list_key: &str,
    at: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, DbError> {
    let previous: Option<NaiveDateTime> = list_visits::table
        .filter(list_visits::user_id.eq(user_id))
        .filter(list_visits::list_key.eq(list_key))
        .select(list_visits::visited_at)
        .first(conn)
        .optional()?;
    let row = (
        list_visits::id.eq(ListVisitId::new()),
        list_visits::user_id.eq(user_id),
        list_visits::list_key.eq(list_key),
        list_visits::visited_at.eq(at),
    );
    // Two tabs opening the list at once both land: the later time wins.
    match conn {
        AnyConn::Pg(pg) => diesel::insert_into(list_visits::table)
            .values(row)
            .on_conflict((list_visits::user_id, list_visits::list_key))
            .do_update()
            .set(list_visits::visited_at.eq(at))
            .execute(pg)?,
        AnyConn::Sqlite(lite) => diesel::insert_into(list_visits::table)
            .values(row)
            .on_conflict((list_visits::user_id, list_visits::list_key))
            .do_update()
            .set(list_visits::visited_at.eq(at))
            .execute(lite)?,
    };
    Ok(previous)
}
