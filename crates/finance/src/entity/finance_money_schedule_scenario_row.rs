//! `finance_money_schedule_scenario_row`: an adjustment of a scenario — a delta on a base
//! schedule row, or an extra dated amount on an account.

use sea_orm::entity::prelude::*;

/// An adjustment of a scenario: a delta on a base schedule row, or an extra dated amount on an
/// account.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_money_schedule_scenario_row")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub scenario_id: i32,
    pub base_row_id: Option<i32>,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub delta_amount: Decimal,
    /// The day of an extra amount (`NULL` for a delta on a base row).
    pub event_date: Option<Date>,
    /// The account of an extra amount (`NULL` for a delta on a base row).
    #[sea_orm(indexed)]
    pub account_id: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub memo: Option<String>,
    #[sea_orm(belongs_to, from = "scenario_id", to = "id", on_delete = "Cascade")]
    pub scenario: HasOne<super::finance_money_schedule_scenario::Entity>,
    #[sea_orm(belongs_to, from = "base_row_id", to = "id", on_delete = "SetNull")]
    pub base_row: HasOne<super::finance_money_schedule_row::Entity>,
    #[sea_orm(belongs_to, from = "account_id", to = "id", on_delete = "Cascade")]
    pub account: HasOne<super::finance_account::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
