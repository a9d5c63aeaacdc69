//! [`Migrator`]: the chain, run with the guarantees this project promises on both backends.
//!
//! sea-orm-migration's runner already gives each migration its own transaction when the
//! migration asks for one (every migration here does — a test enforces it). What it cannot do
//! is SQLite's other half: `PRAGMA foreign_keys` is a no-op inside a transaction, and a table
//! rebuild with enforcement on would fire cascades. So on a SQLite *connection* `Migrator`
//! switches enforcement off around the run and restores the previous setting afterwards, the
//! way Django's schema editor does; [`crate::support::SqliteRebuild`] checks foreign keys
//! itself before its transaction commits.
//!
//! Caveat: the pragma is per connection. SeaORM gives SQLite pools one connection unless
//! configured otherwise; with a larger pool the pragma may land on another connection, and a
//! rebuild of a referenced table then refuses to run (it never deletes rows).
//!
//! # One migrator at a time
//! Every run that changes the schema (`up`, `down`, `fresh`, `refresh`, `reset`) holds a
//! database-wide lock from before it reads which migrations are applied until after the last
//! one committed, so two migrators started at once (two deploys, a service calling
//! `Migrator::up` while an operator runs the binary) apply each migration exactly once — the
//! second waits, then finds nothing left to do:
//! - PostgreSQL: a session advisory lock (key [`ADVISORY_LOCK_KEY`]) taken on a connection of
//!   its own, opened with the pool's options but outside the pool, so no pooled query can
//!   release it; it ends with that connection, also when the process dies.
//! - SQLite (a file): an exclusive OS lock on `<database file>.migrate-lock` beside the file
//!   SQLite actually opened (`pragma_database_list`; SQLite's own locks do not last from one
//!   migration's transaction to the next). An in-memory database is this process's alone and
//!   needs none; neither do mock or proxy connections.
//!
//! A migrator waits at most [`LOCK_TIMEOUT_VAR`] seconds (default 300) and then fails with a
//! message saying so; a run handed a transaction instead of a connection takes no lock.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::sqlx::{self, Connection as _};
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DatabaseExecutor, DbBackend,
    Statement,
};

use crate::Chain;
use crate::support::foreign_keys_enforced;

/// The LifeOS migrator: the whole schema history, in order.
///
/// Use it like any sea-orm-migration migrator — `Migrator::up(&db, None)` from code, or the
/// `lifeos-migration` binary / `sea-orm-cli migrate` from a shell. `up`, `down`, `fresh`,
/// `refresh` and `reset` behave as sea-orm-migration documents them, with SQLite foreign-key
/// enforcement switched off for the duration, under a run lock that makes concurrent
/// migrators take turns, and with a `down`/`refresh`/`reset` that would reach an
/// [`IRREVERSIBLE`] migration refused before anything is rolled back (see the module docs).
pub struct Migrator;

/// A migrator with no migrations, used only for sea-orm's "drop everything" in [`Migrator::fresh`].
struct Nothing;

impl MigratorTrait for Nothing {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Vec::new()
    }
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Chain::migrations()
    }

    async fn up<'c, C>(db: C, steps: Option<u32>) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        locked(
            &db,
            with_foreign_keys_off(&db, Chain::up(reborrow(&db), steps)),
        )
        .await
    }

    async fn down<'c, C>(db: C, steps: Option<u32>) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        let run = async {
            refuse_irreversible(&db, steps).await?;
            with_foreign_keys_off(&db, Chain::down(reborrow(&db), steps)).await
        };
        locked(&db, run).await
    }

    async fn fresh<'c, C>(db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        // sea-orm drops every table (and PostgreSQL type) and turns SQLite foreign keys back
        // on when it is done; the chain is then applied under our own guard — all of it under
        // one lock.
        let run = async {
            Nothing::fresh(reborrow(&db)).await?;
            with_foreign_keys_off(&db, Chain::up(reborrow(&db), None)).await
        };
        locked(&db, run).await
    }

    async fn refresh<'c, C>(db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        let run = async {
            refuse_irreversible(&db, None).await?;
            with_foreign_keys_off(&db, Chain::refresh(reborrow(&db))).await
        };
        locked(&db, run).await
    }

    async fn reset<'c, C>(db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        let run = async {
            refuse_irreversible(&db, None).await?;
            with_foreign_keys_off(&db, Chain::reset(reborrow(&db))).await
        };
        locked(&db, run).await
    }
}

