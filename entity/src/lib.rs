//! `lifeos-entity` — the shared kernel of the LifeOS data layer.
//!
//! It holds what every domain may reference and nothing domain-specific:
//! - identity: [`user`], [`user_preference`], [`role`], [`permission`], [`role_permission`],
//!   [`user_role`], [`session_token`], [`jwt_blocklist`], [`password_reset_token`];
//! - platform: [`event_record`], [`insight_record`], [`platform_outbox`];
//! - value types: [`UserId`], [`Timestamp`] (UTC in a zone-less column), [`TextList`].
//!
//! Entities are SeaORM 2.0 dense models, one module per table, and match the schema at the
//! head of `lifeos-migration` exactly (the `lifeos-tests` drift check compares them). This
//! crate picks no database driver or runtime; applications do.

pub mod types;
pub use types::{TextList, Timestamp, UserId};

// SeaORM's model macro generates public items (`Column`, `ActiveModel`, `Relation`, …) that
// cannot carry doc comments; each entity module documents its table and notable columns.
#[allow(missing_docs)]
pub mod auth_session;
#[allow(missing_docs)]
pub mod calendar_event;
#[allow(missing_docs)]
pub mod calendar_event_interpretation;
#[allow(missing_docs)]
pub mod calendar_oauth_token;
#[allow(missing_docs)]
pub mod event_record;
#[allow(missing_docs)]
pub mod insight_record;
#[allow(missing_docs)]
pub mod jwt_blocklist;
#[allow(missing_docs)]
pub mod password_reset_token;
#[allow(missing_docs)]
pub mod permission;
#[allow(missing_docs)]
pub mod platform_outbox;
#[allow(missing_docs)]
pub mod readmodel_run;
#[allow(missing_docs)]
pub mod readmodel_state;
#[allow(missing_docs)]
pub mod role;
#[allow(missing_docs)]
pub mod role_permission;
#[allow(missing_docs)]
pub mod session_token;
#[allow(missing_docs)]
pub mod user;
#[allow(missing_docs)]
pub mod user_preference;
#[allow(missing_docs)]
pub mod user_role;
