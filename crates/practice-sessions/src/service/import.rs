//! Import of an original fractal-goals database (`goals.db`, Version A: Flask + SQLAlchemy on
//! SQLite) for one user — `lifeos import fractal-goals PATH --user EMAIL`.
//!
//! **What is read.** The nine core tables — `goals`, `practice_session_goals`,
//! `activity_groups`, `activity_definitions`, `metric_definitions`, `split_definitions`,
//! `activity_instances`, `metric_values`, `session_templates` — with or without the
//! 2026-01-01 improvements (their `root_id`, `deleted_at`, `updated_at` and `sort_order`
//! columns) and the hotfix columns of `activity_instances` (`completed`, `notes`, `data`).
//! [`fractal_goals`] first checks that the source is SQLite and has each table with its
//! structural columns (ids, references, names, the value; read from `pragma_table_info`); any
//! other file is refused with `Core(Invalid)` for `source` ("not a fractal-goals database:
//! …") before anything is written. Every other column is optional (a missing one reads as
//! `NULL`). The tables are read whole (such files are small). Programs and the other later
//! tables are not imported.
//!
//! **Ids.** Each row's id is [`imported_id`]: a name-based UUID (v5, [`NAMESPACE`]) of the
//! importing user, the table and the original id. A second user importing the same file
//! collides with nothing and learns nothing; importing a file again creates nothing new —
//! every insert is `ON CONFLICT (id) DO NOTHING` (for `practice_session_goals`, its key
//! pair), and [`Report`] counts the rows it created and those that already existed.
//!
//! **Times.** The original stored naive local time (`datetime.now`). Its text — `%Y-%m-%d
//! %H:%M:%S%.f`, also with `T`, without seconds, or a date alone — is read in the importing
//! user's time zone (`user.timezone`) and converted to UTC: a time the clock shows twice maps
//! to the earlier instant, a time in a gap to the first instant after the gap (as
//! [`lifeos_core::days`] does). A trailing `Z`, or an explicit offset, is taken as written. A
//! row with an unparsable time is skipped (counted), except for `created_at`, which becomes
//! the time of the import, and `updated_at`, which becomes `created_at`. An instance's
//! `local_day` is the user's local day of its `created_at`.
//!
//! **root_id** is computed here, never read from the file (the file's `root_id` columns were
//! an unchecked backfill). A goal's root is its parentless ancestor, walking `parent_id` (a
//! missing parent, a cycle or more than [`MAX_DEPTH`] steps skips the goal). A practice
//! session's root is the root of the goals it is linked to through `practice_session_goals`;
//! an old-style session that has a `parent_id` instead is linked to that parent when it is a
//! ShortTermGoal, and stored without a parent. A session linked to goals of two roots, or to
//! none, is skipped, and so is everything under it. A goal below a session takes the
//! session's root. Roots are parentless goals that are not sessions. Goal types the hierarchy
//! would not allow today are imported as they are: this is history. Groups, activity
//! definitions and templates take the root of the goal their `root_id` names; metric and
//! split definitions their activity's, instances their session's, metric values their
//! instance's. A row whose reference is missing or lies in another root (an orphan) is
//! skipped (counted); a definition whose group is missing keeps no group.
//!
//! **Deleted rows** (`deleted_at` set) are imported deleted, with no `delete_batch_id` (no
//! LifeOS delete removed them, so `restore` leaves them deleted). A row under a deleted
//! parent (a goal, a session, a root, an activity) is imported deleted at its parent's time,
//! as a LifeOS delete would have left it — also when the parent was deleted in LifeOS after
//! an earlier import: a re-import never adds live rows under a deleted one, and a new
//! session whose short-term goals are all deleted is imported deleted with the latest of
//! them. Such rows join no deletion (`delete_batch_id` NULL): restoring the LifeOS delete
//! leaves them deleted — they can never make that restore fail on a name or an active
//! session — and a purge removes them.
//!
//! **Cleaning.** The target's checks would refuse some original rows; they are imported with
//! the offending values changed and counted in [`Report::cleaned`]: a deadline before
//! `created_at` is dropped; an instance that stops before it starts loses its stop and
//! duration; a negative (or out-of-range) duration is dropped; of live groups, definitions
//! and templates of one root (metric and split definitions of one activity) with one name —
//! in the file or already in LifeOS — the later ones (by `created_at`, then original id) are
//! renamed `name (2)`, `name (3)`, …; a session stored with a parent loses it (and is linked
//! to it instead). Text loses NUL characters (which PostgreSQL cannot store); an empty name
//! becomes [`UNNAMED`]; JSON that does not parse is kept as a JSON string, and NULs escaped
//! in JSON (`\u0000`) are dropped too; text in a number column reads as missing (SQLite
//! would make it 0), so a metric value that is not a number is skipped. Several metric
//! values of one (instance, metric, split) keep the most recently updated (`updated_at`,
//! else `created_at`, then the greater original id); the others are skipped (counted), as is
//! a value whose key LifeOS already holds under another id, or that is not a finite number.
//!
//! **One active session.** At most one practice session of a user may be active (started,
//! not ended, not deleted). When the user already has one, every open session of the file
//! is imported closed; otherwise the newest (by `session_start`) stays open and the others
//! are closed. A closed session ends at its latest instance's `time_stop`, or at its
//! `session_start` when it has none, and takes the duration that gives unless it had one
//! ([`Report::closed`]).
//!
//! **One transaction.** Everything is written in one transaction, in dependency order —
//! goals (parents before children), links, groups, definitions, metric and split
//! definitions, templates, instances, values — so a failure writes nothing. `progress` is
//! called with `(table, done, total)` as rows are written.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use lifeos_core::days::LocalDays;
use lifeos_entity::UserId;
use sea_orm::prelude::Uuid;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    Iterable, PrimaryKeyToColumn, QueryFilter, QuerySelect, QueryTrait, Select, Statement,
    TransactionSession, TransactionTrait,
};
use serde_json::Value;

use crate::entity::goals::{self, GoalType};
use crate::entity::{
    activity_definitions, activity_groups, activity_instances, metric_definitions, metric_values,
    practice_session_goals, session_templates, split_definitions,
};
use crate::error::{Error, Result, invalid};

/// The namespace of the name-based ids of imported rows (see [`imported_id`]).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x7d1e_4c2b_9a53_5f08_8e6d_b3a4_1c97_20f5);

/// The most `parent_id` steps from a goal to its root; a deeper (or cyclic) chain is skipped.
pub const MAX_DEPTH: usize = 64;

/// The name given to a row whose original name is empty.
pub const UNNAMED: &str = "Untitled";

const GOALS: &str = "goals";
const LINKS: &str = "practice_session_goals";
const GROUPS: &str = "activity_groups";
const DEFINITIONS: &str = "activity_definitions";
const METRICS: &str = "metric_definitions";
const SPLITS: &str = "split_definitions";
const TEMPLATES: &str = "session_templates";
const INSTANCES: &str = "activity_instances";
const VALUES: &str = "metric_values";

/// The tables an import writes, in the order it writes them (each is also the name of the
/// original's table its rows come from).
pub const TABLES: [&str; 9] = [
    GOALS,
    LINKS,
    GROUPS,
    DEFINITIONS,
    METRICS,
    SPLITS,
    TEMPLATES,
    INSTANCES,
    VALUES,
];

/// What an import did, per target table (every table of [`TABLES`] is a key of each map).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Rows created.
    pub created: BTreeMap<&'static str, u64>,
    /// Rows that existed already (imported before): left as they are.
    pub existing: BTreeMap<&'static str, u64>,
    /// Rows of the file not imported: orphans, rows with an unparsable time or an unknown
    /// goal type, sessions without one root, duplicate metric values.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Rows created with a value changed to satisfy the target's checks (see the module
    /// docs); counted in `created` too.
    pub cleaned: BTreeMap<&'static str, u64>,
    /// Open practice sessions created closed, so that at most one is active.
    pub closed: u64,
}

impl Report {
    fn empty() -> Self {
        let zero = || {
            TABLES
                .iter()
                .map(|table| (*table, 0))
                .collect::<BTreeMap<_, _>>()
        };
        Self {
            created: zero(),
            existing: zero(),
            skipped: zero(),
            cleaned: zero(),
            closed: 0,
        }
    }

    fn skip(&mut self, table: &'static str) {
        *self.skipped.entry(table).or_insert(0) += 1;
    }

    /// Counts one insert that affected `affected` rows.
    fn tally(&mut self, table: &'static str, affected: u64, cleaned: bool) {
        if affected > 0 {
            *self.created.entry(table).or_insert(0) += 1;
            if cleaned {
                *self.cleaned.entry(table).or_insert(0) += 1;
            }
        } else {
            *self.existing.entry(table).or_insert(0) += 1;
        }
    }
}

