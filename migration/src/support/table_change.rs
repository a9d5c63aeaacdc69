//! [`TableChange`]: one description of a change to an existing table, carried out on both
//! backends — `ALTER TABLE` on PostgreSQL, a rebuild from the live definition on SQLite.

use std::collections::BTreeMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::{exec, quote, rebuild};

/// One step of a [`TableChange`].
enum Step {
    Add(ColumnDef),
    Modify {
        column: ColumnDef,
        using: Option<String>,
    },
    Drop(String),
    ForeignKey(ForeignKeyCreateStatement),
    DropForeignKey(String),
    Check {
        name: String,
        expression: String,
    },
    DropCheck(String),
}

/// A change to an existing table — add, modify or drop columns, add or replace foreign keys —
/// written once and carried out on either backend.
///
/// - **PostgreSQL:** each step is an `ALTER TABLE` statement. A modified column takes exactly
///   the given definition: its type (converted with the `USING` expression if one is given),
///   its nullability, and its default (dropped if the definition has none). A foreign key
///   replaces any foreign key on the same column.
/// - **SQLite:** the table's stored `CREATE TABLE` text is edited — column definitions
///   replaced, appended or removed, foreign-key clauses replaced — and the table is rebuilt
///   into it with the same safety checks as [`super::SqliteRebuild`]: rows copied by column
///   name (a modified column through its conversion expression), indexes and triggers
///   re-created, no foreign-key violation introduced. This is the answer to everything SQLite
///   cannot `ALTER`: `NOT NULL`, defaults that are not constants (`CURRENT_TIMESTAMP`) on a
///   table with rows, type changes, foreign keys and their actions.
///
/// Backfills are separate `UPDATE`s, run before a column becomes `NOT NULL` (a step that
/// tightens a column fails on rows that violate it, on both backends).
pub struct TableChange {
    table: String,
    steps: Vec<Step>,
}

