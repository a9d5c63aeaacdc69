//! The original LifeOS's Alembic chain, as this chain reproduces it: which migration here
//! leaves the schema one of its revisions left, and how to build a database in the shape the
//! original had at a revision. `lifeos adopt` takes over such databases with it; its tests
//! build their fixtures with it.
//!
//! An original LifeOS database differs from this chain's Part 1 at the same point in one
//! structural way: it has none of the Life Graph tables ([`LIFE_GRAPH`]), which this chain
//! places right after `core_initial` (DECISIONS 1). Those migrations touch only their own
//! tables, so an adopted database gets them applied late, and ends up the same.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    DatabaseConnection, DatabaseExecutor, DatabaseTransaction, TransactionTrait,
};

use crate::Chain;

/// The original LifeOS revisions in chain order, each with the migration of this chain after
/// which the schema is the one that revision left. `20251205_expand_alembic_version` only
/// widened Alembic's own table, so it leaves the schema of the revision before it.
pub const REVISIONS: [(&str, &str); 27] = [
    ("0001_initial", "m20240522_000000_core_initial"),
    (
        "0002_add_insight_record",
        "m20251204_000001_core_add_insight_record",
    ),
    (
        "20251204_core_user_query_indexes",
        "m20251204_000002_core_user_query_indexes",
    ),
    (
        "20251205_platform_outbox",
        "m20251205_000001_platform_outbox",
    ),
    (
        "20251205_skills_initial_schema",
        "m20251205_000002_skills_initial_schema",
    ),
    (
        "20251205_expand_alembic_version",
        "m20251205_000002_skills_initial_schema",
    ),
    (
        "20251206_core_password_reset_token",
        "m20251206_000001_core_password_reset_token",
    ),
    (
        "20251206_finance_account_type_classification",
        "m20251206_000002_finance_account_type_classification",
    ),
    (
        "20251207_finance_journal_entry_index",
        "m20251207_000001_finance_journal_entry_index",
    ),
    (
        "20251208_skills_enhancements",
        "m20251208_000001_skills_enhancements",
    ),
    ("20251209_habits_initial", "m20251209_000001_habits_initial"),
    (
        "20251210_relationships_initial",
        "m20251210_000001_relationships_initial",
    ),
    (
        "20251211_journal_enhancements",
        "m20251211_000001_journal_enhancements",
    ),
    ("20251212_health_rework", "m20251212_000001_health_rework"),
    (
        "20251213_health_relax_legacy_columns",
        "m20251213_000001_health_relax_legacy_columns",
    ),
    (
        "20251214_health_null_legacy_values",
        "m20251214_000001_health_null_legacy_values",
    ),
    ("20251215_projects_init", "m20251215_000001_projects_init"),
    (
        "20251216_drop_legacy_habits_relationships",
        "m20251216_000001_drop_legacy_habits_relationships",
    ),
    (
        "20251218_backend_updates_validation",
        "m20251218_000000_backend_updates_validation",
    ),
    (
        "20251206_finance_account_categories_update",
        "m20251206_000003_finance_account_categories_update",
    ),
    (
        "20251206_calendar_initial",
        "m20251206_000004_calendar_initial",
    ),
    (
        "20251207_domains_inferred_columns",
        "m20251207_000002_domains_inferred_columns",
    ),
    (
        "20251207_standardize_user_roles",
        "m20251207_000003_standardize_user_roles",
    ),
    (
        "20251219_calendar_oauth_tokens",
        "m20251219_000001_calendar_oauth_tokens",
    ),
    ("0c76fa610e14", "m20251219_000002_phase3a_new_models"),
    (
        "20251220_readmodels_bootstrap",
        "m20251220_000001_readmodels_bootstrap",
    ),
    (
        "20251221_auth_session_table",
        "m20251221_000001_auth_session_table",
    ),
];

/// The Life Graph migrations, which an original LifeOS database never ran.
pub const LIFE_GRAPH: [&str; 5] = [
    "m20251106_000000_create_documents",
    "m20251106_000001_add_extensions",
    "m20251106_000002_create_core_tables",
    "m20251106_000003_enhance_documents",
    "m20251106_000004_create_signals_links",
];

