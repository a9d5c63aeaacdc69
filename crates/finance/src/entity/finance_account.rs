//! `finance_account`: an account of the chart of accounts.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// An account's type, and a category's base type (`CHECK`ed in the database).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AccountType {
    /// Something owned (debit-normal); the column's default.
    #[default]
    #[sea_orm(string_value = "asset")]
    Asset,
    /// Something owed (credit-normal).
    #[sea_orm(string_value = "liability")]
    Liability,
    /// The owner's stake (credit-normal).
    #[sea_orm(string_value = "equity")]
    Equity,
    /// Money earned (credit-normal).
    #[sea_orm(string_value = "income")]
    Income,
    /// Money spent (debit-normal).
    #[sea_orm(string_value = "expense")]
    Expense,
}

/// An account's subtype: each type allows its own list ([`AccountType::subtypes`]; both lists are `CHECK`ed in the database).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(64))")]
pub enum AccountSubtype {
    /// Cash (asset).
    #[sea_orm(string_value = "cash")]
    Cash,
    /// A bank account (asset).
    #[sea_orm(string_value = "bank")]
    Bank,
    /// Investments (asset) or investment income.
    #[sea_orm(string_value = "investment")]
    Investment,
    /// Property (asset).
    #[sea_orm(string_value = "property")]
    Property,
    /// A loan (liability).
    #[sea_orm(string_value = "loan")]
    Loan,
    /// A credit card (liability).
    #[sea_orm(string_value = "credit_card")]
    CreditCard,
    /// Money payable (liability).
    #[sea_orm(string_value = "payable")]
    Payable,
    /// Contributed capital (equity).
    #[sea_orm(string_value = "contributed")]
    Contributed,
    /// Retained earnings (equity).
    #[sea_orm(string_value = "retained_earnings")]
    RetainedEarnings,
    /// Salary (income).
    #[sea_orm(string_value = "salary")]
    Salary,
    /// Business income.
    #[sea_orm(string_value = "business")]
    Business,
    /// Rental income.
    #[sea_orm(string_value = "rental")]
    Rental,
    /// Groceries (expense).
    #[sea_orm(string_value = "groceries")]
    Groceries,
    /// Utilities (expense).
    #[sea_orm(string_value = "utilities")]
    Utilities,
    /// Rent (expense).
    #[sea_orm(string_value = "rent")]
    Rent,
    /// Transportation (expense).
    #[sea_orm(string_value = "transportation")]
    Transportation,
    /// Entertainment (expense).
    #[sea_orm(string_value = "entertainment")]
    Entertainment,
    /// Anything else (every type has it).
    #[sea_orm(string_value = "other")]
    Other,
}

/// Parses a stored value, trimmed and ignoring ASCII case (`" Asset"` is `Asset`).
fn parse<A: ActiveEnum<Value = String>>(field: &'static str, raw: &str) -> crate::Result<A> {
    A::try_from_value(&raw.trim().to_ascii_lowercase()).map_err(|_| {
        crate::error::invalid(field, format!("`{raw}` is not one of {:?}", A::values()))
    })
}

impl std::str::FromStr for AccountType {
    type Err = crate::Error;

    /// `asset`, `liability`, `equity`, `income` or `expense`, in any ASCII case.
    fn from_str(raw: &str) -> crate::Result<Self> {
        parse("account_type", raw)
    }
}

impl std::str::FromStr for AccountSubtype {
    type Err = crate::Error;

    /// One of the subtypes' values (`credit_card`, …), in any ASCII case.
    fn from_str(raw: &str) -> crate::Result<Self> {
        parse("subtype", raw)
    }
}

impl AccountType {
    /// Every type, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::Asset,
        Self::Liability,
        Self::Equity,
        Self::Income,
        Self::Expense,
    ];

    /// The subtypes an account of this type may have.
    pub fn subtypes(self) -> &'static [AccountSubtype] {
        use AccountSubtype as S;
        match self {
            Self::Asset => &[S::Cash, S::Bank, S::Investment, S::Property, S::Other],
            Self::Liability => &[S::Loan, S::CreditCard, S::Payable, S::Other],
            Self::Equity => &[S::Contributed, S::RetainedEarnings, S::Other],
            Self::Income => &[S::Salary, S::Investment, S::Business, S::Rental, S::Other],
            Self::Expense => &[
                S::Groceries,
                S::Utilities,
                S::Rent,
                S::Transportation,
                S::Entertainment,
                S::Other,
            ],
        }
    }

    /// Whether accounts of this type are debit-normal (asset and expense) rather than
    /// credit-normal (liability, equity, income).
    pub fn debit_normal(self) -> bool {
        matches!(self, Self::Asset | Self::Expense)
    }

    /// The side on which accounts of this type grow.
    pub fn normal_balance(self) -> super::finance_account_category::NormalBalance {
        if self.debit_normal() {
            super::finance_account_category::NormalBalance::Debit
        } else {
            super::finance_account_category::NormalBalance::Credit
        }
    }
}

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
    /// The type, which decides the normal side.
    #[sea_orm(indexed)]
    pub account_type: AccountType,
    /// One of the type's subtypes.
    pub account_subtype: Option<AccountSubtype>,
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
