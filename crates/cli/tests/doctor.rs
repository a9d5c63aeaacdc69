//! `lifeos doctor` on a SQLite file and (when `LIFEOS_TEST_POSTGRES_URL` is set) a scratch
//! PostgreSQL database: a clean head database passes; a dropped index, an added column, an
//! orphan row and a practice row under the wrong root are each named; an older revision is
//! compared with what the chain builds there; bad input is a clear failure.

mod common;

use common::*;
use lifeos_migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database, DbBackend};

/// Runs `doctor --json` and returns its report, whatever the exit status.
fn report(url: &str) -> Result<(bool, serde_json::Value), Box<dyn std::error::Error>> {
    let output = lifeos(url, &["doctor", "--json"])?;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("not JSON ({error}): {}", text(&output)))?;
    Ok((output.status.success(), report))
}

#[tokio::test]
async fn a_clean_head_database_passes_and_a_damaged_one_is_named() -> TestResult {
    let scratch = Scratch::new("doctor").await?;
    let url = scratch.url.clone();
    let outcome = async {
        ok(&url, &["migrate", "up"])?;
        practice(&url).await?;
        let clean = ok(&url, &["doctor"])?;
        for check in [
            "migrations",
            "schema",
            "foreign keys",
            "practice root_id",
            "seed names",
        ] {
            assert!(
                clean.contains(&format!("ok      {check}:")),
                "{check} not ok:\n{clean}"
            );
        }
        let (passed, json) = report(&url)?;
        assert!(passed && json["ok"] == true, "{json:#}");

        damage(&url).await?;
        let found = refused(&url, &["doctor"])?;
        for name in [
            "ix_journal_entry_user_mood", // the dropped index (schema and seed names)
            "journal_entry.doctor_extra", // the added column
            "event_record",               // the orphan
            "goals whose root_id",        // the misplaced goal
            "practice sessions whose root_id", // the misfiled session
            "activity instances whose root_id", // its instance
            "activity groups whose root_id", // the group under a non-root
        ] {
            assert!(found.contains(name), "doctor did not name {name}:\n{found}");
        }
        assert!(found.contains("FAIL    seed names"), "{found}");
        let (passed, json) = report(&url)?;
        assert!(!passed && json["ok"] == false, "{json:#}");
        let failed: Vec<&str> = json["checks"]
            .as_array()
            .ok_or("no checks")?
            .iter()
            .filter(|check| check["status"] == "failed")
            .filter_map(|check| check["check"].as_str())
            .collect();
        assert_eq!(
            failed,
            ["schema", "foreign keys", "practice root_id", "seed names"],
            "{json:#}"
        );
        Ok(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

fn literal(backend: DbBackend, id: uuid::Uuid) -> String {
    match backend {
        DbBackend::Postgres => format!("'{id}'"),
        _ => format!("x'{}'", id.simple()),
    }
}

/// A user with a practice tree in every shape the chain allows: a root with a short-term
/// goal, a session filed under the root and linked to it, an immediate goal under the
/// session, an orphan session that is its own root, an activity group and definition with a
/// metric and a split, a template, an instance of the session and a metric value.
async fn practice(url: &str) -> TestResult {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    let [
        root,
        goal,
        session,
        immediate,
        orphan,
        group,
        activity,
        metric,
        split,
        template,
        instance,
        value,
    ] = [(); 12].map(|()| literal(backend, uuid::Uuid::now_v7()));
    for sql in [
        "INSERT INTO \"user\" (email, password_hash) VALUES ('ann@example.com', 'x')".to_owned(),
        format!(
            "INSERT INTO goals (id, user_id, type, name, parent_id, root_id) VALUES \
             ({root}, 1, 'UltimateGoal', 'Music', NULL, {root}), \
             ({goal}, 1, 'ShortTermGoal', 'Scales', {root}, {root}), \
             ({session}, 1, 'PracticeSession', 'Monday', NULL, {root}), \
             ({immediate}, 1, 'ImmediateGoal', 'C major', {session}, {root}), \
             ({orphan}, 1, 'PracticeSession', 'Orphan', NULL, {orphan})"
        ),
        format!(
            "INSERT INTO practice_session_goals (practice_session_id, short_term_goal_id) \
             VALUES ({session}, {goal})"
        ),
        format!(
            "INSERT INTO activity_groups (id, root_id, name) VALUES ({group}, {root}, 'Technique')"
        ),
        format!(
            "INSERT INTO activity_definitions (id, root_id, group_id, name) \
             VALUES ({activity}, {root}, {group}, 'Scales')"
        ),
        format!(
            "INSERT INTO metric_definitions (id, root_id, activity_id, name, unit) \
             VALUES ({metric}, {root}, {activity}, 'Tempo', 'bpm')"
        ),
        format!(
            "INSERT INTO split_definitions (id, root_id, activity_id, name, \"order\") \
             VALUES ({split}, {root}, {activity}, 'Left hand', 1)"
        ),
        format!(
            "INSERT INTO session_templates (id, root_id, name, template_data) \
             VALUES ({template}, {root}, 'Daily', '{{}}')"
        ),
        format!(
            "INSERT INTO activity_instances (id, root_id, practice_session_id, activity_definition_id, \
             local_day) \
             VALUES ({instance}, {root}, {session}, {activity}, '2026-01-01')"
        ),
        format!(
            "INSERT INTO metric_values (id, root_id, activity_instance_id, metric_definition_id, value) \
             VALUES ({value}, {root}, {instance}, {metric}, 120)"
        ),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    db.close().await?;
    Ok(())
}

/// Drops a seed-named index, adds a column, inserts a row whose foreign key points nowhere
/// (bypassing enforcement) and a goal whose root_id is not its root.
async fn damage(url: &str) -> TestResult {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    db.execute_unprepared("DROP INDEX ix_journal_entry_user_mood")
        .await?;
    db.execute_unprepared("ALTER TABLE journal_entry ADD COLUMN doctor_extra INTEGER")
        .await?;
    let (a, b, child) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    let lit = |id: uuid::Uuid| literal(backend, id);
    db.execute_unprepared(&format!(
        "INSERT INTO goals (id, user_id, type, name, root_id) VALUES \
         ({a}, 1, 'UltimateGoal', 'A', {a}), ({b}, 1, 'UltimateGoal', 'B', {b})",
        a = lit(a),
        b = lit(b)
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO goals (id, user_id, type, name, parent_id, root_id) VALUES \
         ({}, 1, 'LongTermGoal', 'under A, rooted in B', {}, {})",
        lit(child),
        lit(a),
        lit(b)
    ))
    .await?;
    // A session filed under A but working on B's short-term goal; an instance of it rooted in
    // B; an activity group rooted in a goal that is not a root.
    let [goal_b, session, group, activity, instance] = [(); 5].map(|()| lit(uuid::Uuid::now_v7()));
    let (a, b) = (lit(a), lit(b));
    for sql in [
        format!(
            "INSERT INTO goals (id, user_id, type, name, parent_id, root_id) VALUES \
             ({goal_b}, 1, 'ShortTermGoal', 'B soon', {b}, {b}), \
             ({session}, 1, 'PracticeSession', 'Misfiled', NULL, {a})"
        ),
        format!(
            "INSERT INTO practice_session_goals (practice_session_id, short_term_goal_id) \
             VALUES ({session}, {goal_b})"
        ),
        format!(
            "INSERT INTO activity_groups (id, root_id, name) VALUES ({group}, {goal_b}, 'Off')"
        ),
        format!(
            "INSERT INTO activity_definitions (id, root_id, name) VALUES ({activity}, {a}, 'Drill')"
        ),
        format!(
            "INSERT INTO activity_instances (id, root_id, practice_session_id, activity_definition_id, \
             local_day) \
             VALUES ({instance}, {b}, {session}, {activity}, '2026-01-01')"
        ),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    let orphan = "INSERT INTO event_record (event_type, user_id) VALUES ('x', 999)";
    match backend {
        DbBackend::Postgres => {
            // Triggers (and so foreign keys) off: what a careless restore does.
            let txn = sea_orm::TransactionTrait::begin(&db).await?;
            txn.execute_unprepared("SET LOCAL session_replication_role = replica")
                .await?;
            txn.execute_unprepared(orphan).await?;
            txn.commit().await?;
        }
        _ => {
            db.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
            db.execute_unprepared(orphan).await?;
        }
    }
    db.close().await?;
    Ok(())
}

#[tokio::test]
async fn an_older_revision_is_compared_with_what_the_chain_builds_there() -> TestResult {
    let scratch = Scratch::new("doctor_old").await?;
    let url = scratch.url.clone();
    let outcome = async {
        let names = names();
        let at = &names[names.len() - 4];
        ok(&url, &["migrate", "up", "--to", at])?;
        let found = refused(&url, &["doctor"])?;
        assert!(found.contains("FAIL    migrations"), "{found}");
        assert!(found.contains(&format!("`{}` is pending", names[names.len() - 1])));
        assert!(
            found.contains(&format!(
                "ok      schema: as the schema the chain builds at {at}"
            )),
            "{found}"
        );
        assert!(found.contains("skipped seed names"), "{found}");
        if let Some((_, database)) = url
            .starts_with("postgres")
            .then(|| url.rsplit_once('/'))
            .flatten()
        {
            // A URL parameter naming the live database must not make it the scratch one
            // (doctor would migrate it).
            for tricky in [
                format!("{url}?dbname={database}"),
                format!("{url}?db%6Eame={database}"),
            ] {
                refused(&tricky, &["doctor"])?;
            }
            let status = refused(&url, &["migrate", "status", "--check"])?;
            assert!(status.contains(names[names.len() - 1].as_str()), "{status}");
            let db = Database::connect(url.as_str()).await?;
            let applied = lifeos_migration::Migrator::get_applied_migrations(&db)
                .await?
                .len();
            db.close().await?;
            assert_eq!(applied, names.len() - 3, "doctor changed the database");
        }

        let db = Database::connect(url.as_str()).await?;
        db.execute_unprepared("DROP INDEX ix_journal_entry_user_mood")
            .await?;
        db.close().await?;
        let found = refused(&url, &["doctor"])?;
        assert!(found.contains("FAIL    schema"), "{found}");
        assert!(found.contains("ix_journal_entry_user_mood"), "{found}");
        Ok(())
    }
    .await;
    scratch.drop().await?;
    outcome
}

#[tokio::test]
async fn an_empty_or_unreachable_database_is_a_clear_failure() -> TestResult {
    let scratch = Scratch::new("doctor_empty").await?;
    let url = scratch.url.clone();
    let outcome = async {
        let found = refused(&url, &["doctor"])?;
        assert!(found.contains("no migration is recorded"), "{found}");
        // Doctor only reads: still no table there.
        let db = Database::connect(url.as_str()).await?;
        let sql = match db.get_database_backend() {
            DbBackend::Postgres => {
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            }
            _ => "SELECT count(*) FROM sqlite_master",
        };
        let tables: i64 = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await?
            .ok_or("no count")?
            .try_get_by_index(0)?;
        assert_eq!(tables, 0);
        db.close().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    scratch.drop().await?;
    outcome?;

    let unreachable = refused(
        "postgres://nobody:secret@127.0.0.1:1/none",
        &["--connect-timeout", "2", "doctor"],
    )?;
    assert!(unreachable.contains("cannot connect"), "{unreachable}");
    assert!(!unreachable.contains("secret"), "{unreachable}");
    let malformed = refused("not a url", &["doctor"])?;
    assert!(malformed.contains("cannot connect"), "{malformed}");
    Ok(())
}
