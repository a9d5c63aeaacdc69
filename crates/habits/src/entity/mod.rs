//! SeaORM entities of this domain, one module per table (named after it).
//!
//! SeaORM's model macro generates public items (`Column`, `ActiveModel`, `Relation`, …) that
//! cannot carry doc comments; each module documents its table instead.
#![allow(missing_docs)]

pub mod habits_habit;
pub mod habits_habit_log;
