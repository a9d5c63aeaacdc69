//! `lifeos-skills` — the LifeOS skills domain.
//!
//! Tables: `skill`, `skill_practice_session`, `skill_metric`. (`skills_skill` and `skills_skill_practice_session` are orphans of history without entities; a Part 2 migration removes them.)
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
