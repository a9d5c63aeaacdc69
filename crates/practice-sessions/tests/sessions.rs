//! Practice sessions, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: creation
//! under short-term goals of one root (links, `root_id`, order), the lifecycle with paused
//! time excluded from the duration, one active session per user (also enforced by the
//! database), manual times, activity instances (idempotent client ids, local day, order),
//! their timers (several at once, manual times) and edits, metric values as an upsert on
//! (instance, metric, split) with a missing split counting as one value; every refusal gives
//! its typed error and writes nothing; another user's ids behave as missing ones through
//! every function; `list` is served by `idx_goals_practice_sessions`.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use lifeos_core::days::LocalDays;
use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
use lifeos_practice_sessions::entity::goals::{self, GoalType};
use lifeos_practice_sessions::entity::metric_values;
use lifeos_practice_sessions::service::activities::{self, Definition, NewDefinition, NewMetric};
use lifeos_practice_sessions::service::sessions::{
    self, InstanceEdit, InstanceTimes, NewSession, SessionTimes,
};
use lifeos_practice_sessions::service::templates::{self, NewTemplate};
use lifeos_practice_sessions::service::tree;
use lifeos_testkit::TestDb;
use lifeos_testkit::explain::assert_served_by_one_of;
use sea_orm::prelude::Uuid;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Set, Statement,
};
use serde_json::json;

mod common;
use common::{count, is_invalid, is_not_found, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// The rows a refused call must leave as they are.
async fn written(db: &DatabaseConnection) -> Fallible<Vec<i64>> {
    rows_in(
        db,
        &[
            "goals",
            "practice_session_goals",
            "activity_instances",
            "metric_values",
        ],
    )
    .await
}

/// Asserts that `result` is `Core(NotFound)`: a missing id, or another user's.
fn hidden<T: std::fmt::Debug>(what: &str, result: &lifeos_practice_sessions::Result<T>) {
    assert!(
        result.as_ref().is_err_and(is_not_found),
        "{what}: {result:?}"
    );
}

/// A root with a long-term, a mid-term and two short-term goals under it.
struct Fractal {
    root: goals::Model,
    mid: goals::Model,
    short: goals::Model,
    other_short: goals::Model,
}

/// A new fractal `name` of `owner`: UltimateGoal → LongTermGoal → MidTermGoal → two
/// ShortTermGoals.
async fn fractal(db: &DatabaseConnection, owner: UserId, name: &str) -> Fallible<Fractal> {
    let root = tree::create_root(db, owner, name).await?;
    let long = tree::create_child(db, owner, root.id, GoalType::LongTermGoal, "Long").await?;
    let mid = tree::create_child(db, owner, long.id, GoalType::MidTermGoal, "Mid").await?;
    let short = tree::create_child(db, owner, mid.id, GoalType::ShortTermGoal, "Short").await?;
    let other_short =
        tree::create_child(db, owner, mid.id, GoalType::ShortTermGoal, "Other short").await?;
    Ok(Fractal {
        root,
        mid,
        short,
        other_short,
    })
}

/// A new session `name` under `goals`.
fn new_session(name: &str, goals: &[Uuid]) -> NewSession {
    NewSession {
        name: name.to_owned(),
        goals: goals.to_vec(),
        ..Default::default()
    }
}

/// A multiplicative metric.
fn metric(name: &str, unit: &str) -> NewMetric {
    NewMetric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        is_top_set: false,
        is_multiplicative: true,
    }
}

/// A definition `name` in `root` with the metrics "Reps" and "Weight" and the splits "Left"
/// and "Right".
async fn lift(
    db: &DatabaseConnection,
    owner: UserId,
    root: Uuid,
    name: &str,
) -> Fallible<Definition> {
    Ok(activities::create_definition(
        db,
        owner,
        root,
        NewDefinition {
            name: name.to_owned(),
            has_metrics: true,
            metrics_multiplicative: true,
            has_splits: true,
            metrics: vec![metric("Reps", "reps"), metric("Weight", "kg")],
            splits: vec!["Left".to_owned(), "Right".to_owned()],
            ..Default::default()
        },
    )
    .await?)
}

/// The id of the metric `name` of `definition`.
fn metric_id(definition: &Definition, name: &str) -> Fallible<Uuid> {
    definition
        .metrics
        .iter()
        .find(|metric| metric.name == name)
        .map(|metric| metric.id)
        .ok_or_else(|| format!("no metric {name}").into())
}

/// The id of the split `name` of `definition`.
fn split_id(definition: &Definition, name: &str) -> Fallible<Uuid> {
    definition
        .splits
        .iter()
        .find(|split| split.name == name)
        .map(|split| split.id)
        .ok_or_else(|| format!("no split {name}").into())
}

/// `seconds` before now.
fn ago(seconds: i64) -> Fallible<DateTime<Utc>> {
    Ok(Utc::now() - TimeDelta::try_seconds(seconds).ok_or("seconds")?)
}

/// 5 January 2026 at `hour:minute:second` UTC.
fn at(hour: u32, minute: u32, second: u32) -> Fallible<DateTime<Utc>> {
    Utc.with_ymd_and_hms(2026, 1, 5, hour, minute, second)
        .single()
        .ok_or_else(|| "bad instant".into())
}

/// `instant` plus `seconds`.
fn plus(instant: DateTime<Utc>, seconds: i64) -> Fallible<DateTime<Utc>> {
    Ok(instant + TimeDelta::try_seconds(seconds).ok_or("seconds")?)
}

/// Moves the session's start and its running pause into the past (to measure durations
/// without sleeping).
async fn backdate(
    db: &DatabaseConnection,
    session: Uuid,
    start: DateTime<Utc>,
    paused: Option<DateTime<Utc>>,
) -> Fallible<()> {
    let mut update = goals::Entity::update_many()
        .col_expr(goals::Column::SessionStart, Expr::value(start))
        .filter(goals::Column::Id.eq(session));
    if let Some(paused) = paused {
        update = update.col_expr(goals::Column::LastPausedAt, Expr::value(paused));
    }
    update.exec(db).await?;
    Ok(())
}

