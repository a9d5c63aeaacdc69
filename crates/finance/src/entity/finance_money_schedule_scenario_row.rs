//! `finance_money_schedule_scenario_row`: an adjustment of a scenario, optionally to a base schedule row.

use sea_orm::entity::prelude::*;

/// An adjustment of a scenario, optionally to a base schedule row.
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
    #[sea_orm(belongs_to, from = "scenario_id", to = "id", on_delete = "Cascade")]
    pub scenario: HasOne<super::finance_money_schedule_scenario::Entity>,
    #[sea_orm(belongs_to, from = "base_row_id", to = "id", on_delete = "SetNull")]
    pub base_row: HasOne<super::finance_money_schedule_row::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
