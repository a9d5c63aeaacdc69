//! Practice sessions, 2026-01-01 "database improvements" (seeds 003/004, DECISIONS 15): the
//! root goal denormalized onto every row, the integrity constraints, the indexes, soft delete
//! and ordering.
//!
//! - **Phase 1.** Every goal gets `root_id`: a parentless goal is the root of its tree (it
//!   keeps a `root_id` it already has — a practice session filed under a fractal — else it
//!   points at itself) and every descendant takes its anchor's root. Activity instances take
//!   their session's root, metric values their instance's, metric and split definitions their
//!   activity's. All five `root_id`s become `NOT NULL` with a cascading key to `goals`.
//! - **Phase 2**, applied for real (the original script only printed it): unique names per
//!   root or activity — partial, `WHERE deleted_at IS NULL`, so a deleted name can be reused —
//!   and the checks `deadline >= created_at`, `time_stop >= time_start`,
//!   `duration_seconds >= 0`. Not `metric_values.value >= 0`: negative metrics are legitimate.
//!   Names that already collide are made unique first (`name (2)`, `name (3)`, … in creation
//!   order); negative durations become `NULL` (they are recomputed from the times); a deadline
//!   before creation or a stop before a start is not guessed at — the migration fails and
//!   names the rows' count.
//! - **Phase 3.** The 18 foreign-key and filter indexes, 5 composite and 3 partial indexes.
//! - **Phase 4.** `deleted_at`, `updated_at`, `sort_order`, and `metric_values.created_at`.
//!   Existing rows get `updated_at = created_at` and metric values their instance's
//!   `created_at` (the original left them `NULL`).
//!
//! `down` restores the previous schema. Values it filled in stay (a renamed duplicate keeps
//! its new name; goals keep their root).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::support::{TableChange, drop_indexes, exec, fk, index, now};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Phase 2 unique names: (index, table, scope column).
const UNIQUE: [(&str, &str, &str); 5] = [
    ("uq_activity_groups_root_name", "activity_groups", "root_id"),
    (
        "uq_activity_definitions_root_name",
        "activity_definitions",
        "root_id",
    ),
    (
        "uq_metric_definitions_activity_name",
        "metric_definitions",
        "activity_id",
    ),
    (
        "uq_split_definitions_activity_name",
        "split_definitions",
        "activity_id",
    ),
    (
        "uq_session_templates_root_name",
        "session_templates",
        "root_id",
    ),
];

/// Phase 2 checks: (table, name, expression).
const CHECKS: [(&str, &str, &str); 3] = [
    (
        "goals",
        "chk_goals_deadline_future",
        "deadline IS NULL OR deadline >= created_at",
    ),
    (
        "activity_instances",
        "chk_activity_instances_time_order",
        "time_stop IS NULL OR time_start IS NULL OR time_stop >= time_start",
    ),
    (
        "activity_instances",
        "chk_activity_instances_duration_positive",
        "duration_seconds IS NULL OR duration_seconds >= 0",
    ),
];

/// Phase 3 single-column indexes: (name, table, column).
const SINGLE: [(&str, &str, &str); 18] = [
    ("idx_goals_parent_id", "goals", "parent_id"),
    ("idx_goals_root_id", "goals", "root_id"),
    ("idx_goals_type", "goals", "type"),
    ("idx_goals_created_at", "goals", "created_at"),
    (
        "idx_activity_instances_session",
        "activity_instances",
        "practice_session_id",
    ),
    (
        "idx_activity_instances_definition",
        "activity_instances",
        "activity_definition_id",
    ),
    (
        "idx_activity_instances_root",
        "activity_instances",
        "root_id",
    ),
    (
        "idx_metric_values_instance",
        "metric_values",
        "activity_instance_id",
    ),
    (
        "idx_metric_values_definition",
        "metric_values",
        "metric_definition_id",
    ),
    ("idx_metric_values_root", "metric_values", "root_id"),
    (
        "idx_metric_definitions_activity",
        "metric_definitions",
        "activity_id",
    ),
    (
        "idx_metric_definitions_root",
        "metric_definitions",
        "root_id",
    ),
    (
        "idx_split_definitions_activity",
        "split_definitions",
        "activity_id",
    ),
    ("idx_split_definitions_root", "split_definitions", "root_id"),
    (
        "idx_activity_definitions_group",
        "activity_definitions",
        "group_id",
    ),
    (
        "idx_activity_definitions_root",
        "activity_definitions",
        "root_id",
    ),
    ("idx_activity_groups_root", "activity_groups", "root_id"),
    ("idx_session_templates_root", "session_templates", "root_id"),
];

