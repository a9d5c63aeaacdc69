//! Practice sessions: their creation under short-term goals, their lifecycle (start, pause,
//! resume, end, manual times), the activity instances performed in them with their timers,
//! and the metric values recorded for those instances.
//!
//! A **practice session** is a parentless goal of type `PracticeSession` linked, through
//! `practice_session_goals`, to one or more of the caller's live short-term goals, all of one
//! root; its `root_id` is that root (never taken from the caller). [`create`] refuses no
//! goals or a goal listed twice (`Core(Invalid)` for `goals`), a goal that is not the
//! caller's (`Core(NotFound)`), a goal of another type ([`Error::Hierarchy`]), goals of two
//! roots ([`Error::CrossRoot`]) and a template that is not a live template of that root
//! (`Core(NotFound)`). A new session is last (`sort_order`) among its root's sessions and not
//! started.
//!
//! **Lifecycle.** A session is *active* while `session_start` is set, `session_end` is not
//! and it is not deleted; a user has at most one active session (another user's sessions do
//! not count). The database enforces it (the partial unique index
//! `uq_goals_one_active_session` on `user_id`); [`start`] looks for the active session first
//! and refuses with [`Error::SessionActive`] naming it, and a concurrent start that reaches
//! the index gives the same error without the id. [`pause`] stamps `last_paused_at`;
//! [`resume`] adds the whole seconds since then to `total_paused_seconds` and clears it;
//! [`end`] counts a pause still running, stamps `session_end` and stores
//! `total_duration_seconds = max(0, (end − start) − total_paused_seconds)` in whole seconds.
//! [`set_times`] edits both instants by hand and recomputes the duration the same way (`NULL`
//! unless both are set). Instants are the server's clock (`Utc::now()`) to the microsecond
//! (PostgreSQL's precision, so both backends store the instant computed with); durations
//! count whole seconds (truncated).
//!
//! **Activity instances** ([`add_instance`]) hang under a live session of the caller and a
//! live activity definition of the session's root; an ended session still takes instances
//! (past sessions are edited). The client may supply the id: the id of an instance of this
//! session returns that instance unchanged (idempotent, as the original), an id taken by any
//! other row is a `Core(Conflict)`. An instance stores its owner's local day of `created_at`
//! ([`LocalDays`]) and is last in its session. Its **timer** (DECISIONS 15): [`start_timer`]
//! sets `time_start` once (a second start is [`Error::AlreadyStarted`]; an ended session's
//! instances cannot start, [`Error::AlreadyStopped`]); [`stop_timer`] sets `time_stop` and
//! `duration_seconds` once ([`Error::NotStarted`] before a start, [`Error::AlreadyStopped`]
//! after a stop). Several instances of a session may run at once. [`set_instance_times`]
//! edits both instants and recomputes the duration (`NULL` unless both are set).
//!
//! **Metric values** ([`record_value`]): one value per (instance, metric definition, split),
//! where a missing split counts as one value — the unique index
//! `uq_metric_values_instance_metric_split` (PostgreSQL: `NULLS NOT DISTINCT`; SQLite: on
//! `COALESCE(split_definition_id, '')`). Recording is one upsert on that key
//! ([`upsert_sql`]): a second value for the same key replaces the first. Values are finite;
//! negative values are legitimate (DECISIONS 15). The metric (and the split) must be live
//! definitions of the instance's activity.
//!
//! Every function acts for one user: another user's session, goal, instance, definition,
//! metric or split behaves exactly as a missing one (`Core(NotFound)`). Writes run in one
//! transaction ([`lifeos_core::db::begin_write`]) and write nothing when they fail; on
//! PostgreSQL they lock the session or instance row they change. Reads exclude soft-deleted
//! rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use lifeos_core::days::LocalDays;
use lifeos_core::db::placeholder;
use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set, SqlErr, Statement,
    TransactionSession, TransactionTrait, Value,
};

use super::scope;
use crate::entity::goals::{self, GoalType};
use crate::entity::{
    activity_definitions, activity_instances, metric_definitions, metric_values,
    practice_session_goals, session_templates, split_definitions,
};
use crate::error::{Error, Result, conflict, invalid, not_found};
use crate::input;

/// What a practice session is called in errors.
const SESSION: &str = "practice session";
/// What an activity instance is called in errors.
const INSTANCE: &str = "activity instance";

/// A new practice session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSession {
    /// Its name (1..=[`crate::input::NAME_MAX`] characters after trimming).
    pub name: String,
    /// The short-term goals it serves: at least one, each once, all of one root.
    pub goals: Vec<Uuid>,
    /// An optional description.
    pub description: Option<String>,
    /// The session template it follows: a live template of the goals' root.
    pub template: Option<Uuid>,
}

/// A session's instants, as [`set_times`] stores them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionTimes {
    /// When it started (`None`: not started).
    pub start: Option<DateTime<Utc>>,
    /// When it ended (`None`: not ended); not before `start`, and only with a start.
    pub end: Option<DateTime<Utc>>,
}

