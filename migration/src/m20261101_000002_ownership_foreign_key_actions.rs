//! Part 2: foreign-key actions that match ownership (DECISIONS 6, 7).
//!
//! History left almost every foreign key without an `ON DELETE` action, so deleting a user,
//! an entry or a project failed on the rows that belong to it. Here:
//! - every `user_id` → `user` cascades: deleting a user removes every row they own;
//!   `jwt_blocklist.created_by` (an audit reference) is set to `NULL` instead;
//! - owned children cascade with their parent: journal lines, scenario rows, manual
//!   receivable entries, loan-group links, skill sessions and metrics, project tasks and task
//!   logs, role links, and the practice rows hanging off a root goal or an activity;
//! - optional references are set to `NULL` when their target goes: an account's category, a
//!   transaction's journal entry, a scenario row's base row, an activity's group;
//! - references to what recorded history keeps their guard (`NO ACTION`/`RESTRICT`): a
//!   journal line's account, a schedule row's account, an instance's activity definition, a
//!   metric value's definitions.
//!
//! It also makes `skill_practice_session.user_id` `NOT NULL` (every row belongs to exactly
//! one user; sessions without one take their skill's owner). On SQLite each table is rebuilt
//! (with [`TableChange`]); on PostgreSQL the keys are dropped and re-created. `down` restores
//! the previous actions and nullability.

use std::collections::BTreeMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, exec};

#[derive(DeriveMigrationName)]
pub struct Migration;

use ForeignKeyAction::{Cascade, NoAction, SetNull};

/// (table, column, referenced table, action at head, action before).
const KEYS: [(&str, &str, &str, ForeignKeyAction, ForeignKeyAction); 54] = [
    ("auth_session", "user_id", "user", Cascade, NoAction),
    ("calendar_oauth_token", "user_id", "user", Cascade, NoAction),
    ("event_record", "user_id", "user", Cascade, NoAction),
    ("finance_account", "user_id", "user", Cascade, NoAction),
    (
        "finance_account",
        "category_id",
        "finance_account_category",
        SetNull,
        NoAction,
    ),
    (
        "finance_account_category",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    (
        "finance_journal_entry",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    (
        "finance_journal_line",
        "entry_id",
        "finance_journal_entry",
        Cascade,
        NoAction,
    ),
    ("finance_loan_group", "user_id", "user", Cascade, NoAction),
    (
        "finance_loan_group_link",
        "group_id",
        "finance_loan_group",
        Cascade,
        NoAction,
    ),
    (
        "finance_loan_group_link",
        "tracker_id",
        "finance_receivable_tracker",
        Cascade,
        NoAction,
    ),
    (
        "finance_money_schedule_daily_balance",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    (
        "finance_money_schedule_row",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    (
        "finance_money_schedule_scenario",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    (
        "finance_money_schedule_scenario_row",
        "scenario_id",
        "finance_money_schedule_scenario",
        Cascade,
        NoAction,
    ),
    (
        "finance_money_schedule_scenario_row",
        "base_row_id",
        "finance_money_schedule_row",
        SetNull,
        NoAction,
    ),
    (
        "finance_receivable_manual_entry",
        "tracker_id",
        "finance_receivable_tracker",
        Cascade,
        NoAction,
    ),
    (
        "finance_receivable_tracker",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    ("finance_transaction", "user_id", "user", Cascade, NoAction),
    (
        "finance_transaction",
        "journal_entry_id",
        "finance_journal_entry",
        SetNull,
        NoAction,
    ),
    (
        "finance_trial_balance_setting",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    ("habits_habit", "user_id", "user", Cascade, NoAction),
    ("habits_habit_log", "user_id", "user", Cascade, NoAction),
    ("health_biometric", "user_id", "user", Cascade, NoAction),
    ("health_nutrition_log", "user_id", "user", Cascade, NoAction),
    ("health_workout", "user_id", "user", Cascade, NoAction),
    ("insight_record", "user_id", "user", Cascade, NoAction),
    ("journal_entry", "user_id", "user", Cascade, NoAction),
    ("jwt_blocklist", "created_by", "user", SetNull, NoAction),
    ("password_reset_token", "user_id", "user", Cascade, NoAction),
    ("platform_outbox", "user_id", "user", Cascade, NoAction),
    ("project", "user_id", "user", Cascade, NoAction),
    ("project_task", "user_id", "user", Cascade, NoAction),
    ("project_task", "project_id", "project", Cascade, NoAction),
    ("project_task_log", "user_id", "user", Cascade, NoAction),
    (
        "project_task_log",
        "task_id",
        "project_task",
        Cascade,
        NoAction,
    ),
    (
        "relationships_interaction",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    ("relationships_person", "user_id", "user", Cascade, NoAction),
    ("role_permission", "role_id", "role", Cascade, NoAction),
    (
        "role_permission",
        "permission_id",
        "permission",
        Cascade,
        NoAction,
    ),
    ("session_token", "user_id", "user", Cascade, NoAction),
    ("skill", "user_id", "user", Cascade, NoAction),
    ("skill_metric", "skill_id", "skill", Cascade, NoAction),
    (
        "skill_practice_session",
        "user_id",
        "user",
        Cascade,
        NoAction,
    ),
    (
        "skill_practice_session",
        "skill_id",
        "skill",
        Cascade,
        NoAction,
    ),
    ("user_preference", "user_id", "user", Cascade, NoAction),
    ("user_role", "user_id", "user", Cascade, NoAction),
    ("user_role", "role_id", "role", Cascade, NoAction),
    ("activity_groups", "root_id", "goals", Cascade, NoAction),
    (
        "activity_definitions",
        "root_id",
        "goals",
        Cascade,
        NoAction,
    ),
    (
        "activity_definitions",
        "group_id",
        "activity_groups",
        SetNull,
        NoAction,
    ),
    (
        "metric_definitions",
        "activity_id",
        "activity_definitions",
        Cascade,
        NoAction,
    ),
    (
        "split_definitions",
        "activity_id",
        "activity_definitions",
        Cascade,
        NoAction,
    ),
    ("session_templates", "root_id", "goals", Cascade, NoAction),
];

fn key(
    table: &str,
    column: &str,
    target: &str,
    action: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(action)
        .take()
}

/// The change of every table, with each key at head (`head`) or as before.
fn changes(head: bool) -> BTreeMap<&'static str, TableChange> {
    let mut changes: BTreeMap<&str, TableChange> = BTreeMap::new();
    for (table, column, target, now, before) in KEYS {
        let change = changes
            .remove(table)
            .unwrap_or_else(|| TableChange::new(table));
        let action = if head { now } else { before };
        changes.insert(
            table,
            change.foreign_key(key(table, column, target, action)),
        );
    }
    changes
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        exec(
            manager,
            "UPDATE skill_practice_session SET user_id = \
             (SELECT s.user_id FROM skill AS s WHERE s.id = skill_practice_session.skill_id) \
             WHERE user_id IS NULL",
        )
        .await?;
        for (table, mut change) in changes(true) {
            if table == "skill_practice_session" {
                change = change.modify(integer("user_id"));
            }
            change.run(manager).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut change) in changes(false) {
            if table == "skill_practice_session" {
                change = change.modify(integer_null("user_id"));
            }
            change.run(manager).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
