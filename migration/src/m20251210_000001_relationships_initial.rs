//! LifeOS `20251210_relationships_initial`: `relationships_person` and
//! `relationships_interaction`, replacing the legacy `relationship_*` tables (whose rows
//! `20251216` carries over).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{fk, index, ix, unique_index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("relationships_person")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(string_len("name", 255))
                    .col(string_len_null("relationship_type", 64))
                    .col(integer_null("importance_level"))
                    .col(json("tags").default("[]"))
                    .col(text_null("notes"))
                    .col(date_null("birthday"))
                    .col(date_null("first_met_date"))
                    .col(date_time("created_at").default(utc_now(b)))
                    .col(date_time("updated_at").default(utc_now(b)))
                    .foreign_key(&mut fk("relationships_person", "user_id", "user"))
                    .take(),
            )
            .await?;
        manager
            .create_index(ix("relationships_person", "user_id"))
            .await?;
        manager
            .create_index(unique_index(
                "ux_relationships_person_user_name",
                "relationships_person",
                &["user_id", "name"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_relationships_person_user_importance",
                "relationships_person",
                &["user_id", "importance_level"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_relationships_person_user_type",
                "relationships_person",
                &["user_id", "relationship_type"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("relationships_interaction")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(integer("person_id"))
                    .col(date("date").default(Expr::current_date()))
                    .col(string_len_null("method", 64))
                    .col(text_null("notes"))
                    .col(string_len_null("sentiment", 32))
                    .col(date_time("created_at").default(utc_now(b)))
                    .foreign_key(&mut fk("relationships_interaction", "user_id", "user"))
                    .foreign_key(
                        fk(
                            "relationships_interaction",
                            "person_id",
                            "relationships_person",
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for column in ["user_id", "person_id"] {
            manager
                .create_index(ix("relationships_interaction", column))
                .await?;
        }
        manager
            .create_index(index(
                "ix_relationships_interaction_user_date",
                "relationships_interaction",
                &["user_id", "date"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_relationships_interaction_person_date",
                "relationships_interaction",
                &["user_id", "person_id", "date"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["relationships_interaction", "relationships_person"] {
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
