//! LifeOS `20251209_habits_initial`: `habits_habit` and `habits_habit_log`, the habits model
//! that replaces the legacy `habit`/`habit_log` (whose rows `20251216` carries over).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{fk, index, ix, unique_index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("habits_habit")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(string_len("name", 255))
                    .col(text_null("description"))
                    .col(string_len_null("domain_link", 64))
                    .col(string_len("schedule_type", 32).default("daily"))
                    .col(integer_null("target_count"))
                    .col(string_len_null("time_of_day", 32))
                    .col(string_len_null("difficulty", 32))
                    .col(boolean("is_active").default(true))
                    .col(date_time("created_at").default(utc_now(b)))
                    .col(date_time("updated_at").default(utc_now(b)))
                    .foreign_key(&mut fk("habits_habit", "user_id", "user"))
                    .take(),
            )
            .await?;
        manager.create_index(ix("habits_habit", "user_id")).await?;
        manager
            .create_index(unique_index(
                "ux_habits_habit_user_name",
                "habits_habit",
                &["user_id", "name"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_habits_habit_user_domain_link",
                "habits_habit",
                &["user_id", "domain_link"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("habits_habit_log")
                    .col(pk_auto("id"))
                    .col(integer("user_id"))
                    .col(integer("habit_id"))
                    .col(decimal_len_null("value", 10, 2))
                    .col(text_null("note"))
                    .col(date("logged_date").default(Expr::current_date()))
                    .col(date_time("created_at").default(utc_now(b)))
                    .foreign_key(&mut fk("habits_habit_log", "user_id", "user"))
                    .foreign_key(
                        fk("habits_habit_log", "habit_id", "habits_habit")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for column in ["user_id", "habit_id"] {
            manager.create_index(ix("habits_habit_log", column)).await?;
        }
        manager
            .create_index(index(
                "ix_habits_log_user_logged_date",
                "habits_habit_log",
                &["user_id", "logged_date"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_habits_log_habit_logged_date",
                "habits_habit_log",
                &["habit_id", "logged_date"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["habits_habit_log", "habits_habit"] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