/// The id the row `original` of `table` gets when `user` imports it: the name-based UUID
/// (v5, [`NAMESPACE`]) of `"{user}:{table}:{original}"`.
pub fn imported_id(user: UserId, table: &str, original: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{user}:{table}:{original}").as_bytes())
}

/// A read [`fractal_goals`] runs on the target database, with the indexes that can serve it
/// (for tests of its plan).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// The table read.
    pub table: &'static str,
    /// The indexes that serve it (any one of them).
    pub indexes: &'static [&'static str],
    /// The column the index is searched by.
    pub column: &'static str,
    /// The statement, with its values inlined.
    pub sql: String,
}

/// The reads of the target an import of `user` runs when the file's roots are `roots`: the
/// user's active session, and the rows under those roots (rows imported before, names
/// already taken, metric values already recorded).
pub fn lookups(backend: DbBackend, user: UserId, roots: &[Uuid]) -> Vec<Lookup> {
    let lookup = |table: &'static str,
                  indexes: &'static [&'static str],
                  column: &'static str,
                  statement: Statement| Lookup {
        table,
        indexes,
        column,
        sql: statement.to_string(),
    };
    vec![
        Lookup {
            table: GOALS,
            indexes: &["uq_goals_one_active_session", "idx_goals_user_parent"],
            column: "user_id",
            sql: crate::service::sessions::active_sql(backend, user),
        },
        lookup(
            GOALS,
            &["idx_goals_root_id", "idx_goals_root_type"],
            "root_id",
            goals_under(roots).build(backend),
        ),
        lookup(
            GROUPS,
            &["idx_activity_groups_root"],
            "root_id",
            groups_under(roots).build(backend),
        ),
        lookup(
            DEFINITIONS,
            &["idx_activity_definitions_root"],
            "root_id",
            definitions_under(roots).build(backend),
        ),
        lookup(
            METRICS,
            &["idx_metric_definitions_root"],
            "root_id",
            metrics_under(roots).build(backend),
        ),
        lookup(
            SPLITS,
            &["idx_split_definitions_root"],
            "root_id",
            splits_under(roots).build(backend),
        ),
        lookup(
            TEMPLATES,
            &["idx_session_templates_root"],
            "root_id",
            templates_under(roots).build(backend),
        ),
        lookup(
            VALUES,
            &["idx_metric_values_root", "idx_metric_values_root_metric"],
            "root_id",
            values_under(roots).build(backend),
        ),
    ]
}

/// Imports the fractal-goals database `source` (an open SQLite connection, read only) into
/// `target` for `user`, reporting progress as `(table, done, total)`; see the module docs for
/// every rule.
///
/// # Errors
/// `Core(Invalid)` for `source` when it is not a fractal-goals database (nothing is written);
/// `Core(NotFound)` for an unknown user; `Core(Invalid)` for `timezone` when the user's
/// stored time zone is not one; a database failure of the target (nothing is written).
pub async fn fractal_goals<C>(
    source: &DatabaseConnection,
    target: &C,
    user: UserId,
    progress: &mut dyn FnMut(&'static str, u64, u64),
) -> Result<Report>
where
    C: ConnectionTrait + TransactionTrait,
{
    let mut tables = read_source(source).await?;
    let days = LocalDays::for_user(target, user).await?;
    let ctx = Ctx {
        user,
        days,
        now: Utc::now(),
    };
    let mut report = Report::empty();
    let mut plan = plan(&ctx, &mut tables, &mut report);

    let txn = lifeos_core::db::begin_write(target).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Hold the roots imported before (in a fixed order), as every write under a root
        // does: a delete racing this import waits for it, or it reads that delete's rows.
        let mut roots = plan.roots.clone();
        roots.sort();
        for root in roots {
            goals::Entity::find_by_id(root)
                .lock_shared()
                .one(&txn)
                .await?;
        }
    }
    if !plan.roots.is_empty() {
        let imported: HashSet<Uuid> = goals_under(&plan.roots)
            .all(&txn)
            .await?
            .into_iter()
            .map(|goal| goal.id)
            .collect();
        for goal in &mut plan.goals {
            goal.exists = imported.contains(&goal.model.id);
        }
    }
    if !plan.roots.is_empty() {
        let roots = plan.roots.clone();
        let deleted_goals = goals_under(&roots)
            .filter(goals::Column::DeletedAt.is_not_null())
            .all(&txn)
            .await?;
        let deleted_definitions = definitions_under(&roots)
            .filter(activity_definitions::Column::DeletedAt.is_not_null())
            .all(&txn)
            .await?;
        inherit_target_deletions(&mut plan, &deleted_goals, &deleted_definitions);
        dedupe(&mut plan.groups, &groups_under(&roots).all(&txn).await?);
        dedupe(
            &mut plan.definitions,
            &definitions_under(&roots).all(&txn).await?,
        );
        dedupe(&mut plan.metrics, &metrics_under(&roots).all(&txn).await?);
        dedupe(&mut plan.splits, &splits_under(&roots).all(&txn).await?);
        dedupe(
            &mut plan.templates,
            &templates_under(&roots).all(&txn).await?,
        );
        let recorded = values_under(&roots).all(&txn).await?;
        drop_recorded_values(&mut plan.values, &recorded, &mut report);
    }
    let active = crate::service::sessions::active(&txn, user).await?;
    close_sessions(
        &mut plan.goals,
        active.map(|session| session.id),
        &plan.latest_stop,
    );
    write(&txn, plan, &mut report, progress).await?;
    txn.commit().await?;
    Ok(report)
}

