//! Data-transforming migrations, proven with rows that exist before they run: each test
//! migrates to the revision before the migration, inserts representative and awkward rows
//! (mixed case and stray spaces, NULLs, non-numeric moods, collisions, orphans), migrates on,
//! and checks the transformed values. On SQLite and, when configured, PostgreSQL.

use lifeos_migration::{Migrator, MigratorTrait};
use lifeos_testkit::{TestDb, migrate_to, migration_names};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// A database at the revision just before `migration`.
async fn before(migration: &str) -> Result<TestDb, DbErr> {
    let names = migration_names();
    let at = names
        .iter()
        .position(|name| name == migration)
        .ok_or_else(|| DbErr::Custom(format!("no migration {migration}")))?;
    match at {
        0 => TestDb::empty().await,
        _ => TestDb::at(&names[at - 1]).await,
    }
}

async fn exec(db: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_string(backend, sql))
        .await
        .map(|_| ())
        .map_err(|e| DbErr::Custom(format!("{sql}: {e}")))
}

/// The rows of `sql`, every column read as optional text (cast it in the query).
async fn rows(db: &DatabaseConnection, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbErr> {
    let backend = db.get_database_backend();
    let result = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    let mut out = Vec::new();
    for row in result {
        let mut values = Vec::new();
        let mut index = 0;
        while let Ok(value) = row.try_get_by_index::<Option<String>>(index) {
            values.push(value);
            index += 1;
        }
        out.push(values);
    }
    Ok(out)
}

fn s(value: &str) -> Option<String> {
    Some(value.to_owned())
}

/// The largest `id` of `table`.
async fn max_id(db: &DatabaseConnection, table: &str) -> Result<i64, DbErr> {
    rows(db, &format!("SELECT CAST(MAX(id) AS TEXT) FROM {table}"))
        .await?
        .first()
        .and_then(|row| row.first())
        .cloned()
        .flatten()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| DbErr::Custom(format!("no id in {table}")))
}

const USER: &str =
    "INSERT INTO \"user\" (id, email, password_hash) VALUES (1, 'a@x', 'h'), (2, 'b@x', 'h')";

#[tokio::test]
async fn account_types_and_normalized_names_are_derived() -> Result<(), DbErr> {
    let db = before("m20251206_000002_finance_account_type_classification").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO finance_account_category (id, code, name, normal_balance) VALUES \
         (1, 'Liabilities', 'Liabilities', 'credit'), (2, 'INCOME', 'Income', 'credit'), \
         (3, 'misc', 'Misc', 'debit')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_account (id, user_id, category_id, name) VALUES \
         (1, 1, 1, '  Credit   CARD '), (2, 1, 2, 'Salary'), (3, 2, 3, 'Main Checking')",
    )
    .await?;
    migrate_to(&db, "m20251206_000002_finance_account_type_classification").await?;
    assert_eq!(
        rows(
            &db,
            "SELECT normalized_name, account_type FROM finance_account ORDER BY id"
        )
        .await?,
        [
            [s("credit card"), s("liability")],
            [s("salary"), s("income")],
            [s("main checking"), s("asset")],
        ]
    );
    Ok(())
}

#[tokio::test]
async fn skill_sessions_get_their_owner_and_duplicate_names_are_kept_apart() -> Result<(), DbErr> {
    let db = before("m20251208_000001_skills_enhancements").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO skill (id, user_id, name, created_at) VALUES \
         (1, 1, 'Guitar', '2024-01-01 10:00:00'), (2, 1, 'Guitar', '2024-01-02 10:00:00'), \
         (3, 2, 'Guitar', '2024-01-03 10:00:00')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO skill_practice_session (skill_id, duration_minutes, practiced_at) VALUES \
         (2, 30, '2024-02-01 08:00:00'), (3, 15, '2024-02-02 08:00:00')",
    )
    .await?;
    migrate_to(&db, "m20251208_000001_skills_enhancements").await?;
    assert_eq!(
        rows(&db, "SELECT name FROM skill ORDER BY id").await?,
        [[s("Guitar")], [s("Guitar (#2)")], [s("Guitar")]]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(user_id AS TEXT), \
             CASE WHEN created_at = practiced_at THEN 'same' ELSE 'different' END \
             FROM skill_practice_session ORDER BY id"
        )
        .await?,
        [[s("1"), s("same")], [s("2"), s("same")]]
    );
    Ok(())
}

#[tokio::test]
async fn journal_moods_become_integers_or_null_and_days_come_from_creation() -> Result<(), DbErr> {
    let db = before("m20251211_000001_journal_enhancements").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO journal_entry (id, user_id, content, mood, created_at) VALUES \
         (1, 1, 'hello', ' 7 ', '2024-03-05 23:10:00'), \
         (2, 1, NULL, 'happy', '2024-03-06 09:00:00'), \
         (3, 1, 'low', '-3', '2024-03-07 09:00:00'), \
         (4, 1, 'none', NULL, '2024-03-08 09:00:00')",
    )
    .await?;
    migrate_to(&db, "m20251211_000001_journal_enhancements").await?;
    assert_eq!(
        rows(
            &db,
            "SELECT body, CAST(mood_int AS TEXT), CAST(entry_date AS TEXT) FROM journal_entry ORDER BY id"
        )
        .await?,
        [
            [s("hello"), s("7"), s("2024-03-05")],
            [s(""), None, s("2024-03-06")],
            [s("low"), s("-3"), s("2024-03-07")],
            [s("none"), None, s("2024-03-08")],
        ]
    );
    // Written between the two migrations: text mood, no bridge value.
    exec(
        &db,
        "INSERT INTO journal_entry (id, user_id, mood, body) VALUES (5, 1, 'sad', 'x'), (6, 1, '12', 'y')",
    )
    .await?;
    migrate_to(&db, "m20251219_000002_phase3a_new_models").await?;
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(mood AS TEXT) FROM journal_entry ORDER BY id"
        )
        .await?,
        [[s("7")], [None], [s("-3")], [None], [None], [s("12")]]
    );
    Ok(())
}

#[tokio::test]
async fn health_rows_keep_their_day_and_calories() -> Result<(), DbErr> {
    let db = before("m20251212_000001_health_rework").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO health_biometric (user_id, metric, value, recorded_at) VALUES \
         (1, 'weight', 80.5, '2024-01-02 08:00:00')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO health_workout (user_id, activity, duration_minutes, calories, performed_at) \
         VALUES (1, 'Running', 30, 300, '2024-01-03 18:00:00')",
    )
    .await?;
    migrate_to(&db, "m20251212_000001_health_rework").await?;
    assert_eq!(
        rows(&db, "SELECT CAST(date AS TEXT) FROM health_biometric").await?,
        [[s("2024-01-02")]]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(date AS TEXT), CAST(CAST(calories_est AS INTEGER) AS TEXT) FROM health_workout"
        )
        .await?,
        [[s("2024-01-03"), s("300")]]
    );
    // phase3a fills the workout type from the legacy activity.
    migrate_to(&db, "m20251219_000002_phase3a_new_models").await?;
    assert_eq!(
        rows(&db, "SELECT workout_type, intensity FROM health_workout").await?,
        [[s("Running"), s("unknown")]]
    );
    Ok(())
}

