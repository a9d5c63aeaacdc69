//! `documents`: stored files, content-addressed by the SHA-256 of their bytes.

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// A document, owned by one user.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique_key = "user_path")]
    pub user_id: UserId,
    #[sea_orm(unique_key = "user_path", column_type = "String(StringLen::N(1024))")]
    pub path: String,
    /// Extracted text (the pipeline keeps its first 1000 characters).
    #[sea_orm(column_type = "Text")]
    pub content: String,
    #[sea_orm(indexed, column_type = "String(StringLen::N(64))")]
    pub content_hash: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    pub created_at: DateTime<Utc>,
    #[sea_orm(indexed)]
    pub updated_at: DateTime<Utc>,
    /// SHA-256 (hex) of the original bytes; the deduplication key (DECISIONS 14).
    #[sea_orm(unique, column_type = "String(StringLen::N(64))", nullable)]
    pub sha256: Option<String>,
    /// `upload`, `email`, `vision_extract`, … (free text at this revision).
    #[sea_orm(indexed, column_type = "String(StringLen::N(50))")]
    pub source: String,
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub mime_type: Option<String>,
    pub file_size: Option<i64>,
    /// Where the bytes are (`local://data/documents/{sha256}`, …).
    #[sea_orm(column_type = "Text")]
    pub storage_uri: String,
    /// `invoice`, `receipt`, `contract`, … (`idx_documents_extraction_type` is partial).
    #[sea_orm(column_type = "String(StringLen::N(50))", nullable)]
    pub extraction_type: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub extraction_data: Option<Json>,
    /// Extraction cost in USD.
    #[sea_orm(column_type = "Decimal(Some((10, 4)))", nullable)]
    pub extraction_cost: Option<Decimal>,
    pub extracted_at: Option<DateTime<Utc>>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
