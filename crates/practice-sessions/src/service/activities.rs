//! Activities of a fractal: activity groups, and activity definitions with their metric
//! definitions (unit, top-set, multiplicative) and split definitions (e.g. left/right).
//!
//! Everything here hangs under a root goal (a fractal): every row's
//! `root_id` is set here — a group's, a definition's, and its metrics' and splits' are the
//! root's — never taken from the caller. A group, definition, metric or split of another
//! user (or a deleted one) behaves exactly as a missing one: `Core(NotFound)`.
//!
//! **Names** are validated ([`crate::input`]: trimmed, 1..=[`crate::input::NAME_MAX`]
//! characters) and unique among the live (not deleted) rows of their parent: groups and
//! definitions per root, metrics and splits per definition. The partial unique indexes
//! (`uq_activity_groups_root_name`, `uq_activity_definitions_root_name`,
//! `uq_metric_definitions_activity_name`, `uq_split_definitions_activity_name`, all `WHERE
//! deleted_at IS NULL`) decide, and a duplicate is `Core(Conflict)`; a name listed twice in
//! one call's metrics (or splits) is the same `Conflict`, found before anything is written.
//! A deleted row's name can be reused. Input fields: `name`, `description`, `metric_name`,
//! `unit`, `split_name`; `metrics` (more than one top-set metric, an id listed twice),
//! `splits` (an id listed twice), `order` (a reorder that is not exactly the live groups).
//!
//! **Order.** Groups are listed by `sort_order`, then `created_at`, then id; a new group goes
//! last. Definitions (which have no `sort_order`) are listed by `created_at`, then id. A
//! definition's metrics are ordered by `sort_order` and its splits by `order` (each then by
//! `created_at` and id); both are set to the position in the list a caller gives.
//!
//! **Editing a definition's metrics** ([`update_definition`] with `metrics`) gives the
//! wanted list of live metrics, in order: listed ids are updated (they must be live metrics
//! of this definition), entries without an id are inserted, and live metrics left out are
//! removed — soft-deleted (`deleted_at` set; `delete_batch_id` stays `NULL`: no deletion
//! record, so no restore). A metric that has recorded values is never removed: the whole edit
//! is refused with [`Error::HasValues`] (deactivate it instead, `is_active: false`). Splits
//! likewise. Renames may swap names within one edit: renamed rows first take a temporary name
//! that no validated name can equal (a space and the row's id: validated names are trimmed),
//! so that the per-statement unique check never sees two live rows with one name.
//!
//! Every write runs in one transaction ([`lifeos_core::db::begin_write`]), checks everything
//! before its first write, and writes nothing when it fails. Deleting groups and definitions
//! is [`super::trash`]'s.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set, TransactionSession, TransactionTrait,
};

use crate::entity::{
    activity_definitions, activity_groups, metric_definitions, metric_values, split_definitions,
};
use crate::error::{Error, Result, conflict, invalid, not_found};
use crate::input;
use crate::service::scope;

const GROUP: &str = "activity group";
const DEFINITION: &str = "activity definition";
const METRIC: &str = "metric definition";
const SPLIT: &str = "split definition";

// --- types ---

/// A change to a group: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::option_option)] // `Some(None)` removes the description
pub struct GroupEdit {
    /// A new name.
    pub name: Option<String>,
    /// A new description; `Some(None)` (or a blank one) removes it.
    pub description: Option<Option<String>>,
}

/// A metric of a new definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewMetric {
    /// Its name, unique within the definition.
    pub name: String,
    /// Its unit (`reps`, `kg`, …): required.
    pub unit: String,
    /// Whether it defines the "top set" (at most one metric of a definition does).
    pub is_top_set: bool,
    /// Whether it is included in the definition's product of metrics.
    pub is_multiplicative: bool,
}

/// A new activity definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewDefinition {
    /// Its name, unique among the root's live definitions.
    pub name: String,
    /// An optional description.
    pub description: Option<String>,
    /// A live group of the same root, if any.
    pub group: Option<Uuid>,
    /// Whether it is recorded in sets.
    pub has_sets: bool,
    /// Whether it records metrics.
    pub has_metrics: bool,
    /// Whether a derived product of the multiplicative metrics is shown.
    pub metrics_multiplicative: bool,
    /// Whether values are recorded per split.
    pub has_splits: bool,
    /// Its metrics, in order (all active).
    pub metrics: Vec<NewMetric>,
    /// Its split names, in order.
    pub splits: Vec<String>,
}

