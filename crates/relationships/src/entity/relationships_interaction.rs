//! `relationships_interaction`: a contact with a person, recorded or inferred.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// An interaction with a person.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relationships_interaction")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(indexed)]
    pub person_id: i32,
    /// The user's local calendar day.
    pub date: Date,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub method: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub sentiment: Option<String>,
    pub created_at: Timestamp,
    /// `manual`, or how it was inferred.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub source: String,
    #[sea_orm(indexed)]
    pub calendar_event_id: Option<i32>,
    #[sea_orm(column_type = "Decimal(Some((3, 2)))", nullable)]
    pub confidence_score: Option<Decimal>,
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub inference_status: Option<String>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "person_id", to = "id", on_delete = "Cascade")]
    pub person: HasOne<super::relationships_person::Entity>,
    #[sea_orm(
        belongs_to,
        from = "calendar_event_id",
        to = "id",
        on_delete = "SetNull"
    )]
    pub calendar_event: HasOne<lifeos_entity::calendar_event::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
