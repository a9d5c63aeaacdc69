//! `health_biometric`: body measurements of a local calendar day.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A biometric record (one per user and day, enforced by the service).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_biometric")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    /// The user's local calendar day.
    pub date: Date,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub weight: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((5, 2)))", nullable)]
    pub body_fat_pct: Option<Decimal>,
    pub resting_hr: Option<i32>,
    /// 1..5.
    pub energy_level: Option<i32>,
    /// 1..5.
    pub stress_level: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub created_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
