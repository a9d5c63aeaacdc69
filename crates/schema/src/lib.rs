//! `lifeos-schema` — normalized snapshots of a live LifeOS schema, their comparison and a
//! readable rendering, and the schema at the head of the chain as checked in
//! ([`HEAD_SQLITE`], [`HEAD_POSTGRES`]). The test suites (through `lifeos-testkit`) and the
//! operators' tools share this one copy.
//!
//! A [`Schema`] holds what a migration can change: tables, columns (exact type, nullability,
//! default), primary keys, foreign keys with their actions and deferrability, indexes
//! (uniqueness, method, key, partial predicate), check constraints, triggers, and on
//! PostgreSQL the enum types, functions and extensions. Names are kept where the database
//! keeps them (indexes, enum types, triggers, functions), so a migration that renames one is
//! seen. [`Schema::render`] writes it as one line per fact, sorted, so two renderings differ
//! exactly where the schemas do ([`diff_lines`]).
//!
//! Discovery uses sea-schema where it serves: SQLite columns and foreign keys, PostgreSQL
//! enum types. It does not report index methods, partial predicates, exact type names,
//! SQLite checks, foreign-key deferrability or extensions; its SQLite index discovery panics
//! on expression indexes; and its PostgreSQL table discovery is too slow for a per-migration
//! test (see the `postgres` module). Those parts are read from the catalogs here (on SQLite,
//! whose `PRAGMA foreign_key_list` omits deferrability, from the stored `CREATE TABLE`).

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};

pub mod seeds;

/// Tables every snapshot leaves out: the migration bookkeeping itself.
const IGNORED_TABLES: [&str; 1] = ["seaql_migrations"];

/// A database schema, normalized for comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
    /// PostgreSQL enum types and their values, in order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// PostgreSQL extensions (other than the built-in `plpgsql`).
    pub extensions: BTreeSet<String>,
    /// Triggers by name: their table and normalized definition.
    pub triggers: BTreeMap<String, Trigger>,
    /// PostgreSQL functions of the schema (not an extension's), by signature
    /// (`name(argument types)`): their normalized definition.
    pub functions: BTreeMap<String, String>,
}

/// A trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// The table it fires on.
    pub table: String,
    /// Its definition (`CREATE TRIGGER …`), normalized.
    pub definition: String,
}

/// One table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Columns by name.
    pub columns: BTreeMap<String, Column>,
    /// Primary-key columns, in key order.
    pub primary_key: Vec<String>,
    /// Foreign keys.
    pub foreign_keys: BTreeSet<ForeignKey>,
    /// Indexes by name (the primary key's own index excluded).
    pub indexes: BTreeMap<String, Index>,
    /// Check constraints, as normalized expression text.
    pub checks: BTreeSet<String>,
}

/// One column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The type as the database reports it (PostgreSQL `format_type`, SQLite's declared type),
    /// lower-cased.
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default expression, if any (`identity` for PostgreSQL identity columns).
    pub default: Option<String>,
}

/// A foreign key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub foreign_table: String,
    /// Referenced columns.
    pub foreign_columns: Vec<String>,
    /// `ON DELETE` action (`NO ACTION` when none was given).
    pub on_delete: String,
    /// `ON UPDATE` action (`NO ACTION` when none was given).
    pub on_update: String,
    /// When the key is checked (`DEFERRABLE …`).
    pub deferrable: Deferrability,
}

/// When a foreign key is checked, as its definition declares it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Deferrability {
    /// `NOT DEFERRABLE` (the default): checked at the end of each statement.
    #[default]
    NotDeferrable,
    /// `DEFERRABLE [INITIALLY IMMEDIATE]`: checked at statement end unless the transaction
    /// defers it.
    InitiallyImmediate,
    /// `DEFERRABLE INITIALLY DEFERRED`: checked when the transaction commits.
    InitiallyDeferred,
}

impl Deferrability {
    /// As SQL writes it.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::NotDeferrable => "not deferrable",
            Self::InitiallyImmediate => "deferrable initially immediate",
            Self::InitiallyDeferred => "deferrable initially deferred",
        }
    }

    /// From PostgreSQL's `pg_constraint.condeferrable` and `condeferred`.
    pub fn from_flags(deferrable: bool, initially_deferred: bool) -> Self {
        match (deferrable, initially_deferred) {
            (false, _) => Self::NotDeferrable,
            (true, false) => Self::InitiallyImmediate,
            (true, true) => Self::InitiallyDeferred,
        }
    }
}

/// An index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    /// Whether it is unique.
    pub unique: bool,
    /// Access method (`btree`, `gin`, …; always `btree` on SQLite).
    pub method: String,
    /// Key elements as normalized text: column names, or expressions with opclass/order.
    pub key: Vec<String>,
    /// The partial-index predicate, normalized.
    pub predicate: Option<String>,
    /// A unique index whose key treats NULLs as equal (PostgreSQL 15's `NULLS NOT DISTINCT`).
    pub nulls_not_distinct: bool,
}

