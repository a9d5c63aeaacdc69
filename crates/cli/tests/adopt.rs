//! `lifeos adopt` on a SQLite file and (when `LIFEOS_TEST_POSTGRES_URL` is set) a scratch
//! PostgreSQL database.
//!
//! Fixtures are original LifeOS databases at each Alembic revision, built from this chain's
//! Part 1 (`lifeos_migration::alembic::build_original`: the equivalent migrations without the
//! Life Graph ones) with Alembic's bookkeeping and rows; since those cannot differ from what
//! adoption expects, one more fixture is reshaped by hand into the original's own form where
//! the migrations' doc comments say it differed. Every adoption must keep every row, end at
//! head with a schema `lifeos doctor` passes, and refuse bad input without changing anything.

mod common;

use common::*;
use lifeos_migration::alembic;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

type Error = Box<dyn std::error::Error>;

/// Builds an original LifeOS database at `revision` in the empty database at `url`, with
/// Alembic's bookkeeping and a few rows in tables every revision has.
async fn original(url: &str, revision: &str) -> Result<(), Error> {
    let db = Database::connect(url).await?;
    alembic::build_original(&db, revision).await?;
    // `20251205_expand_alembic_version` widened the column (on PostgreSQL) for the longer
    // revision ids after it.
    let expanded = alembic::REVISIONS
        .iter()
        .position(|(name, _)| *name == revision)
        .is_some_and(|at| at > 5);
    db.execute_unprepared(&format!(
        "CREATE TABLE alembic_version (version_num VARCHAR({}) NOT NULL, \
         CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
        if expanded { 64 } else { 32 }
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO alembic_version (version_num) VALUES ('{revision}')"
    ))
    .await?;
    for sql in [
        "INSERT INTO \"user\" (email, password_hash, full_name) VALUES \
         ('ann@example.com', 'h1', 'Ann'), ('bob@example.com', 'h2', 'Bob')",
        "INSERT INTO finance_account_category (code, name) VALUES ('ASSET', 'Assets')",
        "INSERT INTO finance_account (user_id, category_id, name) VALUES \
         (1, 1, 'Main checking'), (2, 1, 'Savings')",
        "INSERT INTO finance_journal_entry (user_id, description) VALUES (1, 'Opening balance')",
        "INSERT INTO event_record (event_type, user_id) VALUES ('auth.user.registered', 1)",
    ] {
        db.execute_unprepared(sql).await?;
    }
    db.close().await?;
    Ok(())
}

/// Row counts of the filled tables, and the values spot-checked.
async fn rows(url: &str) -> Result<Vec<String>, Error> {
    let db = Database::connect(url).await?;
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*) FROM \"user\"",
        "SELECT count(*) FROM finance_account_category",
        "SELECT count(*) FROM finance_account",
        "SELECT count(*) FROM finance_journal_entry",
        "SELECT count(*) FROM event_record",
    ] {
        out.push(one::<i64>(&db, sql).await?.to_string());
    }
    for sql in [
        "SELECT email FROM \"user\" WHERE id = 2",
        "SELECT full_name FROM \"user\" WHERE id = 1",
        "SELECT name FROM finance_account WHERE id = 1",
        "SELECT description FROM finance_journal_entry WHERE id = 1",
        "SELECT event_type FROM event_record WHERE id = 1",
    ] {
        out.push(one::<String>(&db, sql).await?);
    }
    db.close().await?;
    Ok(out)
}

async fn one<T: sea_orm::TryGetable>(db: &DatabaseConnection, sql: &str) -> Result<T, Error> {
    Ok(db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| format!("no row from {sql}"))?
        .try_get_by_index(0)?)
}

