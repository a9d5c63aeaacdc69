//! `activity_instances`: an activity performed in a practice session, optionally timed.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// An activity instance. `time_stop >= time_start` and `duration_seconds >= 0` are checked
/// by the database.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_instances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub practice_session_id: Uuid,
    #[sea_orm(indexed)]
    pub activity_definition_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub time_start: Option<DateTime<Utc>>,
    pub time_stop: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i32>,
    pub completed: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// Sets and other structured data (`{"sets": […]}`).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub data: Option<Json>,
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Order within the session.
    pub sort_order: i32,
    /// The owner's local day of `created_at`, fixed when the row is written (DECISIONS 8).
    pub local_day: Date,
    /// The deletion (`practice_deletions`) that soft-deleted this row; `NULL` while live.
    pub delete_batch_id: Option<Uuid>,
    #[sea_orm(
        belongs_to,
        relation_enum = "PracticeSession",
        from = "practice_session_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub practice_session: HasOne<super::goals::Entity>,
    #[sea_orm(belongs_to, from = "activity_definition_id", to = "id")]
    pub activity_definition: HasOne<super::activity_definitions::Entity>,
    #[sea_orm(
        belongs_to,
        relation_enum = "Root",
        from = "root_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub root: HasOne<super::goals::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