impl Index {
    /// The key as plain column names, if every element is a bare column (no expression,
    /// operator class or sort order).
    pub fn plain_columns(&self) -> Option<Vec<String>> {
        self.key
            .iter()
            .map(|element| {
                let bare = element
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
                bare.then(|| element.clone())
            })
            .collect()
    }
}

/// Reads the schema of `db`.
///
/// # Errors
/// Fails on a database error, or for a backend other than SQLite and PostgreSQL.
pub async fn snapshot(db: &DatabaseConnection) -> Result<Schema, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => sqlite::snapshot(db).await,
        DbBackend::Postgres => postgres::snapshot(db).await,
        other => Err(DbErr::BackendNotSupported {
            db: other.as_str(),
            ctx: "schema snapshot",
        }),
    }
}

impl Schema {
    /// How `other` differs from `self`, one human-readable line per difference (empty when
    /// they are the same).
    pub fn diff(&self, other: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        for name in keys(&self.tables, &other.tables) {
            match (self.tables.get(name), other.tables.get(name)) {
                (Some(_), None) => out.push(format!("table `{name}` is gone")),
                (None, Some(_)) => out.push(format!("table `{name}` is new")),
                (Some(a), Some(b)) => a.diff_into(name, b, &mut out),
                (None, None) => {}
            }
        }
        diff_maps("enum type", &self.enums, &other.enums, &mut out);
        diff_sets("extension", &self.extensions, &other.extensions, &mut out);
        diff_maps("trigger", &self.triggers, &other.triggers, &mut out);
        diff_maps("function", &self.functions, &other.functions, &mut out);
        out
    }

    /// The schema as text: a header line, then one line per fact — `table column …`,
    /// `table primary key …`, `table foreign key …`, `table index …`, `table check …`,
    /// `trigger …`, `function …`, `enum …`, `extension …` — in a fixed order, so the text
    /// is stable across runs and reads well in a review diff.
    pub fn render(&self, title: &str) -> String {
        let mut lines = vec![format!("# {title}")];
        for name in &self.extensions {
            lines.push(format!("extension {name}"));
        }
        for (name, values) in &self.enums {
            lines.push(format!("enum {name} ({})", values.join(", ")));
        }
        for (name, table) in &self.tables {
            lines.push(format!("table {name}"));
            for (column, def) in &table.columns {
                let mut line = format!("{name}.{column} {}", def.data_type);
                if !def.nullable {
                    line.push_str(" not null");
                }
                if let Some(default) = &def.default {
                    line.push_str(&format!(" default {default}"));
                }
                lines.push(line);
            }
            if !table.primary_key.is_empty() {
                lines.push(format!(
                    "{name} primary key ({})",
                    table.primary_key.join(", ")
                ));
            }
            for key in &table.foreign_keys {
                lines.push(format!(
                    "{name} foreign key ({}) references {} ({}) on delete {} on update {} {}",
                    key.columns.join(", "),
                    key.foreign_table,
                    key.foreign_columns.join(", "),
                    key.on_delete.to_lowercase(),
                    key.on_update.to_lowercase(),
                    key.deferrable.as_sql(),
                ));
            }
            for (index, def) in &table.indexes {
                let mut line = format!(
                    "{name} {}index {index} using {} ({})",
                    if def.unique { "unique " } else { "" },
                    def.method,
                    def.key.join(", ")
                );
                if def.nulls_not_distinct {
                    line.push_str(" nulls not distinct");
                }
                if let Some(predicate) = &def.predicate {
                    line.push_str(&format!(" where {predicate}"));
                }
                lines.push(line);
            }
            for check in &table.checks {
                lines.push(format!("{name} check ({check})"));
            }
        }
        for (name, trigger) in &self.triggers {
            lines.push(format!(
                "trigger {name} on {}: {}",
                trigger.table, trigger.definition
            ));
        }
        for (signature, definition) in &self.functions {
            lines.push(format!("function {signature}: {definition}"));
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

/// The lines only `expected` has (`- …`) and only `actual` has (`+ …`), in order: a readable
/// difference between two [`Schema::render`]ings (empty when they are equal).
pub fn diff_lines(expected: &str, actual: &str) -> Vec<String> {
    let count = |text: &str| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for line in text.lines() {
            *counts.entry(line.to_owned()).or_default() += 1;
        }
        counts
    };
    let (want, have) = (count(expected), count(actual));
    let mut out = Vec::new();
    for line in expected.lines() {
        if have.get(line).copied().unwrap_or(0) < want.get(line).copied().unwrap_or(0) {
            out.push(format!("- {line}"));
        }
    }
    for line in actual.lines() {
        if want.get(line).copied().unwrap_or(0) < have.get(line).copied().unwrap_or(0) {
            out.push(format!("+ {line}"));
        }
    }
    out.dedup();
    out
}

/// The schema at the head of the chain on SQLite, as rendered by [`Schema::render`] and
/// checked in (`crates/schema/head/sqlite.txt`).
pub const HEAD_SQLITE: &str = include_str!("../head/sqlite.txt");

/// The schema at the head of the chain on PostgreSQL 15, as rendered by [`Schema::render`]
/// and checked in (`crates/schema/head/postgres.txt`).
pub const HEAD_POSTGRES: &str = include_str!("../head/postgres.txt");

/// The checked-in head schema for `backend` (`None` for a backend LifeOS does not support).
pub fn head(backend: DbBackend) -> Option<&'static str> {
    match backend {
        DbBackend::Sqlite => Some(HEAD_SQLITE),
        DbBackend::Postgres => Some(HEAD_POSTGRES),
        _ => None,
    }
}

/// The last revision of the original LifeOS's Alembic chain: the one `lifeos adopt` expects
/// most databases of the original to be at.
pub const ORIGINAL_REVISION: &str = "20251221_auth_session_table";

/// The schema of an original LifeOS database at [`ORIGINAL_REVISION`] on SQLite, as this
/// chain's Part 1 builds it (without the Life Graph tables), rendered by [`Schema::render`]
/// and checked in (`crates/schema/head/original-sqlite.txt`).
pub const ORIGINAL_SQLITE: &str = include_str!("../head/original-sqlite.txt");

/// As [`ORIGINAL_SQLITE`], on PostgreSQL 15 (`crates/schema/head/original-postgres.txt`).
pub const ORIGINAL_POSTGRES: &str = include_str!("../head/original-postgres.txt");

/// The checked-in schema of an original LifeOS database at [`ORIGINAL_REVISION`] for
/// `backend` (`None` for a backend LifeOS does not support).
pub fn original(backend: DbBackend) -> Option<&'static str> {
    match backend {
        DbBackend::Sqlite => Some(ORIGINAL_SQLITE),
        DbBackend::Postgres => Some(ORIGINAL_POSTGRES),
        _ => None,
    }
}

