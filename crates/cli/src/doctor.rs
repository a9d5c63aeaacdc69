//! `lifeos doctor`: checks a live database and reports every finding; exit 1 if there is any.
//!
//! The checks, in order:
//! 1. **migrations** — every migration of this binary is recorded as applied; none recorded
//!    is unknown to it (a newer binary's), and the applied ones are a prefix of the chain.
//! 2. **schema** — the live schema is exactly the one expected at its revision (tables,
//!    columns with types, nullability and defaults, keys, foreign keys with their actions,
//!    indexes with their predicates, checks, triggers, PostgreSQL enums, functions and
//!    extensions, as `lifeos-schema` reads them): at head the checked-in head schema; at an
//!    older revision one the chain builds in a scratch database (SQLite in memory; on
//!    PostgreSQL a scratch database — without CREATEDB doctor says it can check only at head).
//! 3. **foreign keys** — every reference resolves: `PRAGMA foreign_key_check` on SQLite; on
//!    PostgreSQL, no constraint left `NOT VALID` and no row whose key matches nothing (rows
//!    written with triggers disabled, say).
//! 4. **practice root_id** — every practice row's `root_id` is its true root: a parentless
//!    goal other than a session is its own root; a parentless session's is the root goal it is
//!    filed under — the root of its short-term goals — or, with none, itself (as the chain's
//!    backfill left orphan sessions; a session it rooted in itself although it has
//!    short-term goals is a finding); every other goal's is its parent's; instances carry
//!    their session's, metric values their instance's, metric and split definitions their
//!    activity's; definitions, groups and templates name a root goal.
//! 5. **seed names** — every table and index the specification names exists (at head).
//!
//! Doctor only reads (and, for an older revision, builds a scratch database elsewhere); it
//! takes no migration lock.

#![allow(clippy::print_stdout)] // standard output is this command's interface

use std::collections::BTreeMap;

use lifeos_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

use crate::migrate::{Outcome, read_records, table_exists};

/// How a check came out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Failed,
    Skipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "FAIL",
            Self::Skipped => "skipped",
        }
    }
}

/// One check: what it found (each finding one line).
pub(crate) struct Check {
    name: &'static str,
    status: Status,
    summary: String,
    /// What the check found, one line each (empty when it passed).
    pub(crate) findings: Vec<String>,
}

impl Check {
    fn new(name: &'static str, summary: impl Into<String>, findings: Vec<String>) -> Self {
        Self {
            name,
            status: if findings.is_empty() {
                Status::Ok
            } else {
                Status::Failed
            },
            summary: summary.into(),
            findings,
        }
    }

    fn skipped(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Skipped,
            summary: why.into(),
            findings: Vec::new(),
        }
    }
}

/// Runs every check on `db` (reached at `url`) and prints the report — as JSON with `json`.
pub async fn doctor(db: &DatabaseConnection, url: &str, json: bool) -> Outcome {
    let backend = db.get_database_backend();
    let chain: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let recorded = read_records(db).await?;
    let (migrations, revision) = migrations(db, &chain, &recorded).await?;
    let at_head = migrations.status == Status::Ok;
    let live = lifeos_schema::snapshot(db)
        .await
        .map_err(|error| format!("reading the schema: {error}"))?;
    let mut checks = vec![migrations];
    checks.push(schema(db, url, &live, &chain, revision, at_head).await);
    // A check that cannot run is a failed check, reported with the others.
    let could_not = |name: &'static str, error: String| {
        Check::new(
            name,
            "could not be checked",
            vec![crate::backup::redact(&error, url)],
        )
    };
    checks.push(
        foreign_keys(db, &live)
            .await
            .unwrap_or_else(|error| could_not("foreign keys", error)),
    );
    checks.push(
        root_ids(db, &live)
            .await
            .unwrap_or_else(|error| could_not("practice root_id", error)),
    );
    checks.push(if at_head {
        seed_names(backend, &live)
    } else {
        Check::skipped("seed names", "checked only at head")
    });

    let failed = checks
        .iter()
        .filter(|check| check.status == Status::Failed)
        .count();
    if json {
        let report = json!({
            "backend": backend_name(backend),
            "ok": failed == 0,
            "checks": checks.iter().map(|check| json!({
                "check": check.name,
                "status": match check.status {
                    Status::Ok => "ok",
                    Status::Failed => "failed",
                    Status::Skipped => "skipped",
                },
                "summary": check.summary,
                "findings": check.findings,
            })).collect::<Vec<_>>(),
        });
        println!("{report:#}");
    } else {
        println!("lifeos doctor: {} database", backend_name(backend));
        for check in &checks {
            println!(
                "{:<8}{}: {}",
                check.status.as_str(),
                check.name,
                check.summary
            );
            for finding in &check.findings {
                println!("          {finding}");
            }
        }
    }
    match failed {
        0 => Ok(()),
        count => Err(format!(
            "{count} of {} checks found problems (see above)",
            checks.len()
        )),
    }
}

