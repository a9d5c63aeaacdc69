//! `project_task`: a task of a project.

use lifeos_entity::Timestamp;
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
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub due_date: Option<Date>,
    pub created_at: Timestamp,
    #[sea_orm(belongs_to, from = "project_id", to = "id")]
    pub project: HasOne<super::project::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
