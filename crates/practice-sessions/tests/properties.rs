//! Property tests, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: after any
//! random sequence of operations — create a child (under a random live goal, of a type the
//! hierarchy allows), create a sibling mid- or short-term goal (what moves re-parent), create
//! a practice session (under random live short-term goals of one root, maybe following a live
//! template of that root, with an activity instance and a value), create an activity group,
//! an activity definition (maybe in a live group of its root, with one or two metrics and up
//! to two splits) or a session template in a random live root, add an activity instance of a
//! live definition of a live session's root to that session with a recorded value, edit a
//! definition's metrics (drop one, or add one), move a goal, delete a goal, group,
//! definition, template or instance, restore an earlier deletion of any kind that was not
//! restored yet (refusals allowed) — every row of every practice table, deleted or not,
//! carries exactly the root it was created under (the test keeps that root for each row it
//! creates, and each table holds exactly the rows the test created), and that root is also
//! its true root as computed here, in Rust, from the goals read raw (a goal's parentless
//! ancestor; a practice session's is its short-term goals'; instances and values through
//! their session and instance; metric and split definitions through their activity
//! definition). A delete followed at once by the restore of that deletion leaves the visible
//! state — the live rows of every practice table — exactly as it was; a delete or a restore
//! changes the live rows of each table by exactly the counts it reports; a refused move,
//! metric edit or restore leaves the visible state unchanged.
//!
//! A metric edit that drops a metric with recorded values must be refused with
//! `HasValues` (and one that drops a metric without values, or adds one, must succeed and
//! keep the other metrics in order). Names come from a counter, so no creation meets the
//! partial unique name indexes.
//!
//! A move mostly aims at a parent the hierarchy allows in the moved goal's own root (not its
//! current parent): it must succeed, re-parent exactly that goal, last among its new siblings,
//! and change nothing else. One move in five aims elsewhere on purpose: at a goal of another
//! root (refused as `CrossRoot`), at the goal itself or one of its descendants (refused as
//! `Cycle`), or anywhere at all (refusals allowed). Every sequence carries one move of the
//! first kind, and the run counts the re-parentings that succeeded: a run that made (almost)
//! none would prove nothing about moves, so it fails.
//!
//! Cases: `PROPTEST_CASES` when set, else 8 on SQLite and 4 on PostgreSQL (each case builds a
//! database); at most 12 operations per case.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
use lifeos_practice_sessions::entity::goals::{self, GoalType};
use lifeos_practice_sessions::entity::{
    activity_definitions, activity_groups, activity_instances, metric_definitions, metric_values,
    session_templates, split_definitions,
};
use lifeos_practice_sessions::service::activities::{
    self, DefinitionEdit, MetricSpec, NewDefinition, NewMetric,
};
use lifeos_practice_sessions::service::sessions::{self, NewSession};
use lifeos_practice_sessions::service::templates::{self, NewTemplate};
use lifeos_practice_sessions::service::trash::{
    self, ACTIVITY_DEFINITIONS, ACTIVITY_GROUPS, ACTIVITY_INSTANCES, GOALS, METRIC_DEFINITIONS,
    METRIC_VALUES, PRACTICE_DELETIONS, SESSION_TEMPLATES, SPLIT_DEFINITIONS,
};
use lifeos_practice_sessions::service::tree;
use lifeos_testkit::TestDb;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QueryResult, Statement,
};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// The root each row was created under: per table, by row id.
type Roots = BTreeMap<&'static str, BTreeMap<Uuid, Uuid>>;

/// The rows met per table (by id) while checking roots.
type Seen = BTreeMap<&'static str, BTreeSet<Uuid>>;

/// Every table whose rows carry a `root_id`, `practice_deletions` included.
const ROOTED: [&str; 9] = [
    GOALS,
    ACTIVITY_GROUPS,
    ACTIVITY_DEFINITIONS,
    METRIC_DEFINITIONS,
    SPLIT_DEFINITIONS,
    ACTIVITY_INSTANCES,
    SESSION_TEMPLATES,
    METRIC_VALUES,
    PRACTICE_DELETIONS,
];

/// One operation; its numbers pick among the candidates of the moment (modulo their count).
#[derive(Clone, Debug)]
enum Op {
    /// A child of an allowed type under a live goal.
    Child { parent: usize, kind: usize },
    /// A `MidTermGoal` under a live long-term goal, or a `ShortTermGoal` under a live
    /// mid-term goal: a sibling of goals that moves can then re-parent.
    Sibling { parent: usize },
    /// A practice session under live short-term goals of one live root, following a live
    /// template of that root when `template` picks one, with an instance and a value.
    Session {
        root: usize,
        goals: Vec<usize>,
        template: Option<usize>,
        work: Work,
    },
    /// An activity group in a live root.
    Group { root: usize },
    /// An activity definition in a live root — in a live group of that root when `group`
    /// picks one — with `metrics` (1 or 2) metrics, the first a top set when `top_set`, and
    /// `splits` (0 to 2) splits.
    Definition {
        root: usize,
        group: Option<usize>,
        metrics: usize,
        splits: usize,
        top_set: bool,
    },
    /// A session template in a live root.
    Template { root: usize },
    /// An instance of a live definition of a live session's root, added to that session,
    /// with a value.
    Instance { session: usize, work: Work },
    /// A live definition's metrics edited: one (picked by `metric`) dropped when `drop` and
    /// there is one, else a new one added.
    EditMetrics {
        definition: usize,
        metric: usize,
        drop: bool,
    },
    /// A live goal moved where `aim` says.
    Move {
        goal: usize,
        parent: usize,
        aim: Aim,
    },
    /// A live row deleted — and, when `restore_now`, restored at once.
    Delete { target: Target, restore_now: bool },
    /// A deletion (of any kind) not restored yet, restored (refusals allowed).
    Restore { deletion: usize },
}

/// An activity instance to add to a session and the value to record for it: the numbers
/// pick a live definition of the session's root, a live metric of it and (when `split` is
/// set and there is one) a live split of it.
#[derive(Clone, Copy, Debug)]
struct Work {
    activity: usize,
    metric: usize,
    split: Option<usize>,
    value: i8,
}

/// What a delete removes: a live row of one kind, picked by the number.
#[derive(Clone, Copy, Debug)]
enum Target {
    Goal(usize),
    Group(usize),
    Definition(usize),
    Template(usize),
    Instance(usize),
}

