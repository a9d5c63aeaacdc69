//! Part 2: the legacy and orphan objects LifeOS history left behind are removed
//! (DECISIONS 3), so the head schema holds only what the entities map.
//!
//! Every legacy value that has a home in the current model is moved there first, in
//! set-based SQL:
//! - `journal_tag`/`journal_entry_tag` → the entry's `tags` JSON list (merged, deduplicated);
//!   `journal_entry.content` → `body` where `body` is empty (`mood_int` was folded into `mood`
//!   by `phase3a_new_models`);
//! - `health_biometric.metric`/`value` → `weight`, `body_fat_pct` or `resting_hr` when the
//!   metric names one, otherwise appended to `notes` as `metric: value`;
//! - `health_workout.calories` and `health_nutrition_log.calories` → `calories_est` where
//!   empty; a meal's legacy `protein`/`carbs`/`fat` are appended to `items` (`… (protein 30,
//!   carbs 40)`), the one text the meal has;
//! - `skills_skill` and `skills_skill_practice_session` (orphans no code wrote) → `skill` and
//!   `skill_practice_session`; a skill whose name the user already has merges into it.
//!
//! Removed: the tables `journal_tag`, `journal_entry_tag`, `skills_skill`,
//! `skills_skill_practice_session`; the columns `journal_entry.content`, `mood_int`;
//! `health_biometric.metric`, `value`, `recorded_at`; `health_workout.activity`, `calories`,
//! `performed_at`; `health_nutrition_log.meal`, `calories`, `protein`, `carbs`, `fat`,
//! `logged_at`; `skill.level` (a free-text label the model replaced with
//! `current_level`/`target_level`; its values are dropped); and the indexes over them, plus
//! `ix_password_reset_jti`, which duplicated the unique constraint on `jti`. The legacy
//! timestamps live on as each row's `date` and `created_at` (copied by `20251212`).
//!
//! Irreversible: `down` fails (the removed columns cannot be refilled from the new ones).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{TableChange, drop_indexes, exec, irreversible};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let legacy_tags = "SELECT jt.name FROM journal_entry_tag AS et \
             JOIN journal_tag AS jt ON jt.id = et.tag_id WHERE et.entry_id = journal_entry.id";
        let merged = match b {
            DbBackend::Postgres => format!(
                "(SELECT json_agg(t.tag ORDER BY t.tag) FROM (\
                     SELECT json_array_elements_text(journal_entry.tags) AS tag \
                     UNION {legacy_tags}) AS t)"
            ),
            _ => format!(
                "(SELECT json_group_array(t.tag) FROM (\
                     SELECT value AS tag FROM json_each(journal_entry.tags) \
                     UNION {legacy_tags} ORDER BY 1) AS t)"
            ),
        };
        exec(
            manager,
            &format!(
                "UPDATE journal_entry SET tags = {merged} WHERE EXISTS \
                 (SELECT 1 FROM journal_entry_tag AS et WHERE et.entry_id = journal_entry.id)"
            ),
        )
        .await?;
        exec(
            manager,
            "UPDATE journal_entry SET body = content \
             WHERE (body IS NULL OR body = '') AND content IS NOT NULL",
        )
        .await?;

        let trim_separators = |sql: &str| match b {
            DbBackend::Postgres => format!("trim(BOTH ', ' FROM {sql})"),
            _ => format!("trim({sql}, ', ')"),
        };
        let text = |column: &str| match b {
            DbBackend::Postgres => format!("{column}::text"),
            _ => format!("CAST({column} AS TEXT)"),
        };
        exec(
            manager,
            &format!(
                "UPDATE health_biometric SET \
                 weight = CASE WHEN lower(trim(metric)) IN ('weight', 'weight_kg', 'body_weight') \
                     THEN COALESCE(weight, value) ELSE weight END, \
                 body_fat_pct = CASE WHEN lower(trim(metric)) IN ('body_fat', 'body_fat_pct', 'bodyfat') \
                     THEN COALESCE(body_fat_pct, value) ELSE body_fat_pct END, \
                 resting_hr = CASE WHEN lower(trim(metric)) IN ('resting_hr', 'resting_heart_rate') \
                     THEN COALESCE(resting_hr, CAST(round(value) AS INTEGER)) ELSE resting_hr END, \
                 notes = CASE WHEN lower(trim(metric)) IN ('weight', 'weight_kg', 'body_weight', \
                         'body_fat', 'body_fat_pct', 'bodyfat', 'resting_hr', 'resting_heart_rate') \
                     THEN notes \
                     ELSE COALESCE(notes || '; ', '') || metric || ': ' || {} END \
                 WHERE metric IS NOT NULL AND metric <> '' AND value IS NOT NULL",
                text("value")
            ),
        )
        .await?;
        exec(
            manager,
            "UPDATE health_workout SET calories_est = calories \
             WHERE calories_est IS NULL AND calories IS NOT NULL",
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE health_nutrition_log SET \
                 calories_est = COALESCE(calories_est, calories), \
                 items = items || CASE WHEN protein IS NULL AND carbs IS NULL AND fat IS NULL THEN '' \
                     ELSE ' (' || {} || ')' END",
                trim_separators(&format!(
                    "COALESCE('protein ' || {} || ', ', '') || COALESCE('carbs ' || {} || ', ', '') \
                     || COALESCE('fat ' || {}, '')",
                    text("protein"),
                    text("carbs"),
                    text("fat")
                ))
            ),
        )
        .await?;

        exec(
            manager,
            "INSERT INTO skill (user_id, name, category, difficulty, target_level, current_level, \
                 description, tags, created_at, updated_at) \
             SELECT s.user_id, s.name, s.category, s.difficulty, s.target_level, s.current_level, \
                 s.description, s.tags, s.created_at, s.updated_at \
             FROM skills_skill AS s WHERE NOT EXISTS \
                 (SELECT 1 FROM skill AS k WHERE k.user_id = s.user_id AND k.name = s.name)",
        )
        .await?;
        exec(
            manager,
            "INSERT INTO skill_practice_session (skill_id, user_id, duration_minutes, intensity, \
                 notes, practiced_at, created_at) \
             SELECT k.id, p.user_id, p.duration_minutes, p.intensity, p.notes, p.practiced_at, \
                 p.created_at \
             FROM skills_skill_practice_session AS p \
             JOIN skills_skill AS s ON s.id = p.skill_id \
             JOIN skill AS k ON k.user_id = s.user_id AND k.name = s.name",
        )
        .await?;

        for table in [
            "journal_entry_tag",
            "journal_tag",
            "skills_skill_practice_session",
            "skills_skill",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        drop_indexes(manager, "password_reset_token", &["ix_password_reset_jti"]).await?;
        for (table, index, columns) in [
            ("journal_entry", None, &["content", "mood_int"][..]),
            (
                "health_biometric",
                Some("ix_health_biometric_user_recorded_at"),
                &["metric", "value", "recorded_at"][..],
            ),
            (
                "health_workout",
                Some("ix_health_workout_user_performed_at"),
                &["activity", "calories", "performed_at"][..],
            ),
            (
                "health_nutrition_log",
                Some("ix_health_nutrition_log_user_logged_at"),
                &["meal", "calories", "protein", "carbs", "fat", "logged_at"][..],
            ),
            ("skill", None, &["level"][..]),
        ] {
            if let Some(index) = index {
                drop_indexes(manager, table, &[index]).await?;
            }
            let mut change = TableChange::new(table);
            for column in columns {
                change = change.drop_column(column);
            }
            change.run(manager).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(irreversible(
            "m20261101_000001_cleanup_legacy_objects",
            "legacy columns and tables were dropped after their values moved to the current \
             columns",
        ))
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
