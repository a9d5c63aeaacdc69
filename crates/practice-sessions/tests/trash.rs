//! Soft delete, restore and purge, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`)
//! PostgreSQL: what each delete soft-deletes (counted per table, marked with its batch) and
//! that default reads no longer see it; restore brings back exactly that set (not a row
//! deleted earlier on its own), refuses to bring rows back under deleted ones
//! (`ParentDeleted`) or into a name taken meanwhile (`Conflict`), writing nothing; purge
//! removes only rows deleted before its instant, children first, skipping definitions still
//! referred to, and reports its counts; a deleted name can be reused; another user's ids are
//! not found and change nothing; every table's restore and purge selection are served by its
//! `root_id` indexes, and the deletions list by its index.

use std::collections::BTreeMap;

use chrono::Utc;
use lifeos_core::db::placeholder;
use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
use lifeos_practice_sessions::entity::goals::GoalType;
use lifeos_practice_sessions::service::activities::{self, NewDefinition, NewMetric};
use lifeos_practice_sessions::service::sessions::{self, NewSession};
use lifeos_practice_sessions::service::templates::{self, NewTemplate};
use lifeos_practice_sessions::service::trash;
use lifeos_practice_sessions::service::tree;
use lifeos_testkit::TestDb;
use lifeos_testkit::explain::{assert_index_serves, assert_served_by_one_of};
use sea_orm::prelude::Uuid;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

mod common;
use common::{count, is_not_found, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// Every practice table.
const TABLES: [&str; 10] = [
    "goals",
    "practice_session_goals",
    "activity_groups",
    "activity_definitions",
    "metric_definitions",
    "split_definitions",
    "activity_instances",
    "metric_values",
    "session_templates",
    "practice_deletions",
];

/// What a refused call must leave as it is: the rows of every practice table, and per
/// soft-deletable table its live rows and its rows without a batch.
async fn state(db: &DatabaseConnection) -> Fallible<Vec<i64>> {
    let mut all = rows_in(db, &TABLES).await?;
    for table in trash::BATCHED {
        all.push(
            count(
                db,
                &format!("SELECT count(*) FROM {table} WHERE deleted_at IS NULL"),
            )
            .await?,
        );
        all.push(
            count(
                db,
                &format!("SELECT count(*) FROM {table} WHERE delete_batch_id IS NULL"),
            )
            .await?,
        );
    }
    Ok(all)
}

/// A map of counts per table.
fn rows(pairs: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
    pairs.iter().copied().collect()
}

/// The single row `sql` (with one placeholder, for `id`) selects.
async fn one_by_id(
    db: &DatabaseConnection,
    sql: &str,
    id: Uuid,
) -> Fallible<Option<sea_orm::QueryResult>> {
    let backend = db.get_database_backend();
    let sql = sql.replace("{id}", &placeholder(backend, 1));
    Ok(db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(id)],
        ))
        .await?)
}

/// The number of rows of `table` with id `id` (0 or 1).
async fn exists(db: &DatabaseConnection, table: &str, id: Uuid) -> Fallible<i64> {
    let row = one_by_id(
        db,
        &format!("SELECT count(*) FROM {table} WHERE id = {{id}}"),
        id,
    )
    .await?
    .ok_or("no count")?;
    Ok(row.try_get_by_index(0)?)
}

/// Whether row `id` of `table` exists and is not deleted.
async fn live(db: &DatabaseConnection, table: &str, id: Uuid) -> Fallible<bool> {
    let row = one_by_id(
        db,
        &format!("SELECT count(*) FROM {table} WHERE id = {{id}} AND deleted_at IS NULL"),
        id,
    )
    .await?
    .ok_or("no count")?;
    Ok(row.try_get_by_index::<i64>(0)? == 1)
}

/// The deletion that soft-deleted row `id` of `table` (`None` while live).
async fn batch_of(db: &DatabaseConnection, table: &str, id: Uuid) -> Fallible<Option<Uuid>> {
    let row = one_by_id(
        db,
        &format!("SELECT delete_batch_id FROM {table} WHERE id = {{id}}"),
        id,
    )
    .await?
    .ok_or_else(|| format!("no {table} row {id}"))?;
    Ok(row.try_get_by_index::<Option<Uuid>>(0)?)
}

