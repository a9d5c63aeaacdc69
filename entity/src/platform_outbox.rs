//! `platform_outbox`: the transactional outbox (events enqueued with the write that caused them).

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// An event waiting for (or past) delivery.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: Option<UserId>,
    #[sea_orm(indexed, column_type = "String(StringLen::N(128))")]
    pub event_type: String,
    pub payload: Json,
    #[sea_orm(indexed, column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub attempts: i32,
    #[sea_orm(indexed)]
    pub available_at: Timestamp,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The random id of the current delivery lease (fences acknowledgements); `NULL` when
    /// the message is not being delivered.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub lease_id: Option<String>,
    pub created_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
