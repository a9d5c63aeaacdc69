//! The `lifeos-migration` binary: its default database and every subcommand, on SQLite and
//! (when `LIFEOS_TEST_POSTGRES_URL` is set) on a scratch PostgreSQL database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sea_orm_migration::sea_orm::{ConnectionTrait, Database};

const BINARY: &str = env!("CARGO_BIN_EXE_lifeos-migration");

fn run(dir: &Path, database_url: Option<&str>, args: &[&str]) -> std::io::Result<Output> {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .args(args)
        .env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.output()
}

/// Runs the binary and returns its output, failing the calling test if it fails.
#[allow(clippy::expect_used)] // a test helper: the panic is the test's failure
fn ok(dir: &Path, database_url: Option<&str>, args: &[&str]) -> String {
    let output = run(dir, database_url, args).expect("run lifeos-migration");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "lifeos-migration {args:?} failed:\n{text}"
    );
    text
}

fn scratch_dir(label: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("lifeos-cli-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The last migration's name, as `status` prints it.
fn head() -> String {
    use lifeos_migration::{Migrator, MigratorTrait};
    Migrator::migrations()
        .last()
        .map(|migration| migration.name().to_owned())
        .unwrap_or_default()
}

#[allow(clippy::expect_used)] // a test helper: the panic is the test's failure
fn exercise(dir: &Path, url: Option<&str>) {
    let head = head();
    let up = ok(dir, url, &["up"]);
    assert!(
        up.contains(&format!("Migration '{head}' has been applied")),
        "{up}"
    );
    let status = ok(dir, url, &["status"]);
    assert!(
        status.contains(&format!("Migration '{head}'... Applied")),
        "{status}"
    );
    assert!(!status.contains("Pending"), "{status}");

    ok(dir, url, &["down", "-n", "1"]);
    let status = ok(dir, url, &["status"]);
    assert!(
        status.contains(&format!("Migration '{head}'... Pending")),
        "{status}"
    );
    assert_eq!(status.matches("Pending").count(), 1, "{status}");
    ok(dir, url, &["up"]);

    // The chain holds irreversible migrations (the Part 2 cleanup is one), so
    // undoing all of it is refused with a message naming the migration; each migration that
    // was rolled back before the refusal stays rolled back, and `up` re-applies it.
    for verb in ["refresh", "reset"] {
        let output = run(dir, url, &[verb]).expect("run lifeos-migration");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{verb} went through: {stderr}");
        assert!(
            stderr.contains("irreversible migration `m20261101_000001_cleanup_legacy_objects`"),
            "{verb}: {stderr}"
        );
        ok(dir, url, &["up"]);
    }
    ok(dir, url, &["fresh"]);
    let status = ok(dir, url, &["status"]);
    assert!(!status.contains("Pending"), "after fresh: {status}");
}

/// SQLite by default (the binary's default `sqlite://lifeos.db?mode=rwc`, no `DATABASE_URL`);
/// a scratch PostgreSQL database through `DATABASE_URL` when `LIFEOS_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn every_subcommand_works() {
    let dir = scratch_dir("subcommands").expect("scratch dir");
    // Unset or empty means SQLite, as for the testkit.
    let Some(admin_url) = std::env::var("LIFEOS_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
    else {
        exercise(&dir, None);
        assert!(
            dir.join("lifeos.db").exists(),
            "the default database file was not created"
        );
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    let name = format!("lifeos_cli_{}", std::process::id());
    let admin = Database::connect(admin_url.as_str()).await.expect("admin");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop stale");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    let (server, _) = admin_url.rsplit_once('/').expect("url with a database");
    let url = format!("{server}/{name}");
    let outcome = std::panic::catch_unwind(|| {
        exercise(&dir, Some(&url));
        assert!(!dir.join("lifeos.db").exists(), "DATABASE_URL was ignored");
    });
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn a_bad_database_url_fails_with_a_message_and_a_non_zero_exit() {
    let dir = scratch_dir("bad-url").expect("scratch dir");
    let output = run(&dir, Some("nosuchdb://localhost/x"), &["status"]).expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lifeos-migration:"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
