//! Building blocks shared by the migrations.
//!
//! These helpers are part of frozen history: a migration that calls one relies on its
//! behaviour on the day it landed. Change a helper only in ways that leave every existing
//! migration's effect identical — the chain's step-by-step test is the proof.

use std::collections::BTreeMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

mod table_change;
pub use table_change::{TableChange, split_top_level};

/// `DEFAULT` for "now, in UTC" on a `TIMESTAMP WITHOUT TIME ZONE` column.
///
/// The originals used `now()`, which PostgreSQL converts to the *session's* time zone when it
/// is stored in a zone-less column; instants in LifeOS are UTC (DECISIONS 8), so PostgreSQL
/// gets `timezone('utc', now())`. SQLite's `CURRENT_TIMESTAMP` is already UTC.
pub fn utc_now(backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust("timezone('utc', now())"),
        _ => Expr::current_timestamp(),
    }
}

/// `DEFAULT` for "now" on a `TIMESTAMPTZ` column: `now()` on PostgreSQL (as the Life Graph
/// seed writes it), `CURRENT_TIMESTAMP` on SQLite, which has no `now()`.
pub fn now(backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust("now()"),
        _ => Expr::current_timestamp(),
    }
}

/// A list-of-text column (DECISIONS 5): `TEXT[] DEFAULT '{}'` on PostgreSQL, a JSON array in
/// a TEXT column (`json_text DEFAULT '[]'`) on SQLite. Nullable, as the Life Graph seed has it.
pub fn text_list(name: &str, backend: DbBackend) -> ColumnDef {
    let mut column = ColumnDef::new(Alias::new(name));
    match backend {
        DbBackend::Postgres => column
            .array(ColumnType::Text)
            .null()
            .default(Expr::cust("'{}'")),
        _ => column.json().null().default("[]"),
    };
    column
}

/// An enumerated column (DECISIONS 5): the native enum type `type_name` on PostgreSQL (create
/// the type first); on SQLite a TEXT column checked against the same values.
pub fn enumeration(name: &str, type_name: &str, values: &[&str], backend: DbBackend) -> ColumnDef {
    let mut column = ColumnDef::new(Alias::new(name));
    column.enumeration(
        Alias::new(type_name),
        values.iter().map(|value| Alias::new(*value)),
    );
    if backend == DbBackend::Sqlite {
        column.check(Expr::col(Alias::new(name)).is_in(values.iter().copied()));
    }
    column
}

/// `CREATE TYPE name AS ENUM (values)` — PostgreSQL only.
pub fn create_enum_type(name: &str, values: &[&str]) -> String {
    let values: Vec<String> = values
        .iter()
        .map(|value| format!("'{}'", value.replace('\'', "''")))
        .collect();
    format!("CREATE TYPE {name} AS ENUM ({})", values.join(", "))
}

/// A named (non-unique) index on `columns` of `table`.
pub fn index(name: &str, table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(Alias::new(table));
    for column in columns {
        stmt.col(Alias::new(*column));
    }
    stmt
}

/// A named unique index on `columns` of `table`.
pub fn unique_index(name: &str, table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut stmt = index(name, table, columns);
    stmt.unique();
    stmt
}

/// The single-column index SQLAlchemy's `index=True` produced: `ix_<table>_<column>`.
pub fn ix(table: &str, column: &str) -> IndexCreateStatement {
    index(&format!("ix_{table}_{column}"), table, &[column])
}

/// A foreign key `table.column → ref_table.id` without an `ON DELETE` action (the originals'
/// default; DECISIONS 7 keeps them in Part 1). Unnamed, so each backend names it as the
/// originals' DDL did.
pub fn fk(table: &str, column: &str, ref_table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(ref_table), Alias::new("id"))
        .take()
}

/// Runs one raw SQL statement.
pub async fn exec(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
}

