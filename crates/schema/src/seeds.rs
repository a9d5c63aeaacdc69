//! The tables and indexes the specification documents (the five seeds and the
//! practice-session improvement design) name. The chain keeps every one of them at head under
//! that name, on the backend it belongs to; the `seed_names` suite and `lifeos doctor` check it.
//!
//! Left out (DECISIONS 0, reproduce intent): `ix_user_preferences` (seed 001's summary names
//! it; no original migration created it — the index on `user_preference.user_id` is
//! `ix_user_preference_user_id`) and the wildcard `ix_finance_account_*` (its members are
//! listed one by one).

use sea_orm::DbBackend;

/// Tables named by seeds 000–004.
pub const TABLES: [&str; 57] = [
    // LifeOS (seeds 000, 001).
    "user",
    "role",
    "permission",
    "role_permission",
    "user_role",
    "user_preference",
    "session_token",
    "jwt_blocklist",
    "password_reset_token",
    "auth_session",
    "event_record",
    "insight_record",
    "platform_outbox",
    "readmodel_state",
    "readmodel_run",
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
    "calendar_event",
    "calendar_event_interpretation",
    "calendar_oauth_token",
    "journal_entry",
    "habits_habit",
    "habits_habit_log",
    "health_biometric",
    "health_workout",
    "health_nutrition_log",
    "skill",
    "skill_practice_session",
    "skill_metric",
    "project",
    "project_task",
    "project_task_log",
    "relationships_person",
    "relationships_interaction",
    // Life Graph (seed 002).
    "parties",
    "roles",
    "commitments",
    "documents",
    "signals",
    "document_links",
    "interactions",
    // Practice sessions (seeds 003, 004).
    "goals",
    "activity_instances",
    "metric_values",
    "metric_definitions",
];

/// Practice-session tables the seeds name through their models.
pub const PRACTICE_TABLES: [&str; 5] = [
    "split_definitions",
    "activity_definitions",
    "activity_groups",
    "session_templates",
    "practice_session_goals",
];

/// Indexes named by the seeds, present on both backends.
pub const INDEXES: [&str; 56] = [
    "ix_user_email",
    "ix_finance_account_type",
    "ix_finance_account_user_type",
    "ix_finance_account_normalized_name",
    "ix_finance_account_user_normalized_name",
    "ix_finance_journal_entry_user_posted_at",
    "ix_finance_money_schedule_daily_balance_user_as_of",
    "ix_finance_money_schedule_row_user_event_date",
    "ix_finance_transaction_user_occurred_at",
    "ix_habits_habit_user_domain_link",
    "ux_habits_habit_user_name",
    "ix_habits_log_habit_logged_date",
    "ix_habits_log_user_logged_date",
    "ix_health_biometric_user_date",
    "ix_health_nutrition_log_user_date",
    "ix_health_workout_user_date",
    "ix_journal_entry_user_created_at",
    "ix_journal_entry_user_entry_date",
    "ix_journal_entry_user_mood",
    "ix_project_task_log_user_logged_at",
    "ix_project_task_log_user_task_logged_at",
    "ix_project_task_user_due_date",
    "ix_project_task_user_project_due_date",
    "ix_project_task_user_project_status",
    "ix_project_user_name",
    "ix_project_user_status",
    "ix_project_user_target_date",
    "ix_relationships_interaction_person_date",
    "ix_relationships_interaction_user_date",
    "ix_relationships_person_user_importance",
    "ix_relationships_person_user_type",
    "ux_relationships_person_user_name",
    "ix_skill_session_skill_practiced_at",
    "ix_skill_session_user_practiced_at",
    "ix_skill_user_category",
    "ux_skill_user_name",
    // Life Graph (seed 002).
    "idx_commitments_counterparty",
    "idx_commitments_priority",
    "idx_commitments_role",
    "idx_commitments_state_due",
    "idx_doclinks_document",
    "idx_doclinks_entity",
    "idx_documents_created",
    "idx_documents_extraction_type",
    "idx_documents_sha256",
    "idx_documents_source",
    "idx_interactions_actor",
    "idx_interactions_created",
    "idx_interactions_entity",
    "idx_interactions_type",
    "idx_parties_kind",
    "idx_parties_tax_id",
    "idx_roles_party",
    "idx_roles_user",
    "idx_signals_dedupe",
    "idx_signals_received",
];

/// Seed-named indexes that exist on PostgreSQL only (DECISIONS 5: trigram and GIN).
pub const POSTGRES_ONLY: [&str; 3] = [
    "idx_parties_name_trgm",
    "idx_roles_domains",
    "idx_commitments_domains",
];

/// The practice-session improvement design's names (seed 004's constraints and indexes).
pub const PRACTICE_INDEXES: [&str; 31] = [
    "uq_activity_groups_root_name",
    "uq_activity_definitions_root_name",
    "uq_metric_definitions_activity_name",
    "uq_split_definitions_activity_name",
    "uq_session_templates_root_name",
    "idx_goals_parent_id",
    "idx_goals_root_id",
    "idx_goals_type",
    "idx_goals_created_at",
    "idx_activity_instances_session",
    "idx_activity_instances_definition",
    "idx_activity_instances_root",
    "idx_metric_values_instance",
    "idx_metric_values_definition",
    "idx_metric_values_root",
    "idx_metric_definitions_activity",
    "idx_metric_definitions_root",
    "idx_split_definitions_activity",
    "idx_split_definitions_root",
    "idx_activity_definitions_group",
    "idx_activity_definitions_root",
    "idx_activity_groups_root",
    "idx_session_templates_root",
    "idx_activity_instances_root_date",
    "idx_metric_values_root_metric",
    "idx_activity_instances_session_created",
    "idx_goals_parent_type",
    "idx_goals_root_type",
    "idx_metric_definitions_active",
    "idx_goals_completed",
    "idx_goals_practice_sessions",
];

/// Every seed-named table.
pub fn tables() -> impl Iterator<Item = &'static str> {
    TABLES.iter().chain(PRACTICE_TABLES.iter()).copied()
}

/// Every seed-named index that exists on `backend` at head.
pub fn indexes(backend: DbBackend) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = INDEXES
        .iter()
        .chain(PRACTICE_INDEXES.iter())
        .copied()
        .collect();
    if backend == DbBackend::Postgres {
        all.extend(POSTGRES_ONLY);
    }
    all
}