impl Target {
    /// The table the target is a row of, and the number that picks it.
    fn parts(self) -> (&'static str, usize) {
        match self {
            Self::Goal(index) => (GOALS, index),
            Self::Group(index) => (ACTIVITY_GROUPS, index),
            Self::Definition(index) => (ACTIVITY_DEFINITIONS, index),
            Self::Template(index) => (SESSION_TEMPLATES, index),
            Self::Instance(index) => (ACTIVITY_INSTANCES, index),
        }
    }
}

/// Where a move aims.
#[derive(Clone, Copy, Debug)]
enum Aim {
    /// A live goal with a parent, under a live goal of its root whose type the hierarchy
    /// allows above it, other than its current parent: must succeed.
    Allowed,
    /// A live goal with a parent, under a live goal of another root: must be refused as
    /// `CrossRoot`.
    OtherRoot,
    /// A live goal with a parent, under itself or one of its live descendants: must be
    /// refused as `Cycle`.
    Descendant,
    /// Any live goal under any live goal: refusals allowed.
    Anywhere,
}

/// Four moves in five aim at an allowed parent; the fifth at a refusal (or anywhere).
fn aim() -> impl Strategy<Value = Aim> {
    prop_oneof![
        12 => Just(Aim::Allowed),
        1 => Just(Aim::OtherRoot),
        1 => Just(Aim::Descendant),
        1 => Just(Aim::Anywhere),
    ]
}

fn work() -> impl Strategy<Value = Work> {
    (
        any::<usize>(),
        any::<usize>(),
        prop::option::of(any::<usize>()),
        -5_i8..=20,
    )
        .prop_map(|(activity, metric, split, value)| Work {
            activity,
            metric,
            split,
            value,
        })
}

/// Goals are deleted most often (their deletes cascade); every kind has its share.
fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        3 => any::<usize>().prop_map(Target::Goal),
        1 => any::<usize>().prop_map(Target::Group),
        2 => any::<usize>().prop_map(Target::Definition),
        1 => any::<usize>().prop_map(Target::Template),
        2 => any::<usize>().prop_map(Target::Instance),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (any::<usize>(), any::<usize>())
            .prop_map(|(parent, kind)| Op::Child { parent, kind }),
        2 => any::<usize>().prop_map(|parent| Op::Sibling { parent }),
        2 => (
            any::<usize>(),
            prop::collection::vec(any::<usize>(), 1..3),
            prop::option::of(any::<usize>()),
            work(),
        )
            .prop_map(|(root, goals, template, work)| Op::Session {
                root,
                goals,
                template,
                work,
            }),
        1 => any::<usize>().prop_map(|root| Op::Group { root }),
        2 => (
            any::<usize>(),
            prop::option::of(any::<usize>()),
            1..=2_usize,
            0..=2_usize,
            any::<bool>(),
        )
            .prop_map(|(root, group, metrics, splits, top_set)| Op::Definition {
                root,
                group,
                metrics,
                splits,
                top_set,
            }),
        1 => any::<usize>().prop_map(|root| Op::Template { root }),
        2 => (any::<usize>(), work())
            .prop_map(|(session, work)| Op::Instance { session, work }),
        2 => (any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(definition, metric, drop)| Op::EditMetrics {
                definition,
                metric,
                drop,
            }),
        4 => (any::<usize>(), any::<usize>(), aim())
            .prop_map(|(goal, parent, aim)| Op::Move { goal, parent, aim }),
        4 => (target(), any::<bool>())
            .prop_map(|(target, restore_now)| Op::Delete { target, restore_now }),
        2 => any::<usize>().prop_map(|deletion| Op::Restore { deletion }),
    ]
}

/// 1 to 12 operations, one of them (at a random place) a move to an allowed parent.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    (
        prop::collection::vec(op(), 0..12),
        any::<usize>(),
        any::<usize>(),
        any::<usize>(),
    )
        .prop_map(|(mut ops, at, goal, parent)| {
            let at = at % (ops.len() + 1);
            ops.insert(
                at,
                Op::Move {
                    goal,
                    parent,
                    aim: Aim::Allowed,
                },
            );
            ops
        })
}

/// Cases per run: `PROPTEST_CASES` when set; otherwise few, since each builds a database —
/// fewer still on PostgreSQL.
fn cases() -> u32 {
    let set = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|raw| raw.trim().parse::<u32>().ok());
    match set {
        Some(cases) => cases,
        None if lifeos_testkit::backend() == DbBackend::Postgres => 4,
        None => 8,
    }
}

#[test]
fn root_ids_stay_true_and_restore_undoes_delete() -> TestResult {
    let cases = cases();
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        max_shrink_iters: 32,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    // Successful moves that changed a goal's parent, over all cases.
    let reparented = AtomicUsize::new(0);
    let result = runner.run(&ops(), |ops| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        let moved = runtime
            .block_on(check(ops))
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        reparented.fetch_add(moved, Ordering::Relaxed);
        Ok(())
    });
    if let Err(error) = result {
        return Err(format!("{error}\n{runner}").into());
    }
    // Every case carries a move to an allowed parent; it finds none only when deletes have
    // first taken every candidate of both fractals (each starts with two short-term goals
    // under one mid-term goal and a second, empty, mid-term goal), which is rare. So at
    // least half the cases (at least one) must have re-parented a goal.
    let reparented = reparented.load(Ordering::Relaxed);
    let minimum = usize::try_from(cases.div_ceil(2))?;
    if reparented < minimum {
        return Err(format!(
            "{cases} cases re-parented {reparented} goals, fewer than {minimum}: \
             the moves do not exercise re-parenting"
        )
        .into());
    }
    Ok(())
}

/// The item `index` picks (modulo the count), if there is any.
fn pick<T>(items: &[T], index: usize) -> Option<&T> {
    items.get(index.checked_rem(items.len())?)
}

/// Whether `id` is `ancestor` or lies under it, by the `parent_id`s in `parents`.
fn under(parents: &BTreeMap<Uuid, Option<Uuid>>, id: Uuid, ancestor: Uuid) -> bool {
    let mut current = Some(id);
    for _ in 0..=parents.len() {
        match current {
            Some(goal) if goal == ancestor => return true,
            Some(goal) => current = parents.get(&goal).copied().flatten(),
            None => return false,
        }
    }
    false
}

/// Where the operations run: the user, the root each row was created under, the deletions
/// made and not restored yet (with the rows each soft-deleted per table), a counter for
/// names, the re-parentings so far.
struct World {
    owner: UserId,
    roots: Roots,
    deletions: Vec<(Uuid, BTreeMap<&'static str, u64>)>,
    names: u32,
    reparented: usize,
}

impl World {
    /// A name no other row has: `what` and the next number.
    fn name(&mut self, what: &str) -> String {
        self.names += 1;
        format!("{what} {}", self.names)
    }

