//! `habits_habit_log`: one logged occurrence of a habit on a local calendar day.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// A log of a habit (several per day are allowed).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "habits_habit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(indexed)]
    pub habit_id: i32,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub value: Option<Decimal>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    /// The user's local calendar day (DECISIONS 8).
    pub logged_date: Date,
    pub created_at: Timestamp,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "habit_id", to = "id", on_delete = "Cascade")]
    pub habit: HasOne<super::habits_habit::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
