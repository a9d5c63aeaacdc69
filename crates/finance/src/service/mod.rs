//! The finance operations, one module per capability.

pub mod accounts;
pub mod balances;
pub mod categories;
pub mod imports;
pub mod journal;
pub mod ledger;
pub mod receivables;
pub mod scenarios;
pub mod schedule;
pub mod settings;
pub mod transactions;
