//! The fractal-goals import, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL:
//! small original-shaped `goals.db` files built by hand (Version A, with and without the
//! 2026-01-01 improvements) imported for a user — counts per table, every `root_id` the true
//! root (never the file's), ids per user (two users import one file), a re-import that
//! creates nothing, naive times read in the user's zone, duplicate metric values resolved,
//! open sessions closed but one, rows the target's checks would refuse cleaned; files that
//! are not such databases (and unknown users) refused with nothing written; the reads of the
//! target served by indexes; a re-import under rows the user deleted in LifeOS creates its
//! new rows deleted (and a restore leaves them so); escaped NULs dropped from JSON; text in a
//! number column read as missing, not 0; imported instance ids refused to clients.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use lifeos_practice_sessions::entity::goals::{self, GoalType};
use lifeos_practice_sessions::entity::{
    activity_definitions, activity_groups, activity_instances, metric_definitions, metric_values,
    practice_session_goals, session_templates, split_definitions,
};
use lifeos_practice_sessions::service::import::{self, Lookup, Report, TABLES, imported_id};
use lifeos_practice_sessions::service::{sessions, trash};
use lifeos_testkit::TestDb;
use lifeos_testkit::explain::assert_served_by_one_of;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter,
};
use serde_json::json;

mod common;
use common::{count, day, is_invalid, is_not_found, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// A SQLite file in the temporary directory, removed (with its journals) when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!(
            "lifeos_fractal_goals_{}.db",
            Uuid::new_v4().simple()
        )))
    }

    fn url(&self, mode: &str) -> String {
        format!("sqlite://{}?mode={mode}", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One connection to the SQLite database at `url`.
async fn open(url: &str) -> Fallible<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).sqlx_logging(false);
    Ok(Database::connect(options).await?)
}

/// Version A's nine core tables as `models.py` created them before the improvements. No
/// foreign keys: SQLAlchemy never switched SQLite's enforcement on, so real files hold
/// orphans (the rows below include some).
const BASE: &[&str] = &[
    "CREATE TABLE goals (id VARCHAR NOT NULL, type VARCHAR NOT NULL, name VARCHAR NOT NULL, \
     description VARCHAR, deadline DATETIME, completed BOOLEAN, created_at DATETIME, \
     updated_at DATETIME, parent_id VARCHAR, duration_minutes INTEGER, session_start DATETIME, \
     session_end DATETIME, total_duration_seconds INTEGER, template_id VARCHAR, \
     attributes TEXT, session_data TEXT, targets TEXT, PRIMARY KEY (id), \
     CONSTRAINT valid_goal_type CHECK (type IN ('UltimateGoal', 'LongTermGoal', \
     'MidTermGoal', 'ShortTermGoal', 'PracticeSession', 'ImmediateGoal', 'MicroGoal', \
     'NanoGoal')))",
    "CREATE TABLE practice_session_goals (practice_session_id VARCHAR NOT NULL, \
     short_term_goal_id VARCHAR NOT NULL, PRIMARY KEY (practice_session_id, short_term_goal_id))",
    "CREATE TABLE activity_groups (id VARCHAR NOT NULL, root_id VARCHAR NOT NULL, \
     name VARCHAR NOT NULL, description VARCHAR, created_at DATETIME, sort_order INTEGER, \
     PRIMARY KEY (id))",
    "CREATE TABLE activity_definitions (id VARCHAR NOT NULL, root_id VARCHAR NOT NULL, \
     name VARCHAR NOT NULL, description VARCHAR, created_at DATETIME, has_sets BOOLEAN, \
     has_metrics BOOLEAN, metrics_multiplicative BOOLEAN, has_splits BOOLEAN, \
     group_id VARCHAR, PRIMARY KEY (id))",
    "CREATE TABLE metric_definitions (id VARCHAR NOT NULL, activity_id VARCHAR NOT NULL, \
     name VARCHAR NOT NULL, unit VARCHAR NOT NULL, created_at DATETIME, deleted_at DATETIME, \
     is_active BOOLEAN, is_top_set_metric BOOLEAN, is_multiplicative BOOLEAN, \
     PRIMARY KEY (id))",
    "CREATE TABLE split_definitions (id VARCHAR NOT NULL, activity_id VARCHAR NOT NULL, \
     name VARCHAR NOT NULL, \"order\" INTEGER NOT NULL, created_at DATETIME, PRIMARY KEY (id))",
    "CREATE TABLE activity_instances (id VARCHAR NOT NULL, practice_session_id VARCHAR NOT NULL, \
     activity_definition_id VARCHAR NOT NULL, created_at DATETIME, time_start DATETIME, \
     time_stop DATETIME, duration_seconds INTEGER, PRIMARY KEY (id))",
    "CREATE TABLE metric_values (id VARCHAR NOT NULL, activity_instance_id VARCHAR NOT NULL, \
     metric_definition_id VARCHAR NOT NULL, split_definition_id VARCHAR, value FLOAT NOT NULL, \
     PRIMARY KEY (id))",
    "CREATE TABLE session_templates (id VARCHAR NOT NULL, name VARCHAR NOT NULL, \
     description VARCHAR, root_id VARCHAR NOT NULL, created_at DATETIME, \
     template_data VARCHAR NOT NULL, PRIMARY KEY (id))",
];

/// What `migrate_database_improvements.py` and the hotfix added (`STRING`: NUMERIC affinity,
/// as the script wrote it).
const IMPROVEMENTS: &[&str] = &[
    "ALTER TABLE goals ADD COLUMN deleted_at DATETIME",
    "ALTER TABLE goals ADD COLUMN sort_order INTEGER DEFAULT 0",
    "ALTER TABLE goals ADD COLUMN root_id STRING",
    "ALTER TABLE activity_groups ADD COLUMN deleted_at DATETIME",
    "ALTER TABLE activity_groups ADD COLUMN updated_at DATETIME",
    "ALTER TABLE activity_definitions ADD COLUMN deleted_at DATETIME",
    "ALTER TABLE activity_definitions ADD COLUMN updated_at DATETIME",
    "ALTER TABLE metric_definitions ADD COLUMN root_id STRING",
    "ALTER TABLE metric_definitions ADD COLUMN updated_at DATETIME",
    "ALTER TABLE metric_definitions ADD COLUMN sort_order INTEGER DEFAULT 0",
    "ALTER TABLE split_definitions ADD COLUMN root_id STRING",
    "ALTER TABLE split_definitions ADD COLUMN deleted_at DATETIME",
    "ALTER TABLE split_definitions ADD COLUMN updated_at DATETIME",
    "ALTER TABLE activity_instances ADD COLUMN root_id STRING",
    "ALTER TABLE activity_instances ADD COLUMN deleted_at DATETIME",
    "ALTER TABLE activity_instances ADD COLUMN updated_at DATETIME",
    "ALTER TABLE activity_instances ADD COLUMN sort_order INTEGER DEFAULT 0",
    "ALTER TABLE activity_instances ADD COLUMN completed BOOLEAN DEFAULT 0",
    "ALTER TABLE activity_instances ADD COLUMN notes VARCHAR",
    "ALTER TABLE activity_instances ADD COLUMN data VARCHAR",
    "ALTER TABLE metric_values ADD COLUMN root_id STRING",
    "ALTER TABLE metric_values ADD COLUMN created_at DATETIME",
    "ALTER TABLE metric_values ADD COLUMN updated_at DATETIME",
    "ALTER TABLE session_templates ADD COLUMN deleted_at DATETIME",
    "ALTER TABLE session_templates ADD COLUMN updated_at DATETIME",
];

