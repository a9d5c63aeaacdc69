//! `finance_account_category`: a category of accounts — a system one (no user) or a user's own.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A category of accounts with its base type and normal balance side.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_account_category")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Unique across all categories.
    #[sea_orm(unique, column_type = "String(StringLen::N(16))")]
    pub code: String,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub name: String,
    /// `debit` or `credit`.
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub normal_balance: String,
    /// The owner; `NULL` for a system category (DECISIONS 11).
    #[sea_orm(indexed, unique_key = "user_base_slug")]
    pub user_id: Option<UserId>,
    #[sea_orm(
        unique_key = "user_base_slug",
        column_type = "String(StringLen::N(128))"
    )]
    pub slug: String,
    /// `asset`, `liability`, `equity`, `income` or `expense`.
    #[sea_orm(
        unique_key = "user_base_slug",
        column_type = "String(StringLen::N(16))"
    )]
    pub base_type: String,
    pub is_default: bool,
    pub is_system: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
