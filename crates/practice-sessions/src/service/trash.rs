//! Soft delete, restore and purge (DECISIONS 15; issue 13, point 4).
//!
//! **Delete.** Every delete is one transaction that writes one `practice_deletions` row (its
//! id a new v7 UUID; the user, the root, what the caller named and when) and soft-deletes
//! the rows it removes: `deleted_at = now`, `delete_batch_id =` that row's id,
//! `updated_at = now` — only rows that are not deleted already, so a row deleted earlier on
//! its own keeps its own batch (and a later restore of this delete leaves it deleted). The
//! statements are set-based (`UPDATE … WHERE …`, a recursive CTE over `parent_id` for
//! subtrees). What each delete removes:
//!
//! - [`delete_goal`] of a **root** (a parentless goal that is not a practice session): every
//!   live row of its fractal — `root_id = root` in `goals` (its sessions included),
//!   `activity_groups`, `activity_definitions`, `metric_definitions`, `split_definitions`,
//!   `activity_instances` and `session_templates`.
//! - [`delete_goal`] of a **practice session**: the session, its goal subtree (immediate goals
//!   … by `parent_id`) and its activity instances.
//! - [`delete_goal`] of **any other goal**: its subtree, and every live practice session
//!   linked to a short-term goal of that subtree and to no live short-term goal outside it
//!   (a session still linked to a live short-term goal elsewhere stays), with those sessions'
//!   subtrees and activity instances.
//! - [`delete_group`]: the group only. Its definitions keep `group_id` (reads treat a deleted
//!   group as none), so restoring the group regroups them.
//! - [`delete_definition`]: the activity definition with its metric and split definitions.
//!   Instances and their values stay: they are history.
//! - [`delete_template`]: the template. [`delete_instance`]: the activity instance; its
//!   metric values have no `deleted_at` — they are hidden with it, and go when it is purged.
//!
//! Practice-session links (`practice_session_goals`) have no `deleted_at`: a link is visible
//! when both of its goals are.
//!
//! **Restore** ([`restore`]) brings back exactly the rows of one deletion — per table
//! `UPDATE … SET deleted_at = NULL, delete_batch_id = NULL WHERE root_id = ? AND
//! delete_batch_id = ?` (served by each table's `root_id` index) — and removes the deletion's
//! row. It refuses ([`Error::ParentDeleted`], naming the row still deleted) what would bring a
//! row back under a deleted one: a goal whose parent is deleted, anything whose root is
//! deleted (unless this deletion deleted the root), a practice session none of whose linked
//! short-term goals would be live, an instance whose session is deleted, a metric or split
//! definition whose activity definition is deleted. A name taken meanwhile by a live row (the
//! partial unique indexes) is `Core(Conflict)`; a practice session that was running, while
//! another one has started since, is [`Error::SessionActive`]. Either way nothing is
//! restored.
//!
//! **Purge** ([`purge`]) hard-deletes the caller's soft-deleted rows with `deleted_at` before
//! an instant, whatever their batch (rows deleted before batches existed too), children first,
//! in one transaction, and reports how many rows it removed per table. It goes fractal by
//! fractal (the caller's goals that are their own root), each statement scoped by `root_id =
//! ?` and served by its table's `root_id` index. The order, and what is skipped (it stays
//! soft-deleted; a later purge takes it once nothing refers to it any more):
//!
//! 1. `metric_values` of the activity instances purged next;
//! 2. `activity_instances`;
//! 3. `split_definitions` and `metric_definitions` — **skipped** while a metric value refers
//!    to them (the foreign keys restrict);
//! 4. `activity_definitions` — **skipped** while an activity instance refers to them or one of
//!    their metric or split definitions remains (deleting it would cascade to them);
//! 5. `activity_groups`, after `group_id` is set to NULL on the definitions (live or not) that
//!    point at a group being purged;
//! 6. `session_templates`;
//! 7. the user's `practice_deletions` rows older than the instant — before the goals, so the
//!    count is exact (a root's deletions would otherwise go with it by cascade) — except a
//!    deletion some of whose rows (other than goals) were skipped: it stays, so they can
//!    still be restored (a restore then brings back only the rows the purge kept);
//! 8. `goals`, leaves first (repeated until none is left to purge): a goal is **skipped**
//!    while it has a child goal (live, more recent or skipped), a practice session while it
//!    has activity instances left, a root while any row of its fractal remains. Deleting a
//!    goal removes its links to practice sessions by foreign key (not counted).
//!
//! **Concurrency** (PostgreSQL; SQLite's write transactions are serial): a delete and a move
//! lock the root `FOR NO KEY UPDATE` first, and every write that adds rows under a root holds
//! it `FOR SHARE` first (`scope::hold_root`), so a delete's set-based `UPDATE` cannot miss a
//! row inserted beside it; a restore locks its deletion, then the root; a purge locks the
//! deletions it may end, so a restore and a purge of one deletion never interleave.
//!
//! Every function acts for one user: another user's goal, group, definition, template,
//! instance or deletion behaves exactly as a missing one (`Core(NotFound)`), and purge and
//! [`deletions`] see only the caller's rows.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use lifeos_core::db::{begin_write, placeholder};
use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Set, Statement, TransactionSession,
    TransactionTrait, Value,
};

