//! `lifeos migrate up --dry-run`: the pending migrations run inside one transaction, every SQL
//! statement is printed with the rows it touched, then everything is rolled back. The schema
//! and the rows are as before (PostgreSQL sequences may have advanced: `nextval` is not
//! transactional). It runs under the migration lock, like a real run. On PostgreSQL the
//! transaction holds the locks a real run would (an `ALTER TABLE` blocks the application's
//! use of that table) until it rolls back: dry-run a copy of a busy production database.

#![allow(clippy::print_stdout)] // standard output is this command's interface

use std::sync::atomic::{AtomicBool, Ordering};

use lifeos_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, TransactionTrait};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

use crate::migrate::Outcome;

/// Whether statements are being printed (only during a dry run).
static PRINTING: AtomicBool = AtomicBool::new(false);

/// A tracing layer that prints each statement sqlx executes (`sqlx::query` events) with the
/// rows it touched, while a dry run is in progress.
pub struct Statements;

#[derive(Default)]
struct Fields {
    statement: Option<String>,
    summary: Option<String>,
    rows_affected: Option<u64>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "db.statement" if !value.is_empty() => self.statement = Some(value.to_owned()),
            "summary" => self.summary = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_affected" {
            self.rows_affected = Some(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), "db.statement" | "summary") {
            self.record_str(field, format!("{value:?}").trim_matches('"'));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if !PRINTING.load(Ordering::Relaxed) || event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(sql) = fields.statement.or(fields.summary) else {
            return;
        };
        let sql = sql.trim();
        println!("{sql}");
        let changes_data = ["INSERT", "UPDATE", "DELETE"].iter().any(|verb| {
            sql.get(..verb.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(verb))
        });
        match fields.rows_affected {
            Some(rows) if rows > 0 || changes_data => println!("  -- {rows} rows"),
            _ => {}
        }
    }
}

/// Runs the pending migrations of the database at `url` inside one transaction, printing
/// every statement, and rolls back.
pub async fn dry_run(url: &str, pending: &[&String]) -> Outcome {
    if pending.is_empty() {
        println!("dry run: nothing to apply — the database is at the head of the chain");
        return Ok(());
    }
    // Every pending migration must be able to share one transaction.
    let migrations = Migrator::migrations();
    for name in pending {
        if let Some(migration) = migrations.iter().find(|m| m.name() == name.as_str())
            && migration.use_transaction() != Some(true)
        {
            return Err(format!(
                "{name} cannot run inside a shared transaction, so the dry run stops before it; \
                 nothing was changed"
            ));
        }
    }
    // One connection: SQLite's foreign-key pragma and the transaction must be on the same one.
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .sqlx_logging(true)
        .sqlx_logging_level(tracing::log::LevelFilter::Info);
    let db = Database::connect(options)
        .await
        .map_err(|error| format!("cannot connect to the database: {error}"))?;
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    if sqlite {
        // Table rebuilds refuse to run while SQLite enforces foreign keys (as `Migrator` does,
        // outside the transaction, where the pragma has an effect).
        db.execute_unprepared("PRAGMA foreign_keys = OFF")
            .await
            .map_err(|error| error.to_string())?;
    }
    let txn = db.begin().await.map_err(|error| error.to_string())?;
    PRINTING.store(true, Ordering::Relaxed);
    let mut ran = Ok(());
    for name in pending {
        println!("-- {name}");
        let began = std::time::Instant::now();
        ran = Migrator::up(&txn, Some(1))
            .await
            .map_err(|error| format!("{name}: {error}"));
        // PostgreSQL checks deferred foreign keys at commit, which a dry run never reaches:
        // check them now, as the real run's commit would.
        if ran.is_ok() && !sqlite {
            // (Back to deferred afterwards: the only deferrable keys are the initially
            // deferred guards.)
            ran = txn
                .execute_unprepared("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")
                .await
                .map(|_| ())
                .map_err(|error| format!("{name}: {error}"));
        }
        if ran.is_err() {
            break;
        }
        println!("-- {name}: {} ms", began.elapsed().as_millis());
    }
    PRINTING.store(false, Ordering::Relaxed);
    let rolled_back = txn.rollback().await;
    if sqlite {
        let _ = db.execute_unprepared("PRAGMA foreign_keys = ON").await;
    }
    let _ = db.close().await;
    rolled_back.map_err(|error| format!("rolling back the dry run: {error}"))?;
    ran.map_err(|error| format!("the dry run failed, and was rolled back: {error}"))?;
    println!(
        "dry run: {} migrations ran inside one transaction and were rolled back; nothing \
         changed{}",
        pending.len(),
        if sqlite {
            ""
        } else {
            " (PostgreSQL sequences may have advanced)"
        }
    );
    Ok(())
}
