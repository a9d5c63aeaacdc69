//! `practice_deletions`: one row per soft delete, so `restore` brings back exactly the rows
//! that delete removed (they carry its id in `delete_batch_id`).

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// The kind of row a deletion names (`practice_deletions.entity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DeletedKind {
    /// A goal: a root, a practice session or any other goal.
    #[sea_orm(string_value = "goal")]
    Goal,
    /// An activity group.
    #[sea_orm(string_value = "activity_group")]
    ActivityGroup,
    /// An activity definition.
    #[sea_orm(string_value = "activity_definition")]
    ActivityDefinition,
    /// A session template.
    #[sea_orm(string_value = "session_template")]
    SessionTemplate,
    /// An activity instance.
    #[sea_orm(string_value = "activity_instance")]
    ActivityInstance,
}

/// A soft delete: what was deleted (the row the caller named) and when.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "practice_deletions")]
pub struct Model {
    /// The deletion's id: what `restore` takes, and the rows' `delete_batch_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user who deleted.
    pub user_id: UserId,
    /// The fractal the deleted rows belong to.
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    /// The kind of row the caller deleted.
    pub entity: DeletedKind,
    /// Its id.
    pub entity_id: Uuid,
    /// When; the rows it removed carry the same `deleted_at`.
    pub deleted_at: DateTime<Utc>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "root_id", to = "id", on_delete = "Cascade")]
    pub root: HasOne<super::goals::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
