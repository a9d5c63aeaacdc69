//! `lifeos-core` — what every LifeOS domain shares above the entities: for now the service
//! error type; the kernel services (accounts, access control, preferences, outbox, audit)
//! follow in their own issue.
//!
//! Services across the workspace return [`Error`]: a caller matches on `NotFound`,
//! `Conflict` and `Invalid` instead of parsing database messages, because database unique
//! and foreign-key violations are classified on the way out (`From<DbErr>`).

pub mod error;
pub use error::{Error, Result};