/// The session's stored total paused seconds, set by hand.
async fn set_paused_seconds(db: &DatabaseConnection, session: Uuid, seconds: i32) -> Fallible<()> {
    goals::Entity::update_many()
        .col_expr(goals::Column::TotalPausedSeconds, Expr::value(seconds))
        .filter(goals::Column::Id.eq(session))
        .exec(db)
        .await?;
    Ok(())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn a_session_is_created_under_short_term_goals_of_one_root() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let sport = fractal(&db, ann, "Sport").await?;
    let template = templates::create(
        &*db,
        ann,
        music.root.id,
        NewTemplate {
            name: "Warm-up".to_owned(),
            description: None,
            data: json!({"sections": []}),
        },
    )
    .await?;

    let created = sessions::create(
        &*db,
        ann,
        NewSession {
            name: "  Morning practice ".to_owned(),
            goals: vec![music.short.id, music.other_short.id],
            description: Some(" Scales ".to_owned()),
            template: Some(template.id),
        },
    )
    .await?;
    assert_eq!(created.goal_type, GoalType::PracticeSession);
    assert_eq!(created.name, "Morning practice");
    assert_eq!(created.description.as_deref(), Some("Scales"));
    assert_eq!(created.user_id, ann);
    assert_eq!(created.parent_id, None);
    assert_eq!(created.root_id, music.root.id, "the root of its goals");
    assert_eq!(created.template_id, Some(template.id));
    assert_eq!(
        (
            created.session_start,
            created.session_end,
            created.total_duration_seconds,
            created.last_paused_at,
        ),
        (None, None, None, None),
        "not started"
    );
    assert_eq!(created.total_paused_seconds, 0);
    assert_eq!(created.deleted_at, None);
    let mut linked = vec![music.short.id, music.other_short.id];
    linked.sort();
    assert_eq!(sessions::goals_of(&*db, ann, created.id).await?, linked);
    assert_eq!(
        count(&db, "SELECT count(*) FROM practice_session_goals").await?,
        2
    );
    assert_eq!(sessions::get(&*db, ann, created.id).await?, created);

    // A later session of the root is last in order and first in the list (newest first).
    let later =
        sessions::create(&*db, ann, new_session("Evening", &[music.other_short.id])).await?;
    assert_eq!(later.root_id, music.root.id);
    assert!(later.sort_order > created.sort_order, "{later:?}");
    assert_eq!(
        sessions::list(&*db, ann, music.root.id).await?,
        vec![later.clone(), created.clone()]
    );
    assert_eq!(
        sessions::goals_of(&*db, ann, later.id).await?,
        vec![music.other_short.id]
    );
    // Another root's sessions are its own.
    assert!(sessions::list(&*db, ann, sport.root.id).await?.is_empty());
    let run = sessions::create(&*db, ann, new_session("Run", &[sport.short.id])).await?;
    assert_eq!(run.root_id, sport.root.id);
    assert_eq!(
        sessions::list(&*db, ann, sport.root.id).await?,
        vec![run.clone()]
    );
    assert_eq!(sessions::active(&*db, ann).await?, None, "none started");
    Ok(())
}

#[tokio::test]
async fn a_session_outside_the_rules_is_refused_and_writes_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let sport = fractal(&db, ann, "Sport").await?;
    let existing = sessions::create(&*db, ann, new_session("Scales", &[music.short.id])).await?;
    let sport_template = templates::create(
        &*db,
        ann,
        sport.root.id,
        NewTemplate {
            name: "Intervals".to_owned(),
            description: None,
            data: json!({}),
        },
    )
    .await?;
    let before = written(&db).await?;

    let crossing = sessions::create(
        &*db,
        ann,
        new_session("Both", &[music.short.id, sport.short.id]),
    )
    .await;
    assert!(
        matches!(crossing, Err(Error::CrossRoot { .. })),
        "{crossing:?}"
    );
    let under_mid = sessions::create(&*db, ann, new_session("Mid", &[music.mid.id])).await;
    assert!(
        matches!(
            under_mid,
            Err(Error::Hierarchy {
                parent: Some(GoalType::MidTermGoal),
                child: GoalType::PracticeSession,
            })
        ),
        "{under_mid:?}"
    );
    let mixed = sessions::create(
        &*db,
        ann,
        new_session("Mixed", &[music.short.id, music.mid.id]),
    )
    .await;
    assert!(
        matches!(
            mixed,
            Err(Error::Hierarchy {
                parent: Some(GoalType::MidTermGoal),
                ..
            })
        ),
        "{mixed:?}"
    );
    let under_root = sessions::create(&*db, ann, new_session("Root", &[music.root.id])).await;
    assert!(
        matches!(
            under_root,
            Err(Error::Hierarchy {
                parent: Some(GoalType::UltimateGoal),
                ..
            })
        ),
        "{under_root:?}"
    );
    let under_session = sessions::create(&*db, ann, new_session("Nested", &[existing.id])).await;
    assert!(
        matches!(
            under_session,
            Err(Error::Hierarchy {
                parent: Some(GoalType::PracticeSession),
                ..
            })
        ),
        "{under_session:?}"
    );
    let no_goals = sessions::create(&*db, ann, new_session("Nothing", &[])).await;
    assert!(
        no_goals.as_ref().is_err_and(|e| is_invalid(e, "goals")),
        "{no_goals:?}"
    );
    let twice = sessions::create(
        &*db,
        ann,
        new_session("Twice", &[music.short.id, music.short.id]),
    )
    .await;
    assert!(
        twice.as_ref().is_err_and(|e| is_invalid(e, "goals")),
        "{twice:?}"
    );
    let blank = sessions::create(&*db, ann, new_session("   ", &[music.short.id])).await;
    assert!(
        blank.as_ref().is_err_and(|e| is_invalid(e, "name")),
        "{blank:?}"
    );
    hidden(
        "an unknown goal",
        &sessions::create(&*db, ann, new_session("Ghost", &[Uuid::now_v7()])).await,
    );
    hidden(
        "an unknown template",
        &sessions::create(
            &*db,
            ann,
            NewSession {
                template: Some(Uuid::now_v7()),
                ..new_session("Templated", &[music.short.id])
            },
        )
        .await,
    );
    hidden(
        "a template of another root",
        &sessions::create(
            &*db,
            ann,
            NewSession {
                template: Some(sport_template.id),
                ..new_session("Templated", &[music.short.id])
            },
        )
        .await,
    );
    assert_eq!(written(&db).await?, before);
    assert_eq!(
        sessions::list(&*db, ann, music.root.id).await?,
        vec![existing]
    );
    Ok(())
}