/// A change to an activity instance: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
#[allow(clippy::option_option)] // `Some(None)` removes an optional field
pub struct InstanceEdit {
    /// New notes (trimmed; blank removes them); `Some(None)` removes them.
    pub notes: Option<Option<String>>,
    /// Whether the instance is completed.
    pub completed: Option<bool>,
    /// New structured data (`{"sets": […]}`, …); `Some(None)` removes it.
    pub data: Option<Option<serde_json::Value>>,
}

/// An activity instance's timer instants, as [`set_instance_times`] stores them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceTimes {
    /// When the timer started (`None`: not started).
    pub start: Option<DateTime<Utc>>,
    /// When it stopped (`None`: not stopped); not before `start`.
    pub stop: Option<DateTime<Utc>>,
}

// --- sessions ---

/// Creates a practice session serving the caller's short-term goals `new.goals` (all of one
/// root, whose id becomes the session's `root_id`), last among that root's sessions, not
/// started.
///
/// # Errors
/// `Core(Invalid)` for an empty or over-long name, an over-long description, no goals or a
/// goal listed twice (`goals`); `Core(NotFound)` for a goal that is not the caller's live
/// goal, or a template that is not a live session template of the root;
/// [`Error::Hierarchy`] for a goal that is not a `ShortTermGoal`; [`Error::CrossRoot`] for
/// goals of two roots.
pub async fn create<C>(db: &C, user: UserId, new: NewSession) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = input::name("name", &new.name)?;
    let description = input::description("description", new.description.as_deref())?;
    if new.goals.is_empty() {
        return Err(invalid(
            "goals",
            "a practice session serves at least one short-term goal",
        ));
    }
    let mut seen = HashSet::with_capacity(new.goals.len());
    for goal in &new.goals {
        if !seen.insert(*goal) {
            return Err(invalid("goals", format!("goal {goal} is listed twice")));
        }
    }

    let txn = lifeos_core::db::begin_write(db).await?;
    let mut root: Option<Uuid> = None;
    for &id in &new.goals {
        let goal = scope::goal(&txn, user, id).await?;
        if goal.goal_type != GoalType::ShortTermGoal {
            return Err(Error::Hierarchy {
                parent: Some(goal.goal_type),
                child: GoalType::PracticeSession,
            });
        }
        match root {
            None => root = Some(goal.root_id),
            Some(first) if first != goal.root_id => {
                return Err(Error::CrossRoot {
                    what: "a practice session",
                });
            }
            Some(_) => {}
        }
    }
    let root = root.ok_or_else(|| {
        invalid(
            "goals",
            "a practice session serves at least one short-term goal",
        )
    })?;
    // On PostgreSQL, hold the root and then the goals (the order the tree and the deletes
    // lock them in) against a concurrent delete, which would miss the new session.
    scope::hold_root(&txn, root).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        for id in new.goals.iter().copied() {
            goals::Entity::find_by_id(id)
                .filter(goals::Column::DeletedAt.is_null())
                .lock_shared()
                .one(&txn)
                .await?
                .ok_or_else(|| not_found("goal", id))?;
        }
    }
    if let Some(template) = new.template {
        session_templates::Entity::find_by_id(template)
            .filter(session_templates::Column::RootId.eq(root))
            .filter(session_templates::Column::DeletedAt.is_null())
            .one(&txn)
            .await?
            .ok_or_else(|| not_found("session template", template))?;
    }
    let last: Option<i32> = goals::Entity::find()
        .select_only()
        .column(goals::Column::SortOrder)
        .filter(goals::Column::RootId.eq(root))
        .filter(goals::Column::GoalType.eq(GoalType::PracticeSession))
        .order_by_desc(goals::Column::SortOrder)
        .limit(1)
        .into_tuple()
        .one(&txn)
        .await?;
    let sort_order = next_order(last)?;

    let now = now();
    let id = Uuid::now_v7();
    let session = goals::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        goal_type: Set(GoalType::PracticeSession),
        name: Set(name),
        description: Set(description),
        completed: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        parent_id: Set(None),
        root_id: Set(root),
        template_id: Set(new.template),
        sort_order: Set(sort_order),
        total_paused_seconds: Set(0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let links = new
        .goals
        .iter()
        .map(|&goal| practice_session_goals::ActiveModel {
            practice_session_id: Set(id),
            short_term_goal_id: Set(goal),
        });
    practice_session_goals::Entity::insert_many(links)
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(session)
}

/// The caller's live practice session `session`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's, or deleted).
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId, session: Uuid) -> Result<goals::Model> {
    scope::session(db, user, session).await
}

/// The live practice sessions of the caller's root `root`, newest first (then by id,
/// descending). One query ([`list_sql`]), served by the partial index
/// `idx_goals_practice_sessions` on `(root_id, created_at)`.
///
/// # Errors
/// `Core(NotFound)` for a root that is not the caller's live root.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    root: Uuid,
) -> Result<Vec<goals::Model>> {
    scope::root(db, user, root).await?;
    Ok(list_query(user, root).all(db).await?)
}

