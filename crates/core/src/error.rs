//! The error every LifeOS service returns: what went wrong, in terms a caller can match on.

use sea_orm::{DbErr, SqlErr};

/// A failed LifeOS operation. Nothing was written when one is returned (the one exception,
/// a replayed refresh token, is documented on [`crate::identity::sessions::refresh`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// The email and password do not match an account. An unknown email and a wrong password
    /// give this same error, so a caller cannot learn which accounts exist.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The account exists and the credentials are right, but it has been deactivated.
    #[error("account is deactivated")]
    AccountInactive,
    /// The acting user lacks a permission the operation requires.
    #[error("permission `{permission}` required")]
    Forbidden {
        /// The permission code that was required (`"finance:write"`, …).
        permission: String,
    },
    /// A session, refresh or password-reset token was refused.
    #[error("token rejected: {0}")]
    Token(TokenProblem),
    /// Stored ciphertext could not be opened: the key is wrong or the bytes were altered.
    #[error("cannot decrypt stored {what}: wrong key or altered data")]
    Decrypt {
        /// What was being decrypted (`"access token"`, …).
        what: &'static str,
    },
    /// The operating system's randomness or a hashing primitive failed.
    #[error("cryptographic failure: {0}")]
    Crypto(String),
    /// Any other database failure.
    #[error(transparent)]
    Db(DbErr),
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    /// No such token (or it belongs to nobody the caller may see).
    Unknown,
    /// The token's lifetime is over.
    Expired,
    /// The token, or the session it belongs to, was revoked.
    Revoked,
    /// The single-use token was already used.
    Used,
    /// Too many requests for a token in a period (password-reset requests per hour).
    TooManyAttempts,
}

impl std::fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unknown => "unknown token",
            Self::Expired => "token expired",
            Self::Revoked => "token revoked",
            Self::Used => "token already used",
            Self::TooManyAttempts => "too many requests, try again later",
        })
    }
}

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// An [`Error::NotFound`] for the row `id` of `entity`.
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }
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
