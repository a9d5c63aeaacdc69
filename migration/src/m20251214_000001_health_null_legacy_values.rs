//! LifeOS `20251214_health_null_legacy_values`: the legacy numeric columns
//! `health_biometric.value` and `health_nutrition_log.calories` become optional, defaulting
//! to `0`.
//!
//! Difference from the original: `down` first turns `NULL`s written since into `0`, so it can
//! restore `NOT NULL` (the original failed on them).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, exec};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [(&str, &str); 2] = [
    ("health_biometric", "value"),
    ("health_nutrition_log", "calories"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in COLUMNS {
            TableChange::new(table)
                .modify(decimal_len_null(column, 10, 2).default("0").take())
                .run(manager)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in COLUMNS {
            exec(
                manager,
                &format!("UPDATE {table} SET {column} = 0 WHERE {column} IS NULL"),
            )
            .await?;
            TableChange::new(table)
                .modify(decimal_len(column, 10, 2))
                .run(manager)
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
