//! `finance_account_category`: a category of accounts (asset, liability, …) with its normal balance side.

use sea_orm::entity::prelude::*;

/// A category of accounts (asset, liability, …) with its normal balance side.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_account_category")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique, column_type = "String(StringLen::N(16))")]
    pub code: String,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub name: String,
    /// `debit` or `credit`.
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub normal_balance: String,
}

impl ActiveModelBehavior for ActiveModel {}
