//! `lifeos-skills` — the LifeOS skills domain.
//!
//! Tables: `skill`, `skill_practice_session`, `skill_metric` (the orphan `skills_skill*` tables
//! of history were merged into them and removed by the Part 2 cleanup).
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
