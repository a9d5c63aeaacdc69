//! Part 2: the foreign keys that guard history (`NO ACTION`/`RESTRICT`: a journal line's
//! account, a schedule row's account, an instance's activity definition, a metric value's
//! definitions, a commitment's counterparty, a signal's extraction, an insight's event) are
//! checked when the transaction commits, so deleting a user removes every row they own
//! (DECISIONS 7) whatever order the cascades run in.
//!
//! A user's deletion cascades, in one statement, to both a guarded row and the rows that
//! point at it (a party and the commitments naming it as counterparty; a metric definition
//! and its values). A guard checked before its referencing rows are gone fails the deletion —
//! which `lifeos-tests`' user-deletion suite showed on both backends:
//! - `metric_values → metric_definitions / split_definitions` become `NO ACTION` instead of
//!   `RESTRICT` (both backends). `RESTRICT` checks the moment the definition goes; `NO ACTION`
//!   checks later. SQLite runs cascades within the statement and checks `NO ACTION` at its end.
//! - On PostgreSQL, cascades run as queued triggers and a `NO ACTION` check may still run
//!   before the cascade that removes its referencing rows, so every guarding key becomes
//!   `DEFERRABLE INITIALLY DEFERRED`: checked at commit.
//!
//! Deleting a guarded row on its own is still refused (at statement end or commit). `down`
//! makes the keys `NOT DEFERRABLE` and restores `RESTRICT`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{TableChange, exec};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn metric_values(manager: &SchemaManager<'_>, action: ForeignKeyAction) -> Result<(), DbErr> {
    let mut change = TableChange::new("metric_values");
    for (column, target) in [
        ("metric_definition_id", "metric_definitions"),
        ("split_definition_id", "split_definitions"),
    ] {
        change = change.foreign_key(
            ForeignKey::create()
                .from(Alias::new("metric_values"), Alias::new(column))
                .to(Alias::new(target), Alias::new("id"))
                .on_delete(action)
                .take(),
        );
    }
    change.run(manager).await
}

/// On PostgreSQL, sets the timing of every guarding foreign key (`NO ACTION` or `RESTRICT`)
/// of the current schema.
async fn guard_timing(manager: &SchemaManager<'_>, timing: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    exec(
        manager,
        &format!(
            "DO $$ DECLARE r record; BEGIN \
             FOR r IN SELECT c.conname, t.relname FROM pg_constraint AS c \
                 JOIN pg_class AS t ON t.oid = c.conrelid \
                 JOIN pg_namespace AS n ON n.oid = t.relnamespace \
                 WHERE c.contype = 'f' AND c.confdeltype IN ('a', 'r') \
                 AND n.nspname = current_schema() \
             LOOP EXECUTE format('ALTER TABLE %I ALTER CONSTRAINT %I {timing}', \
                 r.relname, r.conname); END LOOP; END $$"
        ),
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        metric_values(manager, ForeignKeyAction::NoAction).await?;
        guard_timing(manager, "DEFERRABLE INITIALLY DEFERRED").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        guard_timing(manager, "NOT DEFERRABLE").await?;
        metric_values(manager, ForeignKeyAction::Restrict).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