/// The statement [`list`] runs for `user` and `root` on `backend`, values inlined as the
/// backend stores them: what a query-plan test explains. (SeaORM binds a UUID as a 16-byte
/// blob on SQLite, so there the root is inlined as the blob literal `X'…'`; a quoted text
/// would equal no stored id and mislead the planner's statistics.)
pub fn list_sql(backend: DbBackend, user: UserId, root: Uuid) -> String {
    let sql = list_query(user, root).build(backend).to_string();
    match backend {
        DbBackend::Sqlite => sql.replace(&format!("'{root}'"), &format!("X'{}'", root.simple())),
        _ => sql,
    }
}

/// The live sessions of `root` owned by `user`, newest first.
fn list_query(user: UserId, root: Uuid) -> Select<goals::Entity> {
    goals::Entity::find()
        .filter(goals::Column::RootId.eq(root))
        .filter(is_session())
        .filter(goals::Column::UserId.eq(user))
        .filter(goals::Column::DeletedAt.is_null())
        .order_by_desc(goals::Column::CreatedAt)
        .order_by_desc(goals::Column::Id)
}

/// The live short-term goals the caller's session `session` serves, by id.
///
/// # Errors
/// `Core(NotFound)` for a session that is not the caller's live session.
pub async fn goals_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    session: Uuid,
) -> Result<Vec<Uuid>> {
    let session = scope::session(db, user, session).await?;
    let linked = Query::select()
        .column(practice_session_goals::Column::ShortTermGoalId)
        .from(practice_session_goals::Entity)
        .and_where(practice_session_goals::Column::PracticeSessionId.eq(session.id))
        .to_owned();
    let ids: Vec<Uuid> = goals::Entity::find()
        .select_only()
        .column(goals::Column::Id)
        .filter(goals::Column::Id.in_subquery(linked))
        .filter(goals::Column::UserId.eq(user))
        .filter(goals::Column::DeletedAt.is_null())
        .order_by_asc(goals::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids)
}

/// The caller's active practice session (started, not ended, not deleted), if any. Served
/// by the partial unique index `uq_goals_one_active_session`.
///
/// # Errors
/// On a database failure.
pub async fn active<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Option<goals::Model>> {
    Ok(active_query(user).one(db).await?)
}

/// The statement [`active`] runs for `user` on `backend`, values inlined: what a query-plan
/// test explains (`uq_goals_one_active_session` serves it).
pub fn active_sql(backend: DbBackend, user: UserId) -> String {
    active_query(user).limit(1).build(backend).to_string()
}

fn active_query(user: UserId) -> Select<goals::Entity> {
    goals::Entity::find()
        .filter(goals::Column::UserId.eq(user))
        .filter(is_session())
        .filter(goals::Column::SessionStart.is_not_null())
        .filter(goals::Column::SessionEnd.is_null())
        .filter(goals::Column::DeletedAt.is_null())
        .order_by_asc(goals::Column::Id)
}

/// `type = 'PracticeSession'` written as a literal, not a bound value: a statement the server
/// prepares once and plans generically can then still use the partial indexes on sessions.
fn is_session() -> Expr {
    Expr::cust("\"goals\".\"type\" = 'PracticeSession'")
}

/// Starts the caller's session `session` now: it becomes the caller's active session.
///
/// # Errors
/// `Core(NotFound)`; [`Error::AlreadyStarted`] for a session started before (running or
/// ended); [`Error::SessionActive`] while another of the caller's sessions is active.
pub async fn start<C>(db: &C, user: UserId, session: Uuid) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let found = session_of(&txn, user, session).await?;
    if found.session_start.is_some() {
        return Err(Error::AlreadyStarted {
            what: SESSION,
            id: session,
        });
    }
    if let Some(other) = active(&txn, user).await? {
        return Err(Error::SessionActive {
            active: Some(other.id),
        });
    }
    let now = now();
    let mut change: goals::ActiveModel = found.into();
    change.session_start = Set(Some(now));
    change.updated_at = Set(now);
    let started = save_session(&txn, change).await?;
    txn.commit().await?;
    Ok(started)
}

/// Pauses the caller's running session `session` now.
///
/// # Errors
/// `Core(NotFound)`; [`Error::NotStarted`] before a start; [`Error::AlreadyStopped`] after
/// the end; [`Error::PauseState`] (`paused: true`) when it is paused already.
pub async fn pause<C>(db: &C, user: UserId, session: Uuid) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let found = session_of(&txn, user, session).await?;
    running(&found)?;
    if found.last_paused_at.is_some() {
        return Err(Error::PauseState {
            session,
            paused: true,
        });
    }
    let now = now();
    let mut change: goals::ActiveModel = found.into();
    change.last_paused_at = Set(Some(now));
    change.updated_at = Set(now);
    let paused = change.update(&txn).await?;
    txn.commit().await?;
    Ok(paused)
}

