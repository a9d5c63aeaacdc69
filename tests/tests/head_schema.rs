//! The schema the chain builds at head is exactly the one checked in
//! (`crates/schema/head/{sqlite,postgres}.txt`; likewise the original LifeOS's at its last
//! revision, `original-{sqlite,postgres}.txt`, rendered by `lifeos_schema::Schema::render`),
//! compared in full: a change to any migration's effect on the head schema — a dropped
//! check, a changed default or index predicate, reordered index columns, an extra enum
//! value, a trigger — fails here with the lines that differ, and shows up in review as a diff
//! of the checked-in file.
//!
//! Regenerate after an intended schema change (both backends):
//! `LIFEOS_BLESS=1 cargo test -p lifeos-tests --test head_schema`, and again with
//! `LIFEOS_TEST_POSTGRES_URL` set (on PostgreSQL 15).

use std::path::PathBuf;

use lifeos_testkit::{TestDb, schema};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[tokio::test]
async fn the_head_schema_is_the_checked_in_one() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let actual = schema::snapshot(&db)
        .await?
        .render(&schema::head_title(backend));
    let expected = schema::head(backend).ok_or("unsupported backend")?;
    let file = match backend {
        DbBackend::Postgres => "postgres.txt",
        _ => "sqlite.txt",
    };
    compare(&db, file, expected, &actual).await
}

/// The schema an original LifeOS database has at its last revision (this chain's Part 1
/// without the Life Graph migrations) is the checked-in one `lifeos adopt` falls back on.
#[tokio::test]
async fn the_original_schema_is_the_checked_in_one() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::empty().await?;
    lifeos_migration::alembic::build_original(&db, schema::ORIGINAL_REVISION).await?;
    let backend = db.get_database_backend();
    let actual = schema::snapshot(&db)
        .await?
        .render(&schema::original_title(backend));
    let expected = schema::original(backend).ok_or("unsupported backend")?;
    let file = match backend {
        DbBackend::Postgres => "original-postgres.txt",
        _ => "original-sqlite.txt",
    };
    compare(&db, file, expected, &actual).await
}

/// Checks `actual` against the checked-in `file` (its content `expected`), or rewrites the
/// file under `LIFEOS_BLESS=1`.
async fn compare(
    db: &TestDb,
    file: &str,
    expected: &str,
    actual: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let backend = db.get_database_backend();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/schema/head")
        .join(file);
    if std::env::var("LIFEOS_BLESS").is_ok_and(|value| value == "1") {
        std::fs::write(&file, actual)?;
        return Ok(());
    }
    if backend == DbBackend::Postgres {
        // The file is made on PostgreSQL 15; another major version spells some definitions
        // differently.
        let version: i32 = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT current_setting('server_version_num')::int",
            ))
            .await?
            .ok_or("no server version")?
            .try_get_by_index(0)?;
        assert_eq!(
            version / 10000,
            15,
            "the checked-in PostgreSQL schema is made on PostgreSQL 15 (this server is {version})"
        );
    }
    let diff = schema::diff_lines(expected, actual);
    assert!(
        diff.is_empty(),
        "the schema differs from {} (- checked in, + built by the chain):\n{}\n\
         If the change is intended, regenerate: LIFEOS_BLESS=1 cargo test -p lifeos-tests \
         --test head_schema (and again with LIFEOS_TEST_POSTGRES_URL set).",
        file.display(),
        diff.join("\n")
    );
    // Same lines, same order (a hand-edited or reordered file is regenerated too).
    assert_eq!(
        expected,
        actual,
        "{} is not in the rendered order",
        file.display()
    );
    Ok(())
}
