//! `finance_import_batch`: one import of a file — a bank statement or a journal CSV — that can
//! be undone as a unit.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// What a batch imported (`CHECK`ed in the database).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ImportKind {
    /// A bank statement: one `finance_transaction` per row.
    #[sea_orm(string_value = "bank")]
    Bank,
    /// The original's journal CSV: one two-line journal entry per row.
    #[sea_orm(string_value = "journal")]
    Journal,
}

/// One import of a file.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_import_batch")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The owner.
    pub user_id: UserId,
    /// What it imported.
    pub kind: ImportKind,
    /// The file's name, as the user gave it.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub file_name: Option<String>,
    /// How many rows it created (rows already imported are not counted).
    #[sea_orm(default_value = 0)]
    pub row_count: i32,
    /// When it was imported.
    pub created_at: Timestamp,
    /// When it was undone; `NULL` while it stands.
    pub undone_at: Option<Timestamp>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
