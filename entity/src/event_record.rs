//! `event_record`: the immutable log of domain events.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// A recorded event.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_record")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, column_type = "String(StringLen::N(128))")]
    pub event_type: String,
    pub payload: Json,
    #[sea_orm(indexed)]
    pub user_id: Option<UserId>,
    #[sea_orm(indexed)]
    pub created_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