#[tokio::test]
async fn legacy_habits_and_contacts_are_carried_over_before_the_drop() -> Result<(), DbErr> {
    let db = before("m20251216_000001_drop_legacy_habits_relationships").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO habits_habit (id, user_id, name) VALUES (1, 1, 'Run')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO habit (id, user_id, name, cadence, target, created_at) VALUES \
         (1, 1, 'Run', 'weekly', 3, '2024-01-01 00:00:00'), \
         (2, 2, 'Read', 'daily', 1, '2024-01-01 00:00:00')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO habit_log (habit_id, logged_date, value) VALUES \
         (1, '2024-01-05', 1), (1, '2024-01-06', 2), (2, '2024-01-05', 1)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO relationship_contact (id, user_id, name, email, phone, closeness) VALUES \
         (1, 1, 'Ann', 'ann@x', NULL, 5), (2, 1, 'Bob', NULL, NULL, 0)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO relationship_interaction (contact_id, occurred_at, notes, sentiment) VALUES \
         (1, '2024-02-03 12:00:00', 'lunch', 'good')",
    )
    .await?;
    migrate_to(&db, "m20251216_000001_drop_legacy_habits_relationships").await?;
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(user_id AS TEXT), name, schedule_type, CAST(target_count AS TEXT) \
             FROM habits_habit ORDER BY id"
        )
        .await?,
        [
            [s("1"), s("Run"), s("daily"), None],
            [s("1"), s("Run (legacy #1)"), s("weekly"), s("3")],
            [s("2"), s("Read"), s("daily"), s("1")],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT h.name, CAST(l.logged_date AS TEXT), CAST(l.user_id AS TEXT) \
             FROM habits_habit_log AS l JOIN habits_habit AS h ON h.id = l.habit_id \
             ORDER BY h.name, l.logged_date"
        )
        .await?,
        [
            [s("Read"), s("2024-01-05"), s("2")],
            [s("Run (legacy #1)"), s("2024-01-05"), s("1")],
            [s("Run (legacy #1)"), s("2024-01-06"), s("1")],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT name, CAST(importance_level AS TEXT), notes FROM relationships_person ORDER BY name"
        )
        .await?,
        [
            [s("Ann"), s("5"), s("email: ann@x")],
            [s("Bob"), s("0"), None],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT p.name, CAST(i.date AS TEXT), i.notes, i.sentiment FROM relationships_interaction AS i \
             JOIN relationships_person AS p ON p.id = i.person_id"
        )
        .await?,
        [[s("Ann"), s("2024-02-03"), s("lunch"), s("good")]]
    );
    // New rows still get fresh ids after the explicit ones.
    exec(
        &db,
        "INSERT INTO habits_habit (user_id, name) VALUES (2, 'Swim')",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn categories_get_slugs_base_types_and_system_flags() -> Result<(), DbErr> {
    let db = before("m20251206_000003_finance_account_categories_update").await?;
    exec(
        &db,
        "INSERT INTO finance_account_category (code, name, normal_balance) VALUES \
         ('INCOME', ' Salary & Wages ', 'credit'), ('X1', 'Credit_Cards', 'credit'), \
         ('X2', 'Cash', 'debit'), ('X3', '!!!', 'debit')",
    )
    .await?;
    migrate_to(&db, "m20251206_000003_finance_account_categories_update").await?;
    let system = "CASE WHEN is_system THEN 'yes' ELSE 'no' END";
    assert_eq!(
        rows(
            &db,
            &format!("SELECT slug, base_type, {system} FROM finance_account_category ORDER BY id")
        )
        .await?,
        [
            [s("salary-wages"), s("income"), s("yes")],
            [s("credit-cards"), s("liability"), s("yes")],
            [s("cash"), s("asset"), s("yes")],
            [s("uncategorized"), s("asset"), s("yes")],
        ]
    );
    // A user category inserted without the flag is not a system one.
    exec(
        &db,
        "INSERT INTO \"user\" (id, email, password_hash) VALUES (1, 'a@x', 'h')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_account_category (code, name, user_id, slug) VALUES ('U1', 'Mine', 1, 'mine')",
    )
    .await?;
    assert_eq!(
        rows(
            &db,
            &format!("SELECT {system} FROM finance_account_category WHERE code = 'U1'")
        )
        .await?,
        [[s("no")]]
    );
    Ok(())
}

#[tokio::test]
async fn every_user_gets_the_domain_write_roles_once() -> Result<(), DbErr> {
    let db = before("m20251207_000003_standardize_user_roles").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO role (id, name) VALUES (100, 'health:write')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO user_role (user_id, role_id) VALUES (1, 100)",
    )
    .await?;
    migrate_to(&db, "m20251207_000003_standardize_user_roles").await?;
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(u.user_id AS TEXT), CAST(COUNT(*) AS TEXT) FROM user_role AS u \
             JOIN role AS r ON r.id = u.role_id WHERE r.name LIKE '%:write' \
             GROUP BY u.user_id ORDER BY u.user_id"
        )
        .await?,
        [[s("1"), s("7")], [s("2"), s("7")]]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM role WHERE name LIKE '%:write'"
        )
        .await?,
        [[s("7")]]
    );
    Ok(())
}

#[tokio::test]
async fn phase3a_rounds_scores_and_gives_tasks_their_owner() -> Result<(), DbErr> {
    let db = before("m20251219_000002_phase3a_new_models").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO calendar_event (id, user_id, title, start_time) VALUES (1, 2, 'Gym', '2024-01-01 07:00:00')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO calendar_event_interpretation (calendar_event_id, user_id, domain, record_type, confidence_score) \
         VALUES (1, 2, 'health', 'workout', 0.876)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO project (id, user_id, name) VALUES (1, 2, 'House')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO project_task (id, project_id, title) VALUES (1, 1, 'Paint')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO project_task_log (task_id, note) VALUES (1, 'started')",
    )
    .await?;
    migrate_to(&db, "m20251219_000002_phase3a_new_models").await?;
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(CAST(confidence_score * 100 AS INTEGER) AS TEXT), CAST(classification_data AS TEXT), \
             CAST(tags AS TEXT) FROM calendar_event_interpretation, calendar_event"
        )
        .await?,
        [[s("88"), s("{}"), s("[]")]]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(t.user_id AS TEXT), CAST(l.user_id AS TEXT) FROM project_task AS t \
             JOIN project_task_log AS l ON l.task_id = t.id"
        )
        .await?,
        [[s("2"), s("2")]]
    );
    Ok(())
}

