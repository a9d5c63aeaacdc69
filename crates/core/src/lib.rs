//! `lifeos-core` — the kernel services every LifeOS domain and consuming service relies on,
//! the error type they all return, and the helpers every domain shares.
//!
//! The modules are grouped as `lifeos-entity` groups the kernel's tables:
//!
//! | group | module | what it does |
//! |---|---|---|
//! | [`identity`] | [`accounts`](identity::accounts) | register, sign in, profile (name, time zone, email), password, deactivate, delete |
//! | | [`sessions`](identity::sessions) | opaque session and refresh tokens, absolute lifetime, reuse detection, admin reset |
//! | | [`password_reset`](identity::password_reset) | single-use, expiring reset tokens, rate-limited requests |
//! | | [`blocklist`](identity::blocklist) | revoked JWT ids with their expiry |
//! | | [`access`](identity::access) | roles, permissions, `has_permission` / `require_permission`, bootstrap admin |
//! | | [`preferences`](identity::preferences) | per-user settings with documented defaults |
//! | [`platform`] | [`outbox`](platform::outbox) | the transactional outbox: enqueue, fenced claims, retry, dead-letter |
//! | | [`audit`](platform::audit) | the event log (`event_record`) and insights (`insight_record`) |
//! | | [`readmodels`](platform::readmodels) | read-model registrations and replay runs |
//! | [`calendar`] | [`credentials`](calendar::credentials) | calendar OAuth tokens, encrypted at rest, key rotation |
//! | shared | [`days`] | **the user's local day**: one definition for every domain |
//! | | [`validate`], [`Error`] | input checks and the error every service returns |
//! | | [`db`] | write transactions that serialise on both backends, exact prefix matches |
//!
//! Every service is a set of async functions generic over the executor (`C: ConnectionTrait`,
//! plus `TransactionTrait` where an operation writes several rows), so a caller can compose
//! services in one transaction. Each operation acts for one user and sees only that user's
//! rows — another user's id behaves like a missing one ([`Error::NotFound`]). Input is
//! validated before anything is written; a failed operation writes nothing.
//!
//! # Concurrency
//! Operations that read and then write (refresh a token, claim a reset token, bootstrap the
//! first administrator, …) stay correct when two run at once: on PostgreSQL they lock the
//! rows they decide on (`SELECT … FOR UPDATE`, or a conditional `UPDATE` whose row lock
//! makes the second caller re-check); on SQLite their transactions begin `IMMEDIATE`, so
//! writers queue for the database's one write lock (the connection's busy timeout) instead
//! of failing half-way with `SQLITE_BUSY`.
//!
//! # Local days
//! Every day-valued field of every domain (a journal entry's date, a habit log's day, a
//! health summary's date, a schedule's date) is the user's **local calendar day** (DECISIONS
//! 8), computed by [`days::LocalDays`] from the user's IANA time zone (`user.timezone`, the
//! one source: the `timezone` preference reads and writes it) and their `day_starts_at`
//! preference (`HH:MM`, default `00:00`). A log at 01:30 with day start 04:00 belongs to the
//! day before; 23:30 in Asia/Seoul is that Seoul date, not the UTC one. Daylight-saving gaps
//! and overlaps are resolved as documented on [`days`].
//!
//! ```
//! use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
//! use lifeos_core::days::LocalDays;
//!
//! let days = LocalDays::new(chrono_tz::Asia::Seoul, NaiveTime::MIN);
//! let instant = Utc.with_ymd_and_hms(2026, 3, 1, 14, 30, 0).unwrap(); // 23:30 in Seoul
//! assert_eq!(days.day_of(instant), NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
//! let (start, end) = days.range(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
//! assert!(start <= instant && instant < end);
//! ```
//!
//! # Secrets
//! DECISIONS 16: argon2id password hashes; session, refresh and reset tokens are 256 random
//! bits handed to the caller once, of which only the SHA-256 is stored; calendar tokens are
//! sealed with XChaCha20-Poly1305 under a [`CredentialKey`] the caller supplies. Every type
//! that carries a password, token or key prints it as `..` in its `Debug` output, and keys
//! and decrypted tokens are zeroized when dropped.

pub mod calendar;
pub mod days;
pub mod db;
pub mod error;
pub mod identity;
pub mod platform;
mod secret;
pub mod validate;

pub use error::{Error, Result, TokenProblem};
pub use secret::CredentialKey;
