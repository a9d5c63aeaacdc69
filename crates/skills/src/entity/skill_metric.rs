//! `skill_metric`: a measured value of a skill.

use lifeos_entity::Timestamp;
use sea_orm::entity::prelude::*;

/// A measured value of a skill.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_metric")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub skill_id: i32,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub name: String,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
    pub value: Decimal,
    pub recorded_at: Timestamp,
    #[sea_orm(belongs_to, from = "skill_id", to = "id", on_delete = "Cascade")]
    pub skill: HasOne<super::skill::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