#[tokio::test]
async fn practice_rows_get_their_true_root() -> Result<(), DbErr> {
    let db = before("m20260101_000002_practice_sessions_database_improvements").await?;
    exec(&db, USER).await?;
    let id = |n: u8| format!("'00000000-0000-7000-8000-0000000000{n:02x}'");
    let (r, l, st, p, i, q) = (id(1), id(2), id(3), id(4), id(5), id(6));
    exec(
        &db,
        &format!(
            "INSERT INTO goals (id, user_id, type, name, parent_id, root_id, created_at) VALUES \
             ({r}, 1, 'UltimateGoal', 'Music', NULL, NULL, '2024-01-01 00:00:00'), \
             ({l}, 1, 'LongTermGoal', 'Piano', {r}, NULL, '2024-01-01 00:00:00'), \
             ({st}, 1, 'ShortTermGoal', 'Scales', {l}, NULL, '2024-01-01 00:00:00'), \
             ({p}, 1, 'PracticeSession', 'Monday', NULL, {r}, '2024-01-02 00:00:00'), \
             ({i}, 1, 'ImmediateGoal', 'C major', {p}, NULL, '2024-01-02 00:00:00'), \
             ({q}, 1, 'PracticeSession', 'Orphan', NULL, NULL, '2024-01-03 00:00:00')"
        ),
    )
    .await?;
    let (ad, g1, g2, md, ai, mv) = (id(10), id(11), id(12), id(13), id(14), id(15));
    exec(
        &db,
        &format!(
            "INSERT INTO activity_groups (id, root_id, name, created_at) VALUES \
             ({g1}, {r}, 'Core', '2024-01-01 00:00:00'), ({g2}, {r}, 'Core', '2024-01-02 00:00:00')"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO activity_definitions (id, root_id, name) VALUES ({ad}, {r}, 'Scales')"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO metric_definitions (id, activity_id, name, unit) VALUES ({md}, {ad}, 'Tempo', 'bpm')"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO activity_instances (id, practice_session_id, activity_definition_id, created_at, duration_seconds) \
             VALUES ({ai}, {p}, {ad}, '2024-01-02 10:00:00', -5)"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO metric_values (id, activity_instance_id, metric_definition_id, value) VALUES ({mv}, {ai}, {md}, -2.5)"
        ),
    )
    .await?;
    migrate_to(
        &db,
        "m20260101_000002_practice_sessions_database_improvements",
    )
    .await?;
    let roots = rows(
        &db,
        "SELECT name, CAST(root_id AS TEXT) FROM goals ORDER BY created_at, name",
    )
    .await?;
    let root = |name: &str| {
        roots
            .iter()
            .find(|row| row[0].as_deref() == Some(name))
            .and_then(|row| row[1].clone())
    };
    let music = root("Music");
    assert!(music.is_some());
    for goal in ["Piano", "Scales", "Monday", "C major"] {
        assert_eq!(root(goal), music, "root of {goal}");
    }
    assert_eq!(
        root("Orphan").map(|id| id.replace('-', "")),
        Some("00000000000070008000000000000006".to_owned()),
        "a parentless session without a root is its own root"
    );
    for table in ["activity_instances", "metric_values", "metric_definitions"] {
        assert_eq!(
            rows(&db, &format!("SELECT CAST(root_id AS TEXT) FROM {table}")).await?,
            [[music.clone()]],
            "root of {table}"
        );
    }
    assert_eq!(
        rows(&db, "SELECT name FROM activity_groups ORDER BY created_at").await?,
        [[s("Core")], [s("Core (2)")]]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(duration_seconds AS TEXT), \
             CASE WHEN created_at = updated_at THEN 'same' ELSE 'different' END FROM activity_instances"
        )
        .await?,
        [[None, s("same")]],
        "a negative duration is dropped; updated_at starts at created_at"
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(CAST(v.value * 10 AS INTEGER) AS TEXT) FROM metric_values AS v \
             JOIN activity_instances AS i ON i.created_at = v.created_at"
        )
        .await?,
        [[s("-25")]],
        "values keep their sign and take their instance's time"
    );
    Ok(())
}

#[tokio::test]
async fn practice_constraints_refuse_rows_they_cannot_repair() -> Result<(), DbErr> {
    let db = before("m20260101_000002_practice_sessions_database_improvements").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO goals (id, user_id, type, name, deadline, created_at) VALUES \
         ('00000000-0000-7000-8000-000000000001', 1, 'UltimateGoal', 'Late', \
          '2023-01-01 00:00:00', '2024-01-01 00:00:00')",
    )
    .await?;
    let error = migrate_to(
        &db,
        "m20260101_000002_practice_sessions_database_improvements",
    )
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(error.contains("chk_goals_deadline_future"), "{error}");
    assert_eq!(
        rows(&db, "SELECT CAST(root_id AS TEXT) FROM goals").await?,
        [[None]],
        "nothing of the failed migration stays"
    );
    Ok(())
}

#[tokio::test]
async fn the_cleanup_moves_legacy_values_before_dropping_them() -> Result<(), DbErr> {
    let db = before("m20261101_000001_cleanup_legacy_objects").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO journal_entry (id, user_id, body, tags, content) VALUES \
         (1, 1, 'b', '[\"home\"]', 'old'), (2, 1, '', '[]', 'only legacy')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO journal_tag (id, name) VALUES (1, 'work'), (2, 'home')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO journal_entry_tag (entry_id, tag_id) VALUES (1, 1), (1, 2), (2, 1)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO health_biometric (user_id, metric, value, notes) VALUES \
         (1, 'Weight', 80.5, NULL), (1, 'steps', 10000, 'walked')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO health_nutrition_log (user_id, meal_type, items, calories, protein, fat) VALUES \
         (1, 'lunch', 'salad', 450, 30, NULL)",
    )
    .await?;
    exec(&db, "INSERT INTO skill (user_id, name) VALUES (1, 'Chess')").await?;
    exec(
        &db,
        "INSERT INTO skills_skill (id, user_id, name) VALUES (1, 1, 'Chess'), (2, 1, 'Go')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO skills_skill_practice_session (user_id, skill_id, duration_minutes) VALUES (1, 1, 20), (1, 2, 40)",
    )
    .await?;
    migrate_to(&db, "m20261101_000001_cleanup_legacy_objects").await?;
    let tags = rows(
        &db,
        "SELECT CAST(tags AS TEXT), body FROM journal_entry ORDER BY id",
    )
    .await?;
    let compact: Vec<Vec<Option<String>>> = tags
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| v.map(|t| t.replace(' ', "")))
                .collect()
        })
        .collect();
    assert_eq!(
        compact,
        [
            [s("[\"home\",\"work\"]"), s("b")],
            [s("[\"work\"]"), s("onlylegacy")],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(CAST(weight * 10 AS INTEGER) AS TEXT), notes FROM health_biometric ORDER BY id"
        )
        .await?[0],
        [s("805"), None]
    );
    let steps = rows(
        &db,
        "SELECT notes FROM health_biometric WHERE weight IS NULL",
    )
    .await?;
    let note = steps[0][0].clone().unwrap_or_default();
    assert!(note.starts_with("walked; steps: 10000"), "{note}");
    let meal = rows(
        &db,
        "SELECT items, CAST(CAST(calories_est AS INTEGER) AS TEXT) FROM health_nutrition_log",
    )
    .await?;
    let items = meal[0][0].clone().unwrap_or_default();
    assert!(items.starts_with("salad (protein 30"), "{items}");
    assert!(!items.contains("fat"), "{items}");
    assert_eq!(meal[0][1], s("450"));
    assert_eq!(
        rows(
            &db,
            "SELECT k.name, CAST(p.duration_minutes AS TEXT) FROM skill_practice_session AS p \
             JOIN skill AS k ON k.id = p.skill_id ORDER BY k.name"
        )
        .await?,
        [[s("Chess"), s("20")], [s("Go"), s("40")]]
    );
    Ok(())
}

