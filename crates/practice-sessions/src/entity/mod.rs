//! SeaORM entities of this domain, one module per table (named after it).
//!
//! SeaORM's model macro generates public items (`Column`, `ActiveModel`, `Relation`, …) that
//! cannot carry doc comments; each module documents its table instead.
#![allow(missing_docs)]

pub mod goals;
pub mod practice_session_goals;
pub mod activity_groups;
pub mod activity_definitions;
pub mod metric_definitions;
pub mod split_definitions;
pub mod activity_instances;
pub mod metric_values;
pub mod session_templates;
pub mod practice_deletions;