fn backend_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "PostgreSQL",
        _ => "SQLite",
    }
}

/// The migrations check, and the position in the chain of the last applied migration when
/// the applied ones are a prefix of the chain (the revision whose schema is expected).
async fn migrations(
    db: &DatabaseConnection,
    chain: &[String],
    recorded: &BTreeMap<String, i64>,
) -> Result<(Check, Option<usize>), String> {
    let mut findings = Vec::new();
    if recorded.is_empty() {
        findings.push("no migration is recorded: this is not a LifeOS database yet".to_owned());
        if table_exists(db, "alembic_version").await? {
            findings.push(
                "it has an `alembic_version` table: take an original LifeOS database over \
                 with `lifeos adopt`"
                    .to_owned(),
            );
        }
        return Ok((Check::new("migrations", "none applied", findings), None));
    }
    let unknown: Vec<&String> = recorded
        .keys()
        .filter(|name| !chain.contains(name))
        .collect();
    for name in &unknown {
        findings.push(format!(
            "`{name}` is recorded as applied but unknown to this binary (a newer one?)"
        ));
    }
    let applied = chain
        .iter()
        .filter(|name| recorded.contains_key(*name))
        .count();
    let prefix = chain
        .iter()
        .take_while(|name| recorded.contains_key(*name))
        .count();
    for name in chain.iter().filter(|name| !recorded.contains_key(*name)) {
        findings.push(format!("`{name}` is pending"));
    }
    if prefix < applied {
        findings
            .push("migrations are recorded after a pending one: the record has gaps".to_owned());
    }
    let revision = (prefix == applied && unknown.is_empty() && applied > 0).then(|| applied - 1);
    let summary = match revision {
        Some(at) if at + 1 == chain.len() => format!("{applied} applied, at head ({})", chain[at]),
        Some(at) => format!("{applied} of {} applied, at {}", chain.len(), chain[at]),
        None => format!("{applied} of {} applied", chain.len()),
    };
    Ok((Check::new("migrations", summary, findings), revision))
}

