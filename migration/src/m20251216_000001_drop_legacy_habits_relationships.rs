//! LifeOS `20251216_drop_legacy_habits_relationships`: the legacy `habit`, `habit_log`,
//! `relationship_contact` and `relationship_interaction` tables are removed.
//!
//! Difference from the original (DECISIONS 0): history dropped them with their rows, which it
//! had never copied into the new tables. Here every legacy row is first carried over, in
//! set-based SQL:
//! - `habit` → `habits_habit` (`cadence` → `schedule_type`, `target` → `target_count`) and
//!   `habit_log` → `habits_habit_log` (`value`, `logged_date`);
//! - `relationship_contact` → `relationships_person` (`closeness` → `importance_level`;
//!   `email` and `phone`, which have no column of their own, into `notes`) and
//!   `relationship_interaction` → `relationships_interaction` (`occurred_at` → `date` and
//!   `created_at`, `notes`, `sentiment`).
//!
//! A carried-over name that would collide with one the user already has (the new tables are
//! unique on `(user_id, name)`) is kept as `name (legacy #id)`. New rows take ids above every
//! existing one (`max(id) + legacy id`), so children find their parents without a lookup.
//!
//! Irreversible: `down` fails. The old tables' shape cannot be rebuilt from the new rows
//! without guessing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{day_of_sql, exec, irreversible};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `name`, or `name (legacy #id)` where it would collide.
fn carried_name(legacy: &str, alias: &str, target: &str) -> String {
    format!(
        "CASE WHEN EXISTS (SELECT 1 FROM {target} AS t WHERE t.user_id = {alias}.user_id AND t.name = {alias}.name) \
              OR EXISTS (SELECT 1 FROM {legacy} AS o WHERE o.user_id = {alias}.user_id AND o.name = {alias}.name AND o.id < {alias}.id) \
         THEN substr({alias}.name, 1, 200) || ' (legacy #' || {alias}.id || ')' ELSE {alias}.name END"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        exec(
            manager,
            &format!(
                "INSERT INTO habits_habit (id, user_id, name, schedule_type, target_count, is_active, created_at, updated_at) \
                 SELECT (SELECT COALESCE(MAX(id), 0) FROM habits_habit) + h.id, h.user_id, {}, \
                        h.cadence, h.target, {}, h.created_at, h.created_at \
                 FROM habit AS h",
                carried_name("habit", "h", "habits_habit"),
                if b == DbBackend::Postgres { "true" } else { "1" },
            ),
        )
        .await?;
        exec(
            manager,
            "INSERT INTO habits_habit_log (user_id, habit_id, value, logged_date) \
             SELECT h.user_id, \
                    (SELECT MAX(id) FROM habits_habit) - (SELECT MAX(id) FROM habit) + l.habit_id, \
                    l.value, l.logged_date \
             FROM habit_log AS l JOIN habit AS h ON h.id = l.habit_id",
        )
        .await?;
        exec(
            manager,
            &format!(
                "INSERT INTO relationships_person (id, user_id, name, importance_level, notes, created_at, updated_at) \
                 SELECT (SELECT COALESCE(MAX(id), 0) FROM relationships_person) + c.id, c.user_id, {}, \
                        c.closeness, \
                        NULLIF(COALESCE('email: ' || c.email, '') \
                            || CASE WHEN c.email IS NOT NULL AND c.phone IS NOT NULL THEN '; ' ELSE '' END \
                            || COALESCE('phone: ' || c.phone, ''), ''), \
                        {now}, {now} \
                 FROM relationship_contact AS c",
                carried_name("relationship_contact", "c", "relationships_person"),
                now = crate::support::utc_now_sql(b),
            ),
        )
        .await?;
        exec(
            manager,
            &format!(
                "INSERT INTO relationships_interaction (user_id, person_id, date, notes, sentiment, created_at) \
                 SELECT c.user_id, \
                        (SELECT MAX(id) FROM relationships_person) - (SELECT MAX(id) FROM relationship_contact) + i.contact_id, \
                        {}, i.notes, i.sentiment, i.occurred_at \
                 FROM relationship_interaction AS i JOIN relationship_contact AS c ON c.id = i.contact_id",
                day_of_sql("i.occurred_at", b)
            ),
        )
        .await?;
        if b == DbBackend::Postgres {
            for table in ["habits_habit", "relationships_person"] {
                exec(
                    manager,
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                    ),
                )
                .await?;
            }
        }
        for table in [
            "habit_log",
            "habit",
            "relationship_interaction",
            "relationship_contact",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(irreversible(
            "m20251216_000001_drop_legacy_habits_relationships",
            "the legacy habit and relationship tables were dropped after their rows moved to \
             habits_* and relationships_*",
        ))
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