/// The goals of the file of [`rows`]: id, type, name, parent, creation.
#[rustfmt::skip]
const FILE_GOALS: [(&str, &str, &str, Option<&str>, &str); 13] = [
    ("r1", "UltimateGoal", "Piano", None, "2025-06-01 10:00:00.000000"),
    ("l1", "LongTermGoal", "Repertoire", Some("r1"), "2025-06-01 10:05:00.000000"),
    ("s1", "ShortTermGoal", "Chopin", Some("l1"), "2025-06-02 10:00:00.000000"),
    ("s2", "ShortTermGoal", "Scales", Some("l1"), "2025-06-02 10:00:00.000000"),
    ("p1", "PracticeSession", "Evening", None, "2025-12-31 18:00:00.000000"),
    ("i1", "ImmediateGoal", "Warm up", Some("p1"), "2025-12-31 18:01:00.000000"),
    ("p2", "PracticeSession", "Morning", Some("s1"), "2026-01-02 08:59:00.000000"),
    ("p3", "PracticeSession", "Next", None, "2026-01-03 08:59:00.000000"),
    ("r2", "UltimateGoal", "Chess", None, "2025-07-01 10:00:00.000000"),
    ("s3", "ShortTermGoal", "Openings", Some("r2"), "2025-07-01 10:00:00.000000"),
    ("p4", "PracticeSession", "Mixed", None, "2026-01-01 10:00:00.000000"),
    ("x1", "MidTermGoal", "Lost", Some("nowhere"), "2025-06-01 10:00:00.000000"),
    ("p5", "PracticeSession", "Unlinked", None, "2026-01-01 11:00:00.000000"),
];

/// The rows of a file whose ids start with `p`:
/// - roots `r1` (Piano: `l1` → `s1`, `s2`) and `r2` (Chess: `s3`); `l1`'s deadline is before
///   its creation; `x1` hangs under a missing parent;
/// - sessions `p1` (linked to `s1`, `s2`; ended; `i1` under it), `p2` (old style: a parent
///   `s1`, no link; open), `p3` (linked to `s1`; open, the newest), `p4` (linked to goals of
///   both roots), `p5` (linked to nothing); a link of a missing session;
/// - two groups named `Technique`; activities `a1` (metrics `m1`, `m2`, splits `sp1`,
///   `sp2`), `a2`, and `a3` under a missing root; template `t1`;
/// - instances `n1`, `n2` (stops before it starts) in `p1`, `n3` in `p2`, `n4` in `p3`
///   (created at 00:30 on 3 January), `n5` in a missing session;
/// - values: `vz` and `va` of one (instance, metric, split), `vr` without a split, `vl`,
///   `vm` (negative), `vo` of a missing instance.
fn rows(p: &str) -> Vec<String> {
    let mut sql: Vec<String> = FILE_GOALS
        .iter()
        .map(|(id, kind, name, parent, created)| {
            let parent =
                parent.map_or_else(|| "NULL".to_owned(), |parent| format!("'{p}-{parent}'"));
            format!(
                "INSERT INTO goals (id, type, name, parent_id, created_at, completed) \
                 VALUES ('{p}-{id}', '{kind}', '{name}', {parent}, '{created}', 0)"
            )
        })
        .collect();
    sql.extend([
        format!("UPDATE goals SET deadline = '2025-01-01 00:00:00.000000' WHERE id = '{p}-l1'"),
        format!("UPDATE goals SET targets = 'not json' WHERE id = '{p}-r1'"),
        format!(
            "UPDATE goals SET session_start = '2025-12-31 18:04:05.123456', \
             session_end = '2025-12-31 19:00:00.000000', total_duration_seconds = 3355, \
             attributes = '{{\"sections\": []}}' WHERE id = '{p}-p1'"
        ),
        format!(
            "UPDATE goals SET session_start = '2026-01-02 09:00:00.000000' WHERE id = '{p}-p2'"
        ),
        format!(
            "UPDATE goals SET session_start = '2026-01-03 09:00:00.000000' WHERE id = '{p}-p3'"
        ),
    ]);
    for (session, goal) in [
        ("p1", "s1"),
        ("p1", "s2"),
        ("p3", "s1"),
        ("p4", "s1"),
        ("p4", "s3"),
        ("gone", "s1"),
    ] {
        sql.push(format!(
            "INSERT INTO practice_session_goals VALUES ('{p}-{session}', '{p}-{goal}')"
        ));
    }
    sql.extend([
        format!(
            "INSERT INTO activity_groups (id, root_id, name, created_at) VALUES \
             ('{p}-g1', '{p}-r1', 'Technique', '2025-06-01 11:00:00.000000'), \
             ('{p}-g2', '{p}-r1', 'Technique', '2025-06-01 12:00:00.000000')"
        ),
        format!(
            "INSERT INTO activity_definitions (id, root_id, name, created_at, has_sets, \
             has_metrics, metrics_multiplicative, has_splits, group_id) VALUES \
             ('{p}-a1', '{p}-r1', 'Scales', '2025-06-01 11:30:00.000000', 1, 1, 1, 1, '{p}-g1'), \
             ('{p}-a2', '{p}-r1', 'Nocturne', '2025-06-01 11:40:00.000000', 0, 1, 0, 0, NULL), \
             ('{p}-a3', '{p}-nowhere', 'Lost', '2025-06-01 11:50:00.000000', 0, 1, 0, 0, NULL)"
        ),
        format!(
            "INSERT INTO metric_definitions (id, activity_id, name, unit, created_at, is_active, \
             is_top_set_metric, is_multiplicative) VALUES \
             ('{p}-m1', '{p}-a1', 'Tempo', 'bpm', '2025-06-01 11:31:00.000000', 1, 1, 1), \
             ('{p}-m2', '{p}-a1', 'Reps', 'count', '2025-06-01 11:32:00.000000', 1, 0, 1)"
        ),
        format!(
            "INSERT INTO split_definitions (id, activity_id, name, \"order\", created_at) VALUES \
             ('{p}-sp1', '{p}-a1', 'Left', 0, '2025-06-01 11:33:00.000000'), \
             ('{p}-sp2', '{p}-a1', 'Right', 1, '2025-06-01 11:34:00.000000')"
        ),
        format!(
            "INSERT INTO session_templates (id, name, root_id, created_at, template_data) VALUES \
             ('{p}-t1', 'Daily', '{p}-r1', '2025-06-01 12:00:00.000000', '{{\"sections\": []}}')"
        ),
        format!(
            "INSERT INTO activity_instances (id, practice_session_id, activity_definition_id, \
             created_at, time_start, time_stop, duration_seconds) VALUES \
             ('{p}-n1', '{p}-p1', '{p}-a1', '2025-12-31 18:10:00.000000', \
              '2025-12-31 18:10:00.000000', '2025-12-31 18:20:00.000000', 600), \
             ('{p}-n2', '{p}-p1', '{p}-a2', '2025-12-31 18:30:00.000000', \
              '2025-12-31 18:30:00.000000', '2025-12-31 18:25:00.000000', -300), \
             ('{p}-n3', '{p}-p2', '{p}-a1', '2026-01-02 09:05:00.000000', \
              '2026-01-02 09:05:00.000000', '2026-01-02 09:40:00.000000', 2100), \
             ('{p}-n4', '{p}-p3', '{p}-a2', '2026-01-03 00:30:00.000000', NULL, NULL, NULL), \
             ('{p}-n5', '{p}-gone', '{p}-a1', '2025-12-31 18:10:00.000000', NULL, NULL, NULL)"
        ),
        format!(
            "INSERT INTO metric_values (id, activity_instance_id, metric_definition_id, \
             split_definition_id, value) VALUES \
             ('{p}-vz', '{p}-n1', '{p}-m1', '{p}-sp1', 100), \
             ('{p}-va', '{p}-n1', '{p}-m1', '{p}-sp1', 120), \
             ('{p}-vr', '{p}-n1', '{p}-m2', NULL, 5), \
             ('{p}-vl', '{p}-n1', '{p}-m1', '{p}-sp2', 90), \
             ('{p}-vm', '{p}-n1', '{p}-m2', '{p}-sp1', -2.5), \
             ('{p}-vo', '{p}-gone', '{p}-m1', NULL, 1)"
        ),
    ]);
    sql
}