#[tokio::test]
async fn start_pause_resume_end_excludes_the_paused_time() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let session = sessions::create(&*db, ann, new_session("Scales", &[music.short.id])).await?;
    let id = session.id;

    // Nothing to pause, resume or end before the start.
    let before = written(&db).await?;
    let early = sessions::pause(&*db, ann, id).await;
    assert!(
        matches!(early, Err(Error::NotStarted { what: "practice session", id: got }) if got == id),
        "{early:?}"
    );
    let early = sessions::end(&*db, ann, id).await;
    assert!(matches!(early, Err(Error::NotStarted { .. })), "{early:?}");
    let early = sessions::resume(&*db, ann, id).await;
    assert!(
        matches!(early, Err(Error::PauseState { paused: false, .. })),
        "{early:?}"
    );
    assert_eq!(sessions::get(&*db, ann, id).await?, session);

    let started = sessions::start(&*db, ann, id).await?;
    assert!(started.session_start.is_some());
    assert_eq!(started.session_end, None);
    assert_eq!(
        sessions::active(&*db, ann).await?.map(|active| active.id),
        Some(id)
    );
    let again = sessions::start(&*db, ann, id).await;
    assert!(
        matches!(
            again,
            Err(Error::AlreadyStarted {
                what: "practice session",
                ..
            })
        ),
        "{again:?}"
    );

    let paused = sessions::pause(&*db, ann, id).await?;
    assert!(paused.last_paused_at.is_some());
    let twice = sessions::pause(&*db, ann, id).await;
    assert!(
        matches!(twice, Err(Error::PauseState { paused: true, session: got }) if got == id),
        "{twice:?}"
    );
    assert_eq!(sessions::get(&*db, ann, id).await?, paused, "unchanged");

    // Started ten minutes ago, paused for the last two.
    backdate(&db, id, ago(600)?, Some(ago(120)?)).await?;
    let resumed = sessions::resume(&*db, ann, id).await?;
    assert_eq!(resumed.last_paused_at, None);
    assert!(
        (120..=121).contains(&resumed.total_paused_seconds),
        "{resumed:?}"
    );
    let unpaused = sessions::resume(&*db, ann, id).await;
    assert!(
        matches!(unpaused, Err(Error::PauseState { paused: false, .. })),
        "{unpaused:?}"
    );

    let ended = sessions::end(&*db, ann, id).await?;
    let (start, stop) = (
        ended.session_start.ok_or("no start")?,
        ended.session_end.ok_or("no end")?,
    );
    let duration = ended.total_duration_seconds.ok_or("no duration")?;
    assert!((478..=481).contains(&duration), "{ended:?}");
    assert_eq!(
        i64::from(duration),
        (stop - start).num_seconds() - i64::from(ended.total_paused_seconds),
        "the paused time is excluded"
    );
    assert_eq!(ended.total_paused_seconds, resumed.total_paused_seconds);
    assert_eq!(sessions::active(&*db, ann).await?, None);

    // After the end: no second end, pause or start.
    let ended_again = sessions::end(&*db, ann, id).await;
    assert!(
        matches!(
            ended_again,
            Err(Error::AlreadyStopped {
                what: "practice session",
                ..
            })
        ),
        "{ended_again:?}"
    );
    let late_pause = sessions::pause(&*db, ann, id).await;
    assert!(
        matches!(late_pause, Err(Error::AlreadyStopped { .. })),
        "{late_pause:?}"
    );
    let restart = sessions::start(&*db, ann, id).await;
    assert!(
        matches!(restart, Err(Error::AlreadyStarted { .. })),
        "{restart:?}"
    );
    assert_eq!(sessions::get(&*db, ann, id).await?, ended);

    // Ending a paused session counts its pause up to the end.
    let evening = sessions::create(&*db, ann, new_session("Evening", &[music.short.id])).await?;
    sessions::start(&*db, ann, evening.id).await?;
    sessions::pause(&*db, ann, evening.id).await?;
    backdate(&db, evening.id, ago(300)?, Some(ago(60)?)).await?;
    let ended = sessions::end(&*db, ann, evening.id).await?;
    assert_eq!(ended.last_paused_at, None);
    assert!((60..=61).contains(&ended.total_paused_seconds), "{ended:?}");
    let duration = ended.total_duration_seconds.ok_or("no duration")?;
    assert!((238..=241).contains(&duration), "{ended:?}");
    assert_eq!(
        written(&db).await?[0],
        before[0] + 1,
        "one more session only"
    );
    Ok(())
}

#[tokio::test]
async fn a_user_has_at_most_one_active_session() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let sport = fractal(&db, ann, "Sport").await?;
    let chess = fractal(&db, bob, "Chess").await?;
    let first = sessions::create(&*db, ann, new_session("Scales", &[music.short.id])).await?;
    let second = sessions::create(&*db, ann, new_session("Run", &[sport.short.id])).await?;
    let first = sessions::start(&*db, ann, first.id).await?;

    let before = written(&db).await?;
    let refused = sessions::start(&*db, ann, second.id).await;
    assert!(
        matches!(refused, Err(Error::SessionActive { active: Some(active) }) if active == first.id),
        "{refused:?}"
    );
    assert_eq!(written(&db).await?, before);
    assert_eq!(sessions::get(&*db, ann, second.id).await?, second);
    // Making it active by hand is refused too.
    let by_hand = sessions::set_times(
        &*db,
        ann,
        second.id,
        SessionTimes {
            start: Some(ago(60)?),
            end: None,
        },
    )
    .await;
    assert!(
        matches!(by_hand, Err(Error::SessionActive { active: Some(active) }) if active == first.id),
        "{by_hand:?}"
    );
    assert_eq!(sessions::get(&*db, ann, second.id).await?, second);

    // The rule is per user: Bob starts his own.
    let his = sessions::create(&*db, bob, new_session("Openings", &[chess.short.id])).await?;
    let his = sessions::start(&*db, bob, his.id).await?;
    assert_eq!(
        sessions::active(&*db, bob).await?.map(|active| active.id),
        Some(his.id)
    );
    assert_eq!(
        sessions::active(&*db, ann).await?.map(|active| active.id),
        Some(first.id)
    );

    // The database itself refuses a second active session of one user.
    let forced = goals::Entity::update_many()
        .col_expr(goals::Column::SessionStart, Expr::value(Utc::now()))
        .filter(goals::Column::Id.eq(second.id))
        .exec(&*db)
        .await;
    assert!(forced.is_err(), "uq_goals_one_active_session: {forced:?}");
    assert_eq!(sessions::get(&*db, ann, second.id).await?, second);

    // Once the first has ended, another may start.
    sessions::end(&*db, ann, first.id).await?;
    let second = sessions::start(&*db, ann, second.id).await?;
    assert_eq!(
        sessions::active(&*db, ann).await?.map(|active| active.id),
        Some(second.id)
    );
    // …and the first cannot be reopened by hand while it runs.
    let reopened = sessions::set_times(
        &*db,
        ann,
        first.id,
        SessionTimes {
            start: Some(ago(3600)?),
            end: None,
        },
    )
    .await;
    assert!(
        matches!(reopened, Err(Error::SessionActive { active: Some(active) }) if active == second.id),
        "{reopened:?}"
    );
    Ok(())
}