/// Resumes the caller's paused session `session`: the whole seconds since the pause are
/// added to `total_paused_seconds`.
///
/// # Errors
/// `Core(NotFound)`; [`Error::PauseState`] (`paused: false`) when it is not paused;
/// `Core(Invalid)` should the paused time not fit in 32-bit seconds.
pub async fn resume<C>(db: &C, user: UserId, session: Uuid) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let found = session_of(&txn, user, session).await?;
    let Some(paused_at) = found.last_paused_at else {
        return Err(Error::PauseState {
            session,
            paused: false,
        });
    };
    let now = now();
    let paused = added_pause(found.total_paused_seconds, paused_at, now)?;
    let mut change: goals::ActiveModel = found.into();
    change.last_paused_at = Set(None);
    change.total_paused_seconds = Set(paused);
    change.updated_at = Set(now);
    let resumed = change.update(&txn).await?;
    txn.commit().await?;
    Ok(resumed)
}

/// Ends the caller's running session `session` now (a paused session is resumed first, its
/// pause counted), storing `total_duration_seconds = max(0, (end − start) −
/// total_paused_seconds)`.
///
/// # Errors
/// `Core(NotFound)`; [`Error::NotStarted`] before a start; [`Error::AlreadyStopped`] after
/// the end; `Core(Invalid)` should the duration not fit in 32-bit seconds.
pub async fn end<C>(db: &C, user: UserId, session: Uuid) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let found = session_of(&txn, user, session).await?;
    let start = running(&found)?;
    // Never before the start (a start set by hand may lie ahead).
    let now = now().max(start);
    let paused = match found.last_paused_at {
        Some(paused_at) => added_pause(found.total_paused_seconds, paused_at, now)?,
        None => found.total_paused_seconds,
    };
    let total = session_seconds(start, now, paused)?;
    let mut change: goals::ActiveModel = found.into();
    change.session_end = Set(Some(now));
    change.last_paused_at = Set(None);
    change.total_paused_seconds = Set(paused);
    change.total_duration_seconds = Set(Some(total));
    change.updated_at = Set(now);
    let ended = change.update(&txn).await?;
    txn.commit().await?;
    Ok(ended)
}

