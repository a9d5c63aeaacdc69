//! The goal tree: fractals (roots) and the goals under them, with `root_id` kept true.
//!
//! # The hierarchy
//!
//! A **root** (a "fractal") is a parentless goal whose type is not `PracticeSession`;
//! [`create_root`] makes an `UltimateGoal`. Below it each goal may only have children of the
//! types [`allowed_children`] names for its own type:
//!
//! | parent            | allowed children |
//! |-------------------|------------------|
//! | `UltimateGoal`    | `LongTermGoal`   |
//! | `LongTermGoal`    | `MidTermGoal`    |
//! | `MidTermGoal`     | `ShortTermGoal`  |
//! | `ShortTermGoal`   | `ImmediateGoal`  |
//! | `PracticeSession` | `ImmediateGoal`  |
//! | `ImmediateGoal`   | `MicroGoal`      |
//! | `MicroGoal`       | `NanoGoal`       |
//! | `NanoGoal`        | (none)           |
//!
//! No type has `UltimateGoal` or `PracticeSession` as a child: an ultimate goal is always a
//! root, and a **practice session** is a parentless goal of its own that serves one or more
//! `ShortTermGoal`s of one root through a link (`practice_session_goals`, see
//! [`super::sessions`]), not as their child. Its `ImmediateGoal`s hang under it, so its
//! [`tree`] is its immediate-goal subtree. Any other placement is
//! [`Error::Hierarchy`].
//!
//! # `root_id`
//!
//! `root_id` is always set here, never taken from the caller: a root's is its own id (written
//! in the same `INSERT`: the self-reference to `goals.id` holds at the statement's end on both
//! backends); a practice session's is the root of its short-term goals (set by
//! [`super::sessions`]); every other goal's is its parent's. A subtree only moves within its
//! root ([`move_subtree`]; another root is [`Error::CrossRoot`], since
//! its sessions and activity instances reference that root's definitions), so no move ever
//! rewrites `root_id`.
//!
//! # Order, reads and writes
//!
//! Siblings are ordered by `sort_order`, then `created_at`, then `id`: a new goal goes after
//! its live siblings (the largest `sort_order` plus one, 0 for the first; a new root after the
//! user's other live roots), [`reorder`] numbers them 0..n, a moved goal goes last among its
//! new siblings. [`tree`] reads a whole subtree in one statement ([`subtree_statement`], a
//! recursive CTE over `parent_id`, served by `idx_goals_parent_id`, its depth bounded by
//! [`MAX_DEPTH`] so corrupt data cannot make it loop) and nests it in memory.
//!
//! Every function acts for one user: another user's goal behaves exactly as a missing one
//! (`Core(NotFound)`), and reads skip soft-deleted goals. Writes validate first and run in one
//! transaction ([`lifeos_core::db::begin_write`]; on PostgreSQL they first hold the root — `FOR
//! SHARE` to add or number children, `FOR NO KEY UPDATE` to move a subtree, as deletes do — and
//! then lock the rows they decide on, parents before children; see [`super::trash`] on
//! concurrency), set
//! `updated_at`, and write nothing when they fail. Timestamps written here are truncated to
//! microseconds, the precision PostgreSQL stores, so a model returned by a write equals the
//! one read back on both backends.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use lifeos_core::db::{begin_write, placeholder};
use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set, Statement,
    TransactionSession, TransactionTrait, Value,
};

use crate::entity::goals::{self, GoalType};
use crate::error::{Error, Result, invalid, not_found};
use crate::input;
use crate::service::scope;

/// The deepest level (the root's children are level 1) the recursive reads follow. The
/// hierarchy has at most seven levels; the bound only stops a walk over corrupt data (a cycle
/// of `parent_id`s written around this service).
pub const MAX_DEPTH: i32 = 64;

/// What [`move_subtree`] reports as crossing fractals.
const MOVING: &str = "moving a goal";

