//! `user_preference`: per-user settings as JSON values under string keys.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// One preference of a user.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_preference")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, unique_key = "user_key")]
    pub user_id: UserId,
    #[sea_orm(unique_key = "user_key", column_type = "String(StringLen::N(128))")]
    pub key: String,
    pub value: Json,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
