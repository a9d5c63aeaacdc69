//! The Life Graph's pre-existing `documents` table, which Life Graph migration 003 enhances.
//!
//! In the original app this table was made by the ORM's `create_all` before Alembic ran, so no
//! migration created it; here it gets one, placed before the Life Graph chain. It has the
//! base columns of the original ORM model (chain-history §B.0), unified into LifeOS per
//! DECISIONS 4: an owner `user_id` (integer FK to `user`, cascading), and application-generated
//! UUID keys (no database default).
//!
//! Differences from the original, on purpose: the ORM's duplicate indexes are not reproduced,
//! and `path` is unique per user (`ux_documents_user_path`) rather than globally, so one user's
//! paths never collide with — or reveal — another's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{fk, index, now, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The table as this migration creates it; migration 003 rebuilds it on SQLite and needs the
/// same definition to undo its own change.
pub(crate) fn documents_table(backend: DbBackend) -> TableCreateStatement {
    Table::create()
        .table("documents")
        .col(pk_uuid("id"))
        .col(integer("user_id"))
        .col(string_len("path", 1024))
        .col(text("content"))
        .col(string_len("content_hash", 64))
        .col(json_binary_null("metadata").default("{}"))
        .col(timestamp_with_time_zone("created_at").default(now(backend)))
        .col(timestamp_with_time_zone("updated_at").default(now(backend)))
        .foreign_key(fk("documents", "user_id", "user").on_delete(ForeignKeyAction::Cascade))
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(documents_table(manager.get_database_backend()))
            .await?;
        manager
            .create_index(unique_index(
                "ux_documents_user_path",
                "documents",
                &["user_id", "path"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_documents_content_hash",
                "documents",
                &["content_hash"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_documents_updated_at",
                "documents",
                &["updated_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("documents").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