use crate::entity::goals::{self, GoalType};
use crate::entity::practice_deletions::DeletedKind;
use crate::entity::{
    activity_definitions, activity_groups, activity_instances, practice_deletions,
    session_templates,
};
use crate::error::{Error, Result, invalid, not_found};

/// `goals`.
pub const GOALS: &str = "goals";
/// `activity_groups`.
pub const ACTIVITY_GROUPS: &str = "activity_groups";
/// `activity_definitions`.
pub const ACTIVITY_DEFINITIONS: &str = "activity_definitions";
/// `metric_definitions`.
pub const METRIC_DEFINITIONS: &str = "metric_definitions";
/// `split_definitions`.
pub const SPLIT_DEFINITIONS: &str = "split_definitions";
/// `activity_instances`.
pub const ACTIVITY_INSTANCES: &str = "activity_instances";
/// `session_templates`.
pub const SESSION_TEMPLATES: &str = "session_templates";
/// `metric_values` (purged with their instances; never soft-deleted).
pub const METRIC_VALUES: &str = "metric_values";
/// `practice_deletions` (purged with the rows they deleted).
pub const PRACTICE_DELETIONS: &str = "practice_deletions";

/// The tables a delete soft-deletes rows of (they carry `deleted_at` and `delete_batch_id`).
pub const BATCHED: [&str; 7] = [
    GOALS,
    ACTIVITY_GROUPS,
    ACTIVITY_DEFINITIONS,
    METRIC_DEFINITIONS,
    SPLIT_DEFINITIONS,
    ACTIVITY_INSTANCES,
    SESSION_TEMPLATES,
];

const GOAL: &str = "goal";
const GROUP: &str = "activity group";
const DEFINITION: &str = "activity definition";
const TEMPLATE: &str = "session template";
const INSTANCE: &str = "activity instance";
const DELETION: &str = "deletion";

/// A soft delete that happened: its id (the `practice_deletions` row, what [`restore`] takes)
/// and how many rows it soft-deleted per table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    /// The deletion's id.
    pub id: Uuid,
    /// Rows soft-deleted per table name (only tables with at least one).
    pub rows: BTreeMap<&'static str, u64>,
}

// --- delete ---

/// Soft-deletes the caller's live goal `goal` with what hangs under it (see the module
/// documentation: a root takes its whole fractal, a practice session its subtree and
/// instances, any other goal its subtree and the sessions left without a live short-term
/// goal).
///
/// # Errors
/// `Core(NotFound)` when the goal is not the caller's live goal.
pub async fn delete_goal<C>(db: &C, user: UserId, goal: Uuid) -> Result<Deletion>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let target = live_goal(&txn, user, goal).await?;
    let mut batch = Batch::begin(&txn, user, target.root_id, DeletedKind::Goal, target.id).await?;
    let is_session = target.goal_type == GoalType::PracticeSession;
    if target.parent_id.is_none() && !is_session {
        for table in BATCHED {
            batch.whole_root(&txn, table).await?;
        }
    } else {
        batch.goal_subtree(&txn, target.id).await?;
        if !is_session {
            batch.orphaned_sessions(&txn).await?;
            batch.session_subtrees(&txn).await?;
        }
        batch.session_instances(&txn).await?;
    }
    let deletion = batch.finish();
    txn.commit().await?;
    Ok(deletion)
}

/// Soft-deletes the caller's live activity group `id` (only the group: its definitions keep
/// pointing at it, and reads treat a deleted group as none).
///
/// # Errors
/// `Core(NotFound)` when the group is not the caller's live group.
pub async fn delete_group<C>(db: &C, user: UserId, id: Uuid) -> Result<Deletion>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let mut query = activity_groups::Entity::find_by_id(id)
        .filter(activity_groups::Column::DeletedAt.is_null());
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::NoKeyUpdate);
    }
    let root = owned_root(&txn, user, query.one(&txn).await?.map(|row| row.root_id)).await?;
    let root = root.ok_or_else(|| not_found(GROUP, id))?;
    let mut batch = Batch::begin(&txn, user, root, DeletedKind::ActivityGroup, id).await?;
    batch.by_column(&txn, ACTIVITY_GROUPS, "id", id).await?;
    let deletion = batch.finish();
    txn.commit().await?;
    Ok(deletion)
}

/// Soft-deletes the caller's live activity definition `id` with its metric and split
/// definitions. Its instances and their values stay (history).
///
/// # Errors
/// `Core(NotFound)` when the definition is not the caller's live definition.
pub async fn delete_definition<C>(db: &C, user: UserId, id: Uuid) -> Result<Deletion>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let mut query = activity_definitions::Entity::find_by_id(id)
        .filter(activity_definitions::Column::DeletedAt.is_null());
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::NoKeyUpdate);
    }
    let root = owned_root(&txn, user, query.one(&txn).await?.map(|row| row.root_id)).await?;
    let root = root.ok_or_else(|| not_found(DEFINITION, id))?;
    let mut batch = Batch::begin(&txn, user, root, DeletedKind::ActivityDefinition, id).await?;
    batch
        .by_column(&txn, ACTIVITY_DEFINITIONS, "id", id)
        .await?;
    batch
        .by_column(&txn, METRIC_DEFINITIONS, "activity_id", id)
        .await?;
    batch
        .by_column(&txn, SPLIT_DEFINITIONS, "activity_id", id)
        .await?;
    let deletion = batch.finish();
    txn.commit().await?;
    Ok(deletion)
}