impl TableChange {
    /// Starts a change of `table`.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            steps: Vec::new(),
        }
    }

    /// Adds a column. On PostgreSQL existing rows take its default.
    pub fn add_column(mut self, column: ColumnDef) -> Self {
        self.steps.push(Step::Add(column));
        self
    }

    /// Gives an existing column exactly this definition (type, nullability, default).
    pub fn modify(mut self, column: ColumnDef) -> Self {
        self.steps.push(Step::Modify {
            column,
            using: None,
        });
        self
    }

    /// Like [`modify`](Self::modify), converting existing values with `expression` (an SQL
    /// expression over the old row, valid on the backend it runs on).
    pub fn modify_using(mut self, column: ColumnDef, expression: &str) -> Self {
        self.steps.push(Step::Modify {
            column,
            using: Some(expression.to_owned()),
        });
        self
    }

    /// Drops a column (and, on SQLite, any foreign-key clause on it). Drop the indexes that
    /// cover it first.
    pub fn drop_column(mut self, column: &str) -> Self {
        self.steps.push(Step::Drop(column.to_owned()));
        self
    }

    /// Adds a foreign key, replacing any foreign key on the same column. On PostgreSQL an
    /// unnamed key is named `<table>_<column>_fkey`, as PostgreSQL names an inline one.
    pub fn foreign_key(mut self, foreign_key: ForeignKeyCreateStatement) -> Self {
        self.steps.push(Step::ForeignKey(foreign_key));
        self
    }

    /// Drops the foreign key on `column`.
    pub fn drop_foreign_key(mut self, column: &str) -> Self {
        self.steps.push(Step::DropForeignKey(column.to_owned()));
        self
    }

    /// Adds the named check constraint `CHECK (expression)`.
    pub fn check(mut self, name: &str, expression: &str) -> Self {
        self.steps.push(Step::Check {
            name: name.to_owned(),
            expression: expression.to_owned(),
        });
        self
    }

    /// Drops the named check constraint.
    pub fn drop_check(mut self, name: &str) -> Self {
        self.steps.push(Step::DropCheck(name.to_owned()));
        self
    }

    /// Carries the change out on the manager's connection (the migration's transaction).
    ///
    /// # Errors
    /// Any database error; on SQLite also a table that does not exist, a column that is not
    /// there to modify or drop, and the rebuild's own refusals.
    pub async fn run(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => self.run_postgres(manager).await,
            _ => self.run_sqlite(manager).await,
        }
    }

    async fn run_postgres(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let table = quote(&self.table);
        for step in self.steps {
            match step {
                Step::Add(column) => {
                    manager
                        .alter_table(
                            Table::alter()
                                .table(Alias::new(self.table.as_str()))
                                .add_column(column)
                                .take(),
                        )
                        .await?;
                }
                Step::Modify { column, using } => {
                    let name = column.get_column_name();
                    let quoted = quote(&name);
                    let mut clauses = Vec::new();
                    if let Some(column_type) = column.get_column_type() {
                        let type_sql = postgres_clause(
                            ColumnDef::new_with_type(
                                Alias::new(name.as_str()),
                                column_type.clone(),
                            ),
                            " TYPE ",
                        )?;
                        let mut clause = format!("ALTER COLUMN {quoted} TYPE {type_sql}");
                        if let Some(expression) = &using {
                            clause.push_str(&format!(" USING {expression}"));
                        }
                        clauses.push(clause);
                    }
                    let spec = column.get_column_spec();
                    match &spec.default {
                        Some(default) => {
                            let default_sql = postgres_clause(
                                ColumnDef::new(Alias::new(name.as_str()))
                                    .default(default.clone())
                                    .take(),
                                " SET DEFAULT ",
                            )?;
                            clauses
                                .push(format!("ALTER COLUMN {quoted} SET DEFAULT {default_sql}"));
                        }
                        None => clauses.push(format!("ALTER COLUMN {quoted} DROP DEFAULT")),
                    }
                    let not_null = spec.nullable == Some(false) || spec.primary_key;
                    clauses.push(format!(
                        "ALTER COLUMN {quoted} {} NOT NULL",
                        if not_null { "SET" } else { "DROP" }
                    ));
                    exec(
                        manager,
                        &format!("ALTER TABLE {table} {}", clauses.join(", ")),
                    )
                    .await?;
                }
                Step::Drop(column) => {
                    exec(
                        manager,
                        &format!("ALTER TABLE {table} DROP COLUMN {}", quote(&column)),
                    )
                    .await?;
                }
                Step::ForeignKey(foreign_key) => {
                    let columns = foreign_key.get_foreign_key().get_columns();
                    for column in &columns {
                        drop_postgres_foreign_keys(manager, &self.table, column).await?;
                    }
                    let mut foreign_key = foreign_key;
                    if foreign_key.get_foreign_key().get_name().is_none() {
                        foreign_key.name(format!("{}_{}_fkey", self.table, columns.join("_")));
                    }
                    foreign_key.from_tbl(Alias::new(self.table.as_str()));
                    manager.create_foreign_key(foreign_key).await?;
                }
                Step::DropForeignKey(column) => {
                    drop_postgres_foreign_keys(manager, &self.table, &column).await?;
                }
                Step::Check { name, expression } => {
                    exec(
                        manager,
                        &format!(
                            "ALTER TABLE {table} ADD CONSTRAINT {} CHECK ({expression})",
                            quote(&name)
                        ),
                    )
                    .await?;
                }
                Step::DropCheck(name) => {
                    exec(
                        manager,
                        &format!("ALTER TABLE {table} DROP CONSTRAINT {}", quote(&name)),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn run_sqlite(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                vec![self.table.as_str().into()],
            ))
            .await?
            .ok_or_else(|| DbErr::Migration(format!("table `{}` does not exist", self.table)))?;
        let sql: String = row.try_get_by_index(0)?;
        let open = sql.find('(').ok_or_else(|| malformed(&self.table))?;
        let close = sql.rfind(')').ok_or_else(|| malformed(&self.table))?;
        let mut parts: Vec<String> = split_top_level(&sql[open + 1..close]);
        let mut expressions = BTreeMap::new();

        for step in self.steps {
            match step {
                Step::Add(column) => {
                    let at = parts
                        .iter()
                        .position(|part| column_name(part).is_none())
                        .unwrap_or(parts.len());
                    parts.insert(at, render_column(&column));
                }
                Step::Modify { column, using } => {
                    let name = column.get_column_name();
                    let at =
                        find_column(&parts, &name).ok_or_else(|| missing(&self.table, &name))?;
                    parts[at] = render_column(&column);
                    if let Some(expression) = using {
                        expressions.insert(name, expression);
                    }
                }
                Step::Drop(column) => {
                    let at = find_column(&parts, &column)
                        .ok_or_else(|| missing(&self.table, &column))?;
                    parts.remove(at);
                    parts.retain(|part| foreign_key_columns(part) != Some(vec![column.clone()]));
                }
                Step::ForeignKey(foreign_key) => {
                    let columns = foreign_key.get_foreign_key().get_columns();
                    parts.retain(|part| foreign_key_columns(part) != Some(columns.clone()));
                    parts.push(render_foreign_key(&foreign_key)?);
                }
                Step::DropForeignKey(column) => {
                    parts.retain(|part| foreign_key_columns(part) != Some(vec![column.clone()]));
                }
                Step::Check { name, expression } => {
                    parts.push(format!("CONSTRAINT {} CHECK ({expression})", quote(&name)));
                }
                Step::DropCheck(name) => {
                    let prefix = format!("CONSTRAINT {}", quote(&name));
                    parts.retain(|part| !part.starts_with(&prefix));
                }
            }
        }

        let columns: Vec<String> = parts.iter().filter_map(|part| column_name(part)).collect();
        let temporary = format!("_lifeos_rebuild_{}", self.table);
        let create = format!(
            "CREATE TABLE {} ( {} )",
            quote(&temporary),
            parts.join(", ")
        );
        rebuild(manager, &self.table, &create, &columns, &expressions).await
    }
}

/// Drops every PostgreSQL foreign key of `table` whose only column is `column`.
async fn drop_postgres_foreign_keys(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT c.conname FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema() \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (c.conkey) \
             WHERE c.contype = 'f' AND t.relname = $1 AND a.attname = $2 \
             AND array_length(c.conkey, 1) = 1",
            vec![table.into(), column.into()],
        ))
        .await?;
    for row in rows {
        let name: String = row.try_get_by_index(0)?;
        exec(
            manager,
            &format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                quote(table),
                quote(&name)
            ),
        )
        .await?;
    }
    Ok(())
}