#[tokio::test]
async fn manual_session_times_recompute_the_duration() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let session = sessions::create(&*db, ann, new_session("Scales", &[music.short.id])).await?;
    let (ten, eleven) = (at(10, 0, 0)?, at(11, 0, 0)?);

    let timed = sessions::set_times(
        &*db,
        ann,
        session.id,
        SessionTimes {
            start: Some(ten),
            end: Some(eleven),
        },
    )
    .await?;
    assert_eq!(timed.session_start, Some(ten));
    assert_eq!(timed.session_end, Some(eleven));
    assert_eq!(timed.total_duration_seconds, Some(3600));
    assert_eq!(sessions::get(&*db, ann, session.id).await?, timed);
    assert_eq!(sessions::active(&*db, ann).await?, None, "ended");

    // Paused seconds already counted are excluded.
    set_paused_seconds(&db, session.id, 600).await?;
    let timed = sessions::set_times(
        &*db,
        ann,
        session.id,
        SessionTimes {
            start: Some(ten),
            end: Some(eleven),
        },
    )
    .await?;
    assert_eq!(timed.total_duration_seconds, Some(3000));
    // …never below zero.
    let short = sessions::set_times(
        &*db,
        ann,
        session.id,
        SessionTimes {
            start: Some(ten),
            end: Some(plus(ten, 90)?),
        },
    )
    .await?;
    assert_eq!(short.total_duration_seconds, Some(0));

    // Refusals change nothing.
    let before = written(&db).await?;
    let kept = sessions::get(&*db, ann, session.id).await?;
    let backwards = sessions::set_times(
        &*db,
        ann,
        session.id,
        SessionTimes {
            start: Some(eleven),
            end: Some(ten),
        },
    )
    .await;
    assert!(
        backwards
            .as_ref()
            .is_err_and(|e| is_invalid(e, "session_end")),
        "{backwards:?}"
    );
    let endless = sessions::set_times(
        &*db,
        ann,
        session.id,
        SessionTimes {
            start: None,
            end: Some(eleven),
        },
    )
    .await;
    assert!(
        endless
            .as_ref()
            .is_err_and(|e| is_invalid(e, "session_end")),
        "{endless:?}"
    );
    assert_eq!(written(&db).await?, before);
    assert_eq!(sessions::get(&*db, ann, session.id).await?, kept);

    // A start alone makes it active, without a duration.
    let open = sessions::set_times(
        &*db,
        ann,
        session.id,
        SessionTimes {
            start: Some(ten),
            end: None,
        },
    )
    .await?;
    assert_eq!(open.total_duration_seconds, None);
    assert_eq!(
        sessions::active(&*db, ann).await?.map(|active| active.id),
        Some(session.id)
    );
    // Clearing both: not started, nothing paused.
    let cleared = sessions::set_times(&*db, ann, session.id, SessionTimes::default()).await?;
    assert_eq!(
        (
            cleared.session_start,
            cleared.session_end,
            cleared.total_duration_seconds,
            cleared.last_paused_at,
        ),
        (None, None, None, None)
    );
    assert_eq!(cleared.total_paused_seconds, 0);
    assert_eq!(sessions::active(&*db, ann).await?, None);
    // It may then start normally.
    let started = sessions::start(&*db, ann, session.id).await?;
    assert!(started.session_start.is_some());
    Ok(())
}

