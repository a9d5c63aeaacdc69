//! `finance_account`: an account of the chart of accounts.

use lifeos_entity::{Timestamp, UserId};
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
    pub category_id: Option<i32>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(indexed, column_type = "String(StringLen::N(32))", nullable)]
    pub code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub is_active: bool,
    /// `asset`, `liability`, `equity`, `income` or `expense`.
    #[sea_orm(indexed, column_type = "String(StringLen::N(16))")]
    pub account_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub account_subtype: Option<String>,
    /// Lowercased, trimmed, inner whitespace collapsed.
    #[sea_orm(indexed, column_type = "String(StringLen::N(255))")]
    pub normalized_name: String,
    pub created_at: Timestamp,
    /// ISO 4217 code; fixed once the account has journal lines.
    #[sea_orm(column_type = "String(StringLen::N(3))", default_value = "USD")]
    pub currency: String,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "category_id", to = "id", on_delete = "SetNull")]
    pub category: HasOne<super::finance_account_category::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