/// Runs `sql` with `values`.
async fn execute(db: &DatabaseConnection, sql: String, values: Vec<Value>) -> TestResult {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// Whether `result` is `ParentDeleted` naming `what` `id`.
fn parent_deleted<T>(result: &Result<T, Error>, what: &str, id: Uuid) -> bool {
    matches!(result, Err(Error::ParentDeleted { what: w, id: i }) if *w == what && *i == id)
}

/// Whether `result` is the kernel's `Conflict`.
fn conflict<T>(result: &Result<T, Error>) -> bool {
    matches!(result, Err(Error::Core(lifeos_core::Error::Conflict(_))))
}

// The tree's default reads.

/// `tree::get`: the caller's live goal.
async fn get(db: &DatabaseConnection, owner: UserId, id: Uuid) -> Result<(), Error> {
    tree::get(db, owner, id).await.map(|_| ())
}

/// `tree::children`: the ids of the live children of `parent`, in order.
async fn children(db: &DatabaseConnection, owner: UserId, parent: Uuid) -> Fallible<Vec<Uuid>> {
    Ok(tree::children(db, owner, parent)
        .await?
        .iter()
        .map(|goal| goal.id)
        .collect())
}

/// A fractal with something of everything:
///
/// ```text
/// root ─ long ─ mid ─ short1 ─ immediate          session_a → [short1], with session_a_goal
///      │            └ short2                      session_b → [short2, short3]
///      └ long2 ─ mid2 ─ short3
/// ```
///
/// `definition` ("Scales", in `group`, metric `metric`) is performed once in each session
/// (`instance_a`, `instance_b`, one value each); `template` is a session template.
struct Fractal {
    root: Uuid,
    long: Uuid,
    mid: Uuid,
    short1: Uuid,
    immediate: Uuid,
    short2: Uuid,
    long2: Uuid,
    mid2: Uuid,
    short3: Uuid,
    session_a: Uuid,
    session_a_goal: Uuid,
    session_b: Uuid,
    group: Uuid,
    definition: Uuid,
    metric: Uuid,
    instance_a: Uuid,
    instance_b: Uuid,
    template: Uuid,
}

fn scales(group: Option<Uuid>) -> NewDefinition {
    NewDefinition {
        name: "Scales".to_owned(),
        group,
        has_metrics: true,
        metrics: vec![NewMetric {
            name: "reps".to_owned(),
            unit: "count".to_owned(),
            is_top_set: true,
            is_multiplicative: true,
        }],
        ..Default::default()
    }
}

async fn template(
    db: &DatabaseConnection,
    owner: UserId,
    root: Uuid,
    name: &str,
) -> Fallible<Uuid> {
    let new = NewTemplate {
        name: name.to_owned(),
        description: None,
        data: serde_json::json!({ "sections": [] }),
    };
    Ok(templates::create(db, owner, root, new).await?.id)
}

async fn fractal(db: &DatabaseConnection, owner: UserId, name: &str) -> Fallible<Fractal> {
    let child = move |parent: Uuid, goal_type: GoalType, name: &'static str| async move {
        tree::create_child(db, owner, parent, goal_type, name)
            .await
            .map(|goal| goal.id)
    };
    let root = tree::create_root(db, owner, name).await?.id;
    let long = child(root, GoalType::LongTermGoal, "Play well").await?;
    let mid = child(long, GoalType::MidTermGoal, "Repertoire").await?;
    let short1 = child(mid, GoalType::ShortTermGoal, "Etude").await?;
    let immediate = child(short1, GoalType::ImmediateGoal, "Bars 1-8").await?;
    let short2 = child(mid, GoalType::ShortTermGoal, "Sonata").await?;
    let long2 = child(root, GoalType::LongTermGoal, "Theory").await?;
    let mid2 = child(long2, GoalType::MidTermGoal, "Harmony").await?;
    let short3 = child(mid2, GoalType::ShortTermGoal, "Chorales").await?;
    let session_a = sessions::create(
        db,
        owner,
        NewSession {
            name: "Morning".to_owned(),
            goals: vec![short1],
            ..Default::default()
        },
    )
    .await?
    .id;
    let session_a_goal = child(session_a, GoalType::ImmediateGoal, "Warm up").await?;
    let session_b = sessions::create(
        db,
        owner,
        NewSession {
            name: "Evening".to_owned(),
            goals: vec![short2, short3],
            ..Default::default()
        },
    )
    .await?
    .id;
    let group = activities::create_group(db, owner, root, "Technique")
        .await?
        .id;
    let created = activities::create_definition(db, owner, root, scales(Some(group))).await?;
    let definition = created.definition.id;
    let metric = created.metrics.first().ok_or("no metric")?.id;
    let instance_a = sessions::add_instance(db, owner, session_a, definition, None)
        .await?
        .id;
    sessions::record_value(db, owner, instance_a, metric, None, 10.0).await?;
    let instance_b = sessions::add_instance(db, owner, session_b, definition, None)
        .await?
        .id;
    sessions::record_value(db, owner, instance_b, metric, None, 12.0).await?;
    let template = template(db, owner, root, "Daily").await?;
    Ok(Fractal {
        root,
        long,
        mid,
        short1,
        immediate,
        short2,
        long2,
        mid2,
        short3,
        session_a,
        session_a_goal,
        session_b,
        group,
        definition,
        metric,
        instance_a,
        instance_b,
        template,
    })
}

