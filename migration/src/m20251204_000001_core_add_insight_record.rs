//! LifeOS `0002_add_insight_record`: the `insight_record` table (derived insights).
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
                    .table("insight_record")
                    .col(pk_auto("id"))
                    .col(integer_null("user_id"))
                    .col(integer_null("event_id"))
                    .col(string_len("event_type", 128))
                    .col(string_len("kind", 64))
                    .col(text("message").default(""))
                    .col(string_len("severity", 16).default("info"))
                    .col(json("data").default("{}"))
                    .col(date_time("created_at").default(utc_now(b)))
                    .foreign_key(&mut fk("insight_record", "user_id", "user"))
                    .foreign_key(&mut fk("insight_record", "event_id", "event_record"))
                    .take(),
            )
            .await?;
        for column in ["user_id", "event_id", "event_type", "kind", "created_at"] {
            manager.create_index(ix("insight_record", column)).await?;
        }
        manager
            .create_index(index(
                "ix_insight_record_user_created_at",
                "insight_record",
                &["user_id", "created_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("insight_record").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