#[tokio::test]
async fn projects_init_dates_existing_rows_by_their_own_times() -> Result<(), DbErr> {
    let db = before("m20251215_000001_projects_init").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO project (id, user_id, name, created_at) VALUES (1, 1, 'House', '2024-01-01 09:00:00')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO project_task (id, project_id, title, created_at) VALUES (1, 1, 'Paint', '2024-01-02 09:00:00')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO project_task_log (task_id, note, logged_at) VALUES (1, 'done', '2024-01-03 09:00:00')",
    )
    .await?;
    migrate_to(&db, "m20251215_000001_projects_init").await?;
    let same = |table: &str, column: &str, source: &str| {
        format!(
            "SELECT CASE WHEN {column} = {source} THEN 'same' ELSE 'different' END FROM {table}"
        )
    };
    assert_eq!(
        rows(&db, &same("project", "updated_at", "created_at")).await?,
        [[s("same")]]
    );
    assert_eq!(
        rows(&db, &same("project_task", "updated_at", "created_at")).await?,
        [[s("same")]]
    );
    assert_eq!(
        rows(&db, &same("project_task_log", "created_at", "logged_at")).await?,
        [[s("same")]]
    );
    Ok(())
}

#[tokio::test]
async fn ownership_keys_give_sessions_an_owner_and_delete_what_a_user_owns() -> Result<(), DbErr> {
    let db = before("m20261101_000002_ownership_foreign_key_actions").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO skill (id, user_id, name) VALUES (1, 1, 'Chess'), (2, 2, 'Go')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO skill_practice_session (skill_id, user_id, duration_minutes) VALUES (1, NULL, 10), (2, 2, 20)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO journal_entry (user_id, body) VALUES (1, 'a'), (2, 'b')",
    )
    .await?;
    migrate_to(&db, "m20261101_000002_ownership_foreign_key_actions").await?;
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(user_id AS TEXT) FROM skill_practice_session ORDER BY id"
        )
        .await?,
        [[s("1")], [s("2")]]
    );
    exec(&db, "DELETE FROM \"user\" WHERE id = 1").await?;
    for table in ["skill", "skill_practice_session", "journal_entry"] {
        assert_eq!(
            rows(&db, &format!("SELECT CAST(user_id AS TEXT) FROM {table}")).await?,
            [[s("2")]],
            "rows of {table} after deleting user 1"
        );
    }
    Ok(())
}

#[tokio::test]
async fn kernel_services_keep_duplicate_preferences_and_keys_and_seed_access() -> Result<(), DbErr>
{
    let db = before("m20261121_000001_kernel_services").await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO user_preference (user_id, key, value, created_at, updated_at) VALUES \
         (1, 'currency', '\"USD\"', '2024-01-01 00:00:00', '2024-01-01 00:00:00'), \
         (1, 'currency', '\"EUR\"', '2024-01-01 00:00:00', '2024-03-01 00:00:00'), \
         (1, 'currency', '\"GBP\"', '2024-01-01 00:00:00', '2024-02-01 00:00:00'), \
         (2, 'currency', '\"JPY\"', '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO readmodel_state (model_name, model_version, domain, model_type, idempotency_key) \
         VALUES ('a', 'v1', 'finance', 'snapshot', 'k'), ('b', 'v1', 'finance', 'snapshot', 'k')",
    )
    .await?;
    // History created `user` from application code; the migration must not duplicate it.
    exec(&db, "INSERT INTO role (name) VALUES ('user')").await?;
    migrate_to(&db, "m20261121_000001_kernel_services").await?;

    let prefs = rows(
        &db,
        "SELECT CAST(user_id AS TEXT), key, CAST(value AS TEXT) FROM user_preference \
         ORDER BY user_id, key",
    )
    .await?;
    let prefs: Vec<(Option<String>, Option<String>, String)> = prefs
        .into_iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].clone(),
                r[2].clone().unwrap_or_default().replace(' ', ""),
            )
        })
        .collect();
    assert_eq!(prefs.len(), 4, "no preference is lost: {prefs:?}");
    assert!(
        prefs.contains(&(s("1"), s("currency"), "\"EUR\"".into())),
        "the newest keeps the key: {prefs:?}"
    );
    assert!(prefs.contains(&(s("2"), s("currency"), "\"JPY\"".into())));
    assert_eq!(
        prefs
            .iter()
            .filter(|p| p
                .1
                .as_deref()
                .is_some_and(|k| k.starts_with("currency~dup")))
            .count(),
        2
    );
    assert_eq!(
        rows(
            &db,
            "SELECT idempotency_key FROM readmodel_state ORDER BY model_name"
        )
        .await?,
        [vec![s("k")], vec![s("k~dup2")]]
    );
    // The unique keys now hold.
    assert!(
        exec(
            &db,
            "INSERT INTO user_preference (user_id, key) VALUES (1, 'currency')"
        )
        .await
        .is_err()
    );

    let grants = rows(
        &db,
        "SELECT r.name, p.code FROM role_permission AS rp JOIN role AS r ON r.id = rp.role_id \
         JOIN permission AS p ON p.id = rp.permission_id ORDER BY r.name",
    )
    .await?;
    assert_eq!(grants.len(), 10);
    assert!(grants.contains(&vec![s("user"), s("account:write")]));
    assert!(grants.contains(&vec![s("admin"), s("auth:admin")]));
    assert_eq!(
        rows(&db, "SELECT id FROM role WHERE name = 'user'")
            .await?
            .len(),
        1
    );
    assert!(
        rows(&db, "SELECT user_id FROM user_role").await?.is_empty(),
        "nobody is granted anything new"
    );
    Ok(())
}

#[tokio::test]
async fn a_rebuilt_autoincrement_table_never_hands_out_a_deleted_id() -> Result<(), DbErr> {
    // `journal_entry` is `INTEGER PRIMARY KEY AUTOINCREMENT` on SQLite and rebuilt there by
    // the ownership migration; on PostgreSQL its sequence never goes back either.
    let db = before("m20261101_000002_ownership_foreign_key_actions").await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        let definition = rows(
            &db,
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'journal_entry'",
        )
        .await?;
        let definition = definition
            .first()
            .and_then(|row| row.first())
            .cloned()
            .flatten()
            .unwrap_or_default();
        assert!(
            definition.to_uppercase().contains("AUTOINCREMENT"),
            "journal_entry must be AUTOINCREMENT for this test: {definition}"
        );
    }
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO journal_entry (user_id, body) VALUES (1, 'kept')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO journal_entry (user_id, body) VALUES (1, 'deleted')",
    )
    .await?;
    let deleted = max_id(&db, "journal_entry").await?;
    exec(
        &db,
        &format!("DELETE FROM journal_entry WHERE id = {deleted}"),
    )
    .await?;
    Migrator::up(db.conn(), None).await?;
    assert_eq!(
        rows(&db, "SELECT body FROM journal_entry").await?,
        [[s("kept")]]
    );
    exec(
        &db,
        "INSERT INTO journal_entry (user_id, body) VALUES (1, 'new')",
    )
    .await?;
    let new = max_id(&db, "journal_entry").await?;
    assert!(
        new > deleted,
        "a row inserted after the rebuild got id {new}; {deleted} was used (and deleted) before it"
    );
    Ok(())
}

