//! LifeOS `20251213_health_relax_legacy_columns`: the legacy text columns
//! `health_biometric.metric`, `health_nutrition_log.meal` and `health_workout.activity` become
//! optional, defaulting to `''`.
//!
//! Difference from the original: `down` first turns `NULL`s written since into `''`, so it can
//! restore `NOT NULL` (the original failed on them).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, exec};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [(&str, &str, u32); 3] = [
    ("health_biometric", "metric", 64),
    ("health_nutrition_log", "meal", 128),
    ("health_workout", "activity", 128),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, length) in COLUMNS {
            TableChange::new(table)
                .modify(string_len_null(column, length).default("").take())
                .run(manager)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, length) in COLUMNS {
            exec(
                manager,
                &format!("UPDATE {table} SET {column} = '' WHERE {column} IS NULL"),
            )
            .await?;
            TableChange::new(table)
                .modify(string_len(column, length))
                .run(manager)
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
