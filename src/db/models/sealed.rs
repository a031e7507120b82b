//! What the rows holding a sealed secret share: its key version, nonce and ciphertext columns,
//! replaced together; and, for the KSeF credentials among them (a client's, the office's), how
//! the last login with it ended.

/// Declares, in the impl of a row type, `reseal(conn, id, key_version, nonce, ciphertext)`:
/// replaces one row's sealed bytes (a new secret, or the same one re-sealed under a new master
/// key) in one UPDATE of the table's three columns, named in that order. The type in
/// parentheses is the table's id (`str` where it is still text).
macro_rules! reseal {
    ($(#[$doc:meta])* $table:ident ($id:ty): $version:ident, $nonce:ident, $ciphertext:ident) => {
        $(#[$doc])*
        pub fn reseal(
            conn: &mut AnyConn,
            id: &$id,
            key_version: i64,
            nonce: &[u8],
            ciphertext: &[u8],
        ) -> Result<(), DbError> {
            diesel::update($table::table.find(id))
                .set((
                    $table::$version.eq(key_version),
                    $table::$nonce.eq(nonce),
                    $table::$ciphertext.eq(ciphertext),
                ))
                .execute(conn)?;
            Ok(())
        }
    };
}

/// Declares, in the impl of a credential row type, `record_auth(conn, id, at, error)`: records
/// how a login with the credential ended, its time when it worked (clearing the last error), or
/// the error in words (keeping when it last worked). The type in parentheses is the table's id.
macro_rules! record_auth {
    ($(#[$doc:meta])* $table:ident ($id:ty)) => {
        $(#[$doc])*
        pub fn record_auth(
            conn: &mut AnyConn,
            id: &$id,
            at: NaiveDateTime,
            error: Option<&str>,
        ) -> Result<(), DbError> {
            let target = $table::table.find(id);
            match error {
                None => diesel::update(target)
                    .set(($table::last_auth_ok_at.eq(Some(at)), $table::last_auth_error.eq(None::<String>)))
                    .execute(conn)?,
                Some(e) => diesel::update(target).set($table::last_auth_error.eq(Some(e))).execute(conn)?,
            };
            Ok(())
        }
    };
}

pub(crate) use {record_auth, reseal};
