//! Analytics by root: what a fractal's practice adds up to over a range of the owner's local
//! days.
//!
//! Every function takes a root (the caller's live root goal — another user's root, a deleted
//! one or a missing one is `Core(NotFound)`) and, except [`completion`], an inclusive range of
//! the owner's **local days** `first..=last` (`first` after `last` is `Core(Invalid)` for
//! `range`; a day outside the years 1..=9999 is `Core(Invalid)` for `first` or `last`). A local
//! day is the kernel's ([`lifeos_core::days::LocalDays`]: the owner's time zone and day start);
//! an activity instance stores the local day of its `created_at` when it is written
//! (`activity_instances.local_day`), so SQL can filter and group by it on both backends.
//!
//! Each function runs **one** SQL statement (its text is public: `*_sql(backend)`, with the
//! values bound in the order its documentation gives, so a query-plan test explains exactly
//! what runs), served by a `root_id` index, and post-processes the rows in Rust.
//!
//! What counts: **live instances of live sessions** — an activity instance whose own
//! `deleted_at` is NULL and whose practice session's is NULL too (a session's delete cascades
//! to its instances anyway; the session is checked all the same). An instance whose activity
//! definition was deleted still counts, under the definition's name: history stays. Metric
//! values have no `deleted_at`; they count with their instance.
//!
//! The numbers:
//! - [`instances`]: the live instances (of live sessions) whose local day lies in the range,
//!   by `created_at` then id — the seed's headline query (`… FROM activity_instances WHERE
//!   root_id = ? AND local_day BETWEEN ? AND ? AND deleted_at IS NULL ORDER BY created_at,
//!   id`, with its session joined by primary key), served by `idx_activity_instances_root` or
//!   `idx_activity_instances_root_date` on `root_id`.
//! - [`time_per_activity`]: per activity definition, the sum of the instances'
//!   `duration_seconds` (an instance never timed, `NULL`, adds 0) and the number of instances,
//!   most time first, then by name. Served by the same `root_id` indexes of
//!   `activity_instances`.
//! - [`time_per_group`]: the same per activity group of the definitions; a definition without
//!   a group, or whose group was deleted, counts as ungrouped (`group: None`). Most time first,
//!   then the named groups by name, the ungrouped last among equals.
//! - [`sessions`]: the live practice sessions of the root **created** within the range (the
//!   instants `[start of first, end of last)` of the owner's days), their number and the sum
//!   of their `total_duration_seconds` (`NULL`, a session never ended, adds 0). Served by the
//!   partial index `idx_goals_practice_sessions (root_id, created_at) WHERE type =
//!   'PracticeSession'`.
//! - [`progression`]: per local day with recorded values of one activity (a live definition of
//!   the root), the **best top set** — the largest value of a top-set metric
//!   (`is_top_set_metric`) that day, `None` without one — and the **volume** — for each
//!   instance and split that has a value of every live, active multiplicative metric
//!   (`is_multiplicative`, `is_active`) of the activity, the product of those values, summed
//!   over the day's instances and splits (one still missing a factor adds nothing); `None`
//!   when the definition is not `metrics_multiplicative` or no product of the day is whole.
//!   The factors are the definition's as it is now: retiring a metric (`is_active: false`)
//!   drops it from every day's products; adding one leaves earlier days without a whole
//!   product until it is deactivated. `instances` counts the day's instances with a value.
//!   Days ascending; a day without values is absent. Served by
//!   `idx_metric_values_root_metric` (or `idx_metric_values_root`) on `root_id`. The statement
//!   selects the values of the activity's metric definitions (`md.activity_id`), so that no
//!   index on the instances' definition can take the lead from the root's index; a value
//!   recorded on an instance of another activity (which the services never write) is skipped.
//! - [`completion`]: per goal type, the root's live goals (the root itself included, practice
//!   sessions excluded) and how many are completed, in the order of the hierarchy (ultimate
//!   goal first); a type without goals is absent. Not limited to a range: goals record no
//!   completion time (only `completed`), so "completed between two days" has nothing to read
//!   from. Served by `idx_goals_root_type` (or `idx_goals_root_id`) on `root_id`.
//!
//! These functions only read; they write nothing.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use lifeos_core::days::LocalDays;
use lifeos_core::db::placeholder;
use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryResult, Statement, Value,
};

