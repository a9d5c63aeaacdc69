//! `finance_transaction`: a recorded or imported transaction, optionally booked by a journal entry.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A recorded or imported transaction, optionally booked by a journal entry.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_transaction")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub amount: Decimal,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub occurred_at: Timestamp,
    pub journal_entry_id: Option<i32>,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub counterparty: Option<String>,
    /// Free-text category.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub category: Option<String>,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "journal_entry_id", to = "id")]
    pub journal_entry: HasOne<super::finance_journal_entry::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