/// The schema check.
async fn schema(
    db: &DatabaseConnection,
    url: &str,
    live: &lifeos_schema::Schema,
    chain: &[String],
    revision: Option<usize>,
    at_head: bool,
) -> Check {
    const NAME: &str = "schema";
    let backend = db.get_database_backend();
    let title = lifeos_schema::head_title(backend);
    let faithful = crate::scratch::checked_in_applies(db)
        .await
        .unwrap_or(false);
    let (expected, against) = if at_head && faithful {
        match lifeos_schema::head(backend) {
            Some(text) => (text.to_owned(), "the checked-in head schema".to_owned()),
            None => return Check::skipped(NAME, "no head schema for this backend"),
        }
    } else if let Some(at) = revision {
        match crate::stamp::expected_schema(db, url, at).await {
            Ok(schema) => (
                schema.render(&title),
                if at_head {
                    "the head schema the chain builds (this server is not the PostgreSQL 15 \
                     the checked-in one is made on)"
                        .to_owned()
                } else {
                    format!("the schema the chain builds at {}", chain[at])
                },
            ),
            Err(crate::scratch::ScratchError::Failed(error)) => {
                return Check::new(
                    NAME,
                    "could not build the expected schema",
                    vec![crate::backup::redact(&error, url)],
                );
            }
            Err(crate::scratch::ScratchError::Unavailable(error)) => {
                return Check::skipped(
                    NAME,
                    format!(
                        "{}: {}",
                        if at_head {
                            "cannot check the schema: the checked-in one is made on \
                             PostgreSQL 15, and no scratch database could be made to build it \
                             on this server"
                        } else {
                            "can check the schema only at head here"
                        },
                        crate::backup::redact(&error, url)
                    ),
                );
            }
        }
    } else {
        return Check::skipped(NAME, "no revision to compare with (see migrations)");
    };
    let findings = lifeos_schema::diff_lines(&expected, &live.render(&title));
    let summary = if findings.is_empty() {
        format!("as {against}")
    } else {
        format!(
            "{} differences from {against} (`-` expected, `+` found)",
            findings.len()
        )
    };
    Check::new(NAME, summary, findings)
}