/// The title line [`Schema::render`] is given for the checked-in original schemas.
pub fn original_title(backend: DbBackend) -> String {
    format!(
        "Original LifeOS schema at {ORIGINAL_REVISION} on {} (what `lifeos adopt` expects) — regenerate: LIFEOS_BLESS=1 cargo test -p lifeos-tests --test head_schema",
        match backend {
            DbBackend::Postgres => "PostgreSQL (with LIFEOS_TEST_POSTGRES_URL set)",
            _ => "SQLite",
        }
    )
}

/// The title line [`Schema::render`] is given for the checked-in head schemas.
pub fn head_title(backend: DbBackend) -> String {
    format!(
        "LifeOS schema at the head of the chain on {} — regenerate: LIFEOS_BLESS=1 cargo test -p lifeos-tests --test head_schema",
        match backend {
            DbBackend::Postgres => "PostgreSQL (with LIFEOS_TEST_POSTGRES_URL set)",
            _ => "SQLite",
        }
    )
}

impl Table {
    fn diff_into(&self, table: &str, other: &Table, out: &mut Vec<String>) {
        let prefix = format!("table `{table}`: ");
        let mut lines = Vec::new();
        diff_maps("column", &self.columns, &other.columns, &mut lines);
        if self.primary_key != other.primary_key {
            lines.push(format!(
                "primary key {:?} → {:?}",
                self.primary_key, other.primary_key
            ));
        }
        diff_sets(
            "foreign key",
            &self.foreign_keys,
            &other.foreign_keys,
            &mut lines,
        );
        diff_maps("index", &self.indexes, &other.indexes, &mut lines);
        diff_sets("check", &self.checks, &other.checks, &mut lines);
        out.extend(lines.into_iter().map(|line| format!("{prefix}{line}")));
    }
}

/// One line per key whose value differs (or exists on one side only).
fn diff_maps<V: PartialEq + std::fmt::Debug>(
    what: &str,
    before: &BTreeMap<String, V>,
    after: &BTreeMap<String, V>,
    out: &mut Vec<String>,
) {
    for name in keys(before, after) {
        let (a, b) = (before.get(name), after.get(name));
        if a != b {
            out.push(format!("{what} `{name}`: {a:?} → {b:?}"));
        }
    }
}

/// One line per element on one side only.
fn diff_sets<T: Ord + std::fmt::Debug>(
    what: &str,
    before: &BTreeSet<T>,
    after: &BTreeSet<T>,
    out: &mut Vec<String>,
) {
    for gone in before.difference(after) {
        out.push(format!("{what} gone: {gone:?}"));
    }
    for new in after.difference(before) {
        out.push(format!("{what} new: {new:?}"));
    }
}

/// The union of two maps' keys, in order.
fn keys<'a, V>(a: &'a BTreeMap<String, V>, b: &'a BTreeMap<String, V>) -> BTreeSet<&'a String> {
    a.keys().chain(b.keys()).collect()
}

