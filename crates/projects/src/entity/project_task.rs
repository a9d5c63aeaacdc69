//! `project_task`: a task of a project.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A task of a project.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_task")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub project_id: i32,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub title: String,
    /// `open`, `in_progress`, `completed`, `blocked` or `archived`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub due_date: Option<Date>,
    pub created_at: Timestamp,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    /// 1..5.
    pub priority: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "project_id", to = "id", on_delete = "Cascade")]
    pub project: HasOne<super::project::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
