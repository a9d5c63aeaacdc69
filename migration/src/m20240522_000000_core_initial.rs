//! LifeOS `0001_initial` (file `20240522_core_initial`): the baseline schema, 39 tables.
//!
//! Reproduced as history created it, legacy tables included (`habit`, `habit_log`,
//! `relationship_*` are dropped by `20251216`; `journal_tag`, `journal_entry_tag` are removed by a
//! Part 2 cleanup). Foreign keys carry no `ON DELETE` action, as in the original.
//!
//! Differences from the original, on purpose:
//! - timestamp defaults are UTC on PostgreSQL (`timezone('utc', now())`, see
//!   [`crate::support::utc_now`]);
//! - the original `down` could not succeed once `20251216` had dropped the legacy tables; here
//!   each migration undoes only its own work, so this `down` always finds what it drops.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{fk, ix, unique_index, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables in creation order (parents first).
const TABLES: [&str; 39] = [
    "permission",
    "role",
    "user",
    "jwt_blocklist",
    "session_token",
    "user_preference",
    "role_permission",
    "user_role",
    "event_record",
    "finance_account_category",
    "finance_account",
    "finance_journal_entry",
    "finance_journal_line",
    "finance_transaction",
    "finance_trial_balance_setting",
    "finance_money_schedule_row",
    "finance_money_schedule_daily_balance",
    "finance_money_schedule_scenario",
    "finance_money_schedule_scenario_row",
    "finance_receivable_tracker",
    "finance_receivable_manual_entry",
    "finance_loan_group",
    "finance_loan_group_link",
    "habit",
    "habit_log",
    "skill",
    "skill_practice_session",
    "skill_metric",
    "health_biometric",
    "health_workout",
    "health_nutrition_log",
    "journal_entry",
    "journal_tag",
    "journal_entry_tag",
    "relationship_contact",
    "relationship_interaction",
    "project",
    "project_task",
    "project_task_log",
];

