//! `goals`: the nodes of a fractal goal tree — practice sessions included, as goals of type
//! `PracticeSession`.

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// The kind of a goal tree node (`valid_goal_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum GoalType {
    /// The root of a fractal.
    #[sea_orm(string_value = "UltimateGoal")]
    UltimateGoal,
    /// A long-term goal.
    #[sea_orm(string_value = "LongTermGoal")]
    LongTermGoal,
    /// A mid-term goal.
    #[sea_orm(string_value = "MidTermGoal")]
    MidTermGoal,
    /// A short-term goal; practice sessions serve these.
    #[sea_orm(string_value = "ShortTermGoal")]
    ShortTermGoal,
    /// A practice session.
    #[sea_orm(string_value = "PracticeSession")]
    PracticeSession,
    /// An immediate goal (typically within a session).
    #[sea_orm(string_value = "ImmediateGoal")]
    ImmediateGoal,
    /// A micro goal.
    #[sea_orm(string_value = "MicroGoal")]
    MicroGoal,
    /// A nano goal.
    #[sea_orm(string_value = "NanoGoal")]
    NanoGoal,
}

/// A goal (or practice session) in a user's tree.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "goals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: UserId,
    #[sea_orm(column_name = "type", indexed)]
    pub goal_type: GoalType,
    pub name: String,
    pub description: Option<String>,
    /// Not before `created_at` (`chk_goals_deadline_future`).
    pub deadline: Option<DateTime<Utc>>,
    pub completed: bool,
    #[sea_orm(indexed)]
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `NULL` for a root.
    #[sea_orm(indexed)]
    pub parent_id: Option<Uuid>,
    /// The tree's root goal (a root points at itself).
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    pub duration_minutes: Option<i32>,
    pub session_start: Option<DateTime<Utc>>,
    pub session_end: Option<DateTime<Utc>>,
    pub total_duration_seconds: Option<i32>,
    /// The session template a practice session was created from.
    pub template_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub attributes: Option<Json>,
    /// Deprecated alias of `attributes`.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub session_data: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub targets: Option<Json>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub sort_order: i32,
    /// When the running session was paused; `NULL` unless paused.
    pub last_paused_at: Option<DateTime<Utc>>,
    /// Seconds the session has spent paused (excluded from its duration).
    pub total_paused_seconds: i32,
    /// The deletion (`practice_deletions`) that soft-deleted this row; `NULL` while live.
    pub delete_batch_id: Option<Uuid>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(
        self_ref,
        relation_enum = "Parent",
        relation_reverse = "Children",
        from = "parent_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub parent: HasOne<Entity>,
    #[sea_orm(
        self_ref,
        relation_enum = "Root",
        relation_reverse = "Descendants",
        from = "root_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub root: HasOne<Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
