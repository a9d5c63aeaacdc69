//! `lifeos-habits` — the LifeOS habits domain.
//!
//! Tables: `habits_habit` (unique name per user) and `habits_habit_log` (any number of logs
//! per habit and local calendar day; deleted with their habit).
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
