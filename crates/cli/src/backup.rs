//! Consistent backups and their restore.
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy while the database stays usable; restoring
//!   replaces the database file, so every other connection to it must be closed first.
//! - PostgreSQL: `pg_dump --format=custom`, when installed and not older than the server (an
//!   older `pg_dump` may not read a newer server; the command refuses rather than produce a
//!   doubtful dump); restored with `pg_restore` into an empty database only.

#![allow(clippy::print_stdout)] // standard output is this command's interface

use std::path::Path;
use std::process::Command;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::migrate::Outcome;

/// Writes a backup of `db` (reached at `url`) to `file`, which must not exist.
pub async fn backup(db: &DatabaseConnection, url: &str, file: &Path) -> Outcome {
    if file.exists() {
        return Err(format!(
            "{} exists: a backup never overwrites a file",
            file.display()
        ));
    }
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let target = file.to_string_lossy().replace('\'', "''");
            db.execute_unprepared(&format!("VACUUM INTO '{target}'"))
                .await
                .map_err(|error| format!("backup failed: {error}"))?;
        }
        DbBackend::Postgres => {
            let tool = tool_version("pg_dump")?;
            let server = server_major(db).await?;
            if tool < server {
                return Err(format!(
                    "pg_dump is version {tool}, older than the server ({server}): install \
                     pg_dump {server} or newer; no backup was written"
                ));
            }
            run(libpq(&mut Command::new("pg_dump"), url)
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(file))?;
        }
        other => return Err(format!("no backup for {other:?}")),
    }
    println!(
        "backup written to {} — restore it with: lifeos --url <database> restore {}",
        file.display(),
        file.display()
    );
    Ok(())
}

/// Restores `file` (from [`backup`]) into `db` (reached at `url`).
pub async fn restore(db: DatabaseConnection, url: &str, file: &Path) -> Outcome {
    if !file.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let header =
                std::fs::read(file).map_err(|error| format!("{}: {error}", file.display()))?;
            if !header.starts_with(b"SQLite format 3\0") {
                return Err(format!("{} is not a SQLite backup", file.display()));
            }
            let target = main_file(&db).await?;
            if target.is_empty() {
                return Err("the database is in memory: there is no file to restore into".into());
            }
            db.close()
                .await
                .map_err(|error| format!("closing the database: {error}"))?;
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{target}{suffix}"));
            }
            std::fs::copy(file, &target).map_err(|error| format!("{target}: {error}"))?;
            println!("restored {} into {target}", file.display());
        }
        DbBackend::Postgres => {
            let tables: i64 = scalar(
                &db,
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema()",
            )
            .await?;
            if tables > 0 {
                return Err(format!(
                    "the database is not empty ({tables} tables): restore into a new, empty \
                     database; nothing was changed"
                ));
            }
            tool_version("pg_restore")?;
            run(libpq(&mut Command::new("pg_restore"), url)
                .args(["--no-owner", "--exit-on-error"])
                .arg(file))?;
            println!("restored {}", file.display());
        }
        other => return Err(format!("no restore for {other:?}")),
    }
    Ok(())
}

/// `command` pointed at `url`: the URL without its password as `--dbname`, the password in
/// `PGPASSWORD` (so it never shows in the process list).
fn libpq<'a>(command: &'a mut Command, url: &str) -> &'a mut Command {
    let (url, password) = split_password(url);
    command.arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `Some("secret")`), the
/// password percent-decoded.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return (url.to_owned(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_owned(), None);
    };
    let mut decoded = Vec::with_capacity(password.len());
    let bytes = password.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    (
        format!("{scheme}://{user}@{host}"),
        Some(String::from_utf8_lossy(&decoded).into_owned()),
    )
}

/// The file SQLite opened for `main` (empty in memory).
async fn main_file(db: &DatabaseConnection) -> Result<String, String> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
        ))
        .await
        .map_err(|error| error.to_string())?;
    Ok(row
        .and_then(|row| row.try_get_by_index::<String>(0).ok())
        .unwrap_or_default())
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<i64, String> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(|error| error.to_string())?
        .ok_or_else(|| format!("no answer to `{sql}`"))?
        .try_get_by_index(0)
        .map_err(|error| error.to_string())
}

/// The server's major version (`15` for 15.4).
async fn server_major(db: &DatabaseConnection) -> Result<i64, String> {
    Ok(scalar(db, "SELECT current_setting('server_version_num')::bigint").await? / 10000)
}

/// The major version of a PostgreSQL client tool, or why it cannot be used.
fn tool_version(tool: &str) -> Result<i64, String> {
    let output = Command::new(tool)
        .arg("--version")
        .output()
        .map_err(|error| format!("{tool} is needed and could not be run ({error}); install the PostgreSQL client tools"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .last()
        .and_then(|version| version.split('.').next())
        .and_then(|major| major.parse().ok())
        .ok_or_else(|| format!("cannot read the version of {tool}: {text}"))
}

fn run(command: &mut Command) -> Outcome {
    let output = command
        .output()
        .map_err(|error| format!("cannot run {:?}: {error}", command.get_program()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::split_password;

    #[test]
    fn passwords_leave_the_url() {
        assert_eq!(
            split_password("postgres://ada:s%40cret@db:5432/lifeos?sslmode=require"),
            (
                "postgres://ada@db:5432/lifeos?sslmode=require".to_owned(),
                Some("s@cret".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://ada@db/lifeos"),
            ("postgres://ada@db/lifeos".to_owned(), None)
        );
    }
}
