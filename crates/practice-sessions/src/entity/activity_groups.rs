//! `activity_groups`: named groups of activity definitions within a fractal.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A group of activities; the name is unique per root among groups not deleted.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sort_order: i32,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The deletion (`practice_deletions`) that soft-deleted this row; `NULL` while live.
    pub delete_batch_id: Option<Uuid>,
    #[sea_orm(belongs_to, from = "root_id", to = "id", on_delete = "Cascade")]
    pub root: HasOne<super::goals::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