#[tokio::test]
async fn deleting_a_subtree_soft_deletes_exactly_it_and_restore_brings_it_back() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;

    let deletion = trash::delete_goal(&*db, ann, f.long).await?;
    // The subtree (long, mid, short1, immediate, short2), session_a (all its short-term goals
    // are in the subtree) with its goal and instance; session_b keeps short3, so it stays.
    assert_eq!(
        deletion.rows,
        rows(&[("activity_instances", 1), ("goals", 7)])
    );
    for id in [
        f.long,
        f.mid,
        f.short1,
        f.immediate,
        f.short2,
        f.session_a,
        f.session_a_goal,
    ] {
        assert_eq!(batch_of(&db, "goals", id).await?, Some(deletion.id), "{id}");
        assert!(!live(&db, "goals", id).await?);
    }
    assert_eq!(
        batch_of(&db, "activity_instances", f.instance_a).await?,
        Some(deletion.id)
    );
    for id in [f.root, f.long2, f.mid2, f.short3, f.session_b] {
        assert!(live(&db, "goals", id).await?, "{id}");
    }
    assert!(live(&db, "activity_instances", f.instance_b).await?);
    for (table, id) in [
        ("activity_groups", f.group),
        ("activity_definitions", f.definition),
        ("metric_definitions", f.metric),
        ("session_templates", f.template),
    ] {
        assert!(live(&db, table, id).await?, "{table}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM metric_values").await?, 2);
    let recorded = trash::deletions(&*db, ann).await?;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].id, deletion.id);
    assert_eq!(recorded[0].user_id, ann);
    assert_eq!(recorded[0].root_id, f.root);
    assert_eq!(
        recorded[0].entity,
        lifeos_practice_sessions::entity::practice_deletions::DeletedKind::Goal
    );
    assert_eq!(recorded[0].entity_id, f.long);

    // Default reads no longer see them; writes under them are refused, writing nothing.
    let before = state(&db).await?;
    for id in [f.long, f.short1, f.session_a] {
        let gone = get(&db, ann, id).await;
        assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    }
    assert_eq!(children(&db, ann, f.root).await?, vec![f.long2]);
    let under = tree::create_child(&*db, ann, f.mid, GoalType::ShortTermGoal, "New").await;
    assert!(under.as_ref().is_err_and(is_not_found), "{under:?}");
    let added = sessions::add_instance(&*db, ann, f.session_a, f.definition, None).await;
    assert!(added.as_ref().is_err_and(is_not_found), "{added:?}");
    let twice = trash::delete_goal(&*db, ann, f.mid).await;
    assert!(twice.as_ref().is_err_and(is_not_found), "{twice:?}");
    assert_eq!(state(&db).await?, before);

    // Restore brings back exactly that set.
    let restored = trash::restore(&*db, ann, deletion.id).await?;
    assert_eq!(restored, deletion.rows);
    for id in [
        f.long,
        f.mid,
        f.short1,
        f.immediate,
        f.short2,
        f.session_a,
        f.session_a_goal,
    ] {
        assert!(live(&db, "goals", id).await?, "{id}");
        assert_eq!(batch_of(&db, "goals", id).await?, None);
    }
    assert!(live(&db, "activity_instances", f.instance_a).await?);
    get(&db, ann, f.long).await?;
    assert_eq!(children(&db, ann, f.root).await?, vec![f.long, f.long2]);
    assert!(trash::deletions(&*db, ann).await?.is_empty());
    let again = trash::restore(&*db, ann, deletion.id).await;
    assert!(again.as_ref().is_err_and(is_not_found), "{again:?}");
    Ok(())
}

