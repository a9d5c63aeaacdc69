//! `lifeos-journal` — the LifeOS journal domain.
//!
//! Tables: `journal_entry` (its legacy tags tables were merged into `tags` and removed by the
//! Part 2 cleanup).
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
