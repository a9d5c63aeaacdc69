//! `lifeos migrate …`: the chain of `lifeos_migration::Migrator`, one migration at a time so
//! each gets its own progress line and duration, with named targets.
//!
//! Standard output is this command's interface (the operator reads it, CI greps it).
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lifeos_migration::{IRREVERSIBLE, Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// The result of a subcommand: a message for the operator on failure.
pub type Outcome = Result<(), String>;

/// `lifeos migrate` subcommands.
#[derive(Subcommand)]
pub enum Migrate {
    /// Show every migration: applied (and when), pending, or unknown to this binary.
    Status {
        /// Exit non-zero when anything is pending or a recorded migration is unknown.
        #[arg(long)]
        check: bool,
    },
    /// Apply pending migrations (all, the next N, or up to and including NAME).
    Up {
        /// Which migrations.
        #[command(flatten)]
        target: Target,
        /// First write a consistent backup to this file (which must not exist).
        #[arg(long, value_name = "FILE")]
        backup: Option<std::path::PathBuf>,
        /// Run the migrations inside one transaction, print every statement and the rows it
        /// touched, then roll everything back.
        #[arg(long, conflicts_with = "backup")]
        dry_run: bool,
    },
    /// Roll back applied migrations (the last one, the last N, or down to NAME, which stays
    /// applied). A range reaching an irreversible migration is refused before anything is
    /// rolled back.
    Down(Target),
    /// Record the database as being at revision NAME, after checking that its schema is
    /// exactly what the chain builds there (in a scratch database).
    Stamp {
        /// The revision.
        name: String,
        /// Record without checking the schema.
        #[arg(long)]
        force: bool,
    },
    /// Drop every table — every row is lost — and apply the whole chain.
    Fresh {
        /// Confirm that every table of the database may be dropped.
        #[arg(long)]
        yes: bool,
    },
    /// Roll back everything, then apply everything (refused: the chain has irreversible
    /// migrations).
    Refresh,
    /// Roll back everything (refused: the chain has irreversible migrations).
    Reset,
}

/// Which migrations `up` or `down` takes.
#[derive(Args)]
#[group(multiple = false)]
pub struct Target {
    /// This many migrations (at least 1).
    #[arg(short = 'n', long = "num", value_parser = clap::value_parser!(u32).range(1..))]
    count: Option<u32>,
    /// Up to this migration (`up`: applied last; `down`: stays applied).
    #[arg(long = "to", value_name = "NAME")]
    to: Option<String>,
}

/// Runs `command` on `db`, reached at `url`.
pub async fn run(db: &DatabaseConnection, url: &str, command: Migrate) -> Outcome {
    let chain: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    match command {
        Migrate::Status { check } => status(db, &chain, check).await,
        Migrate::Up {
            target,
            backup,
            dry_run,
        } => {
            // One lock for the whole command: backup, plan and every step.
            locked(db, || async {
                if let Some(file) = backup {
                    crate::backup::backup(db, url, &file).await?;
                }
                up(db, url, &chain, target, dry_run).await
            })
            .await
        }
        Migrate::Down(target) => locked(db, || down(db, &chain, target)).await,
        Migrate::Stamp { name, force } => {
            locked(db, || async {
                let at = position(&chain, &name)?;
                let recorded = read_records(db).await?;
                refuse_unknown(&chain, &recorded)?;
                let later: Vec<&str> = chain[at + 1..]
                    .iter()
                    .filter(|later| recorded.contains_key(*later))
                    .map(String::as_str)
                    .collect();
                if !later.is_empty() {
                    return Err(format!(
                        "migrations after {name} are recorded as applied ({}): stamp only records, \
                     it never forgets; roll back with `lifeos migrate down --to {name}`",
                        later.join(", ")
                    ));
                }
                crate::stamp::stamp(db, url, &chain, at, force).await
            })
            .await
        }
        Migrate::Fresh { yes: false } => Err(
            "fresh drops every table and every row of the database: add --yes to confirm".into(),
        ),
        Migrate::Fresh { yes: true } => {
            whole(Migrator::fresh(db).await, "fresh: the chain is applied")
        }
        Migrate::Refresh => whole(Migrator::refresh(db).await, "refreshed"),
        Migrate::Reset => whole(
            Migrator::reset(db).await,
            "reset: every migration rolled back",
        ),
    }
}

/// Runs `body` holding the migration lock of `db` for its whole duration (`Migrator` runs
/// inside it take no second lock), so no other migrator interleaves with the plan.
pub(crate) async fn locked<Fut: std::future::Future<Output = Outcome>>(
    db: &DatabaseConnection,
    body: impl FnOnce() -> Fut,
) -> Outcome {
    lifeos_migration::with_run_lock(db, body)
        .await
        .map_err(|error| error.to_string())?
}

fn whole(result: Result<(), sea_orm::DbErr>, done: &str) -> Outcome {
    result.map_err(|error| error.to_string())?;
    println!("{done}");
    Ok(())
}

/// The recorded migrations and when each was applied (seconds since the epoch), empty when
/// the database has never been migrated.
pub(crate) async fn read_records(db: &DatabaseConnection) -> Result<BTreeMap<String, i64>, String> {
    let backend = db.get_database_backend();
    if !table_exists(db, "seaql_migrations").await? {
        return Ok(BTreeMap::new());
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT version, applied_at FROM seaql_migrations",
        ))
        .await
        .map_err(|error| error.to_string())?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(|error| error.to_string())
}