use super::scope;
use crate::entity::goals::GoalType;
use crate::entity::{activity_definitions, activity_instances};
use crate::error::{Result, invalid, not_found};

/// The time spent on one activity definition over a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityTime {
    /// The activity definition.
    pub definition: Uuid,
    /// Its name (also when it was deleted since).
    pub name: String,
    /// The sum of its instances' `duration_seconds` (an untimed instance adds 0).
    pub seconds: i64,
    /// The number of its live instances in the range.
    pub instances: u64,
}

/// The time spent on the activities of one group over a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupTime {
    /// The activity group; `None` for the ungrouped activities (no group, or a deleted one).
    pub group: Option<Uuid>,
    /// The group's name; `None` for the ungrouped activities.
    pub name: Option<String>,
    /// The sum of the instances' `duration_seconds` (an untimed instance adds 0).
    pub seconds: i64,
    /// The number of live instances in the range.
    pub instances: u64,
}

/// The practice sessions of a root created within a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// How many live sessions were created within the range.
    pub count: u64,
    /// The sum of their `total_duration_seconds` (a session without one adds 0).
    pub total_seconds: i64,
}

/// One local day of an activity's metric progression.
#[derive(Clone, Debug, PartialEq)]
pub struct DayProgress {
    /// The owner's local day.
    pub day: NaiveDate,
    /// The largest value of a top-set metric that day; `None` without one.
    pub best_top_set: Option<f64>,
    /// Σ over the day's (instance, split) of the product of its multiplicative metrics'
    /// values, counting only those with a value of every such metric; `None` when the
    /// activity is not `metrics_multiplicative` or no product of the day is whole.
    pub volume: Option<f64>,
    /// The number of the day's instances with at least one recorded value.
    pub instances: u64,
}

/// The completion of one goal type in a root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The goal type (never `PracticeSession`).
    pub goal_type: GoalType,
    /// How many of the root's live goals of this type are completed.
    pub completed: u64,
    /// How many live goals of this type the root has.
    pub total: u64,
}

/// The columns of an activity instance (alias `ai`), named as the entity reads them.
const INSTANCE_COLUMNS: &str = "ai.id AS id, ai.practice_session_id AS practice_session_id, \
     ai.activity_definition_id AS activity_definition_id, ai.created_at AS created_at, \
     ai.time_start AS time_start, ai.time_stop AS time_stop, \
     ai.duration_seconds AS duration_seconds, ai.completed AS completed, ai.notes AS notes, \
     ai.data AS data, ai.root_id AS root_id, ai.deleted_at AS deleted_at, \
     ai.updated_at AS updated_at, ai.sort_order AS sort_order, ai.local_day AS local_day, \
     ai.delete_batch_id AS delete_batch_id";

/// `FROM` and `WHERE` over the live instances of live sessions of root `{1}` in the local
/// days `{2}..={3}`, with their definitions (aliases `ai`, the instance, `s`, its session,
/// `ad`, its definition) and `join` after them.
fn live_instances(backend: DbBackend, join: &str) -> String {
    format!(
        "FROM activity_instances ai \
         JOIN goals s ON s.id = ai.practice_session_id \
         JOIN activity_definitions ad ON ad.id = ai.activity_definition_id{join} \
         WHERE ai.root_id = {} AND ai.local_day BETWEEN {} AND {} \
         AND ai.deleted_at IS NULL AND s.deleted_at IS NULL",
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3)
    )
}

/// The seconds (`NULL` as 0) and the number of the grouped instances.
const TIME_AND_COUNT: &str = "CAST(COALESCE(SUM(ai.duration_seconds), 0) AS BIGINT), \
     CAST(COUNT(*) AS BIGINT)";

/// The statement [`instances`] runs. Binds, in order: the root, the first day, the last day.
pub fn instances_sql(backend: DbBackend) -> String {
    format!(
        "SELECT {INSTANCE_COLUMNS} FROM activity_instances ai \
         JOIN goals s ON s.id = ai.practice_session_id \
         WHERE ai.root_id = {} AND ai.local_day BETWEEN {} AND {} \
         AND ai.deleted_at IS NULL AND s.deleted_at IS NULL \
         ORDER BY ai.created_at, ai.id",
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3)
    )
}