/// New rows under a row the user deleted in LifeOS since an earlier import (a goal, a root,
/// a session, an activity definition — or a session all of whose short-term goals are
/// deleted) are imported deleted too, at its time, as LifeOS's own delete would have left
/// them: a re-import never brings rows back to life under a deleted one. They join no
/// deletion (`delete_batch_id` stays NULL): restoring that delete leaves them deleted, so it
/// can never be blocked by a name or an active session they would bring back; a purge
/// removes them.
fn inherit_target_deletions(
    plan: &mut Plan,
    goals: &[goals::Model],
    definitions: &[activity_definitions::Model],
) {
    let mut deleted: HashMap<Uuid, DateTime<Utc>> = goals
        .iter()
        .filter_map(|goal| goal.deleted_at.map(|at| (goal.id, at)))
        .chain(
            definitions
                .iter()
                .filter_map(|definition| definition.deleted_at.map(|at| (definition.id, at))),
        )
        .collect();
    let inherit = |deleted: &HashMap<Uuid, DateTime<Utc>>,
                   own: &mut Option<DateTime<Utc>>,
                   exists: bool,
                   under: &[Uuid]| {
        if !exists && own.is_none() {
            *own = under.iter().find_map(|id| deleted.get(id).copied());
        }
    };
    let mut linked: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for link in &plan.links {
        linked
            .entry(link.practice_session_id)
            .or_default()
            .push(link.short_term_goal_id);
    }
    // Goals come parents first, but parentless sessions before the short-term goals they
    // serve: a second pass sees those goals' deletions (and passes a session's on to the
    // goals under it). A pass only ever adds deletions, so two are enough. Rows the target
    // holds already keep the target's state (which the map starts from).
    for _pass in 0..2 {
        for goal in &mut plan.goals {
            if goal.exists {
                continue;
            }
            let model = &mut goal.model;
            let under: Vec<Uuid> = model.parent_id.into_iter().chain([model.root_id]).collect();
            inherit(&deleted, &mut model.deleted_at, false, &under);
            if model.deleted_at.is_none() {
                // A session whose short-term goals are all deleted goes with the latest.
                let goals = linked.get(&model.id).map(Vec::as_slice).unwrap_or_default();
                let all: Option<Vec<DateTime<Utc>>> =
                    goals.iter().map(|id| deleted.get(id).copied()).collect();
                model.deleted_at = all.and_then(|all| all.into_iter().max());
            }
            if let Some(at) = model.deleted_at {
                deleted.insert(model.id, at);
            }
        }
    }
    for group in &mut plan.groups {
        let root = [group.model.root_id];
        inherit(&deleted, &mut group.model.deleted_at, group.exists, &root);
    }
    for definition in &mut plan.definitions {
        let root = [definition.model.root_id];
        inherit(
            &deleted,
            &mut definition.model.deleted_at,
            definition.exists,
            &root,
        );
        if !definition.exists
            && let Some(at) = definition.model.deleted_at
        {
            deleted.insert(definition.model.id, at);
        }
    }
    for metric in &mut plan.metrics {
        let under = [metric.model.activity_id, metric.model.root_id];
        inherit(
            &deleted,
            &mut metric.model.deleted_at,
            metric.exists,
            &under,
        );
    }
    for split in &mut plan.splits {
        let under = [split.model.activity_id, split.model.root_id];
        inherit(&deleted, &mut split.model.deleted_at, split.exists, &under);
    }
    for template in &mut plan.templates {
        let root = [template.model.root_id];
        inherit(
            &deleted,
            &mut template.model.deleted_at,
            template.exists,
            &root,
        );
    }
    for instance in &mut plan.instances {
        let under = [instance.model.practice_session_id, instance.model.root_id];
        inherit(
            &deleted,
            &mut instance.model.deleted_at,
            instance.exists,
            &under,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Reading the source
// ---------------------------------------------------------------------------------------

/// How a source column is read.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Real,
}

/// A column of a source table: how it is read, and whether the table must have it.
#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn required_text(name: &'static str) -> Field {
    Field {
        name,
        kind: Kind::Text,
        required: true,
    }
}

const fn optional_text(name: &'static str) -> Field {
    Field {
        name,
        kind: Kind::Text,
        required: false,
    }
}

const fn optional_int(name: &'static str) -> Field {
    Field {
        name,
        kind: Kind::Int,
        required: false,
    }
}

/// The source tables and the columns read from them.
const SOURCE: [(&str, &[Field]); 9] = [
    (
        GOALS,
        &[
            required_text("id"),
            required_text("type"),
            required_text("name"),
            required_text("parent_id"),
            optional_text("description"),
            optional_text("deadline"),
            optional_int("completed"),
            optional_text("created_at"),
            optional_text("updated_at"),
            optional_text("deleted_at"),
            optional_int("sort_order"),
            optional_int("duration_minutes"),
            optional_text("session_start"),
            optional_text("session_end"),
            optional_int("total_duration_seconds"),
            optional_text("template_id"),
            optional_text("attributes"),
            optional_text("session_data"),
            optional_text("targets"),
        ],
    ),
    (
        LINKS,
        &[
            required_text("practice_session_id"),
            required_text("short_term_goal_id"),
        ],
    ),
    (
        GROUPS,
        &[
            required_text("id"),
            required_text("root_id"),
            required_text("name"),
            optional_text("description"),
            optional_text("created_at"),
            optional_text("updated_at"),
            optional_text("deleted_at"),
            optional_int("sort_order"),
        ],
    ),
    (
        DEFINITIONS,
        &[
            required_text("id"),
            required_text("root_id"),
            required_text("name"),
            optional_text("description"),
            optional_text("created_at"),
            optional_text("updated_at"),
            optional_text("deleted_at"),
            optional_int("has_sets"),
            optional_int("has_metrics"),
            optional_int("metrics_multiplicative"),
            optional_int("has_splits"),
            optional_text("group_id"),
        ],
    ),
    (
        METRICS,
        &[
            required_text("id"),
            required_text("activity_id"),
            required_text("name"),
            optional_text("unit"),
            optional_text("created_at"),
            optional_text("updated_at"),
            optional_text("deleted_at"),
            optional_int("is_active"),
            optional_int("is_top_set_metric"),
            optional_int("is_multiplicative"),
            optional_int("sort_order"),
        ],
    ),
    (
        SPLITS,
        &[
            required_text("id"),
            required_text("activity_id"),
            required_text("name"),
            optional_int("order"),
            optional_text("created_at"),
            optional_text("updated_at"),
            optional_text("deleted_at"),
        ],
    ),
    (
        TEMPLATES,
        &[
            required_text("id"),
            required_text("root_id"),
            required_text("name"),
            optional_text("description"),
            optional_text("template_data"),
            optional_text("created_at"),
            optional_text("updated_at"),
            optional_text("deleted_at"),
        ],
    ),
    (
        INSTANCES,
        &[
            required_text("id"),
            required_text("practice_session_id"),
            required_text("activity_definition_id"),
            optional_text("created_at"),
            optional_text("updated_at"),
            optional_text("deleted_at"),
            optional_text("time_start"),
            optional_text("time_stop"),
            optional_int("duration_seconds"),
            optional_int("sort_order"),
            optional_int("completed"),
            optional_text("notes"),
            optional_text("data"),
        ],
    ),
    (
        VALUES,
        &[
            required_text("id"),
            required_text("activity_instance_id"),
            required_text("metric_definition_id"),
            optional_text("split_definition_id"),
            Field {
                name: "value",
                kind: Kind::Real,
                required: true,
            },
            optional_text("created_at"),
            optional_text("updated_at"),
        ],
    ),
];

/// One value of a source row (`NULL`s are left out of the row).
#[derive(Clone, Debug)]
enum Cell {
    Text(String),
    Int(i64),
    Real(f64),
}

/// A source row: its non-null values by column.
#[derive(Clone, Debug, Default)]
struct Row(HashMap<&'static str, Cell>);

impl Row {
    fn text(&self, column: &str) -> Option<&str> {
        match self.0.get(column) {
            Some(Cell::Text(text)) => Some(text.as_str()),
            _ => None,
        }
    }

    /// A reference or id: non-blank text.
    fn id(&self, column: &str) -> Option<String> {
        self.text(column)
            .filter(|text| !text.trim().is_empty())
            .map(str::to_owned)
    }

    fn int(&self, column: &str) -> Option<i64> {
        match self.0.get(column) {
            Some(Cell::Int(value)) => Some(*value),
            _ => None,
        }
    }

    fn real(&self, column: &str) -> Option<f64> {
        match self.0.get(column) {
            Some(Cell::Real(value)) => Some(*value),
            _ => None,
        }
    }

    /// A boolean (SQLAlchemy stores 0/1), `default` when `NULL` or absent.
    fn flag(&self, column: &str, default: bool) -> bool {
        self.int(column).map_or(default, |value| value != 0)
    }
}

/// `Core(Invalid)` for `source`.
fn not_fractal(reason: impl std::fmt::Display) -> Error {
    invalid("source", format!("not a fractal-goals database: {reason}"))
}

/// Checks the source's tables and columns, then reads every table.
async fn read_source(source: &DatabaseConnection) -> Result<HashMap<&'static str, Vec<Row>>> {
    if source.get_database_backend() != DbBackend::Sqlite {
        return Err(not_fractal("it is not a SQLite database"));
    }
    // One read transaction: one snapshot of the file, should its app be writing to it.
    let source = source
        .begin()
        .await
        .map_err(|error| not_fractal(format!("it cannot be read as SQLite ({error})")))?;
    let mut present = Vec::with_capacity(SOURCE.len());
    for (table, fields) in SOURCE {
        let found = source
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("SELECT name FROM pragma_table_info('{table}')"),
            ))
            .await
            .map_err(|error| not_fractal(format!("it cannot be read as SQLite ({error})")))?;
        let columns: HashSet<String> = found
            .iter()
            .filter_map(|row| row.try_get_by_index::<String>(0).ok())
            .map(|name| name.to_ascii_lowercase())
            .collect();
        if columns.is_empty() {
            return Err(not_fractal(format!("it has no `{table}` table")));
        }
        let missing: Vec<&str> = fields
            .iter()
            .filter(|field| field.required && !columns.contains(field.name))
            .map(|field| field.name)
            .collect();
        if !missing.is_empty() {
            return Err(not_fractal(format!(
                "its `{table}` table has no column {}",
                missing.join(", ")
            )));
        }
        present.push((table, fields, columns));
    }
    let mut tables = HashMap::with_capacity(present.len());
    for (table, fields, columns) in present {
        let list = fields
            .iter()
            .map(|field| {
                if !columns.contains(field.name) {
                    return "NULL".to_owned();
                }
                let name = field.name;
                // A number column's text that is not a number reads as missing, not as 0
                // (SQLite's cast would make it 0).
                match field.kind {
                    Kind::Text => format!("CAST(\"{name}\" AS TEXT)"),
                    // (Booleans as text, should a file hold them so, read as 1 and 0.)
                    Kind::Int => format!(
                        "CASE WHEN typeof(\"{name}\") IN ('integer', 'real') \
                         THEN CAST(\"{name}\" AS INTEGER) \
                         WHEN lower(\"{name}\") IN ('true', 't') THEN 1 \
                         WHEN lower(\"{name}\") IN ('false', 'f') THEN 0 END"
                    ),
                    Kind::Real => format!(
                        "CASE WHEN typeof(\"{name}\") IN ('integer', 'real') \
                         THEN CAST(\"{name}\" AS REAL) END"
                    ),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let unreadable = |error: sea_orm::DbErr| {
            not_fractal(format!("its `{table}` table cannot be read ({error})"))
        };
        let rows = source
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("SELECT {list} FROM \"{table}\""),
            ))
            .await
            .map_err(unreadable)?;
        let mut read = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = HashMap::with_capacity(fields.len());
            for (index, field) in fields.iter().enumerate() {
                let cell = match field.kind {
                    Kind::Text => row
                        .try_get_by_index::<Option<String>>(index)
                        .map(|value| value.map(Cell::Text)),
                    Kind::Int => row
                        .try_get_by_index::<Option<i64>>(index)
                        .map(|value| value.map(Cell::Int)),
                    Kind::Real => row
                        .try_get_by_index::<Option<f64>>(index)
                        .map(|value| value.map(Cell::Real)),
                }
                .map_err(unreadable)?;
                if let Some(cell) = cell {
                    cells.insert(field.name, cell);
                }
            }
            read.push(Row(cells));
        }
        tables.insert(table, read);
    }
    source
        .commit()
        .await
        .map_err(|error| not_fractal(format!("it cannot be read as SQLite ({error})")))?;
    Ok(tables)
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/// What every row's conversion needs.
struct Ctx {
    user: UserId,
    days: LocalDays,
    now: DateTime<Utc>,
}

