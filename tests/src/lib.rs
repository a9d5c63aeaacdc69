//! `lifeos-tests` — suites that span the workspace (in `tests/`): the migration chain's
//! guarantees and the drift between entities and migrations.
//!
//! This library holds what those suites share: the list of every entity and the list of
//! irreversible migrations.

use lifeos_testkit::drift::EntityTable;
use sea_orm::DbBackend;

/// The migrations whose `down` refuses to run because undoing them would lose data (the
/// migration crate's list, which `Migrator` checks before rolling anything back).
pub use lifeos_migration::IRREVERSIBLE;

/// Every entity of the workspace, described for `backend`. A table at head without an entry
/// here fails the drift check, so a forgotten entity cannot go unnoticed.
pub fn entity_tables(backend: DbBackend) -> Vec<EntityTable> {
    macro_rules! tables {
        ($($entity:path),* $(,)?) => {
            vec![$(EntityTable::of::<$entity>(backend)),*]
        };
    }
    /// Registers the string-backed enumerations (native `Enum` columns register themselves).
    fn with_enum<A: sea_orm::ActiveEnum<Value = String>>(
        tables: &mut [EntityTable],
        table: &str,
        column: &str,
    ) {
        for entity in tables.iter_mut().filter(|entity| entity.name == table) {
            *entity = entity.clone().with_enum::<A>(column);
        }
    }
    use lifeos_entity as kernel;
    use lifeos_finance::entity as finance;
    use lifeos_life_graph::entity as graph;
    use lifeos_practice_sessions::entity as practice;
    let mut tables = tables![
        kernel::auth_session::Entity,
        kernel::calendar_event::Entity,
        kernel::calendar_event_interpretation::Entity,
        kernel::calendar_oauth_token::Entity,
        kernel::event_record::Entity,
        kernel::insight_record::Entity,
        kernel::jwt_blocklist::Entity,
        kernel::password_reset_token::Entity,
        kernel::permission::Entity,
        kernel::platform_outbox::Entity,
        kernel::readmodel_run::Entity,
        kernel::readmodel_state::Entity,
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
        finance::finance_import_batch::Entity,
        finance::finance_loan_group_link::Entity,
        finance::finance_money_schedule_daily_balance::Entity,
        finance::finance_money_schedule_row::Entity,
        finance::finance_money_schedule_scenario::Entity,
        finance::finance_money_schedule_scenario_row::Entity,
        finance::finance_receivable_manual_entry::Entity,
        finance::finance_receivable_tracker::Entity,
        finance::finance_transaction::Entity,
        finance::finance_trial_balance_setting::Entity,
        lifeos_habits::entity::habits_habit::Entity,
        lifeos_habits::entity::habits_habit_log::Entity,
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
        lifeos_relationships::entity::relationships_interaction::Entity,
        lifeos_relationships::entity::relationships_person::Entity,
        practice::activity_definitions::Entity,
        practice::activity_groups::Entity,
        practice::activity_instances::Entity,
        practice::goals::Entity,
        practice::metric_definitions::Entity,
        practice::metric_values::Entity,
        practice::practice_deletions::Entity,
        practice::practice_session_goals::Entity,
        practice::session_templates::Entity,
        practice::split_definitions::Entity,
        graph::commitments::Entity,
        graph::document_links::Entity,
        graph::documents::Entity,
        graph::interactions::Entity,
        graph::parties::Entity,
        graph::roles::Entity,
        graph::signals::Entity,
    ];
    with_enum::<graph::parties::PartyKind>(&mut tables, "parties", "kind");
    with_enum::<graph::signals::SignalSource>(&mut tables, "signals", "source");
    with_enum::<graph::signals::SignalStatus>(&mut tables, "signals", "status");
    with_enum::<graph::commitments::CommitmentSource>(&mut tables, "commitments", "source");
    with_enum::<practice::goals::GoalType>(&mut tables, "goals", "type");
    with_enum::<practice::practice_deletions::DeletedKind>(
        &mut tables,
        "practice_deletions",
        "entity",
    );
    with_enum::<finance::finance_account::AccountType>(
        &mut tables,
        "finance_account",
        "account_type",
    );
    with_enum::<finance::finance_account::AccountSubtype>(
        &mut tables,
        "finance_account",
        "account_subtype",
    );
    with_enum::<finance::finance_account::AccountType>(
        &mut tables,
        "finance_account_category",
        "base_type",
    );
    with_enum::<finance::finance_account_category::NormalBalance>(
        &mut tables,
        "finance_account_category",
        "normal_balance",
    );
    with_enum::<finance::finance_transaction::TransactionSource>(
        &mut tables,
        "finance_transaction",
        "source",
    );
    with_enum::<finance::finance_import_batch::ImportKind>(
        &mut tables,
        "finance_import_batch",
        "kind",
    );
    with_enum::<finance::finance_transaction::InferenceStatus>(
        &mut tables,
        "finance_transaction",
        "inference_status",
    );
    tables
}

/// Values for columns whose type alone does not say what is valid (CHECK lists, enums), for
/// the suites that fill every table generically: (table, column, SQL literal).
pub const FILL_OVERRIDES: [(&str, &str, &str); 9] = [
    ("parties", "kind", "'person'"),
    ("commitments", "commitment_type", "'goal'"),
    ("commitments", "state", "'proposed'"),
    ("commitments", "source", "'manual'"),
    ("signals", "source", "'manual'"),
    ("signals", "status", "'new'"),
    ("goals", "type", "'UltimateGoal'"),
    ("practice_deletions", "entity", "'goal'"),
    ("finance_import_batch", "kind", "'bank'"),
];

/// An SQL literal of the column type `data_type`: `uuid` for UUIDs, `number` for numbers,
/// `text` for text, fixed values for the rest.
pub fn fill_literal(
    data_type: &str,
    backend: DbBackend,
    uuid: &str,
    number: &str,
    text: &str,
) -> String {
    let t = data_type.to_lowercase();
    if t.contains("[]") {
        "'{}'".to_owned()
    } else if t.contains("uuid") {
        format!("'{uuid}'")
    } else if t.contains("json") {
        "'{}'".to_owned()
    } else if t.contains("bool") {
        if backend == DbBackend::Postgres {
            "true"
        } else {
            "1"
        }
        .to_owned()
    } else if t.contains("timestamp") || t.contains("datetime") {
        "'2024-01-02 03:04:05'".to_owned()
    } else if t.starts_with("date") {
        "'2024-01-02'".to_owned()
    } else if t.contains("int")
        || t.contains("numeric")
        || t.contains("real")
        || t.contains("double")
    {
        number.to_owned()
    } else {
        format!("'{text}'")
    }
}
