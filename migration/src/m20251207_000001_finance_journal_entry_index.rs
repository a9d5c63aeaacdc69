//! LifeOS `20251207_finance_journal_entry_index`: `(user_id, posted_at)` on journal entries,
//! for time-ordered ledger reads.

use sea_orm_migration::prelude::*;

use crate::support::{drop_indexes, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_finance_journal_entry_user_posted_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                NAME,
                "finance_journal_entry",
                &["user_id", "posted_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, "finance_journal_entry", &[NAME]).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
