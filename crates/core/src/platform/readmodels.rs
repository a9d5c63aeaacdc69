//! Read-model bookkeeping: registrations (`readmodel_state`) and replay runs
//! (`readmodel_run`). A read model is a projection of the event log, identified by name and
//! version; a replay run rebuilds it from a start event, advances its checkpoint as it goes,
//! and finishes or fails. At most one run per model version is `running` at a time
//! (`ux_readmodel_run_running`), and a registration's idempotency key is unique
//! (`ux_readmodel_state_idempotency_key`): registering a second model under a used key is a
//! [`Error::Conflict`].
//!
//! Read models span users (they are platform state), so these functions take no user.

use lifeos_entity::{Timestamp, readmodel_run, readmodel_state};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::Value;

use crate::{Error, Result, validate};

/// The states of a replay run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Created but not started (history's default).
    Pending,
    /// Replaying.
    Running,
    /// Finished.
    Completed,
    /// Stopped by an error.
    Failed,
}

impl RunStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

/// The kinds of read model the replay spec names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelType {
    /// Current state.
    Snapshot,
    /// A history over time.
    Timeline,
    /// Totals.
    Aggregate,
}

impl ModelType {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Timeline => "timeline",
            Self::Aggregate => "aggregate",
        }
    }
}

/// Input of [`register`].
#[derive(Clone, Debug)]
pub struct NewReadModel {
    /// Its name (at most 128 characters).
    pub name: String,
    /// Its version (at most 32 characters, e.g. `v1`).
    pub version: String,
    /// The domain it projects (at most 64 characters).
    pub domain: String,
    /// What kind of projection.
    pub model_type: ModelType,
    /// A key that identifies this registration; unique (at most 255 characters).
    pub idempotency_key: String,
    /// The event types it consumes.
    pub consumed_events: Vec<String>,
    /// How it is rebuilt, in words (at most 255 characters).
    pub rebuild_strategy: Option<String>,
}

/// Registers a read model version.
///
/// # Errors
/// [`Error::Invalid`] for empty or over-long fields; [`Error::Conflict`] when the name and
/// version, or the idempotency key, are already registered.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    new: NewReadModel,
) -> Result<readmodel_state::Model> {
    let name = validate::text("name", &new.name, 128)?;
    let version = validate::text("version", &new.version, 32)?;
    let domain = validate::text("domain", &new.domain, 64)?;
    let key = validate::text("idempotency_key", &new.idempotency_key, 255)?;
    let strategy = match &new.rebuild_strategy {
        Some(text) => validate::optional_text("rebuild_strategy", text, 255)?,
        None => None,
    };
    let now = Timestamp::now();
    Ok(readmodel_state::ActiveModel {
        model_name: Set(name),
        model_version: Set(version),
        domain: Set(domain),
        model_type: Set(new.model_type.as_str().to_owned()),
        idempotency_key: Set(key),
        rebuild_strategy: Set(strategy),
        consumed_events: Set(Some(Value::from(new.consumed_events))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The registration of `name` at `version`.
///
/// # Errors
/// [`Error::NotFound`] when it is not registered.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    name: &str,
    version: &str,
) -> Result<readmodel_state::Model> {
    readmodel_state::Entity::find()
        .filter(readmodel_state::Column::ModelName.eq(name))
        .filter(readmodel_state::Column::ModelVersion.eq(version))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("read model", format!("{name}@{version}")))
}

/// Starts a replay run of a registered model, from the event after its checkpoint (or from
/// `from_event` if given), with an optional scope description.
///
/// # Errors
/// [`Error::NotFound`] for an unregistered model; [`Error::Conflict`] when a run of it is
/// already running.
pub async fn start_run<C>(
    db: &C,
    name: &str,
    version: &str,
    from_event: Option<i64>,
    scope: Option<Value>,
) -> Result<readmodel_run::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::db::begin_write(db).await?;
    let state = get(&txn, name, version).await?;
    let start = from_event.or(state.last_replayed_event_id.map(|id| id + 1));
    let run = readmodel_run::ActiveModel {
        model_name: Set(state.model_name),
        model_version: Set(state.model_version),
        status: Set(RunStatus::Running.as_str().to_owned()),
        event_start_id: Set(start),
        event_end_id: Set(None),
        replay_scope: Set(scope),
        error_message: Set(None),
        started_at: Set(Timestamp::now()),
        completed_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => {
            Error::Conflict(format!("a replay of {name}@{version} is already running"))
        }
        other => other,
    })?;
    txn.commit().await?;
    Ok(run)
}

