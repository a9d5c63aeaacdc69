//! `lifeos-finance` — the LifeOS finance domain. Posting an entry and reading the trial
//! balance:
//!
//! ```
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use lifeos_finance::entity::finance_account::AccountType;
//! use lifeos_finance::service::{accounts, balances, journal};
//! use lifeos_finance::service::journal::{NewEntry, NewLine};
//! # let db = lifeos_testkit::TestDb::at_head().await?;
//! # let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
//! // `db`: any sea-orm connection or transaction; `ann`: the acting user.
//! let new = |name: &str, account_type| accounts::NewAccount {
//!     name: name.to_owned(),
//!     account_type,
//!     ..Default::default()
//! };
//! let bank = accounts::create(&*db, ann, new("Bank", AccountType::Asset)).await?;
//! let (food, _created) =
//!     accounts::create_inline(&*db, ann, new("Groceries", AccountType::Expense)).await?;
//! let posted = journal::post(&*db, ann, NewEntry {
//!     description: Some("Market".to_owned()),
//!     posted_at: None,
//!     lines: vec![
//!         NewLine::debit(food.id, "12.30".parse()?),
//!         NewLine::credit(bank.id, "12.30".parse()?),
//!     ],
//! })
//! .await?;
//! assert_eq!(journal::get(&*db, ann, posted.entry.id).await?, posted);
//! // The trial balance as of the user's today: per account, and totals per currency.
//! let today = lifeos_core::days::LocalDays::for_user(&*db, ann).await?.today();
//! let trial = balances::trial_balance(&*db, ann, today).await?;
//! let twelve_thirty: rust_decimal::Decimal = "12.30".parse()?;
//! assert_eq!(trial.totals["USD"], (twelve_thirty, twelve_thirty));
//! let food_row = trial.rows.iter().find(|row| row.account.id == food.id);
//! assert_eq!(food_row.map(|row| row.balance.balance), Some(twelve_thirty));
//! // Unbalanced, by one cent: refused, nothing written.
//! let wrong = journal::post(&*db, ann, NewEntry {
//!     lines: vec![
//!         NewLine::debit(food.id, "1.00".parse()?),
//!         NewLine::credit(bank.id, "0.99".parse()?),
//!     ],
//!     ..Default::default()
//! })
//! .await;
//! assert!(matches!(wrong, Err(lifeos_finance::Error::Unbalanced { .. })));
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().map(|runtime| runtime.block_on(example()))??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
//! | [`service::balances`] | an account's balance, the trial balance as of a local day or for a period with category roll-ups, a monthly roll-up; per currency, exact to the cent |
//! | [`service::categories`] | account categories: the user's and the system's, idempotent create by type and slug (also racing), one default per type, the default an account goes into |
//! | [`service::imports`] | bank statements and the original's journal CSV: refused whole with line-numbered errors, previewed, idempotent (external id, else row hash and occurrence), undone as a batch |
//! | [`service::journal`] | the exact double-entry journal: post (balanced per currency, to the cent), read, reverse once, record a simple transaction |
//! | [`service::ledger`] | an account's ledger with its running balance, paged by a stable cursor; the journal by local day |
//! | [`service::receivables`] | receivables and loans: trackers, payments and advances, outstanding, overdue, simple interest, loan groups |
//! | [`service::scenarios`] | what-if scenarios: deltas on schedule rows and extra dated amounts overlaid on the projection, compared with it day by day; computed on demand, never stored |
//! | [`service::schedule`] | the money schedule: one-off and recurring (RFC 5545 RRULE) rows expanded in the user's time zone, the projection per currency from the real balances, the stored daily projection (recomputed atomically) |
//! | [`service::settings`] | trial-balance settings per month (`YYYY-MM`): read with the default, upsert (also racing), list, clear |
//! | [`service::transactions`] | the transaction log: record, read, list by local day (keyset, newest first), book once to a two-line journal entry, delete while unbooked |

pub mod entity;
pub mod error;
mod input;
mod money;
pub mod service;

pub use error::{Error, Result};