/// Whether `db` has a table `name` (in the current schema, on PostgreSQL).
pub(crate) async fn table_exists(db: &DatabaseConnection, name: &str) -> Result<bool, String> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "SELECT 1 FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = $1"
                }
                _ => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            },
            [name.into()],
        ))
        .await
        .map_err(|error| error.to_string())?;
    Ok(!rows.is_empty())
}

fn when(seconds: i64) -> String {
    sea_orm::prelude::DateTimeUtc::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

async fn status(db: &DatabaseConnection, chain: &[String], check: bool) -> Outcome {
    let recorded = read_records(db).await?;
    let mut pending = 0;
    for name in chain {
        match recorded.get(name) {
            Some(at) => println!("applied  {}  {name}", when(*at)),
            None => {
                pending += 1;
                println!("pending  {:23}  {name}", "");
            }
        }
    }
    let unknown: Vec<&String> = recorded
        .keys()
        .filter(|name| !chain.contains(name))
        .collect();
    for name in &unknown {
        println!(
            "unknown  {}  {name} (recorded, but not in this binary)",
            when(recorded[*name])
        );
    }
    println!(
        "{} applied, {pending} pending, {} unknown",
        chain.len() - pending,
        unknown.len()
    );
    if check && (pending > 0 || !unknown.is_empty()) {
        return Err(format!(
            "status --check: {pending} pending, {} unknown",
            unknown.len()
        ));
    }
    Ok(())
}

/// Refuses to change a database that records migrations this binary does not know (it is
/// ahead of this build, or belongs to something else).
fn refuse_unknown(chain: &[String], recorded: &BTreeMap<String, i64>) -> Outcome {
    let unknown: Vec<&str> = recorded
        .keys()
        .filter(|name| !chain.contains(name))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the database records migrations this binary does not know ({}): it is ahead of this \
         build; use the build that has them. Nothing was changed.",
        unknown.join(", ")
    ))
}

/// The position of `name` in the chain, or a message listing what a name looks like.
fn position(chain: &[String], name: &str) -> Result<usize, String> {
    chain.iter().position(|known| known == name).ok_or_else(|| {
        format!(
            "no migration named `{name}` in this binary (names look like `{}`; see `lifeos migrate status`)",
            chain.last().map_or("", String::as_str)
        )
    })
}

