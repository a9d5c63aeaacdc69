//! `jwt_blocklist`: revoked token ids.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// A revoked token id, optionally with the user who revoked it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jwt_blocklist")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique, column_type = "String(StringLen::N(64))")]
    pub jti: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the blocked token expires on its own; the entry can be purged after it.
    #[sea_orm(indexed)]
    pub expires_at: Option<Timestamp>,
    #[sea_orm(belongs_to, from = "created_by", to = "id", on_delete = "SetNull")]
    pub creator: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
