//! `lifeos import fractal-goals` on a SQLite file and (when `LIFEOS_TEST_POSTGRES_URL` is
//! set) a scratch PostgreSQL database: a small original-shaped `goals.db` is imported with a
//! count per table, a second run creates nothing, and a file that is not such a database, a
//! missing file and an unknown user are refused with a clear message, writing nothing.

mod common;

use common::*;
use sea_orm::{ConnectionTrait, Database, Statement};

/// A minimal fractal-goals file (Version A, before its improvements): a root, its chain down
/// to a short-term goal, a session linked to it, an activity and one timed instance.
const ORIGINAL: &[&str] = &[
    "CREATE TABLE goals (id VARCHAR NOT NULL PRIMARY KEY, type VARCHAR NOT NULL, \
     name VARCHAR NOT NULL, description VARCHAR, deadline DATETIME, completed BOOLEAN, \
     created_at DATETIME, updated_at DATETIME, parent_id VARCHAR, duration_minutes INTEGER, \
     session_start DATETIME, session_end DATETIME, total_duration_seconds INTEGER, \
     template_id VARCHAR, attributes TEXT, session_data TEXT, targets TEXT)",
    "CREATE TABLE practice_session_goals (practice_session_id VARCHAR NOT NULL, \
     short_term_goal_id VARCHAR NOT NULL, PRIMARY KEY (practice_session_id, short_term_goal_id))",
    "CREATE TABLE activity_groups (id VARCHAR NOT NULL PRIMARY KEY, root_id VARCHAR NOT NULL, \
     name VARCHAR NOT NULL, description VARCHAR, created_at DATETIME, sort_order INTEGER)",
    "CREATE TABLE activity_definitions (id VARCHAR NOT NULL PRIMARY KEY, \
     root_id VARCHAR NOT NULL, name VARCHAR NOT NULL, description VARCHAR, created_at DATETIME, \
     has_sets BOOLEAN, has_metrics BOOLEAN, metrics_multiplicative BOOLEAN, has_splits BOOLEAN, \
     group_id VARCHAR)",
    "CREATE TABLE metric_definitions (id VARCHAR NOT NULL PRIMARY KEY, \
     activity_id VARCHAR NOT NULL, name VARCHAR NOT NULL, unit VARCHAR NOT NULL, \
     created_at DATETIME, deleted_at DATETIME, is_active BOOLEAN, is_top_set_metric BOOLEAN, \
     is_multiplicative BOOLEAN)",
    "CREATE TABLE split_definitions (id VARCHAR NOT NULL PRIMARY KEY, \
     activity_id VARCHAR NOT NULL, name VARCHAR NOT NULL, \"order\" INTEGER NOT NULL, \
     created_at DATETIME)",
    "CREATE TABLE activity_instances (id VARCHAR NOT NULL PRIMARY KEY, \
     practice_session_id VARCHAR NOT NULL, activity_definition_id VARCHAR NOT NULL, \
     created_at DATETIME, time_start DATETIME, time_stop DATETIME, duration_seconds INTEGER)",
    "CREATE TABLE metric_values (id VARCHAR NOT NULL PRIMARY KEY, \
     activity_instance_id VARCHAR NOT NULL, metric_definition_id VARCHAR NOT NULL, \
     split_definition_id VARCHAR, value FLOAT NOT NULL)",
    "CREATE TABLE session_templates (id VARCHAR NOT NULL PRIMARY KEY, name VARCHAR NOT NULL, \
     description VARCHAR, root_id VARCHAR NOT NULL, created_at DATETIME, \
     template_data VARCHAR NOT NULL)",
    "INSERT INTO goals (id, type, name, created_at, parent_id) VALUES \
     ('r', 'UltimateGoal', 'Music', '2025-12-01 10:00:00', NULL), \
     ('l', 'LongTermGoal', 'Piano', '2025-12-01 10:00:00', 'r'), \
     ('m', 'MidTermGoal', 'Grade 5', '2025-12-01 10:00:00', 'l'), \
     ('s', 'ShortTermGoal', 'Scales', '2025-12-01 10:00:00', 'm'), \
     ('p', 'PracticeSession', 'Monday', '2025-12-02 18:00:00', NULL)",
    "INSERT INTO practice_session_goals VALUES ('p', 's')",
    "INSERT INTO activity_definitions (id, root_id, name, created_at) \
     VALUES ('a', 'r', 'Drill', '2025-12-01 10:00:00')",
    "INSERT INTO activity_instances (id, practice_session_id, activity_definition_id, \
     created_at, time_start, time_stop, duration_seconds) VALUES ('i', 'p', 'a', \
     '2025-12-02 18:05:00', '2025-12-02 18:05:00', '2025-12-02 18:15:00', 600)",
];

