//! `lifeos-migration`: run the LifeOS chain against a database.
//!
//! ```text
//! cargo run -p lifeos-migration -- up        # sqlite://lifeos.db?mode=rwc unless DATABASE_URL is set
//! cargo run -p lifeos-migration -- status | down [-n N] | fresh | refresh | reset
//! ```
//! The subcommands are sea-orm-migration's; `sea-orm-cli migrate -d migration <cmd>` runs this
//! same binary.

use clap::Parser;
use lifeos_migration::{DEFAULT_DATABASE_URL, Migrator};
use sea_orm_cli::MigrateSubcommands;
use sea_orm_migration::cli::run_migrate;
use sea_orm_migration::sea_orm::{ConnectOptions, Database};

#[derive(Parser)]
#[command(version, about = "Run the LifeOS schema migrations")]
struct Cli {
    /// Show debug messages.
    #[arg(short = 'v', long, global = true)]
    verbose: bool,

    /// PostgreSQL schema to migrate (ignored for SQLite).
    #[arg(
        short = 's',
        long,
        global = true,
        env = "DATABASE_SCHEMA",
        default_value = "public"
    )]
    database_schema: String,

    /// Database URL (SQLite or PostgreSQL).
    #[arg(short = 'u', long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,

    #[command(subcommand)]
    command: Option<MigrateSubcommands>,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let mut options = ConnectOptions::new(cli.database_url);
    options.set_schema_search_path(cli.database_schema);
    let outcome = match Database::connect(options).await {
        Ok(db) => run_migrate(Migrator, &db, cli.command, cli.verbose).await,
        Err(error) => Err(error.into()),
    };
    if let Err(error) = outcome {
        eprintln!("lifeos-migration: {error}");
        std::process::exit(1);
    }
}
