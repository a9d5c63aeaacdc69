//! `finance_money_schedule_daily_balance`: the net of one day's schedule rows (a projection).

use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// The net of one day's schedule rows (a projection).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_money_schedule_daily_balance")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(indexed)]
    pub as_of: Date,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub balance: Decimal,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
