//! `lifeos adopt`: takes over a database the original LifeOS built (Alembic's bookkeeping,
//! at `20251221_auth_session_table` or any earlier revision of its chain) and migrates it to
//! head. In order, holding the migration lock:
//!
//! 1. **Recognise** the revision in `alembic_version` (exactly one known revision; a database
//!    of this chain, of another Alembic chain or of nothing is refused).
//! 2. **Verify** the live schema against what the original had at that revision — built in a
//!    scratch database by this chain's equivalent migrations without the Life Graph ones
//!    (`lifeos_migration::alembic`) — and report every difference. Missing or extra tables
//!    or columns, column types, nullability, primary keys, triggers, functions, enums and
//!    extensions *matter*: adoption refuses and changes nothing. The differences the original
//!    is known to have had are *tolerated* and brought in line: column defaults (the original
//!    used `now()` where this chain uses UTC on PostgreSQL, `serial` ids where it uses
//!    identity columns, `1`/`0` for booleans on SQLite), foreign keys and checks (the
//!    original created ten keys on PostgreSQL only, so its SQLite databases lack them),
//!    indexes (its SQLite `ux_calendar_event_user_external` is not partial; its PostgreSQL
//!    `uq_user_provider`, `uq_readmodel_state_model_version` and `uq_auth_session_session_id`
//!    are unique constraints rather than indexes).
//! 3. **Take over**, in one transaction: those repairs (SQLite rebuilds a table to add keys,
//!    defaults or checks — rows copied, none lost; a row whose new key would point nowhere
//!    fails the adoption), the Life Graph migrations (the original never had their tables;
//!    this chain places them after `core_initial`, and they touch only their own tables),
//!    the equivalent migrations recorded in `seaql_migrations`, `alembic_version` dropped.
//! 4. **Migrate to head** with the chain, then compare the schema with the checked-in head
//!    schema and print every table's row count before and after.
//!
//! Step 2 builds the original's schema in a scratch database (SQLite in memory; on PostgreSQL
//! a scratch database, which needs CREATEDB). Without one, a database at the last original
//! revision is checked against the checked-in `lifeos_schema::ORIGINAL_POSTGRES` (or
//! `_SQLITE`) instead and must match it exactly; one at an older revision is refused.
//!
//! `--backup FILE` first writes a backup, as `lifeos migrate up --backup` does.

#![allow(clippy::print_stdout)] // standard output is this command's interface

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use lifeos_migration::{Migrator, MigratorTrait, alembic};
use lifeos_schema::Schema;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use crate::doctor::{get, query, quote};
use crate::migrate::{Outcome, table_exists};

/// Adopts `db` (reached at `url`), backing it up to `backup` first if given.
pub async fn adopt(db: &DatabaseConnection, url: &str, backup: Option<&Path>) -> Outcome {
    crate::migrate::locked(db, || run(db, url, backup)).await
}

