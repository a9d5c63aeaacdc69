//! `user`: a LifeOS account, the owner of every other row.

use sea_orm::entity::prelude::*;

use crate::{Timestamp, UserId};

/// A user account. `email` is stored trimmed and lower-cased, and unique case-insensitively:
/// `ix_user_email` is a unique index on `lower(email)` (an expression index, which the model
/// cannot declare; `lifeos-tests`' backfill and seed-name suites check it).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub email: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub password_hash: String,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub full_name: Option<String>,
    /// IANA time-zone name; local calendar days are computed in it (DECISIONS 8).
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub timezone: Option<String>,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ActiveModelBehavior for ActiveModel {}
