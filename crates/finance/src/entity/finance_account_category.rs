//! `finance_account_category`: a category of accounts — a system one (no user) or a user's own.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

pub use super::finance_account::AccountType;

/// The side on which a category's accounts grow (`CHECK`ed in the database).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum NormalBalance {
    /// Debits increase the balance (asset and expense).
    #[sea_orm(string_value = "debit")]
    Debit,
    /// Credits increase the balance (liability, equity and income).
    #[sea_orm(string_value = "credit")]
    Credit,
}

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
    /// The base type's side.
    pub normal_balance: NormalBalance,
    /// The owner; `NULL` for a system category (DECISIONS 11).
    #[sea_orm(indexed, unique_key = "user_base_slug")]
    pub user_id: Option<UserId>,
    #[sea_orm(
        unique_key = "user_base_slug",
        column_type = "String(StringLen::N(128))"
    )]
    pub slug: String,
    /// The type of the accounts it holds.
    #[sea_orm(unique_key = "user_base_slug")]
    pub base_type: AccountType,
    pub is_default: bool,
    pub is_system: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
