//! Analytics by root, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: the
//! instances of a range of local days, time per activity and per group, session count and
//! duration, metric progression (best top set, volume = Σ of products), goal completion —
//! exact numbers, deleted rows left out, inclusive range boundaries, other roots and other
//! users not counted, another user's root refused, the owner's time zone, and the root_id
//! indexes that serve each statement on realistic data.

use std::error::Error as StdError;

use chrono::{DateTime, Days, NaiveDate, Utc};
use lifeos_entity::UserId;
use lifeos_practice_sessions::entity::goals::{self, GoalType};
use lifeos_practice_sessions::entity::{activity_instances, metric_values};
use lifeos_practice_sessions::service::activities::{self, Definition, NewDefinition, NewMetric};
use lifeos_practice_sessions::service::analytics::{
    self, ActivityTime, Completion, DayProgress, GroupTime, SessionStats,
};
use lifeos_practice_sessions::service::sessions::{self, NewSession};
use lifeos_practice_sessions::service::tree;
use lifeos_testkit::TestDb;
use lifeos_testkit::explain::{assert_index_serves, assert_served_by_one_of};
use sea_orm::prelude::Uuid;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, Set, Statement,
    TransactionTrait, Value,
};

mod common;
use common::{day, is_invalid, is_not_found, rows_in, user};

type TestResult = Result<(), Box<dyn StdError>>;

// --- helpers ---

/// Runs `sql`, written with `?` placeholders (numbered `$n` on PostgreSQL), with `values`.
async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> TestResult {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut numbered = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                numbered.push_str(&format!("${n}"));
            } else {
                numbered.push(c);
            }
        }
        numbered
    } else {
        sql.to_owned()
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

/// `day` at `h:m:s` UTC.
fn instant(day: NaiveDate, h: u32, m: u32, s: u32) -> Result<DateTime<Utc>, Box<dyn StdError>> {
    Ok(day.and_hms_opt(h, m, s).ok_or("bad time")?.and_utc())
}

/// `days` after `from`.
fn shift(from: NaiveDate, days: u32) -> Result<NaiveDate, Box<dyn StdError>> {
    from.checked_add_days(Days::new(u64::from(days)))
        .ok_or_else(|| "date out of range".into())
}

/// Soft-deletes row `id` of `table` (only that row: what a test needs to see left out).
async fn soft_delete(db: &DatabaseConnection, table: &str, id: Uuid) -> TestResult {
    exec(
        db,
        &format!("UPDATE {table} SET deleted_at = ? WHERE id = ?"),
        vec![Utc::now().into(), id.into()],
    )
    .await
}

/// Marks goal `id` completed.
async fn complete(db: &DatabaseConnection, id: Uuid) -> TestResult {
    exec(
        db,
        "UPDATE goals SET completed = ? WHERE id = ?",
        vec![true.into(), id.into()],
    )
    .await
}

/// Moves instance `id` to local day `on` (created at `hour`:00 UTC that day, the owner being
/// on UTC) with `seconds` as its duration.
async fn place(
    db: &DatabaseConnection,
    id: Uuid,
    on: NaiveDate,
    hour: u32,
    seconds: Option<i32>,
) -> TestResult {
    exec(
        db,
        "UPDATE activity_instances SET local_day = ?, created_at = ?, duration_seconds = ? \
         WHERE id = ?",
        vec![
            on.into(),
            instant(on, hour, 0, 0)?.into(),
            seconds.into(),
            id.into(),
        ],
    )
    .await
}

/// Sets session `id`'s creation instant and total duration.
async fn set_session(
    db: &DatabaseConnection,
    id: Uuid,
    created_at: DateTime<Utc>,
    seconds: Option<i32>,
) -> TestResult {
    exec(
        db,
        "UPDATE goals SET created_at = ?, total_duration_seconds = ? WHERE id = ?",
        vec![created_at.into(), seconds.into(), id.into()],
    )
    .await
}

/// The tables a refused call must leave as they are.
async fn written(db: &DatabaseConnection) -> Result<Vec<i64>, Box<dyn StdError>> {
    rows_in(
        db,
        &[
            "goals",
            "practice_session_goals",
            "activity_groups",
            "activity_definitions",
            "metric_definitions",
            "split_definitions",
            "activity_instances",
            "metric_values",
        ],
    )
    .await
}

/// A root with a long-, mid- and short-term goal under it, and a practice session under the
/// short-term goal.
struct Fractal {
    owner: UserId,
    root: Uuid,
    mtg: Uuid,
    stg: Uuid,
    session: Uuid,
}

async fn fractal(
    db: &DatabaseConnection,
    owner: UserId,
    name: &str,
) -> Result<Fractal, Box<dyn StdError>> {
    let root = tree::create_root(db, owner, name).await?;
    let ltg = tree::create_child(db, owner, root.id, GoalType::LongTermGoal, "Long term").await?;
    let mtg = tree::create_child(db, owner, ltg.id, GoalType::MidTermGoal, "Mid term").await?;
    let stg = tree::create_child(db, owner, mtg.id, GoalType::ShortTermGoal, "Short term").await?;
    let session = new_session(db, owner, stg.id, "Practice").await?;
    Ok(Fractal {
        owner,
        root: root.id,
        mtg: mtg.id,
        stg: stg.id,
        session,
    })
}

/// A new practice session under short-term goal `stg`.
async fn new_session(
    db: &DatabaseConnection,
    owner: UserId,
    stg: Uuid,
    name: &str,
) -> Result<Uuid, Box<dyn StdError>> {
    let session = sessions::create(
        db,
        owner,
        NewSession {
            name: name.to_owned(),
            goals: vec![stg],
            ..Default::default()
        },
    )
    .await?;
    Ok(session.id)
}

/// A multiplicative metric.
fn metric(name: &str, unit: &str, is_top_set: bool) -> NewMetric {
    NewMetric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        is_top_set,
        is_multiplicative: true,
    }
}

