//! LifeOS `20251206_core_password_reset_token`: single-use password-reset tokens (only the
//! SHA-256 of a token is stored, in `jti`).
//!
//! As the original, including the non-unique `ix_password_reset_jti` that duplicates the
//! unique constraint on `jti` (history; a Part 2 cleanup may drop it), plus UTC timestamp
//! defaults on PostgreSQL ([`crate::support::utc_now`]).

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
                    .table("password_reset_token")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(string_len_uniq("jti", 128))
                    .col(date_time("expires_at"))
                    .col(date_time_null("used_at"))
                    .col(integer("attempts").default(0))
                    .col(date_time("created_at").default(utc_now(b)))
                    .col(date_time("updated_at").default(utc_now(b)))
                    .foreign_key(&mut fk("password_reset_token", "user_id", "user"))
                    .take(),
            )
            .await?;
        manager
            .create_index(ix("password_reset_token", "user_id"))
            .await?;
        manager
            .create_index(index(
                "ix_password_reset_user_expires_at",
                "password_reset_token",
                &["user_id", "expires_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_password_reset_jti",
                "password_reset_token",
                &["jti"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("password_reset_token").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