/// Collapses whitespace, drops identifier quotes and lower-cases SQL text outside string
/// literals, so the same expression compares equal however it was spelled, while a changed
/// literal (`'UltimateGoal'`) is still a change.
pub(crate) fn normalize_sql(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_literal = false;
    let mut pending_space = false;
    for c in text.chars() {
        if in_literal {
            out.push(c);
            // A doubled quote closes and reopens: the toggle handles it.
            in_literal = c != '\'';
            continue;
        }
        match c {
            '"' => {}
            c if c.is_whitespace() => pending_space = !out.is_empty(),
            c => {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                if c == '\'' {
                    in_literal = true;
                    out.push(c);
                } else {
                    out.extend(c.to_lowercase());
                }
            }
        }
    }
    out
}

/// The text between the parenthesis at byte `open` and its matching closing parenthesis,
/// and the byte index just after that closing parenthesis.
fn balanced(text: &str, open: usize) -> Option<(&str, usize)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (offset, c) in text[open..].char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        let end = open + offset;
                        return Some((&text[open + 1..end], end + 1));
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// Splits on commas that are not nested in parentheses or quotes ([`split_top_level`]), each
/// part normalized.
fn split_normalized(text: &str) -> Vec<String> {
    split_top_level(text)
        .iter()
        .map(|part| normalize_sql(part))
        .collect()
}