fn malformed(table: &str) -> DbErr {
    DbErr::Migration(format!("cannot read the definition of table `{table}`"))
}

fn missing(table: &str, column: &str) -> DbErr {
    DbErr::Migration(format!("table `{table}` has no column `{column}`"))
}

/// A column definition as SQLite's `CREATE TABLE` renders it.
fn render_column(column: &ColumnDef) -> String {
    let sql = Table::create()
        .table(Alias::new("t"))
        .col(column.clone())
        .to_string(SqliteQueryBuilder);
    inner(&sql)
}

/// What sea-query renders after `marker` in `ALTER TABLE t ALTER COLUMN …` for `column` on
/// PostgreSQL (its type after ` TYPE `, its default after ` SET DEFAULT `).
fn postgres_clause(column: ColumnDef, marker: &str) -> Result<String, DbErr> {
    let sql = Table::alter()
        .table(Alias::new("t"))
        .modify_column(column)
        .to_string(PostgresQueryBuilder);
    sql.split_once(marker)
        .map(|(_, rest)| rest.to_owned())
        .ok_or_else(|| DbErr::Migration(format!("cannot render `{marker}` from `{sql}`")))
}

/// A foreign-key clause as SQLite's `CREATE TABLE` renders it.
fn render_foreign_key(foreign_key: &ForeignKeyCreateStatement) -> Result<String, DbErr> {
    let mut foreign_key = foreign_key.clone();
    foreign_key.from_tbl(Alias::new("t"));
    let mut create = Table::create();
    create.table(Alias::new("t"));
    for column in foreign_key.get_foreign_key().get_columns() {
        create.col(ColumnDef::new(Alias::new(column.as_str())).integer());
    }
    let sql = create
        .foreign_key(&mut foreign_key)
        .to_string(SqliteQueryBuilder);
    split_top_level(&inner(&sql))
        .into_iter()
        .find(|part| foreign_key_columns(part).is_some())
        .ok_or_else(|| DbErr::Migration(format!("cannot render a foreign key from `{sql}`")))
}

