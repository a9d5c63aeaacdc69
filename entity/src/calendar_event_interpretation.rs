//! `calendar_event_interpretation`: what a calendar event was classified as, per domain.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// One domain interpretation of a calendar event.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_event_interpretation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub calendar_event_id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    /// `finance`, `health`, `habits`, `skills`, `projects` or `relationships`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub domain: String,
    /// `transaction`, `workout`, `meal`, `habit_log`, `practice`, `work_session`, `interaction`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub record_type: String,
    #[sea_orm(column_type = "Decimal(Some((3, 2)))")]
    pub confidence_score: Decimal,
    /// `inferred`, `confirmed`, `rejected`, `ignored` or `ambiguous`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    pub classification_data: Json,
    /// Id of the domain row created from it (polymorphic, no foreign key).
    pub record_id: Option<i32>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(
        belongs_to,
        from = "calendar_event_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub calendar_event: HasOne<super::calendar_event::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