#[tokio::test]
async fn a_row_deleted_earlier_on_its_own_keeps_its_own_deletion() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;

    // short1 first: itself, its immediate goal, session_a (served only short1) with its goal
    // and instance.
    let first = trash::delete_goal(&*db, ann, f.short1).await?;
    assert_eq!(first.rows, rows(&[("activity_instances", 1), ("goals", 4)]));
    // Then long: only what is still live under it (session_b keeps short3).
    let second = trash::delete_goal(&*db, ann, f.long).await?;
    assert_eq!(second.rows, rows(&[("goals", 3)]));
    assert_eq!(batch_of(&db, "goals", f.short1).await?, Some(first.id));
    assert_eq!(batch_of(&db, "goals", f.mid).await?, Some(second.id));
    assert!(live(&db, "goals", f.session_b).await?);
    let listed: Vec<Uuid> = trash::deletions(&*db, ann)
        .await?
        .iter()
        .map(|deletion| deletion.id)
        .collect();
    assert_eq!(listed, vec![second.id, first.id], "newest first");

    // The first cannot come back while its parent is deleted.
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, first.id).await;
    assert!(parent_deleted(&refused, "goal", f.mid), "{refused:?}");
    assert_eq!(state(&db).await?, before);

    // Restoring the second leaves the first's rows deleted.
    let restored = trash::restore(&*db, ann, second.id).await?;
    assert_eq!(restored, rows(&[("goals", 3)]));
    for id in [f.long, f.mid, f.short2] {
        assert!(live(&db, "goals", id).await?);
    }
    for id in [f.short1, f.immediate, f.session_a, f.session_a_goal] {
        assert_eq!(batch_of(&db, "goals", id).await?, Some(first.id), "{id}");
    }
    assert_eq!(
        batch_of(&db, "activity_instances", f.instance_a).await?,
        Some(first.id)
    );
    assert_eq!(children(&db, ann, f.mid).await?, vec![f.short2]);

    // Now the first comes back too.
    let restored = trash::restore(&*db, ann, first.id).await?;
    assert_eq!(restored, first.rows);
    assert_eq!(children(&db, ann, f.mid).await?, vec![f.short1, f.short2]);
    assert!(live(&db, "activity_instances", f.instance_a).await?);
    Ok(())
}

#[tokio::test]
async fn a_deleted_root_takes_its_whole_fractal_and_comes_back_whole() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;
    let other = tree::create_root(&*db, ann, "Chess").await?.id;

    // The template goes first, on its own.
    let template = trash::delete_template(&*db, ann, f.template).await?;
    assert_eq!(template.rows, rows(&[("session_templates", 1)]));
    let root = trash::delete_goal(&*db, ann, f.root).await?;
    assert_eq!(
        root.rows,
        rows(&[
            ("activity_definitions", 1),
            ("activity_groups", 1),
            ("activity_instances", 2),
            ("goals", 12),
            ("metric_definitions", 1),
        ])
    );
    for table in trash::BATCHED {
        assert_eq!(
            count(
                &db,
                &format!("SELECT count(*) FROM {table} WHERE deleted_at IS NULL")
            )
            .await?,
            i64::from(table == "goals"),
            "{table}: only the other root is live"
        );
    }
    assert!(live(&db, "goals", other).await?);
    let gone = get(&db, ann, f.root).await;
    assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    let group = activities::create_group(&*db, ann, f.root, "Sight reading").await;
    assert!(group.as_ref().is_err_and(is_not_found), "{group:?}");

    let restored = trash::restore(&*db, ann, root.id).await?;
    assert_eq!(restored, root.rows);
    get(&db, ann, f.root).await?;
    assert!(live(&db, "activity_definitions", f.definition).await?);
    assert!(live(&db, "metric_definitions", f.metric).await?);
    assert!(live(&db, "activity_instances", f.instance_b).await?);
    assert_eq!(
        batch_of(&db, "session_templates", f.template).await?,
        Some(template.id),
        "deleted on its own, it stays deleted"
    );
    assert_eq!(trash::restore(&*db, ann, template.id).await?, template.rows);
    assert!(live(&db, "session_templates", f.template).await?);
    Ok(())
}

#[tokio::test]
async fn deleted_names_can_be_reused_and_restoring_into_a_taken_name_is_a_conflict() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;

    // A definition with its metric; instances and values stay (history).
    let deleted = trash::delete_definition(&*db, ann, f.definition).await?;
    assert_eq!(
        deleted.rows,
        rows(&[("activity_definitions", 1), ("metric_definitions", 1)])
    );
    assert!(live(&db, "activity_instances", f.instance_a).await?);
    assert_eq!(count(&db, "SELECT count(*) FROM metric_values").await?, 2);
    // Its name is free again.
    let again = activities::create_definition(&*db, ann, f.root, scales(None)).await?;

    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, deleted.id).await;
    assert!(conflict(&refused), "{refused:?}");
    assert_eq!(state(&db).await?, before);
    assert!(!live(&db, "activity_definitions", f.definition).await?);
    assert!(!live(&db, "metric_definitions", f.metric).await?);
    assert_eq!(
        trash::deletions(&*db, ann).await?.len(),
        1,
        "still restorable"
    );

    // Once the name is free, it comes back.
    trash::delete_definition(&*db, ann, again.definition.id).await?;
    assert_eq!(trash::restore(&*db, ann, deleted.id).await?, deleted.rows);
    assert!(live(&db, "activity_definitions", f.definition).await?);

    // Groups and templates likewise.
    let group = trash::delete_group(&*db, ann, f.group).await?;
    assert_eq!(group.rows, rows(&[("activity_groups", 1)]));
    assert!(
        live(&db, "activity_definitions", f.definition).await?,
        "a group's definitions stay"
    );
    activities::create_group(&*db, ann, f.root, "Technique").await?;
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, group.id).await;
    assert!(conflict(&refused), "{refused:?}");
    assert_eq!(state(&db).await?, before);
    let deleted_template = trash::delete_template(&*db, ann, f.template).await?;
    template(&db, ann, f.root, "Daily").await?;
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, deleted_template.id).await;
    assert!(conflict(&refused), "{refused:?}");
    assert_eq!(state(&db).await?, before);
    Ok(())
}

