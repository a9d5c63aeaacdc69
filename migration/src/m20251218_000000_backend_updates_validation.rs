//! LifeOS `20251218_backend_updates_validation`: history's "ensure everything exists"
//! revision.
//!
//! The original re-created any missing domain table, column or index, with fallback shapes
//! that differ from the chain's own (journal `mood` as an integer, health tables without
//! their legacy columns, other defaults). In a chain applied in order it is a no-op — every
//! object it checks exists by then — and a database assembled by its fallbacks would not match
//! the chain. This port therefore *validates* instead of patching: it confirms that every
//! table and index the original ensured is present and fails with a list of what is missing,
//! rather than building a divergent schema. `down` has nothing to undo.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables the original ensured, each with the indexes it ensured on it.
const ENSURED: [(&str, &[&str]); 20] = [
    (
        "finance_account",
        &[
            "ix_finance_account_type",
            "ix_finance_account_user_type",
            "ix_finance_account_normalized_name",
            "ix_finance_account_user_normalized_name",
        ],
    ),
    (
        "finance_journal_entry",
        &["ix_finance_journal_entry_user_posted_at"],
    ),
    ("finance_journal_line", &[]),
    (
        "finance_transaction",
        &["ix_finance_transaction_user_occurred_at"],
    ),
    (
        "finance_money_schedule_row",
        &["ix_finance_money_schedule_row_user_event_date"],
    ),
    (
        "finance_money_schedule_daily_balance",
        &["ix_finance_money_schedule_daily_balance_user_as_of"],
    ),
    ("finance_money_schedule_scenario", &[]),
    ("finance_money_schedule_scenario_row", &[]),
    ("finance_trial_balance_setting", &[]),
    ("finance_receivable_tracker", &[]),
    ("finance_receivable_manual_entry", &[]),
    ("finance_loan_group", &[]),
    ("finance_loan_group_link", &[]),
    (
        "journal_entry",
        &[
            "ix_journal_entry_user_entry_date",
            "ix_journal_entry_user_created_at",
            "ix_journal_entry_user_mood",
        ],
    ),
    (
        "habits_habit",
        &[
            "ux_habits_habit_user_name",
            "ix_habits_habit_user_domain_link",
        ],
    ),
    (
        "habits_habit_log",
        &[
            "ix_habits_log_user_logged_date",
            "ix_habits_log_habit_logged_date",
        ],
    ),
    ("skill", &["ux_skill_user_name", "ix_skill_user_category"]),
    (
        "skill_practice_session",
        &[
            "ix_skill_session_user_practiced_at",
            "ix_skill_session_skill_practiced_at",
        ],
    ),
    (
        "project_task",
        &[
            "ix_project_task_user_project_status",
            "ix_project_task_user_due_date",
            "ix_project_task_user_project_due_date",
        ],
    ),
    (
        "relationships_person",
        &[
            "ux_relationships_person_user_name",
            "ix_relationships_person_user_importance",
            "ix_relationships_person_user_type",
        ],
    ),
];

const ALSO_TABLES: [&str; 6] = [
    "health_biometric",
    "health_workout",
    "health_nutrition_log",
    "project",
    "project_task_log",
    "relationships_interaction",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut missing = Vec::new();
        for table in ALSO_TABLES {
            if !manager.has_table(table).await? {
                missing.push(format!("table {table}"));
            }
        }
        for (table, indexes) in ENSURED {
            if !manager.has_table(table).await? {
                missing.push(format!("table {table}"));
                continue;
            }
            for name in indexes {
                if !manager.has_index(table, name).await? {
                    missing.push(format!("index {name} on {table}"));
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DbErr::Migration(format!(
                "the schema is not what the chain builds before 20251218; missing: {}",
                missing.join(", ")
            )))
        }
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
