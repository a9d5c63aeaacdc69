//! `lifeos-tests` — suites that span the workspace (in `tests/`): the migration chain's
//! guarantees and the drift between entities and migrations.
//!
//! This library holds what those suites share: the list of every entity and the one list of
//! legacy tables allowed to exist without an entity.

use lifeos_testkit::drift::EntityTable;
use sea_orm::DbBackend;

/// Tables history still creates at the head of the chain that a later migration removes, so
/// they have no entity. This is the only exception to "every table has an entity"; the drift
/// check fails if a listed table is gone or gains an entity, so the list cannot go stale.
pub const LEGACY_TABLES: [&str; 8] = [
    // `0001_initial` legacy habits and relationships, dropped by `20251216`.
    "habit",
    "habit_log",
    "relationship_contact",
    "relationship_interaction",
    // `0001_initial` journal tags, never used; removed by the Part 2 cleanup (DECISIONS 3).
    "journal_tag",
    "journal_entry_tag",
    // `20251205_skills_initial_schema` orphans; removed by the Part 2 cleanup (DECISIONS 3).
    "skills_skill",
    "skills_skill_practice_session",
];

/// Every entity of the workspace, described for `backend`. A table at head without an entry
/// here fails the drift check, so a forgotten entity cannot go unnoticed.
pub fn entity_tables(backend: DbBackend) -> Vec<EntityTable> {
    macro_rules! tables {
        ($($entity:path),* $(,)?) => {
            vec![$(EntityTable::of::<$entity>(backend)),*]
        };
    }
    use lifeos_entity as kernel;
    use lifeos_finance::entity as finance;
    use lifeos_life_graph::entity as graph;
    tables![
        kernel::event_record::Entity,
        kernel::insight_record::Entity,
        kernel::jwt_blocklist::Entity,
        kernel::password_reset_token::Entity,
        kernel::permission::Entity,
        kernel::platform_outbox::Entity,
        kernel::role::Entity,
        kernel::role_permission::Entity,
        kernel::session_token::Entity,
        kernel::user::Entity,
        kernel::user_preference::Entity,
        kernel::user_role::Entity,
        finance::finance_account::Entity,
        finance::finance_account_category::Entity,
        finance::finance_journal_entry::Entity,
        finance::finance_journal_line::Entity,
        finance::finance_loan_group::Entity,
        finance::finance_loan_group_link::Entity,
        finance::finance_money_schedule_daily_balance::Entity,
        finance::finance_money_schedule_row::Entity,
        finance::finance_money_schedule_scenario::Entity,
        finance::finance_money_schedule_scenario_row::Entity,
        finance::finance_receivable_manual_entry::Entity,
        finance::finance_receivable_tracker::Entity,
        finance::finance_transaction::Entity,
        finance::finance_trial_balance_setting::Entity,
        lifeos_health::entity::health_biometric::Entity,
        lifeos_health::entity::health_nutrition_log::Entity,
        lifeos_health::entity::health_workout::Entity,
        lifeos_journal::entity::journal_entry::Entity,
        lifeos_projects::entity::project::Entity,
        lifeos_projects::entity::project_task::Entity,
        lifeos_projects::entity::project_task_log::Entity,
        lifeos_skills::entity::skill::Entity,
        lifeos_skills::entity::skill_metric::Entity,
        lifeos_skills::entity::skill_practice_session::Entity,
        graph::commitments::Entity,
        graph::document_links::Entity,
        graph::documents::Entity,
        graph::interactions::Entity,
        graph::parties::Entity,
        graph::roles::Entity,
        graph::signals::Entity,
    ]
}