#[tokio::test]
async fn nothing_is_restored_under_a_row_that_stays_deleted() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;

    // An instance whose session is deleted.
    let instance = trash::delete_instance(&*db, ann, f.instance_b).await?;
    assert_eq!(instance.rows, rows(&[("activity_instances", 1)]));
    assert_eq!(
        count(&db, "SELECT count(*) FROM metric_values").await?,
        2,
        "values stay, hidden with their instance"
    );
    let session = trash::delete_goal(&*db, ann, f.session_b).await?;
    assert_eq!(session.rows, rows(&[("goals", 1)]));
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, instance.id).await;
    assert!(
        parent_deleted(&refused, "practice session", f.session_b),
        "{refused:?}"
    );
    assert_eq!(state(&db).await?, before);
    trash::restore(&*db, ann, session.id).await?;
    trash::restore(&*db, ann, instance.id).await?;
    assert!(live(&db, "activity_instances", f.instance_b).await?);

    // A session none of whose short-term goals is live.
    let session = trash::delete_goal(&*db, ann, f.session_a).await?;
    assert_eq!(
        session.rows,
        rows(&[("activity_instances", 1), ("goals", 2)])
    );
    let short = trash::delete_goal(&*db, ann, f.short1).await?;
    assert_eq!(short.rows, rows(&[("goals", 2)]));
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, session.id).await;
    assert!(
        parent_deleted(&refused, "short-term goal", f.short1),
        "{refused:?}"
    );
    assert_eq!(state(&db).await?, before);
    trash::restore(&*db, ann, short.id).await?;
    assert_eq!(trash::restore(&*db, ann, session.id).await?, session.rows);

    // A row of a fractal whose root is deleted by another deletion.
    let definition = trash::delete_definition(&*db, ann, f.definition).await?;
    let root = trash::delete_goal(&*db, ann, f.root).await?;
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, definition.id).await;
    assert!(parent_deleted(&refused, "fractal", f.root), "{refused:?}");
    assert_eq!(state(&db).await?, before);
    trash::restore(&*db, ann, root.id).await?;
    assert_eq!(
        trash::restore(&*db, ann, definition.id).await?,
        definition.rows
    );

    // A metric definition whose activity definition is deleted by another deletion (as the
    // activities module may delete one metric on its own): here, moved into the template's.
    let template = trash::delete_template(&*db, ann, f.template).await?;
    let definition = trash::delete_definition(&*db, ann, f.definition).await?;
    let backend = db.get_database_backend();
    execute(
        &db,
        format!(
            "UPDATE metric_definitions SET delete_batch_id = {} WHERE id = {}",
            placeholder(backend, 1),
            placeholder(backend, 2)
        ),
        vec![template.id.into(), f.metric.into()],
    )
    .await?;
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, template.id).await;
    assert!(
        parent_deleted(&refused, "activity definition", f.definition),
        "{refused:?}"
    );
    assert_eq!(state(&db).await?, before);
    assert_eq!(
        trash::restore(&*db, ann, definition.id).await?,
        rows(&[("activity_definitions", 1)])
    );
    assert_eq!(
        trash::restore(&*db, ann, template.id).await?,
        rows(&[("metric_definitions", 1), ("session_templates", 1)])
    );
    Ok(())
}

