//! `finance_journal_entry`: the header of a double-entry journal entry.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// The header of a double-entry journal entry.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_journal_entry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub posted_at: Timestamp,
    /// The entry this one reverses (mirrors), if it is a reversal; an entry is reversed at
    /// most once (a unique index).
    pub reverses_entry_id: Option<i32>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(
        self_ref,
        relation_enum = "Reverses",
        relation_reverse = "ReversedBy",
        from = "reverses_entry_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub reverses: HasOne<Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