/// The improvements' values: wrong `root_id`s everywhere (they must not be read), `s2`
/// deleted, `va` updated after `vz`, `n1`'s hotfix columns.
fn improved_rows(p: &str) -> Vec<String> {
    let mut sql: Vec<String> = [
        "goals",
        "metric_definitions",
        "split_definitions",
        "activity_instances",
        "metric_values",
    ]
    .iter()
    .map(|table| format!("UPDATE {table} SET root_id = 'bogus'"))
    .collect();
    sql.extend([
        format!("UPDATE goals SET deleted_at = '2026-01-01 12:00:00.000000' WHERE id = '{p}-s2'"),
        format!(
            "UPDATE metric_values SET created_at = '2026-01-01 10:00:00.000000', \
             updated_at = '2026-01-01 10:00:00.000000' WHERE id = '{p}-vz'"
        ),
        format!(
            "UPDATE metric_values SET created_at = '2026-01-01 10:00:00.000000', \
             updated_at = '2026-01-01 11:00:00.000000' WHERE id = '{p}-va'"
        ),
        format!(
            "UPDATE activity_instances SET notes = 'steady', completed = 1, \
             data = '{{\"sets\": [1, 2]}}' WHERE id = '{p}-n1'"
        ),
    ]);
    sql
}

/// Writes a fractal-goals file at `file` whose ids start with `prefix`, with or without the
/// improvements' columns.
async fn build(file: &TempFile, prefix: &str, improved: bool) -> TestResult {
    let db = open(&file.url("rwc")).await?;
    for sql in BASE {
        db.execute_unprepared(sql).await?;
    }
    if improved {
        for sql in IMPROVEMENTS {
            db.execute_unprepared(sql).await?;
        }
    }
    for sql in rows(prefix) {
        db.execute_unprepared(&sql).await?;
    }
    if improved {
        for sql in improved_rows(prefix) {
            db.execute_unprepared(&sql).await?;
        }
    }
    db.close().await?;
    Ok(())
}

/// A file built by [`build`], opened read-only as the CLI opens it.
async fn fractal_file(prefix: &str, improved: bool) -> Fallible<(TempFile, DatabaseConnection)> {
    let file = TempFile::new();
    build(&file, prefix, improved).await?;
    let source = open(&file.url("ro")).await?;
    Ok((file, source))
}

/// Imports `source` for `owner`, ignoring progress.
async fn import_for(
    db: &DatabaseConnection,
    source: &DatabaseConnection,
    owner: UserId,
) -> lifeos_practice_sessions::Result<Report> {
    import::fractal_goals(source, db, owner, &mut |_: &'static str, _: u64, _: u64| {}).await
}

/// Counts per table, in the order of [`TABLES`].
fn per_table(counts: [u64; 9]) -> BTreeMap<&'static str, u64> {
    TABLES.iter().copied().zip(counts).collect()
}

/// A first import of the file of [`rows`]: goals, links, groups, definitions, metrics,
/// splits, templates, instances, values.
const CREATED: [u64; 9] = [10, 4, 2, 2, 2, 2, 1, 4, 4];
/// `p4`, `x1`, `p5`; the links of `p4` and of a missing session; `a3`; `n5`; `vz` or `va`
/// (the older), `vo`.
const SKIPPED: [u64; 9] = [3, 3, 0, 1, 0, 0, 0, 1, 2];
/// `l1`'s deadline, `p2`'s parent; `g2`'s name; `n2`'s stop.
const CLEANED: [u64; 9] = [2, 0, 1, 0, 0, 0, 0, 1, 0];