/// The types a goal of type `parent` may have as children (see the module's table). A
/// `ShortTermGoal`'s practice sessions are linked to it, not its children; `NanoGoal` has
/// none.
pub fn allowed_children(parent: GoalType) -> &'static [GoalType] {
    match parent {
        GoalType::UltimateGoal => &[GoalType::LongTermGoal],
        GoalType::LongTermGoal => &[GoalType::MidTermGoal],
        GoalType::MidTermGoal => &[GoalType::ShortTermGoal],
        GoalType::ShortTermGoal | GoalType::PracticeSession => &[GoalType::ImmediateGoal],
        GoalType::ImmediateGoal => &[GoalType::MicroGoal],
        GoalType::MicroGoal => &[GoalType::NanoGoal],
        GoalType::NanoGoal => &[],
    }
}

/// A change to a goal: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::option_option)] // `Some(None)` removes an optional field
pub struct GoalEdit {
    /// A new name (trimmed, 1..=[`input::NAME_MAX`] characters).
    pub name: Option<String>,
    /// A new description; `Some(None)` (or a blank one) removes it.
    pub description: Option<Option<String>>,
    /// A new deadline, not before the goal's `created_at` (truncated to microseconds);
    /// `Some(None)` removes it.
    pub deadline: Option<Option<DateTime<Utc>>>,
}

/// A goal with its live descendants, nested; siblings by `sort_order`, `created_at`, `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// The goal.
    pub goal: goals::Model,
    /// Its live children, each with its own subtree.
    pub children: Vec<Tree>,
}

impl Tree {
    /// Every goal of the tree, in pre-order (a goal, then its children's subtrees in order).
    pub fn flatten(&self) -> Vec<&goals::Model> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.push(&node.goal);
            stack.extend(node.children.iter().rev());
        }
        out
    }
}

// --- writes ---

/// Creates a root (a fractal): an `UltimateGoal` without a parent, whose `root_id` is its own
/// id, after the user's other live roots.
///
/// # Errors
/// `Core(Invalid)` for a blank or over-long name (`name`) or an unknown user.
pub async fn create_root<C>(db: &C, user: UserId, name: &str) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = input::name("name", name)?;
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Serialises the user's new roots, so two get distinct places.
        lifeos_entity::user::Entity::find_by_id(user)
            .lock(LockType::NoKeyUpdate)
            .one(&txn)
            .await?;
    }
    let sort_order = next_sort_order(&txn, user, None).await?;
    let id = Uuid::now_v7();
    let at = now();
    let root = new_goal(user, GoalType::UltimateGoal, name, at)
        .with(id, None, id, sort_order)
        .insert(&txn)
        .await?;
    txn.commit().await?;
    Ok(root)
}

/// Creates a goal of type `goal_type` under the user's live goal `parent`, after its live
/// siblings; its `root_id` is the parent's.
///
/// # Errors
/// `Core(Invalid)` for a blank or over-long name (`name`); `Core(NotFound)` for a parent that
/// is not the user's live goal; [`Error::Hierarchy`] when [`allowed_children`] of the
/// parent's type does not include `goal_type` (a `PracticeSession` never does).
pub async fn create_child<C>(
    db: &C,
    user: UserId,
    parent: Uuid,
    goal_type: GoalType,
    name: &str,
) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = input::name("name", name)?;
    let txn = begin_write(db).await?;
    let unlocked = scope::goal(&txn, user, parent).await?;
    scope::hold_root_above(&txn, unlocked.root_id, unlocked.id).await?;
    let parent = goal_for_update(&txn, user, parent).await?;
    if !allowed_children(parent.goal_type).contains(&goal_type) {
        return Err(Error::Hierarchy {
            parent: Some(parent.goal_type),
            child: goal_type,
        });
    }
    let sort_order = next_sort_order(&txn, user, Some(parent.id)).await?;
    let child = new_goal(user, goal_type, name, now())
        .with(Uuid::now_v7(), Some(parent.id), parent.root_id, sort_order)
        .insert(&txn)
        .await?;
    txn.commit().await?;
    Ok(child)
}

