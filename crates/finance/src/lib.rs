//! `lifeos-finance` — the LifeOS finance domain.
//!
//! Tables: the chart of accounts (`finance_account_category`, `finance_account`), the double-entry journal (`finance_journal_entry`, `finance_journal_line`), imported transactions, trial-balance settings, the money schedule and its scenarios, receivables and loan groups. Money is `Decimal` in NUMERIC(18,2) columns.
//!
//! Entities live in [`entity`], one module per table, and match the head of the
//! `lifeos-migration` chain (the `lifeos-tests` drift check compares them). Services live in
//! [`service`], one module per capability, and return this crate's [`Error`]: its own rule
//! violations, and the kernel's `NotFound`/`Invalid`/`Conflict` through
//! [`Error::Core`]. Like every LifeOS service they are generic over the executor, act for
//! one user (another user's id behaves as a missing one) and write nothing when they fail.
//! The crate takes no database driver or runtime.
//!
//! | module | what it does |
//! |---|---|
//! | [`service::accounts`] | the chart of accounts: create (idempotently inline), rename, re-categorise, (de)activate, currency, typeahead |
//! | [`service::journal`] | the exact double-entry journal: post (balanced per currency, to the cent), read, reverse once, record a simple transaction |

pub mod entity;
pub mod error;
pub mod service;

pub use error::{Error, Result};