/// Soft-deletes the caller's live session template `id`.
///
/// # Errors
/// `Core(NotFound)` when the template is not the caller's live template.
pub async fn delete_template<C>(db: &C, user: UserId, id: Uuid) -> Result<Deletion>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let mut query = session_templates::Entity::find_by_id(id)
        .filter(session_templates::Column::DeletedAt.is_null());
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::NoKeyUpdate);
    }
    let root = owned_root(&txn, user, query.one(&txn).await?.map(|row| row.root_id)).await?;
    let root = root.ok_or_else(|| not_found(TEMPLATE, id))?;
    let mut batch = Batch::begin(&txn, user, root, DeletedKind::SessionTemplate, id).await?;
    batch.by_column(&txn, SESSION_TEMPLATES, "id", id).await?;
    let deletion = batch.finish();
    txn.commit().await?;
    Ok(deletion)
}

/// Soft-deletes the caller's live activity instance `id` (its metric values are hidden with
/// it and purged with it).
///
/// # Errors
/// `Core(NotFound)` when the instance is not the caller's live instance.
pub async fn delete_instance<C>(db: &C, user: UserId, id: Uuid) -> Result<Deletion>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let mut query = activity_instances::Entity::find_by_id(id)
        .filter(activity_instances::Column::DeletedAt.is_null());
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::NoKeyUpdate);
    }
    let root = owned_root(&txn, user, query.one(&txn).await?.map(|row| row.root_id)).await?;
    let root = root.ok_or_else(|| not_found(INSTANCE, id))?;
    let mut batch = Batch::begin(&txn, user, root, DeletedKind::ActivityInstance, id).await?;
    batch.by_column(&txn, ACTIVITY_INSTANCES, "id", id).await?;
    let deletion = batch.finish();
    txn.commit().await?;
    Ok(deletion)
}

// --- restore ---

/// Restores exactly the rows the caller's deletion `deletion` soft-deleted, removes the
/// deletion, and returns how many rows came back per table (only tables with at least one).
///
/// # Errors
/// `Core(NotFound)` when the deletion is not the caller's (or was restored or purged
/// already); [`Error::ParentDeleted`] when a row would come back under a row that is still
/// deleted (see the module documentation); [`Error::SessionActive`] when it would bring back
/// a running session while another of the caller's sessions is active; `Core(Conflict)` when
/// a restored name is now taken by a live row. Nothing is restored on any error.
pub async fn restore<C>(db: &C, user: UserId, deletion: Uuid) -> Result<BTreeMap<&'static str, u64>>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let backend = txn.get_database_backend();
    let mut query = practice_deletions::Entity::find_by_id(deletion)
        .filter(practice_deletions::Column::UserId.eq(user));
    if backend == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    let record = query
        .one(&txn)
        .await?
        .ok_or_else(|| not_found(DELETION, deletion))?;
    if backend == DbBackend::Postgres {
        // The root, as deletes and moves lock it first: a delete racing this restore waits,
        // and then sees the restored rows (or this restore sees its deleted parents).
        goals::Entity::find_by_id(record.root_id)
            .lock(LockType::NoKeyUpdate)
            .one(&txn)
            .await?;
    }
    refuse_deleted_parents(&txn, &record).await?;
    refuse_second_active_session(&txn, user, &record).await?;
    let now = now_micros();
    let mut rows = BTreeMap::new();
    for table in BATCHED {
        let statement = restore_statement(backend, table, record.root_id, record.id, now);
        let restored = match txn.execute_raw(statement).await {
            Ok(done) => done.rows_affected(),
            // Goals have one unique index: a session started since the check above.
            Err(error)
                if table == GOALS
                    && matches!(
                        error.sql_err(),
                        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                    ) =>
            {
                return Err(Error::SessionActive { active: None });
            }
            Err(error) => return Err(error.into()),
        };
        add(&mut rows, table, restored);
    }
    practice_deletions::Entity::delete_by_id(record.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows)
}

/// The statement [`restore`] runs on `table` (one of [`BATCHED`]) for the deletion `deletion`
/// in the root `root`, on `backend`, values inlined: what a query-plan test explains.
///
/// # Errors
/// `Core(Invalid)` for a table that is not one of [`BATCHED`].
pub fn restore_sql(backend: DbBackend, table: &str, root: Uuid, deletion: Uuid) -> Result<String> {
    let table = batched(table)?;
    Ok(restore_statement(backend, table, root, deletion, now_micros()).to_string())
}

