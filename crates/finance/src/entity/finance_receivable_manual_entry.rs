//! `finance_receivable_manual_entry`: a manual (signed) entry against a receivable.

use sea_orm::entity::prelude::*;

/// A manual (signed) entry against a receivable.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_receivable_manual_entry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub tracker_id: i32,
    pub entry_date: Date,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub amount: Decimal,
    #[sea_orm(column_type = "Text", nullable)]
    pub memo: Option<String>,
    #[sea_orm(belongs_to, from = "tracker_id", to = "id", on_delete = "Cascade")]
    pub tracker: HasOne<super::finance_receivable_tracker::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
