//! `practice_session_goals`: which short-term goals a practice session serves.

use sea_orm::entity::prelude::*;

/// A link between a practice session and a short-term goal.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "practice_session_goals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub practice_session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false, indexed)]
    pub short_term_goal_id: Uuid,
    #[sea_orm(
        belongs_to,
        relation_enum = "PracticeSession",
        from = "practice_session_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub practice_session: HasOne<super::goals::Entity>,
    #[sea_orm(
        belongs_to,
        relation_enum = "ShortTermGoal",
        from = "short_term_goal_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub short_term_goal: HasOne<super::goals::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