fn assert_first_import(report: &Report) {
    assert_eq!(report.created, per_table(CREATED), "created");
    assert_eq!(report.existing, per_table([0; 9]), "existing");
    assert_eq!(report.skipped, per_table(SKIPPED), "skipped");
    assert_eq!(report.cleaned, per_table(CLEANED), "cleaned");
}

/// Every practice table: what a refused import must leave as it is.
async fn written(db: &DatabaseConnection) -> Fallible<Vec<i64>> {
    rows_in(db, &TABLES).await
}

fn at(text: &str) -> Fallible<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

async fn goal(db: &DatabaseConnection, owner: UserId, original: &str) -> Fallible<goals::Model> {
    goals::Entity::find_by_id(imported_id(owner, "goals", original))
        .one(db)
        .await?
        .ok_or_else(|| format!("no goal {original}").into())
}

async fn instance(
    db: &DatabaseConnection,
    owner: UserId,
    original: &str,
) -> Fallible<activity_instances::Model> {
    activity_instances::Entity::find_by_id(imported_id(owner, "activity_instances", original))
        .one(db)
        .await?
        .ok_or_else(|| format!("no instance {original}").into())
}

/// The value of (instance, metric, split), which must be the only one.
async fn value(
    db: &DatabaseConnection,
    owner: UserId,
    p: &str,
    (instance, metric, split): (&str, &str, &str),
) -> Fallible<f64> {
    let rows = metric_values::Entity::find()
        .filter(metric_values::Column::ActivityInstanceId.eq(imported_id(
            owner,
            "activity_instances",
            &format!("{p}-{instance}"),
        )))
        .filter(metric_values::Column::MetricDefinitionId.eq(imported_id(
            owner,
            "metric_definitions",
            &format!("{p}-{metric}"),
        )))
        .filter(metric_values::Column::SplitDefinitionId.eq(imported_id(
            owner,
            "split_definitions",
            &format!("{p}-{split}"),
        )))
        .all(db)
        .await?;
    match rows.as_slice() {
        [only] => Ok(only.value),
        other => Err(format!("{} values of ({instance}, {metric}, {split})", other.len()).into()),
    }
}

/// The number of active sessions of `owner`.
async fn active(db: &DatabaseConnection, owner: UserId) -> Fallible<i64> {
    count(
        db,
        &format!(
            "SELECT count(*) FROM goals WHERE user_id = {} AND type = 'PracticeSession' \
             AND session_start IS NOT NULL AND session_end IS NULL AND deleted_at IS NULL",
            owner.0
        ),
    )
    .await
}

/// The true root of `goal`: walk `parent_id` to the top; a session's is the one root of the
/// goals it is linked to.
fn true_root<'a>(
    goal: &'a goals::Model,
    by_id: &HashMap<Uuid, &'a goals::Model>,
    links: &[practice_session_goals::Model],
) -> Fallible<Uuid> {
    let mut current = goal;
    for _ in 0..=64 {
        if current.goal_type == GoalType::PracticeSession {
            let mut roots = BTreeSet::new();
            for link in links
                .iter()
                .filter(|link| link.practice_session_id == current.id)
            {
                let linked = by_id
                    .get(&link.short_term_goal_id)
                    .ok_or("a link to a missing goal")?;
                roots.insert(true_root(linked, by_id, links)?);
            }
            let mut roots = roots.into_iter();
            return match (roots.next(), roots.next()) {
                (Some(root), None) => Ok(root),
                _ => Err(format!("session {} has not one root", current.name).into()),
            };
        }
        match current.parent_id {
            None => return Ok(current.id),
            Some(parent) => current = *by_id.get(&parent).ok_or("a missing parent")?,
        }
    }
    Err(format!("goal {} is too deep", goal.name).into())
}

