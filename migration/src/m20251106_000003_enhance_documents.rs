//! Life Graph `003_enhance_documents`: content addressing and extraction columns on
//! `documents`, and their indexes, as seed 002 writes them.
//!
//! The seed adds `source` and `storage_uri` as `NOT NULL` with no default, which fails on a
//! table that already has rows (PostgreSQL) and on any table (SQLite). Reproducing the intent:
//! the columns are added, existing rows are backfilled — `source = 'upload'` (the seed's
//! source for user files) and `storage_uri = path` (where a pre-existing document lives) — and
//! only then made `NOT NULL`: by `ALTER COLUMN … SET NOT NULL` on PostgreSQL, by a table
//! rebuild on SQLite (which also cannot add a `UNIQUE` column). `sha256` stays NULL for
//! pre-existing documents: their `content_hash` was not taken over the original bytes.
//!
//! `sha256` is unique across the table, as the seed has it (an inline `UNIQUE` plus
//! `idx_documents_sha256`). In a multi-user database that scope is wider than one user's
//! documents; narrowing it is a Part 2 decision, not history's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20251106_000000_create_documents::documents_table;
use crate::support::{SqliteRebuild, drop_indexes, exec, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [&str; 4] = [
    "idx_documents_sha256",
    "idx_documents_source",
    "idx_documents_extraction_type",
    "idx_documents_created",
];

/// The columns this migration adds, nullable (the form used to add them on PostgreSQL).
fn added_columns() -> Vec<ColumnDef> {
    vec![
        string_len_null("sha256", 64),
        string_len_null("source", 50),
        string_len_null("mime_type", 100),
        big_integer_null("file_size"),
        text_null("storage_uri"),
        string_len_null("extraction_type", 50),
        json_binary_null("extraction_data"),
        decimal_len_null("extraction_cost", 10, 4),
        timestamp_with_time_zone_null("extracted_at"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        if b == DbBackend::Postgres {
            let mut alter = Table::alter().table("documents").take();
            for column in added_columns() {
                alter.add_column(column);
            }
            manager.alter_table(alter).await?;
            exec(
                manager,
                "UPDATE documents SET source = 'upload', storage_uri = path",
            )
            .await?;
            exec(
                manager,
                "ALTER TABLE documents ADD CONSTRAINT documents_sha256_key UNIQUE (sha256), \
                 ALTER COLUMN source SET NOT NULL, ALTER COLUMN storage_uri SET NOT NULL",
            )
            .await?;
        } else {
            let mut table = documents_table(b);
            table
                .col(string_len_null("sha256", 64).unique_key())
                .col(string_len("source", 50))
                .col(string_len_null("mime_type", 100))
                .col(big_integer_null("file_size"))
                .col(text("storage_uri"))
                .col(string_len_null("extraction_type", 50))
                .col(json_binary_null("extraction_data"))
                .col(decimal_len_null("extraction_cost", 10, 4))
                .col(timestamp_with_time_zone_null("extracted_at"));
            SqliteRebuild::new("documents", table)
                .column_from("source", "'upload'")
                .column_from("storage_uri", "path")
                .run(manager)
                .await?;
        }
        manager
            .create_index(unique_index(
                "idx_documents_sha256",
                "documents",
                &["sha256"],
            ))
            .await?;
        manager
            .create_index(index("idx_documents_source", "documents", &["source"]))
            .await?;
        manager
            .create_index(
                index(
                    "idx_documents_extraction_type",
                    "documents",
                    &["extraction_type"],
                )
                .and_where(Expr::col("extraction_type").is_not_null())
                .take(),
            )
            .await?;
        exec(
            manager,
            "CREATE INDEX idx_documents_created ON documents (created_at DESC)",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, "documents", &INDEXES).await?;
        let b = manager.get_database_backend();
        if b == DbBackend::Postgres {
            let mut alter = Table::alter().table("documents").take();
            for column in added_columns().iter().rev() {
                alter.drop_column(Alias::new(column.get_column_name()));
            }
            manager.alter_table(alter).await
        } else {
            SqliteRebuild::new("documents", documents_table(b))
                .run(manager)
                .await
        }
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