/// Changes the user's live goal `goal` as `change` says (an empty edit changes nothing and
/// returns the goal as it is).
///
/// # Errors
/// `Core(Invalid)` for a blank or over-long name (`name`), an over-long description
/// (`description`), a deadline before the goal's `created_at` (`deadline`);
/// `Core(NotFound)` for a goal that is not the user's live goal.
pub async fn edit<C>(db: &C, user: UserId, goal: Uuid, change: GoalEdit) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = change
        .name
        .as_deref()
        .map(|raw| input::name("name", raw))
        .transpose()?;
    let description = match change.description {
        Some(raw) => Some(input::description("description", raw.as_deref())?),
        None => None,
    };
    let deadline = change.deadline.map(|deadline| deadline.map(micros));

    let txn = begin_write(db).await?;
    let current = goal_for_update(&txn, user, goal).await?;
    if let Some(Some(deadline)) = deadline
        && deadline < current.created_at
    {
        return Err(invalid(
            "deadline",
            format!(
                "{deadline} is before the goal was created, {}",
                current.created_at
            ),
        ));
    }
    if name.is_none() && description.is_none() && deadline.is_none() {
        txn.commit().await?;
        return Ok(current);
    }
    let mut active: goals::ActiveModel = current.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(deadline) = deadline {
        active.deadline = Set(deadline);
    }
    active.updated_at = Set(now());
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Marks the user's live goal `goal` completed (`true`) or not (`false`); when it already is,
/// returns it unchanged.
///
/// # Errors
/// `Core(NotFound)` for a goal that is not the user's live goal.
pub async fn set_completed<C>(
    db: &C,
    user: UserId,
    goal: Uuid,
    completed: bool,
) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let current = goal_for_update(&txn, user, goal).await?;
    if current.completed == completed {
        txn.commit().await?;
        return Ok(current);
    }
    let mut active: goals::ActiveModel = current.into();
    active.completed = Set(completed);
    active.updated_at = Set(now());
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Numbers the live children of the user's live goal `parent` 0..n in the order `order`
/// names them, and returns them in that order. Children whose place does not change are not
/// written.
///
/// # Errors
/// `Core(NotFound)` for a parent that is not the user's live goal; `Core(Invalid)` for
/// `order` when it is not exactly the ids of the parent's live children, each once.
pub async fn reorder<C>(
    db: &C,
    user: UserId,
    parent: Uuid,
    order: &[Uuid],
) -> Result<Vec<goals::Model>>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let unlocked = scope::goal(&txn, user, parent).await?;
    scope::hold_root_above(&txn, unlocked.root_id, unlocked.id).await?;
    let parent = goal_for_update(&txn, user, parent).await?;
    let children = live_children(&txn, user, parent.id).await?;
    let reordered = renumber(&txn, children, order, &format!("goal {}", parent.id)).await?;
    txn.commit().await?;
    Ok(reordered)
}

/// Numbers the user's live roots 0..n in the order `order` names them, and returns them in
/// that order (as [`reorder`] does for children).
///
/// # Errors
/// `Core(Invalid)` for `order` when it is not exactly the ids of the user's live roots, each
/// once.
pub async fn reorder_roots<C>(db: &C, user: UserId, order: &[Uuid]) -> Result<Vec<goals::Model>>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Serialises with the user's new roots, as `create_root` does.
        lifeos_entity::user::Entity::find_by_id(user)
            .lock(LockType::NoKeyUpdate)
            .one(&txn)
            .await?;
    }
    let roots = roots_query(user).all(&txn).await?;
    let reordered = renumber(&txn, roots, order, "the user's roots").await?;
    txn.commit().await?;
    Ok(reordered)
}

/// Gives `siblings` (the live children of `of`) the places 0..n in the order `order` names
/// them; writes only the rows whose place changes.
async fn renumber<C: ConnectionTrait>(
    db: &C,
    siblings: Vec<goals::Model>,
    order: &[Uuid],
    of: &str,
) -> Result<Vec<goals::Model>> {
    if order.len() != siblings.len() {
        return Err(invalid(
            "order",
            format!("names {} goals; {of} has {}", order.len(), siblings.len()),
        ));
    }
    let mut by_id: HashMap<Uuid, goals::Model> = siblings
        .into_iter()
        .map(|sibling| (sibling.id, sibling))
        .collect();
    let mut picked = Vec::with_capacity(order.len());
    for id in order {
        let sibling = by_id.remove(id).ok_or_else(|| {
            invalid(
                "order",
                format!("{id} is not one of {of}, or is named twice"),
            )
        })?;
        picked.push(sibling);
    }
    let at = now();
    let mut reordered = Vec::with_capacity(picked.len());
    for (position, sibling) in picked.into_iter().enumerate() {
        let sort_order =
            i32::try_from(position).map_err(|_| invalid("order", "names too many goals"))?;
        if sibling.sort_order == sort_order {
            reordered.push(sibling);
            continue;
        }
        let mut active: goals::ActiveModel = sibling.into();
        active.sort_order = Set(sort_order);
        active.updated_at = Set(at);
        reordered.push(active.update(db).await?);
    }
    Ok(reordered)
}

