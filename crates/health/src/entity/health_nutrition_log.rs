//! `health_nutrition_log`: a meal and its nutrients.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A meal and its nutrients.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_nutrition_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub meal: String,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
    pub calories: Decimal,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub protein: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub carbs: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub fat: Option<Decimal>,
    pub logged_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
