//! Storage errors, kept apart from diesel's so callers never match on driver details.

/// What can go wrong below the service layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No pooled connection became free in time: the caller answers 503 and the client retries.
    #[error("database busy: no connection available")]
    Busy,
    /// The row asked for does not exist (or belongs to another tenant: callers cannot tell).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated (e.g. the same NIP twice).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database could not be opened or reached; the message says why in plain words.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else from the driver.
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
    /// A state change the state table does not allow (a programming error); nothing written.
    #[error("{0}")]
    ForbiddenMove(#[from] crate::domain::ForbiddenMove),
}

impl DbError {
    /// Turns diesel's NotFound and unique violations into our variants; keeps the rest.
    pub fn from_diesel(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::Conflict(info.message().to_owned())
            }
            // The server went away under the connection (restart, terminated backend, network):
            // transient, unlike a bad query; the pool drops the broken connection.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(format!("the database connection was lost: {}", info.message().trim())),
            other => Self::Query(other),
        }
    }
}
