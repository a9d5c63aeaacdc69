//! `project_task_log`: an activity log entry of a task (a work session, a note).

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A log entry of a task, with the task's status at the time.
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
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub status_snapshot: Option<String>,
    pub created_at: Timestamp,
    /// `manual`, or how the row was inferred (e.g. from a calendar event).
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    #[sea_orm(indexed)]
    pub calendar_event_id: Option<i32>,
    /// Inference confidence, 0.00–1.00.
    #[sea_orm(column_type = "Decimal(Some((3, 2)))", nullable)]
    pub confidence_score: Option<Decimal>,
    /// `inferred`, `confirmed` or `rejected`; `NULL` for manual rows.
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub inference_status: Option<String>,
    #[sea_orm(belongs_to, from = "task_id", to = "id", on_delete = "Cascade")]
    pub task: HasOne<super::project_task::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(
        belongs_to,
        from = "calendar_event_id",
        to = "id",
        on_delete = "SetNull"
    )]
    pub calendar_event: HasOne<lifeos_entity::calendar_event::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
