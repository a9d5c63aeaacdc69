//! `skill`: a skill a user practises.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A skill a user practises.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, unique_key = "user_name")]
    pub user_id: UserId,
    #[sea_orm(unique_key = "user_name", column_type = "String(StringLen::N(255))")]
    pub name: String,
    pub created_at: Timestamp,
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub category: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub difficulty: Option<String>,
    pub target_level: Option<i32>,
    pub current_level: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// A JSON list of strings.
    pub tags: Json,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