/// The text between the outermost parentheses of a `CREATE TABLE`.
fn inner(sql: &str) -> String {
    match (sql.find('('), sql.rfind(')')) {
        (Some(open), Some(close)) if open < close => sql[open + 1..close].trim().to_owned(),
        _ => String::new(),
    }
}

pub use lifeos_schema::split_top_level;

/// The first token of a definition, unquoted.
fn first_token(part: &str) -> String {
    let part = part.trim();
    if let Some(rest) = part.strip_prefix('"') {
        return rest.split('"').next().unwrap_or_default().to_owned();
    }
    part.split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default()
        .trim_matches(|c| c == '`' || c == '[' || c == ']')
        .to_owned()
}

/// The column a definition declares, or `None` for a table constraint.
fn column_name(part: &str) -> Option<String> {
    let token = first_token(part);
    let quoted = part.trim_start().starts_with('"');
    let keyword = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
        .iter()
        .any(|k| token.eq_ignore_ascii_case(k));
    (quoted || !keyword).then_some(token)
}

fn find_column(parts: &[String], name: &str) -> Option<usize> {
    parts
        .iter()
        .position(|part| column_name(part).as_deref() == Some(name))
}

/// The columns of a `FOREIGN KEY (…)` clause, or `None` for anything else.
fn foreign_key_columns(part: &str) -> Option<Vec<String>> {
    if column_name(part).is_some() {
        return None;
    }
    let upper = part.to_ascii_uppercase();
    let at = upper.find("FOREIGN KEY")?;
    let rest = &part[at + "FOREIGN KEY".len()..];
    let open = rest.find('(')?;
    let close = rest.find(')')?;
    Some(
        rest[open + 1..close]
            .split(',')
            .map(|column| column.trim().trim_matches('"').to_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_definitions_and_recognises_constraints() {
        let parts = split_top_level(
            "\"id\" integer NOT NULL PRIMARY KEY, \"kind\" text CHECK (\"kind\" IN ('a', 'b,c')), \
             b text default 'x', FOREIGN KEY (\"id\") REFERENCES \"u\" (\"id\") ON DELETE CASCADE",
        );
        assert_eq!(parts.len(), 4);
        assert_eq!(column_name(&parts[1]).as_deref(), Some("kind"));
        assert_eq!(column_name(&parts[2]).as_deref(), Some("b"));
        assert_eq!(column_name(&parts[3]), None);
        assert_eq!(foreign_key_columns(&parts[3]), Some(vec!["id".to_owned()]));
        assert_eq!(foreign_key_columns(&parts[0]), None);
    }

    #[test]
    fn renders_columns_and_foreign_keys_for_sqlite() {
        let column = ColumnDef::new(Alias::new("n"))
            .integer()
            .not_null()
            .default(0)
            .take();
        assert_eq!(render_column(&column), "\"n\" integer NOT NULL DEFAULT 0");
        let key = ForeignKey::create()
            .from(Alias::new("a"), Alias::new("user_id"))
            .to(Alias::new("user"), Alias::new("id"))
            .on_delete(ForeignKeyAction::Cascade)
            .take();
        let rendered = render_foreign_key(&key).expect("rendered");
        assert!(
            rendered.starts_with("FOREIGN KEY (\"user_id\") REFERENCES \"user\""),
            "{rendered}"
        );
        assert!(rendered.ends_with("ON DELETE CASCADE"), "{rendered}");
    }
}
