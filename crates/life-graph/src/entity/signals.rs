//! `signals`: raw inputs awaiting classification, deduplicated by `dedupe_key`.

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a signal came from (`CHECK source IN (…)`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(50))")]
#[serde(rename_all = "snake_case")]
pub enum SignalSource {
    /// An uploaded file read by vision extraction.
    #[sea_orm(string_value = "vision_upload")]
    VisionUpload,
    /// An e-mail.
    #[sea_orm(string_value = "email")]
    Email,
    /// The API.
    #[sea_orm(string_value = "api")]
    Api,
    /// Entered by hand.
    #[sea_orm(string_value = "manual")]
    Manual,
}

/// Processing state of a signal (`CHECK status IN (…)`), `new` by default.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(50))")]
#[serde(rename_all = "snake_case")]
pub enum SignalStatus {
    /// Received.
    #[sea_orm(string_value = "new")]
    New,
    /// Being processed.
    #[sea_orm(string_value = "processing")]
    Processing,
    /// Attached to the entities it produced.
    #[sea_orm(string_value = "attached")]
    Attached,
    /// Put aside.
    #[sea_orm(string_value = "archived")]
    Archived,
}

/// A signal, owned by one user.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    pub source: SignalSource,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload_json: Json,
    pub received_at: DateTime<Utc>,
    #[sea_orm(indexed)]
    pub status: SignalStatus,
    /// Idempotency key (file SHA-256, message id, webhook id).
    #[sea_orm(unique, column_type = "String(StringLen::N(255))", nullable)]
    pub dedupe_key: Option<String>,
    /// The document extracted from this signal.
    pub extraction_id: Option<Uuid>,
    #[sea_orm(column_type = "Decimal(Some((10, 4)))", nullable)]
    pub extraction_cost: Option<Decimal>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "extraction_id", to = "id")]
    pub extraction: HasOne<super::documents::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
