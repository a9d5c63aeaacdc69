//! Part 2: what the kernel services (accounts, sessions, access control, preferences, outbox,
//! read models) need from the schema.
//!
//! - **Preferences:** the unique `(user_id, key)` the upsert relies on
//!   (`ux_user_preference_user_key`). History enforced it only in application code, so a
//!   database may hold duplicates: the most recently updated row of each pair keeps the key,
//!   and every other one is renamed `<key>~dup<id>` — kept, not deleted, so no value is lost.
//! - **Sessions:** `auth_session.expires_at` (a session token's expiry) with
//!   `ix_auth_session_state_expires_at` for the expiry sweep; `session_token.auth_session_id`
//!   ties a refresh token to the session it refreshes (cascades with it;
//!   `ix_session_token_auth_session_id`).
//! - **JWT blocklist:** `jwt_blocklist.expires_at`, so expired entries can be purged
//!   (`ix_jwt_blocklist_expires_at`). Rows from history have none and are kept until removed
//!   by hand.
//! - **Outbox:** `ix_platform_outbox_status_available_at (status, available_at)` serves the
//!   delivery claim (`status IN (…) AND available_at <= now ORDER BY available_at`); the
//!   history's indexes all lead with `user_id`.
//! - **Read models:** the idempotency key is unique (`ux_readmodel_state_idempotency_key`;
//!   duplicates from history are renamed `<key>~dup<id>`), and at most one replay run per
//!   model version is `running` (partial `ux_readmodel_run_running`). A history may hold
//!   several `running` runs of one model version (a replayer that crashed and was started
//!   again): before the index is created, every running run that is not the newest running run
//!   of its model version (highest `started_at`, ties broken by the highest `id`) becomes
//!   `failed`, with `error_message` = `superseded by a newer running replay
//!   (m20261121_000001_kernel_services)` and `completed_at` set to now where it is empty — as
//!   the read-model service records a failed run, so no `failed` run lacks its end. One
//!   set-based `UPDATE`; nothing else about the runs changes.
//! - **Access control, seeded here rather than by code at start-up:** the roles every new
//!   account receives (`user` and the eight `<domain>:write` roles; history created `user` and
//!   `finance:write` from application code, rev 23 the other seven), the `admin` role, one
//!   permission per role capability (`account:write`, the eight `<domain>:write`,
//!   `auth:admin`) and the grants between them. Existing users are not granted anything new.
//!
//! `down` drops the indexes and columns, the seeded grants and permissions and the `admin`
//! role. Renamed duplicates keep their new keys, runs failed as superseded stay `failed`
//! (`down` does not set them `running` again: they were stuck, and nothing records which runs
//! this migration failed beyond their message), and the `user` and `finance:write` roles stay
//! (a database from history may have had them before this migration).
//!
//! Amended after landing, under DECISIONS 19(a): the superseding `UPDATE` of stuck running
//! runs was added. The edit only changes what happens on databases where the migration fails
//! today, so no database that applied it can differ: the `UPDATE` changes rows only where two
//! or more runs of one model version are `running`, which is exactly where creating
//! `ux_readmodel_run_running` failed and the migration rolled back; on every database that
//! applied the migration, it matches no row. The `lifeos-tests` backfill suite
//! (`kernel_services_fail_all_but_the_newest_of_several_running_runs`) proves it with the data
//! that made it fail (three running runs of one model version).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, drop_indexes, exec, index, unique_index, utc_now_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The roles a new account receives, with their descriptions.
const DEFAULT_ROLES: [(&str, &str); 9] = [
    (
        "user",
        "Every account: its own profile, preferences, sessions and credentials",
    ),
    ("finance:write", "Write access to finance domain"),
    ("calendar:write", "Write access to calendar domain"),
    ("health:write", "Write access to health domain"),
    ("habits:write", "Write access to habits domain"),
    ("skills:write", "Write access to skills domain"),
    ("projects:write", "Write access to projects domain"),
    (
        "relationships:write",
        "Write access to relationships domain",
    ),
    ("journal:write", "Write access to journal domain"),
];