/// An activity measured by `reps` and `weight` (the top set), both multiplicative, with
/// `splits` (none: not split).
async fn lifting(
    db: &DatabaseConnection,
    owner: UserId,
    root: Uuid,
    name: &str,
    group: Option<Uuid>,
    metrics_multiplicative: bool,
    splits: &[&str],
) -> Result<Definition, Box<dyn StdError>> {
    Ok(activities::create_definition(
        db,
        owner,
        root,
        NewDefinition {
            name: name.to_owned(),
            group,
            has_sets: true,
            has_metrics: true,
            metrics_multiplicative,
            has_splits: !splits.is_empty(),
            metrics: vec![metric("reps", "reps", false), metric("weight", "kg", true)],
            splits: splits.iter().map(|split| (*split).to_owned()).collect(),
            ..Default::default()
        },
    )
    .await?)
}

/// An activity without metrics.
async fn plain(
    db: &DatabaseConnection,
    owner: UserId,
    root: Uuid,
    name: &str,
    group: Option<Uuid>,
) -> Result<Uuid, Box<dyn StdError>> {
    let made = activities::create_definition(
        db,
        owner,
        root,
        NewDefinition {
            name: name.to_owned(),
            group,
            ..Default::default()
        },
    )
    .await?;
    Ok(made.definition.id)
}

fn metric_id(definition: &Definition, name: &str) -> Result<Uuid, Box<dyn StdError>> {
    definition
        .metrics
        .iter()
        .find(|metric| metric.name == name)
        .map(|metric| metric.id)
        .ok_or_else(|| format!("no metric {name}").into())
}

fn split_id(definition: &Definition, name: &str) -> Result<Uuid, Box<dyn StdError>> {
    definition
        .splits
        .iter()
        .find(|split| split.name == name)
        .map(|split| split.id)
        .ok_or_else(|| format!("no split {name}").into())
}

/// A new instance of `definition` in `session`, moved to `on` at `hour` with `seconds`.
async fn instance(
    db: &DatabaseConnection,
    owner: UserId,
    session: Uuid,
    definition: Uuid,
    on: NaiveDate,
    hour: u32,
    seconds: Option<i32>,
) -> Result<Uuid, Box<dyn StdError>> {
    let made = sessions::add_instance(db, owner, session, definition, None).await?;
    place(db, made.id, on, hour, seconds).await?;
    Ok(made.id)
}

fn ids(rows: &[activity_instances::Model]) -> Vec<Uuid> {
    rows.iter().map(|row| row.id).collect()
}

fn spent(definition: Uuid, name: &str, seconds: i64, instances: u64) -> ActivityTime {
    ActivityTime {
        definition,
        name: name.to_owned(),
        seconds,
        instances,
    }
}

fn grouped(group: Option<Uuid>, name: Option<&str>, seconds: i64, instances: u64) -> GroupTime {
    GroupTime {
        group,
        name: name.map(str::to_owned),
        seconds,
        instances,
    }
}

fn progress(
    day: NaiveDate,
    best_top_set: Option<f64>,
    volume: Option<f64>,
    instances: u64,
) -> DayProgress {
    DayProgress {
        day,
        best_top_set,
        volume,
        instances,
    }
}

fn done(goal_type: GoalType, completed: u64, total: u64) -> Completion {
    Completion {
        goal_type,
        completed,
        total,
    }
}