#[tokio::test]
async fn kernel_services_fail_all_but_the_newest_of_several_running_runs() -> Result<(), DbErr> {
    let db = before("m20261121_000001_kernel_services").await?;
    exec(
        &db,
        "INSERT INTO readmodel_state (model_name, model_version, domain, model_type, idempotency_key) \
         VALUES ('a', 'v1', 'finance', 'snapshot', 'ka'), ('b', 'v1', 'finance', 'snapshot', 'kb'), \
         ('c', 'v1', 'finance', 'snapshot', 'kc')",
    )
    .await?;
    // A crashed replayer: three runs of `a` v1 still `running`, the newest one second. A
    // completed run of `a` that is newer still does not count; `b` has one running run; the
    // two running runs of `c` started at the same instant (the higher id is the newest).
    exec(
        &db,
        "INSERT INTO readmodel_run (model_name, model_version, status, started_at) VALUES \
         ('a', 'v1', 'running', '2024-01-01 00:00:00'), \
         ('a', 'v1', 'running', '2024-01-03 00:00:00'), \
         ('a', 'v1', 'running', '2024-01-02 00:00:00'), \
         ('a', 'v1', 'completed', '2024-01-04 00:00:00'), \
         ('b', 'v1', 'running', '2024-01-01 00:00:00'), \
         ('c', 'v1', 'running', '2024-01-05 00:00:00'), \
         ('c', 'v1', 'running', '2024-01-05 00:00:00')",
    )
    .await?;
    Migrator::up(db.conn(), None).await?;
    let superseded = s("superseded by a newer running replay (m20261121_000001_kernel_services)");
    assert_eq!(
        rows(
            &db,
            "SELECT model_name, status, error_message, \
             CASE WHEN completed_at IS NULL THEN 'open' ELSE 'ended' END \
             FROM readmodel_run ORDER BY id"
        )
        .await?,
        [
            [s("a"), s("failed"), superseded.clone(), s("ended")],
            [s("a"), s("running"), None, s("open")],
            [s("a"), s("failed"), superseded.clone(), s("ended")],
            [s("a"), s("completed"), None, s("open")],
            [s("b"), s("running"), None, s("open")],
            [s("c"), s("failed"), superseded, s("ended")],
            [s("c"), s("running"), None, s("open")],
        ]
    );
    // The index now holds.
    assert!(
        exec(
            &db,
            "INSERT INTO readmodel_run (model_name, model_version, status) VALUES ('a', 'v1', 'running')"
        )
        .await
        .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn kernel_hardening_lower_cases_emails_and_finds_them_from_history()
-> Result<(), Box<dyn std::error::Error>> {
    use lifeos_core::identity::{accounts, password_reset};

    let db = before("m20261201_000001_kernel_hardening").await?;
    exec(
        &db,
        "INSERT INTO \"user\" (email, password_hash) VALUES ('Ada@Example.org', 'h'), \
         ('bob@example.org', 'h'), (' Carol@Example.org \t\n', 'h')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO password_reset_token (user_id, jti, expires_at, attempts) \
         SELECT id, 'digest', '2030-01-01 00:00:00', 3 FROM \"user\" WHERE email = 'bob@example.org'",
    )
    .await?;
    Migrator::up(db.conn(), None).await?;
    assert_eq!(
        rows(&db, "SELECT email FROM \"user\" ORDER BY email").await?,
        [
            [s("ada@example.org")],
            [s("bob@example.org")],
            [s("carol@example.org")]
        ]
    );
    assert_eq!(
        rows(&db, "SELECT jti FROM password_reset_token").await?,
        [[s("digest")]]
    );
    // The unique index ignores case, whoever writes.
    assert!(
        exec(
            &db,
            "INSERT INTO \"user\" (email, password_hash) VALUES ('BOB@EXAMPLE.ORG', 'h')"
        )
        .await
        .is_err()
    );
    // The services find the account from history however it is spelled.
    assert!(matches!(
        accounts::register(
            db.conn(),
            accounts::NewAccount {
                email: "ADA@example.org".into(),
                password: "correct horse battery".into(),
                ..Default::default()
            }
        )
        .await,
        Err(lifeos_core::Error::Conflict(_))
    ));
    let reset = password_reset::request(db.conn(), "Ada@Example.org", password_reset::DEFAULT_TTL)
        .await?
        .ok_or("the account from history was not found")?;
    password_reset::consume(db.conn(), &reset.token, "a brand new password").await?;
    let account =
        accounts::authenticate(db.conn(), "Ada@Example.org", "a brand new password").await?;
    assert_eq!(account.email, "ada@example.org");
    Ok(())
}

#[tokio::test]
async fn kernel_hardening_refuses_emails_that_differ_only_by_case() -> Result<(), DbErr> {
    let db = before("m20261201_000001_kernel_hardening").await?;
    exec(
        &db,
        "INSERT INTO \"user\" (email, password_hash) VALUES \
         ('Ada@Example.org', 'h'), ('carol@example.org', 'h'), ('ada@example.org', 'h'), \
         ('ADA@EXAMPLE.ORG', 'h'), ('Dan@x.org', 'h'), ('dan@X.org', 'h')",
    )
    .await?;
    let applied = Migrator::get_applied_migrations(db.conn()).await?.len();
    let error = Migrator::up(db.conn(), None)
        .await
        .err()
        .ok_or_else(|| DbErr::Custom("migrated despite the collisions".into()))?
        .to_string();
    for listed in [
        "Ada@Example.org",
        "ada@example.org",
        "ADA@EXAMPLE.ORG",
        "Dan@x.org",
        "dan@X.org",
        "5 accounts",
    ] {
        assert!(error.contains(listed), "`{listed}` missing from: {error}");
    }
    assert!(!error.contains("carol"), "{error}");
    // Nothing was changed: neither the rows nor the chain.
    assert_eq!(
        Migrator::get_applied_migrations(db.conn()).await?.len(),
        applied
    );
    assert_eq!(
        rows(&db, "SELECT email FROM \"user\" ORDER BY id").await?,
        [
            [s("Ada@Example.org")],
            [s("carol@example.org")],
            [s("ada@example.org")],
            [s("ADA@EXAMPLE.ORG")],
            [s("Dan@x.org")],
            [s("dan@X.org")]
        ]
    );
    Ok(())
}

#[tokio::test]
async fn accounts_get_their_owners_currency_and_active_duplicates_are_renamed() -> Result<(), DbErr>
{
    let migration = "m20261202_000001_finance_chart_of_accounts";
    let db = before(migration).await?;
    exec(
        &db,
        "INSERT INTO \"user\" (id, email, password_hash) VALUES \
         (1, 'ann@example.com', 'x'), (2, 'bob@example.com', 'x'), (3, 'cy@example.com', 'x')",
    )
    .await?;
    // Ann prefers euros, Bob's preference is not a currency code, Cy's is lower-case.
    exec(
        &db,
        "INSERT INTO user_preference (user_id, key, value) VALUES \
         (1, 'currency', '\"EUR\"'), (2, 'currency', '\"euros\"'), (3, 'currency', '\" gbp \"')",
    )
    .await?;
    // 200 characters, 400 once lower-cased (`İ` becomes `i̇`): too long for the column.
    let long = "İ".repeat(200);
    exec(
        &db,
        &format!(
            "INSERT INTO finance_account (id, user_id, name, normalized_name, is_active) VALUES \
             (1, 1, 'Cash', 'cash', true), \
             (2, 1, 'CASH ', 'cash', true), \
             (3, 1, 'cash', 'cash', false), \
             (4, 2, 'Cash', 'cash', true), \
             (5, 3, 'Bank', 'bank', true), \
             (6, 1, 'Cash', 'cash', true), \
             (7, 1, 'Cash (#6)', 'cash (#6)', true), \
             (8, 3, 'Main  Checking', 'main  checking', true), \
             (9, 2, '{long}', 'x', true)"
        ),
    )
    .await?;
    Migrator::up(&*db, Some(1)).await?;
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(id AS TEXT), name, normalized_name, currency, \
             CAST(CASE WHEN is_active THEN 1 ELSE 0 END AS TEXT) FROM finance_account ORDER BY id"
        )
        .await?,
        vec![
            vec![s("1"), s("Cash"), s("cash"), s("EUR"), s("1")],
            vec![s("2"), s("CASH (#2)"), s("cash (#2)"), s("EUR"), s("1")],
            vec![s("3"), s("cash"), s("cash"), s("EUR"), s("0")],
            vec![s("4"), s("Cash"), s("cash"), s("USD"), s("1")],
            vec![s("5"), s("Bank"), s("bank"), s("GBP"), s("1")],
            vec![s("6"), s("Cash (#6-2)"), s("cash (#6-2)"), s("EUR"), s("1")],
            vec![s("7"), s("Cash (#6)"), s("cash (#6)"), s("EUR"), s("1")],
            vec![
                s("8"),
                s("Main  Checking"),
                s("main checking"),
                s("GBP"),
                s("1")
            ],
            vec![
                s("9"),
                Some(format!("{} (#9)", "İ".repeat(125))),
                Some(format!("{} (#9)", "i\u{307}".repeat(125))),
                s("USD"),
                s("1"),
            ],
        ]
    );
    // Each rename is reported to its owner, with the old and new names.
    let reports = rows(
        &db,
        "SELECT CAST(user_id AS TEXT), CAST(payload AS TEXT) FROM event_record \
         WHERE event_type = 'finance.account.renamed' ORDER BY id",
    )
    .await?;
    assert_eq!(reports.len(), 3, "{reports:?}");
    let first = reports[0][1].clone().unwrap_or_default().replace(' ', "");
    assert_eq!(reports[0][0], s("1"));
    assert!(
        first.contains("\"account_id\":2")
            && first.contains("\"old_name\":\"CASH\"")
            && first.contains("\"new_name\":\"CASH(#2)\""),
        "{first}"
    );
    // Now the database refuses a second active "cash" for Ann.
    let again = exec(
        &db,
        "INSERT INTO finance_account (id, user_id, name, normalized_name, is_active) \
         VALUES (9, 1, 'Cash', 'cash', true)",
    )
    .await;
    assert!(
        again
            .as_ref()
            .is_err_and(|error| error.to_string().to_lowercase().contains("unique")),
        "a duplicate active name was accepted: {again:?}"
    );
    Ok(())
}