/// Every practice row of the database carries its true root: goals as [`true_root`] walks
/// them; instances their session's, values their instance's, metric and split definitions
/// their activity's; groups, definitions and templates a root goal (parentless, not a
/// session).
async fn assert_true_roots(db: &DatabaseConnection) -> TestResult {
    let goals = goals::Entity::find().all(db).await?;
    let by_id: HashMap<Uuid, &goals::Model> = goals.iter().map(|goal| (goal.id, goal)).collect();
    let links = practice_session_goals::Entity::find().all(db).await?;
    for goal in &goals {
        assert_eq!(
            goal.root_id,
            true_root(goal, &by_id, &links)?,
            "goal {}",
            goal.name
        );
        if goal.goal_type == GoalType::PracticeSession {
            assert_eq!(goal.parent_id, None, "session {}", goal.name);
        }
    }
    let roots: BTreeSet<Uuid> = goals
        .iter()
        .filter(|goal| goal.parent_id.is_none() && goal.goal_type != GoalType::PracticeSession)
        .map(|goal| goal.id)
        .collect();
    let root_of = |id: Uuid| by_id.get(&id).map(|goal| goal.root_id);
    for group in activity_groups::Entity::find().all(db).await? {
        assert!(roots.contains(&group.root_id), "group {}", group.name);
    }
    let definitions = activity_definitions::Entity::find().all(db).await?;
    let definition_roots: HashMap<Uuid, Uuid> = definitions
        .iter()
        .map(|definition| (definition.id, definition.root_id))
        .collect();
    for definition in &definitions {
        assert!(
            roots.contains(&definition.root_id),
            "definition {}",
            definition.name
        );
    }
    for metric in metric_definitions::Entity::find().all(db).await? {
        assert_eq!(
            Some(&metric.root_id),
            definition_roots.get(&metric.activity_id),
            "metric {}",
            metric.name
        );
    }
    for split in split_definitions::Entity::find().all(db).await? {
        assert_eq!(
            Some(&split.root_id),
            definition_roots.get(&split.activity_id),
            "split {}",
            split.name
        );
    }
    for template in session_templates::Entity::find().all(db).await? {
        assert!(
            roots.contains(&template.root_id),
            "template {}",
            template.name
        );
    }
    let instances = activity_instances::Entity::find().all(db).await?;
    let instance_roots: HashMap<Uuid, Uuid> = instances
        .iter()
        .map(|instance| (instance.id, instance.root_id))
        .collect();
    for instance in &instances {
        assert_eq!(
            Some(instance.root_id),
            root_of(instance.practice_session_id)
        );
        assert_eq!(
            Some(&instance.root_id),
            definition_roots.get(&instance.activity_definition_id)
        );
    }
    for value in metric_values::Entity::find().all(db).await? {
        assert_eq!(
            Some(&value.root_id),
            instance_roots.get(&value.activity_instance_id)
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_improved_file_is_imported_with_true_roots_and_local_times() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    db.execute_unprepared(&format!(
        "UPDATE \"user\" SET timezone = 'Europe/Berlin' WHERE id = {}",
        ann.0
    ))
    .await?;
    let (_file, source) = fractal_file("a", true).await?;

    let mut calls = Vec::new();
    let report = import::fractal_goals(
        &source,
        db.conn(),
        ann,
        &mut |table: &'static str, done: u64, total: u64| calls.push((table, done, total)),
    )
    .await?;
    assert_first_import(&report);
    assert_eq!(report.closed, 1, "p2 closed, p3 open");
    // Progress: every table, from 0 to its number of rows.
    for (table, created) in TABLES.iter().zip(CREATED) {
        let mine: Vec<_> = calls.iter().filter(|(name, _, _)| name == table).collect();
        assert_eq!(
            mine.first().map(|call| (call.1, call.2)),
            Some((0, created)),
            "{table}"
        );
        assert_eq!(
            mine.last().map(|call| (call.1, call.2)),
            Some((created, created)),
            "{table}"
        );
    }
    assert_true_roots(&db).await?;

    // Roots, computed: r2's tree is its own; everything else is r1's.
    let r1 = imported_id(ann, "goals", "a-r1");
    let r2 = imported_id(ann, "goals", "a-r2");
    for (original, root) in [
        ("a-r1", r1),
        ("a-l1", r1),
        ("a-s2", r1),
        ("a-p1", r1),
        ("a-i1", r1),
        ("a-p2", r1),
        ("a-r2", r2),
        ("a-s3", r2),
    ] {
        assert_eq!(goal(&db, ann, original).await?.root_id, root, "{original}");
    }
    // Naive times are Berlin time (CET, UTC+1).
    let p1 = goal(&db, ann, "a-p1").await?;
    assert_eq!(p1.session_start, Some(at("2025-12-31T17:04:05.123456Z")?));
    assert_eq!(p1.session_end, Some(at("2025-12-31T18:00:00Z")?));
    assert_eq!(p1.created_at, at("2025-12-31T17:00:00Z")?);
    assert_eq!(p1.attributes, Some(json!({"sections": []})));
    assert_eq!(p1.user_id, ann);
    let n4 = instance(&db, ann, "a-n4").await?;
    assert_eq!(n4.created_at, at("2026-01-02T23:30:00Z")?);
    assert_eq!(n4.local_day, day(2026, 1, 3)?, "the user's day, not UTC's");
    // One active session: p3; p2 ends at its instance's stop (09:40 local).
    let p2 = goal(&db, ann, "a-p2").await?;
    assert_eq!(p2.session_end, Some(at("2026-01-02T08:40:00Z")?));
    assert_eq!(p2.parent_id, None);
    assert_eq!(goal(&db, ann, "a-p3").await?.session_end, None);
    assert_eq!(active(&db, ann).await?, 1);
    let linked = practice_session_goals::Entity::find()
        .filter(practice_session_goals::Column::PracticeSessionId.eq(p2.id))
        .all(&*db)
        .await?;
    assert_eq!(
        linked
            .iter()
            .map(|link| link.short_term_goal_id)
            .collect::<Vec<_>>(),
        vec![imported_id(ann, "goals", "a-s1")],
        "the old-style parent became a link"
    );
    // Cleaned and kept values.
    assert_eq!(goal(&db, ann, "a-l1").await?.deadline, None);
    assert_eq!(
        goal(&db, ann, "a-r1").await?.targets,
        Some(json!("not json"))
    );
    let s2 = goal(&db, ann, "a-s2").await?;
    assert_eq!(s2.deleted_at, Some(at("2026-01-01T11:00:00Z")?));
    assert_eq!(s2.delete_batch_id, None);
    let g2 = activity_groups::Entity::find_by_id(imported_id(ann, "activity_groups", "a-g2"))
        .one(&*db)
        .await?
        .ok_or("no g2")?;
    assert_eq!(g2.name, "Technique (2)");
    let a1 =
        activity_definitions::Entity::find_by_id(imported_id(ann, "activity_definitions", "a-a1"))
            .one(&*db)
            .await?
            .ok_or("no a1")?;
    assert_eq!(
        a1.group_id,
        Some(imported_id(ann, "activity_groups", "a-g1"))
    );
    assert!(a1.has_splits && a1.metrics_multiplicative);
    let n2 = instance(&db, ann, "a-n2").await?;
    assert_eq!((n2.time_stop, n2.duration_seconds), (None, None));
    let n1 = instance(&db, ann, "a-n1").await?;
    assert_eq!(n1.duration_seconds, Some(600));
    assert_eq!(n1.notes.as_deref(), Some("steady"));
    assert!(n1.completed);
    assert_eq!(n1.data, Some(json!({"sets": [1, 2]})));
    // Duplicates: the most recently updated value stays; negatives are values.
    assert_eq!(value(&db, ann, "a", ("n1", "m1", "sp1")).await?, 120.0);
    assert_eq!(value(&db, ann, "a", ("n1", "m2", "sp1")).await?, -2.5);
    source.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_file_without_the_improvements_is_imported_too() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let (_file, source) = fractal_file("a", false).await?;
    let report = import_for(&db, &source, ann).await?;
    assert_first_import(&report);
    assert_eq!(report.closed, 1);
    assert_true_roots(&db).await?;
    // The user's zone is UTC: the naive times are taken as they are.
    let p1 = goal(&db, ann, "a-p1").await?;
    assert_eq!(p1.session_start, Some(at("2025-12-31T18:04:05.123456Z")?));
    assert_eq!(goal(&db, ann, "a-s2").await?.deleted_at, None);
    let n1 = instance(&db, ann, "a-n1").await?;
    assert_eq!((n1.completed, n1.notes, n1.sort_order), (false, None, 0));
    // Without `updated_at`, the greater original id of the duplicates stays.
    assert_eq!(value(&db, ann, "a", ("n1", "m1", "sp1")).await?, 100.0);
    assert_eq!(active(&db, ann).await?, 1);
    source.close().await?;
    Ok(())
}

#[tokio::test]
async fn each_user_gets_their_own_ids_and_a_reimport_creates_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    db.execute_unprepared(&format!(
        "UPDATE \"user\" SET timezone = 'Europe/Berlin' WHERE id = {}",
        ann.0
    ))
    .await?;
    let (_file, source) = fractal_file("a", true).await?;

    let first = import_for(&db, &source, ann).await?;
    assert_first_import(&first);
    let bobs = import_for(&db, &source, bob).await?;
    assert_first_import(&bobs);
    assert_eq!(bobs.closed, 1);
    assert_true_roots(&db).await?;
    for owner in [ann, bob] {
        let goals = count(
            &db,
            &format!("SELECT count(*) FROM goals WHERE user_id = {}", owner.0),
        )
        .await?;
        assert_eq!(goals, 10);
        assert_eq!(active(&db, owner).await?, 1);
    }
    let (anns_p1, bobs_p1) = (goal(&db, ann, "a-p1").await?, goal(&db, bob, "a-p1").await?);
    assert_ne!(anns_p1.id, bobs_p1.id);
    assert_ne!(anns_p1.root_id, bobs_p1.root_id);
    assert_eq!(bobs_p1.user_id, bob);
    // The same naive time, in each user's zone.
    assert_eq!(
        anns_p1.session_start,
        Some(at("2025-12-31T17:04:05.123456Z")?)
    );
    assert_eq!(
        bobs_p1.session_start,
        Some(at("2025-12-31T18:04:05.123456Z")?)
    );

    // Again: everything exists, nothing is created or changed.
    let before = written(&db).await?;
    let again = import_for(&db, &source, ann).await?;
    assert_eq!(again.created, per_table([0; 9]));
    assert_eq!(again.existing, first.created);
    assert_eq!(again.skipped, first.skipped);
    assert_eq!(again.cleaned, per_table([0; 9]));
    assert_eq!(again.closed, 0);
    assert_eq!(written(&db).await?, before);
    assert_eq!(goal(&db, ann, "a-p1").await?, anns_p1);
    source.close().await?;
    Ok(())
}

#[tokio::test]
async fn open_sessions_close_but_the_newest_or_the_users_active_one() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let (_a, first) = fractal_file("a", true).await?;
    let (_b, second) = fractal_file("b", true).await?;

    // The file has two open sessions: the newest (p3) stays open.
    assert_eq!(import_for(&db, &first, ann).await?.closed, 1);
    let active_p3 = goal(&db, ann, "a-p3").await?;
    assert_eq!(active_p3.session_end, None);
    assert_eq!(
        goal(&db, ann, "a-p2").await?.session_end,
        Some(at("2026-01-02T09:40:00Z")?)
    );

    // Another file while a session is active: all of its open sessions are closed — at
    // their latest instance's stop, or at their start without one.
    let report = import_for(&db, &second, ann).await?;
    assert_eq!(report.closed, 2);
    assert_eq!(report.created, per_table(CREATED));
    assert_eq!(
        goal(&db, ann, "b-p2").await?.session_end,
        Some(at("2026-01-02T09:40:00Z")?)
    );
    let b_p3 = goal(&db, ann, "b-p3").await?;
    assert_eq!(b_p3.session_end, b_p3.session_start);
    assert_eq!(
        b_p3.total_duration_seconds,
        Some(0),
        "a closed session has its duration"
    );
    let b_p2 = goal(&db, ann, "b-p2").await?;
    let p2_start = b_p2.session_start.ok_or("b-p2 has no start")?;
    assert_eq!(
        b_p2.total_duration_seconds.map(i64::from),
        Some(
            at("2026-01-02T09:40:00Z")?
                .signed_duration_since(p2_start)
                .num_seconds()
        )
    );
    assert_eq!(active(&db, ann).await?, 1);
    assert_eq!(goal(&db, ann, "a-p3").await?, active_p3);
    first.close().await?;
    second.close().await?;
    Ok(())
}

