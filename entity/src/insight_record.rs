//! `insight_record`: insights derived from events.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// An insight.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insight_record")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: Option<UserId>,
    #[sea_orm(indexed)]
    pub event_id: Option<i32>,
    #[sea_orm(indexed, column_type = "String(StringLen::N(128))")]
    pub event_type: String,
    #[sea_orm(indexed, column_type = "String(StringLen::N(64))")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub severity: String,
    pub data: Json,
    #[sea_orm(indexed)]
    pub created_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
    #[sea_orm(belongs_to, from = "event_id", to = "id")]
    pub event: HasOne<super::event_record::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