/// `UPDATE table SET deleted_at = NULL, delete_batch_id = NULL, updated_at = now WHERE
/// root_id = root AND delete_batch_id = deletion`.
fn restore_statement(
    backend: DbBackend,
    table: &'static str,
    root: Uuid,
    deletion: Uuid,
    now: DateTime<Utc>,
) -> Statement {
    let mut binds = Binds::new(backend);
    let updated = binds.bind(now);
    let root = binds.bind(root);
    let batch = binds.bind(deletion);
    binds.statement(format!(
        "UPDATE {table} SET deleted_at = NULL, delete_batch_id = NULL, updated_at = {updated} \
         WHERE root_id = {root} AND delete_batch_id = {batch}"
    ))
}

/// Refuses a restore that would bring a row back under a row that stays deleted.
async fn refuse_deleted_parents<C: ConnectionTrait>(
    db: &C,
    record: &practice_deletions::Model,
) -> Result<()> {
    let backend = db.get_database_backend();

    // The root: deleted by another deletion (every row of a deletion shares its root).
    let root = goals::Entity::find_by_id(record.root_id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(DELETION, record.id))?;
    if root.deleted_at.is_some() && root.delete_batch_id != Some(record.id) {
        return Err(Error::ParentDeleted {
            what: "fractal",
            id: root.id,
        });
    }

    // A goal whose parent stays deleted.
    let mut binds = Binds::new(backend);
    let root_id = binds.bind(record.root_id);
    let batch = binds.bind(record.id);
    let deleted = still_deleted("p", &binds.bind(record.id));
    let sql = format!(
        "SELECT p.id FROM goals g JOIN goals p ON p.id = g.parent_id \
         WHERE g.root_id = {root_id} AND g.delete_batch_id = {batch} AND {deleted} LIMIT 1"
    );
    if let Some(row) = db.query_one_raw(binds.statement(sql)).await? {
        return Err(Error::ParentDeleted {
            what: GOAL,
            id: row.try_get_by_index(0)?,
        });
    }

    // A practice session none of whose short-term goals would be live.
    let mut binds = Binds::new(backend);
    let root_id = binds.bind(record.root_id);
    let batch = binds.bind(record.id);
    let same = binds.bind(record.id);
    let sql = format!(
        "SELECT s.id, (SELECT l.short_term_goal_id FROM practice_session_goals l \
         WHERE l.practice_session_id = s.id ORDER BY l.short_term_goal_id LIMIT 1) \
         FROM goals s WHERE s.root_id = {root_id} AND s.type = 'PracticeSession' \
         AND s.delete_batch_id = {batch} AND NOT EXISTS (SELECT 1 FROM practice_session_goals l \
         JOIN goals t ON t.id = l.short_term_goal_id WHERE l.practice_session_id = s.id \
         AND (t.deleted_at IS NULL OR t.delete_batch_id = {same})) LIMIT 1"
    );
    if let Some(row) = db.query_one_raw(binds.statement(sql)).await? {
        let session: Uuid = row.try_get_by_index(0)?;
        let goal: Option<Uuid> = row.try_get_by_index(1)?;
        return Err(match goal {
            Some(goal) => Error::ParentDeleted {
                what: "short-term goal",
                id: goal,
            },
            // Its links went with purged goals: nothing it serves is left.
            None => Error::ParentDeleted {
                what: "short-term goals of practice session",
                id: session,
            },
        });
    }

    // An instance whose session stays deleted.
    let mut binds = Binds::new(backend);
    let root_id = binds.bind(record.root_id);
    let batch = binds.bind(record.id);
    let deleted = still_deleted("s", &binds.bind(record.id));
    let sql = format!(
        "SELECT s.id FROM activity_instances i JOIN goals s ON s.id = i.practice_session_id \
         WHERE i.root_id = {root_id} AND i.delete_batch_id = {batch} AND {deleted} LIMIT 1"
    );
    if let Some(row) = db.query_one_raw(binds.statement(sql)).await? {
        return Err(Error::ParentDeleted {
            what: "practice session",
            id: row.try_get_by_index(0)?,
        });
    }

    // A metric or split definition whose activity definition stays deleted.
    for table in [METRIC_DEFINITIONS, SPLIT_DEFINITIONS] {
        let mut binds = Binds::new(backend);
        let root_id = binds.bind(record.root_id);
        let batch = binds.bind(record.id);
        let deleted = still_deleted("a", &binds.bind(record.id));
        let sql = format!(
            "SELECT a.id FROM {table} m JOIN activity_definitions a ON a.id = m.activity_id \
             WHERE m.root_id = {root_id} AND m.delete_batch_id = {batch} AND {deleted} LIMIT 1"
        );
        if let Some(row) = db.query_one_raw(binds.statement(sql)).await? {
            return Err(Error::ParentDeleted {
                what: DEFINITION,
                id: row.try_get_by_index(0)?,
            });
        }
    }
    Ok(())
}

