//! Property tests, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: after any
//! random sequence of operations — create a child (under a random live goal, of a type the
//! hierarchy allows), create a sibling mid- or short-term goal (what moves re-parent), create
//! a practice session (under random live short-term goals of one root, with an activity
//! instance and a value), move a goal, delete a goal, restore an earlier deletion that was not
//! restored yet (refusals allowed) — every row of every practice table, deleted or not,
//! carries its true root: computed here, in Rust, from the goals read raw (a goal's
//! parentless ancestor; a practice session's is its short-term goals'; instances and values
//! through their session and instance; metric and split definitions through their activity
//! definition). And a delete followed at once by the restore of that deletion leaves the
//! visible tree exactly as it was; a refused move or restore leaves it unchanged.
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
//! database).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
use lifeos_practice_sessions::entity::goals::{self, GoalType};
use lifeos_practice_sessions::service::activities::{self, NewDefinition, NewMetric};
use lifeos_practice_sessions::service::sessions::{self, NewSession};
use lifeos_practice_sessions::service::{trash, tree};
use lifeos_testkit::TestDb;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QueryResult, Statement,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// One operation; its numbers pick among the candidates of the moment (modulo their count).
#[derive(Clone, Debug)]
enum Op {
    /// A child of an allowed type under a live goal.
    Child { parent: usize, kind: usize },
    /// A `MidTermGoal` under a live long-term goal, or a `ShortTermGoal` under a live
    /// mid-term goal: a sibling of goals that moves can then re-parent.
    Sibling { parent: usize },
    /// A practice session under live short-term goals of one live root.
    Session { root: usize, goals: Vec<usize> },
    /// A live goal moved where `aim` says.
    Move {
        goal: usize,
        parent: usize,
        aim: Aim,
    },
    /// A live goal deleted — and, when `restore_now`, restored at once.
    Delete { goal: usize, restore_now: bool },
    /// A deletion not restored yet, restored (refusals allowed).
    Restore { deletion: usize },
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

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<usize>(), any::<usize>())
            .prop_map(|(parent, kind)| Op::Child { parent, kind }),
        3 => any::<usize>().prop_map(|parent| Op::Sibling { parent }),
        2 => (any::<usize>(), prop::collection::vec(any::<usize>(), 1..3))
            .prop_map(|(root, goals)| Op::Session { root, goals }),
        4 => (any::<usize>(), any::<usize>(), aim())
            .prop_map(|(goal, parent, aim)| Op::Move { goal, parent, aim }),
        2 => (any::<usize>(), any::<bool>())
            .prop_map(|(goal, restore_now)| Op::Delete { goal, restore_now }),
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

/// Where the operations run: the user, each root's activity definition and metric, the
/// deletions made and not restored yet, a counter for names, the re-parentings so far.
struct World {
    owner: UserId,
    definitions: BTreeMap<Uuid, (Uuid, Uuid)>,
    deletions: Vec<Uuid>,
    names: u32,
    reparented: usize,
}

