//! Part 2: what the practice-session services need from the schema (DECISIONS 15).
//!
//! - **Soft deletes that can be undone exactly**: `practice_deletions` records each delete (the
//!   user's, the root it happened in, what the caller named, when); every row it removed
//!   carries its id in `delete_batch_id` (goals, activity groups and definitions, metric and
//!   split definitions, activity instances, session templates), so `restore` brings back that
//!   delete's rows and not rows deleted earlier on their own. Rows deleted before this
//!   migration keep `delete_batch_id` NULL: purge removes them, no restore brings them back.
//!   `delete_batch_id` has no foreign key: a purge removes the rows before their deletion.
//! - **Pause accounting** on sessions (as the original's later version): `last_paused_at`
//!   (set while paused) and `total_paused_seconds` (`>= 0`), which a session's duration
//!   excludes.
//! - **One active session per user**: `uq_goals_one_active_session`, unique on `user_id` among
//!   practice sessions started, not ended and not deleted. History may hold several per user:
//!   each but the latest-started (then greatest id) is closed at the start of the next
//!   session started after it (under the rule it could not have run on), with the duration
//!   that gives, and reported (`practice.session.closed`, with its id and the end given).
//! - **One metric value per (instance, metric, split)**, a missing split counting as one value:
//!   `uq_metric_values_instance_metric_split` — `NULLS NOT DISTINCT` on PostgreSQL, an index
//!   on `COALESCE(split_definition_id, '')` on SQLite. Of duplicates from history the most
//!   recently updated (then greatest id) stays; the others are reported
//!   (`practice.metric_value.removed`, with their value) and removed.
//! - **The local day of an activity instance**, `activity_instances.local_day`, which the
//!   services write from the owner's time zone and day start (DECISIONS 8) and analytics group
//!   by. Rows from history take the calendar date of their `created_at`: the original stored
//!   naive local times, which the chain kept as they were.
//! - `idx_goals_user_parent` (a user's roots), `idx_metric_values_split` (the values of a
//!   split definition: its `NO ACTION` key and the purge's check),
//!   `idx_practice_session_goals_goal` (the sessions of a short-term goal, for a subtree's
//!   delete) and the deletions' indexes.
//!
//! `down` drops all of it. Deleted rows stay deleted but can no longer be restored; closed
//! sessions stay closed and removed duplicate values stay removed (both were reported).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    date_null, integer, string, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid,
    uuid_null,
};
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{TableChange, exec, fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows a delete can remove, and so carry `delete_batch_id`.
const BATCHED: [&str; 7] = [
    "goals",
    "activity_groups",
    "activity_definitions",
    "metric_definitions",
    "split_definitions",
    "activity_instances",
    "session_templates",
];

/// A practice session that is active: started, not ended, not deleted (`g` its alias).
const ACTIVE: &str = "g.type = 'PracticeSession' AND g.session_start IS NOT NULL \
     AND g.session_end IS NULL AND g.deleted_at IS NULL";

/// The indexes this migration adds (except the metric values' unique key): (name, statement).
const INDEXES: &[(&str, &str)] = &[
    (
        "uq_goals_one_active_session",
        "CREATE UNIQUE INDEX uq_goals_one_active_session ON goals (user_id) \
         WHERE type = 'PracticeSession' AND session_start IS NOT NULL \
         AND session_end IS NULL AND deleted_at IS NULL",
    ),
    (
        "idx_goals_user_parent",
        "CREATE INDEX idx_goals_user_parent ON goals (user_id, parent_id)",
    ),
    (
        "idx_metric_values_split",
        "CREATE INDEX idx_metric_values_split ON metric_values (split_definition_id) \
         WHERE split_definition_id IS NOT NULL",
    ),
    (
        "idx_practice_session_goals_goal",
        "CREATE INDEX idx_practice_session_goals_goal \
         ON practice_session_goals (short_term_goal_id)",
    ),
    (
        "idx_practice_deletions_user_deleted",
        "CREATE INDEX idx_practice_deletions_user_deleted \
         ON practice_deletions (user_id, deleted_at)",
    ),
    (
        "idx_practice_deletions_root",
        "CREATE INDEX idx_practice_deletions_root ON practice_deletions (root_id)",
    ),
];

/// The metric values' unique key.
const VALUE_KEY: &str = "uq_metric_values_instance_metric_split";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let postgres = backend == DbBackend::Postgres;
        let json = if postgres {
            "json_build_object"
        } else {
            "json_object"
        };

        manager
            .create_table(
                Table::create()
                    .table("practice_deletions")
                    .col(uuid("id").primary_key())
                    .col(integer("user_id"))
                    .col(uuid("root_id"))
                    .col(string("entity").check(Expr::col("entity").is_in([
                        "goal",
                        "activity_group",
                        "activity_definition",
                        "session_template",
                        "activity_instance",
                    ])))
                    .col(uuid("entity_id"))
                    .col(timestamp_with_time_zone("deleted_at"))
                    .foreign_key(
                        fk("practice_deletions", "user_id", "user")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        fk("practice_deletions", "root_id", "goals")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        for table in BATCHED {
            let mut change = TableChange::new(table).add_column(uuid_null("delete_batch_id"));
            if table == "goals" {
                change = change
                    .add_column(timestamp_with_time_zone_null("last_paused_at"))
                    .add_column(integer("total_paused_seconds").default(0).to_owned())
                    .check(
                        "chk_goals_total_paused_seconds",
                        "total_paused_seconds >= 0",
                    );
            }
            if table == "activity_instances" {
                change = change.add_column(date_null("local_day"));
            }
            change.run(manager).await?;
        }
        let day = if postgres {
            "CAST(created_at AT TIME ZONE 'UTC' AS DATE)"
        } else {
            "date(created_at)"
        };
        exec(
            manager,
            &format!("UPDATE activity_instances SET local_day = {day}"),
        )
        .await?;
        TableChange::new("activity_instances")
            .modify(ColumnDef::new("local_day").date().not_null().to_owned())
            .run(manager)
            .await?;

        // Several active sessions of one user in history: all but the latest-started close
        // at the start of the next session (any, ended or not) started after them, with the
        // duration that gives (computed first: SQLite's UPDATE would see its own changes).
        // Instants compared as instants (SQLite holds text, whose spellings may differ).
        let at = |column: &str| {
            if postgres {
                column.to_owned()
            } else {
                format!("julianday({column})")
            }
        };
        let after = |alias: &str| {
            let (theirs, ours) = (at(&format!("{alias}.session_start")), at("g.session_start"));
            format!(
                "{alias}.user_id = g.user_id AND ({theirs} > {ours} \
                 OR ({theirs} = {ours} AND {alias}.id > g.id))"
            )
        };
        exec(
            manager,
            &format!(
                "CREATE TEMPORARY TABLE practice_closing AS SELECT g.id AS id, \
                 g.user_id AS user_id, g.session_start AS starts, \
                 (SELECT n.session_start FROM goals n WHERE n.type = 'PracticeSession' \
                 AND n.session_start IS NOT NULL AND n.deleted_at IS NULL AND {n_after} \
                 ORDER BY {n_start} LIMIT 1) AS ends \
                 FROM goals g WHERE {ACTIVE} AND EXISTS (SELECT 1 FROM goals a \
                 WHERE {a_active} AND {a_after})",
                n_after = after("n"),
                n_start = at("n.session_start"),
                a_active = ACTIVE.replace("g.", "a."),
                a_after = after("a"),
            ),
        )
        .await?;
        // Whole seconds (as the services count them), at most what an INTEGER holds.
        let seconds = if postgres {
            "CAST(LEAST(floor(EXTRACT(EPOCH FROM (c.ends - c.starts))), 2147483647) AS INTEGER)"
        } else {
            "CAST(min(round((julianday(c.ends) - julianday(c.starts)) * 86400.0, 3), \
             2147483647) AS INTEGER)"
        };
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'practice.session.closed', {json}('id', id, 'session_end', ends), \
                 user_id FROM practice_closing"
            ),
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE goals SET session_end = (SELECT c.ends FROM practice_closing c \
                 WHERE c.id = goals.id), total_duration_seconds = (SELECT {seconds} \
                 FROM practice_closing c WHERE c.id = goals.id) \
                 WHERE id IN (SELECT id FROM practice_closing)"
            ),
        )
        .await?;
        exec(manager, "DROP TABLE practice_closing").await?;

        // Duplicate metric values: the most recently updated (then greatest id) stays.
        let split =
            |alias: &str| format!("COALESCE(CAST({alias}.split_definition_id AS TEXT), '')");
        let newer = format!(
            "EXISTS (SELECT 1 FROM metric_values o \
             WHERE o.activity_instance_id = metric_values.activity_instance_id \
             AND o.metric_definition_id = metric_values.metric_definition_id \
             AND {o_split} = {t_split} \
             AND (o.updated_at > metric_values.updated_at \
             OR (o.updated_at = metric_values.updated_at AND o.id > metric_values.id)))",
            o_split = split("o"),
            t_split = split("metric_values"),
        );
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'practice.metric_value.removed', {json}('id', id, \
                 'activity_instance_id', activity_instance_id, \
                 'metric_definition_id', metric_definition_id, \
                 'split_definition_id', split_definition_id, 'value', value), \
                 (SELECT r.user_id FROM goals r WHERE r.id = metric_values.root_id) \
                 FROM metric_values WHERE {newer}"
            ),
        )
        .await?;
        exec(manager, &format!("DELETE FROM metric_values WHERE {newer}")).await?;
        let key = if postgres {
            format!(
                "CREATE UNIQUE INDEX {VALUE_KEY} ON metric_values \
                 (activity_instance_id, metric_definition_id, split_definition_id) \
                 NULLS NOT DISTINCT"
            )
        } else {
            format!(
                "CREATE UNIQUE INDEX {VALUE_KEY} ON metric_values \
                 (activity_instance_id, metric_definition_id, COALESCE(split_definition_id, ''))"
            )
        };
        exec(manager, &key).await?;

        for (_, statement) in INDEXES {
            exec(manager, statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES.iter().rev() {
            exec(manager, &format!("DROP INDEX {name}")).await?;
        }
        exec(manager, &format!("DROP INDEX {VALUE_KEY}")).await?;
        for table in BATCHED.iter().rev() {
            let mut change = TableChange::new(table).drop_column("delete_batch_id");
            if *table == "goals" {
                change = change
                    .drop_check("chk_goals_total_paused_seconds")
                    .drop_column("total_paused_seconds")
                    .drop_column("last_paused_at");
            }
            if *table == "activity_instances" {
                change = change.drop_column("local_day");
            }
            change.run(manager).await?;
        }
        manager
            .drop_table(Table::drop().table("practice_deletions").to_owned())
            .await
    }
}