#[tokio::test]
async fn purge_removes_only_rows_deleted_before_its_instant_children_first() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;
    // A second definition with splits and no values.
    let tones = activities::create_definition(
        &*db,
        ann,
        f.root,
        NewDefinition {
            name: "Long tones".to_owned(),
            has_metrics: true,
            has_splits: true,
            metrics: vec![NewMetric {
                name: "seconds".to_owned(),
                unit: "s".to_owned(),
                is_top_set: false,
                is_multiplicative: false,
            }],
            splits: vec!["Left".to_owned(), "Right".to_owned()],
            ..Default::default()
        },
    )
    .await?;

    // Deleted before the instant.
    let short1 = trash::delete_goal(&*db, ann, f.short1).await?;
    assert_eq!(
        short1.rows,
        rows(&[("activity_instances", 1), ("goals", 4)])
    );
    let removed = trash::delete_definition(&*db, ann, tones.definition.id).await?;
    assert_eq!(
        removed.rows,
        rows(&[
            ("activity_definitions", 1),
            ("metric_definitions", 1),
            ("split_definitions", 2),
        ])
    );
    trash::delete_group(&*db, ann, f.group).await?;
    // Still performed by instance_b (live), whose value refers to its metric.
    let kept = trash::delete_definition(&*db, ann, f.definition).await?;
    let instant = Utc::now();
    // Deleted after it.
    let short2 = trash::delete_goal(&*db, ann, f.short2).await?;
    assert_eq!(short2.rows, rows(&[("goals", 1)]), "session_b keeps short3");
    let instance = trash::delete_instance(&*db, ann, f.instance_b).await?;

    let purged = trash::purge(&*db, ann, instant).await?;
    assert_eq!(
        purged,
        rows(&[
            ("activity_definitions", 1),
            ("activity_groups", 1),
            ("activity_instances", 1),
            ("goals", 4),
            ("metric_definitions", 1),
            ("metric_values", 1),
            ("practice_deletions", 3),
            ("split_definitions", 2),
        ])
    );
    for id in [f.short1, f.immediate, f.session_a, f.session_a_goal] {
        assert_eq!(exists(&db, "goals", id).await?, 0, "{id}");
    }
    assert_eq!(exists(&db, "activity_instances", f.instance_a).await?, 0);
    assert_eq!(
        exists(&db, "activity_definitions", tones.definition.id).await?,
        0
    );
    assert_eq!(exists(&db, "activity_groups", f.group).await?, 0);
    // Skipped: still referred to by instance_b and its value. Ungrouped.
    assert_eq!(exists(&db, "activity_definitions", f.definition).await?, 1);
    assert_eq!(exists(&db, "metric_definitions", f.metric).await?, 1);
    assert!(
        batch_of(&db, "activity_definitions", f.definition)
            .await?
            .is_some()
    );
    let ungrouped = one_by_id(
        &db,
        "SELECT count(*) FROM activity_definitions WHERE id = {id} AND group_id IS NULL",
        f.definition,
    )
    .await?
    .ok_or("no count")?;
    assert_eq!(ungrouped.try_get_by_index::<i64>(0)?, 1);
    // Deleted after the instant: still there, still restorable.
    assert_eq!(exists(&db, "goals", f.short2).await?, 1);
    assert_eq!(exists(&db, "activity_instances", f.instance_b).await?, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM metric_values").await?, 1);
    let listed: Vec<Uuid> = trash::deletions(&*db, ann)
        .await?
        .iter()
        .map(|deletion| deletion.id)
        .collect();
    // The deletion whose rows were kept stays, so they can still come back.
    assert_eq!(listed, vec![instance.id, short2.id, kept.id]);
    // Live rows are untouched.
    for id in [
        f.root,
        f.long,
        f.mid,
        f.long2,
        f.mid2,
        f.short3,
        f.session_b,
    ] {
        assert!(live(&db, "goals", id).await?, "{id}");
    }
    assert!(live(&db, "session_templates", f.template).await?);
    assert_eq!(trash::restore(&*db, ann, short2.id).await?, short2.rows);

    // Nothing more before the same instant.
    assert!(trash::purge(&*db, ann, instant).await?.is_empty());
    // Later, the instance goes, and with it what it held on to.
    let purged = trash::purge(&*db, ann, Utc::now()).await?;
    assert_eq!(
        purged,
        rows(&[
            ("activity_definitions", 1),
            ("activity_instances", 1),
            ("metric_definitions", 1),
            ("metric_values", 1),
            ("practice_deletions", 2),
        ])
    );
    assert_eq!(count(&db, "SELECT count(*) FROM metric_values").await?, 0);
    assert!(live(&db, "goals", f.session_b).await?);
    Ok(())
}

#[tokio::test]
async fn purging_a_deleted_root_removes_its_whole_fractal() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;
    trash::delete_goal(&*db, ann, f.root).await?;
    let purged = trash::purge(&*db, ann, Utc::now()).await?;
    assert_eq!(
        purged,
        rows(&[
            ("activity_definitions", 1),
            ("activity_groups", 1),
            ("activity_instances", 2),
            ("goals", 12),
            ("metric_definitions", 1),
            ("metric_values", 2),
            ("practice_deletions", 1),
            ("session_templates", 1),
        ])
    );
    assert_eq!(rows_in(&db, &TABLES).await?, vec![0; TABLES.len()]);
    Ok(())
}