/// Drops the named indexes of `table` (in the given order).
pub async fn drop_indexes(
    manager: &SchemaManager<'_>,
    table: &str,
    names: &[&str],
) -> Result<(), DbErr> {
    for name in names {
        manager
            .drop_index(
                Index::drop()
                    .name(*name)
                    .table(Alias::new(table))
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Double-quotes an SQL identifier.
fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Rebuilds a SQLite table into a new definition — the one way this chain changes what SQLite
/// cannot `ALTER` (constraints, `NOT NULL`, foreign-key actions).
///
/// It follows SQLite's documented procedure: create the new table under a temporary name, copy
/// the rows, drop the old table, rename the new one, re-create the old table's indexes and
/// triggers, and check foreign keys. Columns are copied by name; a column of the new
/// definition that the old table lacks takes its default unless [`column_from`] gives an
/// expression over the old row.
///
/// Safety rules, enforced rather than hoped for:
/// - Dropping a table that others reference would fire their `ON DELETE` actions (cascades
///   delete rows) while SQLite enforces foreign keys, and `PRAGMA foreign_keys` cannot change
///   inside the migration's transaction. [`crate::Migrator`] therefore runs every migration
///   with enforcement off; if it is on anyway (a caller passed its own transaction, or a pool
///   with several connections), rebuilding a referenced table fails with a clear error and
///   nothing is changed.
/// - After the copy, `PRAGMA foreign_key_check` runs on the table and on every table that
///   references it; the rebuild fails if it introduced a violation (violations that already
///   existed are not the rebuild's to fix).
/// - Index and trigger SQL is re-executed verbatim, so drop an index before removing a column
///   it covers.
/// - An `AUTOINCREMENT` table keeps its `sqlite_sequence` counter (the larger of the old
///   table's and the copied rows' largest id), so an id deleted before the rebuild is never
///   handed out again.
///
/// [`column_from`]: SqliteRebuild::column_from
pub struct SqliteRebuild {
    table: String,
    definition: TableCreateStatement,
    expressions: BTreeMap<String, String>,
}

impl SqliteRebuild {
    /// Prepares a rebuild of `table` into `definition` (its name is ignored and replaced).
    pub fn new(table: &str, definition: TableCreateStatement) -> Self {
        Self {
            table: table.to_owned(),
            definition,
            expressions: BTreeMap::new(),
        }
    }

    /// Fills `column` of the new table from an SQL expression over the old row (a backfill).
    pub fn column_from(mut self, column: &str, sql_expression: &str) -> Self {
        self.expressions
            .insert(column.to_owned(), sql_expression.to_owned());
        self
    }

    /// Performs the rebuild on the manager's connection (the migration's transaction).
    ///
    /// # Errors
    /// Fails on a non-SQLite backend, when the table is referenced while foreign keys are
    /// enforced, when the copy introduces foreign-key violations, or on any database error.
    pub async fn run(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Err(DbErr::Migration(format!(
                "SqliteRebuild of `{}` called on a non-SQLite backend",
                self.table
            )));
        }
        let mut definition = self.definition;
        let temporary = format!("_lifeos_rebuild_{}", self.table);
        definition.table(Alias::new(temporary.as_str()));
        let create = definition.to_string(SqliteQueryBuilder);
        let columns: Vec<String> = definition
            .get_columns()
            .iter()
            .map(|column| column.get_column_name())
            .collect();
        rebuild(manager, &self.table, &create, &columns, &self.expressions).await
    }
}

/// Rebuilds SQLite table `table` into the table that `create_sql` defines — a `CREATE TABLE`
/// of `table` as `sqlite_master` keeps it (read from another database, say) — copying every
/// column the two share by name. Otherwise as [`SqliteRebuild::run`]: the table's indexes
/// and triggers are re-created verbatim, its `AUTOINCREMENT` counter is kept, and the rebuild
/// fails if it would introduce foreign-key violations.
///
/// # Errors
/// Fails when `create_sql` is not a `CREATE TABLE` of `table`, and as [`SqliteRebuild::run`].
pub async fn rebuild_from_sql(
    manager: &SchemaManager<'_>,
    table: &str,
    create_sql: &str,
) -> Result<(), DbErr> {
    let not_it = || {
        DbErr::Migration(format!(
            "rebuilding `{table}`: not a CREATE TABLE of it: {create_sql}"
        ))
    };
    let head = "CREATE TABLE ";
    let rest = create_sql
        .get(..head.len())
        .filter(|start| start.eq_ignore_ascii_case(head))
        .and_then(|_| create_sql.get(head.len()..))
        .ok_or_else(not_it)?
        .trim_start();
    let rest = [
        quote(table),
        format!("`{table}`"),
        format!("[{table}]"),
        table.to_owned(),
    ]
    .iter()
    .find_map(|name| rest.strip_prefix(name.as_str()))
    .filter(|after| after.starts_with([' ', '(', '\n', '\t']))
    .ok_or_else(not_it)?;
    let create = format!(
        "CREATE TABLE {}{rest}",
        quote(&format!("_lifeos_rebuild_{table}"))
    );
    rebuild(manager, table, &create, &[], &BTreeMap::new()).await
}

/// Rebuilds SQLite table `table` by `create` (a `CREATE TABLE` of `_lifeos_rebuild_<table>`
/// whose columns are `columns`, or all the new table has when empty), copying rows by column
/// name or through `expressions`.
async fn rebuild(
    manager: &SchemaManager<'_>,
    table: &str,
    create: &str,
    columns: &[String],
    expressions: &BTreeMap<String, String>,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let referencing = referencing_tables(db, table).await?;
    if !referencing.is_empty() && foreign_keys_enforced(db).await? {
        return Err(DbErr::Migration(format!(
            "cannot rebuild `{table}` while SQLite enforces foreign keys: dropping it would \
             fire the ON DELETE actions of {referencing:?}. Run the chain through \
             lifeos_migration::Migrator on a connection (not inside your own transaction)."
        )));
    }
    let mut checked = referencing;
    checked.push(table.to_owned());
    let violations_before = foreign_key_violations(db, &checked).await?;

    let saved_sql = query_strings(
        db,
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') \
         AND sql IS NOT NULL ORDER BY type, name",
        vec![table.into()],
    )
    .await?;
    let old_columns = query_strings(
        db,
        "SELECT name FROM pragma_table_info(?)",
        vec![table.into()],
    )
    .await?;

    let temporary = format!("_lifeos_rebuild_{table}");
    exec(manager, create).await?;
    let read_columns;
    let columns = if columns.is_empty() {
        read_columns = query_strings(
            db,
            "SELECT name FROM pragma_table_info(?)",
            vec![temporary.as_str().into()],
        )
        .await?;
        &read_columns[..]
    } else {
        columns
    };

    let mut targets = Vec::new();
    let mut sources = Vec::new();
    for name in columns {
        if let Some(expression) = expressions.get(name) {
            sources.push(expression.clone());
        } else if old_columns.contains(name) {
            sources.push(quote(name));
        } else {
            continue;
        }
        targets.push(quote(name));
    }
    exec(
        manager,
        &format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            quote(&temporary),
            targets.join(", "),
            sources.join(", "),
            quote(table)
        ),
    )
    .await?;
    // Read before the drop, which deletes the table's `sqlite_sequence` row.
    let counter = autoincrement_counter(db, table).await?;
    exec(manager, &format!("DROP TABLE {}", quote(table))).await?;
    exec(
        manager,
        &format!(
            "ALTER TABLE {} RENAME TO {}",
            quote(&temporary),
            quote(table)
        ),
    )
    .await?;
    if let Some(counter) = counter {
        keep_autoincrement_counter(db, table, counter).await?;
    }
    for sql in saved_sql {
        exec(manager, &sql).await?;
    }

    let violations_after = foreign_key_violations(db, &checked).await?;
    let introduced: Vec<_> = violations_after
        .iter()
        .filter(|(key, count)| violations_before.get(*key).unwrap_or(&0) < *count)
        .collect();
    if !introduced.is_empty() {
        return Err(DbErr::Migration(format!(
            "rebuilding `{table}` would leave rows whose foreign keys point nowhere \
             ((child, parent) → rows): {introduced:?}"
        )));
    }
    Ok(())
}

/// The `sqlite_sequence` counter of `table`: the largest id an `AUTOINCREMENT` table has ever
/// handed out, `None` when SQLite keeps none (not `AUTOINCREMENT`, or never had a row).
/// `sqlite_sequence` itself exists only once some `AUTOINCREMENT` table does.
async fn autoincrement_counter<C: ConnectionTrait>(
    db: &C,
    table: &str,
) -> Result<Option<i64>, DbErr> {
    let sequence_exists = !query_strings(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
        vec![],
    )
    .await?
    .is_empty();
    if !sequence_exists {
        return Ok(None);
    }
    db.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "SELECT CAST(seq AS INTEGER) FROM sqlite_sequence WHERE name = ?",
        vec![table.into()],
    ))
    .await?
    .map(|row| row.try_get_by_index::<i64>(0))
    .transpose()
}

