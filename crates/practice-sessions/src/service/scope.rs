//! Tenant checks shared by every module: a row is the caller's when its goal (for `goals`)
//! or its root goal (for every other table) has the caller's `user_id`. Another user's row
//! and a missing one give the same `NotFound`.

use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Select,
};

use crate::entity::goals::{self, GoalType};
use crate::error::{Result, not_found};

/// The caller's live (not deleted) goal `id`, of any type (practice sessions included).
pub(crate) async fn goal<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<goals::Model> {
    live(user, id)
        .one(db)
        .await?
        .ok_or_else(|| not_found("goal", id))
}

/// The caller's live practice session `id`.
pub(crate) async fn session<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<goals::Model> {
    live(user, id)
        .filter(goals::Column::GoalType.eq(GoalType::PracticeSession))
        .one(db)
        .await?
        .ok_or_else(|| not_found("practice session", id))
}

/// The caller's live root goal (fractal) `id`: parentless, not a practice session.
pub(crate) async fn root<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<goals::Model> {
    live(user, id)
        .filter(goals::Column::ParentId.is_null())
        .filter(goals::Column::GoalType.ne(GoalType::PracticeSession))
        .one(db)
        .await?
        .ok_or_else(|| not_found("fractal", id))
}

/// The goal `id` if it is the caller's and not deleted.
fn live(user: UserId, id: Uuid) -> Select<goals::Entity> {
    goals::Entity::find_by_id(id)
        .filter(goals::Column::UserId.eq(user))
        .filter(goals::Column::DeletedAt.is_null())
}

/// Whether the root goal `root` (live or deleted) belongs to `user`: the check for a row of a
/// root-scoped table that was read by its id.
pub(crate) async fn owns_root<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
) -> Result<bool> {
    let found = goals::Entity::find_by_id(root)
        .filter(goals::Column::UserId.eq(user))
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// On PostgreSQL, holds the live root goal `root` `FOR SHARE` until the transaction ends:
/// every write that inserts or changes rows under a root takes it first, before locking any
/// row of the fractal, and every delete and move locks the root `FOR NO KEY UPDATE` first —
/// so a delete, whose set-based `UPDATE` sees only rows committed before it, cannot miss a
/// row inserted beside it, and the fixed order (root, then rows) cannot deadlock. SQLite's
/// write transactions are serial already.
///
/// # Errors
/// `Core(NotFound)` (`"fractal"`) when the root has been deleted meanwhile.
pub(crate) async fn hold_root<C: ConnectionTrait>(db: &C, root: Uuid) -> Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    goals::Entity::find_by_id(root)
        .filter(goals::Column::DeletedAt.is_null())
        .lock_shared()
        .one(db)
        .await?
        .map(drop)
        .ok_or_else(|| not_found("fractal", root))
}

/// [`hold_root`] for a write that then locks the goal `goal` (of root `root`) itself more
/// strongly: when the goal is the root, the stronger lock alone (taking `FOR SHARE` first
/// and then upgrading it would deadlock two such writes).
pub(crate) async fn hold_root_above<C: ConnectionTrait>(
    db: &C,
    root: Uuid,
    goal: Uuid,
) -> Result<()> {
    if root == goal {
        return Ok(());
    }
    hold_root(db, root).await
}

/// [`root`], held as [`hold_root`] says: for a write under it.
pub(crate) async fn root_for_write<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<goals::Model> {
    let found = root(db, user, id).await?;
    hold_root(db, found.id).await?;
    Ok(found)
}