/// Reports steps: a progress bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(steps: usize) -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new(steps as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Self { bar }
    }

    fn done(&self, verb: &str, name: &str, took: Duration) {
        let line = format!("{verb} {name} ({} ms)", took.as_millis());
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None => println!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

async fn up(
    db: &DatabaseConnection,
    url: &str,
    chain: &[String],
    target: Target,
    dry_run: bool,
) -> Outcome {
    let recorded = read_records(db).await?;
    refuse_unknown(chain, &recorded)?;
    let pending: Vec<&String> = chain
        .iter()
        .filter(|name| !recorded.contains_key(*name))
        .collect();
    let steps = match (&target.to, target.count) {
        (Some(name), _) => {
            position(chain, name)?;
            if recorded.contains_key(name) {
                println!("{name} is already applied; nothing to do");
                return Ok(());
            }
            pending
                .iter()
                .position(|pending| *pending == name)
                .map_or(0, |at| at + 1)
        }
        (None, Some(count)) => usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(pending.len()),
        (None, None) => pending.len(),
    };
    if dry_run {
        return crate::dry_run::dry_run(url, &pending[..steps]).await;
    }
    if steps == 0 {
        println!("nothing to apply: the database is at the head of the chain");
        return Ok(());
    }
    let progress = Progress::new(steps);
    let started = Instant::now();
    // Each step takes the migration lock on its own, so another migrator may apply some of
    // these meanwhile: the plan is re-read before every step, and only a migration still
    // pending is applied (never one past the target).
    for name in pending.iter().take(steps) {
        let now = read_records(db).await?;
        if now.contains_key(*name) {
            continue;
        }
        let next = chain.iter().find(|known| !now.contains_key(*known));
        if next != Some(*name) {
            return Err(format!(
                "the database changed while migrating (next pending is {next:?}, expected \
                 {name}); run `lifeos migrate status` and try again"
            ));
        }
        let began = Instant::now();
        Migrator::up(db, Some(1))
            .await
            .map_err(|error| format!("{name}: {error}"))?;
        progress.done("applied", name, began.elapsed());
    }
    progress.finish();
    println!("{steps} applied in {} ms", started.elapsed().as_millis());
    Ok(())
}

async fn down(db: &DatabaseConnection, chain: &[String], target: Target) -> Outcome {
    let recorded = read_records(db).await?;
    refuse_unknown(chain, &recorded)?;
    let applied: Vec<&String> = chain
        .iter()
        .filter(|name| recorded.contains_key(*name))
        .collect();
    let steps = match (&target.to, target.count) {
        (Some(name), _) => {
            position(chain, name)?;
            let at = applied
                .iter()
                .position(|applied| *applied == name)
                .ok_or_else(|| format!("{name} is not applied, so it cannot be the target"))?;
            applied.len() - at - 1
        }
        (None, count) => {
            let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
            if count > applied.len() {
                return Err(format!(
                    "cannot roll back {count} migrations: only {} are applied; nothing was rolled back",
                    applied.len()
                ));
            }
            count
        }
    };
    let range = &applied[applied.len() - steps..];
    if let Some(name) = range
        .iter()
        .rev()
        .find(|name| IRREVERSIBLE.contains(&name.as_str()))
    {
        return Err(format!(
            "irreversible migration `{name}` is among the {steps} to roll back: it cannot be \
             undone without losing data. Nothing was rolled back; restore a backup to go back \
             further."
        ));
    }
    if steps == 0 {
        println!("nothing to roll back");
        return Ok(());
    }
    let progress = Progress::new(steps);
    for name in range.iter().rev() {
        // Another migrator may have changed the database between steps: roll back only the
        // migration this plan expects to be the newest.
        let now = read_records(db).await?;
        let newest = chain.iter().rev().find(|known| now.contains_key(*known));
        if newest != Some(*name) {
            return Err(format!(
                "the database changed while rolling back (newest applied is {newest:?}, \
                 expected {name}); run `lifeos migrate status` and try again"
            ));
        }
        let began = Instant::now();
        Migrator::down(db, Some(1))
            .await
            .map_err(|error| format!("{name}: {error}"))?;
        progress.done("rolled back", name, began.elapsed());
    }
    progress.finish();
    println!("{steps} rolled back");
    Ok(())
}
