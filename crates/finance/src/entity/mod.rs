//! SeaORM entities of this domain, one module per table (named after it).
//!
//! SeaORM's model macro generates public items (`Column`, `ActiveModel`, `Relation`, …) that
//! cannot carry doc comments; each module documents its table instead.
#![allow(missing_docs)]

pub mod finance_account_category;
pub mod finance_account;
pub mod finance_journal_entry;
pub mod finance_journal_line;
pub mod finance_transaction;
pub mod finance_trial_balance_setting;
pub mod finance_money_schedule_row;
pub mod finance_money_schedule_daily_balance;
pub mod finance_money_schedule_scenario;
pub mod finance_money_schedule_scenario_row;
pub mod finance_receivable_tracker;
pub mod finance_receivable_manual_entry;
pub mod finance_loan_group;
pub mod finance_loan_group_link;
pub mod finance_import_batch;
