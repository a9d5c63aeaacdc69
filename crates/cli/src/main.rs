//! `lifeos` — the operators' command for a LifeOS database.
//!
//! ```text
//! lifeos migrate status [--check]        # what is applied (and when), pending, unknown
//! lifeos migrate up [--to NAME | -n N]   # apply pending migrations, one line each with its time
//! lifeos migrate down [--to NAME | -n N] # roll back (NAME stays applied); refuses irreversible ranges
//! lifeos migrate fresh | refresh | reset
//! lifeos migrate up --backup FILE        # a consistent backup first
//! lifeos migrate up --dry-run            # run in one transaction, print the SQL, roll back
//! lifeos migrate stamp NAME [--force]    # record a revision, after checking the schema is its
//! lifeos adopt [--backup FILE]           # take over an original LifeOS database, migrate to head
//! lifeos doctor [--json]                 # check migrations, schema, foreign keys, root_id, names
//! lifeos restore FILE                    # SQLite: replaces the file; PostgreSQL: an empty database
//! lifeos import fractal-goals PATH --user EMAIL  # an original fractal-goals goals.db
//! ```
//!
//! `--url` or `DATABASE_URL` selects the database (default `sqlite://lifeos.db?mode=rwc`, as
//! the `lifeos-migration` binary). Every run that changes the schema goes through
//! `lifeos_migration::Migrator`, so it holds the migration lock and takes turns with any other
//! migrator. Progress is a bar on a terminal and plain lines otherwise; `-v` logs more
//! (tracing, on standard error). Exit status: 0 when done, 1 on any failure (2 for a usage
//! error, as clap reports it), 1 from `status --check` when anything is pending or a recorded
//! migration is unknown to this binary (a CI gate), and 1 from `doctor` on any finding. No
//! output shows the URL's password.

mod adopt;
mod backup;
mod doctor;
mod dry_run;
mod import;
mod migrate;
mod scratch;
mod stamp;

use clap::{Parser, Subcommand};
use lifeos_migration::DEFAULT_DATABASE_URL;
use sea_orm::{ConnectOptions, Database};

#[derive(Parser)]
#[command(version, about = "Operate a LifeOS database")]
struct Cli {
    /// Database URL (SQLite or PostgreSQL).
    #[arg(short = 'u', long = "url", global = true, env = "DATABASE_URL", hide_env_values = true, default_value = DEFAULT_DATABASE_URL)]
    url: String,

    /// Seconds to wait for the database to accept a connection.
    #[arg(long, global = true, default_value_t = 10)]
    connect_timeout: u64,

    /// Log more (debug messages on standard error).
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply, roll back and inspect the schema migrations.
    #[command(subcommand)]
    Migrate(migrate::Migrate),
    /// Take over a database built by the original LifeOS (Alembic, at
    /// `20251221_auth_session_table` or earlier): verify its schema, record the equivalent
    /// migrations, migrate to head.
    Adopt {
        /// First write a consistent backup to this file (which must not exist).
        #[arg(long, value_name = "FILE")]
        backup: Option<std::path::PathBuf>,
    },
    /// Check the database: migrations, schema, foreign keys, the practice tree's root_id,
    /// the specification's names. Exits 1 on any finding.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup written by `migrate up --backup` into an empty database.
    Restore {
        /// The backup file.
        file: std::path::PathBuf,
        /// SQLite: replace the database file even though it holds data (close every other
        /// connection to it first).
        #[arg(long)]
        replace: bool,
    },
    /// Import another application's data for one user (`import fractal-goals PATH --user
    /// EMAIL`: an original fractal-goals `goals.db`). Nothing is written when it is refused.
    #[command(subcommand)]
    Import(import::Import),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::{Layer, filter::LevelFilter};
        let logs = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(if cli.verbose {
                LevelFilter::DEBUG
            } else {
                LevelFilter::WARN
            });
        tracing_subscriber::registry()
            .with(logs)
            .with(dry_run::Statements)
            .init();
    }
    let outcome = async {
        let mut options = ConnectOptions::new(cli.url.as_str());
        let patience = std::time::Duration::from_secs(cli.connect_timeout);
        options
            .sqlx_logging(cli.verbose)
            .connect_timeout(patience)
            .acquire_timeout(patience);
        let db = Database::connect(options)
            .await
            .map_err(|error| format!("cannot connect to the database: {error}"))?;
        tracing::debug!("connected");
        match cli.command {
            Command::Migrate(command) => migrate::run(&db, &cli.url, command).await,
            Command::Adopt { backup } => adopt::adopt(&db, &cli.url, backup.as_deref()).await,
            Command::Doctor { json } => doctor::doctor(&db, &cli.url, json).await,
            Command::Restore { file, replace } => {
                backup::restore(db, &cli.url, &file, replace).await
            }
            Command::Import(command) => import::run(&db, command).await,
        }
    }
    .await;
    if let Err(error) = outcome {
        // Errors may quote the URL (a malformed one, say): never its password.
        eprintln!("lifeos: {}", backup::redact(&error, &cli.url));
        std::process::exit(1);
    }
}