#[tokio::test]
async fn finance_enumerations_are_mapped_and_duplicates_resolved() -> Result<(), DbErr> {
    let migration = "m20261202_000003_finance_constraints";
    let db = before(migration).await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO finance_account_category \
         (id, user_id, code, name, slug, base_type, normal_balance, is_default, is_system) VALUES \
         (1, NULL, 'S1', 'System', 'system', 'Asset ', 'Debit', false, true), \
         (2, 1, 'C2', 'Wages', 'wages', 'stuff', 'x', false, false), \
         (3, 1, 'C3', 'Odd', 'odd', 'bogus', 'debit', false, false), \
         (4, 1, 'C4', 'Food', 'food', 'expense', 'debit', true, false), \
         (5, 1, 'C5', 'Fun', 'fun', 'expense', 'debit', true, false), \
         (6, 2, 'C6', 'Food', 'food', 'expense', 'debit', true, false), \
         (7, 1, 'C7', 'Cash', 'cash', 'Asset', 'debit', false, false), \
         (8, 1, 'C8', 'Cash', 'cash', 'asset ', 'debit', false, false)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_account \
         (id, user_id, category_id, name, normalized_name, account_type, account_subtype) VALUES \
         (1, 1, 2, 'Pay', 'pay', 'Income', ' SALARY'), \
         (2, 1, NULL, 'Bank', 'bank', 'weird', 'bank'), \
         (3, 1, 3, 'Odd', 'odd', 'nope', ''), \
         (4, 1, NULL, 'Food', 'food', 'expense', 'salary'), \
         (5, 2, NULL, 'Cash', 'cash', 'asset', 'cash'), \
         (6, 1, NULL, 'Card', 'card', 'Liabilities\n', NULL)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_transaction (id, user_id, amount, source, inference_status) VALUES \
         (1, 1, 1, 'Import', NULL), (2, 1, 2, 'bank_feed', 'Pending '), \
         (3, 1, 3, 'api', ''), (4, 2, 4, 'calendar', 'maybe'), (5, 2, 5, 'manual', 'confirmed')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_trial_balance_setting (id, user_id, month, auto_rollup) VALUES \
         (1, 1, '2026-01', true), (2, 1, '2026-01', false), (3, 1, '2026-02', true), \
         (4, 2, '2026-01', true), (5, 1, '2026-3', true), (6, 1, '2026-2 ', false)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_receivable_tracker (id, user_id, counterparty, principal, start_date) \
         VALUES (1, 1, 'Bob', 10, '2026-01-01')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_loan_group (id, user_id, name) VALUES (1, 1, 'Family')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_loan_group_link (id, group_id, tracker_id) VALUES (1, 1, 1), (2, 1, 1)",
    )
    .await?;
    Migrator::up(&*db, Some(1)).await?;

    let flag = |column: &str| format!("CAST(CASE WHEN {column} THEN 1 ELSE 0 END AS TEXT)");
    assert_eq!(
        rows(
            &db,
            &format!(
                "SELECT CAST(id AS TEXT), base_type, normal_balance, {} \
                 FROM finance_account_category ORDER BY id",
                flag("is_default")
            )
        )
        .await?,
        vec![
            vec![s("1"), s("asset"), s("debit"), s("0")],
            vec![s("2"), s("income"), s("credit"), s("0")],
            vec![s("3"), s("asset"), s("debit"), s("0")],
            vec![s("4"), s("expense"), s("debit"), s("0")],
            vec![s("5"), s("expense"), s("debit"), s("1")],
            vec![s("6"), s("expense"), s("debit"), s("1")],
            vec![s("7"), s("asset"), s("debit"), s("0")],
            vec![s("8"), s("asset"), s("debit"), s("0")],
        ]
    );
    // `Asset`/`asset ` and the same slug: the younger category's slug gives way.
    assert_eq!(
        rows(
            &db,
            "SELECT slug FROM finance_account_category WHERE id IN (7, 8) ORDER BY id"
        )
        .await?,
        vec![vec![s("cash")], vec![s("cash-8")]]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(id AS TEXT), account_type, account_subtype FROM finance_account ORDER BY id"
        )
        .await?,
        vec![
            vec![s("1"), s("income"), s("salary")],
            vec![s("2"), s("asset"), s("bank")],
            vec![s("3"), s("asset"), None],
            vec![s("4"), s("expense"), s("other")],
            vec![s("5"), s("asset"), s("cash")],
            vec![s("6"), s("liability"), None],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(id AS TEXT), source, inference_status FROM finance_transaction ORDER BY id"
        )
        .await?,
        vec![
            vec![s("1"), s("import"), None],
            vec![s("2"), s("manual"), s("pending")],
            vec![s("3"), s("api"), None],
            vec![s("4"), s("calendar"), s("pending")],
            vec![s("5"), s("manual"), s("confirmed")],
        ]
    );
    // Every mapped value is reported to its owner (the system category's to no one).
    let mapped = rows(
        &db,
        "SELECT CAST(user_id AS TEXT), CAST(payload AS TEXT) FROM event_record \
         WHERE event_type = 'finance.value.mapped' ORDER BY id",
    )
    .await?;
    assert_eq!(mapped.len(), 21, "{mapped:?}");
    assert_eq!(mapped[0][0], None, "{mapped:?}");
    let first = mapped[0][1].clone().unwrap_or_default().replace(' ', "");
    assert!(
        first.contains("\"column\":\"base_type\"")
            && first.contains("\"from\":\"Asset\"")
            && first.contains("\"to\":\"asset\""),
        "{first}"
    );
    // The newest of duplicate settings stays; the other is reported; one link is left.
    assert_eq!(
        rows(
            &db,
            &format!(
                "SELECT CAST(id AS TEXT), month, {} FROM finance_trial_balance_setting ORDER BY id",
                flag("auto_rollup")
            )
        )
        .await?,
        vec![
            vec![s("2"), s("2026-01"), s("0")],
            vec![s("4"), s("2026-01"), s("1")],
            vec![s("5"), s("2026-03"), s("1")],
            vec![s("6"), s("2026-02"), s("0")],
        ]
    );
    for (event, count) in [
        ("finance.trial_balance_setting.removed", 2),
        ("finance.account_category.default_cleared", 1),
        ("finance.account_category.slug_changed", 1),
    ] {
        let found = rows(
            &db,
            &format!("SELECT CAST(user_id AS TEXT) FROM event_record WHERE event_type = '{event}'"),
        )
        .await?;
        assert_eq!(found, vec![vec![s("1")]; count], "{event}");
    }
    assert_eq!(
        rows(&db, "SELECT CAST(id AS TEXT) FROM finance_loan_group_link").await?,
        vec![vec![s("1")]]
    );

    // The database now refuses what the migration repaired.
    for refused in [
        "UPDATE finance_account SET account_type = 'Asset' WHERE id = 5",
        "UPDATE finance_account SET account_subtype = 'salary' WHERE id = 5",
        "UPDATE finance_account SET account_subtype = 'wages' WHERE id = 4",
        "UPDATE finance_account_category SET normal_balance = 'both' WHERE id = 2",
        "UPDATE finance_account_category SET base_type = 'cash' WHERE id = 2",
        "UPDATE finance_transaction SET source = 'bank_feed' WHERE id = 1",
        "UPDATE finance_transaction SET inference_status = 'maybe' WHERE id = 1",
        "INSERT INTO finance_trial_balance_setting (user_id, month) VALUES (1, '2026-02')",
        "UPDATE finance_account_category SET is_default = true WHERE id = 4",
        "INSERT INTO finance_loan_group_link (group_id, tracker_id) VALUES (1, 1)",
    ] {
        let result = exec(&db, refused).await;
        assert!(result.is_err(), "accepted: {refused}");
    }
    Migrator::down(&*db, Some(1)).await?;
    exec(
        &db,
        "UPDATE finance_transaction SET source = 'bank_feed' WHERE id = 1",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn daily_balances_get_their_currency_and_become_running_balances() -> Result<(), DbErr> {
    let migration = "m20261202_000004_finance_imports_and_schedule";
    let db = before(migration).await?;
    exec(&db, USER).await?;
    exec(
        &db,
        "INSERT INTO user_preference (user_id, key, value) VALUES (1, 'currency', '\" eur \"')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_money_schedule_daily_balance (id, user_id, as_of, balance) VALUES \
         (1, 1, '2026-01-01', 10), (2, 1, '2026-01-01', 11), (3, 1, '2026-01-02', 12), \
         (4, 2, '2026-01-01', 13)",
    )
    .await?;
    Migrator::up(&*db, Some(1)).await?;
    // The owner's currency; of two rows of one day the newest stays (reported); each day's
    // net becomes the running balance from zero, as the original's forecast showed it.
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(id AS TEXT), currency, CAST(as_of AS TEXT), \
             CAST(CAST(round(balance * 100) AS BIGINT) AS TEXT) \
             FROM finance_money_schedule_daily_balance ORDER BY id"
        )
        .await?,
        vec![
            vec![s("2"), s("EUR"), s("2026-01-01"), s("1100")],
            vec![s("3"), s("EUR"), s("2026-01-02"), s("2300")],
            vec![s("4"), s("USD"), s("2026-01-01"), s("1300")],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(user_id AS TEXT) FROM event_record \
             WHERE event_type = 'finance.schedule.daily_balance.removed'"
        )
        .await?,
        vec![vec![s("1")]]
    );
    // The database now refuses a second row for a user, currency and day.
    let again = exec(
        &db,
        "INSERT INTO finance_money_schedule_daily_balance (user_id, as_of, balance, currency) \
         VALUES (1, '2026-01-02', 1, 'EUR')",
    )
    .await;
    assert!(again.is_err(), "a duplicate day was accepted");
    // Imported rows are unique per user and key; rows entered by hand have no key.
    exec(
        &db,
        "INSERT INTO finance_transaction (user_id, amount, dedupe_key) VALUES \
         (1, 1, 'ext:a'), (2, 1, 'ext:a'), (1, 2, NULL), (1, 3, NULL)",
    )
    .await?;
    let twice = exec(
        &db,
        "INSERT INTO finance_transaction (user_id, amount, dedupe_key) VALUES (1, 1, 'ext:a')",
    )
    .await;
    assert!(twice.is_err(), "a duplicate import key was accepted");
    // `down` deletes extra-amount scenario rows (they would read as deltas on no row) and
    // empties the cached projection; deltas stay.
    exec(
        &db,
        "INSERT INTO finance_account (id, user_id, name, normalized_name) VALUES (1, 1, 'A', 'a')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_money_schedule_scenario (id, user_id, name) VALUES (1, 1, 'S')",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO finance_money_schedule_scenario_row \
         (scenario_id, delta_amount, event_date, account_id) VALUES \
         (1, 5, NULL, NULL), (1, 7, '2026-02-01', 1)",
    )
    .await?;
    Migrator::down(&*db, Some(1)).await?;
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(delta_amount AS INTEGER) FROM finance_money_schedule_scenario_row"
        )
        .await
        .map(|rows| rows.len())?,
        1
    );
    assert_eq!(
        rows(&db, "SELECT id FROM finance_money_schedule_daily_balance")
            .await?
            .len(),
        0
    );
    Ok(())
}