/// (role, permission code, permission description).
const GRANTS: [(&str, &str, &str); 10] = [
    (
        "user",
        "account:write",
        "Manage one's own account, preferences, sessions and calendar credentials",
    ),
    ("finance:write", "finance:write", "Write finance records"),
    ("calendar:write", "calendar:write", "Write calendar records"),
    ("health:write", "health:write", "Write health records"),
    ("habits:write", "habits:write", "Write habit records"),
    ("skills:write", "skills:write", "Write skill records"),
    ("projects:write", "projects:write", "Write project records"),
    (
        "relationships:write",
        "relationships:write",
        "Write relationship records",
    ),
    ("journal:write", "journal:write", "Write journal records"),
    (
        "admin",
        "auth:admin",
        "Administer other users' accounts and sessions",
    ),
];

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `SELECT … UNION ALL SELECT …` of literal rows.
fn rows(rows: &[Vec<&str>], columns: &[&str]) -> String {
    rows.iter()
        .map(|row| {
            let values: Vec<String> = row
                .iter()
                .zip(columns)
                .map(|(value, column)| format!("{} AS {column}", quoted(value)))
                .collect();
            format!("SELECT {}", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Renames every row of `table` whose `column` value repeats (within `scope`, an SQL prefix
/// condition over the other row `q`) unless no other row is `newer` — so exactly one row of
/// each group keeps the value.
fn rename_duplicates(table: &str, column: &str, scope: &str, newer: &str) -> String {
    format!(
        "UPDATE {table} SET {column} = substr({column}, 1, 100) || '~dup' || CAST(id AS VARCHAR(20)) \
         WHERE EXISTS (SELECT 1 FROM {table} AS q WHERE {scope} q.{column} = {table}.{column} \
         AND ({newer}))"
    )
}

/// The message a run failed by [`supersede_stuck_runs`] carries.
const SUPERSEDED: &str = "superseded by a newer running replay (m20261121_000001_kernel_services)";

/// Marks `failed` every `running` run of `readmodel_run` that is not the newest running run
/// of its model version (highest `started_at`, ties broken by the highest `id`), so that
/// `ux_readmodel_run_running` can be created. `now` is the SQL for the current UTC instant,
/// set as `completed_at` where the run has none. Valid on SQLite and PostgreSQL.
fn supersede_stuck_runs(now: &str) -> String {
    format!(
        "UPDATE readmodel_run SET status = 'failed', error_message = {}, \
         completed_at = COALESCE(completed_at, {now}) \
         WHERE status = 'running' AND EXISTS (SELECT 1 FROM readmodel_run AS q \
         WHERE q.status = 'running' AND q.model_name = readmodel_run.model_name \
         AND q.model_version = readmodel_run.model_version \
         AND (q.started_at > readmodel_run.started_at OR \
         (q.started_at = readmodel_run.started_at AND q.id > readmodel_run.id)))",
        quoted(SUPERSEDED)
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Preferences: one row per (user, key).
        exec(
            manager,
            &rename_duplicates(
                "user_preference",
                "key",
                "q.user_id = user_preference.user_id AND",
                "q.updated_at > user_preference.updated_at OR \
                 (q.updated_at = user_preference.updated_at AND q.id > user_preference.id)",
            ),
        )
        .await?;
        manager
            .create_index(unique_index(
                "ux_user_preference_user_key",
                "user_preference",
                &["user_id", "key"],
            ))
            .await?;

        // Sessions and tokens.
        TableChange::new("auth_session")
            .add_column(date_time_null("expires_at"))
            .run(manager)
            .await?;
        manager
            .create_index(index(
                "ix_auth_session_state_expires_at",
                "auth_session",
                &["lifecycle_state", "expires_at"],
            ))
            .await?;
        TableChange::new("session_token")
            .add_column(integer_null("auth_session_id"))
            .foreign_key(
                ForeignKey::create()
                    .from(Alias::new("session_token"), Alias::new("auth_session_id"))
                    .to(Alias::new("auth_session"), Alias::new("id"))
                    .on_delete(ForeignKeyAction::Cascade)
                    .take(),
            )
            .run(manager)
            .await?;
        manager
            .create_index(index(
                "ix_session_token_auth_session_id",
                "session_token",
                &["auth_session_id"],
            ))
            .await?;
        TableChange::new("jwt_blocklist")
            .add_column(date_time_null("expires_at"))
            .run(manager)
            .await?;
        manager
            .create_index(index(
                "ix_jwt_blocklist_expires_at",
                "jwt_blocklist",
                &["expires_at"],
            ))
            .await?;

        // Outbox delivery claim.
        manager
            .create_index(index(
                "ix_platform_outbox_status_available_at",
                "platform_outbox",
                &["status", "available_at"],
            ))
            .await?;

        // Read models.
        exec(
            manager,
            &rename_duplicates(
                "readmodel_state",
                "idempotency_key",
                "",
                "q.id < readmodel_state.id",
            ),
        )
        .await?;
        manager
            .create_index(unique_index(
                "ux_readmodel_state_idempotency_key",
                "readmodel_state",
                &["idempotency_key"],
            ))
            .await?;
        // DECISIONS 19(a): only a database on which the index below fails has rows to change.
        exec(
            manager,
            &supersede_stuck_runs(utc_now_sql(manager.get_database_backend())),
        )
        .await?;
        exec(
            manager,
            "CREATE UNIQUE INDEX ux_readmodel_run_running ON readmodel_run \
             (model_name, model_version) WHERE status = 'running'",
        )
        .await?;

        // Access control.
        let roles: Vec<Vec<&str>> = DEFAULT_ROLES
            .iter()
            .chain(&[("admin", "Administers other users' accounts and sessions")])
            .map(|(name, description)| vec![*name, *description])
            .collect();
        exec(
            manager,
            &format!(
                "INSERT INTO role (name, description) SELECT v.name, v.description FROM ({}) AS v \
                 WHERE NOT EXISTS (SELECT 1 FROM role AS r WHERE r.name = v.name)",
                rows(&roles, &["name", "description"])
            ),
        )
        .await?;
        let permissions: Vec<Vec<&str>> = GRANTS
            .iter()
            .map(|(_, code, description)| vec![*code, *description])
            .collect();
        exec(
            manager,
            &format!(
                "INSERT INTO permission (code, description) SELECT v.code, v.description \
                 FROM ({}) AS v \
                 WHERE NOT EXISTS (SELECT 1 FROM permission AS p WHERE p.code = v.code)",
                rows(&permissions, &["code", "description"])
            ),
        )
        .await?;
        let grants: Vec<Vec<&str>> = GRANTS
            .iter()
            .map(|(role, code, _)| vec![*role, *code])
            .collect();
        exec(
            manager,
            &format!(
                "INSERT INTO role_permission (role_id, permission_id) SELECT r.id, p.id \
                 FROM ({}) AS v JOIN role AS r ON r.name = v.role \
                 JOIN permission AS p ON p.code = v.code \
                 WHERE NOT EXISTS (SELECT 1 FROM role_permission AS rp \
                     WHERE rp.role_id = r.id AND rp.permission_id = p.id)",
                rows(&grants, &["role", "code"])
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let codes: Vec<String> = GRANTS.iter().map(|(_, code, _)| quoted(code)).collect();
        exec(
            manager,
            &format!(
                "DELETE FROM role_permission WHERE permission_id IN \
                 (SELECT id FROM permission WHERE code IN ({}))",
                codes.join(", ")
            ),
        )
        .await?;
        exec(
            manager,
            &format!(
                "DELETE FROM permission WHERE code IN ({})",
                codes.join(", ")
            ),
        )
        .await?;
        exec(
            manager,
            "DELETE FROM user_role WHERE role_id IN (SELECT id FROM role WHERE name = 'admin')",
        )
        .await?;
        exec(manager, "DELETE FROM role WHERE name = 'admin'").await?;

        for (table, name) in [
            ("readmodel_run", "ux_readmodel_run_running"),
            ("readmodel_state", "ux_readmodel_state_idempotency_key"),
            ("platform_outbox", "ix_platform_outbox_status_available_at"),
            ("jwt_blocklist", "ix_jwt_blocklist_expires_at"),
            ("session_token", "ix_session_token_auth_session_id"),
            ("auth_session", "ix_auth_session_state_expires_at"),
            ("user_preference", "ux_user_preference_user_key"),
        ] {
            drop_indexes(manager, table, &[name]).await?;
        }
        TableChange::new("jwt_blocklist")
            .drop_column("expires_at")
            .run(manager)
            .await?;
        TableChange::new("session_token")
            .drop_foreign_key("auth_session_id")
            .drop_column("auth_session_id")
            .run(manager)
            .await?;
        TableChange::new("auth_session")
            .drop_column("expires_at")
            .run(manager)
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
