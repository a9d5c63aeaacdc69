//! `skill_practice_session`: a practice session of a skill.

use lifeos_entity::Timestamp;
use sea_orm::entity::prelude::*;

/// A practice session of a skill.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_practice_session")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub skill_id: i32,
    pub duration_minutes: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub practiced_at: Timestamp,
    #[sea_orm(belongs_to, from = "skill_id", to = "id")]
    pub skill: HasOne<super::skill::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