/// Sets the instants of the caller's session `session` by hand and recomputes
/// `total_duration_seconds` as [`end`] does (`NULL` unless both are set; the paused seconds
/// already counted are kept). Setting an end clears a running pause; removing the start
/// clears the pause and the paused seconds (a session that has not started has none).
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` for `session_end` when the end is before the start, an
/// end is given without a start, or the duration does not fit in 32-bit seconds;
/// [`Error::SessionActive`] when the session would become active (a start without an end)
/// while another of the caller's sessions is.
pub async fn set_times<C>(
    db: &C,
    user: UserId,
    session: Uuid,
    times: SessionTimes,
) -> Result<goals::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let times = SessionTimes {
        start: times.start.map(micros),
        end: times.end.map(micros),
    };
    match (times.start, times.end) {
        (None, Some(_)) => {
            return Err(invalid(
                "session_end",
                "a session cannot end without a start",
            ));
        }
        (Some(start), Some(end)) if end < start => {
            return Err(invalid(
                "session_end",
                format!("{end} is before the start, {start}"),
            ));
        }
        _ => {}
    }
    let txn = lifeos_core::db::begin_write(db).await?;
    let found = session_of(&txn, user, session).await?;
    if times.start.is_some()
        && times.end.is_none()
        && let Some(other) = active(&txn, user).await?
        && other.id != found.id
    {
        return Err(Error::SessionActive {
            active: Some(other.id),
        });
    }
    // A running pause ends with the session (counted from no earlier than the start); an
    // open session keeps it, from no earlier than the start.
    let (paused_at, paused) = match (times.start, times.end, found.last_paused_at) {
        (None, _, _) => (None, 0),
        (Some(start), Some(end), Some(since)) => (
            None,
            added_pause(found.total_paused_seconds, since.max(start), end)?,
        ),
        (Some(_), Some(_), None) => (None, found.total_paused_seconds),
        (Some(start), None, since) => (
            since.map(|since| since.max(start)),
            found.total_paused_seconds,
        ),
    };
    let total = match (times.start, times.end) {
        (Some(start), Some(end)) => Some(session_seconds(start, end, paused)?),
        _ => None,
    };
    let mut change: goals::ActiveModel = found.into();
    change.session_start = Set(times.start);
    change.session_end = Set(times.end);
    change.last_paused_at = Set(paused_at);
    change.total_paused_seconds = Set(paused);
    change.total_duration_seconds = Set(total);
    change.updated_at = Set(now());
    let updated = save_session(&txn, change).await?;
    txn.commit().await?;
    Ok(updated)
}

// --- activity instances ---

/// Adds an instance of the activity definition `definition` to the caller's session
/// `session` (also an ended one), last in the session, with the caller's local day of its
/// creation. `id` is the client's id for it (`None`: a new v7 id); when it is already the id
/// of a live instance of this session, that instance is returned unchanged.
///
/// # Errors
/// `Core(NotFound)` for a session that is not the caller's live session, or a definition
/// that is not a live activity definition of the session's root; `Core(Invalid)` for an
/// `id` that is a name-based (v5) UUID, which only the importer derives; `Core(Conflict)` for
/// an `id` taken by another row (of another session or activity, deleted, or another
/// user's — v7 and v4 ids are random, so this says nothing a caller could guess).
pub async fn add_instance<C>(
    db: &C,
    user: UserId,
    session: Uuid,
    definition: Uuid,
    id: Option<Uuid>,
) -> Result<activity_instances::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let unlocked = scope::session(&txn, user, session).await?;
    scope::hold_root_above(&txn, unlocked.root_id, unlocked.id).await?;
    // Locked on PostgreSQL: concurrent additions take their places one after the other.
    let session = session_of(&txn, user, session).await?;
    let definition = activity_definitions::Entity::find_by_id(definition)
        .filter(activity_definitions::Column::RootId.eq(session.root_id))
        .filter(activity_definitions::Column::DeletedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| not_found("activity definition", definition))?;
    let id = match id {
        // Name-based ids are the importer's (derived from a user and an original id): a
        // client may not take one, nor learn whether one exists.
        Some(id) if id.get_version_num() == 5 => {
            return Err(invalid(
                "id",
                "a client's instance id must be a random or time-ordered UUID (v4 or v7)",
            ));
        }
        Some(id) => {
            if let Some(existing) = activity_instances::Entity::find_by_id(id).one(&txn).await? {
                if existing.practice_session_id == session.id
                    && existing.activity_definition_id == definition.id
                    && existing.deleted_at.is_none()
                {
                    txn.commit().await?;
                    return Ok(existing);
                }
                return Err(id_taken());
            }
            id
        }
        None => Uuid::now_v7(),
    };
    let now = now();
    let local_day = LocalDays::for_user(&txn, user).await?.day_of(now);
    let last: Option<i32> = activity_instances::Entity::find()
        .select_only()
        .column(activity_instances::Column::SortOrder)
        .filter(activity_instances::Column::PracticeSessionId.eq(session.id))
        .order_by_desc(activity_instances::Column::SortOrder)
        .limit(1)
        .into_tuple()
        .one(&txn)
        .await?;
    let sort_order = next_order(last)?;
    let inserted = activity_instances::ActiveModel {
        id: Set(id),
        practice_session_id: Set(session.id),
        activity_definition_id: Set(definition.id),
        created_at: Set(now),
        completed: Set(false),
        root_id: Set(session.root_id),
        updated_at: Set(now),
        sort_order: Set(sort_order),
        local_day: Set(local_day),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match inserted {
        Ok(instance) => {
            txn.commit().await?;
            Ok(instance)
        }
        // The primary key: a concurrent call inserted this client id first.
        Err(error) if is_unique_violation(&error) => {
            drop(txn);
            let existing = activity_instances::Entity::find_by_id(id)
                .filter(activity_instances::Column::PracticeSessionId.eq(session.id))
                .filter(activity_instances::Column::ActivityDefinitionId.eq(definition.id))
                .filter(activity_instances::Column::DeletedAt.is_null())
                .one(db)
                .await?;
            existing.ok_or_else(id_taken)
        }
        Err(error) => Err(error.into()),
    }
}

/// The live instances of the caller's session `session`, by `sort_order` (then creation,
/// then id).
///
/// # Errors
/// `Core(NotFound)` for a session that is not the caller's live session.
pub async fn instances<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    session: Uuid,
) -> Result<Vec<activity_instances::Model>> {
    let session = scope::session(db, user, session).await?;
    Ok(activity_instances::Entity::find()
        .filter(activity_instances::Column::PracticeSessionId.eq(session.id))
        .filter(activity_instances::Column::DeletedAt.is_null())
        .order_by_asc(activity_instances::Column::SortOrder)
        .order_by_asc(activity_instances::Column::CreatedAt)
        .order_by_asc(activity_instances::Column::Id)
        .all(db)
        .await?)
}

/// Numbers the live instances of the caller's session `session` 0..n in the order `order`
/// names them (their order within the session), and returns them in that order; rows whose
/// place does not change are not written.
///
/// # Errors
/// `Core(NotFound)` for a session that is not the caller's live session; `Core(Invalid)` for
/// `order` when it is not exactly the ids of the session's live instances, each once.
pub async fn reorder_instances<C>(
    db: &C,
    user: UserId,
    session: Uuid,
    order: &[Uuid],
) -> Result<Vec<activity_instances::Model>>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let unlocked = scope::session(&txn, user, session).await?;
    scope::hold_root_above(&txn, unlocked.root_id, unlocked.id).await?;
    // Locked on PostgreSQL: additions and reorders of one session take turns.
    let session = session_of(&txn, user, session).await?;
    let live = instances(&txn, user, session.id).await?;
    if order.len() != live.len() {
        return Err(invalid(
            "order",
            format!(
                "names {} instances; session {} has {}",
                order.len(),
                session.id,
                live.len()
            ),
        ));
    }
    let mut by_id: HashMap<Uuid, activity_instances::Model> =
        live.into_iter().map(|row| (row.id, row)).collect();
    let now = now();
    let mut reordered = Vec::with_capacity(order.len());
    for (position, id) in order.iter().enumerate() {
        let row = by_id.remove(id).ok_or_else(|| {
            invalid(
                "order",
                format!(
                    "{id} is not an instance of session {}, or is named twice",
                    session.id
                ),
            )
        })?;
        let sort_order =
            i32::try_from(position).map_err(|_| invalid("order", "names too many instances"))?;
        if row.sort_order == sort_order {
            reordered.push(row);
            continue;
        }
        let mut change: activity_instances::ActiveModel = row.into();
        change.sort_order = Set(sort_order);
        change.updated_at = Set(now);
        reordered.push(change.update(&txn).await?);
    }
    txn.commit().await?;
    Ok(reordered)
}

/// The caller's live activity instance `instance` (in a live session).
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's, or deleted).
pub async fn get_instance<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    instance: Uuid,
) -> Result<activity_instances::Model> {
    Ok(instance_of(db, user, instance, false).await?.0)
}

/// Changes the notes, completion or data of the caller's instance `instance` as `edit`
/// says; an empty edit changes nothing.
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` for over-long notes.
pub async fn update_instance<C>(
    db: &C,
    user: UserId,
    instance: Uuid,
    edit: InstanceEdit,
) -> Result<activity_instances::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let notes = edit
        .notes
        .map(|raw| input::description("notes", raw.as_deref()))
        .transpose()?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let (found, _) = instance_of(&txn, user, instance, true).await?;
    if notes.is_none() && edit.completed.is_none() && edit.data.is_none() {
        txn.commit().await?;
        return Ok(found);
    }
    let mut change: activity_instances::ActiveModel = found.into();
    if let Some(notes) = notes {
        change.notes = Set(notes);
    }
    if let Some(completed) = edit.completed {
        change.completed = Set(completed);
    }
    if let Some(data) = edit.data {
        change.data = Set(data);
    }
    change.updated_at = Set(now());
    let updated = change.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Starts the timer of the caller's instance `instance` now. Other instances of the session
