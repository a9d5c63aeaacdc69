//! LifeOS `20251215_projects_init`: the projects v1 columns and eight indexes.
//!
//! The original had two paths: create the tables if missing, else add columns. In this chain
//! the tables always exist (from `0001_initial`), so only the "add columns" path is
//! reproduced: `user_id` on tasks and task logs arrives nullable and without a foreign key;
//! `phase3a_new_models` backfills it, makes it `NOT NULL` and adds the key.
//!
//! Differences from the original (DECISIONS 0):
//! - existing rows get `updated_at` = `created_at` (projects, tasks) and task logs
//!   `created_at` = `logged_at`, not the migration's time; the columns are added through
//!   [`TableChange`], so SQLite tables with rows migrate;
//! - `down` drops what `up` added. The original dropped all three tables — with their rows,
//!   which `0001_initial` had created.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, drop_indexes, exec, index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 8] = [
    ("ix_project_user_name", "project", &["user_id", "name"]),
    ("ix_project_user_status", "project", &["user_id", "status"]),
    (
        "ix_project_user_target_date",
        "project",
        &["user_id", "target_date"],
    ),
    (
        "ix_project_task_user_project_status",
        "project_task",
        &["user_id", "project_id", "status"],
    ),
    (
        "ix_project_task_user_due_date",
        "project_task",
        &["user_id", "due_date"],
    ),
    (
        "ix_project_task_user_project_due_date",
        "project_task",
        &["user_id", "project_id", "due_date"],
    ),
    (
        "ix_project_task_log_user_task_logged_at",
        "project_task_log",
        &["user_id", "task_id", "logged_at"],
    ),
    (
        "ix_project_task_log_user_logged_at",
        "project_task_log",
        &["user_id", "logged_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        TableChange::new("project")
            .add_column(text_null("description"))
            .add_column(date_null("target_date"))
            .add_column(date_time_null("updated_at").default(utc_now(b)).take())
            .run(manager)
            .await?;
        exec(manager, "UPDATE project SET updated_at = created_at").await?;
        TableChange::new("project_task")
            .add_column(integer_null("user_id"))
            .add_column(integer_null("priority"))
            .add_column(text_null("notes"))
            .add_column(date_time_null("updated_at").default(utc_now(b)).take())
            .run(manager)
            .await?;
        exec(manager, "UPDATE project_task SET updated_at = created_at").await?;
        TableChange::new("project_task_log")
            .add_column(integer_null("user_id"))
            .add_column(string_len_null("status_snapshot", 32))
            .add_column(date_time_null("created_at").default(utc_now(b)).take())
            .run(manager)
            .await?;
        exec(
            manager,
            "UPDATE project_task_log SET created_at = logged_at",
        )
        .await?;
        for (name, table, columns) in INDEXES {
            manager.create_index(index(name, table, columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES.iter().rev() {
            drop_indexes(manager, table, &[name]).await?;
        }
        TableChange::new("project_task_log")
            .drop_column("created_at")
            .drop_column("status_snapshot")
            .drop_column("user_id")
            .run(manager)
            .await?;
        TableChange::new("project_task")
            .drop_column("updated_at")
            .drop_column("notes")
            .drop_column("priority")
            .drop_column("user_id")
            .run(manager)
            .await?;
        TableChange::new("project")
            .drop_column("updated_at")
            .drop_column("target_date")
            .drop_column("description")
            .run(manager)
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