/// An activity definition with its live metrics (by `sort_order`) and live splits (by
/// `order`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// The definition.
    pub definition: activity_definitions::Model,
    /// Its live metric definitions, in order.
    pub metrics: Vec<metric_definitions::Model>,
    /// Its live split definitions, in order.
    pub splits: Vec<split_definitions::Model>,
}

/// One wanted metric of [`DefinitionEdit::metrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricSpec {
    /// A live metric of the definition to keep (and update); `None` for a new one.
    pub id: Option<Uuid>,
    /// Its name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// Whether it defines the "top set".
    pub is_top_set: bool,
    /// Whether it is included in the product of metrics.
    pub is_multiplicative: bool,
    /// Whether it is active (an inactive metric keeps its values but is not offered).
    pub is_active: bool,
}

/// One wanted split of [`DefinitionEdit::splits`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitSpec {
    /// A live split of the definition to keep (and rename); `None` for a new one.
    pub id: Option<Uuid>,
    /// Its name.
    pub name: String,
}

/// A change to a definition: `None` leaves a field (or list) as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::option_option)] // `Some(None)` removes an optional field
pub struct DefinitionEdit {
    /// A new name.
    pub name: Option<String>,
    /// A new description; `Some(None)` removes it.
    pub description: Option<Option<String>>,
    /// A new group (a live group of the same root); `Some(None)` takes it out of its group.
    pub group: Option<Option<Uuid>>,
    /// A new `has_sets`.
    pub has_sets: Option<bool>,
    /// A new `has_metrics`.
    pub has_metrics: Option<bool>,
    /// A new `metrics_multiplicative`.
    pub metrics_multiplicative: Option<bool>,
    /// A new `has_splits`.
    pub has_splits: Option<bool>,
    /// The wanted live metrics, in order (see the module's documentation).
    pub metrics: Option<Vec<MetricSpec>>,
    /// The wanted live splits, in order.
    pub splits: Option<Vec<SplitSpec>>,
}

// --- groups ---

/// Creates a group named `name` in the user's fractal `root`, after its other live groups.
///
/// # Errors
/// `Core(NotFound)` for a root that is not the user's live fractal; `Core(Invalid)` for a
/// bad name; `Core(Conflict)` when a live group of the root has that name.
pub async fn create_group<C>(
    db: &C,
    user: UserId,
    root: Uuid,
    name: &str,
) -> Result<activity_groups::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = input::name("name", name)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let root = scope::root_for_write(&txn, user, root).await?;
    let last = activity_groups::Entity::find()
        .filter(activity_groups::Column::RootId.eq(root.id))
        .filter(activity_groups::Column::DeletedAt.is_null())
        .order_by_desc(activity_groups::Column::SortOrder)
        .one(&txn)
        .await?;
    let sort_order = match last {
        Some(group) => group
            .sort_order
            .checked_add(1)
            .ok_or_else(|| invalid("order", "the last group's position is the largest"))?,
        None => 0,
    };
    let now = Utc::now();
    let group = activity_groups::ActiveModel {
        id: Set(Uuid::now_v7()),
        root_id: Set(root.id),
        name: Set(name),
        description: Set(None),
        created_at: Set(now),
        sort_order: Set(sort_order),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(group)
}

/// The user's live group `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (deleted, or another user's).
pub async fn get_group<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<activity_groups::Model> {
    group_of(db, user, id, false).await
}

