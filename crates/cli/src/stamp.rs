//! `lifeos migrate stamp NAME`: record that the database is at revision NAME, after checking
//! that its schema is exactly what the chain builds there — built in a scratch database
//! (SQLite in memory; on PostgreSQL a scratch database on the same server, which needs the
//! CREATEDB privilege) and compared with `lifeos-schema`. `--force` skips the check, loudly.
//!
//! Stamp only adds records: it refuses a database that records migrations after NAME (roll
//! back instead) or unknown ones. It takes no migration lock: do not stamp while a migrator
//! runs. A migration that changes only data (e.g. `m20251207_000003_standardize_user_roles`)
//! leaves the schema as it was, so the check cannot tell the revisions on either side of it
//! apart: stamp the right one.

#![allow(clippy::print_stdout)] // standard output is this command's interface

use lifeos_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::migrate::Outcome;

/// Stamps `db` (reached at `url`) at `name`, the migration at `position` of `chain`.
pub async fn stamp(
    db: &DatabaseConnection,
    url: &str,
    chain: &[String],
    position: usize,
    force: bool,
) -> Outcome {
    let name = &chain[position];
    if force {
        println!("warning: stamping {name} WITHOUT checking the schema (--force)");
    } else {
        let expected = expected_schema(db, url, position).await?;
        let live = lifeos_schema::snapshot(db)
            .await
            .map_err(|error| format!("reading the schema: {error}"))?;
        let differences = expected.diff(&live);
        if !differences.is_empty() {
            return Err(format!(
                "the schema is not what the chain builds at {name} ({} differences; `-` \
                 expected, `+` found), so nothing was recorded:\n  {}",
                differences.len(),
                differences.join("\n  ")
            ));
        }
    }
    record(db, chain, position).await?;
    println!("stamped: {name} and the {position} migrations before it are recorded as applied");
    Ok(())
}

/// The schema the chain builds up to and including the migration at `position`.
pub async fn expected_schema(
    db: &DatabaseConnection,
    url: &str,
    position: usize,
) -> Result<lifeos_schema::Schema, crate::scratch::ScratchError> {
    let steps = u32::try_from(position + 1)
        .map_err(|_| crate::scratch::ScratchError::Failed("too many migrations".to_owned()))?;
    crate::scratch::with_scratch(db, url, |scratch| async move {
        Migrator::up(&scratch, Some(steps))
            .await
            .map_err(|error| format!("building the expected schema: {error}"))?;
        lifeos_schema::snapshot(&scratch)
            .await
            .map_err(|error| format!("reading the expected schema: {error}"))
    })
    .await
}

/// Records the migrations up to `position` as applied (keeping the times of those already
/// recorded), in one transaction. (The caller has refused a database recording any after it.)
async fn record(db: &DatabaseConnection, chain: &[String], position: usize) -> Outcome {
    Migrator::install(db)
        .await
        .map_err(|error| format!("creating the migration table: {error}"))?;
    let backend = db.get_database_backend();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    let txn = sea_orm::TransactionTrait::begin(db)
        .await
        .map_err(|error| error.to_string())?;
    for name in &chain[..=position] {
        let sql = Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => {
                    "INSERT INTO seaql_migrations (version, applied_at) VALUES ($1, $2) \
                     ON CONFLICT (version) DO NOTHING"
                }
                _ => "INSERT OR IGNORE INTO seaql_migrations (version, applied_at) VALUES (?, ?)",
            },
            [name.clone().into(), now.into()],
        );
        txn.execute_raw(sql)
            .await
            .map_err(|error| error.to_string())?;
    }
    txn.commit().await.map_err(|error| error.to_string())
}