/// A time that does not parse.
struct BadTime;

impl Ctx {
    fn id(&self, table: &str, original: &str) -> Uuid {
        imported_id(self.user, table, original)
    }

    /// An optional time: `Ok(None)` when `NULL` or blank.
    fn time(&self, raw: Option<&str>) -> std::result::Result<Option<DateTime<Utc>>, BadTime> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => instant(text, self.days.zone()).map(Some).ok_or(BadTime),
        }
    }

    /// The optional times `columns` of `row`; `None` when one of them does not parse (the
    /// row is skipped).
    fn times<const N: usize>(
        &self,
        row: &Row,
        columns: [&'static str; N],
    ) -> Option<[Option<DateTime<Utc>>; N]> {
        let parsed = columns.map(|column| self.time(row.text(column)));
        if parsed.iter().any(std::result::Result::is_err) {
            return None;
        }
        Some(parsed.map(|time| time.unwrap_or(None)))
    }

    /// `created_at`, or the time of the import when it is missing or unparsable.
    fn created(&self, row: &Row) -> DateTime<Utc> {
        self.time(row.text("created_at"))
            .ok()
            .flatten()
            .unwrap_or(self.now)
    }

    /// `updated_at`, or `created` when it is missing or unparsable.
    fn updated(&self, row: &Row, created: DateTime<Utc>) -> DateTime<Utc> {
        self.time(row.text("updated_at"))
            .ok()
            .flatten()
            .unwrap_or(created)
    }
}

/// The instant `text` denotes: naive text is local time in `zone`; a trailing `Z` or an
/// explicit offset is taken as written.
fn instant(text: &str, zone: Tz) -> Option<DateTime<Utc>> {
    if let Some(utc) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return naive(utc.trim_end()).map(|wall| wall.and_utc());
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(text, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    naive(text).map(|wall| local(zone, wall))
}

/// A naive date and time in one of the original's formats.
fn naive(text: &str) -> Option<NaiveDateTime> {
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(wall) = NaiveDateTime::parse_from_str(text, format) {
            return Some(wall);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|day| day.and_time(NaiveTime::MIN))
}

/// The instant the clock in `zone` shows `wall`: the earlier of two, the first instant after
/// a gap.
fn local(zone: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&wall) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => first_after_gap(zone, wall),
    }
}

/// The first instant whose local time in `zone` is at or after `wall`, which lies in a gap:
/// found by bisection over whole seconds within two days of `wall` (as `lifeos_core::days`).
fn first_after_gap(zone: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    let local_at = |seconds: i64| {
        DateTime::<Utc>::from_timestamp(seconds, 0).map(|at| at.with_timezone(&zone).naive_local())
    };
    let centre = wall.and_utc().timestamp();
    let (mut lo, mut hi) = (centre - 2 * 86_400, centre + 2 * 86_400);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match local_at(mid) {
            Some(at) if at >= wall => hi = mid,
            _ => lo = mid,
        }
    }
    DateTime::<Utc>::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `text` without NUL characters.
fn clean(text: &str) -> String {
    text.replace('\0', "")
}

