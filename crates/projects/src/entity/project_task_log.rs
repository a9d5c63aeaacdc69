//! `project_task_log`: a log note on a task.

use lifeos_entity::Timestamp;
use sea_orm::entity::prelude::*;

/// A log note on a task.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_task_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub task_id: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub logged_at: Timestamp,
    #[sea_orm(belongs_to, from = "task_id", to = "id")]
    pub task: HasOne<super::project_task::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