#[tokio::test]
async fn instances_run_timers_at_once_and_keep_their_times() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let session = sessions::create(&*db, ann, new_session("Legs", &[music.short.id])).await?;
    sessions::start(&*db, ann, session.id).await?;

    let first = sessions::add_instance(&*db, ann, session.id, squat.definition.id, None).await?;
    assert_eq!(first.practice_session_id, session.id);
    assert_eq!(first.activity_definition_id, squat.definition.id);
    assert_eq!(first.root_id, music.root.id);
    assert_eq!(first.sort_order, 0);
    assert_eq!(
        (first.time_start, first.time_stop, first.duration_seconds),
        (None, None, None)
    );
    assert!(!first.completed);
    let days = LocalDays::for_user(&*db, ann).await?;
    assert_eq!(first.local_day, days.day_of(first.created_at));
    let second = sessions::add_instance(&*db, ann, session.id, squat.definition.id, None).await?;
    assert_eq!(second.sort_order, 1);
    assert_eq!(
        sessions::instances(&*db, ann, session.id).await?,
        vec![first.clone(), second.clone()]
    );
    assert_eq!(sessions::get_instance(&*db, ann, first.id).await?, first);

    // Two timers run at once.
    let a = sessions::start_timer(&*db, ann, first.id).await?;
    let b = sessions::start_timer(&*db, ann, second.id).await?;
    assert!(a.time_start.is_some() && b.time_start.is_some());
    assert_eq!((a.time_stop, b.time_stop), (None, None));
    let running = sessions::instances(&*db, ann, session.id).await?;
    assert!(
        running
            .iter()
            .all(|instance| instance.time_start.is_some() && instance.time_stop.is_none())
    );

    // A second start is refused and changes nothing.
    let before = written(&db).await?;
    let again = sessions::start_timer(&*db, ann, first.id).await;
    assert!(
        matches!(again, Err(Error::AlreadyStarted { what: "activity instance", id }) if id == first.id),
        "{again:?}"
    );
    assert_eq!(sessions::get_instance(&*db, ann, first.id).await?, a);

    let stopped = sessions::stop_timer(&*db, ann, first.id).await?;
    let (start, stop) = (
        stopped.time_start.ok_or("no start")?,
        stopped.time_stop.ok_or("no stop")?,
    );
    assert!(stop >= start);
    assert_eq!(
        stopped.duration_seconds,
        Some(i32::try_from((stop - start).num_seconds())?)
    );
    assert_eq!(stopped.time_start, a.time_start, "the start is kept");
    let after = sessions::stop_timer(&*db, ann, first.id).await;
    assert!(
        matches!(
            after,
            Err(Error::AlreadyStopped {
                what: "activity instance",
                ..
            })
        ),
        "{after:?}"
    );
    assert_eq!(sessions::get_instance(&*db, ann, first.id).await?, stopped);
    assert_eq!(written(&db).await?, before);

    // Stop before start.
    let third = sessions::add_instance(&*db, ann, session.id, squat.definition.id, None).await?;
    assert_eq!(third.sort_order, 2);
    let before = written(&db).await?;
    let unstarted = sessions::stop_timer(&*db, ann, third.id).await;
    assert!(
        matches!(unstarted, Err(Error::NotStarted { what: "activity instance", id }) if id == third.id),
        "{unstarted:?}"
    );
    assert_eq!(sessions::get_instance(&*db, ann, third.id).await?, third);

    // Manual times recompute the duration; a stop before the start is refused.
    let ten = at(10, 0, 0)?;
    let timed = sessions::set_instance_times(
        &*db,
        ann,
        third.id,
        InstanceTimes {
            start: Some(ten),
            stop: Some(plus(ten, 95)?),
        },
    )
    .await?;
    assert_eq!(timed.time_start, Some(ten));
    assert_eq!(timed.time_stop, Some(plus(ten, 95)?));
    assert_eq!(timed.duration_seconds, Some(95));
    let backwards = sessions::set_instance_times(
        &*db,
        ann,
        third.id,
        InstanceTimes {
            start: Some(plus(ten, 95)?),
            stop: Some(ten),
        },
    )
    .await;
    assert!(
        backwards
            .as_ref()
            .is_err_and(|e| is_invalid(e, "time_stop")),
        "{backwards:?}"
    );
    assert_eq!(sessions::get_instance(&*db, ann, third.id).await?, timed);
    let open = sessions::set_instance_times(
        &*db,
        ann,
        third.id,
        InstanceTimes {
            start: Some(ten),
            stop: None,
        },
    )
    .await?;
    assert_eq!((open.time_stop, open.duration_seconds), (None, None));
    assert_eq!(written(&db).await?, before);

    // Notes, completion and data.
    let edited = sessions::update_instance(
        &*db,
        ann,
        first.id,
        InstanceEdit {
            notes: Some(Some("  felt strong ".to_owned())),
            completed: Some(true),
            data: Some(Some(json!({"sets": [{"reps": 5}, {"reps": 3}]}))),
        },
    )
    .await?;
    assert_eq!(edited.notes.as_deref(), Some("felt strong"));
    assert!(edited.completed);
    assert_eq!(
        edited.data,
        Some(json!({"sets": [{"reps": 5}, {"reps": 3}]}))
    );
    assert_eq!(sessions::get_instance(&*db, ann, first.id).await?, edited);
    let same = sessions::update_instance(&*db, ann, first.id, InstanceEdit::default()).await?;
    assert_eq!(same, edited);
    let cleared = sessions::update_instance(
        &*db,
        ann,
        first.id,
        InstanceEdit {
            notes: Some(None),
            data: Some(None),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!((cleared.notes, cleared.data), (None, None));
    assert!(cleared.completed);

    // An ended session still takes instances, but their timers cannot start.
    sessions::end(&*db, ann, session.id).await?;
    let late = sessions::add_instance(&*db, ann, session.id, squat.definition.id, None).await?;
    assert_eq!(late.sort_order, 3);
    let before = written(&db).await?;
    let too_late = sessions::start_timer(&*db, ann, late.id).await;
    assert!(
        matches!(too_late, Err(Error::AlreadyStopped { what: "practice session", id }) if id == session.id),
        "{too_late:?}"
    );
    assert_eq!(sessions::get_instance(&*db, ann, late.id).await?, late);
    assert_eq!(written(&db).await?, before);
    // The running timer of the ended session may still stop.
    let stopped = sessions::stop_timer(&*db, ann, second.id).await?;
    assert!(stopped.duration_seconds.is_some());
    Ok(())
}

#[tokio::test]
async fn a_client_id_makes_adding_an_instance_idempotent() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let session = sessions::create(&*db, ann, new_session("Legs", &[music.short.id])).await?;
    let other = sessions::create(&*db, ann, new_session("Arms", &[music.short.id])).await?;

    let id = Uuid::now_v7();
    let added =
        sessions::add_instance(&*db, ann, session.id, squat.definition.id, Some(id)).await?;
    assert_eq!(added.id, id);
    let before = written(&db).await?;
    let again =
        sessions::add_instance(&*db, ann, session.id, squat.definition.id, Some(id)).await?;
    assert_eq!(again, added, "the same instance, unchanged");
    assert_eq!(written(&db).await?, before);

    // The id is taken for any other session.
    let taken = sessions::add_instance(&*db, ann, other.id, squat.definition.id, Some(id)).await;
    assert!(
        matches!(taken, Err(Error::Core(lifeos_core::Error::Conflict(_)))),
        "{taken:?}"
    );
    assert_eq!(written(&db).await?, before);
    assert_eq!(
        sessions::instances(&*db, ann, session.id).await?,
        vec![added]
    );
    assert!(sessions::instances(&*db, ann, other.id).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_client_id_of_the_wrong_kind_or_activity_is_refused() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let press = lift(&db, ann, music.root.id, "Press").await?;
    let session = sessions::create(&*db, ann, new_session("Legs", &[music.short.id])).await?;
    let before = written(&db).await?;

    // A name-based id is the importer's: no client may take one, nor probe for it.
    let derived = Uuid::new_v5(&Uuid::NAMESPACE_OID, b"someone:activity_instances:x");
    let refused =
        sessions::add_instance(&*db, ann, session.id, squat.definition.id, Some(derived)).await;
    assert!(is_invalid_err(&refused, "id"), "{refused:?}");
    assert_eq!(written(&db).await?, before);

    // The same id for another activity of the same session is not the same instance.
    let id = Uuid::now_v7();
    sessions::add_instance(&*db, ann, session.id, squat.definition.id, Some(id)).await?;
    let before = written(&db).await?;
    let other = sessions::add_instance(&*db, ann, session.id, press.definition.id, Some(id)).await;
    assert!(
        matches!(other, Err(Error::Core(lifeos_core::Error::Conflict(_)))),
        "{other:?}"
    );
    assert_eq!(written(&db).await?, before);
    Ok(())
}

/// Whether `result` is `Core(Invalid)` for `field`.
fn is_invalid_err<T>(result: &lifeos_practice_sessions::Result<T>, field: &str) -> bool {
    result
        .as_ref()
        .err()
        .is_some_and(|error| is_invalid(error, field))
}

#[tokio::test]
async fn a_timer_cannot_stop_without_a_start() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let session = sessions::create(&*db, ann, new_session("Legs", &[music.short.id])).await?;
    let instance = sessions::add_instance(&*db, ann, session.id, squat.definition.id, None).await?;
    let before = sessions::get_instance(&*db, ann, instance.id).await?;
    let refused = sessions::set_instance_times(
        &*db,
        ann,
        instance.id,
        InstanceTimes {
            start: None,
            stop: Some(ago(60)?),
        },
    )
    .await;
    assert!(is_invalid_err(&refused, "time_stop"), "{refused:?}");
    assert_eq!(
        sessions::get_instance(&*db, ann, instance.id).await?,
        before
    );
    // Its timer still starts and stops as usual.
    sessions::start_timer(&*db, ann, instance.id).await?;
    let stopped = sessions::stop_timer(&*db, ann, instance.id).await?;
    assert!(stopped.time_stop.is_some() && stopped.duration_seconds.is_some());
    // A second start after the stop is refused.
    let again = sessions::start_timer(&*db, ann, instance.id).await;
    assert!(
        matches!(again, Err(Error::AlreadyStarted { .. })),
        "{again:?}"
    );
    Ok(())
}

