//! `readmodel_run`: one replay run of a read model.

use sea_orm::entity::prelude::*;

use crate::Timestamp;

/// A replay run.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "readmodel_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub model_name: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub model_version: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub event_start_id: Option<i64>,
    pub event_end_id: Option<i64>,
    pub replay_scope: Option<Json>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    #[sea_orm(indexed)]
    pub started_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

impl ActiveModelBehavior for ActiveModel {}