/// The foreign-key check.
pub(crate) async fn foreign_keys(
    db: &DatabaseConnection,
    live: &lifeos_schema::Schema,
) -> Result<Check, String> {
    let backend = db.get_database_backend();
    let mut findings = Vec::new();
    match backend {
        DbBackend::Postgres => {
            for row in query(
                db,
                "SELECT conrelid::regclass::text, conname FROM pg_constraint \
                 WHERE NOT convalidated AND connamespace = current_schema()::regnamespace \
                 ORDER BY 1, 2",
            )
            .await?
            {
                let table: String = get(&row, 0)?;
                let name: String = get(&row, 1)?;
                findings.push(format!(
                    "table {table}: constraint `{name}` is NOT VALID (existing rows were never checked)"
                ));
            }
            for (table, definition) in &live.tables {
                for key in &definition.foreign_keys {
                    let columns = |alias: &str, names: &[String]| -> Vec<String> {
                        names
                            .iter()
                            .map(|name| format!("{alias}.{}", quote(name)))
                            .collect()
                    };
                    let own = columns("c", &key.columns);
                    let theirs = columns("p", &key.foreign_columns);
                    let sql = format!(
                        "SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                        quote(table),
                        own.iter()
                            .map(|column| format!("{column} IS NOT NULL"))
                            .collect::<Vec<_>>()
                            .join(" AND "),
                        quote(&key.foreign_table),
                        own.iter()
                            .zip(&theirs)
                            .map(|(a, b)| format!("{b} = {a}"))
                            .collect::<Vec<_>>()
                            .join(" AND "),
                    );
                    let count: i64 = scalar(db, &sql).await?;
                    if count > 0 {
                        findings.push(format!(
                            "table `{table}`: {count} rows whose ({}) match no row of `{}`",
                            key.columns.join(", "),
                            key.foreign_table
                        ));
                    }
                }
            }
        }
        _ => {
            let mut violations: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
            for row in query(db, "PRAGMA foreign_key_check").await? {
                let table: String = get(&row, 0)?;
                let rowid: Option<i64> = get(&row, 1)?;
                let parent: String = get(&row, 2)?;
                violations
                    .entry((table, parent))
                    .or_default()
                    .push(rowid.unwrap_or_default());
            }
            for ((table, parent), rowids) in violations {
                let shown: Vec<String> = rowids.iter().take(5).map(i64::to_string).collect();
                findings.push(format!(
                    "table `{table}`: {} rows reference a missing `{parent}` row (rowid {}{})",
                    rowids.len(),
                    shown.join(", "),
                    if rowids.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    let summary = if findings.is_empty() {
        "every reference resolves".to_owned()
    } else {
        format!("{} problems", findings.len())
    };
    Ok(Check::new("foreign keys", summary, findings))
}

/// Goals with the root their `parent_id` chain leads to: a parentless goal anchors a tree —
/// a session keeps the root it is filed under, any other goal is its own root — and every
/// descendant takes its anchor's root (as `m20260101_000002` backfilled them). A goal in a
/// `parent_id` cycle is reached by no anchor.
const TREE: &str = "WITH RECURSIVE tree(id, root) AS (\
     SELECT id, CASE WHEN type = 'PracticeSession' THEN root_id ELSE id END FROM goals \
     WHERE parent_id IS NULL \
     UNION ALL SELECT g.id, t.root FROM goals g JOIN tree t ON g.parent_id = t.id) ";

/// `x.root_id` names a root goal (parentless, not a session, its own root).
const NAMES_A_ROOT: &str = "x.root_id IS NOT NULL AND EXISTS (SELECT 1 FROM goals r \
     WHERE r.id = x.root_id AND r.parent_id IS NULL AND r.type <> 'PracticeSession' \
     AND r.root_id = r.id)";

/// The root_id rules: the rows of a table (alias `x`) that break one, and the tables each
/// needs (all with a `root_id` column, except `practice_session_goals`).
const ROOT_RULES: [(&str, &str, &[&str]); 9] = [
    (
        "goals whose root_id is not the root their parent_id chain leads to",
        "FROM goals x LEFT JOIN tree t ON t.id = x.id \
         WHERE NOT (x.type = 'PracticeSession' AND x.parent_id IS NULL) \
         AND (t.root IS NULL OR x.root_id IS NULL OR x.root_id <> t.root)",
        &["goals"],
    ),
    (
        "practice sessions whose root_id is neither a root goal nor (with no short-term \
         goals) the session itself, or not the root of their short-term goals",
        "FROM goals x WHERE x.type = 'PracticeSession' AND x.parent_id IS NULL \
         AND (x.root_id IS NULL OR NOT (x.root_id = x.id OR (__ROOT__)) \
         OR EXISTS (SELECT 1 FROM practice_session_goals l \
         LEFT JOIN tree t ON t.id = l.short_term_goal_id \
         WHERE l.practice_session_id = x.id AND (t.root IS NULL OR t.root <> x.root_id)))",
        &["goals", "practice_session_goals"],
    ),
    (
        "activity instances whose root_id is not their session's",
        "FROM activity_instances x LEFT JOIN goals s ON s.id = x.practice_session_id \
         WHERE x.root_id IS NULL OR s.root_id IS NULL OR x.root_id <> s.root_id",
        &["activity_instances", "goals"],
    ),
    (
        "metric values whose root_id is not their activity instance's",
        "FROM metric_values x LEFT JOIN activity_instances i ON i.id = x.activity_instance_id \
         WHERE x.root_id IS NULL OR i.root_id IS NULL OR x.root_id <> i.root_id",
        &["metric_values", "activity_instances"],
    ),
    (
        "metric definitions whose root_id is not their activity's",
        "FROM metric_definitions x LEFT JOIN activity_definitions a ON a.id = x.activity_id \
         WHERE x.root_id IS NULL OR a.root_id IS NULL OR x.root_id <> a.root_id",
        &["metric_definitions", "activity_definitions"],
    ),
    (
        "split definitions whose root_id is not their activity's",
        "FROM split_definitions x LEFT JOIN activity_definitions a ON a.id = x.activity_id \
         WHERE x.root_id IS NULL OR a.root_id IS NULL OR x.root_id <> a.root_id",
        &["split_definitions", "activity_definitions"],
    ),
    (
        "activity definitions whose root_id is not a root goal or not their group's",
        "FROM activity_definitions x LEFT JOIN activity_groups g ON g.id = x.group_id \
         WHERE NOT (__ROOT__) OR (g.id IS NOT NULL AND g.root_id <> x.root_id)",
        &["activity_definitions", "activity_groups", "goals"],
    ),
    (
        "activity groups whose root_id is not a root goal",
        "FROM activity_groups x WHERE NOT (__ROOT__)",
        &["activity_groups", "goals"],
    ),
    (
        "session templates whose root_id is not a root goal",
        "FROM session_templates x WHERE NOT (__ROOT__)",
        &["session_templates", "goals"],
    ),
];

/// The practice tree's root_id check.
async fn root_ids(db: &DatabaseConnection, live: &lifeos_schema::Schema) -> Result<Check, String> {
    const NAME: &str = "practice root_id";
    let has_root = |table: &str| {
        live.tables.get(table).is_some_and(|definition| {
            table == "practice_session_goals" || definition.columns.contains_key("root_id")
        })
    };
    // Before `m20260101_000002` backfilled it, `goals.root_id` is nullable and mostly NULL.
    let backfilled = live
        .tables
        .get("goals")
        .and_then(|goals| goals.columns.get("root_id"))
        .is_some_and(|column| !column.nullable);
    if !backfilled {
        return Ok(Check::skipped(
            NAME,
            "no practice tables with a backfilled root_id at this revision",
        ));
    }
    let id = match db.get_database_backend() {
        DbBackend::Postgres => "CAST(x.id AS TEXT)",
        _ => "CASE WHEN typeof(x.id) = 'blob' THEN lower(hex(x.id)) ELSE CAST(x.id AS TEXT) END",
    };
    let mut findings = Vec::new();
    let mut checked = 0;
    for (what, rule, tables) in ROOT_RULES {
        if !tables.iter().all(|table| has_root(table)) {
            continue;
        }
        checked += 1;
        let rule = rule.replace("__ROOT__", NAMES_A_ROOT);
        let count: i64 = scalar(db, &format!("{TREE}SELECT count(*) {rule}")).await?;
        if count > 0 {
            let mut ids = Vec::new();
            for row in query(db, &format!("{TREE}SELECT {id} {rule} ORDER BY 1 LIMIT 5")).await? {
                ids.push(get::<String>(&row, 0)?);
            }
            findings.push(format!(
                "{count} {what} (id {}{})",
                ids.join(", "),
                if count > 5 { ", …" } else { "" }
            ));
        }
    }
    let summary = if findings.is_empty() {
        format!("every row's root_id is its true root ({checked} rules)")
    } else {
        format!("{} rules broken", findings.len())
    };
    Ok(Check::new(NAME, summary, findings))
}

/// The seed-names check.
fn seed_names(backend: DbBackend, live: &lifeos_schema::Schema) -> Check {
    let mut findings: Vec<String> = lifeos_schema::seeds::tables()
        .filter(|table| !live.tables.contains_key(*table))
        .map(|table| format!("table `{table}` is missing"))
        .collect();
    let indexes: Vec<&String> = live
        .tables
        .values()
        .flat_map(|table| table.indexes.keys())
        .collect();
    let wanted = lifeos_schema::seeds::indexes(backend);
    for index in &wanted {
        if !indexes.iter().any(|name| name == index) {
            findings.push(format!("index `{index}` is missing"));
        }
    }
    Check::new(
        "seed names",
        format!(
            "the {} tables and {} indexes the specification names",
            lifeos_schema::seeds::tables().count(),
            wanted.len()
        ),
        findings,
    )
}

/// `name` as a quoted identifier.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(crate) async fn query<C: ConnectionTrait>(
    db: &C,
    sql: &str,
) -> Result<Vec<sea_orm::QueryResult>, String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(|error| format!("{error} (in {sql})"))
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<i64, String> {
    let rows = query(db, sql).await?;
    rows.first().map_or(Ok(0), |row| get(row, 0))
}

pub(crate) fn get<T: sea_orm::TryGetable>(
    row: &sea_orm::QueryResult,
    index: usize,
) -> Result<T, String> {
    row.try_get_by_index(index)
        .map_err(|error| error.to_string())
}