/// A name: cleaned and trimmed, [`UNNAMED`] when empty.
fn name_of(raw: Option<&str>) -> String {
    let text = clean(raw.unwrap_or_default());
    match text.trim() {
        "" => UNNAMED.to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// An optional text: cleaned and trimmed, blank as `None`.
fn optional(raw: Option<&str>) -> Option<String> {
    raw.map(clean)
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// JSON text as a value (text that does not parse is kept as a JSON string); blank as `None`.
fn json(raw: Option<&str>) -> Option<Value> {
    let text = clean(raw?);
    if text.trim().is_empty() {
        return None;
    }
    match serde_json::from_str(&text) {
        Ok(value) => Some(without_nul(value)),
        Err(_) => Some(Value::String(text)),
    }
}

/// `value` without NUL characters in its strings and keys (an escaped `\u0000` parses into
/// one, and PostgreSQL's `jsonb` refuses it).
fn without_nul(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(clean(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nul).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (clean(&key), without_nul(value)))
                .collect(),
        ),
        other => other,
    }
}

fn int32(value: Option<i64>) -> Option<i32> {
    value.and_then(|value| i32::try_from(value).ok())
}

fn goal_type(raw: &str) -> Option<GoalType> {
    Some(match raw.trim() {
        "UltimateGoal" => GoalType::UltimateGoal,
        "LongTermGoal" => GoalType::LongTermGoal,
        "MidTermGoal" => GoalType::MidTermGoal,
        "ShortTermGoal" => GoalType::ShortTermGoal,
        "PracticeSession" => GoalType::PracticeSession,
        "ImmediateGoal" => GoalType::ImmediateGoal,
        "MicroGoal" => GoalType::MicroGoal,
        "NanoGoal" => GoalType::NanoGoal,
        _ => return None,
    })
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------

/// A row to write: the target model, its original id, whether a value was cleaned, whether
/// it is a session closed by the import, whether the target holds it already (imported
/// before: it is not inserted again, so no other unique index of the target is tried).
struct Planned<M> {
    model: M,
    original: String,
    cleaned: bool,
    closed: bool,
    exists: bool,
}

impl<M> Planned<M> {
    fn new(model: M, original: String, cleaned: bool) -> Self {
        Self {
            model,
            original,
            cleaned,
            closed: false,
            exists: false,
        }
    }
}

/// Orders rows by creation, then original id (the order names are deduplicated in).
fn by_creation<M>(rows: &mut [Planned<M>], created: impl Fn(&M) -> DateTime<Utc>) {
    rows.sort_by(|a, b| (created(&a.model), &a.original).cmp(&(created(&b.model), &b.original)));
}

/// Where an imported row landed: its id, its root, its (effective) deletion.
#[derive(Clone, Copy, Debug)]
struct Placed {
    id: Uuid,
    root: Uuid,
    deleted: Option<DateTime<Utc>>,
    /// A practice session (goals only).
    session: bool,
}

/// The imported goals, by original id, and the roots' deletions.
#[derive(Default)]
struct Goals {
    placed: HashMap<String, Placed>,
    roots: HashMap<Uuid, Option<DateTime<Utc>>>,
}

impl Goals {
    /// The true root of the goal `original` names (as a `root_id` of the file), with the
    /// root's deletion.
    fn root_of(&self, original: &str) -> Option<(Uuid, Option<DateTime<Utc>>)> {
        let placed = self.placed.get(original)?;
        Some((placed.root, self.roots.get(&placed.root).copied().flatten()))
    }
}

/// Everything to write.
struct Plan {
    goals: Vec<Planned<goals::Model>>,
    links: Vec<practice_session_goals::Model>,
    groups: Vec<Planned<activity_groups::Model>>,
    definitions: Vec<Planned<activity_definitions::Model>>,
    metrics: Vec<Planned<metric_definitions::Model>>,
    splits: Vec<Planned<split_definitions::Model>>,
    templates: Vec<Planned<session_templates::Model>>,
    instances: Vec<Planned<activity_instances::Model>>,
    values: Vec<Planned<metric_values::Model>>,
    /// The imported roots' ids.
    roots: Vec<Uuid>,
    /// Per session id, the latest `time_stop` of its instances.
    latest_stop: HashMap<Uuid, DateTime<Utc>>,
}

fn plan(ctx: &Ctx, tables: &mut HashMap<&'static str, Vec<Row>>, report: &mut Report) -> Plan {
    let mut take = |table: &str| tables.remove(table).unwrap_or_default();
    let (goal_rows, link_rows) = (take(GOALS), take(LINKS));
    let (group_rows, definition_rows) = (take(GROUPS), take(DEFINITIONS));
    let (metric_rows, split_rows) = (take(METRICS), take(SPLITS));
    let (template_rows, instance_rows, value_rows) =
        (take(TEMPLATES), take(INSTANCES), take(VALUES));

    let (mut goals, links, placed, goal_templates) = plan_goals(ctx, goal_rows, link_rows, report);
    let (groups, placed_groups) = plan_groups(ctx, group_rows, &placed, report);
    let (definitions, placed_definitions) =
        plan_definitions(ctx, definition_rows, &placed, &placed_groups, report);
    let (metrics, placed_metrics) = plan_metrics(ctx, metric_rows, &placed_definitions, report);
    let (splits, placed_splits) = plan_splits(ctx, split_rows, &placed_definitions, report);
    let (templates, placed_templates) = plan_templates(ctx, template_rows, &placed, report);
    for goal in &mut goals {
        if let Some(template) = goal_templates.get(&goal.original) {
            goal.model.template_id = placed_templates.get(template).map(|placed| placed.id);
            if goal.model.template_id.is_none() {
                goal.cleaned = true;
            }
        }
    }
    let (instances, placed_instances, latest_stop) =
        plan_instances(ctx, instance_rows, &placed, &placed_definitions, report);
    let values = plan_values(
        ctx,
        value_rows,
        &placed_instances,
        &placed_metrics,
        &placed_splits,
        report,
    );
    let mut roots: Vec<Uuid> = placed.roots.keys().copied().collect();
    roots.sort_unstable();
    Plan {
        goals,
        links,
        groups,
        definitions,
        metrics,
        splits,
        templates,
        instances,
        values,
        roots,
        latest_stop,
    }
}

/// A goal of the file, parsed (its `parent_id`, `root_id` and `template_id` set later).
struct SourceGoal {
    kind: GoalType,
    parent: Option<String>,
    template: Option<String>,
    model: goals::Model,
    cleaned: bool,
}

fn parse_goal(ctx: &Ctx, row: &Row) -> Option<(String, SourceGoal)> {
    let original = row.id("id")?;
    let kind = row.text("type").and_then(goal_type)?;
    let [deadline, deleted_at, session_start, session_end] = ctx.times(
        row,
        ["deadline", "deleted_at", "session_start", "session_end"],
    )?;
    let created_at = ctx.created(row);
    let (deadline, cleaned) = match deadline {
        Some(deadline) if deadline < created_at => (None, true),
        deadline => (deadline, false),
    };
    let model = goals::Model {
        id: ctx.id(GOALS, &original),
        user_id: ctx.user,
        goal_type: kind,
        name: name_of(row.text("name")),
        description: optional(row.text("description")),
        deadline,
        completed: row.flag("completed", false),
        created_at,
        updated_at: ctx.updated(row, created_at),
        parent_id: None,
        root_id: Uuid::nil(),
        duration_minutes: int32(row.int("duration_minutes")),
        session_start,
        session_end,
        total_duration_seconds: int32(row.int("total_duration_seconds")),
        template_id: None,
        attributes: json(row.text("attributes")),
        session_data: json(row.text("session_data")),
        targets: json(row.text("targets")),
        deleted_at,
        sort_order: int32(row.int("sort_order")).unwrap_or(0),
        last_paused_at: None,
        total_paused_seconds: 0,
        delete_batch_id: None,
    };
    Some((
        original,
        SourceGoal {
            kind,
            parent: row.id("parent_id"),
            template: row.id("template_id"),
            model,
            cleaned,
        },
    ))
}

/// The root (original id) of the goal `start` and its distance from it, walking
/// `parent_id`. A practice session on the way hands over to its root in `sessions` (when
/// given; without it, a session makes the walk fail). `None` for a missing parent, a cycle,
/// more than [`MAX_DEPTH`] steps, or a session without a root.
fn walk<'a>(
    goals: &'a BTreeMap<String, SourceGoal>,
    sessions: Option<&BTreeMap<String, String>>,
    start: &'a str,
) -> Option<(String, usize)> {
    let mut current = start;
    let mut seen = HashSet::new();
    for depth in 0..=MAX_DEPTH {
        let goal = goals.get(current)?;
        if !seen.insert(current) {
            return None;
        }
        if goal.kind == GoalType::PracticeSession {
            return sessions?.get(current).map(|root| (root.clone(), depth));
        }
        match goal.parent.as_deref() {
            None => return Some((current.to_owned(), depth)),
            Some(parent) => current = parent,
        }
    }
    None
}

type GoalPlan = (
    Vec<Planned<goals::Model>>,
    Vec<practice_session_goals::Model>,
    Goals,
    HashMap<String, String>,
);

/// The goals (parents before children) and session links to write, where each goal landed,
/// and the template (original id) of each goal that names one.
fn plan_goals(ctx: &Ctx, rows: Vec<Row>, link_rows: Vec<Row>, report: &mut Report) -> GoalPlan {
    let mut parsed: BTreeMap<String, SourceGoal> = BTreeMap::new();
    for row in rows {
        match parse_goal(ctx, &row) {
            Some((original, goal)) if !parsed.contains_key(&original) => {
                parsed.insert(original, goal);
            }
            _ => report.skip(GOALS),
        }
    }

    // The goals each session is linked to: its link rows, and an old-style parent.
    let mut file_links = Vec::with_capacity(link_rows.len());
    for row in link_rows {
        match (row.id("practice_session_id"), row.id("short_term_goal_id")) {
            (Some(session), Some(goal)) => file_links.push((session, goal)),
            _ => report.skip(LINKS),
        }
    }
    let mut candidates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (session, goal) in &file_links {
        candidates
            .entry(session.clone())
            .or_default()
            .insert(goal.clone());
    }
    for (original, goal) in &parsed {
        if goal.kind == GoalType::PracticeSession
            && let Some(parent) = &goal.parent
            && parsed
                .get(parent)
                .is_some_and(|parent| parent.kind == GoalType::ShortTermGoal)
        {
            candidates
                .entry(original.clone())
                .or_default()
                .insert(parent.clone());
        }
    }

    // A session's root: the one root of its linked goals.
    let mut session_roots: BTreeMap<String, String> = BTreeMap::new();
    let mut session_goals: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (session, linked) in &candidates {
        if !parsed
            .get(session)
            .is_some_and(|goal| goal.kind == GoalType::PracticeSession)
        {
            continue;
        }
        let mut roots = BTreeSet::new();
        let mut valid = BTreeSet::new();
        for goal in linked {
            if let Some((root, _)) = walk(&parsed, None, goal) {
                roots.insert(root);
                valid.insert(goal.clone());
            }
        }
        if roots.len() == 1
            && let Some(root) = roots.pop_first()
        {
            session_roots.insert(session.clone(), root);
            session_goals.insert(session.clone(), valid);
        }
    }

    // Every goal's root and depth; parents first (roots, then sessions, then deeper goals).
    struct Entry {
        original: String,
        root: String,
        depth: usize,
        session: bool,
        created: DateTime<Utc>,
    }
    let mut entries = Vec::with_capacity(parsed.len());
    for (original, goal) in &parsed {
        let session = goal.kind == GoalType::PracticeSession;
        let found = if session {
            session_roots.get(original).map(|root| (root.clone(), 0))
        } else {
            walk(&parsed, Some(&session_roots), original)
        };
        match found {
            Some((root, depth)) => entries.push(Entry {
                original: original.clone(),
                root,
                depth,
                session,
                created: goal.model.created_at,
            }),
            None => report.skip(GOALS),
        }
    }
    entries.sort_by(|a, b| {
        (a.depth, a.session, a.created, &a.original).cmp(&(
            b.depth,
            b.session,
            b.created,
            &b.original,
        ))
    });

    let mut goals = Goals::default();
    let mut planned = Vec::with_capacity(entries.len());
    let mut templates = HashMap::new();
    for entry in entries {
        let Some(source) = parsed.remove(&entry.original) else {
            continue;
        };
        let root = ctx.id(GOALS, &entry.root);
        let inherited = if entry.session {
            goals.roots.get(&root).copied().flatten()
        } else {
            source
                .parent
                .as_ref()
                .and_then(|parent| goals.placed.get(parent))
                .and_then(|parent| parent.deleted)
        };
        let mut model = source.model;
        model.root_id = root;
        model.parent_id = if entry.session {
            None
        } else {
            source.parent.as_deref().map(|parent| ctx.id(GOALS, parent))
        };
        model.deleted_at = model.deleted_at.or(inherited);
        if model.id == root {
            goals.roots.insert(root, model.deleted_at);
        }
        goals.placed.insert(
            entry.original.clone(),
            Placed {
                id: model.id,
                root,
                deleted: model.deleted_at,
                session: entry.session,
            },
        );
        if let Some(template) = source.template {
            templates.insert(entry.original.clone(), template);
        }
        let cleaned = source.cleaned || (entry.session && source.parent.is_some());
        planned.push(Planned::new(model, entry.original, cleaned));
    }

    let mut links = BTreeSet::new();
    for (session, linked) in &session_goals {
        if !goals.placed.contains_key(session) {
            continue;
        }
        for goal in linked {
            if goals.placed.contains_key(goal) {
                links.insert((ctx.id(GOALS, session), ctx.id(GOALS, goal)));
            }
        }
    }
    for (session, goal) in &file_links {
        if !session_goals
            .get(session)
            .is_some_and(|linked| linked.contains(goal))
        {
            report.skip(LINKS);
        }
    }
    let links = links
        .into_iter()
        .map(
            |(practice_session_id, short_term_goal_id)| practice_session_goals::Model {
                practice_session_id,
                short_term_goal_id,
            },
        )
        .collect();
    (planned, links, goals, templates)
}

fn plan_groups(
    ctx: &Ctx,
    rows: Vec<Row>,
    goals: &Goals,
    report: &mut Report,
) -> (
    Vec<Planned<activity_groups::Model>>,
    HashMap<String, Placed>,
) {
    let mut planned = Vec::with_capacity(rows.len());
    let mut placed = HashMap::new();
    for row in rows {
        let (Some(original), Some((root, root_deleted)), Some([deleted_at])) = (
            row.id("id"),
            row.id("root_id").and_then(|root| goals.root_of(&root)),
            ctx.times(&row, ["deleted_at"]),
        ) else {
            report.skip(GROUPS);
            continue;
        };
        if placed.contains_key(&original) {
            report.skip(GROUPS);
            continue;
        }
        let created_at = ctx.created(&row);
        let model = activity_groups::Model {
            id: ctx.id(GROUPS, &original),
            root_id: root,
            name: name_of(row.text("name")),
            description: optional(row.text("description")),
            created_at,
            sort_order: int32(row.int("sort_order")).unwrap_or(0),
            deleted_at: deleted_at.or(root_deleted),
            updated_at: ctx.updated(&row, created_at),
            delete_batch_id: None,
        };
        placed.insert(
            original.clone(),
            Placed {
                id: model.id,
                root,
                deleted: model.deleted_at,
                session: false,
            },
        );
        planned.push(Planned::new(model, original, false));
    }
    by_creation(&mut planned, |model| model.created_at);
    (planned, placed)
}

fn plan_definitions(
    ctx: &Ctx,
    rows: Vec<Row>,
    goals: &Goals,
    groups: &HashMap<String, Placed>,
    report: &mut Report,
) -> (
    Vec<Planned<activity_definitions::Model>>,
    HashMap<String, Placed>,
) {
    let mut planned = Vec::with_capacity(rows.len());
    let mut placed = HashMap::new();
    for row in rows {
        let (Some(original), Some((root, root_deleted)), Some([deleted_at])) = (
            row.id("id"),
            row.id("root_id").and_then(|root| goals.root_of(&root)),
            ctx.times(&row, ["deleted_at"]),
        ) else {
            report.skip(DEFINITIONS);
            continue;
        };
        if placed.contains_key(&original) {
            report.skip(DEFINITIONS);
            continue;
        }
        let named_group = row.id("group_id");
        let group_id = named_group
            .as_ref()
            .and_then(|group| groups.get(group))
            .filter(|group| group.root == root)
            .map(|group| group.id);
        let cleaned = named_group.is_some() && group_id.is_none();
        let created_at = ctx.created(&row);
        let model = activity_definitions::Model {
            id: ctx.id(DEFINITIONS, &original),
            root_id: root,
            name: name_of(row.text("name")),
            description: optional(row.text("description")),
            created_at,
            has_sets: row.flag("has_sets", false),
            has_metrics: row.flag("has_metrics", true),
            metrics_multiplicative: row.flag("metrics_multiplicative", false),
            has_splits: row.flag("has_splits", false),
            group_id,
            deleted_at: deleted_at.or(root_deleted),
            updated_at: ctx.updated(&row, created_at),
            delete_batch_id: None,
        };
        placed.insert(
            original.clone(),
            Placed {
                id: model.id,
                root,
                deleted: model.deleted_at,
                session: false,
            },
        );
        planned.push(Planned::new(model, original, cleaned));
    }
    by_creation(&mut planned, |model| model.created_at);
    (planned, placed)
}

fn plan_metrics(
    ctx: &Ctx,
    rows: Vec<Row>,
    definitions: &HashMap<String, Placed>,
    report: &mut Report,
) -> (
    Vec<Planned<metric_definitions::Model>>,
    HashMap<String, Placed>,
) {
    plan_under_activity(ctx, rows, definitions, METRICS, report, |row, base| {
        metric_definitions::Model {
            id: base.id,
            activity_id: base.activity,
            name: name_of(row.text("name")),
            unit: clean(row.text("unit").unwrap_or_default())
                .trim()
                .to_owned(),
            created_at: base.created_at,
            deleted_at: base.deleted_at,
            is_active: row.flag("is_active", true),
            is_top_set_metric: row.flag("is_top_set_metric", false),
            is_multiplicative: row.flag("is_multiplicative", true),
            root_id: base.root,
            updated_at: base.updated_at,
            sort_order: int32(row.int("sort_order")).unwrap_or(0),
            delete_batch_id: None,
        }
    })
}

fn plan_splits(
    ctx: &Ctx,
    rows: Vec<Row>,
    definitions: &HashMap<String, Placed>,
    report: &mut Report,
) -> (
    Vec<Planned<split_definitions::Model>>,
    HashMap<String, Placed>,
) {
    plan_under_activity(ctx, rows, definitions, SPLITS, report, |row, base| {
        split_definitions::Model {
            id: base.id,
            activity_id: base.activity,
            name: name_of(row.text("name")),
            order: int32(row.int("order")).unwrap_or(0),
            created_at: base.created_at,
            root_id: base.root,
            deleted_at: base.deleted_at,
            updated_at: base.updated_at,
            delete_batch_id: None,
        }
    })
}

/// What a metric or split definition takes from its place: its id, its activity and root,
/// its times and its (inherited) deletion.
struct UnderActivity {
    id: Uuid,
    activity: Uuid,
    root: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

/// Plans the rows of `table` (metric or split definitions) under the planned activity
/// `definitions`: a row without an id, a placed activity or a readable deletion time, or a
/// second row of one id, is skipped (counted); `build` makes the model.
fn plan_under_activity<M>(
    ctx: &Ctx,
    rows: Vec<Row>,
    definitions: &HashMap<String, Placed>,
    table: &'static str,
    report: &mut Report,
    build: impl Fn(&Row, &UnderActivity) -> M,
) -> (Vec<Planned<M>>, HashMap<String, Placed>) {
    let mut planned = Vec::with_capacity(rows.len());
    let mut placed = HashMap::new();
    for row in rows {
        let (Some(original), Some(activity), Some([deleted_at])) = (
            row.id("id"),
            row.id("activity_id")
                .and_then(|activity| definitions.get(&activity).copied()),
            ctx.times(&row, ["deleted_at"]),
        ) else {
            report.skip(table);
            continue;
        };
        if placed.contains_key(&original) {
            report.skip(table);
            continue;
        }
        let created_at = ctx.created(&row);
        let base = UnderActivity {
            id: ctx.id(table, &original),
            activity: activity.id,
            root: activity.root,
            created_at,
            updated_at: ctx.updated(&row, created_at),
            deleted_at: deleted_at.or(activity.deleted),
        };
        placed.insert(
            original.clone(),
            Placed {
                id: base.id,
                root: activity.root,
                deleted: base.deleted_at,
                session: false,
            },
        );
        planned.push((
            base.created_at,
            Planned::new(build(&row, &base), original, false),
        ));
    }
    planned.sort_by(|(a, x), (b, y)| (a, &x.original).cmp(&(b, &y.original)));
    (planned.into_iter().map(|(_, row)| row).collect(), placed)
}

fn plan_templates(
    ctx: &Ctx,
    rows: Vec<Row>,
    goals: &Goals,
    report: &mut Report,
) -> (
    Vec<Planned<session_templates::Model>>,
    HashMap<String, Placed>,
) {
    let mut planned = Vec::with_capacity(rows.len());
    let mut placed = HashMap::new();
    for row in rows {
        let (Some(original), Some((root, root_deleted)), Some([deleted_at])) = (
            row.id("id"),
            row.id("root_id").and_then(|root| goals.root_of(&root)),
            ctx.times(&row, ["deleted_at"]),
        ) else {
            report.skip(TEMPLATES);
            continue;
        };
        if placed.contains_key(&original) {
            report.skip(TEMPLATES);
            continue;
        }
        let created_at = ctx.created(&row);
        let model = session_templates::Model {
            id: ctx.id(TEMPLATES, &original),
            name: name_of(row.text("name")),
            description: optional(row.text("description")),
            root_id: root,
            created_at,
            template_data: json(row.text("template_data"))
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
            deleted_at: deleted_at.or(root_deleted),
            updated_at: ctx.updated(&row, created_at),
            delete_batch_id: None,
        };
        placed.insert(
            original.clone(),
            Placed {
                id: model.id,
                root,
                deleted: model.deleted_at,
                session: false,
            },
        );
        planned.push(Planned::new(model, original, false));
    }
    by_creation(&mut planned, |model| model.created_at);
    (planned, placed)
}

type InstancePlan = (
    Vec<Planned<activity_instances::Model>>,
    HashMap<String, Placed>,
    HashMap<Uuid, DateTime<Utc>>,
);

fn plan_instances(
    ctx: &Ctx,
    rows: Vec<Row>,
    goals: &Goals,
    definitions: &HashMap<String, Placed>,
    report: &mut Report,
) -> InstancePlan {
    let mut planned = Vec::with_capacity(rows.len());
    let mut placed = HashMap::new();
    let mut latest_stop: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for row in rows {
        let session = row
            .id("practice_session_id")
            .and_then(|session| goals.placed.get(&session).copied())
            .filter(|session| session.session);
        let definition = row
            .id("activity_definition_id")
            .and_then(|definition| definitions.get(&definition).copied());
        let (
            Some(original),
            Some(session),
            Some(definition),
            Some([time_start, time_stop, deleted_at]),
        ) = (
            row.id("id"),
            session,
            definition,
            ctx.times(&row, ["time_start", "time_stop", "deleted_at"]),
        )
        else {
            report.skip(INSTANCES);
            continue;
        };
        if definition.root != session.root || placed.contains_key(&original) {
            report.skip(INSTANCES);
            continue;
        }
        let mut cleaned = false;
        let mut time_stop = time_stop;
        let mut duration = row.int("duration_seconds");
        if let (Some(start), Some(stop)) = (time_start, time_stop)
            && stop < start
        {
            time_stop = None;
            duration = None;
            cleaned = true;
        }
        let duration_seconds = match duration {
            None => None,
            Some(seconds) => {
                let fits = u32::try_from(seconds)
                    .ok()
                    .and_then(|seconds| i32::try_from(seconds).ok());
                if fits.is_none() {
                    cleaned = true;
                }
                fits
            }
        };
        if let Some(stop) = time_stop {
            latest_stop
                .entry(session.id)
                .and_modify(|latest| *latest = (*latest).max(stop))
                .or_insert(stop);
        }
        let created_at = ctx.created(&row);
        let model = activity_instances::Model {
            id: ctx.id(INSTANCES, &original),
            practice_session_id: session.id,
            activity_definition_id: definition.id,
            created_at,
            time_start,
            time_stop,
            duration_seconds,
            completed: row.flag("completed", false),
            notes: optional(row.text("notes")),
            data: json(row.text("data")),
            root_id: session.root,
            deleted_at: deleted_at.or(session.deleted),
            updated_at: ctx.updated(&row, created_at),
            sort_order: int32(row.int("sort_order")).unwrap_or(0),
            local_day: ctx.days.day_of(created_at),
            delete_batch_id: None,
        };
        placed.insert(
            original.clone(),
            Placed {
                id: model.id,
                root: session.root,
                deleted: model.deleted_at,
                session: false,
            },
        );
        planned.push(Planned::new(model, original, cleaned));
    }
    by_creation(&mut planned, |model| model.created_at);
    (planned, placed, latest_stop)
}

/// How recent a metric value is: `updated_at`, else `created_at` (as the file has them), then
/// the original id.
type Recency = (Option<DateTime<Utc>>, String);

fn plan_values(
    ctx: &Ctx,
    rows: Vec<Row>,
    instances: &HashMap<String, Placed>,
    metrics: &HashMap<String, Placed>,
    splits: &HashMap<String, Placed>,
    report: &mut Report,
) -> Vec<Planned<metric_values::Model>> {
    type Key = (Uuid, Uuid, Option<Uuid>);
    let mut best: HashMap<Key, (Recency, Planned<metric_values::Model>)> = HashMap::new();
    for row in rows {
        let instance = row
            .id("activity_instance_id")
            .and_then(|instance| instances.get(&instance).copied());
        let (Some(original), Some(instance), Some(value)) = (
            row.id("id"),
            instance,
            row.real("value").filter(|value| value.is_finite()),
        ) else {
            report.skip(VALUES);
            continue;
        };
        let Some(metric) = row
            .id("metric_definition_id")
            .and_then(|metric| metrics.get(&metric).copied())
            .filter(|metric| metric.root == instance.root)
        else {
            report.skip(VALUES);
            continue;
        };
        let split = match row.id("split_definition_id") {
            None => None,
            Some(split) => match splits
                .get(&split)
                .filter(|split| split.root == instance.root)
            {
                Some(split) => Some(split.id),
                None => {
                    report.skip(VALUES);
                    continue;
                }
            },
        };
        let created = ctx.time(row.text("created_at")).ok().flatten();
        let updated = ctx.time(row.text("updated_at")).ok().flatten();
        let created_at = created.unwrap_or(ctx.now);
        let model = metric_values::Model {
            id: ctx.id(VALUES, &original),
            activity_instance_id: instance.id,
            metric_definition_id: metric.id,
            split_definition_id: split,
            value,
            root_id: instance.root,
            updated_at: updated.unwrap_or(created_at),
            created_at,
        };
        let recency: Recency = (updated.or(created), original.clone());
        let key = (instance.id, metric.id, split);
        let candidate = (recency, Planned::new(model, original, false));
        match best.get(&key) {
            Some((kept, _)) if *kept >= candidate.0 => report.skip(VALUES),
            Some(_) => {
                report.skip(VALUES);
                best.insert(key, candidate);
            }
            None => {
                best.insert(key, candidate);
            }
        }
    }
    let mut planned: Vec<_> = best.into_values().map(|(_, row)| row).collect();
    by_creation(&mut planned, |model| model.created_at);
    planned
}

// ---------------------------------------------------------------------------------------
// Against the target
// ---------------------------------------------------------------------------------------

fn goals_under(roots: &[Uuid]) -> Select<goals::Entity> {
    goals::Entity::find().filter(goals::Column::RootId.is_in(roots.iter().copied()))
}

fn groups_under(roots: &[Uuid]) -> Select<activity_groups::Entity> {
    activity_groups::Entity::find()
        .filter(activity_groups::Column::RootId.is_in(roots.iter().copied()))
}

fn definitions_under(roots: &[Uuid]) -> Select<activity_definitions::Entity> {
    activity_definitions::Entity::find()
        .filter(activity_definitions::Column::RootId.is_in(roots.iter().copied()))
}

fn metrics_under(roots: &[Uuid]) -> Select<metric_definitions::Entity> {
    metric_definitions::Entity::find()
        .filter(metric_definitions::Column::RootId.is_in(roots.iter().copied()))
}

fn splits_under(roots: &[Uuid]) -> Select<split_definitions::Entity> {
    split_definitions::Entity::find()
        .filter(split_definitions::Column::RootId.is_in(roots.iter().copied()))
}

fn templates_under(roots: &[Uuid]) -> Select<session_templates::Entity> {
    session_templates::Entity::find()
        .filter(session_templates::Column::RootId.is_in(roots.iter().copied()))
}

fn values_under(roots: &[Uuid]) -> Select<metric_values::Entity> {
    metric_values::Entity::find().filter(metric_values::Column::RootId.is_in(roots.iter().copied()))
}

/// A live, unended practice session that has started.
fn open(goal: &goals::Model) -> bool {
    goal.goal_type == GoalType::PracticeSession
        && goal.deleted_at.is_none()
        && goal.session_start.is_some()
        && goal.session_end.is_none()
}

/// Leaves at most one session open: the user's `active` one if any (then the file's open
/// sessions other than it are closed), else the file's newest. A closed session ends at its
/// latest instance's stop, or at its start.
fn close_sessions(
    goals: &mut [Planned<goals::Model>],
    active: Option<Uuid>,
    latest_stop: &HashMap<Uuid, DateTime<Utc>>,
) {
    let keep = active.or_else(|| {
        goals
            .iter()
            .filter(|goal| open(&goal.model))
            .max_by(|a, b| {
                (a.model.session_start, a.model.created_at, &a.original).cmp(&(
                    b.model.session_start,
                    b.model.created_at,
                    &b.original,
                ))
            })
            .map(|goal| goal.model.id)
    });
    for goal in goals.iter_mut() {
        if !open(&goal.model) || Some(goal.model.id) == keep {
            continue;
        }
        if let Some(start) = goal.model.session_start {
            let end = latest_stop
                .get(&goal.model.id)
                .map_or(start, |stop| (*stop).max(start));
            goal.model.session_end = Some(end);
            if goal.model.total_duration_seconds.is_none() {
                let seconds = end.signed_duration_since(start).num_seconds().max(0);
                goal.model.total_duration_seconds = i32::try_from(seconds).ok();
            }
            goal.closed = true;
        }
    }
}

/// A row whose name is unique among the live rows of a scope.
trait Named {
    /// Its id, the scope its name is unique in, whether it is live.
    fn key(&self) -> (Uuid, Uuid, bool);
    fn name(&self) -> &str;
    fn name_mut(&mut self) -> &mut String;
}

macro_rules! named {
    ($table:ident, $scope:ident) => {
        impl Named for $table::Model {
            fn key(&self) -> (Uuid, Uuid, bool) {
                (self.id, self.$scope, self.deleted_at.is_none())
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn name_mut(&mut self) -> &mut String {
                &mut self.name
            }
        }
    };
}

named!(activity_groups, root_id);
named!(activity_definitions, root_id);
named!(session_templates, root_id);
named!(metric_definitions, activity_id);
named!(split_definitions, activity_id);

/// Marks the rows the target holds already (`existing`: its rows under the imported roots),
/// and renames the live rows to create whose name a live row of their scope has — in the
/// target or earlier in `rows` — to `name (2)`, `name (3)`, ….
fn dedupe<M: Named>(rows: &mut [Planned<M>], existing: &[M]) {
    let ids: HashSet<Uuid> = existing.iter().map(|model| model.key().0).collect();
    let mut taken: HashMap<Uuid, HashSet<String>> = HashMap::new();
    for model in existing {
        let (_, scope, live) = model.key();
        if live {
            taken
                .entry(scope)
                .or_default()
                .insert(model.name().to_owned());
        }
    }
    for row in rows.iter_mut() {
        let (id, scope, live) = row.model.key();
        row.exists = ids.contains(&id);
        if !live || row.exists {
            continue;
        }
        let names = taken.entry(scope).or_default();
        if names.contains(row.model.name()) {
            let base = row.model.name().to_owned();
            let mut n: u64 = 2;
            let mut candidate = format!("{base} ({n})");
            while names.contains(&candidate) {
                n = n.saturating_add(1);
                candidate = format!("{base} ({n})");
            }
            *row.model.name_mut() = candidate;
            row.cleaned = true;
        }
        names.insert(row.model.name().to_owned());
    }
}

/// Marks the values the target holds already, and drops those whose (instance, metric,
/// split) it holds under another id (recorded after an earlier import).
fn drop_recorded_values(
    values: &mut Vec<Planned<metric_values::Model>>,
    recorded: &[metric_values::Model],
    report: &mut Report,
) {
    let taken: HashMap<(Uuid, Uuid, Option<Uuid>), Uuid> = recorded
        .iter()
        .map(|value| {
            (
                (
                    value.activity_instance_id,
                    value.metric_definition_id,
                    value.split_definition_id,
                ),
                value.id,
            )
        })
        .collect();
    values.retain_mut(|value| {
        let key = (
            value.model.activity_instance_id,
            value.model.metric_definition_id,
            value.model.split_definition_id,
        );
        match taken.get(&key) {
            None => true,
            Some(id) if *id == value.model.id => {
                value.exists = true;
                true
            }
            Some(_) => {
                report.skip(VALUES);
                false
            }
        }
    });
}

/// Writes the plan, table by table, counting what each insert did. A row the target holds
/// already is counted as existing without an insert.
async fn write<C: ConnectionTrait>(
    db: &C,
    plan: Plan,
    report: &mut Report,
    progress: &mut dyn FnMut(&'static str, u64, u64),
) -> Result<()> {
    let closed: Vec<bool> = plan.goals.iter().map(|row| row.closed).collect();
    let written =
        insert_planned::<_, goals::ActiveModel>(db, GOALS, plan.goals, report, progress).await?;
    report.closed += count(
        written
            .iter()
            .zip(closed)
            .filter(|(affected, closed)| **affected > 0 && *closed)
            .count(),
    );

    let total = count(plan.links.len());
    progress(LINKS, 0, total);
    for (done, link) in plan.links.into_iter().enumerate() {
        let affected =
            practice_session_goals::Entity::insert(practice_session_goals::ActiveModel::from(link))
                .on_conflict(
                    OnConflict::columns([
                        practice_session_goals::Column::PracticeSessionId,
                        practice_session_goals::Column::ShortTermGoalId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        report.tally(LINKS, affected, false);
        progress(LINKS, count(done + 1), total);
    }

    insert_planned::<_, activity_groups::ActiveModel>(db, GROUPS, plan.groups, report, progress)
        .await?;

    insert_planned::<_, activity_definitions::ActiveModel>(
        db,
        DEFINITIONS,
        plan.definitions,
        report,
        progress,
    )
    .await?;

    insert_planned::<_, metric_definitions::ActiveModel>(
        db,
        METRICS,
        plan.metrics,
        report,
        progress,
    )
    .await?;

    insert_planned::<_, split_definitions::ActiveModel>(db, SPLITS, plan.splits, report, progress)
        .await?;

    insert_planned::<_, session_templates::ActiveModel>(
        db,
        TEMPLATES,
        plan.templates,
        report,
        progress,
    )
    .await?;

    insert_planned::<_, activity_instances::ActiveModel>(
        db,
        INSTANCES,
        plan.instances,
        report,
        progress,
    )
    .await?;

    insert_planned::<_, metric_values::ActiveModel>(db, VALUES, plan.values, report, progress)
        .await?;
    Ok(())
}

/// Inserts the planned rows of `table` that the target does not hold yet (`ON CONFLICT` on
/// the primary key: a row imported before is left as it is), counting them in `report` and
/// calling `progress` as it goes; returns how many rows each insert wrote (0 or 1).
async fn insert_planned<C, A>(
    db: &C,
    table: &'static str,
    rows: Vec<Planned<<A::Entity as EntityTrait>::Model>>,
    report: &mut Report,
    progress: &mut dyn FnMut(&'static str, u64, u64),
) -> Result<Vec<u64>>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + From<<A::Entity as EntityTrait>::Model> + Send,
{
    let total = count(rows.len());
    progress(table, 0, total);
    let mut written = Vec::with_capacity(rows.len());
    for (done, row) in rows.into_iter().enumerate() {
        let affected = if row.exists {
            0
        } else {
            let key = <<A::Entity as EntityTrait>::PrimaryKey as Iterable>::iter()
                .map(PrimaryKeyToColumn::into_column);
            <A::Entity as EntityTrait>::insert(A::from(row.model))
                .on_conflict(OnConflict::columns(key).do_nothing().to_owned())
                .exec_without_returning(db)
                .await?
        };
        report.tally(table, affected, row.cleaned);
        progress(table, count(done + 1), total);
        written.push(affected);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use chrono_tz::Europe;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn naive_times_are_local_in_the_users_zone() {
        let berlin = Europe::Berlin;
        assert_eq!(
            instant("2025-12-31 18:04:05.123456", berlin),
            Some(utc("2025-12-31T17:04:05.123456Z"))
        );
        assert_eq!(
            instant("2025-12-31T18:04:05", berlin),
            Some(utc("2025-12-31T17:04:05Z"))
        );
        assert_eq!(
            instant("2025-06-01 10:00", berlin),
            Some(utc("2025-06-01T08:00:00Z"))
        );
        assert_eq!(
            instant("2025-06-01", berlin),
            Some(utc("2025-05-31T22:00:00Z"))
        );
    }

    #[test]
    fn a_z_or_an_offset_is_taken_as_written() {
        let berlin = Europe::Berlin;
        assert_eq!(
            instant("2025-12-31T18:04:05.5Z", berlin),
            Some(utc("2025-12-31T18:04:05.5Z"))
        );
        assert_eq!(
            instant("2025-12-31 18:04:05Z", berlin),
            Some(utc("2025-12-31T18:04:05Z"))
        );
        assert_eq!(
            instant("2025-12-31T18:04:05+03:00", berlin),
            Some(utc("2025-12-31T15:04:05Z"))
        );
    }

    #[test]
    fn gaps_and_overlaps_resolve_as_local_days_do() {
        let berlin = Europe::Berlin;
        // 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        assert_eq!(
            instant("2026-03-29 02:30:00", berlin),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // 25 October 2026: 02:30 happens twice; the earlier is CEST (00:30 UTC).
        assert_eq!(
            instant("2026-10-25 02:30:00", berlin),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn nonsense_does_not_parse() {
        for text in ["yesterday", "2025-13-01 10:00:00", "31/12/2025", "12:00"] {
            assert_eq!(instant(text, Europe::Berlin), None, "{text}");
        }
    }

    #[test]
    fn ids_depend_on_user_table_and_original() {
        let a = imported_id(UserId(1), GOALS, "x");
        assert_eq!(a, imported_id(UserId(1), GOALS, "x"));
        assert_ne!(a, imported_id(UserId(2), GOALS, "x"));
        assert_ne!(a, imported_id(UserId(1), GROUPS, "x"));
        assert_eq!(a.get_version_num(), 5);
    }
}