/// Carries an `AUTOINCREMENT` counter over a rebuild.
///
/// Copying the rows leaves the rebuilt table's counter at the largest *copied* id (the drop
/// deletes the old table's `sqlite_sequence` row, the rename moves the new table's), so ids of
/// rows deleted before the rebuild would be handed out again — which `AUTOINCREMENT` exists to
/// prevent. The counter becomes the larger of the old table's (`counter`) and the copied rows'.
///
/// DECISIONS 19(b): this leaves every migration's resulting schema and rows identical (the
/// copied rows, the table definition, indexes and triggers are untouched; `sqlite_sequence` is
/// SQLite's bookkeeping, not part of the schema); it only changes which ids rows inserted after
/// the rebuild receive — never one that the table had already used. A table the rebuild makes
/// plain `INTEGER PRIMARY KEY` (no `AUTOINCREMENT`) gets no counter.
async fn keep_autoincrement_counter<C: ConnectionTrait>(
    db: &C,
    table: &str,
    counter: i64,
) -> Result<(), DbErr> {
    let definition = query_strings(
        db,
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
        vec![table.into()],
    )
    .await?;
    if !definition
        .iter()
        .any(|sql| sql.to_ascii_uppercase().contains("AUTOINCREMENT"))
    {
        return Ok(());
    }
    // `sqlite_sequence` has no unique key on `name`: update the row, or insert it when the
    // copy made none (no rows copied).
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?",
        vec![counter.into(), table.into()],
    ))
    .await?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? \
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
        vec![table.into(), counter.into(), table.into()],
    ))
    .await?;
    Ok(())
}

