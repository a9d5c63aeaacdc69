//! `lifeos-core` — the kernel services every LifeOS domain and consuming service relies on,
//! and the error type they all return.
//!
//! | module | what it does |
//! |---|---|
//! | [`accounts`] | register, authenticate, change password, deactivate, delete a user and all they own |
//! | [`sessions`] | opaque session and refresh tokens, their lifecycle, admin reset |
//! | [`blocklist`] | revoked JWT ids with their expiry |
//! | [`password_reset`] | single-use, expiring reset tokens |
//! | [`access`] | roles, permissions, `has_permission` / `require_permission` |
//! | [`preferences`] | per-user settings with documented defaults |
//! | [`outbox`] | the transactional outbox: enqueue, claim, acknowledge, retry, dead-letter |
//! | [`audit`] | the event log (`event_record`) and insights (`insight_record`) |
//! | [`readmodels`] | read-model registrations and replay runs |
//! | [`calendar_credentials`] | calendar OAuth tokens, encrypted at rest |
//!
//! Every service is a set of async functions generic over the executor (`C: ConnectionTrait`,
//! plus `TransactionTrait` where an operation writes several rows), so a caller can compose
//! services in one transaction. Each operation acts for one user and sees only that user's
//! rows — another user's id behaves like a missing one ([`Error::NotFound`]). Input is
//! validated before anything is written; a failed operation writes nothing.
//!
//! Secrets follow DECISIONS 16: argon2id password hashes; session, refresh and reset tokens
//! are 256 random bits handed to the caller once, of which only the SHA-256 is stored;
//! calendar tokens are sealed with XChaCha20-Poly1305 under a [`CredentialKey`] the caller
//! supplies.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod blocklist;
pub mod calendar_credentials;
pub mod error;
pub mod outbox;
pub mod password_reset;
pub mod preferences;
pub mod readmodels;
mod secret;
pub mod sessions;
pub mod validate;

pub use error::{Error, Result, TokenProblem};
pub use secret::CredentialKey;