/// may be running.
///
/// # Errors
/// `Core(NotFound)`; [`Error::AlreadyStopped`] (`"practice session"`) when its session has
/// ended; [`Error::AlreadyStarted`] (`"activity instance"`) when its timer was started
/// before.
pub async fn start_timer<C>(
    db: &C,
    user: UserId,
    instance: Uuid,
) -> Result<activity_instances::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let (found, session) = instance_of(&txn, user, instance, true).await?;
    if session.session_end.is_some() {
        return Err(Error::AlreadyStopped {
            what: SESSION,
            id: session.id,
        });
    }
    if found.time_start.is_some() {
        return Err(Error::AlreadyStarted {
            what: INSTANCE,
            id: instance,
        });
    }
    if found.time_stop.is_some() {
        return Err(Error::AlreadyStopped {
            what: INSTANCE,
            id: instance,
        });
    }
    let now = now();
    let mut change: activity_instances::ActiveModel = found.into();
    change.time_start = Set(Some(now));
    change.updated_at = Set(now);
    let started = change.update(&txn).await?;
    txn.commit().await?;
    Ok(started)
}

/// Stops the timer of the caller's instance `instance` now, storing `duration_seconds`, the
/// whole seconds from its start.
///
/// # Errors
/// `Core(NotFound)`; [`Error::NotStarted`] when its timer never started;
/// [`Error::AlreadyStopped`] when it was stopped before; `Core(Invalid)` should the duration
/// not fit in 32-bit seconds.
pub async fn stop_timer<C>(
    db: &C,
    user: UserId,
    instance: Uuid,
) -> Result<activity_instances::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let (found, _) = instance_of(&txn, user, instance, true).await?;
    let Some(start) = found.time_start else {
        return Err(Error::NotStarted {
            what: INSTANCE,
            id: instance,
        });
    };
    if found.time_stop.is_some() {
        return Err(Error::AlreadyStopped {
            what: INSTANCE,
            id: instance,
        });
    }
    // Never before the start (the check constraint), should the clock have stepped back.
    let stop = now().max(start);
    let duration = whole_seconds("time_stop", start, stop)?;
    let mut change: activity_instances::ActiveModel = found.into();
    change.time_stop = Set(Some(stop));
    change.duration_seconds = Set(Some(duration));
    change.updated_at = Set(now());
    let stopped = change.update(&txn).await?;
    txn.commit().await?;
    Ok(stopped)
}

