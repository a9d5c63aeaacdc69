//! LifeOS `20251205_skills_initial_schema`: the `skills_skill` and
//! `skills_skill_practice_session` tables.
//!
//! History created them and never used them — the application kept `skill` and
//! `skill_practice_session`, which `20251208_skills_enhancements` extends. They are reproduced
//! so that databases at this revision upgrade as they are, and a Part 2 cleanup removes them
//! (DECISIONS 3). They have no entity.

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
                    .table("skills_skill")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(string_len("name", 255))
                    .col(string_len_null("category", 128))
                    .col(string_len_null("difficulty", 32))
                    .col(integer_null("target_level"))
                    .col(integer_null("current_level"))
                    .col(text_null("description"))
                    .col(json("tags").default("[]"))
                    .col(date_time("created_at").default(utc_now(b)))
                    .col(date_time("updated_at").default(utc_now(b)))
                    .foreign_key(&mut fk("skills_skill", "user_id", "user"))
                    .take(),
            )
            .await?;
        manager.create_index(ix("skills_skill", "user_id")).await?;
        manager
            .create_index(unique_index(
                "ux_skills_skill_user_name",
                "skills_skill",
                &["user_id", "name"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_skills_skill_user_category",
                "skills_skill",
                &["user_id", "category"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("skills_skill_practice_session")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(integer("skill_id"))
                    .col(integer("duration_minutes").default(0))
                    .col(integer_null("intensity"))
                    .col(text_null("notes"))
                    .col(date_time("practiced_at").default(utc_now(b)))
                    .col(date_time("created_at").default(utc_now(b)))
                    .foreign_key(&mut fk("skills_skill_practice_session", "user_id", "user"))
                    .foreign_key(
                        fk("skills_skill_practice_session", "skill_id", "skills_skill")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for column in ["user_id", "skill_id", "practiced_at"] {
            manager
                .create_index(ix("skills_skill_practice_session", column))
                .await?;
        }
        manager
            .create_index(index(
                "ix_skills_session_user_practiced_at",
                "skills_skill_practice_session",
                &["user_id", "practiced_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_skills_session_skill_practiced_at",
                "skills_skill_practice_session",
                &["skill_id", "practiced_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["skills_skill_practice_session", "skills_skill"] {
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