/// Runs one case; returns how many moves re-parented a goal.
async fn check(ops: Vec<Op>) -> Fallible<usize> {
    let db = TestDb::at_head().await?;
    let owner = lifeos_testkit::user(&db, "ann@example.com").await?;
    let mut world = World {
        owner,
        definitions: BTreeMap::new(),
        deletions: Vec::new(),
        names: 0,
        reparented: 0,
    };
    // Two fractals, each with an activity definition of one metric.
    for name in ["Piano", "Chess"] {
        let root = tree::create_root(&*db, owner, name).await?.id;
        let created = activities::create_definition(
            &*db,
            owner,
            root,
            NewDefinition {
                name: "Drill".to_owned(),
                has_metrics: true,
                metrics: vec![NewMetric {
                    name: "reps".to_owned(),
                    unit: "count".to_owned(),
                    is_top_set: true,
                    is_multiplicative: true,
                }],
                ..Default::default()
            },
        )
        .await?;
        let metric = created.metrics.first().ok_or("no metric")?.id;
        world
            .definitions
            .insert(root, (created.definition.id, metric));
        // A branch down to two short-term goals, with a second (empty) mid-term goal they can
        // move to, and a session serving both, performed once.
        let long = tree::create_child(&*db, owner, root, GoalType::LongTermGoal, "Long").await?;
        let mid = tree::create_child(&*db, owner, long.id, GoalType::MidTermGoal, "Mid").await?;
        tree::create_child(&*db, owner, long.id, GoalType::MidTermGoal, "Mid b").await?;
        let mut shorts = Vec::new();
        for name in ["Short a", "Short b"] {
            let short =
                tree::create_child(&*db, owner, mid.id, GoalType::ShortTermGoal, name).await?;
            shorts.push(short.id);
        }
        let session = sessions::create(
            &*db,
            owner,
            NewSession {
                name: "Session".to_owned(),
                goals: shorts,
                ..Default::default()
            },
        )
        .await?;
        let instance =
            sessions::add_instance(&*db, owner, session.id, created.definition.id, None).await?;
        sessions::record_value(&*db, owner, instance.id, metric, None, 2.0).await?;
    }
    check_roots(&db).await?;
    for op in ops {
        apply(&db, &mut world, &op)
            .await
            .map_err(|error| format!("{op:?}: {error}"))?;
        check_roots(&db)
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

/// Fails when the visible tree is no longer `before` after a refused `what`.
async fn unchanged(db: &DatabaseConnection, before: &Visible, what: &str) -> TestResult {
    if visible(db).await? == *before {
        Ok(())
    } else {
        Err(format!("a refused {what} changed the visible tree").into())
    }
}

async fn apply(db: &DatabaseConnection, world: &mut World, op: &Op) -> TestResult {
    let owner = world.owner;
    world.names += 1;
    let name = format!("goal {}", world.names);
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
            tree::create_child(db, owner, parent.id, *kind, &name).await?;
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
            tree::create_child(db, owner, parent.id, kind, &name).await?;
        }
        Op::Session { root, goals: picks } => {
            let roots: Vec<&goals::Model> = live
                .iter()
                .filter(|goal| {
                    goal.parent_id.is_none() && goal.goal_type != GoalType::PracticeSession
                })
                .collect();
            let Some(root) = pick(&roots, *root) else {
                return Ok(());
            };
            let shorts: Vec<Uuid> = live
                .iter()
                .filter(|goal| goal.root_id == root.id && goal.goal_type == GoalType::ShortTermGoal)
                .map(|goal| goal.id)
                .collect();
            let chosen: BTreeSet<Uuid> = picks
                .iter()
                .filter_map(|index| pick(&shorts, *index).copied())
                .collect();
            if chosen.is_empty() {
                return Ok(());
            }
            let session = sessions::create(
                db,
                owner,
                NewSession {
                    name,
                    goals: chosen.into_iter().collect(),
                    ..Default::default()
                },
            )
            .await?;
            let (definition, metric) = world
                .definitions
                .get(&root.id)
                .copied()
                .ok_or("no definition for the root")?;
            let instance = sessions::add_instance(db, owner, session.id, definition, None).await?;
            sessions::record_value(db, owner, instance.id, metric, None, 1.5).await?;
        }
        Op::Move { goal, parent, aim } => {
            world.reparented += move_goal(db, owner, &live, *goal, *parent, *aim).await?;
        }
        Op::Delete { goal, restore_now } => {
            let Some(goal) = pick(&live, *goal) else {
                return Ok(());
            };
            let before = visible(db).await?;
            let deletion = trash::delete_goal(db, owner, goal.id).await?;
            if *restore_now {
                check_roots(db).await?;
                let restored = trash::restore(db, owner, deletion.id).await?;
                if restored != deletion.rows {
                    return Err(
                        format!("restored {restored:?}, deleted {:?}", deletion.rows).into(),
                    );
                }
                let after = visible(db).await?;
                if after != before {
                    return Err(format!(
                        "delete then restore of {} changed the visible tree:\n\
                         before {before:?}\nafter {after:?}",
                        goal.id
                    )
                    .into());
                }
            } else {
                world.deletions.push(deletion.id);
            }
        }
        Op::Restore { deletion } => {
            let Some(slot) = deletion.checked_rem(world.deletions.len()) else {
                return Ok(());
            };
            let Some(deletion) = world.deletions.get(slot).copied() else {
                return Ok(());
            };
            let before = visible(db).await?;
            match trash::restore(db, owner, deletion).await {
                // Restored: it cannot be restored again.
                Ok(_) => {
                    world.deletions.remove(slot);
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

/// What a user sees: live goals (id, parent, root, name, sort order, completed), live
/// activity instances (id, session, root), links between live goals, and the ids of the live
/// rows of the other soft-deletable tables.
#[derive(Debug, PartialEq)]
struct Visible {
    goals: Vec<(Uuid, Option<Uuid>, Uuid, String, i32, bool)>,
    instances: Vec<(Uuid, Uuid, Uuid)>,
    links: Vec<(Uuid, Uuid)>,
    others: Vec<(&'static str, Uuid)>,
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
    let mut instances: Vec<(Uuid, Uuid, Uuid)> = Vec::new();
    for row in all(
        db,
        "SELECT id, practice_session_id, root_id FROM activity_instances \
         WHERE deleted_at IS NULL ORDER BY id",
    )
    .await?
    {
        instances.push((
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
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
    let mut others: Vec<(&'static str, Uuid)> = Vec::new();
    for table in [
        "activity_groups",
        "activity_definitions",
        "metric_definitions",
        "split_definitions",
        "session_templates",
    ] {
        let sql = format!("SELECT id FROM {table} WHERE deleted_at IS NULL ORDER BY id");
        for row in all(db, &sql).await? {
            others.push((table, row.try_get_by_index(0)?));
        }
    }
    Ok(Visible {
        goals,
        instances,
        links,
        others,
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

/// Checks that every row of every practice table carries its true root.
async fn check_roots(db: &DatabaseConnection) -> TestResult {
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
        let truth = graph.root_of(row.try_get_by_index(1)?)?;
        wrong("activity instance", id, row.try_get_by_index(2)?, truth)?;
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
        let truth = *instance_roots
            .get(&instance)
            .ok_or_else(|| format!("metric value {id}: instance {instance} does not exist"))?;
        wrong("metric value", id, row.try_get_by_index(2)?, truth)?;
    }
    // Groups, definitions and templates hang under a root; metrics and splits under their
    // activity definition.
    let mut definition_roots = BTreeMap::new();
    for table in [
        "activity_groups",
        "activity_definitions",
        "session_templates",
    ] {
        for row in all(db, &format!("SELECT id, root_id FROM {table}")).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            let root: Uuid = row.try_get_by_index(1)?;
            if !graph.is_root(root)? {
                return Err(format!("{table} {id} has root_id {root}, which is not a root").into());
            }
            if table == "activity_definitions" {
                definition_roots.insert(id, root);
            }
        }
    }
    for table in ["metric_definitions", "split_definitions"] {
        for row in all(db, &format!("SELECT id, activity_id, root_id FROM {table}")).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            let activity: Uuid = row.try_get_by_index(1)?;
            let truth = *definition_roots
                .get(&activity)
                .ok_or_else(|| format!("{table} {id}: activity {activity} does not exist"))?;
            wrong(table, id, row.try_get_by_index(2)?, truth)?;
        }
    }
    // A deletion of a goal records that goal's root.
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
    }
    Ok(())
}