#[tokio::test]
async fn another_users_ids_are_not_found_and_change_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;
    tree::create_root(&*db, bob, "Violin").await?;
    let deletion = trash::delete_goal(&*db, ann, f.short2).await?;

    let before = state(&db).await?;
    let attempts = vec![
        trash::delete_goal(&*db, bob, f.root).await,
        trash::delete_goal(&*db, bob, f.long).await,
        trash::delete_goal(&*db, bob, f.session_b).await,
        trash::delete_group(&*db, bob, f.group).await,
        trash::delete_definition(&*db, bob, f.definition).await,
        trash::delete_template(&*db, bob, f.template).await,
        trash::delete_instance(&*db, bob, f.instance_b).await,
    ];
    for attempt in attempts {
        assert!(attempt.as_ref().is_err_and(is_not_found), "{attempt:?}");
    }
    let restored = trash::restore(&*db, bob, deletion.id).await;
    assert!(restored.as_ref().is_err_and(is_not_found), "{restored:?}");
    let far = Utc::now() + chrono::TimeDelta::days(365);
    assert!(trash::purge(&*db, bob, far).await?.is_empty());
    assert!(trash::deletions(&*db, bob).await?.is_empty());
    assert_eq!(state(&db).await?, before);

    // Ann's deletion is still hers to restore.
    assert_eq!(trash::restore(&*db, ann, deletion.id).await?, deletion.rows);
    Ok(())
}

/// The indexes of `table` (one of [`trash::BATCHED`]) that lead with `root_id` and hold every
/// row. The partial unique name indexes (`uq_…_root_name`, live rows only) and the partial
/// goal indexes (`idx_goals_completed`, `idx_goals_practice_sessions`) cannot serve a
/// restore or a purge: their conditions are not implied by the statements'.
fn root_indexes(table: &str) -> Fallible<&'static [&'static str]> {
    Ok(match table {
        "goals" => &["idx_goals_root_id", "idx_goals_root_type"],
        "activity_groups" => &["idx_activity_groups_root"],
        "activity_definitions" => &["idx_activity_definitions_root"],
        "metric_definitions" => &["idx_metric_definitions_root"],
        "split_definitions" => &["idx_split_definitions_root"],
        "activity_instances" => &[
            "idx_activity_instances_root",
            "idx_activity_instances_root_date",
        ],
        "session_templates" => &["idx_session_templates_root"],
        other => return Err(format!("no root_id indexes listed for {other}").into()),
    })
}

#[tokio::test]
async fn restore_purge_and_the_deletions_list_are_served_by_their_indexes() -> TestResult {
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let (series, new_id, empty_json) = if backend == DbBackend::Postgres {
        (
            "SELECT g FROM generate_series(1, 300) AS g",
            "gen_random_uuid()",
            "CAST('{}' AS jsonb)",
        )
    } else {
        (
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 300) \
             SELECT g FROM s",
            "randomblob(16)",
            "'{}'",
        )
    };
    let p = |n: usize| placeholder(backend, n);
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    // Three fractals, each with 300 rows in every table a delete soft-deletes (goals, groups,
    // activity definitions, metric and split definitions of one of them, instances,
    // templates) and 300 deletions.
    let mut roots = Vec::new();
    for (owner, name) in [(ann, "Piano"), (ann, "Chess"), (bob, "Violin")] {
        let root = tree::create_root(&*db, owner, name).await?.id;
        roots.push(root);
        let long = tree::create_child(&*db, owner, root, GoalType::LongTermGoal, "Long")
            .await?
            .id;
        let mid = tree::create_child(&*db, owner, long, GoalType::MidTermGoal, "Mid")
            .await?
            .id;
        let short = tree::create_child(&*db, owner, mid, GoalType::ShortTermGoal, "Short")
            .await?
            .id;
        let session = sessions::create(
            &*db,
            owner,
            NewSession {
                name: "Session".to_owned(),
                goals: vec![short],
                ..Default::default()
            },
        )
        .await?
        .id;
        let definition = activities::create_definition(&*db, owner, root, scales(None))
            .await?
            .definition
            .id;
        execute(
            &db,
            format!(
                "INSERT INTO goals (id, user_id, type, name, parent_id, root_id) \
                 SELECT {new_id}, {}, 'LongTermGoal', 'goal ' || CAST(g AS TEXT), {}, {} \
                 FROM ({series}) AS series",
                owner.0,
                p(1),
                p(2)
            ),
            vec![root.into(), root.into()],
        )
        .await?;
        execute(
            &db,
            format!(
                "INSERT INTO activity_instances \
                 (id, practice_session_id, activity_definition_id, root_id, local_day) \
                 SELECT {new_id}, {}, {}, {}, CURRENT_DATE FROM ({series}) AS series",
                p(1),
                p(2),
                p(3)
            ),
            vec![session.into(), definition.into(), root.into()],
        )
        .await?;
        let template_values = format!("'template ' || CAST(g AS TEXT), {empty_json}");
        for (table, columns, values) in [
            ("activity_groups", "name", "'group ' || CAST(g AS TEXT)"),
            (
                "activity_definitions",
                "name",
                "'definition ' || CAST(g AS TEXT)",
            ),
            (
                "session_templates",
                "name, template_data",
                template_values.as_str(),
            ),
        ] {
            execute(
                &db,
                format!(
                    "INSERT INTO {table} (id, root_id, {columns}) \
                     SELECT {new_id}, {}, {values} FROM ({series}) AS series",
                    p(1)
                ),
                vec![root.into()],
            )
            .await?;
        }
        for (table, columns, values) in [
            (
                "metric_definitions",
                "name, unit",
                "'metric ' || CAST(g AS TEXT), 'count'",
            ),
            (
                "split_definitions",
                "name, \"order\"",
                "'split ' || CAST(g AS TEXT), g",
            ),
        ] {
            execute(
                &db,
                format!(
                    "INSERT INTO {table} (id, activity_id, root_id, {columns}) \
                     SELECT {new_id}, {}, {}, {values} FROM ({series}) AS series",
                    p(1),
                    p(2)
                ),
                vec![definition.into(), root.into()],
            )
            .await?;
        }
        execute(
            &db,
            format!(
                "INSERT INTO practice_deletions \
                 (id, user_id, root_id, entity, entity_id, deleted_at) \
                 SELECT {new_id}, {}, {}, 'goal', {}, CURRENT_TIMESTAMP \
                 FROM ({series}) AS series",
                owner.0,
                p(1),
                p(2)
            ),
            vec![root.into(), root.into()],
        )
        .await?;
    }
    db.execute_unprepared("ANALYZE").await?;

    let root = roots[0];
    let batch = Uuid::now_v7();
    // Each restore statement, and each purge selection, finds its rows by `root_id`.
    for table in trash::BATCHED {
        let indexes = root_indexes(table)?;
        let restore = trash::restore_sql(backend, table, root, batch)?;
        assert_served_by_one_of(&db, &restore, indexes, "root_id")
            .await
            .map_err(|error| format!("restoring {table}: {error}"))?;
        let selection = trash::purge_selection_sql(backend, table, root, Utc::now())?;
        assert_served_by_one_of(&db, &selection, indexes, "root_id")
            .await
            .map_err(|error| format!("purging {table}: {error}"))?;
    }
    let unknown = trash::restore_sql(backend, "metric_values", root, batch);
    assert!(unknown.is_err(), "only the tables deletes write");
    let unknown = trash::purge_selection_sql(backend, "metric_values", root, Utc::now());
    assert!(unknown.is_err(), "only the tables deletes write");

    let list = trash::deletions_sql(backend, ann);
    assert_index_serves(&db, &list, "idx_practice_deletions_user_deleted", "user_id").await?;
    assert_eq!(trash::deletions(&*db, ann).await?.len(), 600);
    assert_eq!(trash::deletions(&*db, bob).await?.len(), 300);
    Ok(())
}

