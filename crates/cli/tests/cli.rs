//! The `lifeos` binary's `migrate` subcommands, on a SQLite file and (when
//! `LIFEOS_TEST_POSTGRES_URL` is set) a scratch PostgreSQL database: named targets, per-step
//! lines, the status check, irreversible ranges and bad input refused with clear messages and
//! non-zero exits, nothing changed by a refusal.

mod common;

use common::*;
use lifeos_migration::IRREVERSIBLE;
use sea_orm::{ConnectionTrait, Database};
use std::process::Command;

async fn subcommands(url: &str) -> TestResult {
    let names = names();
    let cleanup = "m20261101_000001_cleanup_legacy_objects";
    let at_cleanup = names
        .iter()
        .position(|n| n == cleanup)
        .ok_or("no cleanup")?;

    // A fresh database: everything pending, and the CI gate says so.
    let status = refused(url, &["migrate", "status", "--check"])?;
    assert!(
        status.contains(&format!("0 applied, {} pending, 0 unknown", names.len())),
        "{status}"
    );

    // Up to a named revision: one line per migration, the named one last.
    let up = ok(url, &["migrate", "up", "--to", cleanup])?;
    assert_eq!(up.matches("applied m").count(), at_cleanup + 1, "{up}");
    assert!(up.contains(&format!("applied {cleanup} (")), "{up}");
    let status = ok(url, &["migrate", "status"])?;
    assert!(
        status.contains(&format!("{} pending", names.len() - at_cleanup - 1)),
        "{status}"
    );

    // The rest, then the gate passes.
    ok(url, &["migrate", "up"])?;
    let status = ok(url, &["migrate", "status", "--check"])?;
    assert!(
        status.contains(&format!("{} applied, 0 pending", names.len())),
        "{status}"
    );
    let again = ok(url, &["migrate", "up"])?;
    assert!(again.contains("nothing to apply"), "{again}");

    // Down to the cleanup (it stays applied); down past it is refused up front.
    let down = ok(url, &["migrate", "down", "--to", cleanup])?;
    assert_eq!(
        down.matches("rolled back m").count(),
        names.len() - at_cleanup - 1,
        "{down}"
    );
    let status = ok(url, &["migrate", "status"])?;
    for args in [
        &["migrate", "down"][..],
        &["migrate", "down", "-n", "1000"],
        &["migrate", "down", "--to", &names[0]],
        &["migrate", "reset"],
        &["migrate", "refresh"],
    ] {
        let message = refused(url, args)?;
        assert!(
            message.contains("irreversible migration") || message.contains("only"),
            "{args:?}: {message}"
        );
        assert_eq!(
            ok(url, &["migrate", "status"])?,
            status,
            "{args:?} changed something"
        );
    }
    assert!(IRREVERSIBLE.contains(&cleanup));

    // Bad names.
    let message = refused(url, &["migrate", "up", "--to", "m20990101_000000_nope"])?;
    assert!(
        message.contains("no migration named `m20990101_000000_nope`"),
        "{message}"
    );
    let message = refused(url, &["migrate", "down", "--to", "m20990101_000000_nope"])?;
    assert!(message.contains("no migration named"), "{message}");
    let message = refused(url, &["migrate", "up", "--to", cleanup, "-n", "1"])?;
    assert!(message.contains("cannot be used with"), "{message}");
    ok(url, &["migrate", "up"])?;
    let message = ok(url, &["migrate", "up", "--to", cleanup])?;
    assert!(message.contains("already applied"), "{message}");

    // fresh, confirmed: everything dropped and the whole chain applied again.
    let message = ok(url, &["migrate", "fresh", "--yes"])?;
    assert!(message.contains("fresh"), "{message}");
    ok(url, &["migrate", "status", "--check"])?;
    Ok(())
}

#[tokio::test]
async fn migrate_subcommands_take_named_targets_and_refuse_clearly() -> TestResult {
    let scratch = Scratch::new("sub").await?;
    let outcome = subcommands(&scratch.url).await;
    scratch.drop().await?;
    outcome
}

#[test]
fn no_output_shows_the_password() -> TestResult {
    for args in [&["migrate", "status"][..], &["--help"]] {
        let output = lifeos("postgress://ada:hunter2@127.0.0.1:1/lifeos", args)?;
        let text = text(&output);
        assert!(!text.contains("hunter2"), "{args:?}: {text}");
    }
    Ok(())
}

