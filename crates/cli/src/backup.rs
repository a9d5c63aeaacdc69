//! Consistent backups and their restore.
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy while the database stays usable.
//! - PostgreSQL: `pg_dump --format=custom`, when installed and not older than the server (an
//!   older `pg_dump` may not read a newer server; the command refuses rather than produce a
//!   doubtful dump); restored with `pg_restore` into an empty database only, in one
//!   transaction.
//!
//! A restore never overwrites data: on SQLite too the target must be empty (a new file), and the
//! copy is written beside it and renamed into place.

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
            // Reserve the name, dump beside it, rename when complete: a failed dump leaves
            // no file that looks like a backup.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(file)
                .map_err(|error| format!("{}: {error}", file.display()))?;
            let partial = file.with_extension("partial");
            let dumped = run(libpq(&mut Command::new("pg_dump"), url)
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(&partial))
            .and_then(|()| {
                std::fs::rename(&partial, file)
                    .map_err(|error| format!("{}: {error}", file.display()))
            });
            if dumped.is_err() {
                let _ = std::fs::remove_file(&partial);
                let _ = std::fs::remove_file(file);
            }
            dumped?;
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

/// Restores `file` (from [`backup`]) into `db` (reached at `url`), which must be empty — or,
/// on SQLite with `replace`, whose file is replaced (every other connection to it must be
/// closed: the copy is written beside the file and renamed over it, under the migration lock).
pub async fn restore(db: DatabaseConnection, url: &str, file: &Path, replace: bool) -> Outcome {
    if !file.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let mut header = [0u8; 16];
            std::fs::File::open(file)
                .and_then(|mut backup| std::io::Read::read_exact(&mut backup, &mut header))
                .map_err(|error| format!("{}: {error}", file.display()))?;
            if &header != b"SQLite format 3\0" {
                return Err(format!("{} is not a SQLite backup", file.display()));
            }
            let target = main_file(&db).await?;
            if target.is_empty() {
                return Err("the database is in memory: there is no file to restore into".into());
            }
            if !replace {
                refuse_non_empty(&db, "SELECT count(*) FROM sqlite_master").await?;
            }
            db.close()
                .await
                .map_err(|error| format!("closing the database: {error}"))?;
            // No migrator may run while the file is swapped: hold the migration lock (the
            // file `lifeos_migration::Migrator` locks beside a SQLite database), waiting for
            // one that is running.
            let lock_path = format!("{target}.migrate-lock");
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .and_then(|lock| lock.lock().map(|()| lock))
                .map_err(|error| format!("{lock_path}: {error}"))?;
            // Copy beside the target, then rename over it: the target is never half-written.
            let partial = format!("{target}.restoring");
            std::fs::copy(file, &partial)
                .and_then(|_| std::fs::File::open(&partial)?.sync_all())
                .map_err(|error| format!("{partial}: {error}"))?;
            for suffix in ["-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{target}{suffix}"));
            }
            std::fs::rename(&partial, &target).map_err(|error| format!("{target}: {error}"))?;
            drop(lock);
            println!("restored {} into {target}", file.display());
        }
        DbBackend::Postgres => {
            if replace {
                return Err(
                    "--replace is for SQLite files; on PostgreSQL restore into a new, empty \
                     database"
                        .into(),
                );
            }
            refuse_non_empty(
                &db,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
                   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'",
            )
            .await?;
            tool_version("pg_restore")?;
            run(libpq(&mut Command::new("pg_restore"), url)
                .args(["--no-owner", "--exit-on-error", "--single-transaction"])
                .arg(file))?;
            println!("restored {}", file.display());
        }
        other => return Err(format!("no restore for {other:?}")),
    }
    Ok(())
}

async fn refuse_non_empty(db: &DatabaseConnection, count_objects: &str) -> Outcome {
    let objects = scalar(db, count_objects).await?;
    if objects > 0 {
        return Err(format!(
            "the database is not empty ({objects} objects): restore into a new, empty \
             database; nothing was changed"
        ));
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
/// password percent-decoded. The user information is what precedes the last `@` of the
/// authority (a raw `@` in a password stays in the password).
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_owned(), None);
    };
    (
        format!("{scheme}://{user}@{host}{path}"),
        Some(percent_decode(password)),
    )
}

/// `text` with every occurrence of `url`'s password (raw and decoded) replaced by `***`.
pub fn redact(text: &str, url: &str) -> String {
    let mut out = text.to_owned();
    if let Some((_, rest)) = url.split_once("://") {
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, raw)) = userinfo.split_once(':')
        {
            for secret in [raw.to_owned(), percent_decode(raw)] {
                if !secret.is_empty() {
                    out = out.replace(&secret, "***");
                }
            }
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
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
    String::from_utf8_lossy(&decoded).into_owned()
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
        .find(|token| token.starts_with(|c: char| c.is_ascii_digit()))
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
    use super::{redact, split_password};

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
        assert_eq!(
            split_password("postgres://ada:p@ss@db/x@y"),
            ("postgres://ada@db/x@y".to_owned(), Some("p@ss".to_owned()))
        );
        assert_eq!(
            redact(
                "failed for postgres://ada:s%40cret@db and s@cret",
                "postgres://ada:s%40cret@db"
            ),
            "failed for postgres://ada:***@db and ***"
        );
    }
}
