//! Activities and session templates, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`)
//! PostgreSQL: groups (created last, edited, reordered), definitions with their metrics and
//! splits (every row under its true root), edits of the metric and split lists (removal as a
//! soft delete, a freed name reused, a swap of two names in one edit), templates; every
//! refusal (a duplicate live name, a group of another root, two top-set metrics, removing a
//! metric or split that has recorded values, bad input) writes nothing; a deleted row's name
//! can be reused; another user's ids behave as missing ones through every function; a root's
//! definitions, metrics and splits are read by their `root_id` indexes.

use chrono::Utc;
use lifeos_core::db::placeholder;
use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
use lifeos_practice_sessions::entity::goals::{self, GoalType};
use lifeos_practice_sessions::entity::{
    activity_definitions, activity_groups, activity_instances, metric_definitions, metric_values,
    session_templates, split_definitions,
};
use lifeos_practice_sessions::service::activities::{
    self, Definition, DefinitionEdit, GroupEdit, MetricSpec, NewDefinition, NewMetric, SplitSpec,
};
use lifeos_practice_sessions::service::templates::{self, NewTemplate, TemplateEdit};
use lifeos_practice_sessions::service::tree;
use lifeos_testkit::TestDb;
use lifeos_testkit::explain::{assert_index_serves, assert_served_by_one_of};
use sea_orm::prelude::Uuid;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder,
    QueryTrait, Set, Statement, Value,
};
use serde_json::json;

mod common;
use common::{is_invalid, is_not_found, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

// --- helpers ---

fn is_conflict(error: &Error) -> bool {
    matches!(error, Error::Core(lifeos_core::Error::Conflict(_)))
}

/// The error of a call that must be refused.
fn refused<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, Error>,
) -> Result<Error, Box<dyn std::error::Error>> {
    match result {
        Ok(value) => Err(format!("{what} was accepted: {value:?}").into()),
        Err(error) => Ok(error),
    }
}

fn metric(name: &str, unit: &str) -> NewMetric {
    NewMetric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        is_top_set: false,
        is_multiplicative: true,
    }
}

fn top_set(name: &str, unit: &str) -> NewMetric {
    NewMetric {
        is_top_set: true,
        ..metric(name, unit)
    }
}

fn definition(name: &str, metrics: Vec<NewMetric>, splits: &[&str]) -> NewDefinition {
    NewDefinition {
        name: name.to_owned(),
        has_metrics: !metrics.is_empty(),
        has_splits: !splits.is_empty(),
        metrics,
        splits: splits.iter().map(|split| (*split).to_owned()).collect(),
        ..Default::default()
    }
}

/// The spec that keeps `metric` as it is.
fn kept(metric: &metric_definitions::Model) -> MetricSpec {
    MetricSpec {
        id: Some(metric.id),
        name: metric.name.clone(),
        unit: metric.unit.clone(),
        is_top_set: metric.is_top_set_metric,
        is_multiplicative: metric.is_multiplicative,
        is_active: metric.is_active,
    }
}

/// The spec of a new active, multiplicative metric.
fn added(name: &str, unit: &str) -> MetricSpec {
    MetricSpec {
        id: None,
        name: name.to_owned(),
        unit: unit.to_owned(),
        is_top_set: false,
        is_multiplicative: true,
        is_active: true,
    }
}

/// The spec that keeps `split` as it is.
fn kept_split(split: &split_definitions::Model) -> SplitSpec {
    SplitSpec {
        id: Some(split.id),
        name: split.name.clone(),
    }
}

fn added_split(name: &str) -> SplitSpec {
    SplitSpec {
        id: None,
        name: name.to_owned(),
    }
}

fn template(name: &str) -> NewTemplate {
    NewTemplate {
        name: name.to_owned(),
        description: None,
        data: json!({ "sections": [{ "name": "Warm-up", "activities": [], "minutes": 10 }] }),
    }
}

/// `definition`'s `metrics` edit.
fn metrics_edit(metrics: Vec<MetricSpec>) -> DefinitionEdit {
    DefinitionEdit {
        metrics: Some(metrics),
        ..Default::default()
    }
}

/// `definition`'s `splits` edit.
fn splits_edit(splits: Vec<SplitSpec>) -> DefinitionEdit {
    DefinitionEdit {
        splits: Some(splits),
        ..Default::default()
    }
}

fn group_names(groups: &[activity_groups::Model]) -> Vec<String> {
    groups.iter().map(|group| group.name.clone()).collect()
}

fn names_of_metrics(definition: &Definition) -> Vec<String> {
    definition
        .metrics
        .iter()
        .map(|metric| metric.name.clone())
        .collect()
}

fn names_of_splits(definition: &Definition) -> Vec<String> {
    definition
        .splits
        .iter()
        .map(|split| split.name.clone())
        .collect()
}

/// The first (by position) metric and split of `definition`.
fn first_parts(
    definition: &Definition,
) -> Result<(metric_definitions::Model, split_definitions::Model), Box<dyn std::error::Error>> {
    Ok((
        definition.metrics.first().ok_or("no metric")?.clone(),
        definition.splits.first().ok_or("no split")?.clone(),
    ))
}

/// Every row of the tables these services write, counted and in full: what a refused call
/// must leave unchanged (an update shows in the rows, an insert in the counts).
#[derive(Debug, PartialEq)]
struct Written {
    counts: Vec<i64>,
    groups: Vec<activity_groups::Model>,
    definitions: Vec<activity_definitions::Model>,
    metrics: Vec<metric_definitions::Model>,
    splits: Vec<split_definitions::Model>,
    templates: Vec<session_templates::Model>,
    values: Vec<metric_values::Model>,
}

async fn written(db: &DatabaseConnection) -> Result<Written, Box<dyn std::error::Error>> {
    Ok(Written {
        counts: rows_in(
            db,
            &[
                "goals",
                "activity_groups",
                "activity_definitions",
                "metric_definitions",
                "split_definitions",
                "session_templates",
                "activity_instances",
                "metric_values",
            ],
        )
        .await?,
        groups: activity_groups::Entity::find()
            .order_by_asc(activity_groups::Column::Id)
            .all(db)
            .await?,
        definitions: activity_definitions::Entity::find()
            .order_by_asc(activity_definitions::Column::Id)
            .all(db)
            .await?,
        metrics: metric_definitions::Entity::find()
            .order_by_asc(metric_definitions::Column::Id)
            .all(db)
            .await?,
        splits: split_definitions::Entity::find()
            .order_by_asc(split_definitions::Column::Id)
            .all(db)
            .await?,
        templates: session_templates::Entity::find()
            .order_by_asc(session_templates::Column::Id)
            .all(db)
            .await?,
        values: metric_values::Entity::find()
            .order_by_asc(metric_values::Column::Id)
            .all(db)
            .await?,
    })
}

