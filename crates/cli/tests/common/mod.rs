//! Helpers the `lifeos` binary's suites share: running it, and scratch databases.
#![allow(dead_code)] // each suite uses its own part

use std::path::PathBuf;
use std::process::{Command, Output};

use lifeos_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};

pub const BINARY: &str = env!("CARGO_BIN_EXE_lifeos");

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn lifeos(url: &str, args: &[&str]) -> std::io::Result<Output> {
    Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", url)
        .output()
}

/// stdout and stderr of a run, and whether it succeeded.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn ok(url: &str, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let output = lifeos(url, args)?;
    let text = text(&output);
    if !output.status.success() {
        return Err(format!("lifeos {args:?} failed:\n{text}").into());
    }
    Ok(text)
}

pub fn refused(url: &str, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let output = lifeos(url, args)?;
    let text = text(&output);
    if output.status.success() {
        return Err(format!("lifeos {args:?} went through:\n{text}").into());
    }
    Ok(text)
}

pub fn names() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect()
}

/// A fresh database for one test (PostgreSQL when `LIFEOS_TEST_POSTGRES_URL` is set, else a
/// SQLite file), dropped or removed by [`Scratch::drop`].
pub struct Scratch {
    pub url: String,
    admin: Option<(String, String)>,
    file: Option<PathBuf>,
}

impl Scratch {
    pub async fn new(label: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("LIFEOS_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
        {
            Some(admin_url) => {
                let name = format!("lifeos_cli_{label}_{}", &suffix[..12]);
                let admin = Database::connect(admin_url.as_str()).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await?;
                let (server, _) = admin_url.rsplit_once('/').ok_or("url with a database")?;
                Ok(Self {
                    url: format!("{server}/{name}"),
                    admin: Some((admin_url, name)),
                    file: None,
                })
            }
            None => {
                let file = std::env::temp_dir().join(format!("lifeos_cli_{label}_{suffix}.db"));
                Ok(Self {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    admin: None,
                    file: Some(file),
                })
            }
        }
    }

    pub async fn drop(self) -> Result<(), Box<dyn std::error::Error>> {
        if let Some((admin_url, name)) = self.admin {
            let admin = Database::connect(admin_url.as_str()).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
        }
        if let Some(file) = self.file {
            for suffix in ["", "-wal", "-shm", ".migrate-lock"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        Ok(())
    }
}
