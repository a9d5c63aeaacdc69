//! `finance_money_schedule_daily_balance`: the projected balance of one currency on one day.

use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// The projected running balance of the user's accounts in one currency at the end of a day
/// (the original stored the day's net of schedule rows instead).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_money_schedule_daily_balance")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, unique_key = "user_currency_as_of")]
    pub user_id: UserId,
    #[sea_orm(indexed, unique_key = "user_currency_as_of")]
    pub as_of: Date,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub balance: Decimal,
    /// ISO 4217 code of the accounts projected.
    #[sea_orm(
        unique_key = "user_currency_as_of",
        column_type = "String(StringLen::N(3))",
        default_value = "USD"
    )]
    pub currency: String,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
