//! `habits_habit`: a habit the user tracks.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A habit; its name is unique per user.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "habits_habit")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, unique_key = "user_name")]
    pub user_id: UserId,
    #[sea_orm(unique_key = "user_name", column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The domain it serves, e.g. `health`.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub domain_link: Option<String>,
    /// `daily` by default (free text).
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub schedule_type: String,
    pub target_count: Option<i32>,
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub time_of_day: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub difficulty: Option<String>,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
