//! `session_token`: persisted refresh-token ids of a user's sessions.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// A refresh token (by its id) and whether it was revoked.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(unique, column_type = "String(StringLen::N(64))")]
    pub jti: String,
    pub revoked: bool,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The session this refresh token renews (`None`: tokens from history).
    #[sea_orm(indexed)]
    pub auth_session_id: Option<i32>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
    #[sea_orm(belongs_to, from = "auth_session_id", to = "id", on_delete = "Cascade")]
    pub auth_session: HasOne<super::auth_session::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