#[tokio::test]
async fn files_that_are_not_fractal_goals_databases_are_refused() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let before = written(&db).await?;

    // An empty SQLite file; one with other tables; one whose `goals` lacks columns; a
    // complete file but for one table.
    let cases: [&[&str]; 4] = [
        &[],
        &["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"],
        &[
            "CREATE TABLE goals (id VARCHAR NOT NULL PRIMARY KEY, name VARCHAR)",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
        ],
        &["DROP TABLE metric_values"],
    ];
    for (case, statements) in cases.iter().enumerate() {
        let file = TempFile::new();
        if case == 3 {
            build(&file, "a", true).await?;
        }
        let source = open(&file.url("rwc")).await?;
        for sql in *statements {
            source.execute_unprepared(sql).await?;
        }
        let error = import_for(&db, &source, ann)
            .await
            .err()
            .ok_or(format!("case {case} was imported"))?;
        assert!(is_invalid(&error, "source"), "case {case}: {error}");
        assert!(
            error.to_string().contains("not a fractal-goals database"),
            "case {case}: {error}"
        );
        assert_eq!(written(&db).await?, before, "case {case}");
        source.close().await?;
    }

    // A file that is not SQLite at all.
    let text = TempFile::new();
    std::fs::write(&text.0, "id,name\n1,not a database\n")?;
    // (The driver may refuse it already when connecting; else the import refuses it.)
    if let Ok(source) = open(&text.url("ro")).await {
        let error = import_for(&db, &source, ann)
            .await
            .err()
            .ok_or("a text file was imported")?;
        assert!(is_invalid(&error, "source"), "{error}");
        assert!(
            error.to_string().contains("not a fractal-goals database"),
            "{error}"
        );
        source.close().await?;
    }
    assert_eq!(written(&db).await?, before);

    // A good file, for a user who does not exist.
    let (_file, source) = fractal_file("a", true).await?;
    let error = import_for(&db, &source, UserId(i32::MAX))
        .await
        .err()
        .ok_or("imported for nobody")?;
    assert!(is_not_found(&error), "{error}");
    assert_eq!(written(&db).await?, before);
    source.close().await?;
    Ok(())
}

/// Asserts that one of the lookup's indexes serves it.
async fn served(db: &DatabaseConnection, lookup: &Lookup) -> TestResult {
    assert_served_by_one_of(db, &lookup.sql, lookup.indexes, lookup.column)
        .await
        .map_err(|error| format!("{}: {error}", lookup.table).into())
}

