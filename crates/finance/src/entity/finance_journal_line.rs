//! `finance_journal_line`: one debit or credit line of a journal entry.

use sea_orm::entity::prelude::*;

/// One debit or credit line of a journal entry.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_journal_line")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub entry_id: i32,
    #[sea_orm(indexed)]
    pub account_id: i32,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub debit: Decimal,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub credit: Decimal,
    #[sea_orm(column_type = "Text", nullable)]
    pub memo: Option<String>,
    #[sea_orm(belongs_to, from = "entry_id", to = "id", on_delete = "Cascade")]
    pub entry: HasOne<super::finance_journal_entry::Entity>,
    #[sea_orm(belongs_to, from = "account_id", to = "id")]
    pub account: HasOne<super::finance_account::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