/// Ann's "Fitness" fractal with four days of practice (9 to 12 March 2026, on UTC), and her
/// "Music" fractal with one instance on the 10th.
///
/// | instance | activity (group)        | day | hour | seconds | values (split: reps × weight) |
/// |----------|-------------------------|-----|------|---------|-------------------------------|
/// | a1       | Lunge (Strength)        | d1  | 8    | 300     | L 5 × 100, R 5 × 110          |
/// | a2       | Lunge                   | d2  | 8    | 200     | L 8 × 90, R 6 × 95            |
/// | a3       | Lunge                   | d2  | 9    | —       | L 10 × 50                     |
/// | a4       | Lunge                   | d3  | 8    | 1000    | L 1 × 300                     |
/// | a5       | Lunge                   | d0  | 8    | 700     |                               |
/// | a6       | Lunge — deleted         | d1  | 10   | 500     | L 1 × 200                     |
/// | c1       | Curl (Strength)         | d2  | 10   | 100     |                               |
/// | p1, p2   | Plank (none)            | d1, d2 | 9, 11 | 60, 90 |                          |
/// | t1       | Stretch (Mobility, deleted group) | d1 | 11 | 45 |                            |
/// | o1       | Old (Strength), definition deleted | d1 | 12 | 40 |                           |
/// | x1       | Plank, in a deleted session | d1 | 13 | 1000 |                               |
/// | y1       | Scales, Music fractal   | d1  | 10   | 999     |                               |
struct Scenario {
    owner: UserId,
    fit: Fractal,
    music: Fractal,
    strength: Uuid,
    lunge: Definition,
    curl: Uuid,
    plank: Uuid,
    stretch: Uuid,
    old: Uuid,
    scales: Uuid,
    d0: NaiveDate,
    d1: NaiveDate,
    d2: NaiveDate,
    d3: NaiveDate,
    a1: Uuid,
    a2: Uuid,
    a3: Uuid,
    a4: Uuid,
    a5: Uuid,
    c1: Uuid,
    p1: Uuid,
    p2: Uuid,
    t1: Uuid,
    o1: Uuid,
}

async fn scenario(db: &DatabaseConnection) -> Result<Scenario, Box<dyn StdError>> {
    let owner = user(db, "ann@example.com").await?;
    let fit = fractal(db, owner, "Fitness").await?;
    let music = fractal(db, owner, "Music").await?;
    let strength = activities::create_group(db, owner, fit.root, "Strength")
        .await?
        .id;
    let mobility = activities::create_group(db, owner, fit.root, "Mobility")
        .await?
        .id;
    let lunge = lifting(
        db,
        owner,
        fit.root,
        "Lunge",
        Some(strength),
        true,
        &["Left", "Right"],
    )
    .await?;
    let curl = plain(db, owner, fit.root, "Curl", Some(strength)).await?;
    let plank = plain(db, owner, fit.root, "Plank", None).await?;
    let stretch = plain(db, owner, fit.root, "Stretch", Some(mobility)).await?;
    let old = plain(db, owner, fit.root, "Old", Some(strength)).await?;
    let scales = plain(db, owner, music.root, "Scales", None).await?;
    let gone = new_session(db, owner, fit.stg, "Deleted later").await?;
    let (d0, d1, d2, d3) = (
        day(2026, 3, 9)?,
        day(2026, 3, 10)?,
        day(2026, 3, 11)?,
        day(2026, 3, 12)?,
    );

    let s = fit.session;
    let lunge_id = lunge.definition.id;
    let a1 = instance(db, owner, s, lunge_id, d1, 8, Some(300)).await?;
    let a2 = instance(db, owner, s, lunge_id, d2, 8, Some(200)).await?;
    let a3 = instance(db, owner, s, lunge_id, d2, 9, None).await?;
    let a4 = instance(db, owner, s, lunge_id, d3, 8, Some(1000)).await?;
    let a5 = instance(db, owner, s, lunge_id, d0, 8, Some(700)).await?;
    let a6 = instance(db, owner, s, lunge_id, d1, 10, Some(500)).await?;
    let c1 = instance(db, owner, s, curl, d2, 10, Some(100)).await?;
    let p1 = instance(db, owner, s, plank, d1, 9, Some(60)).await?;
    let p2 = instance(db, owner, s, plank, d2, 11, Some(90)).await?;
    let t1 = instance(db, owner, s, stretch, d1, 11, Some(45)).await?;
    let o1 = instance(db, owner, s, old, d1, 12, Some(40)).await?;
    instance(db, owner, gone, plank, d1, 13, Some(1000)).await?;
    instance(db, owner, music.session, scales, d1, 10, Some(999)).await?;

    let (reps, weight) = (metric_id(&lunge, "reps")?, metric_id(&lunge, "weight")?);
    let (left, right) = (split_id(&lunge, "Left")?, split_id(&lunge, "Right")?);
    for (at, split, count, load) in [
        (a1, left, 5.0, 100.0),
        (a1, right, 5.0, 110.0),
        (a2, left, 8.0, 90.0),
        (a2, right, 6.0, 95.0),
        (a3, left, 10.0, 50.0),
        (a4, left, 1.0, 300.0),
        (a6, left, 1.0, 200.0),
    ] {
        sessions::record_value(db, owner, at, reps, Some(split), count).await?;
        sessions::record_value(db, owner, at, weight, Some(split), load).await?;
    }

    soft_delete(db, "activity_instances", a6).await?;
    soft_delete(db, "goals", gone).await?;
    soft_delete(db, "activity_definitions", old).await?;
    soft_delete(db, "activity_groups", mobility).await?;

    Ok(Scenario {
        owner,
        fit,
        music,
        strength,
        lunge,
        curl,
        plank,
        stretch,
        old,
        scales,
        d0,
        d1,
        d2,
        d3,
        a1,
        a2,
        a3,
        a4,
        a5,
        c1,
        p1,
        p2,
        t1,
        o1,
    })
}

