//! LifeOS `20251220_readmodels_bootstrap`: `readmodel_state` and `readmodel_run`, the
//! bookkeeping of deterministic event replay into per-domain projections.
//!
//! `uq_readmodel_state_model_version` is a unique index on both backends (a constraint of that
//! name in the original; SQLite cannot name an inline one).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{index, unique_index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("readmodel_state")
                    .col(pk_auto("id"))
                    .col(string_len("model_name", 128))
                    .col(string_len("model_version", 32).default("v1"))
                    .col(string_len("domain", 64))
                    .col(string_len("model_type", 32))
                    .col(string_len("idempotency_key", 255))
                    .col(string_len_null("replay_start_version", 64))
                    .col(string_len_null("rebuild_strategy", 255))
                    .col(json_null("consumed_events"))
                    .col(big_integer_null("last_replayed_event_id"))
                    .col(integer_null("last_replay_run_id"))
                    .col(date_time_null("last_replayed_at"))
                    .col(date_time("created_at").default(utc_now(b)))
                    .col(date_time("updated_at").default(utc_now(b)))
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_readmodel_state_model_version",
                "readmodel_state",
                &["model_name", "model_version"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_readmodel_state_domain",
                "readmodel_state",
                &["domain"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_readmodel_state_last_replayed_event",
                "readmodel_state",
                &["last_replayed_event_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("readmodel_run")
                    .col(pk_auto("id"))
                    .col(string_len("model_name", 128))
                    .col(string_len("model_version", 32).default("v1"))
                    .col(string_len("status", 32).default("pending"))
                    .col(big_integer_null("event_start_id"))
                    .col(big_integer_null("event_end_id"))
                    .col(json_null("replay_scope"))
                    .col(text_null("error_message"))
                    .col(date_time("started_at").default(utc_now(b)))
                    .col(date_time_null("completed_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_readmodel_run_model",
                "readmodel_run",
                &["model_name", "model_version"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_readmodel_run_started_at",
                "readmodel_run",
                &["started_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["readmodel_run", "readmodel_state"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