/// The migration of this chain equivalent to original `revision` (`None` for a revision the
/// original LifeOS chain does not have).
pub fn equivalent(revision: &str) -> Option<&'static str> {
    REVISIONS
        .iter()
        .find(|(original, _)| *original == revision)
        .map(|(_, ours)| *ours)
}

/// The names of this chain's migrations, in order.
pub fn chain() -> Vec<String> {
    Chain::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect()
}

/// The migrations of this chain up to and including the equivalent of `revision`, in chain
/// order, split into those the original ran (`.0`) and the Life Graph ones it did not (`.1`).
/// `None` for an unknown revision.
pub fn split_at(revision: &str) -> Option<(Vec<String>, Vec<String>)> {
    let last = equivalent(revision)?;
    let chain = chain();
    let end = chain.iter().position(|name| name == last)?;
    Some(
        chain[..=end]
            .iter()
            .cloned()
            .partition(|name| !LIFE_GRAPH.contains(&name.as_str())),
    )
}

/// Runs the `up` of the named migrations, in the order given, inside `txn`. Records nothing.
///
/// On SQLite the caller switches foreign-key enforcement off before `txn` began (as
/// [`crate::Migrator`] does); a table rebuild refuses to run otherwise.
///
/// # Errors
/// Fails on an unknown name or on the first migration that fails.
pub async fn apply(txn: &DatabaseTransaction, names: &[String]) -> Result<(), DbErr> {
    let migrations = Chain::migrations();
    let manager = SchemaManager::new(txn);
    for name in names {
        let migration = migrations
            .iter()
            .find(|migration| migration.name() == name)
            .ok_or_else(|| DbErr::Migration(format!("no migration named `{name}`")))?;
        migration.up(&manager).await?;
    }
    Ok(())
}

/// Builds on `db` (an empty database) the schema an original LifeOS database had at
/// `revision`: this chain's migrations up to its equivalent, without the Life Graph ones,
/// each in its own transaction, with SQLite foreign-key enforcement off. Records nothing —
/// the caller adds Alembic's bookkeeping if it wants it.
///
/// # Errors
/// Fails on an unknown revision or a failing migration.
pub async fn build_original(db: &DatabaseConnection, revision: &str) -> Result<(), DbErr> {
    let (original, _) = split_at(revision).ok_or_else(|| {
        DbErr::Migration(format!(
            "`{revision}` is not a revision of the original LifeOS"
        ))
    })?;
    let run = async {
        for name in &original {
            let txn = db.begin().await?;
            apply(&txn, std::slice::from_ref(name)).await?;
            txn.commit().await?;
        }
        Ok(())
    };
    crate::runner::with_foreign_keys_off(&DatabaseExecutor::Connection(db), run).await
}

/// Rebuilds SQLite table `table`, inside `txn`, into the table `create_sql` defines (a
/// `CREATE TABLE` as `sqlite_master` keeps it): every column both have is copied, indexes and
/// triggers are re-created, and the rebuild fails if it would leave a row whose foreign key
/// points nowhere. Adoption uses it to give a table the foreign keys, defaults and checks the
/// original created on PostgreSQL only. Foreign-key enforcement must be off (see [`apply`]).
///
/// # Errors
/// As [`crate::support::rebuild_from_sql`].
pub async fn rebuild_table(
    txn: &DatabaseTransaction,
    table: &str,
    create_sql: &str,
) -> Result<(), DbErr> {
    crate::support::rebuild_from_sql(&SchemaManager::new(txn), table, create_sql).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_revision_maps_to_a_migration_of_the_chain_in_order() {
        let chain = chain();
        let mut last = 0;
        for (revision, ours) in REVISIONS {
            let at = chain.iter().position(|name| name == ours);
            assert!(at.is_some(), "{revision} → {ours} is not in the chain");
            let at = at.unwrap_or_default();
            assert!(at >= last, "{revision} is out of order");
            last = at;
        }
        for name in LIFE_GRAPH {
            let at = chain.iter().position(|chained| chained == name);
            assert!(
                matches!(at, Some(1..=5)),
                "{name} is not right after core_initial"
            );
        }
    }
}