// --- time per activity and group ---

#[tokio::test]
async fn time_is_summed_per_activity_and_group_over_live_instances_of_the_range() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let s = scenario(conn).await?;
    let (ann, root) = (s.owner, s.fit.root);
    let lunge = s.lunge.definition.id;

    // 10 and 11 March: the deleted instance, the deleted session's instance and the days
    // around are left out; an untimed instance counts with 0 s; the deleted definition keeps
    // its name.
    let per_activity = analytics::time_per_activity(conn, ann, root, s.d1, s.d2).await?;
    assert_eq!(
        per_activity,
        vec![
            spent(lunge, "Lunge", 500, 3),
            spent(s.plank, "Plank", 150, 2),
            spent(s.curl, "Curl", 100, 1),
            spent(s.stretch, "Stretch", 45, 1),
            spent(s.old, "Old", 40, 1),
        ]
    );
    // Strength: Lunge, Curl and Old; ungrouped: Plank and Stretch (its group was deleted).
    let per_group = analytics::time_per_group(conn, ann, root, s.d1, s.d2).await?;
    assert_eq!(
        per_group,
        vec![
            grouped(Some(s.strength), Some("Strength"), 640, 5),
            grouped(None, None, 195, 3),
        ]
    );

    // Both ends of a range are included.
    let all = analytics::time_per_activity(conn, ann, root, s.d0, s.d3).await?;
    assert_eq!(all.first(), Some(&spent(lunge, "Lunge", 2200, 5)));
    assert_eq!(all.len(), 5);
    assert_eq!(
        analytics::time_per_activity(conn, ann, root, s.d3, s.d3).await?,
        vec![spent(lunge, "Lunge", 1000, 1)]
    );
    assert_eq!(
        analytics::time_per_group(conn, ann, root, s.d0, s.d0).await?,
        vec![grouped(Some(s.strength), Some("Strength"), 700, 1)]
    );
    assert_eq!(
        analytics::time_per_activity(conn, ann, root, s.d1, s.d1).await?,
        vec![
            spent(lunge, "Lunge", 300, 1),
            spent(s.plank, "Plank", 60, 1),
            spent(s.stretch, "Stretch", 45, 1),
            spent(s.old, "Old", 40, 1),
        ]
    );

    // The other fractal counts only its own.
    assert_eq!(
        analytics::time_per_activity(conn, ann, s.music.root, s.d0, s.d3).await?,
        vec![spent(s.scales, "Scales", 999, 1)]
    );
    assert_eq!(
        analytics::time_per_group(conn, ann, s.music.root, s.d0, s.d3).await?,
        vec![grouped(None, None, 999, 1)]
    );

    // A range without practice.
    let (january, end) = (day(2026, 1, 1)?, day(2026, 1, 31)?);
    assert!(
        analytics::time_per_activity(conn, ann, root, january, end)
            .await?
            .is_empty()
    );
    assert!(
        analytics::time_per_group(conn, ann, root, january, end)
            .await?
            .is_empty()
    );
    Ok(())
}

// --- instances ---

#[tokio::test]
async fn instances_are_the_live_ones_of_the_range_by_creation() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let s = scenario(conn).await?;
    let (ann, root) = (s.owner, s.fit.root);

    let listed = analytics::instances(conn, ann, root, s.d1, s.d2).await?;
    assert_eq!(
        ids(&listed),
        vec![s.a1, s.p1, s.t1, s.o1, s.a2, s.a3, s.c1, s.p2]
    );
    let first = listed.first().ok_or("no instance")?;
    assert_eq!(first.local_day, s.d1);
    assert_eq!(first.root_id, root);
    assert_eq!(first.duration_seconds, Some(300));
    assert_eq!(first.activity_definition_id, s.lunge.definition.id);
    assert_eq!(first.created_at, instant(s.d1, 8, 0, 0)?);
    assert!(listed.iter().all(|row| row.deleted_at.is_none()));

    assert_eq!(
        ids(&analytics::instances(conn, ann, root, s.d1, s.d1).await?),
        vec![s.a1, s.p1, s.t1, s.o1]
    );
    assert_eq!(
        ids(&analytics::instances(conn, ann, root, s.d0, s.d0).await?),
        vec![s.a5]
    );
    assert_eq!(
        ids(&analytics::instances(conn, ann, root, s.d3, s.d3).await?),
        vec![s.a4]
    );
    assert_eq!(
        analytics::instances(conn, ann, root, s.d0, s.d3)
            .await?
            .len(),
        10
    );
    assert_eq!(
        analytics::instances(conn, ann, s.music.root, s.d0, s.d3)
            .await?
            .len(),
        1
    );
    Ok(())
}

