//! `journal_entry`: a personal diary entry.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A personal diary entry.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "journal_entry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub title: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub content: Option<String>,
    /// Free text at this revision.
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub mood: Option<String>,
    pub created_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
