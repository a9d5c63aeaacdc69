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

use crate::support::{TableChange, exec, fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

use ForeignKeyAction::{Cascade, NoAction, SetNull};

/// (table, column, referenced table, action at head). Before this migration every one of these
/// keys had no action (`NO ACTION`), which `down` restores.
const KEYS: [(&str, &str, &str, ForeignKeyAction); 54] = [
    ("auth_session", "user_id", "user", Cascade),
    ("calendar_oauth_token", "user_id", "user", Cascade),
    ("event_record", "user_id", "user", Cascade),
    ("finance_account", "user_id", "user", Cascade),
    (
        "finance_account",
        "category_id",
        "finance_account_category",
        SetNull,
    ),
    ("finance_account_category", "user_id", "user", Cascade),
    ("finance_journal_entry", "user_id", "user", Cascade),
    (
        "finance_journal_line",
        "entry_id",
        "finance_journal_entry",
        Cascade,
    ),
    ("finance_loan_group", "user_id", "user", Cascade),
    (
        "finance_loan_group_link",
        "group_id",
        "finance_loan_group",
        Cascade,
    ),
    (
        "finance_loan_group_link",
        "tracker_id",
        "finance_receivable_tracker",
        Cascade,
    ),
    (
        "finance_money_schedule_daily_balance",
        "user_id",
        "user",
        Cascade,
    ),
    ("finance_money_schedule_row", "user_id", "user", Cascade),
    (
        "finance_money_schedule_scenario",
        "user_id",
        "user",
        Cascade,
    ),
    (
        "finance_money_schedule_scenario_row",
        "scenario_id",
        "finance_money_schedule_scenario",
        Cascade,
    ),
    (
        "finance_money_schedule_scenario_row",
        "base_row_id",
        "finance_money_schedule_row",
        SetNull,
    ),
    (
        "finance_receivable_manual_entry",
        "tracker_id",
        "finance_receivable_tracker",
        Cascade,
    ),
    ("finance_receivable_tracker", "user_id", "user", Cascade),
    ("finance_transaction", "user_id", "user", Cascade),
    (
        "finance_transaction",
        "journal_entry_id",
        "finance_journal_entry",
        SetNull,
    ),
    ("finance_trial_balance_setting", "user_id", "user", Cascade),
    ("habits_habit", "user_id", "user", Cascade),
    ("habits_habit_log", "user_id", "user", Cascade),
    ("health_biometric", "user_id", "user", Cascade),
    ("health_nutrition_log", "user_id", "user", Cascade),
    ("health_workout", "user_id", "user", Cascade),
    ("insight_record", "user_id", "user", Cascade),
    ("journal_entry", "user_id", "user", Cascade),
    ("jwt_blocklist", "created_by", "user", SetNull),
    ("password_reset_token", "user_id", "user", Cascade),
    ("platform_outbox", "user_id", "user", Cascade),
    ("project", "user_id", "user", Cascade),
    ("project_task", "user_id", "user", Cascade),
    ("project_task", "project_id", "project", Cascade),
    ("project_task_log", "user_id", "user", Cascade),
    ("project_task_log", "task_id", "project_task", Cascade),
    ("relationships_interaction", "user_id", "user", Cascade),
    ("relationships_person", "user_id", "user", Cascade),
    ("role_permission", "role_id", "role", Cascade),
    ("role_permission", "permission_id", "permission", Cascade),
    ("session_token", "user_id", "user", Cascade),
    ("skill", "user_id", "user", Cascade),
    ("skill_metric", "skill_id", "skill", Cascade),
    ("skill_practice_session", "user_id", "user", Cascade),
    ("skill_practice_session", "skill_id", "skill", Cascade),
    ("user_preference", "user_id", "user", Cascade),
    ("user_role", "user_id", "user", Cascade),
    ("user_role", "role_id", "role", Cascade),
    ("activity_groups", "root_id", "goals", Cascade),
    ("activity_definitions", "root_id", "goals", Cascade),
    (
        "activity_definitions",
        "group_id",
        "activity_groups",
        SetNull,
    ),
    (
        "metric_definitions",
        "activity_id",
        "activity_definitions",
        Cascade,
    ),
    (
        "split_definitions",
        "activity_id",
        "activity_definitions",
        Cascade,
    ),
    ("session_templates", "root_id", "goals", Cascade),
];

/// Gives every key its action at head (`head`) or back `NO ACTION`, and
/// `skill_practice_session.user_id` its nullability, one table change per table.
async fn apply(manager: &SchemaManager<'_>, head: bool) -> Result<(), DbErr> {
    let mut changes: BTreeMap<&str, TableChange> = BTreeMap::new();
    for (table, column, target, action) in KEYS {
        let change = changes
            .remove(table)
            .unwrap_or_else(|| TableChange::new(table));
        let action = if head { action } else { NoAction };
        changes.insert(
            table,
            change.foreign_key(fk(table, column, target).on_delete(action).take()),
        );
    }
    for (table, mut change) in changes {
        if table == "skill_practice_session" {
            change = change.modify(if head {
                integer("user_id")
            } else {
                integer_null("user_id")
            });
        }
        change.run(manager).await?;
    }
    Ok(())
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
        apply(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        apply(manager, false).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
