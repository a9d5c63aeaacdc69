//! `health_workout`: a workout.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A workout.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_workout")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub activity: String,
    pub duration_minutes: i32,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub calories: Option<Decimal>,
    pub performed_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