/// [`Error::SessionActive`] when `record` deleted a running session (started, not ended) and
/// another of the user's sessions is active now: at most one may be.
async fn refuse_second_active_session<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    record: &practice_deletions::Model,
) -> Result<()> {
    let running = goals::Entity::find()
        .filter(goals::Column::RootId.eq(record.root_id))
        .filter(goals::Column::DeleteBatchId.eq(record.id))
        .filter(goals::Column::GoalType.eq(GoalType::PracticeSession))
        .filter(goals::Column::SessionStart.is_not_null())
        .filter(goals::Column::SessionEnd.is_null())
        .one(db)
        .await?;
    if running.is_none() {
        return Ok(());
    }
    match crate::service::sessions::active(db, user).await? {
        Some(other) => Err(Error::SessionActive {
            active: Some(other.id),
        }),
        None => Ok(()),
    }
}

/// `alias` is deleted, by another deletion than `batch` (a placeholder) or before batches.
fn still_deleted(alias: &str, batch: &str) -> String {
    format!(
        "{alias}.deleted_at IS NOT NULL AND ({alias}.delete_batch_id IS NULL \
         OR {alias}.delete_batch_id <> {batch})"
    )
}

// --- purge ---

/// Hard-deletes the caller's soft-deleted rows deleted before `before`, children first, and
/// returns how many rows it removed per table (only tables with at least one), metric values
/// of purged instances and the user's `practice_deletions` rows included. Rows still referred
/// to are skipped (see the module documentation for the order and the skips).
///
/// # Errors
/// `Core(Db)` when the database fails; nothing is removed then.
pub async fn purge<C>(
    db: &C,
    user: UserId,
    before: DateTime<Utc>,
) -> Result<BTreeMap<&'static str, u64>>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = begin_write(db).await?;
    let backend = txn.get_database_backend();
    let now = now_micros();
    let mut rows = BTreeMap::new();
    if backend == DbBackend::Postgres {
        // The deletions this purge may end: a restore of one of them (which locks its row
        // first) waits for the purge, or the purge for it — never half of each.
        practice_deletions::Entity::find()
            .filter(practice_deletions::Column::UserId.eq(user))
            .filter(practice_deletions::Column::DeletedAt.lt(before))
            .order_by_asc(practice_deletions::Column::Id)
            .lock_exclusive()
            .all(&txn)
            .await?;
    }
    // Fractal by fractal (the goals that are their own root: not the sessions of a fractal,
    // though a session history left without one is its own root and is included): every
    // statement below is served by its table's root_id index.
    let roots: Vec<Uuid> = goals::Entity::find()
        .select_only()
        .column(goals::Column::Id)
        .filter(goals::Column::UserId.eq(user))
        .filter(goals::Column::ParentId.is_null())
        .filter(Expr::col(goals::Column::RootId).equals(goals::Column::Id))
        .into_tuple()
        .all(&txn)
        .await?;
    for root in &roots {
        purge_root(&txn, &mut rows, *root, before, now).await?;
    }

    // 7. The deletions (before the goals: a root's would go with it, uncounted).
    let mut binds = Binds::new(backend);
    let owner = binds.bind(user.0);
    let until = binds.bind(before);
    // A deletion some of whose rows were kept (still referred to) stays, so they can still
    // be restored. (Its goals are purged after this step — a root's deletion would go with
    // the root — so they do not count here.)
    let kept: Vec<String> = BATCHED
        .iter()
        .filter(|table| **table != GOALS)
        .map(|table| {
            format!(
                "NOT EXISTS (SELECT 1 FROM {table} x WHERE x.root_id = practice_deletions.root_id \
                 AND x.delete_batch_id = practice_deletions.id)"
            )
        })
        .collect();
    let sql = format!(
        "DELETE FROM practice_deletions WHERE user_id = {owner} AND deleted_at < {until} AND {}",
        kept.join(" AND ")
    );
    purge_step(&txn, &mut rows, PRACTICE_DELETIONS, binds, sql).await?;

    for root in &roots {
        purge_goals(&txn, &mut rows, user, *root, before).await?;
    }

    txn.commit().await?;
    Ok(rows)
}

