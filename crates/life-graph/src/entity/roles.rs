//! `roles`: the context in which a user relates to a party ("customer of", "employee at", …).

use chrono::{DateTime, Utc};
use lifeos_entity::{TextList, UserId};
use sea_orm::entity::prelude::*;

/// A role of a user towards a party.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub party_id: Uuid,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub role_name: String,
    /// Domain tags (`TEXT[]` with a GIN index on PostgreSQL, JSON on SQLite); write them with
    /// [`TextList::expr`].
    pub domain_tags: Option<TextList>,
    pub created_at: DateTime<Utc>,
    #[sea_orm(belongs_to, from = "party_id", to = "id", on_delete = "Cascade")]
    pub party: HasOne<super::parties::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