    /// Notes that row `id` of `table` was created under `root`.
    fn created(&mut self, table: &'static str, id: Uuid, root: Uuid) {
        self.roots.entry(table).or_default().insert(id, root);
    }

    /// Forgets row `id` of `table` (a deletion, removed by its restore).
    fn forget(&mut self, table: &'static str, id: Uuid) {
        if let Some(rows) = self.roots.get_mut(table) {
            rows.remove(&id);
        }
    }

    /// The root row `id` of `table` was created under.
    fn root_of(&self, table: &'static str, id: Uuid) -> Fallible<Uuid> {
        self.roots
            .get(table)
            .and_then(|rows| rows.get(&id))
            .copied()
            .ok_or_else(|| format!("{table} {id} was created by no operation").into())
    }
}

/// Runs one case; returns how many moves re-parented a goal.
async fn check(ops: Vec<Op>) -> Fallible<usize> {
    let db = TestDb::at_head().await?;
    let owner = lifeos_testkit::user(&db, "ann@example.com").await?;
    let mut world = World {
        owner,
        roots: Roots::new(),
        deletions: Vec::new(),
        names: 0,
        reparented: 0,
    };
    // Two fractals, each with a group, a template and an activity definition in the group
    // with two metrics (one a top set) and two splits.
    for fractal in ["Piano", "Chess"] {
        let root = tree::create_root(&*db, owner, fractal).await?.id;
        world.created(GOALS, root, root);
        let group = activities::create_group(&*db, owner, root, "Technique").await?;
        world.created(ACTIVITY_GROUPS, group.id, root);
        let template = templates::create(
            &*db,
            owner,
            root,
            NewTemplate {
                name: "Warm-up".to_owned(),
                description: None,
                data: json!({ "sections": [] }),
            },
        )
        .await?;
        world.created(SESSION_TEMPLATES, template.id, root);
        let created = activities::create_definition(
            &*db,
            owner,
            root,
            NewDefinition {
                name: "Drill".to_owned(),
                group: Some(group.id),
                has_metrics: true,
                has_splits: true,
                metrics: vec![
                    NewMetric {
                        name: "reps".to_owned(),
                        unit: "count".to_owned(),
                        is_top_set: true,
                        is_multiplicative: true,
                    },
                    NewMetric {
                        name: "weight".to_owned(),
                        unit: "kg".to_owned(),
                        is_top_set: false,
                        is_multiplicative: true,
                    },
                ],
                splits: vec!["left".to_owned(), "right".to_owned()],
                ..Default::default()
            },
        )
        .await?;
        world.created(ACTIVITY_DEFINITIONS, created.definition.id, root);
        for metric in &created.metrics {
            world.created(METRIC_DEFINITIONS, metric.id, root);
        }
        for split in &created.splits {
            world.created(SPLIT_DEFINITIONS, split.id, root);
        }
        let metric = created.metrics.first().ok_or("no metric")?.id;
        // A branch down to two short-term goals, with a second (empty) mid-term goal they can
        // move to, and a session serving both, performed once.
        let long = tree::create_child(&*db, owner, root, GoalType::LongTermGoal, "Long").await?;
        world.created(GOALS, long.id, root);
        let mid = tree::create_child(&*db, owner, long.id, GoalType::MidTermGoal, "Mid").await?;
        world.created(GOALS, mid.id, root);
        let other =
            tree::create_child(&*db, owner, long.id, GoalType::MidTermGoal, "Mid b").await?;
        world.created(GOALS, other.id, root);
        let mut shorts = Vec::new();
        for name in ["Short a", "Short b"] {
            let short =
                tree::create_child(&*db, owner, mid.id, GoalType::ShortTermGoal, name).await?;
            world.created(GOALS, short.id, root);
            shorts.push(short.id);
        }
        let session = sessions::create(
            &*db,
            owner,
            NewSession {
                name: "Session".to_owned(),
                goals: shorts,
                template: Some(template.id),
                ..Default::default()
            },
        )
        .await?;
        world.created(GOALS, session.id, root);
        let instance =
            sessions::add_instance(&*db, owner, session.id, created.definition.id, None).await?;
        world.created(ACTIVITY_INSTANCES, instance.id, root);
        let value = sessions::record_value(&*db, owner, instance.id, metric, None, 2.0).await?;
        world.created(METRIC_VALUES, value.id, root);
    }
    check_roots(&db, &world.roots).await?;
    for op in ops {
        apply(&db, &mut world, &op)
            .await
            .map_err(|error| format!("{op:?}: {error}"))?;
        check_roots(&db, &world.roots)
            .await
            .map_err(|error| format!("after {op:?}: {error}"))?;
    }
    Ok(world.reparented)
}

/// The live goals, by id (creation order).
async fn live_goals(db: &DatabaseConnection) -> Fallible<Vec<goals::Model>> {
    Ok(goals::Entity::find()
        .filter(goals::Column::DeletedAt.is_null())
        .order_by_asc(goals::Column::Id)
        .all(db)
        .await?)
}

/// The live fractals (parentless goals that are not practice sessions) among `live`.
fn fractals(live: &[goals::Model]) -> Vec<&goals::Model> {
    live.iter()
        .filter(|goal| goal.parent_id.is_none() && goal.goal_type != GoalType::PracticeSession)
        .collect()
}

/// The ids of the live rows of `table` (of the root `root` when given), by id.
async fn live_ids(db: &DatabaseConnection, table: &str, root: Option<Uuid>) -> Fallible<Vec<Uuid>> {
    let sql = format!("SELECT id, root_id FROM {table} WHERE deleted_at IS NULL ORDER BY id");
    let mut ids: Vec<Uuid> = Vec::new();
    for row in all(db, &sql).await? {
        let id: Uuid = row.try_get_by_index(0)?;
        let of: Uuid = row.try_get_by_index(1)?;
        if root.is_none_or(|root| root == of) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Fails when the visible state is no longer `before` after a refused `what`.
async fn unchanged(db: &DatabaseConnection, before: &Visible, what: &str) -> TestResult {
    let after = visible(db).await?;
    if after == *before {
        Ok(())
    } else {
        Err(format!(
            "a refused {what} changed the visible state:\nbefore {before:?}\nafter {after:?}"
        )
        .into())
    }
}

async fn apply(db: &DatabaseConnection, world: &mut World, op: &Op) -> TestResult {
    let owner = world.owner;
    let live = live_goals(db).await?;
    match op {
        Op::Child { parent, kind } => {
            let Some(parent) = pick(&live, *parent) else {
                return Ok(());
            };
            let allowed: Vec<GoalType> = tree::allowed_children(parent.goal_type)
                .iter()
                .copied()
                .filter(|kind| *kind != GoalType::PracticeSession)
                .collect();
            let Some(kind) = pick(&allowed, *kind) else {
                return Ok(());
            };
            let root = world.root_of(GOALS, parent.id)?;
            let name = world.name("goal");
            let child = tree::create_child(db, owner, parent.id, *kind, &name).await?;
            world.created(GOALS, child.id, root);
        }
        Op::Sibling { parent } => {
            let parents: Vec<&goals::Model> = live
                .iter()
                .filter(|goal| {
                    matches!(
                        goal.goal_type,
                        GoalType::LongTermGoal | GoalType::MidTermGoal
                    )
                })
                .collect();
            let Some(parent) = pick(&parents, *parent) else {
                return Ok(());
            };
            let kind = if parent.goal_type == GoalType::LongTermGoal {
                GoalType::MidTermGoal
            } else {
                GoalType::ShortTermGoal
            };
            let root = world.root_of(GOALS, parent.id)?;
            let name = world.name("goal");
            let child = tree::create_child(db, owner, parent.id, kind, &name).await?;
            world.created(GOALS, child.id, root);
        }
        Op::Session {
            root,
            goals: picks,
            template,
            work,
        } => {
            let roots = fractals(&live);
            let Some(root) = pick(&roots, *root).map(|root| root.id) else {
                return Ok(());
            };
            let shorts: Vec<Uuid> = live
                .iter()
                .filter(|goal| goal.root_id == root && goal.goal_type == GoalType::ShortTermGoal)
                .map(|goal| goal.id)
                .collect();
            let chosen: BTreeSet<Uuid> = picks
                .iter()
                .filter_map(|index| pick(&shorts, *index).copied())
                .collect();
            if chosen.is_empty() {
                return Ok(());
            }
            let template = match template {
                Some(index) => {
                    pick(&live_ids(db, SESSION_TEMPLATES, Some(root)).await?, *index).copied()
                }
                None => None,
            };
            let name = world.name("session");
            let session = sessions::create(
                db,
                owner,
                NewSession {
                    name,
                    goals: chosen.into_iter().collect(),
                    template,
                    ..Default::default()
                },
            )
            .await?;
            world.created(GOALS, session.id, root);
            perform(db, world, session.id, *work).await?;
        }
        Op::Group { root } => {
            let roots = fractals(&live);
            let Some(root) = pick(&roots, *root).map(|root| root.id) else {
                return Ok(());
            };
            let name = world.name("group");
            let group = activities::create_group(db, owner, root, &name).await?;
            world.created(ACTIVITY_GROUPS, group.id, root);
        }
        Op::Definition {
            root,
            group,
            metrics,
            splits,
            top_set,
        } => {
            let roots = fractals(&live);
            let Some(root) = pick(&roots, *root).map(|root| root.id) else {
                return Ok(());
            };
            let group = match group {
                Some(index) => {
                    pick(&live_ids(db, ACTIVITY_GROUPS, Some(root)).await?, *index).copied()
                }
                None => None,
            };
            let mut new_metrics = Vec::new();
            for position in 0..*metrics {
                new_metrics.push(NewMetric {
                    name: world.name("metric"),
                    unit: "count".to_owned(),
                    is_top_set: *top_set && position == 0,
                    is_multiplicative: true,
                });
            }
            let mut new_splits = Vec::new();
            for _ in 0..*splits {
                new_splits.push(world.name("split"));
            }
            let name = world.name("activity");
            let created = activities::create_definition(
                db,
                owner,
                root,
                NewDefinition {
                    name,
                    group,
                    has_metrics: true,
                    has_splits: !new_splits.is_empty(),
                    metrics: new_metrics,
                    splits: new_splits,
                    ..Default::default()
                },
            )
            .await?;
            if created.metrics.len() != *metrics || created.splits.len() != *splits {
                return Err(format!(
                    "definition {} was created with {} metrics and {} splits, not {metrics} \
                     and {splits}",
                    created.definition.id,
                    created.metrics.len(),
                    created.splits.len()
                )
                .into());
            }
            world.created(ACTIVITY_DEFINITIONS, created.definition.id, root);
            for metric in &created.metrics {
                world.created(METRIC_DEFINITIONS, metric.id, root);
            }
            for split in &created.splits {
                world.created(SPLIT_DEFINITIONS, split.id, root);
            }
        }
        Op::Template { root } => {
            let roots = fractals(&live);
            let Some(root) = pick(&roots, *root).map(|root| root.id) else {
                return Ok(());
            };
            let name = world.name("template");
            let template = templates::create(
                db,
                owner,
                root,
                NewTemplate {
                    name,
                    description: None,
                    data: json!({ "sections": [] }),
                },
            )
            .await?;
            world.created(SESSION_TEMPLATES, template.id, root);
        }
        Op::Instance { session, work } => {
            let candidates: Vec<&goals::Model> = live
                .iter()
                .filter(|goal| goal.goal_type == GoalType::PracticeSession)
                .collect();
            let Some(session) = pick(&candidates, *session).map(|session| session.id) else {
                return Ok(());
            };
            perform(db, world, session, *work).await?;
        }
        Op::EditMetrics {
            definition,
            metric,
            drop,
        } => {
            let definitions = live_ids(db, ACTIVITY_DEFINITIONS, None).await?;
            let Some(definition) = pick(&definitions, *definition).copied() else {
                return Ok(());
            };
            edit_metrics(db, world, definition, *metric, *drop).await?;
        }
        Op::Move { goal, parent, aim } => {
            world.reparented += move_goal(db, owner, &live, *goal, *parent, *aim).await?;
        }
        Op::Delete {
            target,
            restore_now,
        } => {
            let (table, index) = target.parts();
            let id = match target {
                Target::Goal(_) => pick(&live, index).map(|goal| goal.id),
                _ => pick(&live_ids(db, table, None).await?, index).copied(),
            };
            let Some(id) = id else {
                return Ok(());
            };
            delete(db, world, *target, id, *restore_now).await?;
        }
        Op::Restore { deletion } => {
            let Some(slot) = deletion.checked_rem(world.deletions.len()) else {
                return Ok(());
            };
            let Some((deletion, deleted)) = world.deletions.get(slot).cloned() else {
                return Ok(());
            };
            let before = visible(db).await?;
            match trash::restore(db, owner, deletion).await {
                // Restored: it cannot be restored again, and exactly its rows are back.
                Ok(restored) => {
                    world.deletions.remove(slot);
                    world.forget(PRACTICE_DELETIONS, deletion);
                    if restored != deleted {
                        return Err(format!(
                            "restoring deletion {deletion} restored {restored:?}, \
                             it deleted {deleted:?}"
                        )
                        .into());
                    }
                    let after = visible(db).await?;
                    counted(&before, &after, &restored, true, "restore")?;
                }
                // Refused (a parent still deleted, …): it stays, to be tried again.
                Err(
                    Error::ParentDeleted { .. }
                    | Error::SessionActive { .. }
                    | Error::Core(lifeos_core::Error::Conflict(_)),
                ) => unchanged(db, &before, "restore").await?,
                Err(error) => {
                    return Err(format!(
                        "restoring deletion {deletion}, not restored yet: {error}"
                    )
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// Adds to `session` an instance of a live definition of its root (picked by `work`), and
/// records `work`'s value for a live metric of it (and a live split, when `work` picks
/// one). Does nothing when the root has no live definition; adds no value when the
/// definition has no live metric.
async fn perform(
    db: &DatabaseConnection,
    world: &mut World,
    session: Uuid,
    work: Work,
) -> TestResult {
    let owner = world.owner;
    let root = world.root_of(GOALS, session)?;
    let definitions = live_ids(db, ACTIVITY_DEFINITIONS, Some(root)).await?;
    let Some(definition) = pick(&definitions, work.activity).copied() else {
        return Ok(());
    };
    let instance = sessions::add_instance(db, owner, session, definition, None).await?;
    world.created(ACTIVITY_INSTANCES, instance.id, root);
    let parts = activities::get_definition(db, owner, definition).await?;
    let Some(metric) = pick(&parts.metrics, work.metric) else {
        return Ok(());
    };
    let split = work
        .split
        .and_then(|index| pick(&parts.splits, index))
        .map(|split| split.id);
    let value = sessions::record_value(
        db,
        owner,
        instance.id,
        metric.id,
        split,
        f64::from(work.value),
    )
    .await?;
    world.created(METRIC_VALUES, value.id, root);
    Ok(())
}

/// Edits the metrics of the live definition `definition`: drops the one `metric` picks when
/// `drop` and it has one, else adds a new one. Dropping a metric with recorded values must
/// be refused with `HasValues` and change nothing visible; any other edit must succeed,
/// keeping the other metrics in their order (the new one last).
async fn edit_metrics(
    db: &DatabaseConnection,
    world: &mut World,
    definition: Uuid,
    metric: usize,
    drop: bool,
) -> TestResult {
    let owner = world.owner;
    let current = activities::get_definition(db, owner, definition).await?;
    let mut wanted: Vec<MetricSpec> = current
        .metrics
        .iter()
        .map(|metric| MetricSpec {
            id: Some(metric.id),
            name: metric.name.clone(),
            unit: metric.unit.clone(),
            is_top_set: metric.is_top_set_metric,
            is_multiplicative: metric.is_multiplicative,
            is_active: metric.is_active,
        })
        .collect();
    let dropped = if drop {
        pick(&current.metrics, metric).map(|metric| metric.id)
    } else {
        None
    };
    match dropped {
        Some(dropped) => wanted.retain(|spec| spec.id != Some(dropped)),
        None => wanted.push(MetricSpec {
            id: None,
            name: world.name("metric"),
            unit: "kg".to_owned(),
            is_top_set: false,
            is_multiplicative: false,
            is_active: true,
        }),
    }
    let kept: Vec<Uuid> = wanted.iter().filter_map(|spec| spec.id).collect();
    let has_values = match dropped {
        Some(dropped) => metric_values::Entity::find()
            .filter(metric_values::Column::MetricDefinitionId.eq(dropped))
            .one(db)
            .await?
            .is_some(),
        None => false,
    };
    let before = visible(db).await?;
    let edited = activities::update_definition(
        db,
        owner,
        definition,
        DefinitionEdit {
            metrics: Some(wanted),
            ..Default::default()
        },
    )
    .await;
    match edited {
        Ok(updated) => {
            if has_values {
                return Err(format!(
                    "dropping metric {dropped:?} of {definition}, which has values, succeeded"
                )
                .into());
            }
            let ids: Vec<Uuid> = updated.metrics.iter().map(|metric| metric.id).collect();
            let (old, new) = ids.split_at(kept.len().min(ids.len()));
            if old != kept.as_slice() || new.len() != usize::from(dropped.is_none()) {
                return Err(format!(
                    "editing the metrics of {definition} (dropping {dropped:?}) left {ids:?}, \
                     not {kept:?} and {} new",
                    usize::from(dropped.is_none())
                )
                .into());
            }
            let root = world.root_of(ACTIVITY_DEFINITIONS, definition)?;
            for metric in new {
                world.created(METRIC_DEFINITIONS, *metric, root);
            }
        }
        Err(Error::HasValues { id, .. }) if has_values && Some(id) == dropped => {
            unchanged(db, &before, "metric edit").await?;
        }
        Err(error) => {
            return Err(format!(
                "editing the metrics of {definition} (dropping {dropped:?}, which has values: \
                 {has_values}) gave {error:?}"
            )
            .into());
        }
    }
    Ok(())
}

/// Deletes the live row `id` that `target` picked; checks that the live rows of each table
/// shrank by the counts reported and, when `restore_now`, that restoring the deletion at
/// once brings back exactly those rows and the visible state as it was. Otherwise keeps the
/// deletion, to be restored later.
async fn delete(
    db: &DatabaseConnection,
    world: &mut World,
    target: Target,
    id: Uuid,
    restore_now: bool,
) -> TestResult {
    let owner = world.owner;
    let (table, _) = target.parts();
    let root = world.root_of(table, id)?;
    let before = visible(db).await?;
    let deletion = match target {
        Target::Goal(_) => trash::delete_goal(db, owner, id).await?,
        Target::Group(_) => trash::delete_group(db, owner, id).await?,
        Target::Definition(_) => trash::delete_definition(db, owner, id).await?,
        Target::Template(_) => trash::delete_template(db, owner, id).await?,
        Target::Instance(_) => trash::delete_instance(db, owner, id).await?,
    };
    world.created(PRACTICE_DELETIONS, deletion.id, root);
    if deletion.rows.get(table).copied().unwrap_or(0) == 0 {
        return Err(format!(
            "deleting {table} {id} deleted none of {table}: {:?}",
            deletion.rows
        )
        .into());
    }
    let deleted = visible(db).await?;
    counted(&before, &deleted, &deletion.rows, false, "delete")?;
    if !restore_now {
        world.deletions.push((deletion.id, deletion.rows));
        return Ok(());
    }
    check_roots(db, &world.roots).await?;
    let restored = trash::restore(db, owner, deletion.id).await?;
    world.forget(PRACTICE_DELETIONS, deletion.id);
    if restored != deletion.rows {
        return Err(format!("restored {restored:?}, deleted {:?}", deletion.rows).into());
    }
    let after = visible(db).await?;
    if after != before {
        return Err(format!(
            "delete then restore of {table} {id} changed the visible state:\n\
             before {before:?}\nafter {after:?}"
        )
        .into());
    }
    Ok(())
}

/// Fails unless, in each table a delete touches, `after` has as many live rows as `before`
/// plus (`grown`) or minus the count `rows` reports for it.
fn counted(
    before: &Visible,
    after: &Visible,
    rows: &BTreeMap<&'static str, u64>,
    grown: bool,
    what: &str,
) -> TestResult {
    let before = before.counts();
    let after = after.counts();
    for table in rows.keys() {
        if !before.contains_key(table) {
            return Err(format!("a {what} reported rows of {table}: {rows:?}").into());
        }
    }
    for (table, was) in &before {
        let changed = usize::try_from(rows.get(table).copied().unwrap_or(0))?;
        let expected = if grown {
            was.checked_add(changed)
        } else {
            was.checked_sub(changed)
        };
        let now = after.get(table).copied().unwrap_or(0);
        if expected != Some(now) {
            return Err(format!(
                "after a {what}, {table} has {now} live rows: it had {was}, and the {what} \
                 reported {changed} ({rows:?})"
            )
            .into());
        }
    }
    Ok(())
}

/// Moves a live goal (picked by `goal`) under another (picked by `parent`) as `aim` says, and
/// checks the outcome; returns 1 when the move changed the goal's parent, else 0.
async fn move_goal(
    db: &DatabaseConnection,
    owner: UserId,
    live: &[goals::Model],
    goal: usize,
    parent: usize,
    aim: Aim,
) -> Fallible<usize> {
    let parents: BTreeMap<Uuid, Option<Uuid>> =
        live.iter().map(|goal| (goal.id, goal.parent_id)).collect();
    // Roots and practice sessions never move.
    let movable: Vec<&goals::Model> = live
        .iter()
        .filter(|goal| goal.parent_id.is_some())
        .collect();
    let before = visible(db).await?;
    match aim {
        Aim::Allowed => {
            let choices: Vec<(&goals::Model, Vec<&goals::Model>)> = movable
                .iter()
                .map(|moving| {
                    let targets: Vec<&goals::Model> = live
                        .iter()
                        .filter(|target| {
                            target.root_id == moving.root_id
                                && Some(target.id) != moving.parent_id
                                && tree::allowed_children(target.goal_type)
                                    .contains(&moving.goal_type)
                                && !under(&parents, target.id, moving.id)
                        })
                        .collect();
                    (*moving, targets)
                })
                .filter(|(_, targets)| !targets.is_empty())
                .collect();
            let Some((moving, targets)) = pick(&choices, goal) else {
                return Ok(0);
            };
            let Some(target) = pick(targets, parent) else {
                return Ok(0);
            };
            let moved = tree::move_subtree(db, owner, moving.id, target.id)
                .await
                .map_err(|error| {
                    format!(
                        "moving {:?} {} under {:?} {} of its root was refused: {error}",
                        moving.goal_type, moving.id, target.goal_type, target.id
                    )
                })?;
            if moved.parent_id != Some(target.id) || moved.root_id != moving.root_id {
                return Err(format!(
                    "moved {} has parent {:?} and root {}, not {} and {}",
                    moved.id, moved.parent_id, moved.root_id, target.id, moving.root_id
                )
                .into());
            }
            if let Some(sibling) = before
                .goals
                .iter()
                .find(|other| other.1 == Some(target.id) && other.4 >= moved.sort_order)
            {
                return Err(format!(
                    "moved {} (sort order {}) is not last among its new siblings: {sibling:?}",
                    moved.id, moved.sort_order
                )
                .into());
            }
            // Exactly the moved goal's parent and place changed.
            let mut expected = before;
            for entry in &mut expected.goals {
                if entry.0 == moved.id {
                    entry.1 = Some(target.id);
                    entry.4 = moved.sort_order;
                }
            }
            let after = visible(db).await?;
            if after != expected {
                return Err(format!(
                    "moving {} changed more than its parent and place:\n\
                     expected {expected:?}\nafter {after:?}",
                    moved.id
                )
                .into());
            }
            Ok(1)
        }
        Aim::OtherRoot => {
            let Some(moving) = pick(&movable, goal) else {
                return Ok(0);
            };
            let elsewhere = |target: &&goals::Model| target.root_id != moving.root_id;
            // Preferably a parent of an allowed type, so only the root is wrong.
            let mut targets: Vec<&goals::Model> = live
                .iter()
                .filter(elsewhere)
                .filter(|target| {
                    tree::allowed_children(target.goal_type).contains(&moving.goal_type)
                })
                .collect();
            if targets.is_empty() {
                targets = live.iter().filter(elsewhere).collect();
            }
            let Some(target) = pick(&targets, parent) else {
                return Ok(0);
            };
            let refused = tree::move_subtree(db, owner, moving.id, target.id).await;
            if !matches!(refused, Err(Error::CrossRoot { .. })) {
                return Err(format!(
                    "moving {} under {} of another root gave {refused:?}",
                    moving.id, target.id
                )
                .into());
            }
            unchanged(db, &before, "move").await?;
            Ok(0)
        }
        Aim::Descendant => {
            let Some(moving) = pick(&movable, goal) else {
                return Ok(0);
            };
            let below: Vec<&goals::Model> = live
                .iter()
                .filter(|target| under(&parents, target.id, moving.id))
                .collect();
            let Some(target) = pick(&below, parent) else {
                return Ok(0);
            };
            let refused = tree::move_subtree(db, owner, moving.id, target.id).await;
            if !matches!(refused, Err(Error::Cycle { goal: cycled }) if cycled == moving.id) {
                return Err(format!(
                    "moving {} under {} (itself or below it) gave {refused:?}",
                    moving.id, target.id
                )
                .into());
            }
            unchanged(db, &before, "move").await?;
            Ok(0)
        }
        Aim::Anywhere => {
            let (Some(moving), Some(target)) = (pick(live, goal), pick(live, parent)) else {
                return Ok(0);
            };
            match tree::move_subtree(db, owner, moving.id, target.id).await {
                Ok(moved) => Ok(usize::from(moving.parent_id != moved.parent_id)),
                Err(_) => {
                    unchanged(db, &before, "move").await?;
                    Ok(0)
                }
            }
        }
    }
}

/// Every row `sql` selects.
async fn all(db: &DatabaseConnection, sql: &str) -> Fallible<Vec<QueryResult>> {
    Ok(db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?)
}

/// What a user sees: the live rows of every practice table — goals (id, parent, root, name,
/// sort order, completed), links between live goals (session, short-term goal), activity
/// groups (id, root, name, sort order), activity definitions (id, root, name, group, has
/// metrics, has splits), metric definitions (id, activity, root, name, sort order, active),
/// split definitions (id, activity, root, name, order), session templates (id, root, name),
/// activity instances (id, session, activity, root, sort order, completed) and the metric
/// values of live instances (id, instance, metric, split, root, value).
#[derive(Debug, PartialEq)]
struct Visible {
    goals: Vec<(Uuid, Option<Uuid>, Uuid, String, i32, bool)>,
    links: Vec<(Uuid, Uuid)>,
    groups: Vec<(Uuid, Uuid, String, i32)>,
    definitions: Vec<(Uuid, Uuid, String, Option<Uuid>, bool, bool)>,
    metrics: Vec<(Uuid, Uuid, Uuid, String, i32, bool)>,
    splits: Vec<(Uuid, Uuid, Uuid, String, i32)>,
    templates: Vec<(Uuid, Uuid, String)>,
    instances: Vec<(Uuid, Uuid, Uuid, Uuid, i32, bool)>,
    values: Vec<(Uuid, Uuid, Uuid, Option<Uuid>, Uuid, f64)>,
}

impl Visible {
    /// How many live rows each table a delete soft-deletes rows of has.
    fn counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            (GOALS, self.goals.len()),
            (ACTIVITY_GROUPS, self.groups.len()),
            (ACTIVITY_DEFINITIONS, self.definitions.len()),
            (METRIC_DEFINITIONS, self.metrics.len()),
            (SPLIT_DEFINITIONS, self.splits.len()),
            (ACTIVITY_INSTANCES, self.instances.len()),
            (SESSION_TEMPLATES, self.templates.len()),
        ])
    }
}

async fn visible(db: &DatabaseConnection) -> Fallible<Visible> {
    let mut goals: Vec<(Uuid, Option<Uuid>, Uuid, String, i32, bool)> = Vec::new();
    for row in all(
        db,
        "SELECT id, parent_id, root_id, name, sort_order, completed FROM goals \
         WHERE deleted_at IS NULL ORDER BY id",
    )
    .await?
    {
        goals.push((
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
            row.try_get_by_index(3)?,
            row.try_get_by_index(4)?,
            row.try_get_by_index(5)?,
        ));
    }
    let mut links: Vec<(Uuid, Uuid)> = Vec::new();
    for row in all(
        db,
        "SELECT l.practice_session_id, l.short_term_goal_id FROM practice_session_goals l \
         JOIN goals s ON s.id = l.practice_session_id \
         JOIN goals t ON t.id = l.short_term_goal_id \
         WHERE s.deleted_at IS NULL AND t.deleted_at IS NULL \
         ORDER BY l.practice_session_id, l.short_term_goal_id",
    )
    .await?
    {
        links.push((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
    }
    let groups = activity_groups::Entity::find()
        .filter(activity_groups::Column::DeletedAt.is_null())
        .order_by_asc(activity_groups::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.root_id, row.name, row.sort_order))
        .collect();
    let definitions = activity_definitions::Entity::find()
        .filter(activity_definitions::Column::DeletedAt.is_null())
        .order_by_asc(activity_definitions::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            (
                row.id,
                row.root_id,
                row.name,
                row.group_id,
                row.has_metrics,
                row.has_splits,
            )
        })
        .collect();
    let metrics = metric_definitions::Entity::find()
        .filter(metric_definitions::Column::DeletedAt.is_null())
        .order_by_asc(metric_definitions::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            (
                row.id,
                row.activity_id,
                row.root_id,
                row.name,
                row.sort_order,
                row.is_active,
            )
        })
        .collect();
    let splits = split_definitions::Entity::find()
        .filter(split_definitions::Column::DeletedAt.is_null())
        .order_by_asc(split_definitions::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.activity_id, row.root_id, row.name, row.order))
        .collect();
    let templates = session_templates::Entity::find()
        .filter(session_templates::Column::DeletedAt.is_null())
        .order_by_asc(session_templates::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.root_id, row.name))
        .collect();
    let instances: Vec<(Uuid, Uuid, Uuid, Uuid, i32, bool)> = activity_instances::Entity::find()
        .filter(activity_instances::Column::DeletedAt.is_null())
        .order_by_asc(activity_instances::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            (
                row.id,
                row.practice_session_id,
                row.activity_definition_id,
                row.root_id,
                row.sort_order,
                row.completed,
            )
        })
        .collect();
    // Metric values have no `deleted_at`: they are visible with their instance.
    let live_instances: BTreeSet<Uuid> = instances.iter().map(|row| row.0).collect();
    let values = metric_values::Entity::find()
        .order_by_asc(metric_values::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|row| live_instances.contains(&row.activity_instance_id))
        .map(|row| {
            (
                row.id,
                row.activity_instance_id,
                row.metric_definition_id,
                row.split_definition_id,
                row.root_id,
                row.value,
            )
        })
        .collect();
    Ok(Visible {
        goals,
        links,
        groups,
        definitions,
        metrics,
        splits,
        templates,
        instances,
        values,
    })
}

/// The goals as stored (deleted ones too): parent and type of each, and the short-term goals
/// each practice session is linked to.
struct Goals {
    goals: BTreeMap<Uuid, (Option<Uuid>, bool)>,
    links: BTreeMap<Uuid, Vec<Uuid>>,
}

impl Goals {
    /// The true root of goal `id`: its parentless ancestor, or — when that is a practice
    /// session — the one root of the session's short-term goals.
    fn root_of(&self, id: Uuid) -> Result<Uuid, String> {
        self.walk(id, 0)
    }

    fn walk(&self, id: Uuid, sessions: usize) -> Result<Uuid, String> {
        let mut current = id;
        for _ in 0..=self.goals.len() {
            let (parent, is_session) = self
                .goals
                .get(&current)
                .ok_or_else(|| format!("goal {current} does not exist"))?;
            match parent {
                Some(parent) => current = *parent,
                None if *is_session => {
                    if sessions > 0 {
                        return Err(format!("session {current} hangs under a session"));
                    }
                    let linked = self
                        .links
                        .get(&current)
                        .ok_or_else(|| format!("session {current} serves no short-term goal"))?;
                    let mut roots = BTreeSet::new();
                    for goal in linked {
                        roots.insert(self.walk(*goal, sessions + 1)?);
                    }
                    let mut roots = roots.into_iter();
                    return match (roots.next(), roots.next()) {
                        (Some(root), None) => Ok(root),
                        _ => Err(format!("session {current} serves goals of several roots")),
                    };
                }
                None => return Ok(current),
            }
        }
        Err(format!("the parents of goal {id} form a cycle"))
    }

    /// Whether `id` is a root: its own true root.
    fn is_root(&self, id: Uuid) -> Result<bool, String> {
        Ok(self.root_of(id)? == id)
    }
}

/// Fails unless row `id` of `table`, whose stored `root_id` is `stored`, was created (as
/// `roots` records) under exactly that root; notes the row as seen.
fn created_under(
    roots: &Roots,
    seen: &mut Seen,
    table: &'static str,
    id: Uuid,
    stored: Uuid,
) -> TestResult {
    seen.entry(table).or_default().insert(id);
    let created = roots
        .get(table)
        .and_then(|rows| rows.get(&id))
        .copied()
        .ok_or_else(|| format!("{table} {id} exists, but no operation created it"))?;
    if stored == created {
        Ok(())
    } else {
        Err(
            format!("{table} {id} has root_id {stored}, but was created under root {created}")
                .into(),
        )
    }
}

/// Checks that every row of every practice table carries its true root, and exactly the root
/// it was created under (`roots`); and that each table holds exactly the rows `roots` lists.
async fn check_roots(db: &DatabaseConnection, roots: &Roots) -> TestResult {
    let mut seen = Seen::new();
    let mut goals = BTreeMap::new();
    let mut stored = Vec::new();
    for row in all(db, "SELECT id, parent_id, root_id, type FROM goals").await? {
        let id: Uuid = row.try_get_by_index(0)?;
        let parent: Option<Uuid> = row.try_get_by_index(1)?;
        let root: Uuid = row.try_get_by_index(2)?;
        let kind: String = row.try_get_by_index(3)?;
        goals.insert(id, (parent, kind == "PracticeSession"));
        stored.push((id, root));
    }
    let mut links: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for row in all(
        db,
        "SELECT practice_session_id, short_term_goal_id FROM practice_session_goals",
    )
    .await?
    {
        links
            .entry(row.try_get_by_index(0)?)
            .or_default()
            .push(row.try_get_by_index(1)?);
    }
    let graph = Goals { goals, links };
    let wrong = |what: &str, id: Uuid, stored: Uuid, truth: Uuid| -> TestResult {
        if stored == truth {
            Ok(())
        } else {
            Err(format!("{what} {id} has root_id {stored}, its true root is {truth}").into())
        }
    };

    for (id, root) in stored {
        wrong("goal", id, root, graph.root_of(id)?)?;
        created_under(roots, &mut seen, GOALS, id, root)?;
    }
    // Instances through their session, values through their instance.
    let mut instance_roots = BTreeMap::new();
    for row in all(
        db,
        "SELECT id, practice_session_id, root_id FROM activity_instances",
    )
    .await?
    {
        let id: Uuid = row.try_get_by_index(0)?;
        let root: Uuid = row.try_get_by_index(2)?;
        let truth = graph.root_of(row.try_get_by_index(1)?)?;
        wrong("activity instance", id, root, truth)?;
        created_under(roots, &mut seen, ACTIVITY_INSTANCES, id, root)?;
        instance_roots.insert(id, truth);
    }
    for row in all(
        db,
        "SELECT id, activity_instance_id, root_id FROM metric_values",
    )
    .await?
    {
        let id: Uuid = row.try_get_by_index(0)?;
        let instance: Uuid = row.try_get_by_index(1)?;
        let root: Uuid = row.try_get_by_index(2)?;
        let truth = *instance_roots
            .get(&instance)
            .ok_or_else(|| format!("metric value {id}: instance {instance} does not exist"))?;
        wrong("metric value", id, root, truth)?;
        created_under(roots, &mut seen, METRIC_VALUES, id, root)?;
    }
    // Groups, definitions and templates hang under a root (the one they were created in);
    // metrics and splits under their activity definition.
    let mut definition_roots = BTreeMap::new();
    for table in [ACTIVITY_GROUPS, ACTIVITY_DEFINITIONS, SESSION_TEMPLATES] {
        for row in all(db, &format!("SELECT id, root_id FROM {table}")).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            let root: Uuid = row.try_get_by_index(1)?;
            if !graph.is_root(root)? {
                return Err(format!("{table} {id} has root_id {root}, which is not a root").into());
            }
            created_under(roots, &mut seen, table, id, root)?;
            if table == ACTIVITY_DEFINITIONS {
                definition_roots.insert(id, root);
            }
        }
    }
    for table in [METRIC_DEFINITIONS, SPLIT_DEFINITIONS] {
        for row in all(db, &format!("SELECT id, activity_id, root_id FROM {table}")).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            let activity: Uuid = row.try_get_by_index(1)?;
            let root: Uuid = row.try_get_by_index(2)?;
            let truth = *definition_roots
                .get(&activity)
                .ok_or_else(|| format!("{table} {id}: activity {activity} does not exist"))?;
            wrong(table, id, root, truth)?;
            created_under(roots, &mut seen, table, id, root)?;
        }
    }
    // A deletion records the root of what it deleted (a goal's: computed from the graph).
    for row in all(
        db,
        "SELECT id, root_id, entity, entity_id FROM practice_deletions",
    )
    .await?
    {
        let id: Uuid = row.try_get_by_index(0)?;
        let root: Uuid = row.try_get_by_index(1)?;
        let entity: String = row.try_get_by_index(2)?;
        let truth = if entity == "goal" {
            graph.root_of(row.try_get_by_index(3)?)?
        } else {
            root
        };
        wrong("deletion", id, root, truth)?;
        if !graph.is_root(root)? {
            return Err(format!("deletion {id} has root_id {root}, which is not a root").into());
        }
        created_under(roots, &mut seen, PRACTICE_DELETIONS, id, root)?;
    }
    // Every row created (and every deletion not restored) is still there: nothing vanished.
    for table in ROOTED {
        let found = seen.remove(table).unwrap_or_default();
        let missing: Vec<&Uuid> = roots
            .get(table)
            .map(|rows| rows.keys().filter(|id| !found.contains(*id)).collect())
            .unwrap_or_default();
        if !missing.is_empty() {
            return Err(format!("{table}: rows created here are not stored: {missing:?}").into());
        }
    }
    Ok(())
}
