//! LifeOS `20251212_health_rework`: the health v1 columns on `health_biometric`,
//! `health_workout` and `health_nutrition_log`, and a `(user_id, date)` index on each.
//!
//! Differences from the original (DECISIONS 0):
//! - existing rows get `date` = the day of their legacy timestamp (`recorded_at`,
//!   `performed_at`, `logged_at`) and `created_at` = that timestamp, not the migration's day;
//!   legacy `calories` is copied into `calories_est`;
//! - the columns with `now`/`today` defaults are added through [`TableChange`], so SQLite
//!   tables with rows migrate; and `down` undoes the change on SQLite too (the original did
//!   nothing there, leaving the schema upgraded);
//! - no "if missing" guards: the columns never exist before this migration in this chain.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, day_of_sql, drop_indexes, exec, index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, legacy timestamp, added columns in order).
const TABLES: [(&str, &str, &[&str]); 3] = [
    (
        "health_biometric",
        "recorded_at",
        &[
            "date",
            "weight",
            "body_fat_pct",
            "resting_hr",
            "energy_level",
            "stress_level",
            "notes",
            "created_at",
        ],
    ),
    (
        "health_workout",
        "performed_at",
        &[
            "date",
            "workout_type",
            "intensity",
            "calories_est",
            "notes",
            "created_at",
        ],
    ),
    (
        "health_nutrition_log",
        "logged_at",
        &[
            "date",
            "meal_type",
            "items",
            "calories_est",
            "quality_score",
            "created_at",
        ],
    ),
];

fn added(table: &str, backend: sea_orm_migration::sea_orm::DbBackend) -> Vec<ColumnDef> {
    let date_col = date("date").default(Expr::current_date()).take();
    let created = date_time("created_at").default(utc_now(backend)).take();
    match table {
        "health_biometric" => vec![
            date_col,
            decimal_len_null("weight", 10, 2),
            decimal_len_null("body_fat_pct", 5, 2),
            integer_null("resting_hr"),
            integer_null("energy_level"),
            integer_null("stress_level"),
            text_null("notes"),
            created,
        ],
        "health_workout" => vec![
            date_col,
            string_len_null("workout_type", 64),
            string_len_null("intensity", 16),
            decimal_len_null("calories_est", 10, 2),
            text_null("notes"),
            created,
        ],
        _ => vec![
            date_col,
            string_len_null("meal_type", 32),
            text_null("items"),
            decimal_len_null("calories_est", 10, 2),
            integer_null("quality_score"),
            created,
        ],
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        for (table, legacy, _) in TABLES {
            let mut change = TableChange::new(table);
            for column in added(table, b) {
                change = change.add_column(column);
            }
            change.run(manager).await?;
            let calories = if table == "health_biometric" {
                String::new()
            } else {
                ", calories_est = calories".to_owned()
            };
            exec(
                manager,
                &format!(
                    "UPDATE {table} SET date = {}, created_at = {legacy}{calories}",
                    day_of_sql(legacy, b)
                ),
            )
            .await?;
            manager
                .create_index(index(
                    &format!("ix_{table}_user_date"),
                    table,
                    &["user_id", "date"],
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _, columns) in TABLES.iter().rev() {
            drop_indexes(manager, table, &[&format!("ix_{table}_user_date")]).await?;
            let mut change = TableChange::new(table);
            for column in columns.iter().rev() {
                change = change.drop_column(column);
            }
            change.run(manager).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
