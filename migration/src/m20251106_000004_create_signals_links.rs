//! Life Graph `004_create_signals_links`: `signals`, `document_links` and `interactions`, as
//! seed 002 writes them, with DECISIONS 4 and 5:
//!
//! - `signals.user_id` and `interactions.user_id` are added (owners, cascading, indexed);
//! - `interactions.actor_id` is a user reference, so it becomes an `INTEGER` foreign key to
//!   `user` (NULL for system actors; `SET NULL` if that user goes) instead of a bare `UUID`;
//! - UUID primary keys come from the application; `JSONB` is JSON text on SQLite.
//!
//! `signals.dedupe_key` is unique across the table, as in the seed (an inline `UNIQUE` plus
//! the partial `idx_signals_dedupe`); see migration 003 on scoping such keys per user.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{exec, fk, index, now, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();

        manager
            .create_table(
                Table::create()
                    .table("signals")
                    .col(pk_uuid("id"))
                    .col(integer("user_id"))
                    .col(string_len("source", 50).check(Expr::col("source").is_in([
                        "vision_upload",
                        "email",
                        "api",
                        "manual",
                    ])))
                    .col(json_binary("payload_json"))
                    .col(timestamp_with_time_zone("received_at").default(now(b)))
                    .col(string_len("status", 50).default("new").check(
                        Expr::col("status").is_in(["new", "processing", "attached", "archived"]),
                    ))
                    .col(string_len_null("dedupe_key", 255).unique_key())
                    .col(uuid_null("extraction_id"))
                    .col(decimal_len_null("extraction_cost", 10, 4))
                    .foreign_key(
                        fk("signals", "user_id", "user").on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut fk("signals", "extraction_id", "documents"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_signals_status", "signals", &["status"]))
            .await?;
        exec(
            manager,
            "CREATE INDEX idx_signals_received ON signals (received_at DESC)",
        )
        .await?;
        manager
            .create_index(
                unique_index("idx_signals_dedupe", "signals", &["dedupe_key"])
                    .and_where(Expr::col("dedupe_key").is_not_null())
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_signals_user", "signals", &["user_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("document_links")
                    .col(uuid("document_id"))
                    .col(string_len("entity_type", 50))
                    .col(uuid("entity_id"))
                    .col(timestamp_with_time_zone("created_at").default(now(b)))
                    .primary_key(
                        Index::create()
                            .col("document_id")
                            .col("entity_type")
                            .col("entity_id"),
                    )
                    .foreign_key(
                        fk("document_links", "document_id", "documents")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_doclinks_entity",
                "document_links",
                &["entity_type", "entity_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_doclinks_document",
                "document_links",
                &["document_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("interactions")
                    .col(pk_uuid("id"))
                    .col(integer("user_id"))
                    .col(string_len("type", 50))
                    .col(string_len("actor_type", 20))
                    .col(integer_null("actor_id"))
                    .col(string_len("primary_entity_type", 50))
                    .col(uuid("primary_entity_id"))
                    .col(json_binary_null("related_entities").default("[]"))
                    .col(json_binary_null("metadata").default("{}"))
                    .col(decimal_len_null("cost", 10, 4))
                    .col(timestamp_with_time_zone("created_at").default(now(b)))
                    .foreign_key(
                        fk("interactions", "user_id", "user").on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        fk("interactions", "actor_id", "user").on_delete(ForeignKeyAction::SetNull),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_interactions_entity",
                "interactions",
                &["primary_entity_type", "primary_entity_id"],
            ))
            .await?;
        manager
            .create_index(index("idx_interactions_type", "interactions", &["type"]))
            .await?;
        exec(
            manager,
            "CREATE INDEX idx_interactions_created ON interactions (created_at DESC)",
        )
        .await?;
        manager
            .create_index(
                index(
                    "idx_interactions_actor",
                    "interactions",
                    &["actor_type", "actor_id"],
                )
                .and_where(Expr::col("actor_id").is_not_null())
                .take(),
            )
            .await?;
        manager
            .create_index(index("idx_interactions_user", "interactions", &["user_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["interactions", "document_links", "signals"] {
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
