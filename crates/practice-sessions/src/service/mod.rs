//! The practice operations, one module per capability.

pub mod activities;
pub mod analytics;
pub mod import;
pub mod sessions;
pub mod templates;
pub mod trash;
pub mod tree;

pub(crate) mod scope;