/// The statement [`time_per_activity`] runs. Binds, in order: the root, the first day, the
/// last day.
pub fn time_per_activity_sql(backend: DbBackend) -> String {
    format!(
        "SELECT ad.id, ad.name, {TIME_AND_COUNT} {} GROUP BY ad.id, ad.name",
        live_instances(backend, "")
    )
}

/// The statement [`time_per_group`] runs. Binds, in order: the root, the first day, the last
/// day.
pub fn time_per_group_sql(backend: DbBackend) -> String {
    format!(
        "SELECT g.id, g.name, {TIME_AND_COUNT} {} GROUP BY g.id, g.name",
        live_instances(
            backend,
            " LEFT JOIN activity_groups g ON g.id = ad.group_id AND g.deleted_at IS NULL"
        )
    )
}

/// The statement [`sessions`] runs. Binds, in order: the root, the start of the first day,
/// the end of the last day (exclusive). `type = 'PracticeSession'` is written literally, so
/// that the partial index `idx_goals_practice_sessions` applies.
pub fn sessions_sql(backend: DbBackend) -> String {
    format!(
        "SELECT CAST(COUNT(*) AS BIGINT), \
         CAST(COALESCE(SUM(total_duration_seconds), 0) AS BIGINT) \
         FROM goals WHERE root_id = {} AND type = 'PracticeSession' \
         AND created_at >= {} AND created_at < {} AND deleted_at IS NULL",
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3)
    )
}

/// The statement [`progression`] runs. Binds, in order: the root, the activity definition,
/// the first day, the last day.
pub fn progression_sql(backend: DbBackend) -> String {
    format!(
        "SELECT ai.local_day, ai.id, mv.split_definition_id, mv.value, \
         md.is_top_set_metric, md.is_multiplicative, ai.activity_definition_id, md.id, \
         CAST((SELECT count(*) FROM metric_definitions f WHERE f.activity_id = md.activity_id \
         AND f.is_multiplicative AND f.is_active AND f.deleted_at IS NULL) AS BIGINT), \
         CASE WHEN md.is_active THEN 1 ELSE 0 END \
         FROM metric_values mv \
         JOIN activity_instances ai ON ai.id = mv.activity_instance_id \
         JOIN metric_definitions md ON md.id = mv.metric_definition_id \
         JOIN goals s ON s.id = ai.practice_session_id \
         WHERE mv.root_id = {} AND md.activity_id = {} \
         AND ai.local_day BETWEEN {} AND {} \
         AND ai.deleted_at IS NULL AND s.deleted_at IS NULL AND md.deleted_at IS NULL",
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3),
        placeholder(backend, 4)
    )
}

/// The statement [`completion`] runs. Binds: the root.
pub fn completion_sql(backend: DbBackend) -> String {
    format!(
        "SELECT type, CAST(COUNT(*) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN completed THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM goals WHERE root_id = {} AND deleted_at IS NULL \
         AND type <> 'PracticeSession' GROUP BY type",
        placeholder(backend, 1)
    )
}

/// The live activity instances of root `root` whose local day lies in `first..=last`, by
/// `created_at`, then id ([`instances_sql`]).
///
/// # Errors
/// `Core(Invalid)` for `range` when `first` is after `last`, for `first`/`last` outside the
/// years 1..=9999; `Core(NotFound)` for a root that is not the caller's live root.
pub async fn instances<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<activity_instances::Model>> {
    let rows = by_day_range(db, user, root, first, last, instances_sql).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(activity_instances::Model::from_query_result(&row, "")?);
    }
    Ok(out)
}

