//! The whole LifeOS schema history as one sea-orm-migration chain.
//!
//! Part 1 is history, in its effective order (DECISIONS 1): LifeOS `20240522_core_initial`,
//! the Life Graph migrations 001–004 (preceded by the `documents` table they enhance), the
//! rest of the LifeOS chain, then the practice-session schema and its 2026-01-01
//! improvements. Part 2 (dated 2026-11 on) is this project's own evolution.
//!
//! Rules every migration here follows, and the `lifeos-tests` suite checks:
//! - it is frozen once landed: change the schema by adding a migration, never by editing one;
//! - it runs in one transaction on both backends (`use_transaction() -> Some(true)`);
//! - its `down` undoes exactly its `up`; one that cannot says so and fails with a clear error;
//! - it uses its own identifiers, never the entities, so editing an entity cannot rewrite it;
//! - changes to existing tables go through [`support::TableChange`] (one description, both
//!   backends; SQLite rebuilds through [`support::SqliteRebuild`] what it cannot `ALTER`).
//!
//! Run it with [`Migrator`] (`Migrator::up(&db, None)`), the `lifeos-migration` binary, or
//! `sea-orm-cli migrate`. To add a migration: `sea-orm-cli migrate generate <domain>_<what>`
//! from the repository root (it appends a `mod` line and rebuilds the migration list at the
//! end of this file from the `mod` lines, in order), then add
//! `fn use_transaction(&self) -> Option<bool> { Some(true) }` and a real `down`. Keep the
//! `mod` lines in chain order and write no other `vec` macro in this file: the generator's
//! rewrite spans from the first one to the last line ending in `]`.

pub mod alembic;
pub mod support;

mod runner;
pub use runner::{ADVISORY_LOCK_KEY, IRREVERSIBLE, LOCK_TIMEOUT_VAR, Migrator, with_run_lock};

pub use sea_orm_migration::prelude::MigratorTrait;

/// The database the operators' commands use when `DATABASE_URL` is not set: `lifeos.db` in
/// the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://lifeos.db?mode=rwc";

mod m20240522_000000_core_initial;
mod m20251106_000000_create_documents;
mod m20251106_000001_add_extensions;
mod m20251106_000002_create_core_tables;
mod m20251106_000003_enhance_documents;
mod m20251106_000004_create_signals_links;
mod m20251204_000001_core_add_insight_record;
mod m20251204_000002_core_user_query_indexes;
mod m20251205_000001_platform_outbox;
mod m20251205_000002_skills_initial_schema;
mod m20251206_000001_core_password_reset_token;
mod m20251206_000002_finance_account_type_classification;
mod m20251207_000001_finance_journal_entry_index;
mod m20251208_000001_skills_enhancements;
mod m20251209_000001_habits_initial;
mod m20251210_000001_relationships_initial;
mod m20251211_000001_journal_enhancements;
mod m20251212_000001_health_rework;
mod m20251213_000001_health_relax_legacy_columns;
mod m20251214_000001_health_null_legacy_values;
mod m20251215_000001_projects_init;
mod m20251216_000001_drop_legacy_habits_relationships;
mod m20251218_000000_backend_updates_validation;
mod m20251206_000003_finance_account_categories_update;
mod m20251206_000004_calendar_initial;
mod m20251207_000002_domains_inferred_columns;
mod m20251207_000003_standardize_user_roles;
mod m20251219_000001_calendar_oauth_tokens;
mod m20251219_000002_phase3a_new_models;
mod m20251220_000001_readmodels_bootstrap;
mod m20251221_000001_auth_session_table;
mod m20260101_000001_practice_sessions_initial;
mod m20260101_000002_practice_sessions_database_improvements;
mod m20261101_000001_cleanup_legacy_objects;
mod m20261101_000002_ownership_foreign_key_actions;
mod m20261121_000001_kernel_services;
mod m20261121_000002_guard_keys_checked_at_commit;
mod m20261201_000001_kernel_hardening;
mod m20261202_000001_finance_chart_of_accounts;
mod m20261202_000002_finance_journal;
mod m20261202_000003_finance_constraints;
mod m20261202_000004_finance_imports_and_schedule;
mod m20261203_000001_practice_sessions_services;

use sea_orm_migration::prelude::*;

/// The chain itself. [`Migrator`] runs it; this type only lists it, last in this file, where
/// `sea-orm-cli migrate generate` rewrites the list.
pub(crate) struct Chain;

impl MigratorTrait for Chain {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20240522_000000_core_initial::Migration),
            Box::new(m20251106_000000_create_documents::Migration),
            Box::new(m20251106_000001_add_extensions::Migration),
            Box::new(m20251106_000002_create_core_tables::Migration),
            Box::new(m20251106_000003_enhance_documents::Migration),
            Box::new(m20251106_000004_create_signals_links::Migration),
            Box::new(m20251204_000001_core_add_insight_record::Migration),
            Box::new(m20251204_000002_core_user_query_indexes::Migration),
            Box::new(m20251205_000001_platform_outbox::Migration),
            Box::new(m20251205_000002_skills_initial_schema::Migration),
            Box::new(m20251206_000001_core_password_reset_token::Migration),
            Box::new(m20251206_000002_finance_account_type_classification::Migration),
            Box::new(m20251207_000001_finance_journal_entry_index::Migration),
            Box::new(m20251208_000001_skills_enhancements::Migration),
            Box::new(m20251209_000001_habits_initial::Migration),
            Box::new(m20251210_000001_relationships_initial::Migration),
            Box::new(m20251211_000001_journal_enhancements::Migration),
            Box::new(m20251212_000001_health_rework::Migration),
            Box::new(m20251213_000001_health_relax_legacy_columns::Migration),
            Box::new(m20251214_000001_health_null_legacy_values::Migration),
            Box::new(m20251215_000001_projects_init::Migration),
            Box::new(m20251216_000001_drop_legacy_habits_relationships::Migration),
            Box::new(m20251218_000000_backend_updates_validation::Migration),
            Box::new(m20251206_000003_finance_account_categories_update::Migration),
            Box::new(m20251206_000004_calendar_initial::Migration),
            Box::new(m20251207_000002_domains_inferred_columns::Migration),
            Box::new(m20251207_000003_standardize_user_roles::Migration),
            Box::new(m20251219_000001_calendar_oauth_tokens::Migration),
            Box::new(m20251219_000002_phase3a_new_models::Migration),
            Box::new(m20251220_000001_readmodels_bootstrap::Migration),
            Box::new(m20251221_000001_auth_session_table::Migration),
            Box::new(m20260101_000001_practice_sessions_initial::Migration),
            Box::new(m20260101_000002_practice_sessions_database_improvements::Migration),
            Box::new(m20261101_000001_cleanup_legacy_objects::Migration),
            Box::new(m20261101_000002_ownership_foreign_key_actions::Migration),
            Box::new(m20261121_000001_kernel_services::Migration),
            Box::new(m20261121_000002_guard_keys_checked_at_commit::Migration),
            Box::new(m20261201_000001_kernel_hardening::Migration),
            Box::new(m20261202_000001_finance_chart_of_accounts::Migration),
            Box::new(m20261202_000002_finance_journal::Migration),
            Box::new(m20261202_000003_finance_constraints::Migration),
            Box::new(m20261202_000004_finance_imports_and_schedule::Migration),
            Box::new(m20261203_000001_practice_sessions_services::Migration),
        ]
    }
}
