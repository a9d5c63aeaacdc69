//! SeaORM entities of the life graph, one module per table (named after it).
//!
//! SeaORM's model macro generates public items (`Column`, `ActiveModel`, `Relation`, …) that
//! cannot carry doc comments; each module documents its table instead.
#![allow(missing_docs)]

pub mod commitments;
pub mod document_links;
pub mod documents;
pub mod interactions;
pub mod parties;
pub mod roles;
pub mod signals;