#[tokio::test]
async fn the_reads_of_the_target_are_served_by_indexes() -> TestResult {
    let db = TestDb::at_head().await?;
    let (_file, source) = fractal_file("a", true).await?;
    let mut owners = Vec::new();
    for n in 0..8 {
        let owner = user(&db, &format!("user{n}@example.com")).await?;
        import_for(&db, &source, owner).await?;
        owners.push(owner);
    }
    // A realistic history: a hundred ended sessions under every root, so that "a session"
    // alone narrows nothing down and only the user's key does.
    let (id, series) = match db.get_database_backend() {
        DbBackend::Postgres => ("gen_random_uuid()", "generate_series(1, 100) AS n(x)"),
        _ => (
            "randomblob(16)",
            "(WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100) \
             SELECT x FROM n) AS n",
        ),
    };
    db.execute_unprepared(&format!(
        "INSERT INTO goals (id, user_id, type, name, root_id, session_start, session_end) \
         SELECT {id}, g.user_id, 'PracticeSession', 'Earlier', g.root_id, g.created_at, \
         g.created_at FROM goals g, {series} WHERE g.type = 'UltimateGoal'"
    ))
    .await?;
    db.execute_unprepared("ANALYZE").await?;
    let owner = *owners.first().ok_or("no user")?;
    let roots = [
        imported_id(owner, "goals", "a-r1"),
        imported_id(owner, "goals", "a-r2"),
    ];
    let lookups = import::lookups(db.get_database_backend(), owner, &roots);
    assert_eq!(lookups.len(), 8);
    for lookup in &lookups {
        served(&db, lookup).await?;
    }
    source.close().await?;
    Ok(())
}

/// Runs `statements` on the file at `file`, opened for writing and closed again: the
/// original app going on between two imports.
async fn alter(file: &TempFile, statements: &[&str]) -> TestResult {
    let db = open(&file.url("rw")).await?;
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    db.close().await?;
    Ok(())
}

/// The numbers of live goals and of live activity instances whose `root_id` is `root`.
async fn live_under(db: &DatabaseConnection, root: Uuid) -> Fallible<(usize, usize)> {
    let goals = goals::Entity::find()
        .filter(goals::Column::RootId.eq(root))
        .filter(goals::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .len();
    let instances = activity_instances::Entity::find()
        .filter(activity_instances::Column::RootId.eq(root))
        .filter(activity_instances::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .len();
    Ok((goals, instances))
}

#[tokio::test]
async fn a_reimport_under_a_root_deleted_in_lifeos_creates_its_new_rows_deleted() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let file = TempFile::new();
    build(&file, "a", true).await?;
    let source = open(&file.url("ro")).await?;
    assert_first_import(&import_for(&db, &source, ann).await?);
    source.close().await?;

    // Ann deletes the Piano fractal in LifeOS.
    let r1 = imported_id(ann, "goals", "a-r1");
    let deletion = trash::delete_goal(&*db, ann, r1).await?;
    let deleted_at = goal(&db, ann, "a-r1")
        .await?
        .deleted_at
        .ok_or("r1 is live")?;
    assert_eq!(live_under(&db, r1).await?, (0, 0));

    // The original app goes on: a goal under l1, a session (linked to s1) with an instance.
    alter(
        &file,
        &[
            "INSERT INTO goals (id, type, name, parent_id, created_at, completed) VALUES \
             ('a-s4', 'ShortTermGoal', 'Etudes', 'a-l1', '2026-01-04 10:00:00.000000', 0), \
             ('a-p6', 'PracticeSession', 'Later', NULL, '2026-01-04 11:00:00.000000', 0)",
            "INSERT INTO practice_session_goals VALUES ('a-p6', 'a-s1')",
            "INSERT INTO activity_instances (id, practice_session_id, activity_definition_id, \
             created_at) VALUES ('a-n6', 'a-p6', 'a-a1', '2026-01-04 11:05:00.000000')",
        ],
    )
    .await?;
    let source = open(&file.url("ro")).await?;
    let again = import_for(&db, &source, ann).await?;
    // s4 and p6, p6's link, n6; the rest existed.
    assert_eq!(again.created, per_table([2, 1, 0, 0, 0, 0, 0, 1, 0]));
    assert_eq!(again.skipped, per_table(SKIPPED));
    assert_eq!(again.cleaned, per_table([0; 9]));
    assert_eq!(again.closed, 0);

    // The new rows are created deleted with what they hang under (at its time, in no
    // deletion): nothing comes back to life under the deleted root.
    for original in ["a-s4", "a-p6"] {
        let new = goal(&db, ann, original).await?;
        assert_eq!(
            (new.deleted_at, new.delete_batch_id, new.root_id),
            (Some(deleted_at), None, r1),
            "{original}"
        );
    }
    let n6 = instance(&db, ann, "a-n6").await?;
    assert_eq!(
        (n6.deleted_at, n6.delete_batch_id, n6.root_id),
        (Some(deleted_at), None, r1)
    );
    assert_eq!(live_under(&db, r1).await?, (0, 0));
    assert_true_roots(&db).await?;

    // Restoring the deletion brings back exactly what it removed. The new rows were not in
    // it, so they stay deleted (for a purge) and cannot block it: the fractal comes back as
    // Ann deleted it — r1, l1, s1, p1, i1, p2, p3 and n1 to n4.
    let restored = trash::restore(&*db, ann, deletion.id).await?;
    assert_eq!(restored, deletion.rows);
    assert_eq!(live_under(&db, r1).await?, (7, 4));
    for original in ["a-s4", "a-p6"] {
        assert_eq!(
            goal(&db, ann, original).await?.deleted_at,
            Some(deleted_at),
            "{original}"
        );
    }
    assert_eq!(
        instance(&db, ann, "a-n6").await?.deleted_at,
        Some(deleted_at)
    );
    source.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_reimport_under_a_goal_deleted_in_lifeos_creates_its_new_child_deleted() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let file = TempFile::new();
    build(&file, "a", true).await?;
    let source = open(&file.url("ro")).await?;
    assert_first_import(&import_for(&db, &source, ann).await?);
    source.close().await?;

    // Ann deletes Openings (s3) of the Chess fractal in LifeOS; its root stays.
    let r2 = imported_id(ann, "goals", "a-r2");
    let deletion = trash::delete_goal(&*db, ann, imported_id(ann, "goals", "a-s3")).await?;
    let deleted_at = goal(&db, ann, "a-s3")
        .await?
        .deleted_at
        .ok_or("s3 is live")?;

    // The original app adds a goal under s3 and one under the root.
    alter(
        &file,
        &[
            "INSERT INTO goals (id, type, name, parent_id, created_at, completed) VALUES \
             ('a-c1', 'ImmediateGoal', 'Sicilian', 'a-s3', '2026-01-04 10:00:00.000000', 0), \
             ('a-c2', 'LongTermGoal', 'Endgames', 'a-r2', '2026-01-04 10:00:00.000000', 0)",
        ],
    )
    .await?;
    let source = open(&file.url("ro")).await?;
    let again = import_for(&db, &source, ann).await?;
    assert_eq!(again.created, per_table([2, 0, 0, 0, 0, 0, 0, 0, 0]));

    // Under the deleted goal: deleted with it. Elsewhere: live.
    let c1 = goal(&db, ann, "a-c1").await?;
    assert_eq!(
        (c1.deleted_at, c1.delete_batch_id, c1.root_id),
        (Some(deleted_at), None, r2)
    );
    let c2 = goal(&db, ann, "a-c2").await?;
    assert_eq!(
        (c2.deleted_at, c2.parent_id, c2.root_id),
        (None, Some(r2), r2)
    );
    assert_eq!(live_under(&db, r2).await?, (2, 0), "r2 and c2");
    assert_true_roots(&db).await?;

    // Restoring s3 brings back s3 alone: c1 was not in its deletion and stays deleted.
    let restored = trash::restore(&*db, ann, deletion.id).await?;
    assert_eq!(restored, deletion.rows);
    assert_eq!(goal(&db, ann, "a-s3").await?.deleted_at, None);
    assert_eq!(goal(&db, ann, "a-c1").await?.deleted_at, Some(deleted_at));
    assert_eq!(live_under(&db, r2).await?, (3, 0), "r2, s3 and c2");
    source.close().await?;
    Ok(())
}

#[tokio::test]
async fn escaped_nuls_in_json_are_dropped() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let file = TempFile::new();
    build(&file, "a", true).await?;
    // `\u0000` escapes in the file's text (SQLite keeps the backslashes): JSON parses them into
    // NULs, which PostgreSQL's `jsonb` refuses.
    alter(
        &file,
        &[concat!(
            r#"UPDATE goals SET attributes = '{"a\u0000b": "x\u0000y"}', "#,
            r#"targets = '[{"k\u0000": ["v\u0000w", 1]}]' WHERE id = 'a-r2'"#
        )],
    )
    .await?;
    let source = open(&file.url("ro")).await?;
    assert_eq!(
        count(
            &source,
            r"SELECT count(*) FROM goals WHERE instr(attributes, '\u0000') > 0"
        )
        .await?,
        1
    );

    let report = import_for(&db, &source, ann).await?;
    assert_eq!(report.created, per_table(CREATED));
    let r2 = goal(&db, ann, "a-r2").await?;
    assert_eq!(r2.attributes, Some(json!({"ab": "xy"})));
    assert_eq!(r2.targets, Some(json!([{"k": ["vw", 1]}])));
    let attributes = r2
        .attributes
        .as_ref()
        .and_then(serde_json::Value::as_object)
        .ok_or("no attributes object")?;
    for (key, value) in attributes {
        assert!(!key.contains('\0'), "{key:?}");
        assert!(
            !value.as_str().unwrap_or_default().contains('\0'),
            "{value:?}"
        );
    }
    source.close().await?;
    Ok(())
}

