//! LifeOS `0c76fa610e14_phase3a_new_models`: the schema aligned with the "Phase 3a" models —
//! tighter `NULL` rules and defaults, calendar foreign keys and indexes, journal `mood` as an
//! integer, and ownership backfilled onto project tasks and task logs.
//!
//! Differences from the original (DECISIONS 0):
//! - the ten foreign keys (`calendar_event_id` → `calendar_event` `ON DELETE SET NULL` on the
//!   six inferred-record tables; `user_id` → `user` on categories, tasks, task logs and
//!   practice sessions) exist on **both** backends; the original created them on PostgreSQL
//!   only, so SQLite databases never had them;
//! - journal `mood` becomes an integer from `mood_int` or, failing that, from `mood` where it
//!   holds an integer; other text becomes `NULL` on both backends (the original turned it into
//!   `0` on SQLite);
//! - `FLOAT` scores become `NUMERIC(3,2)` rounded to two places (as PostgreSQL's cast does);
//! - fills that had only a placeholder use what the row already says: a workout's type is its
//!   legacy `activity` (else `unknown`), a meal's items its legacy `meal` text and its type the
//!   meal name where it is one (`breakfast`, `lunch`, `dinner`, `snack`; else `unspecified`);
//!   an empty category slug becomes the slug of its name (the original's `lower(name)` differs
//!   from the slug rule of `20251206_finance_account_categories_update`).
//!
//! Irreversible, as the original (its `down` raised): values were rounded and converted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20251207_000002_domains_inferred_columns::TABLES as INFERRED;
use crate::support::{
    TableChange, drop_indexes, exec, fk, index, integer_or_null_sql, irreversible, ix, slug_sql,
    utc_now, utc_now_sql,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `NUMERIC(3,2)` confidence, converted from the float it was.
fn confidence(nullable: bool) -> ColumnDef {
    if nullable {
        decimal_len_null("confidence_score", 3, 2)
    } else {
        decimal_len("confidence_score", 3, 2)
    }
}

fn round_confidence(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "round(confidence_score::numeric, 2)",
        _ => "round(confidence_score, 2)",
    }
}

fn calendar_fk(table: &str) -> ForeignKeyCreateStatement {
    fk(table, "calendar_event_id", "calendar_event")
        .name(format!("fk_{table}_calendar_event"))
        .on_delete(ForeignKeyAction::SetNull)
        .take()
}

fn user_fk(table: &str, name: &str) -> ForeignKeyCreateStatement {
    fk(table, "user_id", "user").name(name).take()
}

