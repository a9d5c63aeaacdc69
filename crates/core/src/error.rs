//! The error every LifeOS service returns: what went wrong, in terms a caller can match on.

use sea_orm::{DbErr, SqlErr};

/// A failed LifeOS operation. Nothing was written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The row does not exist, or belongs to another user (the two are indistinguishable).
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of row (`"journal entry"`, …).
        entity: &'static str,
        /// Its id, as text.
        id: String,
    },
    /// The write would break a uniqueness rule (a duplicate email, name, key, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input is not acceptable.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field (`"reference"` when a referenced row is missing).
        field: &'static str,
        /// Why, for a human.
        reason: String,
    },
    /// Any other database failure.
    #[error(transparent)]
    Db(DbErr),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<DbErr> for Error {
    /// Unique violations become [`Error::Conflict`] and foreign-key violations
    /// [`Error::Invalid`] (`field = "reference"`); everything else stays [`Error::Db`].
    fn from(error: DbErr) -> Self {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => Error::Conflict(detail),
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => Error::Invalid {
                field: "reference",
                reason: detail,
            },
            _ => Error::Db(error),
        }
    }
}
