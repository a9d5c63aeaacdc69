//! LifeOS `20251208_skills_enhancements`: the v1 columns of `skill` and
//! `skill_practice_session`, the per-user unique skill name, and session ownership.
//!
//! `skill_practice_session.user_id` is added without a foreign key, as history did; the key
//! arrives with `phase3a_new_models`. Differences from the original (DECISIONS 0):
//! - columns with a `now` default are added through [`TableChange`], so the migration also
//!   runs on a SQLite database with rows; existing rows get `skill.updated_at = created_at`
//!   and `skill_practice_session.created_at = practiced_at` rather than the migration's time;
//! - before `ux_skill_user_name` is created, a user's duplicate skill names are made unique
//!   (every copy after the first, by id, becomes `name (#id)`), where the original failed;
//! - no "if missing" guards: in this chain the columns never exist before this migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, drop_indexes, exec, index, unique_index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SKILL_COLUMNS: [&str; 7] = [
    "category",
    "difficulty",
    "target_level",
    "current_level",
    "description",
    "tags",
    "updated_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        TableChange::new("skill")
            .add_column(string_len_null("category", 128))
            .add_column(string_len_null("difficulty", 32))
            .add_column(integer_null("target_level"))
            .add_column(integer_null("current_level"))
            .add_column(text_null("description"))
            .add_column(json_null("tags").default("[]").take())
            .add_column(date_time_null("updated_at").default(utc_now(b)).take())
            .run(manager)
            .await?;
        exec(manager, "UPDATE skill SET updated_at = created_at").await?;
        exec(
            manager,
            "UPDATE skill SET name = substr(name, 1, 240) || ' (#' || id || ')' \
             WHERE EXISTS (SELECT 1 FROM skill AS first \
                 WHERE first.user_id = skill.user_id AND first.name = skill.name \
                 AND first.id < skill.id)",
        )
        .await?;
        manager
            .create_index(unique_index(
                "ux_skill_user_name",
                "skill",
                &["user_id", "name"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_skill_user_category",
                "skill",
                &["user_id", "category"],
            ))
            .await?;

        TableChange::new("skill_practice_session")
            .add_column(integer_null("user_id"))
            .add_column(integer_null("intensity"))
            .add_column(date_time_null("created_at").default(utc_now(b)).take())
            .run(manager)
            .await?;
        exec(
            manager,
            "UPDATE skill_practice_session SET created_at = practiced_at, \
             user_id = (SELECT s.user_id FROM skill AS s WHERE s.id = skill_practice_session.skill_id) \
             WHERE user_id IS NULL",
        )
        .await?;
        manager
            .create_index(index(
                "ix_skill_session_user_practiced_at",
                "skill_practice_session",
                &["user_id", "practiced_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_skill_session_skill_practiced_at",
                "skill_practice_session",
                &["skill_id", "practiced_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(
            manager,
            "skill_practice_session",
            &[
                "ix_skill_session_user_practiced_at",
                "ix_skill_session_skill_practiced_at",
            ],
        )
        .await?;
        TableChange::new("skill_practice_session")
            .drop_column("created_at")
            .drop_column("intensity")
            .drop_column("user_id")
            .run(manager)
            .await?;
        drop_indexes(
            manager,
            "skill",
            &["ux_skill_user_name", "ix_skill_user_category"],
        )
        .await?;
        let mut change = TableChange::new("skill");
        for column in SKILL_COLUMNS.iter().rev() {
            change = change.drop_column(column);
        }
        change.run(manager).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
