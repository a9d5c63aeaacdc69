//! `lifeos import …`: brings another application's data into one user's LifeOS.
//!
//! `lifeos import fractal-goals PATH --user EMAIL` reads an original fractal-goals `goals.db`
//! (opened read-only) and imports its goal trees, practice sessions, activities, metric and
//! split definitions, templates, instances and metric values for the user with that email,
//! in one transaction (`lifeos_practice_sessions::service::import`, whose docs give every
//! rule: ids derived per user, `root_id` computed, naive times read in the user's time zone,
//! rows the target's checks would refuse cleaned, at most one active session). Importing the
//! same file again creates nothing. On a terminal each table gets a progress bar; the command
//! ends with a count per table (created, already there, skipped, cleaned). A file that is not
//! such a database, or an unknown user, is refused with a message and nothing written.

#![allow(clippy::print_stdout)] // standard output is this command's interface

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use lifeos_practice_sessions::service::import::{self, Report, TABLES};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::migrate::Outcome;

/// `lifeos import` subcommands.
#[derive(Subcommand)]
pub enum Import {
    /// Import an original fractal-goals database (`goals.db`, SQLite, with or without its
    /// 2026-01-01 improvements) for one user. Importing it again creates nothing new.
    FractalGoals {
        /// The fractal-goals `goals.db` file (opened read-only).
        path: PathBuf,
        /// The email of the LifeOS user who receives the data.
        #[arg(long, value_name = "EMAIL")]
        user: String,
    },
}

/// Runs an import subcommand against `db`.
pub async fn run(db: &DatabaseConnection, command: Import) -> Outcome {
    match command {
        Import::FractalGoals { path, user } => fractal_goals(db, &path, &user).await,
    }
}

async fn fractal_goals(db: &DatabaseConnection, path: &Path, email: &str) -> Outcome {
    let email = lifeos_core::validate::email(email).map_err(|error| format!("--user: {error}"))?;
    let backend = db.get_database_backend();
    let found = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT id FROM \"user\" WHERE lower(email) = lower({})",
                lifeos_core::db::placeholder(backend, 1)
            ),
            [email.clone().into()],
        ))
        .await
        .map_err(|error| format!("looking up the user: {error}"))?
        .ok_or_else(|| format!("no LifeOS user has the email {email}; nothing was imported"))?;
    // The kernel's `UserId`, its type inferred from the import's signature below.
    let user = found
        .try_get_by_index(0)
        .map_err(|error| format!("reading the user's id: {error}"))?;

    if !path.is_file() {
        return Err(format!(
            "{}: no such file; nothing was imported",
            path.display()
        ));
    }
    // Opened by path, not by URL: a `?`, `#` or `%` in a file name stays part of the name.
    let options = sea_orm::sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|error| {
            format!(
                "cannot open {} as a SQLite database ({error}); nothing was imported",
                path.display()
            )
        })?;
    let source = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);

    let mut bars = Bars::new(std::io::stderr().is_terminal());
    let outcome = import::fractal_goals(
        &source,
        db,
        user,
        &mut |table: &'static str, done: u64, total: u64| bars.step(table, done, total),
    )
    .await;
    bars.finish();
    // Read-only: nothing to flush; a failure to close changes nothing.
    let _ = source.close().await;
    let report = outcome.map_err(|error| {
        format!(
            "importing {} refused, nothing was written: {error}",
            path.display()
        )
    })?;
    print(&report, path, &email);
    Ok(())
}

/// The counts per table.
fn print(report: &Report, path: &Path, email: &str) {
    let get = |counts: &std::collections::BTreeMap<&'static str, u64>, table: &str| {
        counts.get(table).copied().unwrap_or(0)
    };
    println!("imported {} for {email}:", path.display());
    for table in TABLES {
        let cleaned = get(&report.cleaned, table);
        println!(
            "  {table}: {} created, {} already there, {} skipped{}",
            get(&report.created, table),
            get(&report.existing, table),
            get(&report.skipped, table),
            if cleaned > 0 {
                format!(" ({cleaned} of the created cleaned to pass the checks)")
            } else {
                String::new()
            }
        );
    }
    if report.closed > 0 {
        println!(
            "  {} open practice sessions were imported closed (a user has at most one active \
             session)",
            report.closed
        );
    }
}

/// A progress bar per table on a terminal; nothing otherwise (the counts follow).
struct Bars {
    terminal: bool,
    current: Option<(&'static str, ProgressBar)>,
}

impl Bars {
    fn new(terminal: bool) -> Self {
        Self {
            terminal,
            current: None,
        }
    }

    fn step(&mut self, table: &'static str, done: u64, total: u64) {
        if !self.terminal {
            return;
        }
        if self
            .current
            .as_ref()
            .is_none_or(|(current, _)| *current != table)
        {
            self.finish();
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{msg:24} {bar:30} {pos}/{len}") {
                bar.set_style(style);
            }
            bar.set_message(table);
            self.current = Some((table, bar));
        }
        if let Some((_, bar)) = &self.current {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    fn finish(&mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish();
        }
    }
}
