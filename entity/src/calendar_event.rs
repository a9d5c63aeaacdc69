//! `calendar_event`: an event of the user's calendar, the source of calendar-first inference.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// A calendar event.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(indexed)]
    pub start_time: Timestamp,
    pub end_time: Option<Timestamp>,
    pub all_day: bool,
    #[sea_orm(column_type = "String(StringLen::N(512))", nullable)]
    pub location: Option<String>,
    /// `manual`, `sync_google`, `sync_apple` or `api`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    /// The provider's event id (unique per user where present).
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub external_id: Option<String>,
    /// RRULE text.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub recurrence_rule: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub color: Option<String>,
    pub is_private: bool,
    pub tags: Json,
    pub metadata: Json,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
