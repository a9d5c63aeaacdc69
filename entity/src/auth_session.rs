//! `auth_session`: the lifecycle of one login session.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// A login session and its lifecycle state.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_session")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The SHA-256 (hex) of the session token; the token itself is never stored.
    #[sea_orm(unique, column_type = "String(StringLen::N(128))")]
    pub session_id: String,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    /// `active`, `invalidated`, `expired` or `admin_reset`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub lifecycle_state: String,
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub device_id: Option<String>,
    pub invalidated_at: Option<Timestamp>,
    /// When the session token stops being accepted (`None`: sessions from history).
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
