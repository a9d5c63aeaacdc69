//! LifeOS `20251207_domains_inferred_columns` (runs after `20251218`): the shared
//! "inferred record" columns — `source`, `calendar_event_id`, `confidence_score`,
//! `inference_status` — and a `(user_id, inference_status)` index on the six tables that
//! calendar inference writes to.
//!
//! `calendar_event_id` arrives without a foreign key and `confidence_score` as a float, as in
//! history; `phase3a_new_models` adds the keys (on both backends here) and makes the score
//! `NUMERIC(3,2)`. Difference from the original: `down` fails as a whole instead of
//! swallowing errors statement by statement (which PostgreSQL's aborted transaction defeats).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, drop_indexes, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables that receive inferred records.
pub(crate) const TABLES: [&str; 6] = [
    "finance_transaction",
    "health_workout",
    "health_nutrition_log",
    "skill_practice_session",
    "project_task_log",
    "relationships_interaction",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            TableChange::new(table)
                .add_column(string_len("source", 32).default("manual").take())
                .add_column(integer_null("calendar_event_id"))
                .add_column(double_null("confidence_score"))
                .add_column(string_len_null("inference_status", 16))
                .run(manager)
                .await?;
            manager
                .create_index(index(
                    &format!("ix_{table}_user_inference_status"),
                    table,
                    &["user_id", "inference_status"],
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            drop_indexes(
                manager,
                table,
                &[&format!("ix_{table}_user_inference_status")],
            )
            .await?;
            TableChange::new(table)
                .drop_column("inference_status")
                .drop_column("confidence_score")
                .drop_column("calendar_event_id")
                .drop_column("source")
                .run(manager)
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
