//! `interactions`: the append-only audit log of the life graph.

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// An audit record, owned by one user. `actor_id` is the acting user (NULL for the system).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    /// What happened (`upload`, `extraction`, `state_changed`, …); the column is `type`.
    #[sea_orm(
        column_name = "type",
        indexed,
        column_type = "String(StringLen::N(50))"
    )]
    pub interaction_type: String,
    /// `user` or `system`.
    #[sea_orm(column_type = "String(StringLen::N(20))")]
    pub actor_type: String,
    pub actor_id: Option<UserId>,
    #[sea_orm(column_type = "String(StringLen::N(50))")]
    pub primary_entity_type: String,
    pub primary_entity_id: Uuid,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub related_entities: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    /// Cost in USD.
    #[sea_orm(column_type = "Decimal(Some((10, 4)))", nullable)]
    pub cost: Option<Decimal>,
    pub created_at: DateTime<Utc>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(
        belongs_to,
        relation_enum = "Actor",
        from = "actor_id",
        to = "id",
        on_delete = "SetNull"
    )]
    pub actor: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
