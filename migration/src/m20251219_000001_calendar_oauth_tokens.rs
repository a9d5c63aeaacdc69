//! LifeOS `20251219_calendar_oauth_tokens`: `calendar_oauth_token`, one OAuth grant per user
//! and provider for calendar sync.
//!
//! `uq_user_provider` is a unique index on both backends (the original's unique constraint
//! of that name on PostgreSQL; the same rule, and the same name, on SQLite). The token columns
//! hold ciphertext written by the service (DECISIONS 16), never plaintext.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{fk, ix, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("calendar_oauth_token")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(string_len("provider", 32))
                    .col(text("access_token"))
                    .col(text_null("refresh_token"))
                    .col(string_len("token_type", 32).default("Bearer"))
                    .col(date_time_null("expires_at"))
                    .col(date_time_null("last_sync_at"))
                    .col(string_len_null("sync_token", 512))
                    .col(boolean("is_active").default(true))
                    .col(string_len_null("error_message", 512))
                    .col(date_time_null("created_at"))
                    .col(date_time_null("updated_at"))
                    .foreign_key(
                        fk("calendar_oauth_token", "user_id", "user")
                            .name("fk_calendar_oauth_token_user"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_user_provider",
                "calendar_oauth_token",
                &["user_id", "provider"],
            ))
            .await?;
        manager
            .create_index(ix("calendar_oauth_token", "user_id"))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("calendar_oauth_token").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