/// Steps 1 to 6 of [`purge`] in the fractal `root`.
async fn purge_root<C: ConnectionTrait>(
    txn: &C,
    rows: &mut BTreeMap<&'static str, u64>,
    root: Uuid,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let backend = txn.get_database_backend();
    // 1. The values of the instances purged next.
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, "i", root, before);
    let sql = format!(
        "DELETE FROM metric_values WHERE activity_instance_id IN \
         (SELECT i.id FROM activity_instances i WHERE {old})"
    );
    purge_step(txn, rows, METRIC_VALUES, binds, sql).await?;

    // 2. The instances.
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, ACTIVITY_INSTANCES, root, before);
    let sql = format!("DELETE FROM activity_instances WHERE {old}");
    purge_step(txn, rows, ACTIVITY_INSTANCES, binds, sql).await?;

    // 3. Split and metric definitions no value refers to.
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, SPLIT_DEFINITIONS, root, before);
    let sql = format!(
        "DELETE FROM split_definitions WHERE {old} AND NOT EXISTS (SELECT 1 FROM metric_values v \
         WHERE v.split_definition_id = split_definitions.id)"
    );
    purge_step(txn, rows, SPLIT_DEFINITIONS, binds, sql).await?;
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, METRIC_DEFINITIONS, root, before);
    let sql = format!(
        "DELETE FROM metric_definitions WHERE {old} AND NOT EXISTS (SELECT 1 FROM metric_values v \
         WHERE v.metric_definition_id = metric_definitions.id)"
    );
    purge_step(txn, rows, METRIC_DEFINITIONS, binds, sql).await?;

    // 4. Activity definitions no instance refers to, whose metrics and splits are gone.
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, ACTIVITY_DEFINITIONS, root, before);
    let sql = format!(
        "DELETE FROM activity_definitions WHERE {old} \
         AND NOT EXISTS (SELECT 1 FROM activity_instances i \
         WHERE i.activity_definition_id = activity_definitions.id) \
         AND NOT EXISTS (SELECT 1 FROM metric_definitions m \
         WHERE m.activity_id = activity_definitions.id) \
         AND NOT EXISTS (SELECT 1 FROM split_definitions s \
         WHERE s.activity_id = activity_definitions.id)"
    );
    purge_step(txn, rows, ACTIVITY_DEFINITIONS, binds, sql).await?;

    // 5. Groups, after ungrouping the definitions that point at them.
    let mut binds = Binds::new(backend);
    let updated = binds.bind(now);
    let old = old_rows(&mut binds, "g", root, before);
    let sql = format!(
        "UPDATE activity_definitions SET group_id = NULL, updated_at = {updated} \
         WHERE group_id IN (SELECT g.id FROM activity_groups g WHERE {old})"
    );
    txn.execute_raw(binds.statement(sql)).await?;
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, ACTIVITY_GROUPS, root, before);
    let sql = format!("DELETE FROM activity_groups WHERE {old}");
    purge_step(txn, rows, ACTIVITY_GROUPS, binds, sql).await?;

    // 6. Templates.
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, SESSION_TEMPLATES, root, before);
    let sql = format!("DELETE FROM session_templates WHERE {old}");
    purge_step(txn, rows, SESSION_TEMPLATES, binds, sql).await?;

    Ok(())
}

/// Step 8 of [`purge`] in the fractal `root`.
async fn purge_goals<C: ConnectionTrait>(
    txn: &C,
    rows: &mut BTreeMap<&'static str, u64>,
    user: UserId,
    root: Uuid,
    before: DateTime<Utc>,
) -> Result<()> {
    let backend = txn.get_database_backend();
    // 8. Goals, leaves first: each round removes the goals nothing is left under.
    let remaining: Vec<String> = [
        ACTIVITY_GROUPS,
        ACTIVITY_DEFINITIONS,
        METRIC_DEFINITIONS,
        SPLIT_DEFINITIONS,
        ACTIVITY_INSTANCES,
        METRIC_VALUES,
        SESSION_TEMPLATES,
        PRACTICE_DELETIONS,
    ]
    .iter()
    .map(|table| format!("NOT EXISTS (SELECT 1 FROM {table} x WHERE x.root_id = goals.id)"))
    .collect();
    let empty_root = remaining.join(" AND ");
    loop {
        let mut binds = Binds::new(backend);
        let owner = binds.bind(user.0);
        let old = old_rows(&mut binds, GOALS, root, before);
        let sql = format!(
            "DELETE FROM goals WHERE goals.user_id = {owner} AND {old} \
             AND NOT EXISTS (SELECT 1 FROM goals c WHERE c.parent_id = goals.id) \
             AND NOT EXISTS (SELECT 1 FROM activity_instances i \
             WHERE i.practice_session_id = goals.id) \
             AND (goals.parent_id IS NOT NULL OR goals.type = 'PracticeSession' OR (\
             NOT EXISTS (SELECT 1 FROM goals o WHERE o.root_id = goals.id AND o.id <> goals.id) \
             AND {empty_root}))"
        );
        let removed = txn.execute_raw(binds.statement(sql)).await?.rows_affected();
        if removed == 0 {
            break;
        }
        add(rows, GOALS, removed);
    }
    Ok(())
}

/// The selection [`purge`] starts from on `table` (one of [`BATCHED`]): the ids of the
/// caller's rows deleted before `before`, on `backend`, values inlined — what a query-plan
/// test explains (each table's `root_id` index serves it).
///
/// # Errors
/// `Core(Invalid)` for a table that is not one of [`BATCHED`].
pub fn purge_selection_sql(
    backend: DbBackend,
    table: &str,
    root: Uuid,
    before: DateTime<Utc>,
) -> Result<String> {
    let table = batched(table)?;
    let mut binds = Binds::new(backend);
    let old = old_rows(&mut binds, table, root, before);
    Ok(binds
        .statement(format!("SELECT {table}.id FROM {table} WHERE {old}"))
        .to_string())
}

/// `alias` is a row of the fractal `root`, deleted before `before` (binds both).
fn old_rows(binds: &mut Binds, alias: &str, root: Uuid, before: DateTime<Utc>) -> String {
    let root = binds.bind(root);
    let until = binds.bind(before);
    format!("{alias}.root_id = {root} AND {alias}.deleted_at < {until}")
}

