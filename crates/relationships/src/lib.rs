//! `lifeos-relationships` — the LifeOS relationships domain.
//!
//! Tables: `relationships_person` (unique name per user) and `relationships_interaction`
//! (deleted with their person; may be inferred from a calendar event).
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
