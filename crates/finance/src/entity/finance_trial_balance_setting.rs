//! `finance_trial_balance_setting`: trial-balance preferences for a month.

use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// Trial-balance preferences for a month.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_trial_balance_setting")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// One setting per user and month.
    #[sea_orm(indexed, unique_key = "user_month")]
    pub user_id: UserId,
    /// `YYYY-MM`.
    #[sea_orm(unique_key = "user_month", column_type = "String(StringLen::N(7))")]
    pub month: String,
    pub auto_rollup: bool,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
