//! `lifeos-health` — the LifeOS health domain.
//!
//! Tables: `health_biometric`, `health_workout`, `health_nutrition_log`.
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
