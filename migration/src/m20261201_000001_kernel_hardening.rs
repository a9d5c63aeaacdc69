//! Part 2: what the hardened kernel services need from the schema.
//!
//! - **Emails are case-insensitive.** Stored emails are trimmed and lower-cased, and
//!   `ix_user_email` (the seed's name) becomes a unique index on `lower(email)`, which also
//!   serves the services' lookups (`WHERE lower(email) = lower(…)`). Accounts from history
//!   whose emails differ only by case (or surrounding spaces) cannot both keep theirs: the
//!   migration then fails, before changing anything, with an error listing every such account
//!   (id and email), so an operator merges or renames them and migrates again — nothing is
//!   merged or dropped silently. `lower()` folds ASCII letters only on SQLite (PostgreSQL
//!   follows the database's locale); the index and every lookup use the same function, so
//!   they agree on each backend.
//! - **Outbox leases are fenced:** `platform_outbox.lease_id`, the random id of a message's
//!   current delivery lease, which acknowledgements must present.
//! - **`password_reset_token.attempts` is dropped.** A wrong token matches no row, so the
//!   counter could never count; requests are rate-limited per user instead (in the service).
//!
//! `down` restores the plain unique index on `email`, drops `lease_id` and re-adds
//! `attempts` (`0` for every row). Emails stay lower-cased: their original case is not kept
//! anywhere, and it never distinguished two accounts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::support::{TableChange, drop_indexes, exec, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `column` as the services store an email: without surrounding ASCII white space (as Rust's
/// `trim` removes it: space, tab, line feed, vertical tab, form feed, carriage return), then
/// lower-cased.
fn normalized(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "lower(btrim({column}, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)))"
        ),
        _ => format!(
            "lower(trim({column}, ' ' || char(9) || char(10) || char(11) || char(12) || char(13)))"
        ),
    }
}

/// Fails, listing them, when accounts differ only by the case of their email (or white space
/// around it).
async fn refuse_case_collisions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let (mine, other) = (
        normalized(backend, "u.email"),
        normalized(backend, "o.email"),
    );
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT u.id, u.email FROM \"user\" AS u WHERE EXISTS (SELECT 1 FROM \"user\" \
                 AS o WHERE o.id <> u.id AND {other} = {mine}) ORDER BY {mine}, u.id"
            ),
        ))
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut listed = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i32 = row.try_get_by_index(0)?;
        let email: String = row.try_get_by_index(1)?;
        listed.push(format!("user {id} <{email}>"));
    }
    Err(DbErr::Migration(format!(
        "emails become case-insensitive, but these {} accounts differ only by the case of \
         their email: {}. Merge or rename them, then migrate again; nothing was changed.",
        listed.len(),
        listed.join(", ")
    )))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        refuse_case_collisions(manager).await?;
        let email = normalized(manager.get_database_backend(), "email");
        exec(
            manager,
            &format!("UPDATE \"user\" SET email = {email} WHERE email <> {email}"),
        )
        .await?;
        drop_indexes(manager, "user", &["ix_user_email"]).await?;
        exec(
            manager,
            "CREATE UNIQUE INDEX ix_user_email ON \"user\" (lower(email))",
        )
        .await?;
        TableChange::new("platform_outbox")
            .add_column(string_len_null("lease_id", 64))
            .run(manager)
            .await?;
        TableChange::new("password_reset_token")
            .drop_column("attempts")
            .run(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableChange::new("password_reset_token")
            .add_column(integer("attempts").default(0).take())
            .run(manager)
            .await?;
        TableChange::new("platform_outbox")
            .drop_column("lease_id")
            .run(manager)
            .await?;
        drop_indexes(manager, "user", &["ix_user_email"]).await?;
        manager
            .create_index(unique_index("ix_user_email", "user", &["email"]))
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
