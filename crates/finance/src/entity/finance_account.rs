//! `finance_account`: an account of the chart of accounts.

use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// An account of the chart of accounts.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_account")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    pub category_id: i32,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(indexed, column_type = "String(StringLen::N(32))", nullable)]
    pub code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub is_active: bool,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "category_id", to = "id")]
    pub category: HasOne<super::finance_account_category::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
