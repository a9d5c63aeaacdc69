//! `finance_loan_group_link`: membership of a receivable in a loan group.

use sea_orm::entity::prelude::*;

/// Membership of a receivable in a loan group.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_loan_group_link")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// A tracker is linked to a group once.
    #[sea_orm(indexed, unique_key = "group_tracker")]
    pub group_id: i32,
    #[sea_orm(indexed, unique_key = "group_tracker")]
    pub tracker_id: i32,
    #[sea_orm(belongs_to, from = "group_id", to = "id", on_delete = "Cascade")]
    pub group: HasOne<super::finance_loan_group::Entity>,
    #[sea_orm(belongs_to, from = "tracker_id", to = "id", on_delete = "Cascade")]
    pub tracker: HasOne<super::finance_receivable_tracker::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