#[test]
fn fresh_wants_a_confirmation_and_counts_start_at_one() -> TestResult {
    let file = std::env::temp_dir().join(format!(
        "lifeos_cli_fresh_{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let message = refused(&url, &["migrate", "fresh"])?;
    let zero = refused(&url, &["migrate", "up", "-n", "0"])?;
    let _ = std::fs::remove_file(&file);
    assert!(message.contains("--yes"), "{message}");
    assert!(zero.contains("-n"), "{zero}");
    Ok(())
}

#[test]
fn a_bad_or_unreachable_database_is_a_clear_failure() -> TestResult {
    for (url, expected) in [
        ("nosuchdb://localhost/x", "cannot connect to the database"),
        (
            "postgres://postgres@127.0.0.1:1/lifeos",
            "cannot connect to the database",
        ),
    ] {
        let message = refused(url, &["--connect-timeout", "2", "migrate", "status"])?;
        assert!(message.contains(expected), "{url}: {message}");
        assert!(
            message.starts_with("lifeos: ") || message.contains("\nlifeos: "),
            "{message}"
        );
    }
    Ok(())
}

async fn count_users(url: &str) -> Result<i64, Box<dyn std::error::Error>> {
    let db = Database::connect(url).await?;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) FROM \"user\" WHERE email = 'ada@example.org'",
        ))
        .await?
        .ok_or("no row")?;
    let count = row.try_get_by_index::<i64>(0)?;
    db.close().await?;
    Ok(count)
}

async fn backup_and_restore(source: &str, target: &str, file: &std::path::Path) -> TestResult {
    ok(source, &["migrate", "up"])?;
    let db = Database::connect(source).await?;
    db.execute_unprepared(
        "INSERT INTO \"user\" (email, password_hash, is_active, created_at, updated_at) \
         VALUES ('ada@example.org', 'h', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    .await?;
    db.close().await?;
    let file_arg = file.to_string_lossy().into_owned();

    let message = ok(source, &["migrate", "up", "--backup", &file_arg])?;
    assert!(message.contains("backup written to"), "{message}");
    assert!(message.contains("nothing to apply"), "{message}");
    let message = refused(source, &["migrate", "up", "--backup", &file_arg])?;
    assert!(message.contains("never overwrites"), "{message}");

    let message = ok(target, &["restore", &file_arg])?;
    assert!(message.contains("restored"), "{message}");
    ok(target, &["migrate", "status", "--check"])?;
    assert_eq!(count_users(target).await?, 1);

    let message = refused(target, &["restore", "/nonexistent/backup"])?;
    assert!(message.contains("is not a file"), "{message}");
    // A restore never overwrites data unasked.
    let message = refused(target, &["restore", &file_arg])?;
    assert!(message.contains("not empty"), "{message}");
    assert_eq!(count_users(target).await?, 1);
    // SQLite replaces a file when told to; PostgreSQL never restores over data.
    let db = Database::connect(target).await?;
    db.execute_unprepared("DELETE FROM \"user\"").await?;
    db.close().await?;
    if target.starts_with("sqlite") {
        ok(target, &["restore", "--replace", &file_arg])?;
        assert_eq!(count_users(target).await?, 1);
    } else {
        let message = refused(target, &["restore", "--replace", &file_arg])?;
        assert!(message.contains("--replace is for SQLite"), "{message}");
    }
    Ok(())
}

#[tokio::test]
async fn a_backup_taken_before_migrating_restores_elsewhere() -> TestResult {
    let (source, target) = (Scratch::new("src").await?, Scratch::new("dst").await?);
    let file =
        std::env::temp_dir().join(format!("lifeos_backup_{}", uuid::Uuid::new_v4().simple()));
    let outcome = backup_and_restore(&source.url, &target.url, &file).await;
    let _ = std::fs::remove_file(&file);
    source.drop().await?;
    target.drop().await?;
    outcome
}

async fn stamping(url: &str) -> TestResult {
    let names = names();
    let cleanup = "m20261101_000001_cleanup_legacy_objects";
    let at = names
        .iter()
        .position(|n| n == cleanup)
        .ok_or("no cleanup")?;
    // A database at the cleanup revision whose bookkeeping was lost (or that was built by
    // hand): the schema is there, the record is not.
    ok(url, &["migrate", "up", "--to", cleanup])?;
    let db = Database::connect(url).await?;
    db.execute_unprepared("DELETE FROM seaql_migrations")
        .await?;
    db.close().await?;

    // Stamping another revision is refused, with the differences, and records nothing.
    let message = refused(url, &["migrate", "stamp", &names[at - 1]])?;
    assert!(
        message.contains("is not what the chain builds"),
        "{message}"
    );
    assert!(message.contains("nothing was recorded"), "{message}");
    let status = ok(url, &["migrate", "status"])?;
    assert!(
        status.contains(&format!("0 applied, {} pending", names.len())),
        "{status}"
    );
    let message = refused(url, &["migrate", "stamp", "m20990101_000000_nope"])?;
    assert!(message.contains("no migration named"), "{message}");

    // The right revision is recorded, and `up` goes on from there.
    let message = ok(url, &["migrate", "stamp", cleanup])?;
    assert!(message.contains("stamped"), "{message}");
    let status = ok(url, &["migrate", "status"])?;
    assert!(
        status.contains(&format!(
            "{} applied, {} pending",
            at + 1,
            names.len() - at - 1
        )),
        "{status}"
    );
    ok(url, &["migrate", "up"])?;
    ok(url, &["migrate", "status", "--check"])?;

    // Stamp never forgets records: an earlier revision is refused, even with --force.
    let message = refused(url, &["migrate", "stamp", &names[0], "--force"])?;
    assert!(message.contains("never forgets"), "{message}");
    ok(url, &["migrate", "status", "--check"])?;

    // --force records without looking, and says so.
    let db = Database::connect(url).await?;
    db.execute_unprepared("DELETE FROM seaql_migrations")
        .await?;
    db.close().await?;
    let message = ok(url, &["migrate", "stamp", &names[0], "--force"])?;
    assert!(message.contains("WITHOUT checking"), "{message}");
    let status = ok(url, &["migrate", "status"])?;
    assert!(
        status.contains(&format!("1 applied, {} pending", names.len() - 1)),
        "{status}"
    );
    Ok(())
}

#[tokio::test]
async fn stamp_records_a_revision_only_when_the_schema_is_its() -> TestResult {
    let scratch = Scratch::new("stamp").await?;
    let outcome = stamping(&scratch.url).await;
    scratch.drop().await?;
    outcome
}

async fn snapshot_and_counts(url: &str) -> Result<(String, Vec<i64>), Box<dyn std::error::Error>> {
    let db = Database::connect(url).await?;
    let rendered = lifeos_schema::snapshot(&db).await?.render("t");
    let mut counts = Vec::new();
    for table in [
        "\"user\"",
        "role",
        "permission",
        "role_permission",
        "seaql_migrations",
    ] {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT count(*) FROM {table}"),
            ))
            .await?
            .ok_or("no row")?;
        counts.push(row.try_get_by_index::<i64>(0)?);
    }
    db.close().await?;
    Ok((rendered, counts))
}

