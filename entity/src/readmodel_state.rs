//! `readmodel_state`: replay position of one read model (projection) version.

use sea_orm::entity::prelude::*;

use crate::Timestamp;

/// The replay state of a read model version.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "readmodel_state")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(
        unique_key = "model_version",
        column_type = "String(StringLen::N(128))"
    )]
    pub model_name: String,
    #[sea_orm(unique_key = "model_version", column_type = "String(StringLen::N(32))")]
    pub model_version: String,
    #[sea_orm(indexed, column_type = "String(StringLen::N(64))")]
    pub domain: String,
    /// `snapshot`, `timeline` or `aggregate`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub model_type: String,
    #[sea_orm(unique, column_type = "String(StringLen::N(255))")]
    pub idempotency_key: String,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub replay_start_version: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub rebuild_strategy: Option<String>,
    /// The event types it consumes.
    pub consumed_events: Option<Json>,
    #[sea_orm(indexed)]
    pub last_replayed_event_id: Option<i64>,
    pub last_replay_run_id: Option<i32>,
    pub last_replayed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ActiveModelBehavior for ActiveModel {}
