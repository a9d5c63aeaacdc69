//! `permission`: a permission code granted through roles.

use sea_orm::entity::prelude::*;

use crate::Timestamp;

/// A permission.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "permission")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique, column_type = "String(StringLen::N(128))")]
    pub code: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub description: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ActiveModelBehavior for ActiveModel {}