async fn run(db: &DatabaseConnection, url: &str, backup: Option<&Path>) -> Outcome {
    let backend = db.get_database_backend();
    let revision = recognise(db).await?;
    let (original, life_graph) = alembic::split_at(&revision)
        .ok_or_else(|| format!("`{revision}` is not a revision of the original LifeOS"))?;
    let chain = alembic::chain();
    let last = original.last().cloned().unwrap_or_default();
    let end = chain
        .iter()
        .position(|name| *name == last)
        .ok_or_else(|| format!("`{last}` is not in this chain"))?;
    println!("original LifeOS database at revision {revision} (this chain's {last})");
    match server_time_zone(db).await {
        Ok(Some(zone))
            if ![
                "utc",
                "etc/utc",
                "gmt",
                "etc/gmt",
                "uct",
                "universal",
                "zulu",
            ]
            .contains(&zone.to_ascii_lowercase().as_str()) =>
        {
            println!(
                "warning: this server's time zone is {zone}. The original's `now()` defaults \
                 wrote local time into its `timestamp without time zone` columns; this chain \
                 writes UTC. Rows the original wrote keep their local times — convert them if \
                 that matters (see the README)."
            );
        }
        Err(()) => println!(
            "note: could not tell the server's time zone (this role may not read the server \
             configuration). If `SHOW timezone` in psql is not UTC, rows the original wrote \
             hold local times, while this chain writes UTC (see the README)."
        ),
        Ok(_) => {}
    }

    let mut live = lifeos_schema::snapshot(db)
        .await
        .map_err(|error| format!("reading the schema: {error}"))?;
    live.tables.remove("alembic_version");
    let before = row_counts(db, live.tables.keys()).await?;

    let wanted = revision.clone();
    let built = crate::scratch::with_scratch(db, url, |scratch| async move {
        alembic::build_original(&scratch, &wanted)
            .await
            .map_err(|error| format!("building the original schema: {error}"))?;
        let schema = lifeos_schema::snapshot(&scratch)
            .await
            .map_err(|error| format!("reading the original schema: {error}"))?;
        Ok((schema, Ddl::read(&scratch).await?))
    })
    .await;
    let (plan, expected_ddl) = match built {
        Ok((expected, expected_ddl)) => {
            let live_ddl = Ddl::read(db).await?;
            let plan = Plan::compare(
                &expected,
                &live,
                &expected_ddl,
                &live_ddl,
                backend == DbBackend::Sqlite,
            );
            if plan.blocking.is_empty() && plan.tolerated.is_empty() {
                println!("schema: as the original had it at {revision}");
            }
            (plan, expected_ddl)
        }
        Err(crate::scratch::ScratchError::Unavailable(error))
            if revision == lifeos_schema::ORIGINAL_REVISION
                && crate::scratch::checked_in_applies(db).await? =>
        {
            checked_in(backend, &live, &error)?;
            (Plan::default(), Ddl::default())
        }
        Err(error) => return Err(format!("{error}; nothing was changed")),
    };

    if !plan.blocking.is_empty() {
        return Err(format!(
            "the schema is not what the original LifeOS had at {revision}, so nothing was \
             changed ({} differences that matter{}):\n  {}",
            plan.blocking.len(),
            if plan.tolerated.is_empty() {
                String::new()
            } else {
                format!(", and {} it would tolerate", plan.tolerated.len())
            },
            plan.blocking
                .iter()
                .chain(plan.tolerated.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
    if !plan.tolerated.is_empty() {
        println!(
            "schema: as the original had it at {revision}, with {} known differences, brought in line:",
            plan.tolerated.len()
        );
        for line in &plan.tolerated {
            println!("  {line}");
        }
    }
    // Rows whose keys already point nowhere (the original never enforced keys on SQLite;
    // triggers disabled on PostgreSQL) would fail the chain later, half-way: refuse now.
    let integrity = crate::doctor::foreign_keys(db, &live).await?;
    if !integrity.findings.is_empty() {
        return Err(format!(
            "rows whose foreign keys point nowhere; fix or remove them first, nothing was \
             changed:\n  {}",
            integrity.findings.join("\n  ")
        ));
    }
    if let Some(file) = backup {
        crate::backup::backup(db, url, file).await?;
    }

    take_over(db, &plan, &expected_ddl, &life_graph, &chain[..=end])
        .await
        .map_err(|error| format!("adoption failed, nothing was changed: {error}"))?;
    println!(
        "adopted: {} migrations recorded ({} Life Graph ones applied), alembic_version removed",
        end + 1,
        life_graph.len()
    );

    let steps = chain.len() - end - 1;
    if let Err(error) = Migrator::up(db, None).await {
        // Each migration commits on its own: say where it stopped.
        let recorded = crate::migrate::read_records(db).await.unwrap_or_default();
        let at = chain
            .iter()
            .rev()
            .find(|name| recorded.contains_key(*name))
            .map_or(last.as_str(), String::as_str);
        return Err(format!(
            "the database is adopted, but migrating it to head failed: {error}. It is at {at} \
             now; fix the cause and run `lifeos migrate up` (or restore the backup)"
        ));
    }
    println!("migrated to head: {steps} migrations applied");

    let now = lifeos_schema::snapshot(db)
        .await
        .map_err(|error| format!("reading the schema: {error}"))?;
    let after = row_counts(db, now.tables.keys()).await?;
    println!("rows per table (before → after; `-`: no such table):");
    let mut fewer = Vec::new();
    for table in before.keys().chain(after.keys()).collect::<BTreeSet<_>>() {
        let show = |counts: &BTreeMap<String, i64>| {
            counts
                .get(table)
                .map_or_else(|| "-".to_owned(), i64::to_string)
        };
        println!("  {table}: {} → {}", show(&before), show(&after));
        if let (Some(was), Some(is)) = (before.get(table), after.get(table))
            && is < was
        {
            fewer.push(format!("{table} ({was} → {is})"));
        }
    }
    if !fewer.is_empty() {
        return Err(format!(
            "adopted and migrated, but these tables hold fewer rows than before: {}",
            fewer.join(", ")
        ));
    }
    let title = lifeos_schema::head_title(backend);
    let head = if crate::scratch::checked_in_applies(db).await? {
        lifeos_schema::head(backend).map(str::to_owned)
    } else {
        match crate::stamp::expected_schema(db, url, chain.len() - 1).await {
            Ok(schema) => Some(schema.render(&title)),
            Err(error) => {
                println!(
                    "done, but the schema was not compared with the head schema (the \
                     checked-in one is made on PostgreSQL 15, and {error}): run `lifeos \
                     doctor` as a role that may create databases"
                );
                None
            }
        }
    };
    let Some(head) = head else { return Ok(()) };
    let differences = lifeos_schema::diff_lines(&head, &now.render(&title));
    if !differences.is_empty() {
        return Err(format!(
            "adopted and migrated, but the schema differs from the head schema ({} lines; \
             `-` expected, `+` found) — `lifeos doctor` reports the same:\n  {}",
            differences.len(),
            differences.join("\n  ")
        ));
    }
    println!("done: the schema is the head schema");
    Ok(())
}

/// The time zone the original's connections had on PostgreSQL (ours asks for UTC, so
/// `SHOW timezone` here says nothing): the setting for this database and role, this role,
/// this database, else the server configuration's (when this role may read it). `Err` when
/// it cannot be told; `Ok(None)` on SQLite.
async fn server_time_zone(db: &DatabaseConnection) -> Result<Option<String>, ()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    const SETTING: &str = "SELECT substr(s, 10) FROM pg_db_role_setting d, unnest(d.setconfig) s \
         WHERE lower(s) LIKE 'timezone=%' AND ";
    let this_database = "(SELECT oid FROM pg_database WHERE datname = current_database())";
    let this_role = "(SELECT oid FROM pg_roles WHERE rolname = current_user)";
    for (database, role) in [
        (this_database, this_role),
        ("0", this_role),
        (this_database, "0"),
    ] {
        let sql = format!("{SETTING}d.setdatabase = {database} AND d.setrole = {role}");
        if let Ok(rows) = query(db, &sql).await
            && let Some(Ok(zone)) = rows.first().map(|row| get::<String>(row, 0))
        {
            return Ok(Some(zone));
        }
    }
    match query(
        db,
        "SELECT setting FROM pg_file_settings WHERE lower(name) = 'timezone' AND applied \
         ORDER BY seqno DESC LIMIT 1",
    )
    .await
    {
        Ok(rows) => match rows.first() {
            Some(row) => get::<String>(row, 0).map(Some).map_err(|_| ()),
            // Not configured: PostgreSQL's own default, GMT.
            None => Ok(Some("GMT".to_owned())),
        },
        Err(_) => Err(()),
    }
}

/// Without a scratch database (on PostgreSQL, a role without CREATEDB), the schema of a
/// database at [`lifeos_schema::ORIGINAL_REVISION`] is checked against the checked-in one:
/// it must match exactly, since there is nothing to copy repairs from. (The rendering does
/// not tell a unique constraint from a unique index, so those stay as they are.)
fn checked_in(backend: DbBackend, live: &Schema, error: &str) -> Outcome {
    let title = lifeos_schema::original_title(backend);
    let expected = lifeos_schema::original(backend).unwrap_or_default();
    let differences = lifeos_schema::diff_lines(expected, &live.render(&title));
    if !differences.is_empty() {
        return Err(format!(
            "{error}. Without one, adoption checks the schema against the checked-in schema \
             of {}, and it differs ({} lines; `-` expected, `+` found); nothing was changed. \
             With a scratch database adoption can tell which differences it can bring in \
             line:\n  {}",
            lifeos_schema::ORIGINAL_REVISION,
            differences.len(),
            differences.join("\n  ")
        ));
    }
    println!(
        "schema: as the checked-in schema of {} (no scratch database: {error})",
        lifeos_schema::ORIGINAL_REVISION
    );
    Ok(())
}

/// The original revision `db` is at, or why it is not an original LifeOS database.
async fn recognise(db: &DatabaseConnection) -> Result<String, String> {
    let ours = table_exists(db, "seaql_migrations").await?;
    let theirs = table_exists(db, "alembic_version").await?;
    if !theirs {
        return Err(if ours {
            "this database is already managed by the LifeOS chain (it has `seaql_migrations` \
             and no `alembic_version`): there is nothing to adopt; `lifeos migrate status` \
             shows where it stands"
                .to_owned()
        } else {
            "not a database of the original LifeOS: it has no `alembic_version` table \
             (nor this chain's `seaql_migrations`); nothing was changed"
                .to_owned()
        });
    }
    if ours && !crate::migrate::read_records(db).await?.is_empty() {
        return Err(
            "this database has both Alembic's `alembic_version` and migrations recorded in \
             `seaql_migrations`: refusing to guess which is right; nothing was changed"
                .to_owned(),
        );
    }
    let rows = query(db, "SELECT version_num FROM alembic_version").await?;
    let versions: Vec<String> = rows
        .iter()
        .map(|row| get::<String>(row, 0))
        .collect::<Result<_, _>>()?;
    match versions.as_slice() {
        [] => {
            Err("`alembic_version` is empty: the original never migrated this database".to_owned())
        }
        [revision] if alembic::equivalent(revision).is_some() => Ok(revision.clone()),
        [revision] => Err(format!(
            "revision `{revision}` is not one of the original LifeOS chain (`{}` … `{}`); an \
             original Life Graph database (`001` … `006`) is not adopted in place \
             (DECISIONS 18); nothing was changed",
            alembic::REVISIONS[0].0,
            alembic::REVISIONS[alembic::REVISIONS.len() - 1].0
        )),
        several => Err(format!(
            "`alembic_version` holds {} revisions ({}); the original LifeOS chain is linear; \
             nothing was changed",
            several.len(),
            several.join(", ")
        )),
    }
}

/// Rows per table.
async fn row_counts<'a>(
    db: &DatabaseConnection,
    tables: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<String, i64>, String> {
    let mut counts = BTreeMap::new();
    for table in tables {
        let rows = query(db, &format!("SELECT count(*) FROM {}", quote(table))).await?;
        let count = rows.first().map_or(Ok(0), |row| get::<i64>(row, 0))?;
        counts.insert(table.clone(), count);
    }
    Ok(counts)
}

/// The DDL of a database that repairs copy: what `lifeos-schema` normalizes away.
#[derive(Default)]
struct Ddl {
    /// SQLite: each table's `CREATE TABLE`, as `sqlite_master` keeps it.
    tables: BTreeMap<String, String>,
    /// Indexes by name: table, `CREATE INDEX`, and (PostgreSQL) whether a unique constraint
    /// owns it.
    indexes: BTreeMap<String, (String, String, bool)>,
    /// PostgreSQL: column defaults by (table, column).
    defaults: BTreeMap<(String, String), String>,
    /// PostgreSQL: foreign-key and check constraints by table, then name: the definition.
    constraints: BTreeMap<String, BTreeMap<String, String>>,
    /// PostgreSQL: identity columns, by (table, column).
    identities: BTreeSet<(String, String)>,
}

impl Ddl {
    async fn read<C: ConnectionTrait>(db: &C) -> Result<Self, String> {
        let mut ddl = Self::default();
        if db.get_database_backend() != DbBackend::Postgres {
            for row in query(
                db,
                "SELECT type, name, tbl_name, sql FROM sqlite_master \
                 WHERE sql IS NOT NULL AND type IN ('table', 'index')",
            )
            .await?
            {
                let (kind, name, table, sql): (String, String, String, String) =
                    (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?, get(&row, 3)?);
                if kind == "table" {
                    ddl.tables.insert(name, sql);
                } else {
                    ddl.indexes.insert(name, (table, sql, false));
                }
            }
            return Ok(ddl);
        }
        for row in query(
            db,
            "SELECT i.relname, t.relname, replace(replace(pg_get_indexdef(i.oid), \
             ' ON ONLY ' || quote_ident(n.nspname) || '.', ' ON ONLY '), ' ON ' || quote_ident(n.nspname) || '.', ' ON '), EXISTS (SELECT 1 FROM \
             pg_constraint k WHERE k.conindid = i.oid AND k.conrelid = t.oid AND k.contype = 'u') \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND NOT x.indisprimary",
        )
        .await?
        {
            ddl.indexes
                .insert(get(&row, 0)?, (get(&row, 1)?, get(&row, 2)?, get(&row, 3)?));
        }
        for row in query(
            db,
            "SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d \
             JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum \
             WHERE n.nspname = current_schema()",
        )
        .await?
        {
            ddl.defaults
                .insert((get(&row, 0)?, get(&row, 1)?), get(&row, 2)?);
        }
        for row in query(
            db,
            "SELECT c.relname, a.attname FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND a.attidentity <> '' AND NOT a.attisdropped",
        )
        .await?
        {
            ddl.identities.insert((get(&row, 0)?, get(&row, 1)?));
        }
        for row in query(
            db,
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND k.contype IN ('f', 'c')",
        )
        .await?
        {
            ddl.constraints
                .entry(get(&row, 0)?)
                .or_default()
                .insert(get(&row, 1)?, get(&row, 2)?);
        }
        Ok(ddl)
    }
}

/// What adoption found and will do.
#[derive(Default)]
struct Plan {
    /// Differences that matter: adoption refuses.
    blocking: Vec<String>,
    /// Known differences of the original, to bring in line.
    tolerated: Vec<String>,
    /// Columns whose default differs, by table.
    defaults: BTreeMap<String, BTreeSet<String>>,
    /// Tables whose foreign keys or checks differ.
    constraints: BTreeSet<String>,
    /// Indexes that differ (missing, extra or changed), by name.
    indexes: BTreeSet<String>,
    /// SQLite: tables to rebuild for their declared types or `AUTOINCREMENT`.
    rebuild: BTreeSet<String>,
}

/// Extensions the Life Graph migrations install (`IF NOT EXISTS`): a live database may
/// already have them.
const CHAIN_EXTENSIONS: [&str; 3] = ["pgcrypto", "pg_trgm", "btree_gist"];

/// SQLite column types SQLAlchemy declared where this chain declares another name for the
/// same values (the original's SQLite databases were its test databases): `DATETIME`,
/// `DATE` and `JSON` hold the same text as `datetime_text`, `date_text` and `json_text`;
/// `NUMERIC(p, s)` the same numbers as `real(p, s)`. A rebuild under this chain's name keeps
/// every value (text stays text; numbers become REAL, as `NUMERIC(p, s)` mostly stored them).
fn same_values(ours: &str, theirs: &str) -> bool {
    match (ours, theirs) {
        ("datetime_text", "datetime") | ("date_text", "date") | ("json_text", "json") => true,
        _ => ours
            .strip_prefix("real(")
            .zip(theirs.strip_prefix("numeric("))
            .is_some_and(|(a, b)| a == b),
    }
}

impl Plan {
    fn compare(expected: &Schema, live: &Schema, want: &Ddl, have: &Ddl, sqlite: bool) -> Self {
        let mut plan = Self::default();
        let names: BTreeSet<&String> = expected.tables.keys().chain(live.tables.keys()).collect();
        for name in names {
            let (a, b) = match (expected.tables.get(name), live.tables.get(name)) {
                (Some(a), Some(b)) => (a, b),
                (Some(_), None) => {
                    plan.blocking.push(format!("table `{name}` is missing"));
                    continue;
                }
                _ => {
                    plan.blocking
                        .push(format!("table `{name}` is not one the original had here"));
                    continue;
                }
            };
            let columns: BTreeSet<&String> = a.columns.keys().chain(b.columns.keys()).collect();
            for column in columns {
                match (a.columns.get(column), b.columns.get(column)) {
                    (Some(x), Some(y)) => {
                        if sqlite
                            && x.nullable == y.nullable
                            && same_values(&x.data_type, &y.data_type)
                        {
                            plan.tolerated.push(format!(
                                "column `{name}.{column}`: type {} (the original declared {}; same values)",
                                x.data_type, y.data_type
                            ));
                            plan.rebuild.insert(name.clone());
                        } else if x.data_type != y.data_type || x.nullable != y.nullable {
                            plan.blocking.push(format!(
                                "column `{name}.{column}`: expected {} {}, found {} {}",
                                x.data_type,
                                if x.nullable { "null" } else { "not null" },
                                y.data_type,
                                if y.nullable { "null" } else { "not null" },
                            ));
                        }
                        if x.default != y.default {
                            plan.tolerated.push(format!(
                                "column `{name}.{column}`: default {} (the original had {})",
                                x.default.as_deref().unwrap_or("none"),
                                y.default.as_deref().unwrap_or("none")
                            ));
                            plan.defaults
                                .entry(name.clone())
                                .or_default()
                                .insert(column.clone());
                        }
                    }
                    (Some(_), None) => plan
                        .blocking
                        .push(format!("column `{name}.{column}` is missing")),
                    _ => plan.blocking.push(format!(
                        "column `{name}.{column}` is not one the original had here"
                    )),
                }
            }
            let autoincrement = |ddl: &Ddl| {
                ddl.tables.get(name).is_some_and(|sql| {
                    let words: Vec<String> = sql
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
                        .filter(|word| !word.is_empty())
                        .map(str::to_ascii_uppercase)
                        .collect();
                    words
                        .windows(3)
                        .any(|w| w[0] == "PRIMARY" && w[1] == "KEY" && w[2] == "AUTOINCREMENT")
                })
            };
            if sqlite && autoincrement(want) != autoincrement(have) {
                plan.tolerated.push(format!(
                    "table `{name}`: {} AUTOINCREMENT (ids never reused)",
                    if autoincrement(want) {
                        "made"
                    } else {
                        "no longer"
                    }
                ));
                plan.rebuild.insert(name.clone());
            }
            if a.primary_key != b.primary_key {
                plan.blocking.push(format!(
                    "table `{name}`: primary key ({}) expected, ({}) found",
                    a.primary_key.join(", "),
                    b.primary_key.join(", ")
                ));
            }
            for key in a.foreign_keys.symmetric_difference(&b.foreign_keys) {
                let missing = a.foreign_keys.contains(key);
                plan.tolerated.push(format!(
                    "table `{name}`: foreign key ({}) → `{}` on delete {} {}",
                    key.columns.join(", "),
                    key.foreign_table,
                    key.on_delete.to_lowercase(),
                    if missing { "added" } else { "removed" }
                ));
                plan.constraints.insert(name.clone());
            }
            for check in a.checks.symmetric_difference(&b.checks) {
                plan.tolerated.push(format!(
                    "table `{name}`: check ({check}) {}",
                    if a.checks.contains(check) {
                        "added"
                    } else {
                        "removed"
                    }
                ));
                plan.constraints.insert(name.clone());
            }
            let indexes: BTreeSet<&String> = a.indexes.keys().chain(b.indexes.keys()).collect();
            for index in indexes {
                let owned = |ddl: &Ddl| ddl.indexes.get(index).is_some_and(|(_, _, owned)| *owned);
                if a.indexes.get(index) == b.indexes.get(index) && owned(want) == owned(have) {
                    continue;
                }
                let what = match (a.indexes.get(index), b.indexes.get(index)) {
                    (Some(_), None) => "created",
                    (None, Some(_)) => "dropped",
                    _ if owned(have) => "made a plain unique index (it was a unique constraint)",
                    _ => "re-created as this chain defines it",
                };
                plan.tolerated
                    .push(format!("table `{name}`: index `{index}` {what}"));
                if index.starts_with("sqlite_autoindex_") {
                    plan.constraints.insert(name.clone());
                } else {
                    plan.indexes.insert(index.clone());
                }
            }
        }
        let mut live = live.clone();
        for extension in CHAIN_EXTENSIONS {
            if !expected.extensions.contains(extension) && live.extensions.remove(extension) {
                plan.tolerated.push(format!(
                    "extension `{extension}` is installed already (the Life Graph migrations \
                     install it; kept)"
                ));
            }
        }
        for line in expected.diff(&live) {
            if !line.starts_with("table ") {
                plan.blocking.push(line);
            }
        }
        plan
    }
}

/// The repairs, the Life Graph migrations, the records and the end of Alembic's bookkeeping,
/// in one transaction (SQLite foreign-key enforcement off around it, as the chain runs).
async fn take_over(
    db: &DatabaseConnection,
    plan: &Plan,
    want: &Ddl,
    life_graph: &[String],
    record: &[String],
) -> Outcome {
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    let enforced = if sqlite {
        let rows = query(db, "PRAGMA foreign_keys").await?;
        let on = rows.first().map_or(Ok(0), |row| get::<i64>(row, 0))? == 1;
        db.execute_unprepared("PRAGMA foreign_keys = OFF")
            .await
            .map_err(|error| error.to_string())?;
        on
    } else {
        false
    };
    let outcome = async {
        let txn = db.begin().await.map_err(|error| error.to_string())?;
        repair(&txn, plan, want, sqlite).await?;
        alembic::apply(&txn, life_graph)
            .await
            .map_err(|error| format!("applying the Life Graph migrations: {error}"))?;
        Migrator::install(&txn)
            .await
            .map_err(|error| format!("creating the migration table: {error}"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        let backend = txn.get_database_backend();
        for name in record {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DbBackend::Postgres => {
                        "INSERT INTO seaql_migrations (version, applied_at) VALUES ($1, $2)"
                    }
                    _ => "INSERT INTO seaql_migrations (version, applied_at) VALUES (?, ?)",
                },
                [name.clone().into(), now.into()],
            ))
            .await
            .map_err(|error| format!("recording {name}: {error}"))?;
        }
        execute(&txn, "DROP TABLE alembic_version").await?;
        if sqlite {
            let broken = txn
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT \"table\", parent, count(*), \
                     group_concat(coalesce(rowid, '?'), ', ') \
                     FROM pragma_foreign_key_check GROUP BY 1, 2 ORDER BY 1, 2",
                ))
                .await
                .map_err(|error| error.to_string())?;
            if !broken.is_empty() {
                let mut lines = Vec::new();
                for row in &broken {
                    let (table, parent, count): (String, String, i64) =
                        (get(row, 0)?, get(row, 1)?, get(row, 2)?);
                    let rowids: String = get::<Option<String>>(row, 3)?.unwrap_or_default();
                    let all: Vec<&str> = rowids.split(", ").collect();
                    lines.push(format!(
                        "{count} rows of `{table}` reference a missing `{parent}` row (rowid {}{})",
                        all[..all.len().min(10)].join(", "),
                        if all.len() > 10 { ", …" } else { "" }
                    ));
                }
                return Err(format!(
                    "rows whose foreign keys point nowhere (the original did not enforce \
                     them on SQLite; fix or remove them first): {}",
                    lines.join("; ")
                ));
            }
        }
        txn.commit().await.map_err(|error| error.to_string())
    }
    .await;
    if enforced && let Err(error) = db.execute_unprepared("PRAGMA foreign_keys = ON").await {
        // The take-over itself is committed or rolled back by now; the pragma concerns only
        // this connection, which the chain's runner handles on its own.
        println!("note: could not switch SQLite foreign-key enforcement back on: {error}");
    }
    outcome
}

