//! `split_definitions`: the splits of an activity (e.g. "Left", "Right").

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A split of an activity; the name is unique per activity among splits not deleted.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "split_definitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub activity_id: Uuid,
    pub name: String,
    /// Display order.
    pub order: i32,
    pub created_at: DateTime<Utc>,
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The deletion (`practice_deletions`) that soft-deleted this row; `NULL` while live.
    pub delete_batch_id: Option<Uuid>,
    #[sea_orm(belongs_to, from = "activity_id", to = "id", on_delete = "Cascade")]
    pub activity: HasOne<super::activity_definitions::Entity>,
    #[sea_orm(belongs_to, from = "root_id", to = "id", on_delete = "Cascade")]
    pub root: HasOne<super::goals::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