async fn dry_running(url: &str) -> TestResult {
    // Before the Part 2 migrations: they rebuild tables (SQLite), move rows and seed roles.
    let before_part2 = "m20260101_000002_practice_sessions_database_improvements";
    ok(url, &["migrate", "up", "--to", before_part2])?;
    let db = Database::connect(url).await?;
    db.execute_unprepared(
        "INSERT INTO \"user\" (email, password_hash, is_active, created_at, updated_at) \
         VALUES ('Ada@Example.org', 'h', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    .await?;
    db.close().await?;
    let before = snapshot_and_counts(url).await?;

    let output = ok(url, &["migrate", "up", "--dry-run"])?;
    assert!(output.contains("were rolled back"), "{output}");
    assert!(
        output.to_uppercase().contains("CREATE"),
        "no statement printed:\n{output}"
    );
    assert!(output.contains(" rows"), "no row counts printed:\n{output}");
    assert_eq!(
        snapshot_and_counts(url).await?,
        before,
        "the dry run changed something"
    );

    ok(url, &["migrate", "up"])?;
    let output = ok(url, &["migrate", "up", "--dry-run"])?;
    assert!(output.contains("nothing to apply"), "{output}");
    let message = refused(url, &["migrate", "up", "--dry-run", "--backup", "x"])?;
    assert!(message.contains("cannot be used with"), "{message}");
    Ok(())
}

#[tokio::test]
async fn a_dry_run_prints_the_statements_and_changes_nothing() -> TestResult {
    let scratch = Scratch::new("dry").await?;
    let outcome = dry_running(&scratch.url).await;
    scratch.drop().await?;
    outcome
}

/// Five `lifeos migrate up` at once all succeed and leave every migration applied once. (That
/// no step is applied twice is the migration lock's, proven in `migration/tests/cli.rs`; that a
/// `--to` target is never overshot rests on `lifeos` holding the lock for its whole plan, which
/// plain `up` here cannot tell apart from per-step locking.)
#[tokio::test]
async fn five_lifeos_ups_at_once_take_turns() -> TestResult {
    let scratch = Scratch::new("five").await?;
    let children: Vec<_> = (0..5)
        .map(|_| {
            Command::new(BINARY)
                .args(["migrate", "up"])
                .env("DATABASE_URL", &scratch.url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut failures = Vec::new();
    for child in children {
        let output = child.wait_with_output()?;
        if !output.status.success() {
            failures.push(text(&output));
        }
    }
    let status = ok(&scratch.url, &["migrate", "status", "--check"]);
    scratch.drop().await?;
    assert!(failures.is_empty(), "{failures:#?}");
    let status = status?;
    assert!(
        status.contains(&format!("{} applied, 0 pending, 0 unknown", names().len())),
        "{status}"
    );
    Ok(())
}
