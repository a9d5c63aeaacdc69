//! LifeOS `20251205_platform_outbox`: the transactional outbox table.
//!
//! As the original, plus UTC timestamp defaults on PostgreSQL ([`crate::support::utc_now`]).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{fk, index, ix, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("platform_outbox")
                    .col(pk_auto("id"))
                    .col(integer_null("user_id"))
                    .col(string_len("event_type", 128))
                    .col(json("payload").default("{}"))
                    .col(string_len("status", 32).default("pending"))
                    .col(integer("attempts").default(0))
                    .col(date_time("available_at").default(utc_now(b)))
                    .col(text_null("last_error"))
                    .col(date_time("created_at").default(utc_now(b)))
                    .foreign_key(&mut fk("platform_outbox", "user_id", "user"))
                    .take(),
            )
            .await?;
        for column in ["user_id", "event_type", "status", "available_at"] {
            manager.create_index(ix("platform_outbox", column)).await?;
        }
        manager
            .create_index(index(
                "ix_platform_outbox_user_available_at",
                "platform_outbox",
                &["user_id", "available_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_platform_outbox_user_status",
                "platform_outbox",
                &["user_id", "status", "available_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("platform_outbox").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