/// The migrations whose `down` refuses because undoing them would lose data; each says why
/// in its doc comment (and its own `down` fails with `irreversible migration …`, which the
/// chain test checks for exactly these).
pub const IRREVERSIBLE: [&str; 4] = [
    "m20251216_000001_drop_legacy_habits_relationships",
    "m20251207_000003_standardize_user_roles",
    "m20251219_000002_phase3a_new_models",
    "m20261101_000001_cleanup_legacy_objects",
];

/// Refuses, before anything is rolled back, a `down` of `steps` migrations (all when `None`)
/// that would reach an irreversible one: the newest such migration in the range is named.
/// Without this, the migrations above it would be rolled back (each in its own committed
/// transaction) before its `down` refused.
async fn refuse_irreversible(db: &DatabaseExecutor<'_>, steps: Option<u32>) -> Result<(), DbErr> {
    let applied: Vec<String> = Chain::get_applied_migrations(db)
        .await?
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let count = steps.map_or(applied.len(), |steps| {
        usize::try_from(steps)
            .unwrap_or(usize::MAX)
            .min(applied.len())
    });
    let range = &applied[applied.len() - count..];
    match range
        .iter()
        .rev()
        .find(|name| IRREVERSIBLE.contains(&name.as_str()))
    {
        Some(name) => Err(DbErr::Migration(format!(
            "irreversible migration `{name}` is among the {count} to roll back: it cannot be \
             undone without losing data (its doc comment says why). Nothing was rolled back; \
             restore a backup to go back further."
        ))),
        None => Ok(()),
    }
}

/// Borrows an executor again without giving it up.
fn reborrow<'a>(db: &'a DatabaseExecutor<'_>) -> DatabaseExecutor<'a> {
    match db {
        DatabaseExecutor::Connection(conn) => DatabaseExecutor::Connection(conn),
        DatabaseExecutor::Transaction(txn) => DatabaseExecutor::Transaction(txn),
        DatabaseExecutor::OwnedTransaction(txn) => DatabaseExecutor::Transaction(txn),
    }
}

/// Runs `operation` with SQLite foreign-key enforcement off on `db`, restoring the previous
/// setting afterwards (also when the operation fails). Other backends and transactions run
/// `operation` unchanged.
pub(crate) async fn with_foreign_keys_off(
    db: &DatabaseExecutor<'_>,
    operation: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    let conn = match db {
        DatabaseExecutor::Connection(conn) if conn.get_database_backend() == DbBackend::Sqlite => {
            *conn
        }
        _ => return operation.await,
    };
    let previous = foreign_keys_enforced(conn).await?;
    set_foreign_keys(conn, false).await?;
    let result = operation.await;
    let restored = set_foreign_keys(conn, previous).await;
    result.and(restored)
}

async fn set_foreign_keys(conn: &DatabaseConnection, on: bool) -> Result<(), DbErr> {
    let value = if on { "ON" } else { "OFF" };
    conn.execute_unprepared(&format!("PRAGMA foreign_keys = {value}"))
        .await
        .map(|_| ())
}

/// The environment variable bounding, in seconds, how long a migrator waits for another one
/// to finish (default 300).
pub const LOCK_TIMEOUT_VAR: &str = "LIFEOS_MIGRATION_LOCK_TIMEOUT";

/// The PostgreSQL advisory-lock key of a migration run (`LIFEOSMG` in ASCII).
pub const ADVISORY_LOCK_KEY: i64 = 0x4c49_4645_4f53_4d47;

const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// The lock a run holds; released by [`release`] (or, should the process die, by the
/// connection or file closing).
enum RunLock {
    Postgres(sqlx::PgConnection),
    Sqlite(std::fs::File),
    None,
}

tokio::task_local! {
    /// The database (see [`lock_key`]) whose run lock this task holds through
    /// [`with_run_lock`]: `Migrator` runs inside it take no second lock.
    static HELD: String;
}

/// Runs `body` holding the run lock of `db` for its whole duration, so a caller can read the
/// migration state and then apply or roll back several migrations (through `Migrator`, which
/// takes no second lock inside) without another migrator interleaving. The outer `Result`
/// is the lock's; the inner one is `body`'s.
///
/// # Errors
/// As taking the lock: another migrator held it past the timeout, or the lock could not be
/// taken at all.
pub async fn with_run_lock<T, E, Fut>(
    db: &DatabaseConnection,
    body: impl FnOnce() -> Fut,
) -> Result<Result<T, E>, DbErr>
where
    Fut: Future<Output = Result<T, E>>,
{
    let executor = DatabaseExecutor::Connection(db);
    let lock = acquire(&executor).await?;
    let key = lock_key(db).await?.unwrap_or_default();
    let outcome = HELD.scope(key, body()).await;
    release(lock).await?;
    Ok(outcome)
}