/// Brings the tolerated differences in line with the expected DDL. SQLite rebuilds each
/// table concerned. PostgreSQL goes in the order that dependencies allow: differing foreign
/// keys and checks are dropped, then differing indexes (a key may depend on a unique one),
/// defaults and identities are set, the expected indexes created, and last the expected keys
/// and checks added (a key may need a new unique index).
async fn repair(
    txn: &sea_orm::DatabaseTransaction,
    plan: &Plan,
    want: &Ddl,
    sqlite: bool,
) -> Outcome {
    if sqlite {
        let tables: BTreeSet<&String> = plan
            .defaults
            .keys()
            .chain(plan.constraints.iter())
            .chain(plan.rebuild.iter())
            .collect();
        for table in tables {
            let sql = want
                .tables
                .get(table)
                .ok_or_else(|| format!("no definition of `{table}` to rebuild it from"))?;
            alembic::rebuild_table(txn, table, sql)
                .await
                .map_err(|error| format!("rebuilding `{table}`: {error}"))?;
        }
    }
    let have = Ddl::read(txn).await?;
    let none = BTreeMap::new();
    let alter = |table: &str, change: String| format!("ALTER TABLE {} {change}", quote(table));
    if !sqlite {
        for table in &plan.constraints {
            let wanted = want.constraints.get(table).unwrap_or(&none);
            for (name, definition) in have.constraints.get(table).unwrap_or(&none) {
                if wanted.get(name) != Some(definition) {
                    let sql = alter(table, format!("DROP CONSTRAINT {}", quote(name)));
                    execute(txn, &sql).await?;
                }
            }
        }
    }
    for index in &plan.indexes {
        if let Some((table, _, owned)) = have.indexes.get(index) {
            let sql = if *owned {
                alter(table, format!("DROP CONSTRAINT {}", quote(index)))
            } else {
                format!("DROP INDEX {}", quote(index))
            };
            execute(txn, &sql).await?;
        }
    }
    if !sqlite {
        for (table, columns) in &plan.defaults {
            for column in columns {
                let key = (table.clone(), column.clone());
                if want.identities.contains(&key) && !have.identities.contains(&key) {
                    serial_to_identity(txn, table, column).await?;
                    continue;
                }
                let change = match want.defaults.get(&key) {
                    Some(expression) => format!("SET DEFAULT {expression}"),
                    None => "DROP DEFAULT".to_owned(),
                };
                let sql = alter(table, format!("ALTER COLUMN {} {change}", quote(column)));
                execute(txn, &sql).await?;
            }
        }
    }
    for index in &plan.indexes {
        if let Some((table, sql, owned)) = want.indexes.get(index) {
            execute(txn, sql).await?;
            if *owned {
                let sql = alter(
                    table,
                    format!("ADD CONSTRAINT {0} UNIQUE USING INDEX {0}", quote(index)),
                );
                execute(txn, &sql).await?;
            }
        }
    }
    if !sqlite {
        for table in &plan.constraints {
            let found = have.constraints.get(table).unwrap_or(&none);
            for (name, definition) in want.constraints.get(table).unwrap_or(&none) {
                if found.get(name) != Some(definition) {
                    let sql = alter(
                        table,
                        format!("ADD CONSTRAINT {} {definition}", quote(name)),
                    );
                    execute(txn, &sql).await?;
                }
            }
        }
    }
    Ok(())
}