#[tokio::test]
async fn a_deleted_running_session_comes_back_only_while_no_other_is_active() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;
    sessions::start(&*db, ann, f.session_a).await?;
    let deletion = trash::delete_goal(&*db, ann, f.session_a).await?;
    // With the running session deleted, another may start.
    sessions::start(&*db, ann, f.session_b).await?;
    let before = state(&db).await?;
    let refused = trash::restore(&*db, ann, deletion.id).await;
    assert!(
        matches!(
            refused,
            Err(Error::SessionActive { active: Some(id) }) if id == f.session_b
        ),
        "{refused:?}"
    );
    assert_eq!(state(&db).await?, before, "a refused restore wrote");
    sessions::end(&*db, ann, f.session_b).await?;
    assert_eq!(trash::restore(&*db, ann, deletion.id).await?, deletion.rows);
    assert_eq!(
        sessions::active(&*db, ann).await?.map(|session| session.id),
        Some(f.session_a)
    );
    Ok(())
}

#[tokio::test]
async fn a_deleted_group_reads_as_none_and_comes_back_with_its_definitions() -> TestResult {
    use lifeos_practice_sessions::service::activities::DefinitionEdit;
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let f = fractal(&db, ann, "Piano").await?;
    assert_eq!(
        activities::get_definition(&*db, ann, f.definition)
            .await?
            .definition
            .group_id,
        Some(f.group)
    );
    let deletion = trash::delete_group(&*db, ann, f.group).await?;
    let read = activities::get_definition(&*db, ann, f.definition).await?;
    assert_eq!(
        read.definition.group_id, None,
        "a deleted group reads as none"
    );
    let listed = activities::definitions(&*db, ann, f.root).await?;
    assert!(listed.iter().all(|each| each.definition.group_id.is_none()));
    // Sending back what was read keeps the link, so the group's restore regroups it.
    activities::update_definition(
        &*db,
        ann,
        f.definition,
        DefinitionEdit {
            group: Some(read.definition.group_id),
            ..Default::default()
        },
    )
    .await?;
    trash::restore(&*db, ann, deletion.id).await?;
    assert_eq!(
        activities::get_definition(&*db, ann, f.definition)
            .await?
            .definition
            .group_id,
        Some(f.group)
    );
    Ok(())
}
