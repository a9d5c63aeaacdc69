//! Five migrators started at once against one fresh database — each on its own connection,
//! as five deploys or a service and an operator would be — all succeed, apply every
//! migration exactly once, and end at head: the run lock makes them take turns (see
//! `lifeos_migration::Migrator`). Without it, the later ones re-apply migrations the first
//! already applied and fail.

use lifeos_migration::{Migrator, MigratorTrait};
use lifeos_testkit::TestDb;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbErr, Statement};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A fresh database several processes can open: a temporary SQLite file, or (with
/// `LIFEOS_TEST_POSTGRES_URL`) the test's own PostgreSQL database. The `TestDb` keeps the
/// PostgreSQL database alive; the path is removed by the caller.
async fn fresh_database() -> Result<(TestDb, String, Option<std::path::PathBuf>), DbErr> {
    let db = TestDb::empty().await?;
    match db.postgres_url()? {
        Some(url) => Ok((db, url, None)),
        None => {
            let path = std::env::temp_dir().join(format!(
                "lifeos_migrators_{}.sqlite",
                uuid::Uuid::new_v4().simple()
            ));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            Ok((db, url, Some(path)))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_migrators_at_once_apply_each_migration_once() -> TestResult {
    let (_db, url, file) = fresh_database().await?;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let url = url.clone();
        runs.push(tokio::spawn(async move {
            let mut options = ConnectOptions::new(url);
            options.max_connections(1).sqlx_logging(false);
            let conn = Database::connect(options).await?;
            Migrator::up(&conn, None).await?;
            conn.close().await
        }));
    }
    let mut failures = Vec::new();
    for run in runs {
        if let Err(error) = run.await? {
            failures.push(error.to_string());
        }
    }
    let conn = Database::connect(url.as_str()).await?;
    let applied = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await?
        .len();
    let pending = Migrator::get_pending_migrations(&conn).await?.len();
    conn.close().await?;
    if let Some(path) = file {
        for suffix in ["", "-wal", "-shm", ".migrate-lock"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    assert!(failures.is_empty(), "migrators failed: {failures:#?}");
    assert_eq!(applied, Migrator::migrations().len(), "each migration once");
    assert_eq!(pending, 0);
    Ok(())
}