/// Whether this SQLite connection currently enforces foreign keys.
pub(crate) async fn foreign_keys_enforced<C: ConnectionTrait>(db: &C) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_keys",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get_by_index::<i32>(0)? != 0,
        None => false,
    })
}

/// Tables (other than `table`) with a foreign key into `table`.
async fn referencing_tables<C: ConnectionTrait>(db: &C, table: &str) -> Result<Vec<String>, DbErr> {
    query_strings(
        db,
        "SELECT DISTINCT m.name FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f \
         WHERE m.type = 'table' AND f.\"table\" = ? AND m.name <> ? ORDER BY m.name",
        vec![table.into(), table.into()],
    )
    .await
}

/// Foreign-key violations of `tables`, counted per (child table, parent table).
async fn foreign_key_violations<C: ConnectionTrait>(
    db: &C,
    tables: &[String],
) -> Result<BTreeMap<(String, String), usize>, DbErr> {
    let mut counts = BTreeMap::new();
    for table in tables {
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("PRAGMA foreign_key_check({})", quote(table)),
            ))
            .await?;
        for row in rows {
            let child: String = row.try_get_by_index(0)?;
            let parent: String = row.try_get_by_index(2)?;
            *counts.entry((child, parent)).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// The first column of every row of a parameterised SQLite query, as strings.
async fn query_strings<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<String>, DbErr> {
    db.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        sql,
        values,
    ))
    .await?
    .iter()
    .map(|row| row.try_get_by_index::<String>(0))
    .collect()
}