/// A SQLite file at `path` built by `statements`.
async fn sqlite_file(path: &std::path::Path, statements: &[&str]) -> TestResult {
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display())).await?;
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    db.close().await?;
    Ok(())
}

/// The number `sql` counts in the database at `url`.
async fn count(url: &str, sql: &str) -> Result<i64, Box<dyn std::error::Error>> {
    let db = Database::connect(url).await?;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or("no row")?;
    let counted = row.try_get_by_index(0)?;
    db.close().await?;
    Ok(counted)
}

#[tokio::test]
async fn a_fractal_goals_file_is_imported_once_and_anything_else_is_refused() -> TestResult {
    let scratch = Scratch::new("import").await?;
    let url = scratch.url.clone();
    let folder = std::env::temp_dir().join(format!(
        "lifeos_cli_import_{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&folder)?;
    let outcome = async {
        ok(&url, &["migrate", "up"])?;
        let db = Database::connect(url.as_str()).await?;
        db.execute_unprepared(
            "INSERT INTO \"user\" (email, password_hash) VALUES ('ann@example.com', 'x')",
        )
        .await?;
        db.close().await?;
        // A name with characters a URL would misread.
        let plain = folder.join("goals.db");
        sqlite_file(&plain, ORIGINAL).await?;
        let original = folder.join("goals ?#%20.db");
        std::fs::rename(&plain, &original)?;
        let path = original.to_str().ok_or("a UTF-8 path")?;

        let first = ok(
            &url,
            &["import", "fractal-goals", path, "--user", "Ann@Example.com"],
        )?;
        // A count per table; the second run finds everything there.
        let tables = [
            ("goals", 5),
            ("practice_session_goals", 1),
            ("activity_groups", 0),
            ("activity_definitions", 1),
            ("metric_definitions", 0),
            ("split_definitions", 0),
            ("session_templates", 0),
            ("activity_instances", 1),
            ("metric_values", 0),
        ];
        for (table, rows) in tables {
            let line = format!("  {table}: {rows} created, 0 already there, 0 skipped");
            assert!(first.contains(&line), "{line} missing:\n{first}");
        }
        let again = ok(
            &url,
            &["import", "fractal-goals", path, "--user", "ann@example.com"],
        )?;
        for (table, rows) in tables {
            let line = format!("  {table}: 0 created, {rows} already there, 0 skipped");
            assert!(again.contains(&line), "{line} missing:\n{again}");
        }
        assert_eq!(count(&url, "SELECT count(*) FROM goals").await?, 5);

        let other = folder.join("notes.db");
        sqlite_file(&other, &["CREATE TABLE notes (id INTEGER PRIMARY KEY)"]).await?;
        let refused_file = refused(
            &url,
            &[
                "import",
                "fractal-goals",
                other.to_str().ok_or("a UTF-8 path")?,
                "--user",
                "ann@example.com",
            ],
        )?;
        assert!(
            refused_file.contains("not a fractal-goals database")
                && refused_file.contains("nothing was written"),
            "{refused_file}"
        );
        let text = folder.join("export.csv");
        std::fs::write(&text, "id,name\n1,not a database\n")?;
        let refused_text = refused(
            &url,
            &[
                "import",
                "fractal-goals",
                text.to_str().ok_or("a UTF-8 path")?,
                "--user",
                "ann@example.com",
            ],
        )?;
        assert!(
            refused_text.contains("not a fractal-goals database")
                || refused_text.contains("cannot open"),
            "{refused_text}"
        );
        assert!(refused_text.contains("nothing was"), "{refused_text}");
        let missing = folder.join("missing.db");
        let refused_missing = refused(
            &url,
            &[
                "import",
                "fractal-goals",
                missing.to_str().ok_or("a UTF-8 path")?,
                "--user",
                "ann@example.com",
            ],
        )?;
        assert!(
            refused_missing.contains("no such file"),
            "{refused_missing}"
        );
        assert!(!missing.exists(), "a read-only import created the file");
        let unknown = refused(
            &url,
            &["import", "fractal-goals", path, "--user", "bob@example.com"],
        )?;
        assert!(unknown.contains("no LifeOS user"), "{unknown}");
        assert_eq!(count(&url, "SELECT count(*) FROM goals").await?, 5);
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&folder);
    scratch.drop().await?;
    outcome
}