// --- progression ---

#[tokio::test]
async fn progression_gives_the_best_top_set_and_the_volume_per_day() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let s = scenario(conn).await?;
    let (ann, root, lunge) = (s.owner, s.fit.root, s.lunge.definition.id);

    // 10 March: 5 × 100 + 5 × 110; best 110 (the deleted instance's 200 is left out).
    // 11 March: 8 × 90 + 6 × 95 + 10 × 50 over two instances; best 95.
    let days = analytics::progression(conn, ann, root, lunge, s.d1, s.d2).await?;
    assert_eq!(
        days,
        vec![
            progress(s.d1, Some(110.0), Some(1050.0), 1),
            progress(s.d2, Some(95.0), Some(1790.0), 2),
        ]
    );
    // Inclusive ends; a day without values (9 March) is absent.
    assert_eq!(
        analytics::progression(conn, ann, root, lunge, s.d0, s.d3).await?,
        vec![
            progress(s.d1, Some(110.0), Some(1050.0), 1),
            progress(s.d2, Some(95.0), Some(1790.0), 2),
            progress(s.d3, Some(300.0), Some(300.0), 1),
        ]
    );
    assert!(
        analytics::progression(conn, ann, root, lunge, s.d0, s.d0)
            .await?
            .is_empty()
    );
    // An activity without metrics has no progression.
    assert!(
        analytics::progression(conn, ann, root, s.plank, s.d0, s.d3)
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn an_activity_whose_metrics_do_not_multiply_has_no_volume() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let owner = user(conn, "rowan@example.com").await?;
    let f = fractal(conn, owner, "Rowing").await?;
    let row = lifting(conn, owner, f.root, "Row", None, false, &[]).await?;
    let on = day(2026, 5, 4)?;
    let at = instance(conn, owner, f.session, row.definition.id, on, 7, Some(600)).await?;
    sessions::record_value(conn, owner, at, metric_id(&row, "reps")?, None, 10.0).await?;
    sessions::record_value(conn, owner, at, metric_id(&row, "weight")?, None, -2.5).await?;
    let other = instance(conn, owner, f.session, row.definition.id, on, 8, None).await?;
    sessions::record_value(conn, owner, other, metric_id(&row, "weight")?, None, 60.0).await?;

    assert_eq!(
        analytics::progression(conn, owner, f.root, row.definition.id, on, on).await?,
        vec![progress(on, Some(60.0), None, 2)]
    );
    Ok(())
}

#[tokio::test]
async fn a_product_missing_a_factor_adds_no_volume() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let owner = user(conn, "lee@example.com").await?;
    let f = fractal(conn, owner, "Strength").await?;
    let squat = lifting(conn, owner, f.root, "Squat", None, true, &[]).await?;
    let (reps, weight) = (metric_id(&squat, "reps")?, metric_id(&squat, "weight")?);
    let on = day(2026, 5, 4)?;
    let done = instance(conn, owner, f.session, squat.definition.id, on, 7, None).await?;
    sessions::record_value(conn, owner, done, reps, None, 5.0).await?;
    sessions::record_value(conn, owner, done, weight, None, 100.0).await?;
    // Reps recorded, the weight not yet: no product, only the instance counts.
    let half = instance(conn, owner, f.session, squat.definition.id, on, 8, None).await?;
    sessions::record_value(conn, owner, half, reps, None, 8.0).await?;
    assert_eq!(
        analytics::progression(conn, owner, f.root, squat.definition.id, on, on).await?,
        vec![progress(on, Some(100.0), Some(500.0), 2)]
    );
    sessions::record_value(conn, owner, half, weight, None, 50.0).await?;
    assert_eq!(
        analytics::progression(conn, owner, f.root, squat.definition.id, on, on).await?,
        vec![progress(on, Some(100.0), Some(900.0), 2)]
    );
    Ok(())
}

// --- sessions ---

#[tokio::test]
async fn sessions_are_counted_and_timed_by_their_creation_day() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let owner = user(conn, "sam@example.com").await?;
    let f = fractal(conn, owner, "Fitness").await?;
    let music = fractal(conn, owner, "Music").await?;
    let (d0, d1, d2, d3) = (
        day(2026, 3, 9)?,
        day(2026, 3, 10)?,
        day(2026, 3, 11)?,
        day(2026, 3, 12)?,
    );
    let evening = new_session(conn, owner, f.stg, "Evening").await?;
    let next = new_session(conn, owner, f.stg, "Next day").await?;
    let gone = new_session(conn, owner, f.stg, "Deleted").await?;
    // The first instant of the 10th, the last second of the 11th, the first instant of the
    // 12th (outside a range ending on the 11th).
    set_session(conn, f.session, instant(d1, 0, 0, 0)?, Some(3600)).await?;
    set_session(conn, evening, instant(d2, 23, 59, 59)?, None).await?;
    set_session(conn, next, instant(d3, 0, 0, 0)?, Some(999)).await?;
    set_session(conn, gone, instant(d1, 12, 0, 0)?, Some(500)).await?;
    soft_delete(conn, "goals", gone).await?;
    set_session(conn, music.session, instant(d1, 12, 0, 0)?, Some(777)).await?;

    let stats = |count, total_seconds| SessionStats {
        count,
        total_seconds,
    };
    assert_eq!(
        analytics::sessions(conn, owner, f.root, d1, d2).await?,
        stats(2, 3600)
    );
    assert_eq!(
        analytics::sessions(conn, owner, f.root, d1, d3).await?,
        stats(3, 4599)
    );
    assert_eq!(
        analytics::sessions(conn, owner, f.root, d3, d3).await?,
        stats(1, 999)
    );
    assert_eq!(
        analytics::sessions(conn, owner, f.root, d0, d0).await?,
        stats(0, 0)
    );
    assert_eq!(
        analytics::sessions(conn, owner, music.root, d0, d3).await?,
        stats(1, 777)
    );
    Ok(())
}