#[tokio::test]
async fn racing_starts_leave_one_active_session() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let mut ids = Vec::new();
    for name in ["One", "Two", "Three", "Four"] {
        ids.push(
            sessions::create(&*db, ann, new_session(name, &[music.short.id]))
                .await?
                .id,
        );
    }
    let mut calls = tokio::task::JoinSet::new();
    for id in ids {
        let conn: DatabaseConnection = (*db).clone();
        calls.spawn(async move { sessions::start(&conn, ann, id).await });
    }
    let (mut started, mut refused) = (0, 0);
    while let Some(result) = calls.join_next().await {
        match result? {
            Ok(_) => started += 1,
            Err(Error::SessionActive { .. }) => refused += 1,
            Err(other) => return Err(other.into()),
        }
    }
    assert_eq!((started, refused), (1, 3));
    assert!(sessions::active(&*db, ann).await?.is_some());
    Ok(())
}

#[tokio::test]
async fn metric_values_are_upserted_per_instance_metric_and_split() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let bench = lift(&db, ann, music.root.id, "Bench").await?;
    let session = sessions::create(&*db, ann, new_session("Legs", &[music.short.id])).await?;
    let instance = sessions::add_instance(&*db, ann, session.id, squat.definition.id, None).await?;
    let (reps, weight) = (metric_id(&squat, "Reps")?, metric_id(&squat, "Weight")?);
    let (left, right) = (split_id(&squat, "Left")?, split_id(&squat, "Right")?);
    let values_count = "SELECT count(*) FROM metric_values";

    // The same key twice (no split): one row, the last value.
    let first = sessions::record_value(&*db, ann, instance.id, reps, None, 5.0).await?;
    assert_eq!(first.activity_instance_id, instance.id);
    assert_eq!(first.metric_definition_id, reps);
    assert_eq!(first.split_definition_id, None);
    assert_eq!(first.root_id, music.root.id);
    assert!(close(first.value, 5.0), "{first:?}");
    let second = sessions::record_value(&*db, ann, instance.id, reps, None, 8.0).await?;
    assert_eq!(second.id, first.id);
    assert!(close(second.value, 8.0), "{second:?}");
    assert_eq!(count(&db, values_count).await?, 1);

    // Two splits: two rows; a split again replaces its value.
    let on_left = sessions::record_value(&*db, ann, instance.id, weight, Some(left), 40.0).await?;
    let on_right =
        sessions::record_value(&*db, ann, instance.id, weight, Some(right), 42.5).await?;
    assert_ne!(on_left.id, on_right.id);
    assert_eq!(count(&db, values_count).await?, 3);
    let left_again =
        sessions::record_value(&*db, ann, instance.id, weight, Some(left), 41.0).await?;
    assert_eq!(left_again.id, on_left.id);
    assert!(close(left_again.value, 41.0));
    assert_eq!(count(&db, values_count).await?, 3);

    // Negative values are legitimate.
    let negative = sessions::record_value(&*db, ann, instance.id, reps, Some(left), -3.0).await?;
    assert!(close(negative.value, -3.0));
    assert_eq!(count(&db, values_count).await?, 4);

    let mut stored: Vec<(Uuid, Option<Uuid>, String)> = sessions::values(&*db, ann, instance.id)
        .await?
        .into_iter()
        .map(|value| {
            (
                value.metric_definition_id,
                value.split_definition_id,
                value.value.to_string(),
            )
        })
        .collect();
    stored.sort();
    let mut expected = vec![
        (reps, None, "8".to_owned()),
        (reps, Some(left), "-3".to_owned()),
        (weight, Some(left), "41".to_owned()),
        (weight, Some(right), "42.5".to_owned()),
    ];
    expected.sort();
    assert_eq!(stored, expected);

    // Refusals write nothing.
    let before = written(&db).await?;
    let nan = sessions::record_value(&*db, ann, instance.id, reps, None, f64::NAN).await;
    assert!(
        nan.as_ref().is_err_and(|e| is_invalid(e, "value")),
        "{nan:?}"
    );
    let infinite = sessions::record_value(&*db, ann, instance.id, reps, None, f64::INFINITY).await;
    assert!(
        infinite.as_ref().is_err_and(|e| is_invalid(e, "value")),
        "{infinite:?}"
    );
    hidden(
        "a metric of another activity",
        &sessions::record_value(
            &*db,
            ann,
            instance.id,
            metric_id(&bench, "Reps")?,
            None,
            1.0,
        )
        .await,
    );
    hidden(
        "a split of another activity",
        &sessions::record_value(
            &*db,
            ann,
            instance.id,
            weight,
            Some(split_id(&bench, "Left")?),
            1.0,
        )
        .await,
    );
    hidden(
        "an unknown metric",
        &sessions::record_value(&*db, ann, instance.id, Uuid::now_v7(), None, 1.0).await,
    );
    hidden(
        "an unknown instance",
        &sessions::record_value(&*db, ann, Uuid::now_v7(), reps, None, 1.0).await,
    );
    assert_eq!(written(&db).await?, before);
    assert!(close(
        sessions::values(&*db, ann, instance.id)
            .await?
            .iter()
            .find(|value| value.metric_definition_id == reps && value.split_definition_id.is_none())
            .ok_or("no reps value")?
            .value,
        8.0
    ));
    Ok(())
}

