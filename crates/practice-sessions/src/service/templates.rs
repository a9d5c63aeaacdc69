//! Session templates of a fractal: named, reusable practice-session layouts (sections,
//! activities, durations) kept as a JSON object in `template_data`.
//!
//! A template hangs under a root goal (a fractal): its `root_id` is set here, never taken
//! from the caller, and a template of another user (or a deleted one) behaves exactly as a
//! missing one (`Core(NotFound)`). Names are validated ([`crate::input`]) and unique among the
//! root's live templates (the partial unique index `uq_session_templates_root_name`, `WHERE
//! deleted_at IS NULL`): a duplicate is `Core(Conflict)`, and a deleted template's name can
//! be reused. The data must be a JSON object (`Core(Invalid)` with `field =
//! "template_data"` otherwise); its content is the client's. Lists are by name, then id.
//!
//! Every write runs in one transaction and writes nothing when it fails. Deleting a template
//! is [`super::trash`]'s.

use chrono::Utc;
use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::Value;

use crate::entity::session_templates::{self, Column};
use crate::error::{Result, invalid, not_found};
use crate::input;
use crate::service::scope;

const TEMPLATE: &str = "session template";

/// A new session template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewTemplate {
    /// Its name, unique among the root's live templates.
    pub name: String,
    /// An optional description.
    pub description: Option<String>,
    /// Its layout: a JSON object.
    pub data: Value,
}

/// A change to a template: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::option_option)] // `Some(None)` removes the description
pub struct TemplateEdit {
    /// A new name.
    pub name: Option<String>,
    /// A new description; `Some(None)` (or a blank one) removes it.
    pub description: Option<Option<String>>,
    /// New data: a JSON object, replacing the old one.
    pub data: Option<Value>,
}

/// Creates a template in the user's fractal `root`.
///
/// # Errors
/// `Core(NotFound)` for a root that is not the user's live fractal; `Core(Invalid)` for a
/// bad name or description, or data that is not a JSON object (`template_data`);
/// `Core(Conflict)` when a live template of the root has that name.
pub async fn create<C>(
    db: &C,
    user: UserId,
    root: Uuid,
    new: NewTemplate,
) -> Result<session_templates::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = input::name("name", &new.name)?;
    let description = input::description("description", new.description.as_deref())?;
    let data = object(new.data)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let root = scope::root_for_write(&txn, user, root).await?;
    let now = Utc::now();
    let template = session_templates::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        description: Set(description),
        root_id: Set(root.id),
        created_at: Set(now),
        template_data: Set(data),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(template)
}

/// The user's live template `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (deleted, or another user's).
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<session_templates::Model> {
    template_of(db, user, id, false).await
}

/// The live templates of the user's fractal `root`, by name, then id.
///
/// # Errors
/// `Core(NotFound)` for a root that is not the user's live fractal.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
) -> Result<Vec<session_templates::Model>> {
    let root = scope::root(db, user, root).await?;
    Ok(session_templates::Entity::find()
        .filter(Column::RootId.eq(root.id))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::Name)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// Changes the user's template `id` as `edit` says (`updated_at` moves only when something
/// changes).
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` as [`create`]; `Core(Conflict)` when a live template of
/// the root has the new name.
pub async fn update<C>(
    db: &C,
    user: UserId,
    id: Uuid,
    edit: TemplateEdit,
) -> Result<session_templates::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = edit
        .name
        .as_deref()
        .map(|raw| input::name("name", raw))
        .transpose()?;
    let description = edit
        .description
        .map(|raw| input::description("description", raw.as_deref()))
        .transpose()?;
    let data = edit.data.map(object).transpose()?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let template = template_of(&txn, user, id, true).await?;
    let mut active: session_templates::ActiveModel = template.clone().into();
    let mut changed = false;
    if let Some(name) = name.filter(|name| *name != template.name) {
        active.name = Set(name);
        changed = true;
    }
    if let Some(description) = description.filter(|value| *value != template.description) {
        active.description = Set(description);
        changed = true;
    }
    if let Some(data) = data.filter(|data| *data != template.template_data) {
        active.template_data = Set(data);
        changed = true;
    }
    if !changed {
        txn.commit().await?;
        return Ok(template);
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// `data` if it is a JSON object.
fn object(data: Value) -> Result<Value> {
    if data.is_object() {
        Ok(data)
    } else {
        Err(invalid("template_data", "is not a JSON object"))
    }
}

/// The user's live template `id` (PostgreSQL: `FOR UPDATE` when `lock`).
async fn template_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
    lock: bool,
) -> Result<session_templates::Model> {
    let mut query = session_templates::Entity::find_by_id(id).filter(Column::DeletedAt.is_null());
    if lock && db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    let template = query
        .one(db)
        .await?
        .ok_or_else(|| not_found(TEMPLATE, id))?;
    if !scope::owns_root(db, user, template.root_id).await? {
        return Err(not_found(TEMPLATE, id));
    }
    Ok(template)
}
