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

/// How many migrations come after `name` in the chain.
fn head_offset(name: &str) -> usize {
    use lifeos_migration::{Migrator, MigratorTrait};
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    names.len()
        - 1
        - names
            .iter()
            .position(|n| n == name)
            .unwrap_or(names.len() - 1)
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

    // The chain holds irreversible migrations (the Part 2 cleanup is one), so undoing all of
    // it — or any range reaching one — is refused up front with a message naming the
    // migration, and nothing is rolled back.
    let above_cleanup = head_offset("m20261101_000001_cleanup_legacy_objects");
    let reaching = format!("{}", above_cleanup + 1);
    for args in [&["refresh"][..], &["reset"], &["down", "-n", &reaching]] {
        let output = run(dir, url, args).expect("run lifeos-migration");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} went through: {stderr}");
        assert!(
            stderr.contains("irreversible migration `m20261101_000001_cleanup_legacy_objects`"),
            "{args:?}: {stderr}"
        );
        let status = ok(dir, url, &["status"]);
        assert!(
            !status.contains("Pending"),
            "{args:?} rolled something back: {status}"
        );
    }
    // Everything above the cleanup can still be rolled back, and re-applied.
    ok(dir, url, &["down", "-n", &above_cleanup.to_string()]);
    let status = ok(dir, url, &["status"]);
    assert_eq!(status.matches("Pending").count(), above_cleanup, "{status}");
    ok(dir, url, &["up"]);
    ok(dir, url, &["fresh"]);
    let status = ok(dir, url, &["status"]);
    assert!(!status.contains("Pending"), "after fresh: {status}");
}

/// The server of `LIFEOS_TEST_POSTGRES_URL`, when set (unset or empty means SQLite, as for
/// the testkit).
fn postgres_server() -> Option<String> {
    std::env::var("LIFEOS_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Runs `body` with the URL of a fresh PostgreSQL database `lifeos_cli_<label>_<pid>` on the
/// server of `admin_url`, dropped afterwards also when `body` panics (then re-raised).
#[allow(clippy::expect_used)] // a test helper: the panic is the test's failure
async fn with_scratch_postgres(admin_url: &str, label: &str, body: impl FnOnce(&str)) {
    let name = format!("lifeos_cli_{label}_{}", std::process::id());
    let admin = Database::connect(admin_url).await.expect("admin");
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
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&url)));
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// SQLite by default (the binary's default `sqlite://lifeos.db?mode=rwc`, no `DATABASE_URL`);
/// a scratch PostgreSQL database through `DATABASE_URL` when `LIFEOS_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn every_subcommand_works() {
    let dir = scratch_dir("subcommands").expect("scratch dir");
    match postgres_server() {
        None => {
            exercise(&dir, None);
            assert!(
                dir.join("lifeos.db").exists(),
                "the default database file was not created"
            );
        }
        Some(admin_url) => {
            with_scratch_postgres(&admin_url, "sub", |url| {
                exercise(&dir, Some(url));
                assert!(!dir.join("lifeos.db").exists(), "DATABASE_URL was ignored");
            })
            .await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
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

/// Five `lifeos-migration up` processes started at once against one fresh database all
/// succeed and leave every migration applied once (the run lock; see `Migrator`).
#[allow(clippy::expect_used)] // a test helper: the panic is the test's failure
fn five_processes_at_once(dir: &Path, url: Option<&str>) {
    let children: Vec<_> = (0..5)
        .map(|_| {
            let mut command = Command::new(BINARY);
            command
                .current_dir(dir)
                .arg("up")
                .env_remove("DATABASE_URL")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            if let Some(url) = url {
                command.env("DATABASE_URL", url);
            }
            command.spawn().expect("spawn lifeos-migration")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait for lifeos-migration");
        assert!(
            output.status.success(),
            "a concurrent `up` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let status = ok(dir, url, &["status"]);
    assert!(!status.contains("Pending"), "{status}");
    let applied = status.matches("... Applied").count();
    assert_eq!(
        applied,
        <lifeos_migration::Migrator as lifeos_migration::MigratorTrait>::migrations().len(),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::expect_used)] // the panics are the test's failures
async fn five_binaries_at_once_apply_each_migration_once() {
    let dir = scratch_dir("five").expect("scratch dir");
    match postgres_server() {
        None => five_processes_at_once(&dir, None),
        Some(admin_url) => {
            with_scratch_postgres(&admin_url, "five", |url| {
                five_processes_at_once(&dir, Some(url));
            })
            .await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A migrator that cannot get the lock within `LIFEOS_MIGRATION_LOCK_TIMEOUT` gives up with a
/// message saying why, and changes nothing.
#[tokio::test]
#[allow(clippy::expect_used)] // the panics are the test's failures
async fn a_migrator_waiting_too_long_for_the_lock_gives_up_clearly() {
    let dir = scratch_dir("lock-timeout").expect("scratch dir");
    let admin_url = postgres_server();
    // Hold the lock another migrator would hold (advisory locks are per database: a
    // scratch one, never the admin database).
    let scratch = format!("lifeos_cli_lock_{}", std::process::id());
    let (url, admin, _holder, _file) = match &admin_url {
        Some(admin_url) => {
            let admin = Database::connect(admin_url.as_str()).await.expect("admin");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
                .await
                .expect("drop stale");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {scratch}"))
                .await
                .expect("create");
            let (server, _) = admin_url.rsplit_once('/').expect("url with a database");
            let url = format!("{server}/{scratch}");
            let holder = Database::connect(url.as_str()).await.expect("holder");
            holder
                .execute_unprepared(&format!(
                    "SELECT pg_advisory_lock({})",
                    lifeos_migration::ADVISORY_LOCK_KEY
                ))
                .await
                .expect("advisory lock");
            (Some(url), Some(admin), Some(holder), None)
        }
        None => {
            let file =
                std::fs::File::create(dir.join("lifeos.db.migrate-lock")).expect("lock file");
            file.lock().expect("lock");
            (None, None, None, Some(file))
        }
    };
    let mut command = Command::new(BINARY);
    command
        .current_dir(&dir)
        .args(["up"])
        .env_remove("DATABASE_URL")
        .env(lifeos_migration::LOCK_TIMEOUT_VAR, "1");
    if let Some(url) = &url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().expect("run lifeos-migration");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(admin) = admin {
        drop(_holder);
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
            .await
            .expect("drop");
    }
    assert!(!output.status.success(), "went through: {stderr}");
    assert!(
        stderr.contains("another migrator still holds the migration lock after 1s"),
        "{stderr}"
    );
}
