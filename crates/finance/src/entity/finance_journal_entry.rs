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
    #[sea_orm(indexed, unique_key = "user_dedupe")]
    pub user_id: UserId,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub posted_at: Timestamp,
    /// The entry this one reverses (mirrors), if it is a reversal; an entry is reversed at
    /// most once (a unique index).
    pub reverses_entry_id: Option<i32>,
    /// The import batch that brought it, if any.
    #[sea_orm(indexed)]
    pub import_batch_id: Option<i32>,
    /// The import's duplicate key (the source's external id, else a hash of the raw row and
    /// its occurrence); unique per user, `NULL` for rows entered by hand.
    #[sea_orm(
        unique_key = "user_dedupe",
        column_type = "String(StringLen::N(128))",
        nullable
    )]
    pub dedupe_key: Option<String>,
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
    #[sea_orm(belongs_to, from = "import_batch_id", to = "id", on_delete = "SetNull")]
    pub import_batch: HasOne<super::finance_import_batch::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