// --- completion ---

#[tokio::test]
async fn completion_counts_live_goals_per_type_in_the_order_of_the_hierarchy() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let owner = user(conn, "cleo@example.com").await?;
    let f = fractal(conn, owner, "Fitness").await?;
    let second = tree::create_child(conn, owner, f.root, GoalType::LongTermGoal, "Second")
        .await?
        .id;
    complete(conn, second).await?;
    let reached = tree::create_child(conn, owner, f.mtg, GoalType::ShortTermGoal, "Reached")
        .await?
        .id;
    complete(conn, reached).await?;
    let dropped = tree::create_child(conn, owner, f.mtg, GoalType::ShortTermGoal, "Dropped")
        .await?
        .id;
    complete(conn, dropped).await?;
    soft_delete(conn, "goals", dropped).await?;
    let now = tree::create_child(conn, owner, f.stg, GoalType::ImmediateGoal, "Now")
        .await?
        .id;
    complete(conn, now).await?;
    // A completed session is not a goal of the tree.
    complete(conn, f.session).await?;
    // Another fractal of the same owner, all completed.
    let music = fractal(conn, owner, "Music").await?;
    complete(conn, music.root).await?;

    assert_eq!(
        analytics::completion(conn, owner, f.root).await?,
        vec![
            done(GoalType::UltimateGoal, 0, 1),
            done(GoalType::LongTermGoal, 1, 2),
            done(GoalType::MidTermGoal, 0, 1),
            done(GoalType::ShortTermGoal, 1, 2),
            done(GoalType::ImmediateGoal, 1, 1),
        ]
    );
    assert_eq!(
        analytics::completion(conn, owner, music.root).await?,
        vec![
            done(GoalType::UltimateGoal, 1, 1),
            done(GoalType::LongTermGoal, 0, 1),
            done(GoalType::MidTermGoal, 0, 1),
            done(GoalType::ShortTermGoal, 0, 1),
        ]
    );
    Ok(())
}

// --- the owner's local days ---

#[tokio::test]
async fn local_days_are_the_owners_in_their_time_zone() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let owner = user(conn, "kiri@example.com").await?;
    let f = fractal(conn, owner, "Fitness").await?;
    let plank = plain(conn, owner, f.root, "Plank", None).await?;
    exec(
        conn,
        "UPDATE \"user\" SET timezone = ? WHERE id = ?",
        vec!["Pacific/Auckland".into(), owner.0.into()],
    )
    .await?;

    // A new instance stores its Auckland day.
    let made = sessions::add_instance(conn, owner, f.session, plank, None).await?;
    let auckland = made
        .created_at
        .with_timezone(&chrono_tz::Pacific::Auckland)
        .date_naive();
    assert_eq!(made.local_day, auckland);
    assert_eq!(
        ids(&analytics::instances(conn, owner, f.root, auckland, auckland).await?),
        vec![made.id]
    );
    assert_eq!(
        analytics::time_per_activity(conn, owner, f.root, auckland, auckland).await?,
        vec![spent(plank, "Plank", 0, 1)]
    );

    // 11:30 UTC on 10 March 2026 is 00:30 on the 11th in Auckland (NZDT, UTC+13).
    set_session(
        conn,
        f.session,
        instant(day(2026, 3, 10)?, 11, 30, 0)?,
        Some(1800),
    )
    .await?;
    let (tenth, eleventh) = (day(2026, 3, 10)?, day(2026, 3, 11)?);
    assert_eq!(
        analytics::sessions(conn, owner, f.root, eleventh, eleventh).await?,
        SessionStats {
            count: 1,
            total_seconds: 1800
        }
    );
    assert_eq!(
        analytics::sessions(conn, owner, f.root, tenth, tenth).await?,
        SessionStats::default()
    );
    Ok(())
}

// --- refusals ---