/// Sets the timer instants of the caller's instance `instance` by hand and recomputes
/// `duration_seconds` (whole seconds; `NULL` unless both are set).
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` for `time_stop` when the stop is before the start or
/// the duration does not fit in 32-bit seconds.
pub async fn set_instance_times<C>(
    db: &C,
    user: UserId,
    instance: Uuid,
    times: InstanceTimes,
) -> Result<activity_instances::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let times = InstanceTimes {
        start: times.start.map(micros),
        stop: times.stop.map(micros),
    };
    let duration = match (times.start, times.stop) {
        (None, Some(_)) => {
            return Err(invalid("time_stop", "a timer cannot stop without a start"));
        }
        (Some(start), Some(stop)) if stop < start => {
            return Err(invalid(
                "time_stop",
                format!("{stop} is before the start, {start}"),
            ));
        }
        (Some(start), Some(stop)) => Some(whole_seconds("time_stop", start, stop)?),
        _ => None,
    };
    let txn = lifeos_core::db::begin_write(db).await?;
    let (found, _) = instance_of(&txn, user, instance, true).await?;
    let mut change: activity_instances::ActiveModel = found.into();
    change.time_start = Set(times.start);
    change.time_stop = Set(times.stop);
    change.duration_seconds = Set(duration);
    change.updated_at = Set(now());
    let updated = change.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

// --- metric values ---

/// Records `value` of the metric `metric` (for the split `split`, if any) on the caller's
/// instance `instance`: one upsert ([`upsert_sql`]) on the key (instance, metric, split), so
/// a value recorded before for the same key is replaced. Returns the stored row.
///
/// # Errors
/// `Core(Invalid)` for a value that is not finite; `Core(NotFound)` for an instance that is
/// not the caller's live instance, a metric that is not a live metric definition of the
/// instance's activity, or a split that is not a live split definition of it.
pub async fn record_value<C>(
    db: &C,
    user: UserId,
    instance: Uuid,
    metric: Uuid,
    split: Option<Uuid>,
    value: f64,
) -> Result<metric_values::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    if !value.is_finite() {
        return Err(invalid("value", format!("{value} is not a finite number")));
    }
    let txn = lifeos_core::db::begin_write(db).await?;
    let (found, _) = instance_of(&txn, user, instance, false).await?;
    // On PostgreSQL, hold the activity definition (`update_definition` locks it for update)
    // so that an edit cannot remove the metric or split between this check and the value.
    if txn.get_database_backend() == DbBackend::Postgres {
        activity_definitions::Entity::find_by_id(found.activity_definition_id)
            .lock_shared()
            .one(&txn)
            .await?;
    }
    let metric = metric_definitions::Entity::find_by_id(metric)
        .filter(metric_definitions::Column::ActivityId.eq(found.activity_definition_id))
        .filter(metric_definitions::Column::DeletedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| not_found("metric definition", metric))?;
    let split = match split {
        Some(split) => Some(
            split_definitions::Entity::find_by_id(split)
                .filter(split_definitions::Column::ActivityId.eq(found.activity_definition_id))
                .filter(split_definitions::Column::DeletedAt.is_null())
                .one(&txn)
                .await?
                .ok_or_else(|| not_found("split definition", split))?
                .id,
        ),
        None => None,
    };
    let backend = txn.get_database_backend();
    let now = now();
    let values: Vec<Value> = vec![
        Uuid::now_v7().into(),
        found.id.into(),
        metric.id.into(),
        split.into(),
        value.into(),
        found.root_id.into(),
        now.into(),
        now.into(),
    ];
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            upsert_sql(backend),
            values,
        ))
        .await?
        .ok_or_else(|| {
            Error::from(DbErr::RecordNotFound(
                "the metric value upsert returned no row".to_owned(),
            ))
        })?;
    let stored = metric_values::Model::from_query_result(&row, "")?;
    txn.commit().await?;
    Ok(stored)
}

/// The upsert [`record_value`] runs on `backend`, with eight bind parameters in this order:
/// `id` (used only when the row is new), `activity_instance_id`, `metric_definition_id`,
/// `split_definition_id`, `value`, `root_id`, `created_at`, `updated_at`. On a conflict on
/// the key (instance, metric, split) it replaces `value` and `updated_at`. It returns the
/// stored row's columns.
pub fn upsert_sql(backend: DbBackend) -> String {
    let p = |n: usize| placeholder(backend, n);
    // PostgreSQL infers the `NULLS NOT DISTINCT` index from its columns; SQLite matches the
    // expression index by its expressions.
    let target = match backend {
        DbBackend::Postgres => "activity_instance_id, metric_definition_id, split_definition_id",
        _ => "activity_instance_id, metric_definition_id, COALESCE(split_definition_id, '')",
    };
    format!(
        "INSERT INTO metric_values \
         (id, activity_instance_id, metric_definition_id, split_definition_id, \"value\", \
         root_id, created_at, updated_at) \
         VALUES ({}, {}, {}, {}, {}, {}, {}, {}) \
         ON CONFLICT ({target}) DO UPDATE SET \"value\" = excluded.\"value\", \
         updated_at = excluded.updated_at \
         RETURNING id, activity_instance_id, metric_definition_id, split_definition_id, \
         \"value\", root_id, updated_at, created_at",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        p(8)
    )
}

/// The metric values of the caller's instance `instance`, by metric definition (then split,
/// then id).
///
/// # Errors
/// `Core(NotFound)` for an instance that is not the caller's live instance.
pub async fn values<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    instance: Uuid,
) -> Result<Vec<metric_values::Model>> {
    let (found, _) = instance_of(db, user, instance, false).await?;
    Ok(metric_values::Entity::find()
        .filter(metric_values::Column::ActivityInstanceId.eq(found.id))
        .order_by_asc(metric_values::Column::MetricDefinitionId)
        .order_by_asc(metric_values::Column::SplitDefinitionId)
        .order_by_asc(metric_values::Column::Id)
        .all(db)
        .await?)
}

// --- helpers ---

/// The current instant, truncated to microseconds (PostgreSQL's precision): what is stored is
/// what the service computed with.
fn now() -> DateTime<Utc> {
    micros(Utc::now())
}

/// `instant` truncated to microseconds, what PostgreSQL stores: both backends then hold, and
/// compute durations from, the same instant.
fn micros(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.trunc_subsecs(6)
}

/// The caller's live session `id`, locked (`FOR UPDATE`) on PostgreSQL.
async fn session_of<C: ConnectionTrait>(db: &C, user: UserId, id: Uuid) -> Result<goals::Model> {
    let mut query = goals::Entity::find_by_id(id)
        .filter(goals::Column::UserId.eq(user))
        .filter(goals::Column::DeletedAt.is_null())
        .filter(goals::Column::GoalType.eq(GoalType::PracticeSession));
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await?.ok_or_else(|| not_found(SESSION, id))
}

/// The caller's live instance `id` with its (live) session; the instance locked
/// (`FOR UPDATE`) on PostgreSQL when `lock`, once its owner is known.
async fn instance_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: Uuid,
    lock: bool,
) -> Result<(activity_instances::Model, goals::Model)> {
    let live = || {
        activity_instances::Entity::find_by_id(id)
            .filter(activity_instances::Column::DeletedAt.is_null())
    };
    let instance = live()
        .one(db)
        .await?
        .ok_or_else(|| not_found(INSTANCE, id))?;
    let session = match scope::session(db, user, instance.practice_session_id).await {
        Ok(session) => session,
        Err(Error::Core(lifeos_core::Error::NotFound { .. })) => {
            return Err(not_found(INSTANCE, id));
        }
        Err(other) => return Err(other),
    };
    if lock && db.get_database_backend() == DbBackend::Postgres {
        let locked = live()
            .lock_exclusive()
            .one(db)
            .await?
            .ok_or_else(|| not_found(INSTANCE, id))?;
        return Ok((locked, session));
    }
    Ok((instance, session))
}

/// Saves a change of a session that may make it active: the one-active-session index,
/// reached by a concurrent start, is [`Error::SessionActive`].
async fn save_session<C: ConnectionTrait>(
    db: &C,
    change: goals::ActiveModel,
) -> Result<goals::Model> {
    match change.update(db).await {
        Ok(saved) => Ok(saved),
        Err(error) if is_unique_violation(&error) => Err(Error::SessionActive { active: None }),
        Err(error) => Err(error.into()),
    }
}

/// Whether `error` is a unique violation.
fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A client's instance id that another row holds.
fn id_taken() -> Error {
    conflict("activity instance id is taken")
}

/// The start of a running session: started, not ended.
fn running(session: &goals::Model) -> Result<DateTime<Utc>> {
    let Some(start) = session.session_start else {
        return Err(Error::NotStarted {
            what: SESSION,
            id: session.id,
        });
    };
    if session.session_end.is_some() {
        return Err(Error::AlreadyStopped {
            what: SESSION,
            id: session.id,
        });
    }
    Ok(start)
}

/// The place after `last` (`0` for the first).
fn next_order(last: Option<i32>) -> Result<i32> {
    match last {
        None => Ok(0),
        Some(last) => last
            .checked_add(1)
            .ok_or_else(|| invalid("sort_order", "no place is left after the last one")),
    }
}

/// `total` paused seconds plus the seconds from `since` to `now`, rounded (none if `now` is
/// earlier).
fn added_pause(total: i32, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<i32> {
    // Rounded to the nearest second, so that many short pauses do not drift one way.
    let millis = now.signed_duration_since(since).num_milliseconds().max(0);
    let seconds = millis.saturating_add(500) / 1000;
    i32::try_from(i64::from(total).saturating_add(seconds)).map_err(|_| {
        invalid(
            "total_paused_seconds",
            "the paused time does not fit in 32-bit seconds",
        )
    })
}

/// A session's duration: `max(0, (end − start) − paused)` in whole seconds.
fn session_seconds(start: DateTime<Utc>, end: DateTime<Utc>, paused: i32) -> Result<i32> {
    let seconds = end
        .signed_duration_since(start)
        .num_seconds()
        .saturating_sub(i64::from(paused))
        .max(0);
    i32::try_from(seconds)
        .map_err(|_| invalid("session_end", "the duration does not fit in 32-bit seconds"))
}

/// The whole seconds from `start` to `stop` (not negative), for `field`.
fn whole_seconds(field: &'static str, start: DateTime<Utc>, stop: DateTime<Utc>) -> Result<i32> {
    let seconds = stop.signed_duration_since(start).num_seconds().max(0);
    i32::try_from(seconds)
        .map_err(|_| invalid(field, "the duration does not fit in 32-bit seconds"))
}