/// Records that run `run_id` has applied every event up to `event_id`: the run's end and the
/// model's checkpoint move there. Checkpoints only move forward, and only a running run
/// moves them: both updates are conditional, so a run finished or failed meanwhile (or a
/// concurrent `advance` that got further) is not overwritten.
///
/// # Errors
/// [`Error::NotFound`] for an unknown run; [`Error::Conflict`] when it is not running;
/// [`Error::Invalid`] when `event_id` is behind the run's checkpoint.
pub async fn advance<C>(db: &C, run_id: i32, event_id: i64) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::db::begin_write(db).await?;
    let run = running(&txn, run_id).await?;
    let behind = |checkpoint: Option<i64>| checkpoint.is_some_and(|at| event_id < at);
    if behind(
        run.event_end_id
            .or(run.event_start_id.map(|start| start - 1)),
    ) {
        return Err(Error::invalid(
            "event_id",
            format!("{event_id} is behind the run's checkpoint"),
        ));
    }
    let now = Timestamp::now();
    let moved = readmodel_run::Entity::update_many()
        .col_expr(
            readmodel_run::Column::EventEndId,
            Expr::value(Some(event_id)),
        )
        .filter(readmodel_run::Column::Id.eq(run_id))
        .filter(readmodel_run::Column::Status.eq(RunStatus::Running.as_str()))
        .filter(
            Condition::any()
                .add(readmodel_run::Column::EventEndId.is_null())
                .add(readmodel_run::Column::EventEndId.lte(event_id)),
        )
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(not_advanced(&txn, run_id, event_id).await);
    }
    readmodel_state::Entity::update_many()
        .col_expr(
            readmodel_state::Column::LastReplayedEventId,
            Expr::value(Some(event_id)),
        )
        .col_expr(
            readmodel_state::Column::LastReplayRunId,
            Expr::value(Some(run_id)),
        )
        .col_expr(
            readmodel_state::Column::LastReplayedAt,
            Expr::value(Some(now)),
        )
        .col_expr(readmodel_state::Column::UpdatedAt, Expr::value(now))
        .filter(readmodel_state::Column::ModelName.eq(run.model_name.as_str()))
        .filter(readmodel_state::Column::ModelVersion.eq(run.model_version.as_str()))
        .filter(
            Condition::any()
                .add(readmodel_state::Column::LastReplayedEventId.is_null())
                .add(readmodel_state::Column::LastReplayedEventId.lte(event_id)),
        )
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Why a conditional `advance` matched no row: the run is gone, no longer running, or
/// already past `event_id`.
async fn not_advanced<C: ConnectionTrait>(db: &C, run_id: i32, event_id: i64) -> Error {
    match running(db, run_id).await {
        Ok(_) => Error::invalid(
            "event_id",
            format!("{event_id} is behind the run's checkpoint"),
        ),
        Err(error) => error,
    }
}

/// Marks run `run_id` completed.
///
/// # Errors
/// [`Error::NotFound`] for an unknown run; [`Error::Conflict`] when it is not running (also
/// when another call finished or failed it meanwhile: the first one wins).
pub async fn finish<C>(db: &C, run_id: i32) -> Result<readmodel_run::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    close(db, run_id, RunStatus::Completed, None).await
}

/// Marks run `run_id` failed with `error` (the checkpoint stays where it got to).
///
/// # Errors
/// As [`finish`]; [`Error::Invalid`] for an empty error.
pub async fn fail<C>(db: &C, run_id: i32, error: &str) -> Result<readmodel_run::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let error = validate::text("error", error, 4000)?;
    close(db, run_id, RunStatus::Failed, Some(error)).await
}

/// Moves a running run to `status`, conditionally on it still running.
async fn close<C>(
    db: &C,
    run_id: i32,
    status: RunStatus,
    error: Option<String>,
) -> Result<readmodel_run::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let closed = readmodel_run::Entity::update_many()
        .col_expr(readmodel_run::Column::Status, Expr::value(status.as_str()))
        .col_expr(readmodel_run::Column::ErrorMessage, Expr::value(error))
        .col_expr(
            readmodel_run::Column::CompletedAt,
            Expr::value(Some(Timestamp::now())),
        )
        .filter(readmodel_run::Column::Id.eq(run_id))
        .filter(readmodel_run::Column::Status.eq(RunStatus::Running.as_str()))
        .exec_with_returning(db)
        .await?;
    match closed.into_iter().next() {
        Some(run) => Ok(run),
        None => Err(running(db, run_id)
            .await
            .err()
            .unwrap_or_else(|| Error::Conflict(format!("replay run {run_id} changed meanwhile")))),
    }
}

async fn running<C: ConnectionTrait>(db: &C, run_id: i32) -> Result<readmodel_run::Model> {
    let run = readmodel_run::Entity::find_by_id(run_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("replay run", run_id))?;
    if run.status != RunStatus::Running.as_str() {
        return Err(Error::Conflict(format!(
            "replay run {run_id} is {}, not running",
            run.status
        )));
    }
    Ok(run)
}