/// What identifies a database for the run lock: PostgreSQL host, port and database; the
/// SQLite file. `None` when there is nothing to lock (in memory, mock connections).
async fn lock_key(conn: &DatabaseConnection) -> Result<Option<String>, DbErr> {
    match &conn.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let options = conn.get_postgres_connection_pool().connect_options();
            Ok(Some(format!(
                "postgres://{}:{}/{}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or_default()
            )))
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let file: String = conn
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT file FROM pragma_database_list WHERE name = 'main'",
                ))
                .await?
                .map(|row| row.try_get_by_index::<String>(0))
                .transpose()?
                .unwrap_or_default();
            Ok((!file.is_empty()).then_some(file))
        }
        _ => Ok(None),
    }
}

/// Runs `operation` holding the run lock of `db` (see the module docs).
async fn locked(
    db: &DatabaseExecutor<'_>,
    operation: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    let lock = acquire(db).await?;
    let result = operation.await;
    let released = release(lock).await;
    result.and(released)
}

fn lock_timeout() -> Result<Duration, DbErr> {
    match std::env::var(LOCK_TIMEOUT_VAR) {
        Err(_) => Ok(DEFAULT_LOCK_TIMEOUT),
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| {
                DbErr::Migration(format!(
                    "{LOCK_TIMEOUT_VAR}={text:?} is not a number of seconds"
                ))
            }),
    }
}

fn busy(timeout: Duration) -> DbErr {
    DbErr::Migration(format!(
        "another migrator still holds the migration lock after {}s; it may still be running \
         (wait for it, or raise {LOCK_TIMEOUT_VAR}), or be stuck (stop it)",
        timeout.as_secs()
    ))
}

fn lock_error(error: impl std::fmt::Display) -> DbErr {
    DbErr::Migration(format!("cannot take the migration lock: {error}"))
}

async fn acquire(db: &DatabaseExecutor<'_>) -> Result<RunLock, DbErr> {
    let DatabaseExecutor::Connection(conn) = db else {
        return Ok(RunLock::None);
    };
    let Some(key) = lock_key(conn).await? else {
        return Ok(RunLock::None);
    };
    // Inside `with_run_lock` for this database, this task holds the lock already.
    if HELD.try_with(|held| *held == key).unwrap_or(false) {
        return Ok(RunLock::None);
    }
    let timeout = lock_timeout()?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(25);
    let mut wait = || {
        let this = pause;
        pause = (pause * 2).min(Duration::from_millis(500));
        async move {
            if Instant::now() >= deadline {
                return Err(busy(timeout));
            }
            tokio::time::sleep(this).await;
            Ok(())
        }
    };
    match &conn.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let options = conn.get_postgres_connection_pool().connect_options();
            let mut own = sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(lock_error)?;
            // The lock lives as long as this idle connection: the server must not end it.
            sqlx::query("SET idle_session_timeout = 0")
                .execute(&mut own)
                .await
                .map_err(lock_error)?;
            loop {
                let (taken,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(ADVISORY_LOCK_KEY)
                    .fetch_one(&mut own)
                    .await
                    .map_err(lock_error)?;
                if taken {
                    return Ok(RunLock::Postgres(own));
                }
                wait().await?;
            }
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            // The key is the file SQLite actually opened (links and URI forms resolved).
            let path = PathBuf::from(format!("{key}.migrate-lock"));
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| lock_error(format!("{}: {e}", path.display())))?;
            loop {
                match lock.try_lock() {
                    Ok(()) => return Ok(RunLock::Sqlite(lock)),
                    Err(std::fs::TryLockError::WouldBlock) => wait().await?,
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(lock_error(format!("{}: {e}", path.display())));
                    }
                }
            }
        }
        // Mock, proxy and other connections: nothing to lock.
        _ => Ok(RunLock::None),
    }
}

/// Releases the run lock. The migrations are done by then, so a failure here is not the
/// run's: closing the connection or file releases the lock all the same, and it is only
/// reported (on standard error).
async fn release(lock: RunLock) -> Result<(), DbErr> {
    let outcome = match lock {
        RunLock::Postgres(mut own) => {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(ADVISORY_LOCK_KEY)
                .execute(&mut own)
                .await
                .map(|_| ());
            // Closing ends the session, which releases the lock even if the unlock failed.
            unlocked.and(own.close().await).map_err(|e| e.to_string())
        }
        RunLock::Sqlite(file) => file.unlock().map_err(|e| e.to_string()),
        RunLock::None => Ok(()),
    };
    if let Err(error) = outcome {
        eprintln!(
            "lifeos-migration: releasing the migration lock: {error} (it ends with its connection or file)"
        );
    }
    Ok(())
}