/// Splits a comma-separated SQL list at top level (outside parentheses and quotes), each part
/// trimmed. Shared with the migration crate's table rebuilds.
pub fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote_char: Option<char> = None;
    let mut current = String::new();
    for c in text.chars() {
        match quote_char {
            Some(q) => {
                if c == q {
                    quote_char = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => quote_char = Some(c),
                '[' => quote_char = Some(']'),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    parts.push(current.trim().to_owned());
                    current.clear();
                    continue;
                }
                _ => {}
            },
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// The parts of a `CREATE INDEX` statement: method, key, predicate, `NULLS NOT DISTINCT`.
type IndexParts = (String, Vec<String>, Option<String>, bool);

/// Parses the key list, access method, predicate and `NULLS NOT DISTINCT` out of a
/// `CREATE INDEX` statement (SQLite's stored SQL or PostgreSQL's `indexdef`).
fn parse_create_index(sql: &str) -> Option<IndexParts> {
    let upper = sql.to_uppercase();
    let on = upper.find(" ON ")?;
    let using = upper[on..].find(" USING ").map(|i| on + i);
    let (method, search_from) = match using {
        Some(at) => {
            let rest = &sql[at + 7..];
            let method: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (method.to_lowercase(), at + 7)
        }
        None => ("btree".to_owned(), on),
    };
    let open = search_from + sql[search_from..].find('(')?;
    let (key, after) = balanced(sql, open)?;
    let rest = sql[after..].trim();
    let rest_upper = rest.to_uppercase();
    let predicate = rest_upper
        .find("WHERE")
        .map(|at| normalize_sql(strip_outer_parens(rest[at + 5..].trim())));
    let nulls_not_distinct = rest_upper
        .split("WHERE")
        .next()
        .is_some_and(|head| head.contains("NULLS NOT DISTINCT"));
    Some((method, split_normalized(key), predicate, nulls_not_distinct))
}

fn strip_outer_parens(text: &str) -> &str {
    if text.starts_with('(')
        && let Some((inner, after)) = balanced(text, 0)
        && after == text.len()
    {
        return inner;
    }
    text
}

/// Runs a raw query and returns its rows.
async fn rows(
    db: &DatabaseConnection,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    let backend = db.get_database_backend();
    db.query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
}

fn discovery_error(error: impl std::fmt::Debug) -> DbErr {
    DbErr::Custom(format!("schema discovery failed: {error:?}"))
}

mod sqlite {
    use super::*;
    use sea_schema::sqlite::def::{ForeignKeyAction, TableDef};

    pub(super) async fn snapshot(db: &DatabaseConnection) -> Result<Schema, DbErr> {
        let mut schema = Schema::default();
        let tables = rows(
            db,
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
            vec![],
        )
        .await?;
        for row in tables {
            let name: String = row.try_get_by_index(0)?;
            if IGNORED_TABLES.contains(&name.as_str()) {
                continue;
            }
            let sql: String = row.try_get_by_index(1)?;
            let table = table(db, &name, &sql).await?;
            schema.tables.insert(name, table);
        }
        for row in rows(
            db,
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'",
            vec![],
        )
        .await?
        {
            let sql: String = row.try_get_by_index(2)?;
            schema.triggers.insert(
                row.try_get_by_index(0)?,
                Trigger {
                    table: row.try_get_by_index(1)?,
                    definition: normalize_sql(&sql),
                },
            );
        }
        Ok(schema)
    }

    async fn table(db: &DatabaseConnection, name: &str, sql: &str) -> Result<Table, DbErr> {
        let mut def = TableDef {
            name: name.to_owned(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            constraints: Vec::new(),
            columns: Vec::new(),
            auto_increment: false,
        };
        def.get_column_info(db).await.map_err(discovery_error)?;
        def.get_foreign_keys(db).await.map_err(discovery_error)?;

        // Declared types and primary-key order, which sea-schema's parsed columns drop.
        let mut declared = BTreeMap::new();
        // The default as written (sea-schema's parsed default drops quotes: `'0'` and `0`
        // would look the same).
        let mut defaults: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut primary_key = Vec::new();
        for row in rows(
            db,
            "SELECT name, type, pk, dflt_value FROM pragma_table_info(?) ORDER BY pk, cid",
            vec![name.into()],
        )
        .await?
        {
            let column: String = row.try_get_by_index(0)?;
            let data_type: String = row.try_get_by_index(1)?;
            let pk: i32 = row.try_get_by_index(2)?;
            let default: Option<String> = row.try_get_by_index(3)?;
            if pk > 0 {
                primary_key.push(column.clone());
            }
            defaults.insert(column.clone(), default.map(|text| normalize_sql(&text)));
            declared.insert(column, data_type.to_lowercase());
        }

        let mut table = Table {
            primary_key,
            ..Table::default()
        };
        for column in &def.columns {
            table.columns.insert(
                column.name.clone(),
                Column {
                    data_type: declared.get(&column.name).cloned().unwrap_or_default(),
                    nullable: !column.not_null,
                    default: defaults.get(&column.name).cloned().flatten(),
                },
            );
        }
        let timings = foreign_key_timings(sql);
        for fk in &def.foreign_keys {
            table.foreign_keys.insert(ForeignKey {
                columns: fk.from.clone(),
                foreign_table: fk.table.clone(),
                foreign_columns: fk.to.clone(),
                on_delete: action(&fk.on_delete),
                on_update: action(&fk.on_update),
                deferrable: timing_of(&timings, &fk.from, &fk.table),
            });
        }
        table.indexes = indexes(db, name).await?;
        table.checks = checks(sql);
        Ok(table)
    }

    fn action(action: &ForeignKeyAction) -> String {
        match action {
            ForeignKeyAction::NoAction => "NO ACTION",
            ForeignKeyAction::Restrict => "RESTRICT",
            ForeignKeyAction::SetNull => "SET NULL",
            ForeignKeyAction::SetDefault => "SET DEFAULT",
            ForeignKeyAction::Cascade => "CASCADE",
        }
        .to_owned()
    }

    async fn indexes(
        db: &DatabaseConnection,
        table: &str,
    ) -> Result<BTreeMap<String, Index>, DbErr> {
        let mut indexes = BTreeMap::new();
        for row in rows(
            db,
            "SELECT l.name, l.\"unique\", l.origin, m.sql FROM pragma_index_list(?) AS l \
             LEFT JOIN sqlite_master AS m ON m.type = 'index' AND m.name = l.name",
            vec![table.into()],
        )
        .await?
        {
            let name: String = row.try_get_by_index(0)?;
            let unique: i32 = row.try_get_by_index(1)?;
            let origin: String = row.try_get_by_index(2)?;
            let sql: Option<String> = row.try_get_by_index(3)?;
            if origin == "pk" {
                continue;
            }
            let (key, predicate) = match sql.as_deref().and_then(parse_create_index) {
                Some((_, key, predicate, _)) => (key, predicate),
                // An index backing a UNIQUE constraint: no SQL of its own.
                None => {
                    let mut key = Vec::new();
                    for column in rows(
                        db,
                        "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                        vec![name.clone().into()],
                    )
                    .await?
                    {
                        key.push(column.try_get_by_index::<String>(0)?);
                    }
                    (key, None)
                }
            };
            indexes.insert(
                name,
                Index {
                    unique: unique != 0,
                    method: "btree".to_owned(),
                    key,
                    predicate,
                    nulls_not_distinct: false,
                },
            );
        }
        Ok(indexes)
    }

    /// A `REFERENCES` clause of a `CREATE TABLE` statement: the columns it constrains and the
    /// table it references (both lower-cased, unquoted), and its deferrability.
    pub(super) type Timing = (Vec<String>, String, Deferrability);

    /// The deferrability of every foreign key in a `CREATE TABLE` statement — `PRAGMA
    /// foreign_key_list` does not report it. A key is either inline on a column
    /// (`col … REFERENCES t (…) … [NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]`) or a table
    /// constraint (`[CONSTRAINT n] FOREIGN KEY (a, b) REFERENCES t (…) …`).
    pub(super) fn foreign_key_timings(sql: &str) -> Vec<Timing> {
        let (Some(open), Some(close)) = (sql.find('('), sql.rfind(')')) else {
            return Vec::new();
        };
        if open >= close {
            return Vec::new();
        }
        let mut found = Vec::new();
        // Each part is normalized: lower-cased, identifier quotes dropped, single spaces.
        for part in split_normalized(&sql[open + 1..close]) {
            let Some(at) = find_word(&part, "references") else {
                continue;
            };
            let (head, clause) = (&part[..at], &part[at + "references".len()..]);
            let columns: Vec<String> = match find_word(head, "foreign") {
                Some(foreign) => {
                    let rest = &head[foreign..];
                    let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
                        continue;
                    };
                    if open >= close {
                        continue;
                    }
                    rest[open + 1..close].split(',').map(bare).collect()
                }
                None => {
                    let column = bare(head.split_whitespace().next().unwrap_or_default());
                    let constraint =
                        ["constraint", "primary", "unique", "check"].contains(&column.as_str());
                    if column.is_empty() || constraint {
                        continue;
                    }
                    vec![column]
                }
            };
            let target = bare(
                clause
                    .trim_start()
                    .split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or_default(),
            );
            found.push((columns, target, deferrability(clause)));
        }
        found
    }

    /// The deferrability a `REFERENCES …` clause (normalized) declares. As SQLite reads it,
    /// `NOT DEFERRABLE` is never deferred, whatever `INITIALLY …` follows.
    fn deferrability(clause: &str) -> Deferrability {
        let tokens: Vec<&str> = clause
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
            .filter(|token| !token.is_empty())
            .collect();
        let Some(at) = tokens.iter().position(|token| *token == "deferrable") else {
            return Deferrability::NotDeferrable;
        };
        if at > 0 && tokens[at - 1] == "not" {
            return Deferrability::NotDeferrable;
        }
        match (tokens.get(at + 1), tokens.get(at + 2)) {
            (Some(&"initially"), Some(&"deferred")) => Deferrability::InitiallyDeferred,
            _ => Deferrability::InitiallyImmediate,
        }
    }

    /// The deferrability of the foreign key on `columns` into `table`: the clause with the
    /// same columns and target, else the only clause with the same columns.
    pub(super) fn timing_of(timings: &[Timing], columns: &[String], table: &str) -> Deferrability {
        let columns: Vec<String> = columns.iter().map(|column| column.to_lowercase()).collect();
        let table = table.to_lowercase();
        let same_columns: Vec<&Timing> = timings
            .iter()
            .filter(|(clause_columns, _, _)| *clause_columns == columns)
            .collect();
        same_columns
            .iter()
            .find(|(_, target, _)| *target == table)
            .or(match same_columns.as_slice() {
                [only] => Some(only),
                _ => None,
            })
            .map(|(_, _, deferrable)| *deferrable)
            .unwrap_or_default()
    }

    /// An identifier without surrounding spaces, backquotes or brackets.
    fn bare(name: &str) -> String {
        name.trim()
            .trim_matches(|c| c == '`' || c == '[' || c == ']')
            .to_lowercase()
    }

    /// The byte index of `word` as a whole word in `text` (lower-case).
    fn find_word(text: &str, word: &str) -> Option<usize> {
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut from = 0;
        while let Some(at) = text[from..].find(word) {
            let start = from + at;
            let end = start + word.len();
            let before = text[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !is_word(c));
            let after = text[end..].chars().next().is_none_or(|c| !is_word(c));
            if before && after {
                return Some(start);
            }
            from = end;
        }
        None
    }

    /// The `CHECK (…)` constraints in a `CREATE TABLE` statement.
    pub(super) fn checks(sql: &str) -> BTreeSet<String> {
        let upper = sql.to_uppercase();
        let mut found = BTreeSet::new();
        let mut from = 0;
        while let Some(at) = upper[from..].find("CHECK") {
            let start = from + at;
            from = start + 5;
            let word_start = start == 0
                || !upper[..start]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let after = upper[from..].trim_start();
            if !word_start || !after.starts_with('(') {
                continue;
            }
            let open = upper.len() - after.len();
            if let Some((body, end)) = balanced(sql, open) {
                found.insert(normalize_sql(body));
                from = end;
            }
        }
        found
    }
}

mod postgres {
    //! PostgreSQL reads the catalogs in a few set-based queries. sea-schema's discovery goes
    //! through `information_schema`, whose constraint query alone costs ~150 ms per table:
    //! 14 s per snapshot of this chain's head, minutes for the step-by-step suite. It is
    //! still used for the enum types.
    use super::*;
    use sea_schema::postgres::discovery::SchemaDiscovery;

    pub(super) async fn snapshot(db: &DatabaseConnection) -> Result<Schema, DbErr> {
        let mut schema = Schema::default();

        for row in rows(
            db,
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
               AND a.attnum > 0 AND NOT a.attisdropped",
            vec![],
        )
        .await?
        {
            let table: String = row.try_get_by_index(0)?;
            if IGNORED_TABLES.contains(&table.as_str()) {
                continue;
            }
            let name: String = row.try_get_by_index(1)?;
            let data_type: String = row.try_get_by_index(2)?;
            let not_null: bool = row.try_get_by_index(3)?;
            let default: Option<String> = row.try_get_by_index(4)?;
            let identity: String = row.try_get_by_index(5)?;
            let column = Column {
                data_type: data_type.to_lowercase(),
                nullable: !not_null,
                default: match identity.as_str() {
                    "" => default,
                    "a" => Some("identity always".to_owned()),
                    _ => Some("identity by default".to_owned()),
                },
            };
            schema
                .tables
                .entry(table)
                .or_default()
                .columns
                .insert(name, column);
        }

        let columns_of = |key: &str, relation: &str| {
            format!(
                "(SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) \
                  FROM unnest(con.{key}) WITH ORDINALITY AS k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = con.{relation} AND a.attnum = k.attnum)"
            )
        };
        let constraints = format!(
            "SELECT c.relname::text, con.conname::text, con.contype::text, \
                    pg_get_constraintdef(con.oid), {}, f.relname::text, {}, \
                    con.confdeltype::text, con.confupdtype::text, \
                    con.condeferrable, con.condeferred \
             FROM pg_constraint con \
             JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_class f ON f.oid = con.confrelid \
             WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f', 'c')",
            columns_of("conkey", "conrelid"),
            columns_of("confkey", "confrelid"),
        );
        for row in rows(db, &constraints, vec![]).await? {
            let table_name: String = row.try_get_by_index(0)?;
            let Some(table) = schema.tables.get_mut(&table_name) else {
                continue;
            };
            let name: String = row.try_get_by_index(1)?;
            let kind: String = row.try_get_by_index(2)?;
            let definition: String = row.try_get_by_index(3)?;
            let columns = split_names(row.try_get_by_index(4)?);
            match kind.as_str() {
                "p" => table.primary_key = columns,
                "f" => {
                    table.foreign_keys.insert(ForeignKey {
                        columns,
                        foreign_table: row
                            .try_get_by_index::<Option<String>>(5)?
                            .unwrap_or_default(),
                        foreign_columns: split_names(row.try_get_by_index(6)?),
                        on_delete: action(&row.try_get_by_index::<String>(7)?),
                        on_update: action(&row.try_get_by_index::<String>(8)?),
                        deferrable: Deferrability::from_flags(
                            row.try_get_by_index(9)?,
                            row.try_get_by_index(10)?,
                        ),
                    });
                }
                _ => {
                    table
                        .checks
                        .insert(format!("{name}: {}", normalize_sql(&definition)));
                }
            }
        }

        for row in rows(
            db,
            "SELECT t.relname::text, i.relname::text, pg_get_indexdef(i.oid), ix.indisunique \
             FROM pg_index ix \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND NOT ix.indisprimary",
            vec![],
        )
        .await?
        {
            let table_name: String = row.try_get_by_index(0)?;
            let Some(table) = schema.tables.get_mut(&table_name) else {
                continue;
            };
            let name: String = row.try_get_by_index(1)?;
            let definition: String = row.try_get_by_index(2)?;
            let unique: bool = row.try_get_by_index(3)?;
            let (method, key, predicate, nulls_not_distinct) = parse_create_index(&definition)
                .ok_or_else(|| {
                    DbErr::Custom(format!("cannot parse index definition: {definition}"))
                })?;
            table.indexes.insert(
                name,
                Index {
                    unique,
                    method,
                    key,
                    predicate,
                    nulls_not_distinct,
                },
            );
        }

        let current: String = rows(db, "SELECT current_schema()::text", vec![])
            .await?
            .first()
            .ok_or_else(|| DbErr::Custom("no current schema".to_owned()))?
            .try_get_by_index(0)?;
        for def in SchemaDiscovery::new_no_exec(&current)
            .discover_enums_with(db)
            .await
            .map_err(discovery_error)?
        {
            schema.enums.insert(def.typename, def.values);
        }
        for row in rows(
            db,
            "SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql'",
            vec![],
        )
        .await?
        {
            schema.extensions.insert(row.try_get_by_index(0)?);
        }
        for row in rows(
            db,
            "SELECT t.tgname::text, c.relname::text, pg_get_triggerdef(t.oid) \
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT t.tgisinternal AND n.nspname = current_schema()",
            vec![],
        )
        .await?
        {
            let definition: String = row.try_get_by_index(2)?;
            schema.triggers.insert(
                row.try_get_by_index(0)?,
                Trigger {
                    table: row.try_get_by_index(1)?,
                    definition: normalize_sql(&definition),
                },
            );
        }
        // The schema's own functions: not those an extension (pg_trgm, pgcrypto) installs.
        for row in rows(
            db,
            "SELECT p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
                    pg_get_functiondef(p.oid) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p') \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass \
                               AND d.objid = p.oid AND d.deptype = 'e')",
            vec![],
        )
        .await?
        {
            let definition: String = row.try_get_by_index(1)?;
            schema
                .functions
                .insert(row.try_get_by_index(0)?, normalize_sql(&definition));
        }
        Ok(schema)
    }

    fn split_names(names: Option<String>) -> Vec<String> {
        names
            .map(|names| names.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// `pg_constraint.confdeltype`/`confupdtype` codes.
    fn action(code: &str) -> String {
        match code {
            "r" => "RESTRICT",
            "c" => "CASCADE",
            "n" => "SET NULL",
            "d" => "SET DEFAULT",
            _ => "NO ACTION",
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_and_postgres_index_definitions() {
        let (method, key, predicate, _) = parse_create_index(
            "CREATE INDEX \"idx_documents_extraction_type\" ON \"documents\" (\"extraction_type\") \
             WHERE \"extraction_type\" IS NOT NULL",
        )
        .unwrap();
        assert_eq!(method, "btree");
        assert_eq!(key, vec!["extraction_type"]);
        assert_eq!(predicate.as_deref(), Some("extraction_type is not null"));

        let (method, key, predicate, _) = parse_create_index(
            "CREATE INDEX idx_parties_name_trgm ON public.parties USING gin (name gin_trgm_ops)",
        )
        .unwrap();
        assert_eq!(method, "gin");
        assert_eq!(key, vec!["name gin_trgm_ops"]);
        assert_eq!(predicate, None);

        let (_, key, _, nulls) = parse_create_index(
            "CREATE UNIQUE INDEX k ON public.t USING btree (a, b) NULLS NOT DISTINCT",
        )
        .unwrap();
        assert_eq!(key, vec!["a", "b"]);
        assert!(nulls);
        let (_, _, _, nulls) =
            parse_create_index("CREATE UNIQUE INDEX k ON t (a) WHERE b = 'NULLS NOT DISTINCT'")
                .unwrap();
        assert!(!nulls, "only the clause before WHERE counts");

        let (_, key, predicate, _) = parse_create_index(
            "CREATE UNIQUE INDEX x ON public.t USING btree (lower((a)::text), b DESC) \
             WHERE (c IS NOT NULL)",
        )
        .unwrap();
        assert_eq!(key, vec!["lower((a)::text)", "b desc"]);
        assert_eq!(predicate.as_deref(), Some("c is not null"));
    }

    #[test]
    fn plain_columns_only_for_bare_keys() {
        let index = |key: &[&str]| Index {
            unique: false,
            method: "btree".to_owned(),
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            predicate: None,
            nulls_not_distinct: false,
        };
        assert_eq!(
            index(&["a", "b_c"]).plain_columns(),
            Some(vec!["a".into(), "b_c".into()])
        );
        assert_eq!(index(&["a desc"]).plain_columns(), None);
        assert_eq!(index(&["lower(a)"]).plain_columns(), None);
    }

    #[test]
    fn finds_sqlite_checks_but_not_lookalikes() {
        let found = sqlite::checks(
            "CREATE TABLE t (\"kind\" varchar(20) NOT NULL CHECK (\"kind\" IN ('person', 'org')), \
             \"checked\" boolean, \"x\" integer CHECK(x BETWEEN 0 AND 100))",
        );
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            vec![
                "kind in ('person', 'org')".to_owned(),
                "x between 0 and 100".to_owned()
            ]
        );
    }

    #[test]
    fn reads_sqlite_foreign_key_deferrability_from_the_table_definition() {
        use super::Deferrability::{InitiallyDeferred, InitiallyImmediate, NotDeferrable};
        let timings = sqlite::foreign_key_timings(
            "CREATE TABLE \"c\" ( \"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
             \"a_id\" integer REFERENCES \"a\" (\"id\") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, \
             b_id INTEGER CONSTRAINT fk_b REFERENCES b(id) NOT DEFERRABLE INITIALLY DEFERRED, \
             \"references_seen\" integer DEFAULT 0, \"x\" integer, \"y\" integer, \"z\" integer, \
             FOREIGN KEY (\"x\", \"y\") REFERENCES \"p\" (\"a\", \"b\") ON UPDATE NO ACTION DEFERRABLE, \
             CONSTRAINT fk_z FOREIGN KEY (z) REFERENCES q (id) DEFERRABLE INITIALLY IMMEDIATE, \
             FOREIGN KEY (\"z\") REFERENCES \"r\" (\"id\") )",
        );
        let key = |columns: &[&str], table: &str| {
            let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
            sqlite::timing_of(&timings, &columns, table)
        };
        assert_eq!(timings.len(), 5, "{timings:?}");
        assert_eq!(key(&["a_id"], "a"), InitiallyDeferred);
        assert_eq!(key(&["b_id"], "b"), NotDeferrable);
        assert_eq!(key(&["x", "y"], "p"), InitiallyImmediate);
        assert_eq!(key(&["z"], "q"), InitiallyImmediate);
        assert_eq!(key(&["z"], "r"), NotDeferrable);
        assert_eq!(key(&["nope"], "a"), NotDeferrable);
    }

    #[test]
    fn normalizing_keeps_literals_exactly() {
        assert_eq!(
            normalize_sql("  CHECK (\"Kind\"   IN ('A  b', 'It''s \"x\"'))  "),
            "check (kind in ('A  b', 'It''s \"x\"'))"
        );
    }

    #[test]
    fn diff_reports_each_difference() {
        let mut before = Schema::default();
        let mut table = Table::default();
        table.columns.insert(
            "a".into(),
            Column {
                data_type: "text".into(),
                nullable: true,
                default: None,
            },
        );
        before.tables.insert("t".into(), table.clone());
        let mut after = before.clone();
        assert!(before.diff(&after).is_empty());
        after
            .tables
            .get_mut("t")
            .unwrap()
            .columns
            .get_mut("a")
            .unwrap()
            .nullable = false;
        after.tables.insert("u".into(), Table::default());
        let diff = before.diff(&after);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(diff[0].contains("column `a`"));
        assert!(diff[1].contains("table `u` is new"));
    }
}