/// Phase 3 composite and partial indexes: (name, table, `CREATE INDEX` tail).
const COMPOSITE: [(&str, &str, &str); 8] = [
    (
        "idx_activity_instances_root_date",
        "activity_instances",
        "(root_id, created_at DESC)",
    ),
    (
        "idx_metric_values_root_metric",
        "metric_values",
        "(root_id, metric_definition_id)",
    ),
    (
        "idx_activity_instances_session_created",
        "activity_instances",
        "(practice_session_id, created_at)",
    ),
    ("idx_goals_parent_type", "goals", "(parent_id, type)"),
    ("idx_goals_root_type", "goals", "(root_id, type)"),
    (
        "idx_metric_definitions_active",
        "metric_definitions",
        "(activity_id) WHERE is_active",
    ),
    (
        "idx_goals_completed",
        "goals",
        "(root_id, type) WHERE completed",
    ),
    (
        "idx_goals_practice_sessions",
        "goals",
        "(root_id, created_at) WHERE type = 'PracticeSession'",
    ),
];

/// Phase 1/4 columns added per table: (table, gets root_id, deleted_at, updated_at, sort_order).
const PHASE4: [(&str, bool, bool, bool, bool); 9] = [
    ("goals", false, true, false, true),
    ("activity_groups", false, true, true, false),
    ("activity_definitions", false, true, true, false),
    ("metric_definitions", true, false, true, true),
    ("split_definitions", true, true, true, false),
    ("activity_instances", true, true, true, true),
    ("metric_values", true, false, true, false),
    ("session_templates", false, true, true, false),
    ("practice_session_goals", false, false, false, false),
];

/// Tables whose new `root_id` becomes `NOT NULL` with a key to `goals` (and `goals` itself).
const ROOTED: [&str; 5] = [
    "goals",
    "activity_instances",
    "metric_values",
    "metric_definitions",
    "split_definitions",
];