/// SQL for a name normalized as the services normalize it: lowercase, trimmed, inner runs of
/// whitespace collapsed to one space. PostgreSQL uses a regular expression; SQLite, which has
/// none, turns tabs and newlines into spaces and halves runs of spaces (runs of up to 64).
pub fn normalized_name_sql(column: &str, backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("lower(trim(regexp_replace({column}, '\\s+', ' ', 'g')))")
        }
        _ => {
            let mut sql = format!(
                "replace(replace(replace({column}, char(9), ' '), char(10), ' '), char(13), ' ')"
            );
            for _ in 0..6 {
                sql = format!("replace({sql}, '  ', ' ')");
            }
            format!("lower(trim({sql}))")
        }
    }
}

/// SQL converting a text column to an integer where it holds one (optional sign, up to nine
/// digits, surrounding spaces allowed) and to `NULL` otherwise — never an error on
/// PostgreSQL, never a silent `0` on SQLite.
pub fn integer_or_null_sql(column: &str, backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "CASE WHEN {column} ~ '^\\s*-?[0-9]{{1,9}}\\s*$' THEN trim({column})::integer END"
        ),
        _ => {
            let x = format!("trim({column})");
            let digits =
                format!("(CASE WHEN substr({x}, 1, 1) = '-' THEN substr({x}, 2) ELSE {x} END)");
            format!(
                "CASE WHEN {digits} <> '' AND length({digits}) <= 9 \
                 AND {digits} NOT GLOB '*[^0-9]*' THEN CAST({x} AS INTEGER) END"
            )
        }
    }
}

/// SQL for a slug as the finance service makes one (DECISIONS 11): lowercase, every run of
/// characters other than letters and digits turned into one `-`, no leading or trailing
/// `-`, `uncategorized` when nothing is left. SQLite has no regular expressions, so it
/// replaces the punctuation and whitespace that occur in names (ASCII), then collapses runs.
pub fn slug_sql(column: &str, backend: DbBackend) -> String {
    let body = match backend {
        DbBackend::Postgres => {
            format!("trim(BOTH '-' FROM regexp_replace(lower({column}), '[^a-z0-9]+', '-', 'g'))")
        }
        _ => {
            let mut sql = format!("lower({column})");
            for c in [
                " ", "_", "/", "\\", "&", ".", ",", ":", ";", "'", "\"", "(", ")", "+", "*", "!",
                "?", "#", "@", "%", "$", "=", "|", "[", "]", "{", "}", "<", ">", "~", "^", "`",
            ] {
                sql = format!("replace({sql}, '{}', '-')", c.replace('\'', "''"));
            }
            for token in ["char(9)", "char(10)", "char(13)"] {
                sql = format!("replace({sql}, {token}, '-')");
            }
            for _ in 0..6 {
                sql = format!("replace({sql}, '--', '-')");
            }
            format!("trim({sql}, '-')")
        }
    };
    format!("COALESCE(NULLIF({body}, ''), 'uncategorized')")
}

/// SQL for the calendar day of a `TIMESTAMP` column (`date(…)` on SQLite, where a cast to
/// `DATE` yields a number).
pub fn day_of_sql(column: &str, backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST({column} AS DATE)"),
        _ => format!("date({column})"),
    }
}

/// The error a `down` returns when its migration cannot be undone without losing data. The
/// message starts with `irreversible migration`, which the chain's tests look for.
pub fn irreversible(migration: &str, why: &str) -> DbErr {
    DbErr::Migration(format!(
        "irreversible migration `{migration}`: {why}. Restore a backup taken before it to go back."
    ))
}

/// SQL for "now, in UTC" as a value in a statement (what [`utc_now`] is as a default).
pub fn utc_now_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "timezone('utc', now())",
        _ => "CURRENT_TIMESTAMP",
    }
}
