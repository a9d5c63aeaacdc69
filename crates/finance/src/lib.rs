//! `lifeos-finance` — the LifeOS finance domain.
//!
//! Tables: the chart of accounts (`finance_account_category`, `finance_account`), the double-entry journal (`finance_journal_entry`, `finance_journal_line`), imported transactions, trial-balance settings, the money schedule and its scenarios, receivables and loan groups. Money is `Decimal` in NUMERIC(18,2) columns.
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services arrive
//! with their own issue; the crate takes no database driver or runtime.

pub mod entity;