#[tokio::test]
async fn another_users_root_and_bad_ranges_are_refused_and_nothing_is_written() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let s = scenario(conn).await?;
    let bob = user(conn, "bob@example.com").await?;
    let bobs = fractal(conn, bob, "Bob's").await?;
    let bob_plank = plain(conn, bob, bobs.root, "Plank", None).await?;
    instance(conn, bob, bobs.session, bob_plank, s.d1, 9, Some(30)).await?;
    let before = written(conn).await?;
    let (ann, root, lunge) = (s.owner, s.fit.root, s.lunge.definition.id);
    let (d1, d2) = (s.d1, s.d2);

    // Bob asking for Ann's root: the same error as a missing root.
    let refused = [
        analytics::instances(conn, bob, root, d1, d2).await.err(),
        analytics::time_per_activity(conn, bob, root, d1, d2)
            .await
            .err(),
        analytics::time_per_group(conn, bob, root, d1, d2)
            .await
            .err(),
        analytics::sessions(conn, bob, root, d1, d2).await.err(),
        analytics::progression(conn, bob, root, lunge, d1, d2)
            .await
            .err(),
        analytics::completion(conn, bob, root).await.err(),
        // Ann's activity through Bob's own root.
        analytics::progression(conn, bob, bobs.root, lunge, d1, d2)
            .await
            .err(),
        // An activity of Ann's other root, a deleted one, a missing one.
        analytics::progression(conn, ann, s.music.root, lunge, d1, d2)
            .await
            .err(),
        analytics::progression(conn, ann, root, s.old, d1, d2)
            .await
            .err(),
        analytics::progression(conn, ann, root, Uuid::now_v7(), d1, d2)
            .await
            .err(),
        // Not a root: a short-term goal, a session, a missing id.
        analytics::instances(conn, ann, s.fit.stg, d1, d2)
            .await
            .err(),
        analytics::sessions(conn, ann, s.fit.session, d1, d2)
            .await
            .err(),
        analytics::completion(conn, ann, Uuid::now_v7()).await.err(),
    ];
    for (n, error) in refused.iter().enumerate() {
        let error = error
            .as_ref()
            .ok_or_else(|| format!("call {n} was not refused"))?;
        assert!(is_not_found(error), "call {n}: {error:?}");
    }
    // Bob's own data stays his.
    assert_eq!(
        analytics::time_per_activity(conn, bob, bobs.root, d1, d2).await?,
        vec![spent(bob_plank, "Plank", 30, 1)]
    );

    // Bad ranges, whoever asks.
    let error = analytics::instances(conn, ann, root, d2, d1)
        .await
        .err()
        .ok_or("a reversed range was accepted")?;
    assert!(is_invalid(&error, "range"), "{error:?}");
    let error = analytics::sessions(conn, ann, root, d1, day(10_000, 1, 1)?)
        .await
        .err()
        .ok_or("the year 10000 was accepted")?;
    assert!(is_invalid(&error, "last"), "{error:?}");
    let error = analytics::time_per_group(conn, bob, root, day(0, 12, 31)?, d1)
        .await
        .err()
        .ok_or("the year 0 was accepted")?;
    assert!(is_invalid(&error, "first"), "{error:?}");
    let error = analytics::progression(conn, ann, root, lunge, d2, d1)
        .await
        .err()
        .ok_or("a reversed range was accepted")?;
    assert!(is_invalid(&error, "range"), "{error:?}");
    let error = analytics::time_per_activity(conn, ann, root, d2, d1)
        .await
        .err()
        .ok_or("a reversed range was accepted")?;
    assert!(is_invalid(&error, "range"), "{error:?}");

    assert_eq!(written(conn).await?, before);
    Ok(())
}

// --- query plans ---