/// The time spent per activity definition of root `root` in the local days `first..=last`:
/// the sum of the live instances' `duration_seconds` and their number, most time first, then
/// by name ([`time_per_activity_sql`]).
///
/// # Errors
/// As [`instances`].
pub async fn time_per_activity<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<ActivityTime>> {
    let rows = by_day_range(db, user, root, first, last, time_per_activity_sql).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(ActivityTime {
            definition: row.try_get_by_index::<Uuid>(0)?,
            name: row.try_get_by_index::<String>(1)?,
            seconds: row.try_get_by_index::<i64>(2)?,
            instances: count(row.try_get_by_index::<i64>(3)?),
        });
    }
    out.sort_by(|a, b| {
        b.seconds
            .cmp(&a.seconds)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.definition.cmp(&b.definition))
    });
    Ok(out)
}

/// The time spent per activity group of root `root` in the local days `first..=last` (the
/// ungrouped activities as `group: None`), most time first, then the named groups by name
/// ([`time_per_group_sql`]).
///
/// # Errors
/// As [`instances`].
pub async fn time_per_group<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<GroupTime>> {
    let rows = by_day_range(db, user, root, first, last, time_per_group_sql).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(GroupTime {
            group: row.try_get_by_index::<Option<Uuid>>(0)?,
            name: row.try_get_by_index::<Option<String>>(1)?,
            seconds: row.try_get_by_index::<i64>(2)?,
            instances: count(row.try_get_by_index::<i64>(3)?),
        });
    }
    out.sort_by(|a, b| {
        b.seconds
            .cmp(&a.seconds)
            .then_with(|| a.name.is_none().cmp(&b.name.is_none()))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.group.cmp(&b.group))
    });
    Ok(out)
}

/// The live practice sessions of root `root` created within the owner's local days
/// `first..=last`: their number and total duration ([`sessions_sql`]).
///
/// # Errors
/// As [`instances`].
pub async fn sessions<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<SessionStats> {
    days(first, last)?;
    let root = scope::root(db, user, root).await?;
    let (start, end) = LocalDays::for_user(db, user).await?.span(first, last);
    let backend = db.get_database_backend();
    let values: Vec<Value> = vec![root.id.into(), start.into(), end.into()];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sessions_sql(backend),
            values,
        ))
        .await?;
    let Some(row) = row else {
        return Ok(SessionStats::default());
    };
    Ok(SessionStats {
        count: count(row.try_get_by_index::<i64>(0)?),
        total_seconds: row.try_get_by_index::<i64>(1)?,
    })
}

/// The metric progression of activity definition `activity` (a live definition of root
/// `root`) per local day in `first..=last`: the best top set, the volume and the number of
/// instances, days ascending ([`progression_sql`]; see the module docs for each number).
///
/// # Errors
/// As [`instances`]; `Core(NotFound)` for an activity that is not a live definition of the
/// root.
pub async fn progression<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
    activity: Uuid,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<DayProgress>> {
    days(first, last)?;
    let root = scope::root(db, user, root).await?;
    let definition = activity_definitions::Entity::find_by_id(activity)
        .filter(activity_definitions::Column::RootId.eq(root.id))
        .filter(activity_definitions::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| not_found("activity definition", activity))?;
    let backend = db.get_database_backend();
    let values: Vec<Value> = vec![
        root.id.into(),
        definition.id.into(),
        first.into(),
        last.into(),
    ];
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            progression_sql(backend),
            values,
        ))
        .await?;

    let mut by_day: BTreeMap<NaiveDate, DayTally> = BTreeMap::new();
    for row in rows {
        let of: Uuid = row.try_get_by_index(6)?;
        if of != definition.id {
            continue;
        }
        let day: NaiveDate = row.try_get_by_index(0)?;
        let instance: Uuid = row.try_get_by_index(1)?;
        let split: Option<Uuid> = row.try_get_by_index(2)?;
        let value: f64 = row.try_get_by_index(3)?;
        let top_set: bool = row.try_get_by_index(4)?;
        let multiplicative: bool = row.try_get_by_index(5)?;
        let metric: Uuid = row.try_get_by_index(7)?;
        let factors = usize::try_from(row.try_get_by_index::<i64>(8)?).unwrap_or(0);
        let counted = row.try_get_by_index::<i32>(9)? == 1;
        let tally = by_day.entry(day).or_default();
        tally.instances.insert(instance);
        if top_set {
            tally.best = Some(tally.best.map_or(value, |best| best.max(value)));
        }
        if multiplicative && counted {
            let (product, metrics, needed) =
                tally
                    .products
                    .entry((instance, split))
                    .or_insert((1.0, BTreeSet::new(), factors));
            *product *= value;
            metrics.insert(metric);
            *needed = factors;
        }
    }
    Ok(by_day
        .into_iter()
        .map(|(day, tally)| {
            // Only whole products: an (instance, split) missing one of the factors (reps
            // recorded, the weight not yet) adds nothing.
            let whole: Vec<f64> = tally
                .products
                .values()
                .filter(|(_, metrics, needed)| *needed > 0 && metrics.len() == *needed)
                .map(|(product, _, _)| *product)
                .collect();
            DayProgress {
                day,
                best_top_set: tally.best,
                volume: (definition.metrics_multiplicative && !whole.is_empty())
                    .then(|| whole.iter().sum::<f64>()),
                instances: u64::try_from(tally.instances.len()).unwrap_or(u64::MAX),
            }
        })
        .collect())
}