#[tokio::test]
async fn practice_history_keeps_one_active_session_and_one_value_per_key() -> Result<(), DbErr> {
    let db = before("m20261203_000001_practice_sessions_services").await?;
    exec(&db, USER).await?;
    let id = |n: u8| format!("'00000000-0000-7000-8000-0000000000{n:02x}'");
    let (r, s1, s2, s3, s4, s5) = (id(1), id(2), id(3), id(4), id(5), id(6));
    exec(
        &db,
        &format!(
            "INSERT INTO goals (id, user_id, type, name, parent_id, root_id, created_at, \
             session_start, session_end, deleted_at) VALUES \
             ({r}, 1, 'UltimateGoal', 'Music', NULL, {r}, '2024-01-01 00:00:00', NULL, NULL, NULL), \
             ({s1}, 1, 'PracticeSession', 'Left open', NULL, {r}, '2024-01-02 00:00:00', \
              '2024-01-02 10:00:00', NULL, NULL), \
             ({s2}, 1, 'PracticeSession', 'Latest', NULL, {r}, '2024-01-02 00:00:00', \
              '2024-01-02 12:00:00', NULL, NULL), \
             ({s3}, 1, 'PracticeSession', 'Ended', NULL, {r}, '2024-01-02 00:00:00', \
              '2024-01-02 08:00:00', '2024-01-02 09:00:00', NULL), \
             ({s4}, 1, 'PracticeSession', 'Deleted', NULL, {r}, '2024-01-02 00:00:00', \
              '2024-01-02 11:00:00', NULL, '2024-01-03 00:00:00'), \
             ({s5}, 1, 'PracticeSession', 'Between', NULL, {r}, '2024-01-02 00:00:00', \
              '2024-01-02 10:30:00', '2024-01-02 11:00:00', NULL)"
        ),
    )
    .await?;
    let (ad, md, sp, sq, ai) = (id(10), id(11), id(12), id(13), id(14));
    exec(
        &db,
        &format!(
            "INSERT INTO activity_definitions (id, root_id, name) VALUES ({ad}, {r}, 'Scales')"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO metric_definitions (id, activity_id, root_id, name, unit) \
             VALUES ({md}, {ad}, {r}, 'Tempo', 'bpm')"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO split_definitions (id, activity_id, root_id, name, \"order\") \
             VALUES ({sp}, {ad}, {r}, 'Left', 0), ({sq}, {ad}, {r}, 'Right', 1)"
        ),
    )
    .await?;
    exec(
        &db,
        &format!(
            "INSERT INTO activity_instances (id, practice_session_id, activity_definition_id, \
             root_id, created_at) VALUES ({ai}, {s2}, {ad}, {r}, '2024-01-02 23:30:00')"
        ),
    )
    .await?;
    // No split: the later update stays. Split Left: same time, the greater id stays. Right:
    // alone.
    exec(
        &db,
        &format!(
            "INSERT INTO metric_values (id, activity_instance_id, metric_definition_id, \
             split_definition_id, root_id, value, updated_at) VALUES \
             ({v1}, {ai}, {md}, NULL, {r}, 1, '2024-01-02 10:00:00'), \
             ({v2}, {ai}, {md}, NULL, {r}, 2, '2024-01-02 11:00:00'), \
             ({v3}, {ai}, {md}, {sp}, {r}, 3, '2024-01-02 10:00:00'), \
             ({v4}, {ai}, {md}, {sp}, {r}, 4, '2024-01-02 10:00:00'), \
             ({v5}, {ai}, {md}, {sq}, {r}, 5, '2024-01-02 10:00:00')",
            v1 = id(21),
            v2 = id(20),
            v3 = id(22),
            v4 = id(23),
            v5 = id(24),
        ),
    )
    .await?;
    migrate_to(&db, "m20261203_000001_practice_sessions_services").await?;

    assert_eq!(
        rows(
            &db,
            &format!(
                "SELECT g.name, CASE WHEN g.session_end IS NULL THEN 'open' \
                 WHEN g.session_end = n.session_start THEN 'closed at the next start' \
                 ELSE 'other' END, CAST(g.total_duration_seconds AS TEXT) \
                 FROM goals g, goals n WHERE n.id = {s5} \
                 AND g.type = 'PracticeSession' ORDER BY g.name"
            ),
        )
        .await?,
        [
            [s("Between"), s("other"), None],
            [s("Deleted"), s("open"), None],
            [s("Ended"), s("other"), None],
            [s("Latest"), s("open"), None],
            // At the start of the next session started (ended or not), with its duration.
            [s("Left open"), s("closed at the next start"), s("1800")],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(CAST(value AS INTEGER) AS TEXT) FROM metric_values ORDER BY value"
        )
        .await?,
        [[s("2")], [s("4")], [s("5")]]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT event_type, CAST(count(*) AS TEXT) FROM event_record \
             WHERE event_type LIKE 'practice.%' GROUP BY event_type ORDER BY event_type"
        )
        .await?,
        [
            [s("practice.metric_value.removed"), s("2")],
            [s("practice.session.closed"), s("1")],
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(local_day AS TEXT) FROM activity_instances"
        )
        .await?,
        [[s("2024-01-02")]]
    );
    // The rule now holds in the database: a second active session of the user is refused.
    let second = exec(
        &db,
        &format!("UPDATE goals SET session_end = NULL WHERE id = {s1}"),
    )
    .await;
    assert!(second.is_err(), "a second active session was accepted");
    let duplicate = exec(
        &db,
        &format!(
            "INSERT INTO metric_values (id, activity_instance_id, metric_definition_id, \
             split_definition_id, root_id, value) VALUES ({}, {ai}, {md}, NULL, {r}, 9)",
            id(30)
        ),
    )
    .await;
    assert!(
        duplicate.is_err(),
        "a second value without a split was accepted (NULLS NOT DISTINCT)"
    );
    Ok(())
}
