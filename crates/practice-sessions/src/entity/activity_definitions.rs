//! `activity_definitions`: an activity that can be practised, with how it is measured.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// An activity definition; the name is unique per root among definitions not deleted.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_definitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub has_sets: bool,
    pub has_metrics: bool,
    /// Whether a derived product of the multiplicative metrics is shown.
    pub metrics_multiplicative: bool,
    /// Whether values are recorded per split (e.g. left/right).
    pub has_splits: bool,
    #[sea_orm(indexed)]
    pub group_id: Option<Uuid>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The deletion (`practice_deletions`) that soft-deleted this row; `NULL` while live.
    pub delete_batch_id: Option<Uuid>,
    #[sea_orm(belongs_to, from = "root_id", to = "id", on_delete = "Cascade")]
    pub root: HasOne<super::goals::Entity>,
    #[sea_orm(belongs_to, from = "group_id", to = "id", on_delete = "SetNull")]
    pub group: HasOne<super::activity_groups::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