/// 20 more sessions (every third day from `base`, 600 s each) and 60 instances (one a day
/// from `base`, 60 s each, alternately of `lifting` — with reps 5 and weight 20 + the day's
/// number — and of `other`) in fractal `f`.
async fn bulk(
    db: &DatabaseConnection,
    f: &Fractal,
    lifting: &Definition,
    other: Uuid,
    base: NaiveDate,
) -> TestResult {
    let (reps, weight) = (metric_id(lifting, "reps")?, metric_id(lifting, "weight")?);
    let txn = db.begin().await?;
    let mut session_ids = Vec::new();
    for k in 0..20_u32 {
        let at = instant(shift(base, 3 * k)?, 12, 0, 0)?;
        let session = goals::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(f.owner),
            goal_type: Set(GoalType::PracticeSession),
            name: Set(format!("Session {k}")),
            completed: Set(false),
            created_at: Set(at),
            updated_at: Set(at),
            parent_id: Set(None),
            root_id: Set(f.root),
            total_duration_seconds: Set(Some(600)),
            sort_order: Set(0),
            total_paused_seconds: Set(0),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        session_ids.push(session.id);
    }
    for i in 0..60_u32 {
        let on = shift(base, i)?;
        let at = instant(on, 8, 0, 0)?;
        let session = *session_ids
            .get(usize::try_from(i / 3)?)
            .ok_or("no session")?;
        let measured = i % 2 == 0;
        let made = activity_instances::ActiveModel {
            id: Set(Uuid::now_v7()),
            practice_session_id: Set(session),
            activity_definition_id: Set(if measured {
                lifting.definition.id
            } else {
                other
            }),
            created_at: Set(at),
            duration_seconds: Set(Some(60)),
            completed: Set(false),
            root_id: Set(f.root),
            updated_at: Set(at),
            sort_order: Set(0),
            local_day: Set(on),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if measured {
            for (metric, value) in [(reps, 5.0), (weight, 20.0 + f64::from(i))] {
                metric_values::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    activity_instance_id: Set(made.id),
                    metric_definition_id: Set(metric),
                    value: Set(value),
                    root_id: Set(f.root),
                    updated_at: Set(at),
                    created_at: Set(at),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    txn.commit().await?;
    Ok(())
}

#[tokio::test]
async fn every_statement_is_served_by_a_root_id_index() -> TestResult {
    let db = TestDb::at_head().await?;
    let conn = db.conn();
    let backend = conn.get_database_backend();
    let base = day(2025, 1, 1)?;
    // Three users with two fractals each: 360 instances, 360 metric values, 126 sessions.
    let mut fractals = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let owner = user(conn, email).await?;
        for name in ["Fitness", "Music"] {
            let f = fractal(conn, owner, name).await?;
            let lunge = lifting(conn, owner, f.root, "Lunge", None, true, &[]).await?;
            let plank = plain(conn, owner, f.root, "Plank", None).await?;
            bulk(conn, &f, &lunge, plank, base).await?;
            fractals.push((f, lunge, plank));
        }
    }
    conn.execute_unprepared("ANALYZE").await?;

    let (f, lunge, plank) = fractals.first().ok_or("no fractal")?;
    let (owner, root, lunge_id) = (f.owner, f.root, lunge.definition.id);
    let (first, last) = (shift(base, 10)?, shift(base, 16)?);
    let (start, end) = (instant(first, 0, 0, 0)?, instant(shift(last, 1)?, 0, 0, 0)?);
    let inline = |sql: String, values: Vec<Value>| {
        Statement::from_sql_and_values(backend, sql, values).to_string()
    };
    let ranged = |sql: String| inline(sql, vec![root.into(), first.into(), last.into()]);
    let instance_indexes = [
        "idx_activity_instances_root",
        "idx_activity_instances_root_date",
    ];

    // The seed's headline query, and the two time sums over the same rows.
    assert_served_by_one_of(
        conn,
        &ranged(analytics::instances_sql(backend)),
        &instance_indexes,
        "root_id",
    )
    .await?;
    assert_served_by_one_of(
        conn,
        &ranged(analytics::time_per_activity_sql(backend)),
        &instance_indexes,
        "root_id",
    )
    .await?;
    assert_served_by_one_of(
        conn,
        &ranged(analytics::time_per_group_sql(backend)),
        &instance_indexes,
        "root_id",
    )
    .await?;
    assert_index_serves(
        conn,
        &inline(
            analytics::sessions_sql(backend),
            vec![root.into(), start.into(), end.into()],
        ),
        "idx_goals_practice_sessions",
        "root_id",
    )
    .await?;
    assert_served_by_one_of(
        conn,
        &inline(
            analytics::progression_sql(backend),
            vec![root.into(), lunge_id.into(), first.into(), last.into()],
        ),
        &["idx_metric_values_root_metric", "idx_metric_values_root"],
        "root_id",
    )
    .await?;
    assert_served_by_one_of(
        conn,
        &inline(analytics::completion_sql(backend), vec![root.into()]),
        &[
            "idx_goals_root_type",
            "idx_goals_root_id",
            "idx_goals_completed",
        ],
        "root_id",
    )
    .await?;

    // And they count that fractal's rows of the week only: days 10 to 16, the even ones
    // measured.
    assert_eq!(
        analytics::instances(conn, owner, root, first, last)
            .await?
            .len(),
        7
    );
    assert_eq!(
        analytics::time_per_activity(conn, owner, root, first, last).await?,
        vec![
            spent(lunge_id, "Lunge", 240, 4),
            spent(*plank, "Plank", 180, 3),
        ]
    );
    assert_eq!(
        analytics::sessions(conn, owner, root, first, last).await?,
        SessionStats {
            count: 2,
            total_seconds: 1200
        }
    );
    let days = analytics::progression(conn, owner, root, lunge_id, first, last).await?;
    assert_eq!(days.len(), 4);
    assert_eq!(
        days.first(),
        Some(&progress(first, Some(30.0), Some(150.0), 1))
    );
    assert_eq!(
        analytics::completion(conn, owner, root).await?,
        vec![
            done(GoalType::UltimateGoal, 0, 1),
            done(GoalType::LongTermGoal, 0, 1),
            done(GoalType::MidTermGoal, 0, 1),
            done(GoalType::ShortTermGoal, 0, 1),
        ]
    );
    Ok(())
}