#[tokio::test]
async fn text_in_a_number_column_is_missing_not_zero() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let file = TempFile::new();
    build(&file, "a", true).await?;
    alter(
        &file,
        &[
            "INSERT INTO metric_values (id, activity_instance_id, metric_definition_id, \
             split_definition_id, value) VALUES ('a-vx', 'a-n1', 'a-m2', 'a-sp2', 'abc')",
            "UPDATE activity_instances SET duration_seconds = 'long' WHERE id = 'a-n3'",
        ],
    )
    .await?;
    let source = open(&file.url("ro")).await?;
    // SQLite keeps text that is not a number as text, whatever the column's type; a cast
    // would read it as 0.
    assert_eq!(
        count(
            &source,
            "SELECT count(*) FROM metric_values WHERE typeof(value) = 'text'"
        )
        .await?,
        1
    );
    assert_eq!(
        count(
            &source,
            "SELECT count(*) FROM activity_instances WHERE typeof(duration_seconds) = 'text'"
        )
        .await?,
        1
    );

    let report = import_for(&db, &source, ann).await?;
    assert_eq!(report.created, per_table(CREATED));
    // `SKIPPED`, and `vx`: a value that is not a number is not a value.
    assert_eq!(report.skipped, per_table([3, 3, 0, 1, 0, 0, 0, 1, 3]));
    assert_eq!(report.cleaned, per_table(CLEANED));
    let vx = metric_values::Entity::find_by_id(imported_id(ann, "metric_values", "a-vx"))
        .one(&*db)
        .await?;
    assert!(vx.is_none(), "{vx:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM metric_values").await?, 4);
    // A duration that is not a number is missing, not 0 (and not counted as cleaned).
    let n3 = instance(&db, ann, "a-n3").await?;
    assert_eq!(n3.duration_seconds, None);
    assert!(n3.time_start.is_some() && n3.time_stop.is_some());
    source.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_client_may_not_take_an_imported_instance_id() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let (_file, source) = fractal_file("a", true).await?;
    import_for(&db, &source, ann).await?;
    import_for(&db, &source, bob).await?;
    let p1 = goal(&db, ann, "a-p1").await?.id;
    let a1 = imported_id(ann, "activity_definitions", "a-a1");
    let n1 = instance(&db, ann, "a-n1").await?;
    let before = written(&db).await?;

    // Ann's own n1 (of p1 and a1: not returned as the same instance), Bob's n1, and an id
    // nobody imported: one refusal, which tells nothing about which exists.
    let mut refusals = Vec::new();
    for id in [
        n1.id,
        imported_id(bob, "activity_instances", "a-n1"),
        imported_id(ann, "activity_instances", "a-never"),
    ] {
        let refused = sessions::add_instance(&*db, ann, p1, a1, Some(id)).await;
        assert!(
            refused.as_ref().is_err_and(|error| is_invalid(error, "id")),
            "{refused:?}"
        );
        refusals.push(refused.err().map(|error| error.to_string()));
        assert_eq!(written(&db).await?, before);
    }
    refusals.dedup();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(instance(&db, ann, "a-n1").await?, n1);
    source.close().await?;
    Ok(())
}
