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
    /// −5..5.
    pub mood: Option<i32>,
    pub created_at: Timestamp,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// A JSON list of strings.
    pub tags: Json,
    /// The user's local calendar day.
    pub entry_date: Date,
    pub is_private: bool,
    #[sea_orm(column_type = "Decimal(Some((5, 2)))", nullable)]
    pub sentiment_score: Option<Decimal>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub emotion_label: Option<String>,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