fn stamp(name: &'static str, backend: DbBackend) -> ColumnDef {
    date_time(name).default(utc_now(backend)).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let now = utc_now_sql(b);

        // --- calendar ---
        exec(
            manager,
            &format!(
                "UPDATE calendar_event SET tags = COALESCE(tags, '[]'), \
                 metadata = COALESCE(metadata, '{{}}'), created_at = COALESCE(created_at, {now}), \
                 updated_at = COALESCE(updated_at, {now})"
            ),
        )
        .await?;
        TableChange::new("calendar_event")
            .modify(json("tags").default("[]").take())
            .modify(json("metadata").default("{}").take())
            .modify(stamp("created_at", b))
            .modify(stamp("updated_at", b))
            .run(manager)
            .await?;
        manager
            .create_index(ix("calendar_event", "user_id"))
            .await?;
        manager
            .create_index(ix("calendar_event", "start_time"))
            .await?;

        exec(
            manager,
            &format!(
                "UPDATE calendar_event_interpretation SET \
                 classification_data = COALESCE(classification_data, '{{}}'), \
                 created_at = COALESCE(created_at, {now}), updated_at = COALESCE(updated_at, {now})"
            ),
        )
        .await?;
        TableChange::new("calendar_event_interpretation")
            .modify(string_len("domain", 32))
            .modify(string_len("record_type", 64))
            .modify_using(confidence(false), round_confidence(b))
            .modify(string_len("status", 16).default("inferred").take())
            .modify(json("classification_data").default("{}").take())
            .modify(stamp("created_at", b))
            .modify(stamp("updated_at", b))
            .run(manager)
            .await?;
        manager
            .create_index(ix("calendar_event_interpretation", "user_id"))
            .await?;

        exec(
            manager,
            &format!(
                "UPDATE calendar_oauth_token SET created_at = COALESCE(created_at, {now}), \
                 updated_at = COALESCE(updated_at, {now})"
            ),
        )
        .await?;
        TableChange::new("calendar_oauth_token")
            .modify(stamp("created_at", b))
            .modify(stamp("updated_at", b))
            .run(manager)
            .await?;

        manager
            .create_index(ix("event_record", "created_at"))
            .await?;

        // --- finance ---
        TableChange::new("finance_account")
            .modify(integer_null("category_id"))
            .run(manager)
            .await?;
        exec(
            manager,
            &format!(
                "UPDATE finance_account_category SET \
                 slug = CASE WHEN slug IS NULL OR slug = '' THEN {} ELSE slug END, \
                 created_at = COALESCE(created_at, {now}), updated_at = COALESCE(updated_at, {now})",
                slug_sql("trim(name)", b)
            ),
        )
        .await?;
        TableChange::new("finance_account_category")
            .modify(stamp("created_at", b))
            .modify(stamp("updated_at", b))
            .foreign_key(user_fk(
                "finance_account_category",
                "fk_finance_account_category_user",
            ))
            .run(manager)
            .await?;

        // --- the inferred-record tables: NUMERIC confidence, calendar index and key ---
        exec(
            manager,
            "UPDATE health_nutrition_log SET \
             meal_type = COALESCE(meal_type, CASE WHEN lower(trim(meal)) IN ('breakfast', 'lunch', 'dinner', 'snack') \
                 THEN lower(trim(meal)) ELSE 'unspecified' END), \
             items = COALESCE(items, meal, '')",
        )
        .await?;
        exec(
            manager,
            "UPDATE health_workout SET \
             workout_type = COALESCE(workout_type, NULLIF(trim(activity), ''), 'unknown'), \
             intensity = COALESCE(intensity, 'unknown')",
        )
        .await?;
        exec(
            manager,
            "UPDATE project_task SET user_id = \
             (SELECT p.user_id FROM project AS p WHERE p.id = project_task.project_id) \
             WHERE user_id IS NULL",
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE project_task SET updated_at = COALESCE(updated_at, created_at, {now})"
            ),
        )
        .await?;
        exec(
            manager,
            "UPDATE project_task_log SET user_id = \
             (SELECT t.user_id FROM project_task AS t WHERE t.id = project_task_log.task_id) \
             WHERE user_id IS NULL",
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE project_task_log SET created_at = COALESCE(created_at, logged_at, {now})"
            ),
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE skill_practice_session SET created_at = COALESCE(created_at, practiced_at, {now})"
            ),
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE skill SET tags = COALESCE(tags, '[]'), \
                 updated_at = COALESCE(updated_at, created_at, {now})"
            ),
        )
        .await?;

        for table in INFERRED {
            let mut change = TableChange::new(table)
                .modify_using(confidence(true), round_confidence(b))
                .foreign_key(calendar_fk(table));
            match table {
                "health_nutrition_log" => {
                    change = change
                        .modify(string_len("meal_type", 32))
                        .modify(text("items"));
                }
                "health_workout" => {
                    change = change
                        .modify(string_len("workout_type", 64))
                        .modify(string_len("intensity", 16));
                }
                "project_task_log" => {
                    change = change
                        .modify(integer("user_id"))
                        .modify(stamp("created_at", b))
                        .foreign_key(user_fk(table, "fk_project_task_log_user"));
                }
                "skill_practice_session" => {
                    change = change
                        .modify(stamp("created_at", b))
                        .foreign_key(user_fk(table, "fk_skill_practice_session_user"));
                }
                _ => {}
            }
            change.run(manager).await?;
            let calendar_index = if table == "skill_practice_session" {
                "ix_skill_session_calendar_event".to_owned()
            } else {
                format!("ix_{table}_calendar_event")
            };
            manager
                .create_index(index(&calendar_index, table, &["calendar_event_id"]))
                .await?;
        }
        manager
            .create_index(ix("project_task_log", "user_id"))
            .await?;
        manager
            .create_index(ix("skill_practice_session", "user_id"))
            .await?;

        TableChange::new("project_task")
            .modify(integer("user_id"))
            .modify(stamp("updated_at", b))
            .foreign_key(user_fk("project_task", "fk_project_task_user"))
            .run(manager)
            .await?;
        manager.create_index(ix("project_task", "user_id")).await?;

        TableChange::new("skill")
            .modify(json("tags").default("[]").take())
            .modify(stamp("updated_at", b))
            .run(manager)
            .await?;

        // --- journal mood: text → integer ---
        drop_indexes(manager, "journal_entry", &["ix_journal_entry_user_mood"]).await?;
        let mood = format!("COALESCE(mood_int, {})", integer_or_null_sql("mood", b));
        TableChange::new("journal_entry")
            .modify_using(integer_null("mood"), &mood)
            .run(manager)
            .await?;
        manager
            .create_index(index(
                "ix_journal_entry_user_mood",
                "journal_entry",
                &["user_id", "mood"],
            ))
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(irreversible(
            "m20251219_000002_phase3a_new_models",
            "scores were rounded to NUMERIC(3,2), journal moods converted to integers and \
             placeholder values filled in",
        ))
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
