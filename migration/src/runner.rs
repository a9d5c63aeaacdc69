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

use std::future::Future;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseExecutor, DbBackend,
};

use crate::Chain;
use crate::support::foreign_keys_enforced;

/// The LifeOS migrator: the whole schema history, in order.
///
/// Use it like any sea-orm-migration migrator — `Migrator::up(&db, None)` from code, or the
/// `lifeos-migration` binary / `sea-orm-cli migrate` from a shell. `up`, `down`, `fresh`,
/// `refresh` and `reset` behave as sea-orm-migration documents them, with SQLite foreign-key
/// enforcement switched off for the duration (see the module docs).
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
        with_foreign_keys_off(&db, Chain::up(reborrow(&db), steps)).await
    }

    async fn down<'c, C>(db: C, steps: Option<u32>) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        with_foreign_keys_off(&db, Chain::down(reborrow(&db), steps)).await
    }

    async fn fresh<'c, C>(db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        // sea-orm drops every table (and PostgreSQL type) and turns SQLite foreign keys back
        // on when it is done; the chain is then applied under our own guard.
        Nothing::fresh(reborrow(&db)).await?;
        Self::up(reborrow(&db), None).await
    }

    async fn refresh<'c, C>(db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        with_foreign_keys_off(&db, Chain::refresh(reborrow(&db))).await
    }

    async fn reset<'c, C>(db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        let db = db.into_database_executor();
        with_foreign_keys_off(&db, Chain::reset(reborrow(&db))).await
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
async fn with_foreign_keys_off(
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
