//! `calendar_oauth_token`: a user's OAuth grant for calendar sync with one provider.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// An OAuth grant for one calendar provider. The token columns hold ciphertext (DECISIONS 16).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_oauth_token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, unique_key = "user_provider")]
    pub user_id: UserId,
    /// `google` or `apple`.
    #[sea_orm(unique_key = "user_provider", column_type = "String(StringLen::N(32))")]
    pub provider: String,
    #[sea_orm(column_type = "Text")]
    pub access_token: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub refresh_token: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub token_type: String,
    pub expires_at: Option<Timestamp>,
    pub last_sync_at: Option<Timestamp>,
    /// Incremental-sync cursor.
    #[sea_orm(column_type = "String(StringLen::N(512))", nullable)]
    pub sync_token: Option<String>,
    pub is_active: bool,
    #[sea_orm(column_type = "String(StringLen::N(512))", nullable)]
    pub error_message: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
