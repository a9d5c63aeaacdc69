//! `health_biometric`: a biometric measurement (weight, resting heart rate, …).

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A biometric measurement (weight, resting heart rate, …).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_biometric")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub metric: String,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
    pub value: Decimal,
    pub recorded_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