/// Moves the user's live goal `goal`, with its subtree, under the user's live goal
/// `new_parent` of the same root, last among its new siblings. `root_id` stays (the root is
/// the same), so nothing else changes.
///
/// The checks, in order: both goals must be the user's live goals (`Core(NotFound)`); a root
/// or a practice session cannot move ([`Error::Hierarchy`] with the new parent's type);
/// another root is [`Error::CrossRoot`]; `new_parent` being `goal` or one of its descendants
/// is [`Error::Cycle`] (one recursive CTE up `parent_id` from `new_parent`); a type the new
/// parent does not allow ([`allowed_children`]) is [`Error::Hierarchy`].
///
/// # Errors
/// As listed above.
pub async fn move_subtree<C>(
    db: &C,
    user: UserId,
    goal: Uuid,
    new_parent: Uuid,
) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let moving = scope::goal(&txn, user, goal).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Serialises the moves within the root, so two concurrent moves cannot make a cycle
        // that neither sees; the goals are read again after the lock.
        goals::Entity::find_by_id(moving.root_id)
            .lock(LockType::NoKeyUpdate)
            .one(&txn)
            .await?;
    }
    // Parents before children, as `create_child` and `reorder` lock them.
    let parent = goal_for_update(&txn, user, new_parent).await?;
    let moving = goal_for_update(&txn, user, goal).await?;
    if moving.parent_id.is_none() {
        return Err(Error::Hierarchy {
            parent: Some(parent.goal_type),
            child: moving.goal_type,
        });
    }
    if parent.root_id != moving.root_id {
        return Err(Error::CrossRoot { what: MOVING });
    }
    if is_ancestor_or_self(&txn, moving.id, parent.id).await? {
        return Err(Error::Cycle { goal: moving.id });
    }
    if !allowed_children(parent.goal_type).contains(&moving.goal_type) {
        return Err(Error::Hierarchy {
            parent: Some(parent.goal_type),
            child: moving.goal_type,
        });
    }
    let sort_order = next_sort_order(&txn, user, Some(parent.id)).await?;
    let mut active: goals::ActiveModel = moving.into();
    active.parent_id = Set(Some(parent.id));
    active.sort_order = Set(sort_order);
    active.updated_at = Set(now());
    let moved = active.update(&txn).await?;
    txn.commit().await?;
    Ok(moved)
}

// --- reads ---

/// The user's live goal `goal` (of any type, practice sessions included).
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's, or deleted).
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId, goal: Uuid) -> Result<goals::Model> {
    scope::goal(db, user, goal).await
}

/// The user's live roots (parentless goals that are not practice sessions), by `sort_order`,
/// `created_at`, `id`.
///
/// # Errors
/// On a database failure.
pub async fn roots<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Vec<goals::Model>> {
    Ok(roots_query(user).all(db).await?)
}

/// The statement [`roots`] runs for `user` on `backend`, values inlined: what a query-plan
/// test explains (`idx_goals_user_parent` serves it).
pub fn roots_sql(backend: DbBackend, user: UserId) -> String {
    roots_query(user).build(backend).to_string()
}

fn roots_query(user: UserId) -> Select<goals::Entity> {
    ordered(
        goals::Entity::find()
            .filter(goals::Column::ParentId.is_null())
            .filter(goals::Column::UserId.eq(user))
            .filter(goals::Column::GoalType.ne(GoalType::PracticeSession))
            .filter(goals::Column::DeletedAt.is_null()),
    )
}