/// Runs one purge statement and counts what it removed as `table`'s.
async fn purge_step<C: ConnectionTrait>(
    db: &C,
    rows: &mut BTreeMap<&'static str, u64>,
    table: &'static str,
    binds: Binds,
    sql: String,
) -> Result<()> {
    let removed = db.execute_raw(binds.statement(sql)).await?.rows_affected();
    add(rows, table, removed);
    Ok(())
}

// --- deletions ---

/// The caller's deletions that can still be restored, newest first (then by id, descending).
///
/// # Errors
/// `Core(Db)` when the database fails.
pub async fn deletions<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> Result<Vec<practice_deletions::Model>> {
    Ok(deletions_query(user).all(db).await?)
}

/// The statement [`deletions`] runs for `user` on `backend`, values inlined: what a
/// query-plan test explains (`idx_practice_deletions_user_deleted` serves it).
pub fn deletions_sql(backend: DbBackend, user: UserId) -> String {
    deletions_query(user).build(backend).to_string()
}

fn deletions_query(user: UserId) -> Select<practice_deletions::Entity> {
    practice_deletions::Entity::find()
        .filter(practice_deletions::Column::UserId.eq(user))
        .order_by_desc(practice_deletions::Column::DeletedAt)
        .order_by_desc(practice_deletions::Column::Id)
}

// --- helpers ---

/// The caller's live goal `id` (as `scope::goal`). On PostgreSQL it is read again under a
/// `FOR NO KEY UPDATE` lock, after its root's (parents before children, as the tree module
/// locks them), so that two deletes of one goal, or a delete and a move within the root,
/// cannot both proceed on what they read.
async fn live_goal<C: ConnectionTrait>(db: &C, user: UserId, id: Uuid) -> Result<goals::Model> {
    let query = || {
        goals::Entity::find_by_id(id)
            .filter(goals::Column::UserId.eq(user))
            .filter(goals::Column::DeletedAt.is_null())
    };
    let found = query().one(db).await?.ok_or_else(|| not_found(GOAL, id))?;
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(found);
    }
    if found.root_id != found.id {
        goals::Entity::find_by_id(found.root_id)
            .lock(LockType::NoKeyUpdate)
            .one(db)
            .await?;
    }
    query()
        .lock(LockType::NoKeyUpdate)
        .one(db)
        .await?
        .ok_or_else(|| not_found(GOAL, id))
}

/// The current instant, truncated to microseconds (what PostgreSQL stores), so that both
/// backends hold the same value.
fn now_micros() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `root` when it is given and belongs to `user`; `None` otherwise (the caller's NotFound).
async fn owned_root<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Option<Uuid>,
) -> Result<Option<Uuid>> {
    let Some(root) = root else {
        return Ok(None);
    };
    if super::scope::owns_root(db, user, root).await? {
        Ok(Some(root))
    } else {
        Ok(None)
    }
}

/// `table` when it is one of [`BATCHED`].
fn batched(table: &str) -> Result<&'static str> {
    BATCHED
        .into_iter()
        .find(|candidate| *candidate == table)
        .ok_or_else(|| {
            invalid(
                "table",
                format!("{table} is not a table deletes remove rows from"),
            )
        })
}

/// Adds `count` rows to `table`'s (when there are any).
fn add(rows: &mut BTreeMap<&'static str, u64>, table: &'static str, count: u64) {
    if count > 0 {
        *rows.entry(table).or_insert(0) += count;
    }
}

/// A raw statement's values, bound in the order their placeholders appear in its text
/// (SQLite's `?` are positional).
struct Binds {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Binds {
    fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    /// Binds `value` and returns its placeholder: call in the order the text uses them.
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        placeholder(self.backend, self.values.len())
    }

    fn statement(self, sql: String) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, self.values)
    }
}

/// One delete in progress: its `practice_deletions` row is written, and each statement
/// soft-deletes live rows with its id.
struct Batch {
    backend: DbBackend,
    id: Uuid,
    root: Uuid,
    now: DateTime<Utc>,
    rows: BTreeMap<&'static str, u64>,
}

impl Batch {
    /// Writes the deletion's row: `entity` `entity_id` of `root`, deleted by `user` now.
    async fn begin<C: ConnectionTrait>(
        db: &C,
        user: UserId,
        root: Uuid,
        entity: DeletedKind,
        entity_id: Uuid,
    ) -> Result<Self> {
        let id = Uuid::now_v7();
        let now = now_micros();
        practice_deletions::ActiveModel {
            id: Set(id),
            user_id: Set(user),
            root_id: Set(root),
            entity: Set(entity),
            entity_id: Set(entity_id),
            deleted_at: Set(now),
        }
        .insert(db)
        .await?;
        Ok(Self {
            backend: db.get_database_backend(),
            id,
            root,
            now,
            rows: BTreeMap::new(),
        })
    }

    /// The deletion and its counts.
    fn finish(self) -> Deletion {
        Deletion {
            id: self.id,
            rows: self.rows,
        }
    }

