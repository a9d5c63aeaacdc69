//! `relationships_person`: a person in the user's life.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A person; the name is unique per user.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relationships_person")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, unique_key = "user_name")]
    pub user_id: UserId,
    #[sea_orm(unique_key = "user_name", column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub relationship_type: Option<String>,
    pub importance_level: Option<i32>,
    /// A JSON list of strings.
    pub tags: Json,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub birthday: Option<Date>,
    pub first_met_date: Option<Date>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
