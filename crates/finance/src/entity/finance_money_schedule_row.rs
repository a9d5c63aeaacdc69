//! `finance_money_schedule_row`: a planned cash event on a day (signed amount).

use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// A planned cash event on a day (signed amount).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_money_schedule_row")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    pub account_id: i32,
    #[sea_orm(indexed)]
    pub event_date: Date,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub amount: Decimal,
    #[sea_orm(column_type = "Text", nullable)]
    pub memo: Option<String>,
    /// An RFC 5545 RRULE, with `event_date` as its start; `NULL`: once, on `event_date`.
    #[sea_orm(column_type = "Text", nullable)]
    pub rrule: Option<String>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "account_id", to = "id")]
    pub account: HasOne<super::finance_account::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