    /// `SET deleted_at = now, delete_batch_id = id, updated_at = now` (binds three values).
    fn set(&self, binds: &mut Binds) -> String {
        let at = binds.bind(self.now);
        let batch = binds.bind(self.id);
        let updated = binds.bind(self.now);
        format!("SET deleted_at = {at}, delete_batch_id = {batch}, updated_at = {updated}")
    }

    /// Runs one soft-delete statement and counts what it changed as `table`'s.
    async fn run<C: ConnectionTrait>(
        &mut self,
        db: &C,
        table: &'static str,
        binds: Binds,
        sql: String,
    ) -> Result<()> {
        let changed = db.execute_raw(binds.statement(sql)).await?.rows_affected();
        add(&mut self.rows, table, changed);
        Ok(())
    }

    /// Every live row of `table` in the root.
    async fn whole_root<C: ConnectionTrait>(&mut self, db: &C, table: &'static str) -> Result<()> {
        let mut binds = Binds::new(self.backend);
        let set = self.set(&mut binds);
        let root = binds.bind(self.root);
        let sql = format!("UPDATE {table} {set} WHERE root_id = {root} AND deleted_at IS NULL");
        self.run(db, table, binds, sql).await
    }

    /// The live rows of `table` whose `column` is `id`.
    async fn by_column<C: ConnectionTrait>(
        &mut self,
        db: &C,
        table: &'static str,
        column: &str,
        id: Uuid,
    ) -> Result<()> {
        let mut binds = Binds::new(self.backend);
        let set = self.set(&mut binds);
        let id = binds.bind(id);
        let sql = format!("UPDATE {table} {set} WHERE {column} = {id} AND deleted_at IS NULL");
        self.run(db, table, binds, sql).await
    }

    /// The goal `start` and its live descendants (by `parent_id`).
    async fn goal_subtree<C: ConnectionTrait>(&mut self, db: &C, start: Uuid) -> Result<()> {
        let mut binds = Binds::new(self.backend);
        let start = binds.bind(start);
        let set = self.set(&mut binds);
        let sql = format!(
            "WITH RECURSIVE subtree(id) AS (SELECT id FROM goals WHERE id = {start} \
             UNION SELECT g.id FROM goals g JOIN subtree t ON g.parent_id = t.id) \
             UPDATE goals {set} WHERE deleted_at IS NULL AND id IN (SELECT id FROM subtree)"
        );
        self.run(db, GOALS, binds, sql).await
    }

    /// The live practice sessions linked to a short-term goal of this batch and to no live
    /// short-term goal (run after the subtree: every goal of it is deleted by then).
    async fn orphaned_sessions<C: ConnectionTrait>(&mut self, db: &C) -> Result<()> {
        let mut binds = Binds::new(self.backend);
        let set = self.set(&mut binds);
        let root = binds.bind(self.root);
        let goals_root = binds.bind(self.root);
        let batch = binds.bind(self.id);
        let sql = format!(
            "UPDATE goals {set} WHERE root_id = {root} AND type = 'PracticeSession' \
             AND deleted_at IS NULL \
             AND id IN (SELECT l.practice_session_id FROM goals t \
             JOIN practice_session_goals l ON l.short_term_goal_id = t.id \
             WHERE t.root_id = {goals_root} AND t.delete_batch_id = {batch}) \
             AND NOT EXISTS (SELECT 1 FROM practice_session_goals o \
             JOIN goals u ON u.id = o.short_term_goal_id \
             WHERE o.practice_session_id = goals.id AND u.deleted_at IS NULL)"
        );
        self.run(db, GOALS, binds, sql).await
    }

    /// The live descendants (by `parent_id`) of the practice sessions of this batch.
    async fn session_subtrees<C: ConnectionTrait>(&mut self, db: &C) -> Result<()> {
        let mut binds = Binds::new(self.backend);
        let root = binds.bind(self.root);
        let batch = binds.bind(self.id);
        let set = self.set(&mut binds);
        let sql = format!(
            "WITH RECURSIVE subtree(id) AS (SELECT c.id FROM goals c \
             JOIN goals s ON s.id = c.parent_id WHERE s.root_id = {root} \
             AND s.type = 'PracticeSession' AND s.delete_batch_id = {batch} \
             UNION SELECT g.id FROM goals g JOIN subtree t ON g.parent_id = t.id) \
             UPDATE goals {set} WHERE deleted_at IS NULL AND id IN (SELECT id FROM subtree)"
        );
        self.run(db, GOALS, binds, sql).await
    }

    /// The live activity instances of the practice sessions of this batch.
    async fn session_instances<C: ConnectionTrait>(&mut self, db: &C) -> Result<()> {
        let mut binds = Binds::new(self.backend);
        let set = self.set(&mut binds);
        let root = binds.bind(self.root);
        let batch = binds.bind(self.id);
        let sql = format!(
            "UPDATE activity_instances {set} WHERE deleted_at IS NULL \
             AND practice_session_id IN (SELECT s.id FROM goals s WHERE s.root_id = {root} \
             AND s.type = 'PracticeSession' AND s.delete_batch_id = {batch})"
        );
        self.run(db, ACTIVITY_INSTANCES, binds, sql).await
    }
}
