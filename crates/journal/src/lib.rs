//! `lifeos-journal` — the LifeOS journal domain.
//!
//! Tables: `journal_entry`. (`journal_tag` and `journal_entry_tag` are legacy tables without entities; a Part 2 migration removes them.)
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
