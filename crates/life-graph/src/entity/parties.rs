//! `parties`: people and organisations a user deals with (vendors, customers, contacts).

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Whether a party is a person or an organisation (`CHECK kind IN ('person', 'org')`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// A natural person.
    #[sea_orm(string_value = "person")]
    Person,
    /// An organisation.
    #[sea_orm(string_value = "org")]
    Org,
}

/// A party, owned by one user.
///
/// Fuzzy name search uses `idx_parties_name_trgm` (GIN trigram) on PostgreSQL; SQLite has
/// `idx_parties_name_norm` on `(user_id, lower(name))` instead.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "parties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(indexed)]
    pub kind: PartyKind,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    /// Tax id (EIN/SSN); `idx_parties_tax_id` is partial (`WHERE tax_id IS NOT NULL`).
    #[sea_orm(column_type = "String(StringLen::N(50))", nullable)]
    pub tax_id: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub contact_json: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
