//! Identity: who a user is and how they prove it — accounts and their profile, sessions,
//! password resets, revoked JWTs, roles and permissions, preferences.
//!
//! The modules depend on one another in one direction only: [`accounts`] uses [`sessions`],
//! [`access`] and [`password_reset`]; [`password_reset`] uses [`sessions`]; [`sessions`] uses
//! [`access`]; all of them find users through the crate-private `users` lookup, and
//! [`crate::days`] reads [`preferences`] (never the other way round).

pub mod access;
pub mod accounts;
pub mod blocklist;
pub mod password_reset;
pub mod preferences;
pub mod sessions;
pub(crate) mod users;
