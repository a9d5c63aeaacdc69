//! LifeOS `20251221_auth_session_table`: `auth_session`, the lifecycle of a login session
//! (`active`, `invalidated`, `expired`, `admin_reset`).
//!
//! `uq_auth_session_session_id` is a unique index on both backends (a constraint of that name
//! in the original).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{fk, index, unique_index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("auth_session")
                    .col(pk_auto("id"))
                    .col(string_len("session_id", 128))
                    .col(integer("user_id"))
                    .col(string_len("lifecycle_state", 32).default("active"))
                    .col(string_len_null("device_id", 128))
                    .col(date_time_null("invalidated_at"))
                    .col(date_time("created_at").default(utc_now(b)))
                    .col(date_time("updated_at").default(utc_now(b)))
                    .foreign_key(&mut fk("auth_session", "user_id", "user"))
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_auth_session_session_id",
                "auth_session",
                &["session_id"],
            ))
            .await?;
        manager
            .create_index(index("ix_auth_session_user", "auth_session", &["user_id"]))
            .await?;
        manager
            .create_index(index(
                "ix_auth_session_user_state",
                "auth_session",
                &["user_id", "lifecycle_state"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("auth_session").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
