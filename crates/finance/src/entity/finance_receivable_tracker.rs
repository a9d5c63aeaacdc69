//! `finance_receivable_tracker`: money lent or owed to a counterparty.

use lifeos_entity::UserId;
use sea_orm::entity::prelude::*;

/// Money lent or owed to a counterparty.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_receivable_tracker")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub user_id: UserId,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub counterparty: String,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub principal: Decimal,
    pub start_date: Date,
    pub due_date: Option<Date>,
    #[sea_orm(column_type = "Decimal(Some((5, 2)))", nullable)]
    pub interest_rate: Option<Decimal>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
