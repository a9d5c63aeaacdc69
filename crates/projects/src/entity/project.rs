//! `project`: a project.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A project.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub created_at: Timestamp,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub target_date: Option<Date>,
    /// Nullable, as history added it.
    pub updated_at: Option<Timestamp>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