/// The completion of root `root`'s live goals per type (practice sessions excluded), in the
/// order of the hierarchy, ultimate goal first ([`completion_sql`]).
///
/// # Errors
/// `Core(NotFound)` for a root that is not the caller's live root.
pub async fn completion<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
) -> Result<Vec<Completion>> {
    let root = scope::root(db, user, root).await?;
    let backend = db.get_database_backend();
    let values: Vec<Value> = vec![root.id.into()];
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            completion_sql(backend),
            values,
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get_by_index(0)?;
        out.push(Completion {
            goal_type: GoalType::try_from_value(&name)?,
            total: count(row.try_get_by_index::<i64>(1)?),
            completed: count(row.try_get_by_index::<i64>(2)?),
        });
    }
    out.sort_by_key(|completion| rank(completion.goal_type));
    Ok(out)
}

/// The product of one (instance, split) so far: its value, the metrics multiplied in, and how
/// many a whole product needs.
type Product = (f64, BTreeSet<Uuid>, usize);

/// One day's values of a [`progression`], gathered.
#[derive(Default)]
struct DayTally {
    /// The largest top-set value so far.
    best: Option<f64>,
    /// Per (instance, split), the product of its counted multiplicative values so far, their
    /// metrics, and how many a whole product needs.
    products: BTreeMap<(Uuid, Option<Uuid>), Product>,
    /// The instances with a value.
    instances: BTreeSet<Uuid>,
}

/// Checks a range of days: both within the years 1..=9999 (where dates also compare
/// correctly as SQLite's text), `first` not after `last`.
fn days(first: NaiveDate, last: NaiveDate) -> Result<()> {
    for (field, day) in [("first", first), ("last", last)] {
        if !(1..=9999).contains(&day.year()) {
            return Err(invalid(
                field,
                format!("{day} is outside the years 1 to 9999"),
            ));
        }
    }
    if first > last {
        return Err(invalid("range", format!("{first} is after {last}")));
    }
    Ok(())
}

/// The values of a statement over a root's days: the root, the first day, the last day.
/// The rows of `sql` (binding the root, the first and the last day) for the caller's live
/// root `root` and a checked range of days.
async fn by_day_range<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
    first: NaiveDate,
    last: NaiveDate,
    sql: fn(DbBackend) -> String,
) -> Result<Vec<QueryResult>> {
    days(first, last)?;
    let root = scope::root(db, user, root).await?;
    let backend = db.get_database_backend();
    let values: Vec<Value> = vec![root.id.into(), first.into(), last.into()];
    Ok(db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql(backend),
            values,
        ))
        .await?)
}

/// A SQL count as `u64` (never negative).
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The position of a goal type in the hierarchy, the ultimate goal first.
fn rank(goal_type: GoalType) -> u8 {
    match goal_type {
        GoalType::UltimateGoal => 0,
        GoalType::LongTermGoal => 1,
        GoalType::MidTermGoal => 2,
        GoalType::ShortTermGoal => 3,
        GoalType::PracticeSession => 4,
        GoalType::ImmediateGoal => 5,
        GoalType::MicroGoal => 6,
        GoalType::NanoGoal => 7,
    }
}