/// The live children of the user's live goal `goal`, by `sort_order`, `created_at`, `id`.
///
/// # Errors
/// `Core(NotFound)` for a goal that is not the user's live goal.
pub async fn children<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    goal: Uuid,
) -> Result<Vec<goals::Model>> {
    let parent = scope::goal(db, user, goal).await?;
    live_children(db, user, parent.id).await
}

/// The user's live goal `goal` with its live descendants, nested, siblings by `sort_order`,
/// `created_at`, `id` — read in one statement ([`subtree_statement`]). A practice session's
/// tree is its immediate-goal subtree.
///
/// # Errors
/// `Core(NotFound)` for a goal that is not the user's live goal.
pub async fn tree<C: ConnectionTrait>(db: &C, user: UserId, goal: Uuid) -> Result<Tree> {
    let rows = db
        .query_all_raw(subtree_statement(db.get_database_backend(), user, goal))
        .await?;
    let mut top = None;
    let mut seen = HashSet::with_capacity(rows.len());
    let mut by_parent: HashMap<Uuid, Vec<goals::Model>> = HashMap::new();
    for row in rows {
        let model = goals::Model::from_query_result(&row, "")?;
        // A corrupt cycle could repeat a goal (up to the depth bound): keep its first row.
        if !seen.insert(model.id) {
            continue;
        }
        if model.id == goal {
            top = Some(model);
        } else if let Some(parent) = model.parent_id {
            by_parent.entry(parent).or_default().push(model);
        }
    }
    let top = top.ok_or_else(|| not_found("goal", goal))?;
    for siblings in by_parent.values_mut() {
        siblings.sort_by_key(|sibling| (sibling.sort_order, sibling.created_at, sibling.id));
    }
    Ok(nest(top, &mut by_parent))
}

/// The statement [`tree`] runs for `user`'s goal `goal` on `backend`: a recursive CTE that
/// starts at the goal (by its primary key, when it is the user's and live) and joins each
/// level's live children on `parent_id` (`idx_goals_parent_id`), at most [`MAX_DEPTH`]
/// levels deep; it selects the goals' columns, as the entity reads them, in no particular
/// order. Its `to_string()` inlines the values, for a query-plan test.
pub fn subtree_statement(backend: DbBackend, user: UserId, goal: Uuid) -> Statement {
    let sql = format!(
        "WITH RECURSIVE sub AS (\
         SELECT {anchor}, 0 AS depth FROM goals \
         WHERE id = {p1} AND user_id = {p2} AND deleted_at IS NULL \
         UNION ALL \
         SELECT {recursive}, sub.depth + 1 FROM goals g JOIN sub ON g.parent_id = sub.id \
         WHERE g.deleted_at IS NULL AND sub.depth < {MAX_DEPTH}) \
         SELECT {anchor} FROM sub",
        anchor = columns(""),
        recursive = columns("g."),
        p1 = placeholder(backend, 1),
        p2 = placeholder(backend, 2),
    );
    let values: Vec<Value> = vec![goal.into(), user.0.into()];
    Statement::from_sql_and_values(backend, sql, values)
}

// --- helpers ---

/// The current instant, truncated to microseconds (PostgreSQL's precision).
fn now() -> DateTime<Utc> {
    micros(Utc::now())
}

/// `instant` truncated to microseconds.
fn micros(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.trunc_subsecs(6)
}

/// The goals' columns, quoted (`type` is a keyword), each prefixed by `prefix`, as the entity
/// reads them.
fn columns(prefix: &str) -> String {
    goals::Column::iter()
        .map(|column| format!("{prefix}\"{}\"", IdenStatic::as_str(&column)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `query` by `sort_order`, `created_at`, `id`.
fn ordered(query: Select<goals::Entity>) -> Select<goals::Entity> {
    query
        .order_by_asc(goals::Column::SortOrder)
        .order_by_asc(goals::Column::CreatedAt)
        .order_by_asc(goals::Column::Id)
}

/// The live children of `parent` (a goal of `user`), ordered.
async fn live_children<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    parent: Uuid,
) -> Result<Vec<goals::Model>> {
    Ok(ordered(
        goals::Entity::find()
            .filter(goals::Column::ParentId.eq(parent))
            .filter(goals::Column::UserId.eq(user))
            .filter(goals::Column::DeletedAt.is_null()),
    )
    .all(db)
    .await?)
}

/// The user's live goal `id`, locked `FOR NO KEY UPDATE` on PostgreSQL (SQLite's write
/// transaction already serialises writers): writers that decide on it wait, while inserts that
/// only reference it (`FOR KEY SHARE`, the foreign-key check) do not.
async fn goal_for_update<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<goals::Model> {
    let mut query = goals::Entity::find_by_id(id)
        .filter(goals::Column::UserId.eq(user))
        .filter(goals::Column::DeletedAt.is_null());
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::NoKeyUpdate);
    }
    query.one(db).await?.ok_or_else(|| not_found("goal", id))
}