/// `[ix]` single-column indexes (`index=True` in the original models).
const INDEXED: [(&str, &str); 37] = [
    ("session_token", "user_id"),
    ("user_preference", "user_id"),
    ("event_record", "event_type"),
    ("event_record", "user_id"),
    ("finance_account", "user_id"),
    ("finance_account", "code"),
    ("finance_journal_entry", "user_id"),
    ("finance_journal_line", "entry_id"),
    ("finance_journal_line", "account_id"),
    ("finance_transaction", "user_id"),
    ("finance_trial_balance_setting", "user_id"),
    ("finance_money_schedule_row", "user_id"),
    ("finance_money_schedule_row", "event_date"),
    ("finance_money_schedule_daily_balance", "user_id"),
    ("finance_money_schedule_daily_balance", "as_of"),
    ("finance_money_schedule_scenario", "user_id"),
    ("finance_money_schedule_scenario_row", "scenario_id"),
    ("finance_receivable_tracker", "user_id"),
    ("finance_receivable_manual_entry", "tracker_id"),
    ("finance_loan_group", "user_id"),
    ("finance_loan_group_link", "group_id"),
    ("finance_loan_group_link", "tracker_id"),
    ("habit", "user_id"),
    ("habit_log", "habit_id"),
    ("habit_log", "logged_date"),
    ("skill", "user_id"),
    ("skill_practice_session", "skill_id"),
    ("skill_metric", "skill_id"),
    ("health_biometric", "user_id"),
    ("health_workout", "user_id"),
    ("health_nutrition_log", "user_id"),
    ("journal_entry", "user_id"),
    ("relationship_contact", "user_id"),
    ("relationship_interaction", "contact_id"),
    ("project", "user_id"),
    ("project_task", "project_id"),
    ("project_task_log", "task_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables(manager.get_database_backend()) {
            manager.create_table(table).await?;
        }
        manager
            .create_index(unique_index("ix_user_email", "user", &["email"]))
            .await?;
        for (table, column) in INDEXED {
            manager.create_index(ix(table, column)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(Alias::new(*table)).take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// `created_at`/`updated_at`-style column: `TIMESTAMP NOT NULL DEFAULT now (UTC)`.
fn stamp(name: &str, backend: DbBackend) -> ColumnDef {
    date_time(Alias::new(name)).default(utc_now(backend)).take()
}

fn table(name: &str) -> TableCreateStatement {
    Table::create().table(Alias::new(name)).take()
}

fn money(name: &str) -> ColumnDef {
    decimal_len(Alias::new(name), 18, 2)
}

fn tables(b: DbBackend) -> Vec<TableCreateStatement> {
    vec![
        // --- core auth ---
        table("permission")
            .col(pk_auto("id"))
            .col(string_len_uniq("code", 128))
            .col(string_len("description", 255).default(""))
            .col(stamp("created_at", b))
            .col(stamp("updated_at", b))
            .take(),
        table("role")
            .col(pk_auto("id"))
            .col(string_len_uniq("name", 64))
            .col(string_len("description", 255).default(""))
            .col(stamp("created_at", b))
            .col(stamp("updated_at", b))
            .take(),
        table("user")
            .col(pk_auto("id"))
            .col(string_len("email", 255))
            .col(string_len("password_hash", 255))
            .col(string_len_null("full_name", 255))
            .col(string_len_null("timezone", 64))
            .col(boolean("is_active").default(true))
            .col(stamp("created_at", b))
            .col(stamp("updated_at", b))
            .take(),
        table("jwt_blocklist")
            .col(pk_auto("id"))
            .col(string_len_uniq("jti", 64))
            .col(integer_null("created_by"))
            .col(stamp("created_at", b))
            .col(stamp("updated_at", b))
            .foreign_key(&mut fk("jwt_blocklist", "created_by", "user"))
            .take(),
        table("session_token")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len_uniq("jti", 64))
            .col(boolean("revoked").default(false))
            .col(date_time_null("expires_at"))
            .col(stamp("created_at", b))
            .col(stamp("updated_at", b))
            .foreign_key(&mut fk("session_token", "user_id", "user"))
            .take(),
        table("user_preference")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("key", 128))
            .col(json("value").default("{}"))
            .col(stamp("created_at", b))
            .col(stamp("updated_at", b))
            .foreign_key(&mut fk("user_preference", "user_id", "user"))
            .take(),
        table("role_permission")
            .col(integer("role_id"))
            .col(integer("permission_id"))
            .primary_key(Index::create().col("role_id").col("permission_id"))
            .foreign_key(&mut fk("role_permission", "role_id", "role"))
            .foreign_key(&mut fk("role_permission", "permission_id", "permission"))
            .take(),
        table("user_role")
            .col(integer("user_id"))
            .col(integer("role_id"))
            .primary_key(Index::create().col("user_id").col("role_id"))
            .foreign_key(&mut fk("user_role", "user_id", "user"))
            .foreign_key(&mut fk("user_role", "role_id", "role"))
            .take(),
        table("event_record")
            .col(pk_auto("id"))
            .col(string_len("event_type", 128))
            .col(json("payload").default("{}"))
            .col(integer_null("user_id"))
            .col(stamp("created_at", b))
            .foreign_key(&mut fk("event_record", "user_id", "user"))
            .take(),
        // --- finance ---
        table("finance_account_category")
            .col(pk_auto("id"))
            .col(string_len_uniq("code", 16))
            .col(string_len("name", 128))
            .col(string_len("normal_balance", 8).default("debit"))
            .take(),
        table("finance_account")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(integer("category_id"))
            .col(string_len("name", 255))
            .col(string_len_null("code", 32))
            .col(text_null("description"))
            .col(boolean("is_active").default(true))
            .foreign_key(&mut fk("finance_account", "user_id", "user"))
            .foreign_key(&mut fk(
                "finance_account",
                "category_id",
                "finance_account_category",
            ))
            .take(),
        table("finance_journal_entry")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(text_null("description"))
            .col(stamp("posted_at", b))
            .foreign_key(&mut fk("finance_journal_entry", "user_id", "user"))
            .take(),
        table("finance_journal_line")
            .col(pk_auto("id"))
            .col(integer("entry_id"))
            .col(integer("account_id"))
            .col(money("debit").default(0))
            .col(money("credit").default(0))
            .col(text_null("memo"))
            .foreign_key(&mut fk(
                "finance_journal_line",
                "entry_id",
                "finance_journal_entry",
            ))
            .foreign_key(&mut fk(
                "finance_journal_line",
                "account_id",
                "finance_account",
            ))
            .take(),
        table("finance_transaction")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(money("amount"))
            .col(text_null("description"))
            .col(stamp("occurred_at", b))
            .col(integer_null("journal_entry_id"))
            .col(string_len_null("counterparty", 255))
            .col(string_len_null("category", 128))
            .foreign_key(&mut fk("finance_transaction", "user_id", "user"))
            .foreign_key(&mut fk(
                "finance_transaction",
                "journal_entry_id",
                "finance_journal_entry",
            ))
            .take(),
        table("finance_trial_balance_setting")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("month", 7))
            .col(boolean("auto_rollup").default(true))
            .foreign_key(&mut fk("finance_trial_balance_setting", "user_id", "user"))
            .take(),
        table("finance_money_schedule_row")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(integer("account_id"))
            .col(date("event_date"))
            .col(money("amount"))
            .col(text_null("memo"))
            .foreign_key(&mut fk("finance_money_schedule_row", "user_id", "user"))
            .foreign_key(&mut fk(
                "finance_money_schedule_row",
                "account_id",
                "finance_account",
            ))
            .take(),
        table("finance_money_schedule_daily_balance")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(date("as_of"))
            .col(money("balance"))
            .foreign_key(&mut fk(
                "finance_money_schedule_daily_balance",
                "user_id",
                "user",
            ))
            .take(),
        table("finance_money_schedule_scenario")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("name", 128))
            .col(text_null("description"))
            .foreign_key(&mut fk(
                "finance_money_schedule_scenario",
                "user_id",
                "user",
            ))
            .take(),
        table("finance_money_schedule_scenario_row")
            .col(pk_auto("id"))
            .col(integer("scenario_id"))
            .col(integer_null("base_row_id"))
            .col(money("delta_amount").default(0))
            .foreign_key(&mut fk(
                "finance_money_schedule_scenario_row",
                "scenario_id",
                "finance_money_schedule_scenario",
            ))
            .foreign_key(&mut fk(
                "finance_money_schedule_scenario_row",
                "base_row_id",
                "finance_money_schedule_row",
            ))
            .take(),
        table("finance_receivable_tracker")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("counterparty", 255))
            .col(money("principal"))
            .col(date("start_date"))
            .col(date_null("due_date"))
            .col(decimal_len_null("interest_rate", 5, 2))
            .foreign_key(&mut fk("finance_receivable_tracker", "user_id", "user"))
            .take(),
        table("finance_receivable_manual_entry")
            .col(pk_auto("id"))
            .col(integer("tracker_id"))
            .col(date("entry_date"))
            .col(money("amount"))
            .col(text_null("memo"))
            .foreign_key(&mut fk(
                "finance_receivable_manual_entry",
                "tracker_id",
                "finance_receivable_tracker",
            ))
            .take(),
        table("finance_loan_group")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("name", 128))
            .col(text_null("description"))
            .foreign_key(&mut fk("finance_loan_group", "user_id", "user"))
            .take(),
        table("finance_loan_group_link")
            .col(pk_auto("id"))
            .col(integer("group_id"))
            .col(integer("tracker_id"))
            .foreign_key(&mut fk(
                "finance_loan_group_link",
                "group_id",
                "finance_loan_group",
            ))
            .foreign_key(&mut fk(
                "finance_loan_group_link",
                "tracker_id",
                "finance_receivable_tracker",
            ))
            .take(),
        // --- habits (legacy) ---
        table("habit")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("name", 255))
            .col(string_len("cadence", 32).default("daily"))
            .col(integer("target").default(1))
            .col(stamp("created_at", b))
            .foreign_key(&mut fk("habit", "user_id", "user"))
            .take(),
        table("habit_log")
            .col(pk_auto("id"))
            .col(integer("habit_id"))
            .col(date("logged_date"))
            .col(integer("value").default(1))
            .foreign_key(&mut fk("habit_log", "habit_id", "habit"))
            .take(),
        // --- skills ---
        table("skill")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("name", 255))
            .col(string_len("level", 32).default("beginner"))
            .col(stamp("created_at", b))
            .foreign_key(&mut fk("skill", "user_id", "user"))
            .take(),
        table("skill_practice_session")
            .col(pk_auto("id"))
            .col(integer("skill_id"))
            .col(integer("duration_minutes").default(0))
            .col(text_null("notes"))
            .col(stamp("practiced_at", b))
            .foreign_key(&mut fk("skill_practice_session", "skill_id", "skill"))
            .take(),
        table("skill_metric")
            .col(pk_auto("id"))
            .col(integer("skill_id"))
            .col(string_len("name", 128))
            .col(decimal_len("value", 10, 2))
            .col(stamp("recorded_at", b))
            .foreign_key(&mut fk("skill_metric", "skill_id", "skill"))
            .take(),
        // --- health ---
        table("health_biometric")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("metric", 64))
            .col(decimal_len("value", 10, 2))
            .col(stamp("recorded_at", b))
            .foreign_key(&mut fk("health_biometric", "user_id", "user"))
            .take(),
        table("health_workout")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("activity", 128))
            .col(integer("duration_minutes").default(0))
            .col(decimal_len_null("calories", 10, 2))
            .col(stamp("performed_at", b))
            .foreign_key(&mut fk("health_workout", "user_id", "user"))
            .take(),
        table("health_nutrition_log")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("meal", 128))
            .col(decimal_len("calories", 10, 2))
            .col(decimal_len_null("protein", 10, 2))
            .col(decimal_len_null("carbs", 10, 2))
            .col(decimal_len_null("fat", 10, 2))
            .col(stamp("logged_at", b))
            .foreign_key(&mut fk("health_nutrition_log", "user_id", "user"))
            .take(),
        // --- journal ---
        table("journal_entry")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len_null("title", 255))
            .col(text_null("content"))
            .col(string_len_null("mood", 32))
            .col(stamp("created_at", b))
            .foreign_key(&mut fk("journal_entry", "user_id", "user"))
            .take(),
        table("journal_tag")
            .col(pk_auto("id"))
            .col(string_len_uniq("name", 64))
            .take(),
        table("journal_entry_tag")
            .col(integer("entry_id"))
            .col(integer("tag_id"))
            .primary_key(Index::create().col("entry_id").col("tag_id"))
            .foreign_key(&mut fk("journal_entry_tag", "entry_id", "journal_entry"))
            .foreign_key(&mut fk("journal_entry_tag", "tag_id", "journal_tag"))
            .take(),
        // --- relationships (legacy) ---
        table("relationship_contact")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("name", 255))
            .col(string_len_null("email", 255))
            .col(string_len_null("phone", 64))
            .col(integer("closeness").default(0))
            .foreign_key(&mut fk("relationship_contact", "user_id", "user"))
            .take(),
        table("relationship_interaction")
            .col(pk_auto("id"))
            .col(integer("contact_id"))
            .col(stamp("occurred_at", b))
            .col(text_null("notes"))
            .col(string_len_null("sentiment", 32))
            .foreign_key(&mut fk(
                "relationship_interaction",
                "contact_id",
                "relationship_contact",
            ))
            .take(),
        // --- projects ---
        table("project")
            .col(pk_auto("id"))
            .col(integer("user_id"))
            .col(string_len("name", 255))
            .col(string_len("status", 32).default("active"))
            .col(stamp("created_at", b))
            .foreign_key(&mut fk("project", "user_id", "user"))
            .take(),
        table("project_task")
            .col(pk_auto("id"))
            .col(integer("project_id"))
            .col(string_len("title", 255))
            .col(string_len("status", 32).default("open"))
            .col(date_null("due_date"))
            .col(stamp("created_at", b))
            .foreign_key(&mut fk("project_task", "project_id", "project"))
            .take(),
        table("project_task_log")
            .col(pk_auto("id"))
            .col(integer("task_id"))
            .col(text_null("note"))
            .col(stamp("logged_at", b))
            .foreign_key(&mut fk("project_task_log", "task_id", "project_task"))
            .take(),
    ]
}
