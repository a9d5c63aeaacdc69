//! LifeOS `20251206_calendar_initial` (runs after `20251218`): `calendar_event` and
//! `calendar_event_interpretation`, the source of calendar-first inference.
//!
//! `ux_calendar_event_user_external` is partial (`WHERE external_id IS NOT NULL`) on both
//! backends; the original made it partial on PostgreSQL only and plain on SQLite, which
//! enforces the same thing because SQLite treats NULLs as distinct. Timestamps are nullable
//! without defaults, as history had them until `phase3a_new_models`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{fk, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("calendar_event")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(string_len("title", 255))
                    .col(text_null("description"))
                    .col(date_time("start_time"))
                    .col(date_time_null("end_time"))
                    .col(boolean("all_day").default(false))
                    .col(string_len_null("location", 512))
                    .col(string_len("source", 32).default("manual"))
                    .col(string_len_null("external_id", 255))
                    .col(string_len_null("recurrence_rule", 255))
                    .col(string_len_null("color", 16))
                    .col(boolean("is_private").default(false))
                    .col(json_null("tags"))
                    .col(json_null("metadata"))
                    .col(date_time_null("created_at"))
                    .col(date_time_null("updated_at"))
                    .foreign_key(
                        fk("calendar_event", "user_id", "user")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for (name, columns) in [
            ("ix_calendar_event_user_start", ["user_id", "start_time"]),
            ("ix_calendar_event_user_end", ["user_id", "end_time"]),
            ("ix_calendar_event_user_source", ["user_id", "source"]),
        ] {
            manager
                .create_index(index(name, "calendar_event", &columns))
                .await?;
        }
        manager
            .create_index(
                unique_index(
                    "ux_calendar_event_user_external",
                    "calendar_event",
                    &["user_id", "external_id"],
                )
                .and_where(Expr::col("external_id").is_not_null())
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("calendar_event_interpretation")
                    .col(pk_auto("id"))
                    .col(integer("calendar_event_id"))
                    .col(integer("user_id"))
                    .col(string_len("domain", 50))
                    .col(string_len("record_type", 50))
                    .col(double("confidence_score"))
                    .col(string_len("status", 20).default("inferred"))
                    .col(json_null("classification_data"))
                    .col(integer_null("record_id"))
                    .col(date_time_null("created_at"))
                    .col(date_time_null("updated_at"))
                    .foreign_key(
                        fk(
                            "calendar_event_interpretation",
                            "calendar_event_id",
                            "calendar_event",
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        fk("calendar_event_interpretation", "user_id", "user")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_interpretation_user_status",
                "calendar_event_interpretation",
                &["user_id", "status"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_interpretation_user_domain",
                "calendar_event_interpretation",
                &["user_id", "domain", "status"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_interpretation_event",
                "calendar_event_interpretation",
                &["calendar_event_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["calendar_event_interpretation", "calendar_event"] {
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