#[tokio::test]
async fn another_users_ids_behave_as_missing_ones() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    // Ann's fractal, definition, running session, instance and value.
    let music = fractal(&db, ann, "Music").await?;
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let session = sessions::create(&*db, ann, new_session("Legs", &[music.short.id])).await?;
    let session = sessions::start(&*db, ann, session.id).await?;
    let instance = sessions::add_instance(&*db, ann, session.id, squat.definition.id, None).await?;
    let reps = metric_id(&squat, "Reps")?;
    let left = split_id(&squat, "Left")?;
    sessions::record_value(&*db, ann, instance.id, reps, Some(left), 5.0).await?;
    // Bob's own.
    let chess = fractal(&db, bob, "Chess").await?;
    let drill = lift(&db, bob, chess.root.id, "Drill").await?;
    let his = sessions::create(&*db, bob, new_session("Openings", &[chess.short.id])).await?;
    let his_instance = sessions::add_instance(&*db, bob, his.id, drill.definition.id, None).await?;
    let his_reps = metric_id(&drill, "Reps")?;

    let before = written(&db).await?;
    let ann_session = sessions::get(&*db, ann, session.id).await?;
    let ann_instance = sessions::get_instance(&*db, ann, instance.id).await?;
    let ann_values = sessions::values(&*db, ann, instance.id).await?;

    hidden(
        "create under Ann's goal",
        &sessions::create(&*db, bob, new_session("Mine", &[music.short.id])).await,
    );
    hidden(
        "create under his and Ann's goals",
        &sessions::create(
            &*db,
            bob,
            new_session("Mine", &[chess.short.id, music.other_short.id]),
        )
        .await,
    );
    let anns_template = templates::create(
        &*db,
        ann,
        music.root.id,
        NewTemplate {
            name: "Ann's".to_owned(),
            description: None,
            data: json!({}),
        },
    )
    .await?;
    hidden(
        "create from Ann's template",
        &sessions::create(
            &*db,
            bob,
            NewSession {
                template: Some(anns_template.id),
                ..new_session("Mine", &[chess.short.id])
            },
        )
        .await,
    );
    hidden("get", &sessions::get(&*db, bob, session.id).await);
    hidden("list", &sessions::list(&*db, bob, music.root.id).await);
    hidden("goals_of", &sessions::goals_of(&*db, bob, session.id).await);
    hidden("start", &sessions::start(&*db, bob, session.id).await);
    hidden("pause", &sessions::pause(&*db, bob, session.id).await);
    hidden("resume", &sessions::resume(&*db, bob, session.id).await);
    hidden("end", &sessions::end(&*db, bob, session.id).await);
    hidden(
        "set_times",
        &sessions::set_times(&*db, bob, session.id, SessionTimes::default()).await,
    );
    hidden(
        "add_instance to Ann's session",
        &sessions::add_instance(&*db, bob, session.id, drill.definition.id, None).await,
    );
    hidden(
        "add_instance of Ann's definition",
        &sessions::add_instance(&*db, bob, his.id, squat.definition.id, None).await,
    );
    hidden(
        "instances",
        &sessions::instances(&*db, bob, session.id).await,
    );
    hidden(
        "get_instance",
        &sessions::get_instance(&*db, bob, instance.id).await,
    );
    hidden(
        "update_instance",
        &sessions::update_instance(
            &*db,
            bob,
            instance.id,
            InstanceEdit {
                completed: Some(true),
                ..Default::default()
            },
        )
        .await,
    );
    hidden(
        "start_timer",
        &sessions::start_timer(&*db, bob, instance.id).await,
    );
    hidden(
        "stop_timer",
        &sessions::stop_timer(&*db, bob, instance.id).await,
    );
    hidden(
        "set_instance_times",
        &sessions::set_instance_times(&*db, bob, instance.id, InstanceTimes::default()).await,
    );
    hidden(
        "record_value on Ann's instance",
        &sessions::record_value(&*db, bob, instance.id, his_reps, None, 1.0).await,
    );
    hidden(
        "record_value of Ann's metric",
        &sessions::record_value(&*db, bob, his_instance.id, reps, None, 1.0).await,
    );
    hidden(
        "record_value with Ann's split",
        &sessions::record_value(&*db, bob, his_instance.id, his_reps, Some(left), 1.0).await,
    );
    hidden("values", &sessions::values(&*db, bob, instance.id).await);
    // Ann's instance id cannot be reused as a client id.
    let reused =
        sessions::add_instance(&*db, bob, his.id, drill.definition.id, Some(instance.id)).await;
    assert!(
        matches!(reused, Err(Error::Core(lifeos_core::Error::Conflict(_)))),
        "{reused:?}"
    );

    assert_eq!(written(&db).await?, before);
    assert_eq!(sessions::get(&*db, ann, session.id).await?, ann_session);
    assert_eq!(
        sessions::get_instance(&*db, ann, instance.id).await?,
        ann_instance
    );
    assert_eq!(sessions::values(&*db, ann, instance.id).await?, ann_values);

    // Bob may run his own session while Ann's runs.
    assert_eq!(sessions::active(&*db, bob).await?, None);
    let his = sessions::start(&*db, bob, his.id).await?;
    assert_eq!(
        sessions::active(&*db, bob).await?.map(|active| active.id),
        Some(his.id)
    );
    assert_eq!(
        sessions::active(&*db, ann).await?.map(|active| active.id),
        Some(session.id)
    );
    Ok(())
}

