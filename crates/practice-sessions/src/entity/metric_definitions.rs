//! `metric_definitions`: a metric recorded for an activity (reps, weight, …).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A metric of an activity; the name is unique per activity among metrics not deleted.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "metric_definitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub activity_id: Uuid,
    pub name: String,
    pub unit: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub is_active: bool,
    /// Marks the metric that defines the "top set".
    pub is_top_set_metric: bool,
    /// Included in product calculations.
    pub is_multiplicative: bool,
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    pub updated_at: DateTime<Utc>,
    pub sort_order: i32,
    /// The deletion (`practice_deletions`) that soft-deleted this row; `NULL` while live.
    pub delete_batch_id: Option<Uuid>,
    #[sea_orm(belongs_to, from = "activity_id", to = "id", on_delete = "Cascade")]
    pub activity: HasOne<super::activity_definitions::Entity>,
    #[sea_orm(belongs_to, from = "root_id", to = "id", on_delete = "Cascade")]
    pub root: HasOne<super::goals::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