/// The `sort_order` after the live siblings of a new goal of `user` under `parent` (among the
/// user's live roots for `None`): their largest plus one, 0 when there are none.
async fn next_sort_order<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    parent: Option<Uuid>,
) -> Result<i32> {
    let query = match parent {
        Some(parent) => goals::Entity::find().filter(goals::Column::ParentId.eq(parent)),
        None => goals::Entity::find()
            .filter(goals::Column::ParentId.is_null())
            .filter(goals::Column::GoalType.ne(GoalType::PracticeSession)),
    };
    let last = query
        .filter(goals::Column::UserId.eq(user))
        .filter(goals::Column::DeletedAt.is_null())
        .order_by_desc(goals::Column::SortOrder)
        .one(db)
        .await?;
    match last {
        None => Ok(0),
        Some(last) => last
            .sort_order
            .checked_add(1)
            .ok_or_else(|| invalid("sort_order", "the siblings' order is exhausted")),
    }
}

/// Whether `goal` is `start` or one of its ancestors: one recursive CTE up `parent_id` from
/// `start` (primary-key lookups), at most [`MAX_DEPTH`] levels.
async fn is_ancestor_or_self<C: ConnectionTrait>(db: &C, goal: Uuid, start: Uuid) -> Result<bool> {
    let backend = db.get_database_backend();
    let sql = format!(
        "WITH RECURSIVE up AS (\
         SELECT id, parent_id, 0 AS depth FROM goals WHERE id = {} \
         UNION ALL \
         SELECT g.id, g.parent_id, up.depth + 1 FROM goals g JOIN up ON g.id = up.parent_id \
         WHERE up.depth < {MAX_DEPTH}) \
         SELECT count(*) FROM up WHERE id = {}",
        placeholder(backend, 1),
        placeholder(backend, 2),
    );
    let values: Vec<Value> = vec![start.into(), goal.into()];
    let found: i64 = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    Ok(found > 0)
}

/// A new goal's fields that do not depend on where it goes.
struct NewGoal(goals::ActiveModel);

/// A new goal of `user`, of type `goal_type`, named `name`, created at `at`.
fn new_goal(user: UserId, goal_type: GoalType, name: String, at: DateTime<Utc>) -> NewGoal {
    NewGoal(goals::ActiveModel {
        user_id: Set(user),
        goal_type: Set(goal_type),
        name: Set(name),
        description: Set(None),
        deadline: Set(None),
        completed: Set(false),
        created_at: Set(at),
        updated_at: Set(at),
        total_paused_seconds: Set(0),
        ..Default::default()
    })
}

impl NewGoal {
    /// The goal with its id, parent, root and place.
    fn with(
        self,
        id: Uuid,
        parent: Option<Uuid>,
        root: Uuid,
        sort_order: i32,
    ) -> goals::ActiveModel {
        let mut active = self.0;
        active.id = Set(id);
        active.parent_id = Set(parent);
        active.root_id = Set(root);
        active.sort_order = Set(sort_order);
        active
    }
}

/// `goal` with its children from `by_parent` (each list taken once, so even corrupt data
/// ends), nested.
fn nest(goal: goals::Model, by_parent: &mut HashMap<Uuid, Vec<goals::Model>>) -> Tree {
    let children = by_parent
        .remove(&goal.id)
        .unwrap_or_default()
        .into_iter()
        .map(|child| nest(child, by_parent))
        .collect();
    Tree { goal, children }
}
