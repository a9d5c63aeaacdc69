//! LifeOS `20251204_core_user_query_indexes`: per-user, time-ordered query indexes.

use sea_orm_migration::prelude::*;

use crate::support::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, columns)
const INDEXES: [(&str, &str, [&str; 2]); 9] = [
    (
        "ix_event_record_user_created_at",
        "event_record",
        ["user_id", "created_at"],
    ),
    (
        "ix_event_record_user_event_type",
        "event_record",
        ["user_id", "event_type"],
    ),
    (
        "ix_finance_transaction_user_occurred_at",
        "finance_transaction",
        ["user_id", "occurred_at"],
    ),
    (
        "ix_finance_money_schedule_row_user_event_date",
        "finance_money_schedule_row",
        ["user_id", "event_date"],
    ),
    (
        "ix_finance_money_schedule_daily_balance_user_as_of",
        "finance_money_schedule_daily_balance",
        ["user_id", "as_of"],
    ),
    (
        "ix_health_biometric_user_recorded_at",
        "health_biometric",
        ["user_id", "recorded_at"],
    ),
    (
        "ix_health_workout_user_performed_at",
        "health_workout",
        ["user_id", "performed_at"],
    ),
    (
        "ix_health_nutrition_log_user_logged_at",
        "health_nutrition_log",
        ["user_id", "logged_at"],
    ),
    (
        "ix_project_user_created_at",
        "project",
        ["user_id", "created_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in INDEXES {
            manager.create_index(index(name, table, &columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES.iter().rev() {
            manager
                .drop_index(
                    Index::drop()
                        .name(*name)
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