/// Soft-deletes the rows of `table` whose `column` is `id`, as a delete would (raw SQL).
async fn soft_delete(
    db: &DatabaseConnection,
    table: &str,
    column: &str,
    id: Uuid,
) -> Result<u64, Box<dyn std::error::Error>> {
    let backend = db.get_database_backend();
    let sql = format!(
        "UPDATE {table} SET deleted_at = updated_at WHERE {column} = {}",
        placeholder(backend, 1)
    );
    Ok(db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(id)],
        ))
        .await?
        .rows_affected())
}

/// Records a value of `metric` (for `split`) in a new practice session of `root`, written
/// directly: the session, an instance of `definition`, the value.
async fn record_value(
    db: &DatabaseConnection,
    owner: UserId,
    root: Uuid,
    definition: Uuid,
    metric: Uuid,
    split: Option<Uuid>,
) -> TestResult {
    let now = Utc::now();
    let session = goals::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(owner),
        goal_type: Set(GoalType::PracticeSession),
        name: Set("Morning practice".to_owned()),
        description: Set(None),
        completed: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        parent_id: Set(None),
        root_id: Set(root),
        sort_order: Set(0),
        total_paused_seconds: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let instance = activity_instances::ActiveModel {
        id: Set(Uuid::now_v7()),
        practice_session_id: Set(session.id),
        activity_definition_id: Set(definition),
        created_at: Set(now),
        completed: Set(false),
        root_id: Set(root),
        updated_at: Set(now),
        sort_order: Set(0),
        local_day: Set(now.date_naive()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    metric_values::ActiveModel {
        id: Set(Uuid::now_v7()),
        activity_instance_id: Set(instance.id),
        metric_definition_id: Set(metric),
        split_definition_id: Set(split),
        value: Set(-2.5),
        root_id: Set(root),
        updated_at: Set(now),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

// --- groups ---

#[tokio::test]
async fn groups_are_created_last_edited_and_reordered() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Piano").await?;
    let technique = activities::create_group(&*db, ann, root.id, "  Technique ").await?;
    assert_eq!(technique.name, "Technique");
    assert_eq!(technique.root_id, root.id);
    assert_eq!(technique.sort_order, 0);
    assert_eq!(technique.description, None);
    assert_eq!(technique.deleted_at, None);
    assert_eq!(technique.delete_batch_id, None);
    let repertoire = activities::create_group(&*db, ann, root.id, "Repertoire").await?;
    let theory = activities::create_group(&*db, ann, root.id, "Theory").await?;
    assert_eq!((repertoire.sort_order, theory.sort_order), (1, 2));
    assert_eq!(
        activities::get_group(&*db, ann, repertoire.id).await?,
        repertoire
    );
    assert_eq!(
        group_names(&activities::groups(&*db, ann, root.id).await?),
        ["Technique", "Repertoire", "Theory"]
    );

    // Edits: name and description; removing the description; an empty edit changes nothing.
    let edited = activities::update_group(
        &*db,
        ann,
        theory.id,
        GroupEdit {
            name: Some(" Music theory ".to_owned()),
            description: Some(Some("  harmony and form ".to_owned())),
        },
    )
    .await?;
    assert_eq!(edited.name, "Music theory");
    assert_eq!(edited.description.as_deref(), Some("harmony and form"));
    assert_eq!(
        (edited.id, edited.root_id, edited.sort_order),
        (theory.id, root.id, 2)
    );
    assert!(edited.updated_at >= theory.updated_at);
    assert_eq!(activities::get_group(&*db, ann, theory.id).await?, edited);
    let cleared = activities::update_group(
        &*db,
        ann,
        theory.id,
        GroupEdit {
            description: Some(None),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.name, "Music theory");
    let same = activities::update_group(&*db, ann, theory.id, GroupEdit::default()).await?;
    assert_eq!(same, cleared);

    // Reordering: every live group once.
    let reordered = activities::reorder_groups(
        &*db,
        ann,
        root.id,
        &[theory.id, technique.id, repertoire.id],
    )
    .await?;
    let places: Vec<(Uuid, i32)> = reordered
        .iter()
        .map(|group| (group.id, group.sort_order))
        .collect();
    assert_eq!(
        places,
        vec![(theory.id, 0), (technique.id, 1), (repertoire.id, 2)]
    );
    assert_eq!(activities::groups(&*db, ann, root.id).await?, reordered);
    // A new group goes last.
    let ear = activities::create_group(&*db, ann, root.id, "Ear training").await?;
    assert_eq!(ear.sort_order, 3);

    // A list that is not exactly the live groups is refused, and writes nothing.
    let before = written(&db).await?;
    for order in [
        vec![theory.id, technique.id, repertoire.id],
        vec![theory.id, technique.id, repertoire.id, ear.id, ear.id],
        vec![theory.id, technique.id, repertoire.id, repertoire.id],
        vec![theory.id, technique.id, repertoire.id, Uuid::now_v7()],
        vec![],
    ] {
        let error = refused(
            "a bad order",
            activities::reorder_groups(&*db, ann, root.id, &order).await,
        )?;
        assert!(is_invalid(&error, "order"), "{order:?}: {error:?}");
    }
    assert_eq!(written(&db).await?, before, "a refused reorder wrote");

    // A deleted group is gone from every read and from the order; the last place follows
    // the live groups.
    assert_eq!(
        soft_delete(&db, "activity_groups", "id", repertoire.id).await?,
        1
    );
    let gone = activities::get_group(&*db, ann, repertoire.id).await;
    assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    assert_eq!(
        group_names(&activities::groups(&*db, ann, root.id).await?),
        ["Music theory", "Technique", "Ear training"]
    );
    let error = refused(
        "a deleted group in the order",
        activities::reorder_groups(
            &*db,
            ann,
            root.id,
            &[ear.id, repertoire.id, technique.id, theory.id],
        )
        .await,
    )?;
    assert!(is_invalid(&error, "order"), "{error:?}");
    let edited_gone = activities::update_group(
        &*db,
        ann,
        repertoire.id,
        GroupEdit {
            name: Some("Back".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert!(
        edited_gone.as_ref().is_err_and(is_not_found),
        "{edited_gone:?}"
    );
    let reordered =
        activities::reorder_groups(&*db, ann, root.id, &[ear.id, technique.id, theory.id]).await?;
    assert_eq!(
        reordered
            .iter()
            .map(|group| group.sort_order)
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    // Its name is free again.
    let again = activities::create_group(&*db, ann, root.id, "Repertoire").await?;
    assert_ne!(again.id, repertoire.id);
    assert_eq!(again.sort_order, 3);
    Ok(())
}

// --- definitions ---

#[tokio::test]
async fn definitions_carry_their_metrics_and_splits_under_the_root() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let piano = tree::create_root(&*db, ann, "Piano").await?;
    let guitar = tree::create_root(&*db, ann, "Guitar").await?;
    let technique = activities::create_group(&*db, ann, piano.id, "Technique").await?;
    let scales = activities::create_definition(
        &*db,
        ann,
        piano.id,
        NewDefinition {
            description: Some("  major and minor ".to_owned()),
            group: Some(technique.id),
            has_sets: true,
            metrics_multiplicative: true,
            ..definition(
                " Scales ",
                vec![
                    top_set("Tempo", "bpm"),
                    metric(" Reps ", " count "),
                    NewMetric {
                        is_multiplicative: false,
                        ..metric("Rating", "stars")
                    },
                ],
                &["Left", " Right "],
            )
        },
    )
    .await?;
    let row = &scales.definition;
    assert_eq!(row.name, "Scales");
    assert_eq!(row.description.as_deref(), Some("major and minor"));
    assert_eq!(row.group_id, Some(technique.id));
    assert_eq!(row.root_id, piano.id);
    assert!(row.has_sets && row.has_metrics && row.metrics_multiplicative && row.has_splits);
    assert_eq!((row.deleted_at, row.delete_batch_id), (None, None));
    let metrics: Vec<(&str, &str, i32, bool, bool, bool)> = scales
        .metrics
        .iter()
        .map(|metric| {
            (
                metric.name.as_str(),
                metric.unit.as_str(),
                metric.sort_order,
                metric.is_top_set_metric,
                metric.is_multiplicative,
                metric.is_active,
            )
        })
        .collect();
    assert_eq!(
        metrics,
        vec![
            ("Tempo", "bpm", 0, true, true, true),
            ("Reps", "count", 1, false, true, true),
            ("Rating", "stars", 2, false, false, true),
        ]
    );
    let splits: Vec<(&str, i32)> = scales
        .splits
        .iter()
        .map(|split| (split.name.as_str(), split.order))
        .collect();
    assert_eq!(splits, vec![("Left", 0), ("Right", 1)]);
    for metric in &scales.metrics {
        assert_eq!((metric.activity_id, metric.root_id), (row.id, piano.id));
        assert_eq!(metric.deleted_at, None);
    }
    for split in &scales.splits {
        assert_eq!((split.activity_id, split.root_id), (row.id, piano.id));
        assert_eq!(split.deleted_at, None);
    }
    assert_eq!(activities::get_definition(&*db, ann, row.id).await?, scales);

    // Without metrics, splits or group; in another root the same name is no conflict.
    let strumming =
        activities::create_definition(&*db, ann, guitar.id, definition("Strumming", vec![], &[]))
            .await?;
    assert!(strumming.metrics.is_empty() && strumming.splits.is_empty());
    assert_eq!(strumming.definition.group_id, None);
    assert!(!strumming.definition.has_metrics && !strumming.definition.has_splits);
    let guitar_scales = activities::create_definition(
        &*db,
        ann,
        guitar.id,
        definition("Scales", vec![metric("Tempo", "bpm")], &[]),
    )
    .await?;
    let arpeggios = activities::create_definition(
        &*db,
        ann,
        piano.id,
        definition(
            "Arpeggios",
            vec![metric("Tempo", "bpm")],
            &["Hands together"],
        ),
    )
    .await?;
    assert_eq!(
        activities::definitions(&*db, ann, piano.id).await?,
        vec![scales.clone(), arpeggios.clone()]
    );
    assert_eq!(
        activities::definitions(&*db, ann, guitar.id).await?,
        vec![strumming.clone(), guitar_scales.clone()]
    );

    // Every row of every activity table sits under its true root.
    let all = written(&db).await?;
    for definition in &all.definitions {
        let expected = if [scales.definition.id, arpeggios.definition.id].contains(&definition.id) {
            piano.id
        } else {
            guitar.id
        };
        assert_eq!(definition.root_id, expected, "{definition:?}");
    }
    for group in &all.groups {
        assert_eq!(group.root_id, piano.id);
    }
    for metric in &all.metrics {
        let parent = all
            .definitions
            .iter()
            .find(|definition| definition.id == metric.activity_id)
            .ok_or("a metric without its definition")?;
        assert_eq!(metric.root_id, parent.root_id, "{metric:?}");
    }
    for split in &all.splits {
        let parent = all
            .definitions
            .iter()
            .find(|definition| definition.id == split.activity_id)
            .ok_or("a split without its definition")?;
        assert_eq!(split.root_id, parent.root_id, "{split:?}");
    }
    assert_eq!(all.metrics.len(), 5);
    assert_eq!(all.splits.len(), 3);

    // Editing the definition's own fields leaves its metrics and splits alone.
    let edited = activities::update_definition(
        &*db,
        ann,
        row.id,
        DefinitionEdit {
            name: Some(" Scales and modes ".to_owned()),
            description: Some(None),
            group: Some(None),
            has_sets: Some(false),
            metrics_multiplicative: Some(false),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(edited.definition.name, "Scales and modes");
    assert_eq!(edited.definition.description, None);
    assert_eq!(edited.definition.group_id, None);
    assert!(!edited.definition.has_sets && !edited.definition.metrics_multiplicative);
    assert!(edited.definition.has_metrics && edited.definition.has_splits);
    assert_eq!(edited.definition.root_id, piano.id);
    assert!(edited.definition.updated_at >= row.updated_at);
    assert_eq!(
        (&edited.metrics, &edited.splits),
        (&scales.metrics, &scales.splits)
    );
    let regrouped = activities::update_definition(
        &*db,
        ann,
        row.id,
        DefinitionEdit {
            group: Some(Some(technique.id)),
            has_splits: Some(false),
            has_metrics: Some(false),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(regrouped.definition.group_id, Some(technique.id));
    assert!(!regrouped.definition.has_splits && !regrouped.definition.has_metrics);
    let same = activities::update_definition(&*db, ann, row.id, DefinitionEdit::default()).await?;
    assert_eq!(same, regrouped);
    assert_eq!(activities::get_definition(&*db, ann, row.id).await?, same);
    Ok(())
}

#[tokio::test]
async fn metric_and_split_lists_are_edited_as_wanted_lists() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Strength").await?;
    let created = activities::create_definition(
        &*db,
        ann,
        root.id,
        definition(
            "Squat",
            vec![
                top_set("Weight", "kg"),
                metric("Reps", "count"),
                metric("Tempo", "s"),
            ],
            &["Left", "Right"],
        ),
    )
    .await?;
    let id = created.definition.id;
    let [weight, reps, tempo] = [0, 1, 2].map(|n| created.metrics.get(n).cloned());
    let (weight, reps, tempo) = (
        weight.ok_or("no weight")?,
        reps.ok_or("no reps")?,
        tempo.ok_or("no tempo")?,
    );

    // Reps removed, Tempo renamed and moved first, Weight made inactive, Rating added.
    let edited = activities::update_definition(
        &*db,
        ann,
        id,
        metrics_edit(vec![
            MetricSpec {
                name: " Cadence ".to_owned(),
                unit: "bpm".to_owned(),
                ..kept(&tempo)
            },
            MetricSpec {
                is_active: false,
                ..kept(&weight)
            },
            added("Rating", "stars"),
        ]),
    )
    .await?;
    let rows: Vec<(Uuid, &str, &str, i32, bool, bool)> = edited
        .metrics
        .iter()
        .map(|metric| {
            (
                metric.id,
                metric.name.as_str(),
                metric.unit.as_str(),
                metric.sort_order,
                metric.is_top_set_metric,
                metric.is_active,
            )
        })
        .collect();
    let rating = edited.metrics.get(2).ok_or("no rating")?.clone();
    assert_eq!(
        rows,
        vec![
            (tempo.id, "Cadence", "bpm", 0, false, true),
            (weight.id, "Weight", "kg", 1, true, false),
            (rating.id, "Rating", "stars", 2, false, true),
        ]
    );
    assert_eq!((rating.activity_id, rating.root_id), (id, root.id));
    assert!(
        edited
            .metrics
            .iter()
            .all(|metric| metric.updated_at >= weight.updated_at)
    );
    // The removed metric is soft-deleted, not by a deletion (no batch).
    let removed = metric_definitions::Entity::find_by_id(reps.id)
        .one(&*db)
        .await?
        .ok_or("the removed metric was hard-deleted")?;
    assert!(removed.deleted_at.is_some());
    assert_eq!(removed.delete_batch_id, None);
    assert_eq!(removed.name, "Reps");
    assert_eq!(
        activities::get_definition(&*db, ann, id).await?.metrics,
        edited.metrics
    );
    // The removed metric is no longer this definition's: listing it is refused.
    let error = refused(
        "a removed metric's id",
        activities::update_definition(&*db, ann, id, metrics_edit(vec![kept(&reps)])).await,
    )?;
    assert!(is_not_found(&error), "{error:?}");

    // Its name can be used again: by a new metric in a later edit.
    let readded = activities::update_definition(
        &*db,
        ann,
        id,
        metrics_edit(
            edited
                .metrics
                .iter()
                .map(kept)
                .chain([added("Reps", "count")])
                .collect(),
        ),
    )
    .await?;
    assert_eq!(
        names_of_metrics(&readded),
        ["Cadence", "Weight", "Rating", "Reps"]
    );
    let new_reps = readded.metrics.get(3).ok_or("no new reps")?;
    assert_ne!(new_reps.id, reps.id);
    assert_eq!(new_reps.sort_order, 3);
    // Kept metrics that did not change are not written.
    assert_eq!(readded.metrics.get(..3), Some(&edited.metrics[..]));

    // Removing one and adding one of the same name in a single edit works too.
    let replaced = activities::update_definition(
        &*db,
        ann,
        id,
        metrics_edit(
            readded
                .metrics
                .iter()
                .filter(|metric| metric.name != "Rating")
                .map(kept)
                .chain([added("Rating", "points")])
                .collect(),
        ),
    )
    .await?;
    assert_eq!(
        names_of_metrics(&replaced),
        ["Cadence", "Weight", "Reps", "Rating"]
    );
    let new_rating = replaced.metrics.get(3).ok_or("no new rating")?;
    assert_ne!(new_rating.id, rating.id);
    assert_eq!(new_rating.unit, "points");

    // Splits: one removed, one renamed, one added; the removed name used again later.
    let (left, right) = (
        created.splits.first().ok_or("no left")?.clone(),
        created.splits.get(1).ok_or("no right")?.clone(),
    );
    let split_edit = activities::update_definition(
        &*db,
        ann,
        id,
        splits_edit(vec![
            added_split("Both"),
            SplitSpec {
                name: "Right side".to_owned(),
                ..kept_split(&right)
            },
        ]),
    )
    .await?;
    let splits: Vec<(&str, i32)> = split_edit
        .splits
        .iter()
        .map(|split| (split.name.as_str(), split.order))
        .collect();
    assert_eq!(splits, vec![("Both", 0), ("Right side", 1)]);
    assert_eq!(
        split_edit.splits.get(1).map(|split| split.id),
        Some(right.id)
    );
    assert_eq!(split_edit.metrics, replaced.metrics, "the metrics stay");
    let removed = split_definitions::Entity::find_by_id(left.id)
        .one(&*db)
        .await?
        .ok_or("the removed split was hard-deleted")?;
    assert!(removed.deleted_at.is_some());
    assert_eq!(removed.delete_batch_id, None);
    let left_again = activities::update_definition(
        &*db,
        ann,
        id,
        splits_edit(
            split_edit
                .splits
                .iter()
                .map(kept_split)
                .chain([added_split("Left")])
                .collect(),
        ),
    )
    .await?;
    assert_eq!(names_of_splits(&left_again), ["Both", "Right side", "Left"]);
    for split in &left_again.splits {
        assert_eq!((split.activity_id, split.root_id), (id, root.id));
    }
    // An empty list removes them all.
    let none = activities::update_definition(&*db, ann, id, splits_edit(vec![])).await?;
    assert!(none.splits.is_empty());
    assert_eq!(none.metrics.len(), 4);
    Ok(())
}

#[tokio::test]
async fn two_names_swap_within_one_edit() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Strength").await?;
    let created = activities::create_definition(
        &*db,
        ann,
        root.id,
        definition(
            "Deadlift",
            vec![
                metric("Sets", "count"),
                metric("Reps", "count"),
                metric("Load", "kg"),
            ],
            &["Left", "Right", "Both"],
        ),
    )
    .await?;
    let id = created.definition.id;
    let ids: Vec<Uuid> = created.metrics.iter().map(|metric| metric.id).collect();
    let (sets, reps, load) = (
        created.metrics.first().ok_or("no sets")?,
        created.metrics.get(1).ok_or("no reps")?,
        created.metrics.get(2).ok_or("no load")?,
    );
    let swapped = activities::update_definition(
        &*db,
        ann,
        id,
        metrics_edit(vec![
            MetricSpec {
                name: "Reps".to_owned(),
                ..kept(sets)
            },
            MetricSpec {
                name: "Sets".to_owned(),
                ..kept(reps)
            },
            kept(load),
        ]),
    )
    .await?;
    assert_eq!(names_of_metrics(&swapped), ["Reps", "Sets", "Load"]);
    assert_eq!(
        swapped
            .metrics
            .iter()
            .map(|metric| metric.id)
            .collect::<Vec<_>>(),
        ids,
        "the rows keep their ids and places"
    );
    // A rotation of three, with a change of order, in one edit.
    let rotated = activities::update_definition(
        &*db,
        ann,
        id,
        metrics_edit(
            swapped
                .metrics
                .iter()
                .rev()
                .zip(["Reps", "Load", "Sets"])
                .map(|(metric, name)| MetricSpec {
                    name: name.to_owned(),
                    ..kept(metric)
                })
                .collect(),
        ),
    )
    .await?;
    assert_eq!(names_of_metrics(&rotated), ["Reps", "Load", "Sets"]);
    assert_eq!(
        rotated
            .metrics
            .iter()
            .map(|metric| metric.id)
            .collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    assert_eq!(
        activities::get_definition(&*db, ann, id).await?.metrics,
        rotated.metrics
    );

    // Splits swap the same way.
    let splits = activities::update_definition(
        &*db,
        ann,
        id,
        splits_edit(
            created
                .splits
                .iter()
                .zip(["Right", "Left", "Both"])
                .map(|(split, name)| SplitSpec {
                    name: name.to_owned(),
                    ..kept_split(split)
                })
                .collect(),
        ),
    )
    .await?;
    assert_eq!(names_of_splits(&splits), ["Right", "Left", "Both"]);
    assert_eq!(
        splits
            .splits
            .iter()
            .map(|split| split.id)
            .collect::<Vec<_>>(),
        created
            .splits
            .iter()
            .map(|split| split.id)
            .collect::<Vec<_>>()
    );
    Ok(())
}

#[tokio::test]
async fn a_metric_or_split_with_recorded_values_is_never_edited_away() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Climbing").await?;
    let created = activities::create_definition(
        &*db,
        ann,
        root.id,
        definition(
            "Hangboard",
            vec![metric("Load", "kg"), metric("Seconds", "s")],
            &["Left", "Right"],
        ),
    )
    .await?;
    let id = created.definition.id;
    let (load, left) = first_parts(&created)?;
    let seconds = created.metrics.get(1).ok_or("no seconds")?.clone();
    let right = created.splits.get(1).ok_or("no right")?.clone();
    record_value(&db, ann, root.id, id, load.id, Some(left.id)).await?;
    let before = written(&db).await?;

    // Leaving out Load (it has a value), with a rename and a new metric in the same edit.
    let error = refused(
        "removing a metric with values",
        activities::update_definition(
            &*db,
            ann,
            id,
            DefinitionEdit {
                name: Some("Fingerboard".to_owned()),
                metrics: Some(vec![kept(&seconds), added("Edge", "mm")]),
                splits: Some(vec![kept_split(&left), kept_split(&right)]),
                ..Default::default()
            },
        )
        .await,
    )?;
    assert!(
        matches!(&error, Error::HasValues { what: "metric definition", id } if *id == load.id),
        "{error:?}"
    );
    // Leaving out Left (it has a value), with a change of the metrics that would be fine.
    let error = refused(
        "removing a split with values",
        activities::update_definition(
            &*db,
            ann,
            id,
            DefinitionEdit {
                metrics: Some(vec![kept(&load), kept(&seconds), added("Edge", "mm")]),
                splits: Some(vec![kept_split(&right), added_split("Both")]),
                ..Default::default()
            },
        )
        .await,
    )?;
    assert!(
        matches!(&error, Error::HasValues { what: "split definition", id } if *id == left.id),
        "{error:?}"
    );
    // Removing everything: the first metric with values is named.
    let error = refused(
        "removing every metric",
        activities::update_definition(&*db, ann, id, metrics_edit(vec![])).await,
    )?;
    assert!(
        matches!(&error, Error::HasValues { what: "metric definition", id } if *id == load.id),
        "{error:?}"
    );
    assert_eq!(written(&db).await?, before, "a refused edit wrote");
    assert_eq!(activities::get_definition(&*db, ann, id).await?, created);

    // What is allowed: deactivating it, renaming it, removing what has no values.
    let allowed = activities::update_definition(
        &*db,
        ann,
        id,
        DefinitionEdit {
            metrics: Some(vec![MetricSpec {
                name: "Added load".to_owned(),
                is_active: false,
                ..kept(&load)
            }]),
            splits: Some(vec![kept_split(&left)]),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(names_of_metrics(&allowed), ["Added load"]);
    assert!(allowed.metrics.iter().all(|metric| !metric.is_active));
    assert_eq!(names_of_splits(&allowed), ["Left"]);
    let values = written(&db).await?.values;
    assert_eq!(values, before.values, "the recorded value stays");
    Ok(())
}

#[tokio::test]
async fn every_refusal_is_typed_and_writes_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Piano").await?;
    let other = tree::create_root(&*db, ann, "Guitar").await?;
    let technique = activities::create_group(&*db, ann, root.id, "Technique").await?;
    let repertoire = activities::create_group(&*db, ann, root.id, "Repertoire").await?;
    let elsewhere = activities::create_group(&*db, ann, other.id, "Elsewhere").await?;
    let scales = activities::create_definition(
        &*db,
        ann,
        root.id,
        definition(
            "Scales",
            vec![top_set("Tempo", "bpm"), metric("Reps", "count")],
            &["Left", "Right"],
        ),
    )
    .await?;
    let arpeggios = activities::create_definition(
        &*db,
        ann,
        root.id,
        definition("Arpeggios", vec![metric("Tempo", "bpm")], &[]),
    )
    .await?;
    let warm_up = templates::create(&*db, ann, root.id, template("Warm-up")).await?;
    let cool_down = templates::create(&*db, ann, root.id, template("Cool-down")).await?;
    let (tempo, left) = first_parts(&scales)?;
    let reps = scales.metrics.get(1).ok_or("no reps")?.clone();
    let right = scales.splits.get(1).ok_or("no right")?.clone();
    let foreign_metric = arpeggios.metrics.first().ok_or("no metric")?.clone();
    let before = written(&db).await?;

    // Duplicate live names: Conflict.
    let conflicts: Vec<(&str, Result<(), Error>)> = vec![
        (
            "a group's name",
            activities::create_group(&*db, ann, root.id, " Technique ")
                .await
                .map(drop),
        ),
        (
            "a group renamed to another's",
            activities::update_group(
                &*db,
                ann,
                repertoire.id,
                GroupEdit {
                    name: Some("Technique".to_owned()),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "a definition's name",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                definition("Scales", vec![metric("Tempo", "bpm")], &["Left"]),
            )
            .await
            .map(drop),
        ),
        (
            "a definition renamed to another's",
            activities::update_definition(
                &*db,
                ann,
                arpeggios.definition.id,
                DefinitionEdit {
                    name: Some("Scales".to_owned()),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "a metric listed twice",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                definition(
                    "Chords",
                    vec![metric("Tempo", "bpm"), metric(" Tempo ", "s")],
                    &[],
                ),
            )
            .await
            .map(drop),
        ),
        (
            "a split listed twice",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                definition("Chords", vec![], &["Left", "Left"]),
            )
            .await
            .map(drop),
        ),
        (
            "a new metric named as a kept one",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                metrics_edit(vec![kept(&tempo), kept(&reps), added("Reps", "count")]),
            )
            .await
            .map(drop),
        ),
        (
            "a metric renamed to a kept one's name",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                metrics_edit(vec![
                    MetricSpec {
                        name: "Reps".to_owned(),
                        ..kept(&tempo)
                    },
                    kept(&reps),
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "a split renamed to a kept one's name",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                splits_edit(vec![
                    kept_split(&left),
                    SplitSpec {
                        name: "Left".to_owned(),
                        ..kept_split(&right)
                    },
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "a template's name",
            templates::create(&*db, ann, root.id, template("Warm-up"))
                .await
                .map(drop),
        ),
        (
            "a template renamed to another's",
            templates::update(
                &*db,
                ann,
                cool_down.id,
                TemplateEdit {
                    name: Some(" Warm-up".to_owned()),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
    ];
    for (what, result) in conflicts {
        let error = refused(what, result)?;
        assert!(is_conflict(&error), "{what}: {error:?}");
    }

    // Bad input: Invalid, with its field.
    let invalid: Vec<(&str, Result<(), Error>)> = vec![
        (
            "metrics",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                definition(
                    "Chords",
                    vec![top_set("Tempo", "bpm"), top_set("Load", "kg")],
                    &[],
                ),
            )
            .await
            .map(drop),
        ),
        (
            "metrics",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                metrics_edit(vec![
                    kept(&tempo),
                    MetricSpec {
                        is_top_set: true,
                        ..kept(&reps)
                    },
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "metrics",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                metrics_edit(vec![
                    kept(&tempo),
                    MetricSpec {
                        name: "Tempo again".to_owned(),
                        ..kept(&tempo)
                    },
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "splits",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                splits_edit(vec![
                    kept_split(&left),
                    SplitSpec {
                        name: "Other".to_owned(),
                        ..kept_split(&left)
                    },
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "name",
            activities::create_group(&*db, ann, root.id, "   ")
                .await
                .map(drop),
        ),
        (
            "name",
            activities::create_group(&*db, ann, root.id, &"g".repeat(201))
                .await
                .map(drop),
        ),
        (
            "name",
            activities::create_definition(&*db, ann, root.id, definition("", vec![], &[]))
                .await
                .map(drop),
        ),
        (
            "metric_name",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                definition("Chords", vec![metric(" ", "bpm")], &[]),
            )
            .await
            .map(drop),
        ),
        (
            "unit",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                definition("Chords", vec![metric("Tempo", "")], &[]),
            )
            .await
            .map(drop),
        ),
        (
            "split_name",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                definition("Chords", vec![], &["Left", "\0"]),
            )
            .await
            .map(drop),
        ),
        (
            "description",
            activities::update_group(
                &*db,
                ann,
                technique.id,
                GroupEdit {
                    description: Some(Some("d".repeat(10_001))),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "template_data",
            templates::create(
                &*db,
                ann,
                root.id,
                NewTemplate {
                    data: json!(["not", "an", "object"]),
                    ..template("Evening")
                },
            )
            .await
            .map(drop),
        ),
        (
            "template_data",
            templates::update(
                &*db,
                ann,
                warm_up.id,
                TemplateEdit {
                    data: Some(json!(null)),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "name",
            templates::create(&*db, ann, root.id, template(" "))
                .await
                .map(drop),
        ),
    ];
    for (field, result) in invalid {
        let error = refused(field, result)?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }

    // Rows that are not where the call says: NotFound.
    let not_found: Vec<(&str, Result<(), Error>)> = vec![
        (
            "a group of another root",
            activities::create_definition(
                &*db,
                ann,
                root.id,
                NewDefinition {
                    group: Some(elsewhere.id),
                    ..definition("Chords", vec![metric("Tempo", "bpm")], &["Left"])
                },
            )
            .await
            .map(drop),
        ),
        (
            "a group of another root, by an edit",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                DefinitionEdit {
                    name: Some("Renamed".to_owned()),
                    group: Some(Some(elsewhere.id)),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "a metric of another definition",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                metrics_edit(vec![
                    kept(&tempo),
                    kept(&reps),
                    MetricSpec {
                        name: "Borrowed".to_owned(),
                        ..kept(&foreign_metric)
                    },
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "a split that does not exist",
            activities::update_definition(
                &*db,
                ann,
                scales.definition.id,
                splits_edit(vec![SplitSpec {
                    id: Some(Uuid::now_v7()),
                    name: "Ghost".to_owned(),
                }]),
            )
            .await
            .map(drop),
        ),
        (
            "a root that does not exist",
            activities::create_group(&*db, ann, Uuid::now_v7(), "Lost")
                .await
                .map(drop),
        ),
        (
            "a group id as a root",
            templates::create(&*db, ann, technique.id, template("Lost"))
                .await
                .map(drop),
        ),
    ];
    for (what, result) in not_found {
        let error = refused(what, result)?;
        assert!(is_not_found(&error), "{what}: {error:?}");
    }
    assert_eq!(written(&db).await?, before, "a refused call wrote");
    Ok(())
}

#[tokio::test]
async fn a_deleted_rows_name_can_be_reused() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Piano").await?;
    let group = activities::create_group(&*db, ann, root.id, "Technique").await?;
    let scales = activities::create_definition(
        &*db,
        ann,
        root.id,
        NewDefinition {
            group: Some(group.id),
            ..definition("Scales", vec![metric("Tempo", "bpm")], &["Left"])
        },
    )
    .await?;
    let warm_up = templates::create(&*db, ann, root.id, template("Warm-up")).await?;

    // The definition, with its metrics and splits (a delete takes them along).
    assert_eq!(
        soft_delete(&db, "activity_definitions", "id", scales.definition.id).await?,
        1
    );
    soft_delete(
        &db,
        "metric_definitions",
        "activity_id",
        scales.definition.id,
    )
    .await?;
    soft_delete(
        &db,
        "split_definitions",
        "activity_id",
        scales.definition.id,
    )
    .await?;
    let gone = activities::get_definition(&*db, ann, scales.definition.id).await;
    assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    assert!(
        activities::definitions(&*db, ann, root.id)
            .await?
            .is_empty()
    );
    let edited = activities::update_definition(
        &*db,
        ann,
        scales.definition.id,
        DefinitionEdit {
            name: Some("Back".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert!(edited.as_ref().is_err_and(is_not_found), "{edited:?}");
    let again = activities::create_definition(
        &*db,
        ann,
        root.id,
        definition("Scales", vec![metric("Tempo", "bpm")], &["Left"]),
    )
    .await?;
    assert_ne!(again.definition.id, scales.definition.id);
    assert_eq!(
        activities::definitions(&*db, ann, root.id).await?,
        vec![again.clone()]
    );
    // A live definition may be renamed to a deleted one's name too.
    let renamed =
        activities::create_definition(&*db, ann, root.id, definition("Arpeggios", vec![], &[]))
            .await?;
    soft_delete(&db, "activity_definitions", "id", again.definition.id).await?;
    let taken = activities::update_definition(
        &*db,
        ann,
        renamed.definition.id,
        DefinitionEdit {
            name: Some("Scales".to_owned()),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(taken.definition.name, "Scales");

    // The group: gone from reads, not joinable, its name free.
    soft_delete(&db, "activity_groups", "id", group.id).await?;
    let gone = activities::get_group(&*db, ann, group.id).await;
    assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    assert!(activities::groups(&*db, ann, root.id).await?.is_empty());
    let joined = activities::update_definition(
        &*db,
        ann,
        taken.definition.id,
        DefinitionEdit {
            group: Some(Some(group.id)),
            ..Default::default()
        },
    )
    .await;
    assert!(joined.as_ref().is_err_and(is_not_found), "{joined:?}");
    let group_again = activities::create_group(&*db, ann, root.id, "Technique").await?;
    assert_eq!(group_again.sort_order, 0);

    // The template.
    soft_delete(&db, "session_templates", "id", warm_up.id).await?;
    let gone = templates::get(&*db, ann, warm_up.id).await;
    assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    assert!(templates::list(&*db, ann, root.id).await?.is_empty());
    let updated = templates::update(
        &*db,
        ann,
        warm_up.id,
        TemplateEdit {
            name: Some("Back".to_owned()),
            ..Default::default()
        },
    )
    .await;
    assert!(updated.as_ref().is_err_and(is_not_found), "{updated:?}");
    let template_again = templates::create(&*db, ann, root.id, template("Warm-up")).await?;
    assert_ne!(template_again.id, warm_up.id);
    Ok(())
}

// --- templates ---

#[tokio::test]
async fn templates_are_created_listed_and_edited() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Piano").await?;
    let other = tree::create_root(&*db, ann, "Guitar").await?;
    let data = json!({
        "sections": [
            { "name": "Scales", "activity_ids": ["a", "b"], "duration_minutes": 10 },
            { "name": "Pieces", "activity_ids": [], "duration_minutes": 20.5 }
        ],
        "notes": null
    });
    let warm_up = templates::create(
        &*db,
        ann,
        root.id,
        NewTemplate {
            name: "  Warm-up ".to_owned(),
            description: Some(" before breakfast ".to_owned()),
            data: data.clone(),
        },
    )
    .await?;
    assert_eq!(warm_up.name, "Warm-up");
    assert_eq!(warm_up.description.as_deref(), Some("before breakfast"));
    assert_eq!(warm_up.root_id, root.id);
    assert_eq!(warm_up.template_data, data);
    assert_eq!((warm_up.deleted_at, warm_up.delete_batch_id), (None, None));
    assert_eq!(templates::get(&*db, ann, warm_up.id).await?, warm_up);
    let blues = templates::create(&*db, ann, root.id, template("Blues")).await?;
    let elsewhere = templates::create(&*db, ann, other.id, template("Warm-up")).await?;
    assert_eq!(elsewhere.root_id, other.id);
    assert_eq!(
        templates::list(&*db, ann, root.id).await?,
        vec![blues.clone(), warm_up.clone()]
    );
    assert_eq!(templates::list(&*db, ann, other.id).await?, vec![elsewhere]);

    let changed = json!({ "sections": [] });
    let edited = templates::update(
        &*db,
        ann,
        warm_up.id,
        TemplateEdit {
            name: Some("Zen warm-up".to_owned()),
            description: Some(None),
            data: Some(changed.clone()),
        },
    )
    .await?;
    assert_eq!(edited.name, "Zen warm-up");
    assert_eq!(edited.description, None);
    assert_eq!(edited.template_data, changed);
    assert_eq!((edited.id, edited.root_id), (warm_up.id, root.id));
    assert!(edited.updated_at >= warm_up.updated_at);
    assert_eq!(templates::get(&*db, ann, warm_up.id).await?, edited);
    let same = templates::update(&*db, ann, warm_up.id, TemplateEdit::default()).await?;
    assert_eq!(same, edited);
    let same_data = templates::update(
        &*db,
        ann,
        warm_up.id,
        TemplateEdit {
            data: Some(changed),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(same_data, edited, "unchanged data is not written");
    assert_eq!(
        templates::list(&*db, ann, root.id).await?,
        vec![blues, edited]
    );

    let before = written(&db).await?;
    for data in [json!([1, 2]), json!("sections"), json!(null), json!(3)] {
        let error = refused(
            "data that is not an object",
            templates::create(
                &*db,
                ann,
                root.id,
                NewTemplate {
                    data,
                    ..template("Evening")
                },
            )
            .await,
        )?;
        assert!(is_invalid(&error, "template_data"), "{error:?}");
    }
    assert_eq!(written(&db).await?, before, "a refused template wrote");
    Ok(())
}

// --- tenants ---

#[tokio::test]
async fn another_users_ids_behave_as_missing_ones() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let anns_root = tree::create_root(&*db, ann, "Piano").await?;
    let anns_group = activities::create_group(&*db, ann, anns_root.id, "Technique").await?;
    let anns = activities::create_definition(
        &*db,
        ann,
        anns_root.id,
        NewDefinition {
            group: Some(anns_group.id),
            ..definition("Scales", vec![metric("Tempo", "bpm")], &["Left"])
        },
    )
    .await?;
    let (anns_metric, anns_split) = first_parts(&anns)?;
    let anns_template = templates::create(&*db, ann, anns_root.id, template("Warm-up")).await?;
    let bobs_root = tree::create_root(&*db, bob, "Drums").await?;
    let bobs = activities::create_definition(
        &*db,
        bob,
        bobs_root.id,
        definition("Rudiments", vec![metric("Tempo", "bpm")], &["Left"]),
    )
    .await?;
    let (bobs_metric, bobs_split) = first_parts(&bobs)?;
    let before = written(&db).await?;

    let calls: Vec<(&str, Result<(), Error>)> = vec![
        (
            "create_group",
            activities::create_group(&*db, bob, anns_root.id, "Mine")
                .await
                .map(drop),
        ),
        (
            "get_group",
            activities::get_group(&*db, bob, anns_group.id)
                .await
                .map(drop),
        ),
        (
            "update_group",
            activities::update_group(
                &*db,
                bob,
                anns_group.id,
                GroupEdit {
                    name: Some("Mine".to_owned()),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "update_group without changes",
            activities::update_group(&*db, bob, anns_group.id, GroupEdit::default())
                .await
                .map(drop),
        ),
        (
            "groups",
            activities::groups(&*db, bob, anns_root.id).await.map(drop),
        ),
        (
            "reorder_groups",
            activities::reorder_groups(&*db, bob, anns_root.id, &[anns_group.id])
                .await
                .map(drop),
        ),
        (
            "create_definition",
            activities::create_definition(
                &*db,
                bob,
                anns_root.id,
                definition("Mine", vec![metric("Tempo", "bpm")], &["Left"]),
            )
            .await
            .map(drop),
        ),
        (
            "create_definition in Ann's group",
            activities::create_definition(
                &*db,
                bob,
                bobs_root.id,
                NewDefinition {
                    group: Some(anns_group.id),
                    ..definition("Mine", vec![], &[])
                },
            )
            .await
            .map(drop),
        ),
        (
            "get_definition",
            activities::get_definition(&*db, bob, anns.definition.id)
                .await
                .map(drop),
        ),
        (
            "definitions",
            activities::definitions(&*db, bob, anns_root.id)
                .await
                .map(drop),
        ),
        (
            "update_definition",
            activities::update_definition(
                &*db,
                bob,
                anns.definition.id,
                DefinitionEdit {
                    name: Some("Mine".to_owned()),
                    metrics: Some(vec![]),
                    splits: Some(vec![]),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "update_definition without changes",
            activities::update_definition(&*db, bob, anns.definition.id, DefinitionEdit::default())
                .await
                .map(drop),
        ),
        (
            "update_definition into Ann's group",
            activities::update_definition(
                &*db,
                bob,
                bobs.definition.id,
                DefinitionEdit {
                    group: Some(Some(anns_group.id)),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
        (
            "update_definition with Ann's metric",
            activities::update_definition(
                &*db,
                bob,
                bobs.definition.id,
                metrics_edit(vec![
                    kept(&bobs_metric),
                    MetricSpec {
                        name: "Hers".to_owned(),
                        ..kept(&anns_metric)
                    },
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "update_definition renaming Ann's metric",
            activities::update_definition(
                &*db,
                bob,
                bobs.definition.id,
                metrics_edit(vec![MetricSpec {
                    name: "Stolen".to_owned(),
                    ..kept(&anns_metric)
                }]),
            )
            .await
            .map(drop),
        ),
        (
            "update_definition with Ann's split",
            activities::update_definition(
                &*db,
                bob,
                bobs.definition.id,
                splits_edit(vec![
                    kept_split(&bobs_split),
                    SplitSpec {
                        name: "Hers".to_owned(),
                        ..kept_split(&anns_split)
                    },
                ]),
            )
            .await
            .map(drop),
        ),
        (
            "templates::create",
            templates::create(&*db, bob, anns_root.id, template("Mine"))
                .await
                .map(drop),
        ),
        (
            "templates::get",
            templates::get(&*db, bob, anns_template.id).await.map(drop),
        ),
        (
            "templates::list",
            templates::list(&*db, bob, anns_root.id).await.map(drop),
        ),
        (
            "templates::update",
            templates::update(
                &*db,
                bob,
                anns_template.id,
                TemplateEdit {
                    name: Some("Mine".to_owned()),
                    data: Some(json!({})),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        ),
    ];
    for (what, result) in calls {
        let error = refused(what, result)?;
        assert!(is_not_found(&error), "{what}: {error:?}");
    }
    // Ann's group ids in Bob's own reorder: the answer an unknown id gets.
    let guessed = refused(
        "Ann's group in Bob's order",
        activities::reorder_groups(&*db, bob, bobs_root.id, &[anns_group.id]).await,
    )?;
    let unknown = refused(
        "an unknown group in Bob's order",
        activities::reorder_groups(&*db, bob, bobs_root.id, &[Uuid::now_v7()]).await,
    )?;
    assert!(is_invalid(&guessed, "order") && is_invalid(&unknown, "order"));
    assert_eq!(written(&db).await?, before, "another user's call wrote");

    // Each sees their own.
    assert_eq!(
        activities::definitions(&*db, ann, anns_root.id).await?,
        vec![anns]
    );
    assert_eq!(
        activities::definitions(&*db, bob, bobs_root.id).await?,
        vec![bobs]
    );
    assert!(
        activities::groups(&*db, bob, bobs_root.id)
            .await?
            .is_empty()
    );
    assert_eq!(
        templates::list(&*db, ann, anns_root.id).await?,
        vec![anns_template]
    );
    Ok(())
}

// --- query plans ---

#[tokio::test]
async fn a_roots_definitions_metrics_and_splits_are_read_by_root_id_indexes() -> TestResult {
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    let owner = user(&db, "ann@example.com").await?;
    // Twenty roots of 50 definitions each, with three metrics and two splits per definition;
    // a tenth of the definitions deleted (with their metrics and splits).
    let mut roots = Vec::new();
    for n in 0..20 {
        roots.push(
            tree::create_root(&*db, owner, &format!("Fractal {n}"))
                .await?
                .id,
        );
    }
    let (series, new_id) = if postgres {
        (
            "SELECT g FROM generate_series(1, 50) AS g",
            "gen_random_uuid()",
        )
    } else {
        (
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 50) \
             SELECT g FROM s",
            "randomblob(16)",
        )
    };
    for root in &roots {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO activity_definitions (id, root_id, name) \
                 SELECT {new_id}, {}, 'activity ' || CAST(g AS TEXT) FROM ({series}) AS series",
                placeholder(backend, 1)
            ),
            [Value::from(*root)],
        ))
        .await?;
    }
    for sql in [
        format!(
            "INSERT INTO metric_definitions (id, activity_id, root_id, name, unit, sort_order) \
             SELECT {new_id}, d.id, d.root_id, m.name, 'unit', m.k FROM activity_definitions d \
             CROSS JOIN (SELECT 0 AS k, 'reps' AS name UNION ALL SELECT 1, 'weight' \
             UNION ALL SELECT 2, 'tempo') AS m"
        ),
        format!(
            "INSERT INTO split_definitions (id, activity_id, root_id, name, \"order\") \
             SELECT {new_id}, d.id, d.root_id, s.name, s.k FROM activity_definitions d \
             CROSS JOIN (SELECT 0 AS k, 'left' AS name UNION ALL SELECT 1, 'right') AS s"
        ),
        "UPDATE activity_definitions SET deleted_at = updated_at WHERE name LIKE '%7'".to_owned(),
        "UPDATE metric_definitions SET deleted_at = updated_at WHERE activity_id IN \
         (SELECT id FROM activity_definitions WHERE deleted_at IS NOT NULL)"
            .to_owned(),
        "UPDATE split_definitions SET deleted_at = updated_at WHERE activity_id IN \
         (SELECT id FROM activity_definitions WHERE deleted_at IS NOT NULL)"
            .to_owned(),
    ] {
        db.execute_raw(Statement::from_string(backend, sql)).await?;
    }
    db.execute_unprepared("ANALYZE").await?;

    let root = *roots.get(7).ok_or("no root")?;
    let definitions = activities::definitions_select(root).build(backend);
    let metrics = activities::metrics_select(root).build(backend);
    let splits = activities::splits_select(root).build(backend);
    // The live definitions: by a `root_id` index — the plain one or the partial unique
    // (root_id, name) WHERE deleted_at IS NULL, which both planners prefer for live rows.
    assert_served_by_one_of(
        &db,
        &definitions.to_string(),
        &[
            "idx_activity_definitions_root",
            "uq_activity_definitions_root_name",
        ],
        "root_id",
    )
    .await?;
    assert_index_serves(
        &db,
        &metrics.to_string(),
        "idx_metric_definitions_root",
        "root_id",
    )
    .await?;
    assert_index_serves(
        &db,
        &splits.to_string(),
        "idx_split_definitions_root",
        "root_id",
    )
    .await?;
    // They read the root's live rows: 45 definitions (5 of 50 deleted), 3 metrics and 2
    // splits each.
    assert_eq!(db.query_all_raw(definitions).await?.len(), 45);
    assert_eq!(db.query_all_raw(metrics).await?.len(), 135);
    assert_eq!(db.query_all_raw(splits).await?.len(), 90);
    Ok(())
}