#[tokio::test]
async fn list_is_served_by_the_sessions_index_and_the_value_key_is_unique() -> TestResult {
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    fractal(&db, ann, "Sport").await?;
    fractal(&db, bob, "Chess").await?;
    let own = sessions::create(&*db, ann, new_session("Scales", &[music.short.id])).await?;

    // Per root, 100 sessions and 800 other goals (so the sessions' partial index, not the
    // (root_id, type) one, is the better choice), then statistics.
    let (series, id, created) = if postgres {
        (
            "SELECT g FROM generate_series(1, 900) AS g",
            "gen_random_uuid()",
            "now() - g * interval '1 minute'",
        )
    } else {
        (
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 900) \
             SELECT g FROM s",
            "randomblob(16)",
            "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || g || ' minutes')",
        )
    };
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO goals \
             (id, user_id, type, name, parent_id, root_id, sort_order, created_at, updated_at) \
             SELECT {id}, r.user_id, \
             CASE WHEN g <= 100 THEN 'PracticeSession' ELSE 'LongTermGoal' END, \
             'bulk ' || CAST(g AS TEXT), CASE WHEN g <= 100 THEN NULL ELSE r.id END, r.id, g, \
             {created}, {created} \
             FROM goals r, ({series}) AS series \
             WHERE r.parent_id IS NULL AND r.type = 'UltimateGoal'"
        ),
    ))
    .await?;
    db.execute_unprepared("ANALYZE").await?;

    let sql = sessions::list_sql(backend, ann, music.root.id);
    // Both lead with root_id; PostgreSQL may prefer the plain one and sort.
    assert_served_by_one_of(
        &db,
        &sql,
        &["idx_goals_practice_sessions", "idx_goals_root_id"],
        "root_id",
    )
    .await?;
    // The user's active session: by the one-active-session index (or the user's goals).
    assert_served_by_one_of(
        &db,
        &sessions::active_sql(backend, ann),
        &["uq_goals_one_active_session", "idx_goals_user_parent"],
        "user_id",
    )
    .await?;
    let listed = sessions::list(&*db, ann, music.root.id).await?;
    assert_eq!(listed.len(), 101, "{sql}");
    assert_eq!(
        listed.first().map(|session| session.id),
        Some(own.id),
        "newest first"
    );
    assert!(
        listed
            .iter()
            .all(|session| session.goal_type == GoalType::PracticeSession
                && session.root_id == music.root.id)
    );

    // The unique key of metric values exists, and the upsert keeps one row per key.
    let index = if postgres {
        "SELECT count(*) FROM pg_indexes \
         WHERE indexname = 'uq_metric_values_instance_metric_split'"
    } else {
        "SELECT count(*) FROM sqlite_master \
         WHERE type = 'index' AND name = 'uq_metric_values_instance_metric_split'"
    };
    assert_eq!(count(&db, index).await?, 1);
    assert!(sessions::upsert_sql(backend).contains("ON CONFLICT"));
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let instance = sessions::add_instance(&*db, ann, own.id, squat.definition.id, None).await?;
    let reps = metric_id(&squat, "Reps")?;
    let left = split_id(&squat, "Left")?;
    for value in [1.0, 2.0, 3.0] {
        sessions::record_value(&*db, ann, instance.id, reps, None, value).await?;
        sessions::record_value(&*db, ann, instance.id, reps, Some(left), value).await?;
    }
    assert_eq!(count(&db, "SELECT count(*) FROM metric_values").await?, 2);
    // A second row for a key without a split is refused by the index itself.
    let now = Utc::now();
    let duplicate = metric_values::ActiveModel {
        id: Set(Uuid::now_v7()),
        activity_instance_id: Set(instance.id),
        metric_definition_id: Set(reps),
        split_definition_id: Set(None),
        value: Set(4.0),
        root_id: Set(music.root.id),
        updated_at: Set(now),
        created_at: Set(now),
    }
    .insert(&*db)
    .await;
    assert!(duplicate.is_err(), "{duplicate:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM metric_values").await?, 2);
    Ok(())
}

#[tokio::test]
async fn instances_are_reordered_within_their_session() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let squat = lift(&db, ann, music.root.id, "Squat").await?;
    let session = sessions::create(&*db, ann, new_session("Legs", &[music.short.id])).await?;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            sessions::add_instance(&*db, ann, session.id, squat.definition.id, None)
                .await?
                .id,
        );
    }
    ids.reverse();
    let reordered = sessions::reorder_instances(&*db, ann, session.id, &ids).await?;
    let order = |rows: &[lifeos_practice_sessions::entity::activity_instances::Model]| {
        rows.iter().map(|row| row.id).collect::<Vec<_>>()
    };
    assert_eq!(order(&reordered), ids);
    assert_eq!(
        order(&sessions::instances(&*db, ann, session.id).await?),
        ids
    );

    let before = sessions::instances(&*db, ann, session.id).await?;
    let refused = sessions::reorder_instances(&*db, ann, session.id, &ids[..2]).await;
    assert!(is_invalid_err(&refused, "order"), "{refused:?}");
    let twice = [ids[0], ids[0], ids[1]];
    let refused = sessions::reorder_instances(&*db, ann, session.id, &twice).await;
    assert!(is_invalid_err(&refused, "order"), "{refused:?}");
    assert_eq!(sessions::instances(&*db, ann, session.id).await?, before);
    hidden(
        "reorder_instances",
        &sessions::reorder_instances(&*db, bob, session.id, &ids).await,
    );
    assert_eq!(sessions::instances(&*db, ann, session.id).await?, before);
    Ok(())
}

#[tokio::test]
async fn a_start_that_meets_the_index_is_session_active() -> TestResult {
    use sea_orm::TransactionTrait;
    let db = TestDb::concurrent_at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = fractal(&db, ann, "Music").await?;
    let first = sessions::create(&*db, ann, new_session("One", &[music.short.id])).await?;
    let second = sessions::create(&*db, ann, new_session("Two", &[music.short.id])).await?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;

    // The first start, not yet committed.
    let pending = (*db).begin().await?;
    sessions::start(&pending, ann, first.id).await?;
    let conn: DatabaseConnection = (*db).clone();
    let racing = tokio::spawn(async move { sessions::start(&conn, ann, second.id).await });
    if postgres {
        // The second start has read no active session and now waits on the index's entry:
        // when the first commits, the index refuses it.
        let mut waiting = false;
        for _ in 0..200 {
            let blocked = count(
                &db,
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .await?;
            if blocked > 0 {
                waiting = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(waiting, "the second start never waited for the first");
    }
    pending.commit().await?;
    let refused = racing.await?;
    if postgres {
        assert!(
            matches!(refused, Err(Error::SessionActive { active: None })),
            "{refused:?}"
        );
    } else {
        // SQLite's second writer waits for the first and then reads its session.
        assert!(
            matches!(refused, Err(Error::SessionActive { active: Some(id) }) if id == first.id),
            "{refused:?}"
        );
    }
    assert_eq!(
        sessions::active(&*db, ann).await?.map(|session| session.id),
        Some(first.id)
    );
    Ok(())
}
