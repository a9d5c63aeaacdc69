//! `health_workout`: a workout on a local calendar day.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A workout.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_workout")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    pub duration_minutes: i32,
    /// The user's local calendar day.
    pub date: Date,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub workout_type: String,
    /// `low`, `medium` or `high` (`unknown` for rows from before it existed).
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub intensity: String,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub calories_est: Option<Decimal>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub created_at: Timestamp,
    /// `manual`, or how the row was inferred (e.g. from a calendar event).
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    #[sea_orm(indexed)]
    pub calendar_event_id: Option<i32>,
    /// Inference confidence, 0.00–1.00.
    #[sea_orm(column_type = "Decimal(Some((3, 2)))", nullable)]
    pub confidence_score: Option<Decimal>,
    /// `inferred`, `confirmed` or `rejected`; `NULL` for manual rows.
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub inference_status: Option<String>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(
        belongs_to,
        from = "calendar_event_id",
        to = "id",
        on_delete = "SetNull"
    )]
    pub calendar_event: HasOne<lifeos_entity::calendar_event::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