/// Turns PostgreSQL column `table.column` — a `serial` (a `nextval` default, as SQLAlchemy
/// made the original's ids) or a column with no default — into an identity column whose
/// next value is past both the old sequence's and the largest id, so no id is handed out
/// twice, even one whose row was deleted.
async fn serial_to_identity(
    txn: &sea_orm::DatabaseTransaction,
    table: &str,
    column: &str,
) -> Outcome {
    let (t, c) = (quote(table), quote(column));
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_get_serial_sequence($1, $2)",
            [t.clone().into(), column.into()],
        ))
        .await
        .map_err(|error| error.to_string())?;
    let owned: Option<String> = match rows.first() {
        Some(row) => get(row, 0)?,
        None => None,
    };
    // A sequence the column uses without owning it (`nextval('…'::regclass)` by hand) still
    // says which ids were handed out; it is left in place (something else may use it).
    let used = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT substring(pg_get_expr(d.adbin, d.adrelid) from 'nextval[(]''([^'']+)''') \
             FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid \
             AND a.attnum = d.adnum WHERE d.adrelid = $1::regclass AND a.attname = $2",
            [t.clone().into(), column.into()],
        ))
        .await
        .map_err(|error| error.to_string())?;
    let used: Option<String> = match used.first() {
        Some(row) => get(row, 0)?,
        None => None,
    };
    let sequences: BTreeSet<String> = owned.iter().chain(used.iter()).cloned().collect();
    let mut next: i64 = one(
        txn,
        &format!("SELECT coalesce(max({c}), 0)::bigint + 1 FROM {t}"),
    )
    .await?;
    for sequence in &sequences {
        // `pg_get_serial_sequence` returns the name already quoted as needed.
        let after: i64 = one(
            txn,
            &format!(
                "SELECT (CASE WHEN is_called THEN last_value + 1 ELSE last_value END)::bigint \
                 FROM {sequence}"
            ),
        )
        .await?;
        next = next.max(after);
    }
    execute(
        txn,
        &format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"),
    )
    .await?;
    if let Some(sequence) = &owned {
        execute(txn, &format!("DROP SEQUENCE {sequence}")).await?;
    }
    execute(
        txn,
        &format!(
            "ALTER TABLE {t} ALTER COLUMN {c} ADD GENERATED BY DEFAULT AS IDENTITY \
             (START WITH {next})"
        ),
    )
    .await
}

async fn one(txn: &sea_orm::DatabaseTransaction, sql: &str) -> Result<i64, String> {
    let rows = query(txn, sql).await?;
    rows.first()
        .map_or_else(|| Err(format!("no row from {sql}")), |row| get(row, 0))
}

async fn execute(txn: &sea_orm::DatabaseTransaction, sql: &str) -> Outcome {
    txn.execute_unprepared(sql)
        .await
        .map(|_| ())
        .map_err(|error| format!("{error} (in {sql})"))
}