fn root_key(table: &str) -> ForeignKeyCreateStatement {
    fk(table, "root_id", "goals")
        .name(format!("fk_{table}_root"))
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

async fn count(manager: &SchemaManager<'_>, sql: &str) -> Result<i64, DbErr> {
    let backend = manager.get_database_backend();
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    match row {
        Some(row) => row.try_get_by_index::<i64>(0),
        None => Ok(0),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        // Phase 1 and 4: the columns.
        for (table, root, deleted, updated, sort) in PHASE4 {
            let mut change = TableChange::new(table);
            if root {
                change = change.add_column(uuid_null("root_id"));
            }
            if deleted {
                change = change.add_column(timestamp_with_time_zone_null("deleted_at"));
            }
            if updated {
                change = change.add_column(
                    timestamp_with_time_zone("updated_at")
                        .default(now(b))
                        .take(),
                );
            }
            if sort {
                change = change.add_column(integer("sort_order").default(0).take());
            }
            if table == "metric_values" {
                change = change.add_column(
                    timestamp_with_time_zone("created_at")
                        .default(now(b))
                        .take(),
                );
            }
            if root || deleted || updated || sort {
                change.run(manager).await?;
            }
            if updated && table != "metric_values" {
                exec(
                    manager,
                    &format!("UPDATE {table} SET updated_at = created_at"),
                )
                .await?;
            }
        }

        // Phase 1: the backfills.
        exec(
            manager,
            "WITH RECURSIVE tree (id, root) AS ( \
                 SELECT id, COALESCE(root_id, id) FROM goals WHERE parent_id IS NULL \
                 UNION ALL \
                 SELECT g.id, tree.root FROM goals AS g JOIN tree ON g.parent_id = tree.id) \
             UPDATE goals SET root_id = tree.root FROM tree \
             WHERE goals.id = tree.id AND goals.root_id IS NULL",
        )
        .await?;
        exec(
            manager,
            "UPDATE activity_instances SET root_id = (SELECT COALESCE(g.root_id, g.id) \
             FROM goals AS g WHERE g.id = activity_instances.practice_session_id)",
        )
        .await?;
        exec(
            manager,
            "UPDATE metric_values SET root_id = (SELECT i.root_id FROM activity_instances AS i \
                 WHERE i.id = metric_values.activity_instance_id), \
             created_at = COALESCE((SELECT i.created_at FROM activity_instances AS i \
                 WHERE i.id = metric_values.activity_instance_id), created_at), \
             updated_at = COALESCE((SELECT i.created_at FROM activity_instances AS i \
                 WHERE i.id = metric_values.activity_instance_id), updated_at)",
        )
        .await?;
        for table in ["metric_definitions", "split_definitions"] {
            exec(
                manager,
                &format!(
                    "UPDATE {table} SET root_id = (SELECT d.root_id FROM activity_definitions AS d \
                     WHERE d.id = {table}.activity_id)"
                ),
            )
            .await?;
        }

        // Phase 2: repair what can be repaired, refuse what cannot.
        exec(
            manager,
            "UPDATE activity_instances SET duration_seconds = NULL WHERE duration_seconds < 0",
        )
        .await?;
        for (table, name, expression) in CHECKS {
            let violating = count(
                manager,
                &format!("SELECT COUNT(*) FROM {table} WHERE NOT ({expression})"),
            )
            .await?;
            if violating > 0 {
                return Err(DbErr::Migration(format!(
                    "{violating} row(s) of `{table}` violate `{name}` ({expression}); correct them \
                     and run the migration again"
                )));
            }
        }
        for (_, table, scope) in UNIQUE {
            exec(
                manager,
                &format!(
                    "UPDATE {table} SET name = name || ' (' || (1 + (SELECT COUNT(*) FROM {table} AS o \
                         WHERE o.{scope} = {table}.{scope} AND o.name = {table}.name \
                         AND o.deleted_at IS NULL AND (o.created_at < {table}.created_at \
                         OR (o.created_at = {table}.created_at AND o.id < {table}.id)))) || ')' \
                     WHERE deleted_at IS NULL AND EXISTS (SELECT 1 FROM {table} AS o \
                         WHERE o.{scope} = {table}.{scope} AND o.name = {table}.name \
                         AND o.deleted_at IS NULL AND (o.created_at < {table}.created_at \
                         OR (o.created_at = {table}.created_at AND o.id < {table}.id)))"
                ),
            )
            .await?;
        }

        for table in ROOTED {
            let mut change = TableChange::new(table)
                .modify(uuid("root_id"))
                .foreign_key(root_key(table));
            for (checked, name, expression) in CHECKS {
                if checked == table {
                    change = change.check(name, expression);
                }
            }
            change.run(manager).await?;
        }

        for (name, table, scope) in UNIQUE {
            exec(
                manager,
                &format!(
                    "CREATE UNIQUE INDEX {name} ON {table} ({scope}, name) WHERE deleted_at IS NULL"
                ),
            )
            .await?;
        }
        // Phase 3.
        for (name, table, column) in SINGLE {
            manager.create_index(index(name, table, &[column])).await?;
        }
        for (name, table, tail) in COMPOSITE {
            exec(manager, &format!("CREATE INDEX {name} ON {table} {tail}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in COMPOSITE.iter().rev() {
            drop_indexes(manager, table, &[name]).await?;
        }
        for (name, table, _) in SINGLE.iter().rev() {
            drop_indexes(manager, table, &[name]).await?;
        }
        for (name, table, _) in UNIQUE.iter().rev() {
            drop_indexes(manager, table, &[name]).await?;
        }
        for table in ROOTED.iter().rev() {
            let mut change = TableChange::new(table);
            for (checked, name, _) in CHECKS {
                if checked == *table {
                    change = change.drop_check(name);
                }
            }
            change = change.drop_foreign_key("root_id");
            if *table == "goals" {
                change = change.modify(uuid_null("root_id"));
            }
            change.run(manager).await?;
        }
        for (table, root, deleted, updated, sort) in PHASE4.iter().rev() {
            let mut change = TableChange::new(table);
            if *table == "metric_values" {
                change = change.drop_column("created_at");
            }
            if *sort {
                change = change.drop_column("sort_order");
            }
            if *updated {
                change = change.drop_column("updated_at");
            }
            if *deleted {
                change = change.drop_column("deleted_at");
            }
            if *root {
                change = change.drop_column("root_id");
            }
            if *root || *deleted || *updated || *sort {
                change.run(manager).await?;
            }
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