/// Every table (the bookkeeping ones included), the schema, Alembic's revision and the row
/// counts, to show that a refusal changed nothing.
async fn state(url: &str) -> Result<String, Error> {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    let tables = db
        .query_all_raw(Statement::from_string(
            backend,
            match backend {
                DbBackend::Postgres => {
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = 'public' ORDER BY 1"
                }
                _ => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
            },
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    let revisions = if tables.iter().any(|table| table == "alembic_version") {
        db.query_all_raw(Statement::from_string(
            backend,
            "SELECT version_num FROM alembic_version ORDER BY 1",
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let schema = lifeos_schema::snapshot(&db).await?.render("state");
    db.close().await?;
    Ok(format!(
        "{tables:?}\n{revisions:?}\n{schema}{:?}",
        rows(url).await.ok()
    ))
}

/// Adopts an original database at `revision`: every row kept, head reached, doctor clean.
async fn adopts(revision: &str) -> Result<(), Error> {
    let scratch = Scratch::new("adopt").await?;
    let url = scratch.url.clone();
    let outcome = async {
        original(&url, revision).await?;
        let before = rows(&url).await?;
        let said = ok(&url, &["adopt"]).map_err(|error| format!("adopting {revision}: {error}"))?;
        assert!(
            said.contains(&format!("original LifeOS database at revision {revision}")),
            "{said}"
        );
        assert!(
            said.contains("done: the schema is the head schema"),
            "{said}"
        );
        assert!(said.contains("user: 2 → 2"), "{said}");
        assert_eq!(
            rows(&url).await?,
            before,
            "rows changed adopting {revision}"
        );
        ok(&url, &["doctor"]).map_err(|error| format!("doctor after {revision}: {error}"))?;
        Ok::<_, Error>(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

/// Adopts the revisions in `range` of [`alembic::REVISIONS`], reporting every failure.
async fn adopts_all(range: std::ops::Range<usize>) -> TestResult {
    let mut failures = Vec::new();
    for (revision, _) in &alembic::REVISIONS[range] {
        if let Err(error) = adopts(revision).await {
            failures.push(format!("{revision}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

// Every original revision, in two halves that run side by side.
#[tokio::test]
async fn every_original_revision_is_adopted_with_its_rows_first_half() -> TestResult {
    adopts_all(0..alembic::REVISIONS.len() / 2).await
}

#[tokio::test]
async fn every_original_revision_is_adopted_with_its_rows_second_half() -> TestResult {
    adopts_all(alembic::REVISIONS.len() / 2..alembic::REVISIONS.len()).await
}

/// The last original revision, reshaped by hand where the migrations' doc comments say the
/// original differed from this chain's Part 1.
async fn in_the_originals_own_shape(url: &str) -> Result<(), Error> {
    original(url, "20251221_auth_session_table").await?;
    let db = Database::connect(url).await?;
    match db.get_database_backend() {
        DbBackend::Postgres => {
            // Its "now" defaults were `now()`, not UTC (m20240522 … m20251221 doc comments).
            let columns = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = 'public' AND column_default LIKE '%timezone(''utc''%'",
                ))
                .await?;
            assert!(columns.len() > 20, "only {} UTC defaults", columns.len());
            for row in columns {
                let (table, column): (String, String) =
                    (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
                db.execute_unprepared(&format!(
                    "ALTER TABLE \"{table}\" ALTER COLUMN \"{column}\" SET DEFAULT now()"
                ))
                .await?;
            }
            // Its ids were `serial` (SQLAlchemy's autoincrement), not identity columns.
            let identities = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT c.relname::text, a.attname::text FROM pg_attribute a \
                     JOIN pg_class c ON c.oid = a.attrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = 'public' AND a.attidentity <> ''",
                ))
                .await?;
            assert!(
                identities.len() > 40,
                "only {} identity columns",
                identities.len()
            );
            for row in identities {
                let (table, column): (String, String) =
                    (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
                let sequence = format!("{table}_{column}_seq");
                db.execute_unprepared(&format!(
                    "ALTER TABLE \"{table}\" ALTER COLUMN {column} DROP IDENTITY; \
                     CREATE SEQUENCE \"{sequence}\" OWNED BY \"{table}\".{column}; \
                     SELECT setval('\"{sequence}\"', coalesce(max({column}), 0) + 1, false) \
                     FROM \"{table}\"; \
                     ALTER TABLE \"{table}\" ALTER COLUMN {column} \
                     SET DEFAULT nextval('\"{sequence}\"'::regclass)"
                ))
                .await?;
            }
            // A server in another time zone than UTC.
            db.execute_unprepared(
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', \
                 current_database(), 'Europe/Berlin'); END $$",
            )
            .await?;
            // Its unique rules there were constraints, not indexes.
            for (table, name, columns) in [
                (
                    "calendar_oauth_token",
                    "uq_user_provider",
                    "user_id, provider",
                ),
                (
                    "readmodel_state",
                    "uq_readmodel_state_model_version",
                    "model_name, model_version",
                ),
                ("auth_session", "uq_auth_session_session_id", "session_id"),
            ] {
                db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({columns})"
                ))
                .await?;
            }
        }
        _ => {
            // Its phase-3a foreign keys were created on PostgreSQL only, and
            // `ux_calendar_event_user_external` was not partial on SQLite.
            db.execute_unprepared("PRAGMA writable_schema = ON").await?;
            let calendar = ", FOREIGN KEY (\"calendar_event_id\") REFERENCES \"calendar_event\" (\"id\") ON DELETE SET NULL";
            let user = ", FOREIGN KEY (\"user_id\") REFERENCES \"user\" (\"id\")";
            let mut changed = 0;
            for (tables, key) in [
                (
                    "'finance_transaction', 'health_workout', 'health_nutrition_log', \
                     'skill_practice_session', 'project_task_log', 'relationships_interaction'",
                    calendar,
                ),
                (
                    "'finance_account_category', 'project_task', 'project_task_log', \
                     'skill_practice_session'",
                    user,
                ),
            ] {
                changed += db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        format!(
                            "UPDATE sqlite_master SET sql = replace(sql, ?, '') \
                             WHERE type = 'table' AND name IN ({tables}) AND instr(sql, ?) > 0"
                        ),
                        [key.into(), key.into()],
                    ))
                    .await?
                    .rows_affected();
            }
            assert_eq!(changed, 10, "the ten phase-3a keys");
            // Its boolean defaults were SQLAlchemy's `1` and `0`.
            let booleans = db
                .execute_unprepared(
                    "UPDATE sqlite_master SET sql = replace(replace(sql, \
                     'boolean NOT NULL DEFAULT TRUE', 'boolean NOT NULL DEFAULT 1'), \
                     'boolean NOT NULL DEFAULT FALSE', 'boolean NOT NULL DEFAULT 0') \
                     WHERE type = 'table' AND sql LIKE '%boolean NOT NULL DEFAULT%'",
                )
                .await?
                .rows_affected();
            assert!(booleans > 5, "only {booleans} tables with boolean defaults");
            // Its declared types were SQLAlchemy's, and its ids not AUTOINCREMENT.
            let mut retyped = 0;
            for (ours, theirs) in [
                (" datetime_text", " DATETIME"),
                (" date_text", " DATE"),
                (" json_text", " JSON"),
                (" real(", " NUMERIC("),
                (" PRIMARY KEY AUTOINCREMENT", " PRIMARY KEY"),
            ] {
                retyped += db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) \
                         WHERE type = 'table' AND instr(sql, ?) > 0",
                        [ours.into(), theirs.into(), ours.into()],
                    ))
                    .await?
                    .rows_affected();
            }
            assert!(retyped > 60, "only {retyped} table rewrites");
            // Without AUTOINCREMENT SQLite keeps no counters.
            db.execute_unprepared("DELETE FROM sqlite_sequence").await?;
            db.execute_unprepared("PRAGMA writable_schema = OFF")
                .await?;
            db.close().await?;
            let db = Database::connect(url).await?;
            db.execute_unprepared("DROP INDEX ux_calendar_event_user_external")
                .await?;
            db.execute_unprepared(
                "CREATE UNIQUE INDEX ux_calendar_event_user_external \
                 ON calendar_event (user_id, external_id)",
            )
            .await?;
            db.close().await?;
        }
    }
    // A user whose row is gone; a workout inferred from a calendar event (a table that gains
    // its key on SQLite).
    let db = Database::connect(url).await?;
    db.execute_unprepared(
        "INSERT INTO calendar_event (user_id, title, start_time) \
         VALUES (1, 'Run', '2025-12-20 07:00:00')",
    )
    .await?;
    db.execute_unprepared(
        "INSERT INTO health_workout (user_id, workout_type, intensity, calendar_event_id, \
         confidence_score) VALUES (1, 'run', 'easy', 1, 0.75)",
    )
    .await?;
    db.execute_unprepared(
        "INSERT INTO \"user\" (email, password_hash) VALUES ('carl@example.com', 'h3')",
    )
    .await?;
    db.execute_unprepared("DELETE FROM \"user\" WHERE email = 'carl@example.com'")
        .await?;
    db.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_database_in_the_originals_own_shape_is_adopted() -> TestResult {
    let scratch = Scratch::new("adopt_shape").await?;
    let url = scratch.url.clone();
    let outcome = async {
        in_the_originals_own_shape(&url).await?;
        let before = rows(&url).await?;
        let said = ok(&url, &["adopt"])?;
        eprintln!("{said}"); // shown by `--nocapture`
        let expected: &[&str] = if url.starts_with("postgres") {
            &[
                "warning: this server's time zone is Europe/Berlin",
                "column `user.created_at`: default timezone('utc'",
                "column `user.id`: default identity by default (the original had nextval(",
                "index `uq_user_provider` made a plain unique index",
                "index `uq_auth_session_session_id` made a plain unique index",
            ]
        } else {
            &[
                "table `project_task`: foreign key (user_id) → `user` on delete no action added",
                "table `health_workout`: foreign key (calendar_event_id) → `calendar_event` on delete set null added",
                "index `ux_calendar_event_user_external` re-created",
                "column `user.is_active`: default true (the original had 1)",
                "column `user.created_at`: type datetime_text (the original declared datetime; same values)",
                "table `user`: made AUTOINCREMENT",
            ]
        };
        for line in expected {
            assert!(said.contains(line), "adopt did not report {line}:\n{said}");
        }
        assert_eq!(rows(&url).await?, before);
        ok(&url, &["doctor"])?;
        let db = Database::connect(url.as_str()).await?;
        let workout: String = one(
            &db,
            "SELECT workout_type || ' ' || CAST(calendar_event_id AS TEXT) || ' ' || \
             CAST(confidence_score AS TEXT) FROM health_workout",
        )
        .await?;
        assert_eq!(workout, "run 1 0.75");
        // PostgreSQL: ids go on past the deleted one (3), from the old sequence. SQLite: the
        // original's tables were not AUTOINCREMENT, so SQLite had made 3 free again.
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        db.execute_unprepared(
            "INSERT INTO \"user\" (email, password_hash) VALUES ('dana@example.com', 'h4')",
        )
        .await?;
        let id: i32 = one(&db, "SELECT id FROM \"user\" WHERE email = 'dana@example.com'").await?;
        assert_eq!(id, if postgres { 4 } else { 3 });
        db.close().await?;
        Ok::<_, Error>(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

#[tokio::test]
async fn what_is_not_an_original_database_is_refused_and_left_alone() -> TestResult {
    let scratch = Scratch::new("adopt_refuse").await?;
    let url = scratch.url.clone();
    let outcome = async {
        // Nothing at all.
        let before = state(&url).await?;
        let said = refused(&url, &["adopt"])?;
        assert_eq!(state(&url).await?, before);
        assert!(
            said.contains("not a database of the original LifeOS"),
            "{said}"
        );

        // A Life Graph original (its revisions are 001–006).
        let db = Database::connect(url.as_str()).await?;
        db.execute_unprepared("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            .await?;
        db.execute_unprepared("INSERT INTO alembic_version VALUES ('003')")
            .await?;
        db.close().await?;
        let before = state(&url).await?;
        let said = refused(&url, &["adopt"])?;
        assert_eq!(state(&url).await?, before);
        assert!(
            said.contains("revision `003` is not one of the original LifeOS chain"),
            "{said}"
        );
        assert!(said.contains("Life Graph"), "{said}");

        // Several heads.
        let db = Database::connect(url.as_str()).await?;
        db.execute_unprepared("INSERT INTO alembic_version VALUES ('0001_initial')")
            .await?;
        db.close().await?;
        let said = refused(&url, &["adopt"])?;
        assert!(said.contains("holds 2 revisions"), "{said}");
        let db = Database::connect(url.as_str()).await?;
        db.execute_unprepared("DROP TABLE alembic_version").await?;
        db.close().await?;

        // A database of this chain.
        ok(&url, &["migrate", "up"])?;
        let before = state(&url).await?;
        let said = refused(&url, &["adopt"])?;
        assert!(
            said.contains("already managed by the LifeOS chain"),
            "{said}"
        );
        assert_eq!(state(&url).await?, before);
        Ok::<_, Error>(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

#[tokio::test]
async fn adopting_twice_or_a_schema_that_differs_changes_nothing() -> TestResult {
    let scratch = Scratch::new("adopt_twice").await?;
    let url = scratch.url.clone();
    let outcome = async {
        original(&url, "20251212_health_rework").await?;
        // A column the original never had, and one of its columns gone: differences that
        // matter.
        let db = Database::connect(url.as_str()).await?;
        db.execute_unprepared("ALTER TABLE journal_entry ADD COLUMN mystery INTEGER")
            .await?;
        db.execute_unprepared("ALTER TABLE finance_account DROP COLUMN description")
            .await?;
        db.close().await?;
        let before = state(&url).await?;
        let said = refused(&url, &["adopt"])?;
        assert!(
            said.contains("column `journal_entry.mystery` is not one the original had here"),
            "{said}"
        );
        assert!(
            said.contains("column `finance_account.description` is missing"),
            "{said}"
        );
        assert!(said.contains("nothing was changed"), "{said}");
        assert_eq!(
            state(&url).await?,
            before,
            "a refused adoption changed the database"
        );

        let db = Database::connect(url.as_str()).await?;
        db.execute_unprepared("ALTER TABLE journal_entry DROP COLUMN mystery")
            .await?;
        db.execute_unprepared("ALTER TABLE finance_account ADD COLUMN description TEXT")
            .await?;
        db.close().await?;
        let backup = std::env::temp_dir().join(format!(
            "lifeos_adopt_backup_{}.dump",
            uuid::Uuid::new_v4().simple()
        ));
        let backup_path = backup.to_string_lossy().into_owned();
        let said = ok(&url, &["adopt", "--backup", &backup_path]);
        // The backup holds the database as it was: Alembic's bookkeeping still in it.
        let written = std::fs::read(&backup).unwrap_or_default();
        let _ = std::fs::remove_file(&backup);
        said?;
        assert!(
            written
                .windows(b"alembic_version".len())
                .any(|window| window == b"alembic_version"),
            "no backup of the database before adoption ({} bytes)",
            written.len()
        );
        let adopted = state(&url).await?;
        let said = refused(&url, &["adopt"])?;
        assert!(
            said.contains("already managed by the LifeOS chain"),
            "{said}"
        );
        assert_eq!(state(&url).await?, adopted);
        Ok::<_, Error>(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

#[tokio::test]
async fn rows_the_new_keys_would_orphan_fail_the_adoption_whole() -> TestResult {
    let scratch = Scratch::new("adopt_orphan").await?;
    let url = scratch.url.clone();
    let outcome = async {
        in_the_originals_own_shape(&url).await?;
        let db = Database::connect(url.as_str()).await?;
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
        }
        // On SQLite the original had no key on project_task.user_id; on PostgreSQL the
        // project's own key refuses it, so the orphan goes through the key adoption adds on
        // both: finance_account_category.user_id.
        db.execute_unprepared("ALTER TABLE finance_account_category DROP CONSTRAINT IF EXISTS fk_finance_account_category_user")
            .await
            .ok();
        db.execute_unprepared(
            "INSERT INTO finance_account_category (code, name, user_id) VALUES ('X', 'Orphan', 999)",
        )
        .await?;
        db.close().await?;
        let before = state(&url).await?;
        let said = refused(&url, &["adopt"])?;
        assert!(said.contains("nothing was changed"), "{said}");
        assert!(said.contains("finance_account_category"), "{said}");
        assert_eq!(state(&url).await?, before, "a failed adoption changed the database");
        Ok::<_, Error>(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

#[tokio::test]
async fn rows_whose_keys_already_point_nowhere_are_refused_first() -> TestResult {
    let scratch = Scratch::new("adopt_dangling").await?;
    let url = scratch.url.clone();
    let outcome = async {
        original(&url, lifeos_schema::ORIGINAL_REVISION).await?;
        // A key the original had, with enforcement off (SQLite never enforced; PostgreSQL
        // with triggers disabled).
        let db = Database::connect(url.as_str()).await?;
        let orphan = "INSERT INTO event_record (event_type, user_id) VALUES ('x', 999)";
        if db.get_database_backend() == DbBackend::Postgres {
            let txn = sea_orm::TransactionTrait::begin(&db).await?;
            txn.execute_unprepared("SET LOCAL session_replication_role = replica")
                .await?;
            txn.execute_unprepared(orphan).await?;
            txn.commit().await?;
        } else {
            db.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
            db.execute_unprepared(orphan).await?;
        }
        db.close().await?;
        let before = state(&url).await?;
        let said = refused(&url, &["adopt"])?;
        assert!(said.contains("point nowhere"), "{said}");
        assert!(said.contains("event_record"), "{said}");
        assert!(said.contains("nothing was changed"), "{said}");
        assert_eq!(
            state(&url).await?,
            before,
            "a refused adoption changed the database"
        );
        Ok::<_, Error>(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

#[tokio::test]
async fn an_unreachable_or_malformed_url_is_a_clear_failure() -> TestResult {
    let said = refused(
        "postgres://nobody:secret@127.0.0.1:1/none",
        &["--connect-timeout", "2", "adopt"],
    )?;
    assert!(said.contains("cannot connect"), "{said}");
    assert!(!said.contains("secret"), "{said}");
    let said = refused("mysql//wrong", &["adopt"])?;
    assert!(said.contains("cannot connect"), "{said}");
    Ok(())
}

/// On PostgreSQL, a role that may not create databases: adoption at the last original
/// revision falls back on the checked-in schema, at an older one it refuses, and doctor says
/// it can check an older revision only at head. (SQLite's scratch database is in memory and
/// always available: PostgreSQL only.)
#[tokio::test]
async fn without_createdb_adoption_and_doctor_fall_back_or_say_so() -> TestResult {
    let Some(admin_url) = std::env::var("LIFEOS_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
    else {
        return Ok(());
    };
    let role = "lifeos_test_nocreatedb";
    let admin = Database::connect(admin_url.as_str()).await?;
    admin
        .execute_unprepared(&format!(
            "DO $$ BEGIN CREATE ROLE {role} LOGIN NOCREATEDB; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ))
        .await?;
    let (server, _) = admin_url.rsplit_once('/').ok_or("url with a database")?;
    let (scheme, rest) = server.split_once("://").ok_or("url with a scheme")?;
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    // The checked-in fallback describes PostgreSQL 15 only; elsewhere adoption refuses.
    let version: i32 = admin
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('server_version_num')::int",
        ))
        .await?
        .ok_or("no server version")?
        .try_get_by_index(0)?;
    let mut outcome = Ok(());
    for (revision, adoptable) in [
        (lifeos_schema::ORIGINAL_REVISION, version / 10000 == 15),
        ("20251216_drop_legacy_habits_relationships", false),
    ] {
        let name = format!(
            "lifeos_cli_nocreatedb_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} OWNER {role}"))
            .await?;
        let url = format!("{scheme}://{role}@{host}/{name}");
        let result = async {
            original(&url, revision).await?;
            if adoptable {
                let said = ok(&url, &["adopt"])?;
                assert!(said.contains("as the checked-in schema of"), "{said}");
                assert!(said.contains("CREATEDB"), "{said}");
                ok(&url, &["doctor"])?;
            } else {
                let before = state(&url).await?;
                let said = refused(&url, &["adopt"])?;
                assert!(
                    said.contains("CREATEDB") && said.contains("nothing was changed"),
                    "{said}"
                );
                assert_eq!(state(&url).await?, before);
                // A database of this chain at an older revision: doctor cannot build it.
                let db = Database::connect(url.as_str()).await?;
                db.execute_unprepared("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                    .await?;
                db.close().await?;
                let names = names();
                ok(&url, &["migrate", "up", "--to", &names[names.len() - 2]])?;
                let said = refused(&url, &["doctor"])?;
                assert!(
                    said.contains("skipped schema: can check the schema only at head"),
                    "{said}"
                );
            }
            Ok::<_, Error>(())
        }
        .await;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        outcome = outcome.and(result.map_err(|error| format!("{revision}: {error}")));
    }
    Ok(outcome?)
}