/// Changes the user's group `id` as `edit` says (`updated_at` moves only when something
/// changes).
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` for a bad name or description; `Core(Conflict)` when
/// a live group of the root has the new name.
pub async fn update_group<C>(
    db: &C,
    user: UserId,
    id: Uuid,
    edit: GroupEdit,
) -> Result<activity_groups::Model>
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
    let txn = lifeos_core::db::begin_write(db).await?;
    let group = group_of(&txn, user, id, true).await?;
    let mut active: activity_groups::ActiveModel = group.clone().into();
    let mut changed = false;
    if let Some(name) = name.filter(|name| *name != group.name) {
        active.name = Set(name);
        changed = true;
    }
    if let Some(description) = description.filter(|value| *value != group.description) {
        active.description = Set(description);
        changed = true;
    }
    if !changed {
        txn.commit().await?;
        return Ok(group);
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// The live groups of the user's fractal `root`, by `sort_order`, then `created_at`, then id.
///
/// # Errors
/// `Core(NotFound)` for a root that is not the user's live fractal.
pub async fn groups<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
) -> Result<Vec<activity_groups::Model>> {
    let root = scope::root(db, user, root).await?;
    live_groups(db, root.id, false).await
}

/// Puts the live groups of the user's fractal `root` in the order of `order`, which must
/// list each of them exactly once (and nothing else); returns them in that order. Their
/// `sort_order` becomes their position (rows already there are not touched).
///
/// # Errors
/// `Core(NotFound)` for a root that is not the user's live fractal; `Core(Invalid)` with
/// `field = "order"` when `order` is not exactly the root's live groups.
pub async fn reorder_groups<C>(
    db: &C,
    user: UserId,
    root: Uuid,
    order: &[Uuid],
) -> Result<Vec<activity_groups::Model>>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let root = scope::root_for_write(&txn, user, root).await?;
    let live = live_groups(&txn, root.id, true).await?;
    if order.len() != live.len() {
        return Err(invalid(
            "order",
            format!(
                "lists {} groups; the fractal has {} live groups",
                order.len(),
                live.len()
            ),
        ));
    }
    let mut by_id: HashMap<Uuid, activity_groups::Model> =
        live.into_iter().map(|group| (group.id, group)).collect();
    let mut placed = Vec::with_capacity(order.len());
    for (position, id) in order.iter().enumerate() {
        let group = by_id.remove(id).ok_or_else(|| {
            invalid(
                "order",
                format!("{id} is not a live group of the fractal, or is listed twice"),
            )
        })?;
        placed.push((group, position_of(position, "order")?));
    }
    let now = Utc::now();
    let mut groups = Vec::with_capacity(placed.len());
    for (group, sort_order) in placed {
        if group.sort_order == sort_order {
            groups.push(group);
            continue;
        }
        let mut active: activity_groups::ActiveModel = group.into();
        active.sort_order = Set(sort_order);
        active.updated_at = Set(now);
        groups.push(active.update(&txn).await?);
    }
    txn.commit().await?;
    Ok(groups)
}

// --- definitions ---

/// Creates a definition in the user's fractal `root` with its metrics (`sort_order` = their
/// position, all active) and splits (`order` = their position).
///
/// # Errors
/// `Core(NotFound)` for a root that is not the user's live fractal, or a group that is not a
/// live group of that root; `Core(Invalid)` for a bad name, description, metric name, unit or
/// split name, or with `field = "metrics"` for more than one top-set metric;
/// `Core(Conflict)` for a metric (or split) name listed twice, or a name a live definition of
/// the root has.
pub async fn create_definition<C>(
    db: &C,
    user: UserId,
    root: Uuid,
    new: NewDefinition,
) -> Result<Definition>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = input::name("name", &new.name)?;
    let description = input::description("description", new.description.as_deref())?;
    let metrics = checked_metrics(
        new.metrics
            .into_iter()
            .map(|metric| MetricSpec {
                id: None,
                name: metric.name,
                unit: metric.unit,
                is_top_set: metric.is_top_set,
                is_multiplicative: metric.is_multiplicative,
                is_active: true,
            })
            .collect(),
    )?;
    let splits = checked_splits(
        new.splits
            .into_iter()
            .map(|name| SplitSpec { id: None, name })
            .collect(),
    )?;

    let txn = lifeos_core::db::begin_write(db).await?;
    let root = scope::root_for_write(&txn, user, root).await?;
    if let Some(group) = new.group {
        live_group_in(&txn, root.id, group).await?;
    }
    let now = Utc::now();
    let definition = activity_definitions::ActiveModel {
        id: Set(Uuid::now_v7()),
        root_id: Set(root.id),
        name: Set(name),
        description: Set(description),
        created_at: Set(now),
        has_sets: Set(new.has_sets),
        has_metrics: Set(new.has_metrics),
        metrics_multiplicative: Set(new.metrics_multiplicative),
        has_splits: Set(new.has_splits),
        group_id: Set(new.group),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut metric_rows = Vec::with_capacity(metrics.len());
    for (position, metric) in metrics.into_iter().enumerate() {
        let sort_order = position_of(position, "metrics")?;
        metric_rows.push(insert_metric(&txn, &definition, metric, sort_order, now).await?);
    }
    let mut split_rows = Vec::with_capacity(splits.len());
    for (position, split) in splits.into_iter().enumerate() {
        let order = position_of(position, "splits")?;
        split_rows.push(insert_split(&txn, &definition, split.name, order, now).await?);
    }
    txn.commit().await?;
    Ok(Definition {
        definition,
        metrics: metric_rows,
        splits: split_rows,
    })
}

/// The user's live definition `id` with its live metrics and splits.
///
/// # Errors
/// `Core(NotFound)` when there is none (deleted, or another user's).
pub async fn get_definition<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
) -> Result<Definition> {
    let definition = definition_of(db, user, id, false).await?;
    with_parts(db, definition).await
}

/// The live definitions of the user's fractal `root` (by `created_at`, then id), each with
/// its live metrics and splits: three statements, [`definitions_select`],
/// [`metrics_select`] and [`splits_select`], each served by an index on `root_id`, grouped
/// here.
///
/// # Errors
/// `Core(NotFound)` for a root that is not the user's live fractal.
pub async fn definitions<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
) -> Result<Vec<Definition>> {
    let root = scope::root(db, user, root).await?;
    let mut definitions = definitions_select(root.id).all(db).await?;
    // A deleted group reads as none (restoring it regroups its definitions).
    let grouped: HashSet<Uuid> = live_groups(db, root.id, false)
        .await?
        .into_iter()
        .map(|group| group.id)
        .collect();
    for definition in &mut definitions {
        if definition
            .group_id
            .is_some_and(|group| !grouped.contains(&group))
        {
            definition.group_id = None;
        }
    }
    let mut metrics: HashMap<Uuid, Vec<metric_definitions::Model>> = HashMap::new();
    for metric in metrics_select(root.id).all(db).await? {
        metrics.entry(metric.activity_id).or_default().push(metric);
    }
    let mut splits: HashMap<Uuid, Vec<split_definitions::Model>> = HashMap::new();
    for split in splits_select(root.id).all(db).await? {
        splits.entry(split.activity_id).or_default().push(split);
    }
    Ok(definitions
        .into_iter()
        .map(|definition| Definition {
            metrics: metrics.remove(&definition.id).unwrap_or_default(),
            splits: splits.remove(&definition.id).unwrap_or_default(),
            definition,
        })
        .collect())
}

/// The query [`definitions`] runs for the live definitions of `root` (served by an index on
/// `root_id`). Public so that a query-plan test can explain it.
pub fn definitions_select(root: Uuid) -> Select<activity_definitions::Entity> {
    use activity_definitions::Column;
    activity_definitions::Entity::find()
        .filter(Column::RootId.eq(root))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
}

/// The query [`definitions`] runs for the live metrics of `root`'s definitions (served by
/// `idx_metric_definitions_root`). Public so that a query-plan test can explain it.
pub fn metrics_select(root: Uuid) -> Select<metric_definitions::Entity> {
    use metric_definitions::Column;
    metric_definitions::Entity::find()
        .filter(Column::RootId.eq(root))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::SortOrder)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
}

/// The query [`definitions`] runs for the live splits of `root`'s definitions (served by
/// `idx_split_definitions_root`). Public so that a query-plan test can explain it.
pub fn splits_select(root: Uuid) -> Select<split_definitions::Entity> {
    use split_definitions::Column;
    split_definitions::Entity::find()
        .filter(Column::RootId.eq(root))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::Order)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
}

/// Changes the user's definition `id` as `edit` says, and returns it with its live metrics
/// and splits. `metrics` and `splits`, when given, are the wanted lists (see the module's
/// documentation). `updated_at` of the definition moves when anything changes, that of a
/// metric or split when it changes.
///
/// # Errors
/// `Core(NotFound)` for a definition that is not the user's live one, a group that is not a
/// live group of its root, or a listed metric (split) id that is not a live metric (split) of
/// this definition; [`Error::HasValues`] when a metric (split) left out has recorded values;
/// `Core(Invalid)` as [`create_definition`], or for an id listed twice; `Core(Conflict)` for
/// a name listed twice or a name a live definition of the root has.
pub async fn update_definition<C>(
    db: &C,
    user: UserId,
    id: Uuid,
    edit: DefinitionEdit,
) -> Result<Definition>
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
    let metrics = edit.metrics.map(checked_metrics).transpose()?;
    let splits = edit.splits.map(checked_splits).transpose()?;

    let txn = lifeos_core::db::begin_write(db).await?;
    // The root first (it may insert metrics and splits), then the definition.
    scope::hold_root(&txn, definition_of(&txn, user, id, false).await?.root_id).await?;
    let definition = definition_of(&txn, user, id, true).await?;
    if let Some(Some(group)) = edit.group {
        live_group_in(&txn, definition.root_id, group).await?;
    }
    // Every check before the first write.
    let metric_plan = match metrics {
        Some(wanted) => Some(plan_metrics(&txn, &definition, wanted).await?),
        None => None,
    };
    let split_plan = match splits {
        Some(wanted) => Some(plan_splits(&txn, &definition, wanted).await?),
        None => None,
    };

    let now = Utc::now();
    let mut active: activity_definitions::ActiveModel = definition.clone().into();
    let mut changed = false;
    if let Some(name) = name.filter(|name| *name != definition.name) {
        active.name = Set(name);
        changed = true;
    }
    if let Some(description) = description.filter(|value| *value != definition.description) {
        active.description = Set(description);
        changed = true;
    }
    // Compared with the group as it reads (a deleted one as none): sending back what was read
    // keeps the link to a deleted group, which its restore revives.
    let shown = shown_group(&txn, &definition).await?;
    if let Some(group) = edit.group.filter(|group| *group != shown) {
        active.group_id = Set(group);
        changed = true;
    }
    if let Some(value) = edit.has_sets.filter(|value| *value != definition.has_sets) {
        active.has_sets = Set(value);
        changed = true;
    }
    if let Some(value) = edit
        .has_metrics
        .filter(|value| *value != definition.has_metrics)
    {
        active.has_metrics = Set(value);
        changed = true;
    }
    if let Some(value) = edit
        .metrics_multiplicative
        .filter(|value| *value != definition.metrics_multiplicative)
    {
        active.metrics_multiplicative = Set(value);
        changed = true;
    }
    if let Some(value) = edit
        .has_splits
        .filter(|value| *value != definition.has_splits)
    {
        active.has_splits = Set(value);
        changed = true;
    }
    let metrics_change = metric_plan.as_ref().is_some_and(|plan| !plan.is_noop());
    let splits_change = split_plan.as_ref().is_some_and(|plan| !plan.is_noop());
    let definition = if changed || metrics_change || splits_change {
        active.updated_at = Set(now);
        active.update(&txn).await?
    } else {
        definition
    };
    if let Some(plan) = metric_plan {
        apply_metrics(&txn, &definition, plan, now).await?;
    }
    if let Some(plan) = split_plan {
        apply_splits(&txn, &definition, plan, now).await?;
    }
    let updated = with_parts(&txn, definition).await?;
    txn.commit().await?;
    Ok(updated)
}

// --- helpers ---

/// A validated metric of a wanted list.
struct CheckedMetric {
    id: Option<Uuid>,
    name: String,
    unit: String,
    is_top_set: bool,
    is_multiplicative: bool,
    is_active: bool,
}

/// A validated split of a wanted list.
struct CheckedSplit {
    id: Option<Uuid>,
    name: String,
}

/// The metrics validated: names and units, no name or id listed twice, at most one top set.
fn checked_metrics(specs: Vec<MetricSpec>) -> Result<Vec<CheckedMetric>> {
    let mut names = HashSet::with_capacity(specs.len());
    let mut ids = HashSet::with_capacity(specs.len());
    let mut top_sets = 0_usize;
    let mut checked = Vec::with_capacity(specs.len());
    for spec in specs {
        let name = input::name("metric_name", &spec.name)?;
        let unit = input::name("unit", &spec.unit)?;
        if !names.insert(name.clone()) {
            return Err(conflict(format!(
                "the metric definition name `{name}` is listed twice"
            )));
        }
        if let Some(id) = spec.id
            && !ids.insert(id)
        {
            return Err(invalid("metrics", format!("metric {id} is listed twice")));
        }
        if spec.is_top_set {
            top_sets = top_sets.saturating_add(1);
        }
        checked.push(CheckedMetric {
            id: spec.id,
            name,
            unit,
            is_top_set: spec.is_top_set,
            is_multiplicative: spec.is_multiplicative,
            is_active: spec.is_active,
        });
    }
    if top_sets > 1 {
        return Err(invalid(
            "metrics",
            format!("{top_sets} metrics are marked as the top set; at most one may be"),
        ));
    }
    Ok(checked)
}

/// The splits validated: names, no name or id listed twice.
fn checked_splits(specs: Vec<SplitSpec>) -> Result<Vec<CheckedSplit>> {
    let mut names = HashSet::with_capacity(specs.len());
    let mut ids = HashSet::with_capacity(specs.len());
    let mut checked = Vec::with_capacity(specs.len());
    for spec in specs {
        let name = input::name("split_name", &spec.name)?;
        if !names.insert(name.clone()) {
            return Err(conflict(format!(
                "the split definition name `{name}` is listed twice"
            )));
        }
        if let Some(id) = spec.id
            && !ids.insert(id)
        {
            return Err(invalid("splits", format!("split {id} is listed twice")));
        }
        checked.push(CheckedSplit { id: spec.id, name });
    }
    Ok(checked)
}

/// `position` as a stored position.
fn position_of(position: usize, field: &'static str) -> Result<i32> {
    i32::try_from(position).map_err(|_| invalid(field, "lists too many entries"))
}

/// A name no validated name can equal (those are trimmed), unique per row: where a renamed
/// row waits while the others take their new names.
fn temporary_name(id: Uuid) -> String {
    format!(" {id}")
}

/// Whether `db` is PostgreSQL (where rows read for a write are locked).
fn postgres<C: ConnectionTrait>(db: &C) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// The user's live group `id` (PostgreSQL: `FOR UPDATE` when `lock`).
async fn group_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
    lock: bool,
) -> Result<activity_groups::Model> {
    let mut query = activity_groups::Entity::find_by_id(id)
        .filter(activity_groups::Column::DeletedAt.is_null());
    if lock && postgres(db) {
        query = query.lock_exclusive();
    }
    let group = query.one(db).await?.ok_or_else(|| not_found(GROUP, id))?;
    if !scope::owns_root(db, user, group.root_id).await? {
        return Err(not_found(GROUP, id));
    }
    Ok(group)
}

/// Checks that `id` is a live group of `root` (a root the caller owns).
async fn live_group_in<C: ConnectionTrait>(db: &C, root: Uuid, id: Uuid) -> Result<()> {
    let found = activity_groups::Entity::find_by_id(id)
        .filter(activity_groups::Column::RootId.eq(root))
        .filter(activity_groups::Column::DeletedAt.is_null())
        .one(db)
        .await?;
    found.map(|_| ()).ok_or_else(|| not_found(GROUP, id))
}

/// The live groups of `root`, in order (PostgreSQL: `FOR UPDATE` when `lock`).
async fn live_groups<C: ConnectionTrait>(
    db: &C,
    root: Uuid,
    lock: bool,
) -> Result<Vec<activity_groups::Model>> {
    use activity_groups::Column;
    let mut query = activity_groups::Entity::find()
        .filter(Column::RootId.eq(root))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::SortOrder)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id);
    if lock && postgres(db) {
        query = query.lock_exclusive();
    }
    Ok(query.all(db).await?)
}

/// The user's live definition `id` (PostgreSQL: `FOR UPDATE` when `lock`, which serialises
/// edits of one definition).
async fn definition_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
    lock: bool,
) -> Result<activity_definitions::Model> {
    let mut query = activity_definitions::Entity::find_by_id(id)
        .filter(activity_definitions::Column::DeletedAt.is_null());
    if lock && postgres(db) {
        query = query.lock_exclusive();
    }
    let definition = query
        .one(db)
        .await?
        .ok_or_else(|| not_found(DEFINITION, id))?;
    if !scope::owns_root(db, user, definition.root_id).await? {
        return Err(not_found(DEFINITION, id));
    }
    Ok(definition)
}

/// The live metrics of definition `activity`, in order.
async fn live_metrics<C: ConnectionTrait>(
    db: &C,
    activity: Uuid,
) -> Result<Vec<metric_definitions::Model>> {
    use metric_definitions::Column;
    Ok(metric_definitions::Entity::find()
        .filter(Column::ActivityId.eq(activity))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::SortOrder)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// The live splits of definition `activity`, in order.
async fn live_splits<C: ConnectionTrait>(
    db: &C,
    activity: Uuid,
) -> Result<Vec<split_definitions::Model>> {
    use split_definitions::Column;
    Ok(split_definitions::Entity::find()
        .filter(Column::ActivityId.eq(activity))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::Order)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// `definition` with its live metrics and splits.
async fn with_parts<C: ConnectionTrait>(
    db: &C,
    mut definition: activity_definitions::Model,
) -> Result<Definition> {
    definition.group_id = shown_group(db, &definition).await?;
    let metrics = live_metrics(db, definition.id).await?;
    let splits = live_splits(db, definition.id).await?;
    Ok(Definition {
        definition,
        metrics,
        splits,
    })
}

/// `definition`'s group as it reads: none when the group is deleted (restoring the group
/// regroups the definition, whose stored link stays).
async fn shown_group<C: ConnectionTrait>(
    db: &C,
    definition: &activity_definitions::Model,
) -> Result<Option<Uuid>> {
    let Some(group) = definition.group_id else {
        return Ok(None);
    };
    let live = activity_groups::Entity::find_by_id(group)
        .filter(activity_groups::Column::DeletedAt.is_null())
        .one(db)
        .await?;
    Ok(live.map(|group| group.id))
}

/// Inserts `metric` into `definition` at `sort_order`.
async fn insert_metric<C: ConnectionTrait>(
    db: &C,
    definition: &activity_definitions::Model,
    metric: CheckedMetric,
    sort_order: i32,
    now: DateTime<Utc>,
) -> Result<metric_definitions::Model> {
    Ok(metric_definitions::ActiveModel {
        id: Set(Uuid::now_v7()),
        activity_id: Set(definition.id),
        name: Set(metric.name),
        unit: Set(metric.unit),
        created_at: Set(now),
        is_active: Set(metric.is_active),
        is_top_set_metric: Set(metric.is_top_set),
        is_multiplicative: Set(metric.is_multiplicative),
        root_id: Set(definition.root_id),
        updated_at: Set(now),
        sort_order: Set(sort_order),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Inserts the split `name` into `definition` at `order`.
async fn insert_split<C: ConnectionTrait>(
    db: &C,
    definition: &activity_definitions::Model,
    name: String,
    order: i32,
    now: DateTime<Utc>,
) -> Result<split_definitions::Model> {
    Ok(split_definitions::ActiveModel {
        id: Set(Uuid::now_v7()),
        activity_id: Set(definition.id),
        name: Set(name),
        order: Set(order),
        created_at: Set(now),
        root_id: Set(definition.root_id),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// What an edit of a definition's metrics writes.
struct MetricPlan {
    /// Live metrics left out: soft-deleted.
    removed: Vec<Uuid>,
    /// Kept metrics that change, with their wanted values and position.
    updates: Vec<(metric_definitions::Model, CheckedMetric, i32)>,
    /// New metrics, with their position.
    inserts: Vec<(CheckedMetric, i32)>,
}

impl MetricPlan {
    fn is_noop(&self) -> bool {
        self.removed.is_empty() && self.updates.is_empty() && self.inserts.is_empty()
    }
}

/// What an edit of a definition's splits writes.
struct SplitPlan {
    /// Live splits left out: soft-deleted.
    removed: Vec<Uuid>,
    /// Kept splits that change, with their wanted name and position.
    updates: Vec<(split_definitions::Model, String, i32)>,
    /// New splits, with their position.
    inserts: Vec<(String, i32)>,
}

impl SplitPlan {
    fn is_noop(&self) -> bool {
        self.removed.is_empty() && self.updates.is_empty() && self.inserts.is_empty()
    }
}

/// Plans the edit of `definition`'s metrics to `wanted`; refuses an id that is not a live
/// metric of it, and the removal of a metric with recorded values. Writes nothing.
async fn plan_metrics<C: ConnectionTrait>(
    db: &C,
    definition: &activity_definitions::Model,
    wanted: Vec<CheckedMetric>,
) -> Result<MetricPlan> {
    let live = live_metrics(db, definition.id).await?;
    let listed: HashSet<Uuid> = wanted.iter().filter_map(|metric| metric.id).collect();
    let removed: Vec<Uuid> = live
        .iter()
        .map(|metric| metric.id)
        .filter(|id| !listed.contains(id))
        .collect();
    let mut by_id: HashMap<Uuid, metric_definitions::Model> =
        live.into_iter().map(|metric| (metric.id, metric)).collect();
    let mut updates = Vec::new();
    let mut inserts = Vec::new();
    for (position, metric) in wanted.into_iter().enumerate() {
        let sort_order = position_of(position, "metrics")?;
        let Some(id) = metric.id else {
            inserts.push((metric, sort_order));
            continue;
        };
        let current = by_id.remove(&id).ok_or_else(|| not_found(METRIC, id))?;
        if current.name != metric.name
            || current.unit != metric.unit
            || current.is_top_set_metric != metric.is_top_set
            || current.is_multiplicative != metric.is_multiplicative
            || current.is_active != metric.is_active
            || current.sort_order != sort_order
        {
            updates.push((current, metric, sort_order));
        }
    }
    // In the list's order (by position): the first metric with values is named.
    for id in &removed {
        let value = metric_values::Entity::find()
            .filter(metric_values::Column::MetricDefinitionId.eq(*id))
            .one(db)
            .await?;
        if value.is_some() {
            return Err(Error::HasValues {
                what: METRIC,
                id: *id,
            });
        }
    }
    Ok(MetricPlan {
        removed,
        updates,
        inserts,
    })
}

/// Plans the edit of `definition`'s splits to `wanted`; refuses an id that is not a live
/// split of it, and the removal of a split with recorded values. Writes nothing.
async fn plan_splits<C: ConnectionTrait>(
    db: &C,
    definition: &activity_definitions::Model,
    wanted: Vec<CheckedSplit>,
) -> Result<SplitPlan> {
    let live = live_splits(db, definition.id).await?;
    let listed: HashSet<Uuid> = wanted.iter().filter_map(|split| split.id).collect();
    let removed: Vec<Uuid> = live
        .iter()
        .map(|split| split.id)
        .filter(|id| !listed.contains(id))
        .collect();
    let mut by_id: HashMap<Uuid, split_definitions::Model> =
        live.into_iter().map(|split| (split.id, split)).collect();
    let mut updates = Vec::new();
    let mut inserts = Vec::new();
    for (position, split) in wanted.into_iter().enumerate() {
        let order = position_of(position, "splits")?;
        let Some(id) = split.id else {
            inserts.push((split.name, order));
            continue;
        };
        let current = by_id.remove(&id).ok_or_else(|| not_found(SPLIT, id))?;
        if current.name != split.name || current.order != order {
            updates.push((current, split.name, order));
        }
    }
    // In the list's order: the first split with values is named
    // (`idx_metric_values_split` serves the lookup).
    for id in &removed {
        let value = metric_values::Entity::find()
            .filter(metric_values::Column::SplitDefinitionId.eq(*id))
            .one(db)
            .await?;
        if value.is_some() {
            return Err(Error::HasValues {
                what: SPLIT,
                id: *id,
            });
        }
    }
    Ok(SplitPlan {
        removed,
        updates,
        inserts,
    })
}

/// Writes a [`MetricPlan`]: removals first (freeing their names), renamed rows through a
/// temporary name, then the final values, then the new metrics.
async fn apply_metrics<C: ConnectionTrait>(
    db: &C,
    definition: &activity_definitions::Model,
    plan: MetricPlan,
    now: DateTime<Utc>,
) -> Result<()> {
    use metric_definitions::Column;
    if !plan.removed.is_empty() {
        metric_definitions::Entity::update_many()
            .col_expr(Column::DeletedAt, Expr::value(Some(now)))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.is_in(plan.removed.iter().copied()))
            .filter(Column::DeletedAt.is_null())
            .exec(db)
            .await?;
    }
    for (current, wanted, _) in &plan.updates {
        if current.name != wanted.name {
            metric_definitions::Entity::update_many()
                .col_expr(Column::Name, Expr::value(temporary_name(current.id)))
                .filter(Column::Id.eq(current.id))
                .exec(db)
                .await?;
        }
    }
    for (current, wanted, sort_order) in plan.updates {
        let mut active: metric_definitions::ActiveModel = current.into();
        active.name = Set(wanted.name);
        active.unit = Set(wanted.unit);
        active.is_top_set_metric = Set(wanted.is_top_set);
        active.is_multiplicative = Set(wanted.is_multiplicative);
        active.is_active = Set(wanted.is_active);
        active.sort_order = Set(sort_order);
        active.updated_at = Set(now);
        active.update(db).await?;
    }
    for (metric, sort_order) in plan.inserts {
        insert_metric(db, definition, metric, sort_order, now).await?;
    }
    Ok(())
}

/// Writes a [`SplitPlan`], as [`apply_metrics`] does.
async fn apply_splits<C: ConnectionTrait>(
    db: &C,
    definition: &activity_definitions::Model,
    plan: SplitPlan,
    now: DateTime<Utc>,
) -> Result<()> {
    use split_definitions::Column;
    if !plan.removed.is_empty() {
        split_definitions::Entity::update_many()
            .col_expr(Column::DeletedAt, Expr::value(Some(now)))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.is_in(plan.removed.iter().copied()))
            .filter(Column::DeletedAt.is_null())
            .exec(db)
            .await?;
    }
    for (current, name, _) in &plan.updates {
        if current.name != *name {
            split_definitions::Entity::update_many()
                .col_expr(Column::Name, Expr::value(temporary_name(current.id)))
                .filter(Column::Id.eq(current.id))
                .exec(db)
                .await?;
        }
    }
    for (current, name, order) in plan.updates {
        let mut active: split_definitions::ActiveModel = current.into();
        active.name = Set(name);
        active.order = Set(order);
        active.updated_at = Set(now);
        active.update(db).await?;
    }
    for (name, order) in plan.inserts {
        insert_split(db, definition, name, order, now).await?;
    }
    Ok(())
}
