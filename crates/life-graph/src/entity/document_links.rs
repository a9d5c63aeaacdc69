//! `document_links`: polymorphic links from a document to any entity.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A link `document → (entity_type, entity_id)`. Owned through the document.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, indexed)]
    pub document_id: Uuid,
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(50))"
    )]
    pub entity_type: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity_id: Uuid,
    pub created_at: DateTime<Utc>,
    #[sea_orm(belongs_to, from = "document_id", to = "id", on_delete = "Cascade")]
    pub document: HasOne<super::documents::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
