//! Drift between the entities and the schema the migrations build.
//!
//! [`EntityTable::of`] describes an entity the way SeaORM would create its table on a backend
//! (`Schema::create_table_from_entity` and `create_index_from_entity`, which only build
//! statements). [`compare`] holds those descriptions against a [`Schema`] snapshot of a
//! database migrated to head, table by table: every table has an entity and every entity a
//! table, with the same columns, column types, nullability, primary key, foreign keys (with
//! their actions), unique keys, single-column indexes, and the values of every enumerated
//! column (a native `Enum` column's variants, or a string-backed `ActiveEnum` registered with
//! [`EntityTable::with_enum`]) against the column's PostgreSQL enum type or its CHECK list.
//!
//! What an entity cannot express is not compared here: partial, expression, descending, GIN
//! and multi-column non-unique indexes, check constraints, defaults, and when a foreign key is
//! checked (its deferrability). The step-by-step migration test covers those, and tests name
//! the indexes that matter. A plain index on a column that is already unique is redundant and
//! ignored on both sides.
//!
//! Types are compared as each backend spells them. On SQLite the declared type is exactly what
//! sea-query rendered in the migration, so the entity's type is rendered the same way; one
//! rule is added (DECISIONS 5): a PostgreSQL array column is a JSON text column on SQLite.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::{
    Alias, ColumnDef, ColumnType, PostgresQueryBuilder, SqliteQueryBuilder, Table as QueryTable,
    TableRef,
};
use sea_orm::{ActiveEnum, DbBackend, EntityTrait, Schema as EntitySchema};

use crate::schema::{Deferrability, ForeignKey, Schema};

/// An entity's table, as the entity describes it for one backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityTable {
    /// Table name.
    pub name: String,
    /// Column name → (type as the backend spells it, nullable).
    pub columns: BTreeMap<String, (String, bool)>,
    /// Primary-key columns.
    pub primary_key: Vec<String>,
    /// Foreign keys from `belongs_to` relations.
    pub foreign_keys: BTreeSet<ForeignKey>,
    /// Unique keys (column sets, sorted).
    pub unique_keys: BTreeSet<Vec<String>>,
    /// Columns with a single-column, non-unique index (`#[sea_orm(indexed)]`).
    pub indexed: BTreeSet<String>,
    /// Enumerated columns and the values the entity allows.
    pub enums: BTreeMap<String, BTreeSet<String>>,
}

impl EntityTable {
    /// Describes entity `E` as SeaORM would create it on `backend`.
    pub fn of<E: EntityTrait + Default>(backend: DbBackend) -> Self {
        let helper = EntitySchema::new(backend);
        let create = helper.create_table_from_entity(E::default());
        let mut table = EntityTable {
            name: E::default().table_name().to_owned(),
            columns: BTreeMap::new(),
            primary_key: Vec::new(),
            foreign_keys: BTreeSet::new(),
            unique_keys: BTreeSet::new(),
            indexed: BTreeSet::new(),
            enums: BTreeMap::new(),
        };
        for column in create.get_columns() {
            let name = column.get_column_name();
            let spec = column.get_column_spec();
            let data_type = column
                .get_column_type()
                .map(|ty| render_type(ty, backend))
                .unwrap_or_default();
            if let Some(ColumnType::Enum { variants, .. }) = column.get_column_type() {
                table.enums.insert(
                    name.clone(),
                    variants.iter().map(|variant| variant.to_string()).collect(),
                );
            }
            table
                .columns
                .insert(name.clone(), (data_type, spec.nullable != Some(false)));
            if spec.primary_key {
                table.primary_key.push(name.clone());
            }
            if spec.unique {
                table.unique_keys.insert(vec![name]);
            }
        }
        for index in create.get_indexes() {
            if index.is_primary_key() {
                table.primary_key = index.get_index_spec().get_column_names();
            }
        }
        for fk in create.get_foreign_key_create_stmts() {
            let fk = fk.get_foreign_key();
            table.foreign_keys.insert(ForeignKey {
                columns: fk.get_columns(),
                foreign_table: fk.get_ref_table().map(table_name).unwrap_or_default(),
                foreign_columns: fk.get_ref_columns(),
                on_delete: action(fk.get_on_delete()),
                on_update: action(fk.get_on_update()),
                // Entities cannot declare it; `compare` leaves it out.
                deferrable: Deferrability::NotDeferrable,
            });
        }
        for index in helper.create_index_from_entity(E::default()) {
            let mut columns = index.get_index_spec().get_column_names();
            if index.is_unique_key() {
                columns.sort();
                table.unique_keys.insert(columns);
            } else if let [column] = columns.as_slice() {
                table.indexed.insert(column.clone());
            }
        }
        table
    }
}

impl EntityTable {
    /// Registers `column` as holding the string values of `A` (a string-backed
    /// `DeriveActiveEnum`, whose column type alone does not say which values it allows).
    #[must_use]
    pub fn with_enum<A: ActiveEnum<Value = String>>(mut self, column: &str) -> Self {
        self.enums
            .insert(column.to_owned(), A::values().into_iter().collect());
        self
    }
}

/// The values the database allows in `column` of `table`: its PostgreSQL enum type's, or the
/// string literals of the CHECK constraints that name it and no other column of the table
/// (`None` when neither exists). A check over two columns — a subtype that must belong to its
/// type — holds both columns' values, so it says nothing about either list.
fn allowed_values(
    schema: &Schema,
    table: &crate::schema::Table,
    column: &str,
) -> Option<BTreeSet<String>> {
    if let Some(values) = table
        .columns
        .get(column)
        .and_then(|def| schema.enums.get(def.data_type.trim_matches('"')))
    {
        return Some(values.iter().cloned().collect());
    }
    // The columns named as words of the check outside string literals and `::type` casts
    // (so `kind in ('type')` does not name a column `type`, nor `::text` a column `text`).
    let named_columns = |check: &str| -> BTreeSet<String> {
        let mut code = String::new();
        let mut in_literal = false;
        for c in check.chars() {
            if c == '\'' {
                in_literal = !in_literal;
                code.push(' ');
            } else if !in_literal {
                code.push(c);
            }
        }
        code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .filter(|word| table.columns.contains_key(*word))
            .map(str::to_owned)
            .collect()
    };
    let literals: BTreeSet<String> = table
        .checks
        .iter()
        .filter(|check| {
            let named = named_columns(check);
            named.len() == 1 && named.contains(column)
        })
        .flat_map(|check| string_literals(check))
        .collect();
    (!literals.is_empty()).then_some(literals)
}

/// The single-quoted string literals of an SQL expression, unescaped.
fn string_literals(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                    continue;
                }
                break;
            }
            literal.push(c);
        }
        out.push(literal);
    }
    out
}

/// The differences between the entities and a snapshot of the migrated database, one line
/// each (empty when they agree). Every table needs exactly one entity and every entity its
/// table: there is no exception list.
pub fn compare(schema: &Schema, entities: &[EntityTable], backend: DbBackend) -> Vec<String> {
    let mut out = Vec::new();
    let mut by_name: BTreeMap<&str, &EntityTable> = BTreeMap::new();
    for entity in entities {
        if by_name.insert(entity.name.as_str(), entity).is_some() {
            out.push(format!("two entities map table `{}`", entity.name));
        }
    }
    for name in schema.tables.keys() {
        if !by_name.contains_key(name.as_str()) {
            out.push(format!("table `{name}` has no entity"));
        }
    }
    for (name, entity) in &by_name {
        match schema.tables.get(*name) {
            None => out.push(format!("entity for `{name}` has no table")),
            Some(table) => {
                compare_table(name, entity, table, backend, &mut out);
                for (column, values) in &entity.enums {
                    match allowed_values(schema, table, column) {
                        None => out.push(format!(
                            "`{name}.{column}`: an enumeration in the entity, but neither an \
                             enum type nor a CHECK list in the table"
                        )),
                        Some(allowed) if &allowed != values => out.push(format!(
                            "`{name}.{column}`: values {allowed:?} in the table, {values:?} in \
                             the entity"
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    out
}

fn compare_table(
    name: &str,
    entity: &EntityTable,
    table: &crate::schema::Table,
    backend: DbBackend,
    out: &mut Vec<String>,
) {
    let columns: BTreeSet<&String> = entity.columns.keys().chain(table.columns.keys()).collect();
    for column in columns {
        match (entity.columns.get(column), table.columns.get(column)) {
            (Some(_), None) => out.push(format!("`{name}.{column}`: in the entity, not the table")),
            (None, Some(_)) => out.push(format!("`{name}.{column}`: in the table, not the entity")),
            (Some((entity_type, entity_null)), Some(db)) => {
                let (expected, actual) = (
                    canonical(entity_type, backend),
                    canonical(&db.data_type, backend),
                );
                if expected != actual {
                    out.push(format!(
                        "`{name}.{column}`: type {actual} in the table, {expected} in the entity"
                    ));
                }
                if *entity_null != db.nullable {
                    out.push(format!(
                        "`{name}.{column}`: nullable {} in the table, {entity_null} in the entity",
                        db.nullable
                    ));
                }
            }
            (None, None) => {}
        }
    }
    if entity.primary_key != table.primary_key {
        out.push(format!(
            "`{name}`: primary key {:?} in the table, {:?} in the entity",
            table.primary_key, entity.primary_key
        ));
    }
    // Deferrability is left out on both sides: an entity cannot declare it (the step-by-step
    // migration test compares it).
    let without_timing = |keys: &BTreeSet<ForeignKey>| -> BTreeSet<ForeignKey> {
        keys.iter()
            .map(|key| ForeignKey {
                deferrable: Deferrability::NotDeferrable,
                ..key.clone()
            })
            .collect()
    };
    let (table_keys, entity_keys) = (
        without_timing(&table.foreign_keys),
        without_timing(&entity.foreign_keys),
    );
    for missing in table_keys.difference(&entity_keys) {
        out.push(format!(
            "`{name}`: foreign key not in the entity: {missing:?}"
        ));
    }
    for extra in entity_keys.difference(&table_keys) {
        out.push(format!("`{name}`: foreign key not in the table: {extra:?}"));
    }

    let mut unique_keys = BTreeSet::new();
    let mut indexed = BTreeSet::new();
    for index in table.indexes.values() {
        let Some(mut columns) = index.plain_columns().or_else(|| nulls_as_one_value(index)) else {
            continue;
        };
        if index.predicate.is_some() || index.method != "btree" {
            continue;
        }
        if index.unique {
            columns.sort();
            unique_keys.insert(columns);
        } else if let [column] = columns.as_slice() {
            indexed.insert(column.clone());
        }
    }
    let unique_columns: BTreeSet<&String> = unique_keys
        .iter()
        .chain(entity.unique_keys.iter())
        .filter_map(|key| match key.as_slice() {
            [column] => Some(column),
            _ => None,
        })
        .collect();
    indexed.retain(|column| !unique_columns.contains(column));
    let entity_indexed: BTreeSet<String> = entity
        .indexed
        .iter()
        .filter(|column| !unique_columns.contains(column))
        .cloned()
        .collect();
    for missing in unique_keys.difference(&entity.unique_keys) {
        out.push(format!(
            "`{name}`: unique key {missing:?} not declared by the entity"
        ));
    }
    for extra in entity.unique_keys.difference(&unique_keys) {
        out.push(format!(
            "`{name}`: unique key {extra:?} of the entity not in the table"
        ));
    }
    for missing in indexed.difference(&entity_indexed) {
        out.push(format!(
            "`{name}`: index on `{missing}` not declared by the entity (indexed)"
        ));
    }
    for extra in entity_indexed.difference(&indexed) {
        out.push(format!(
            "`{name}`: entity declares an index on `{extra}` the table lacks"
        ));
    }
}

/// The columns of a unique SQLite index whose elements are bare columns or
/// `coalesce(column, 'constant')` — SQLite's spelling of a key in which NULLs count as one
/// value (PostgreSQL's `NULLS NOT DISTINCT`), which an entity declares as a unique key.
fn nulls_as_one_value(index: &crate::schema::Index) -> Option<Vec<String>> {
    if !index.unique {
        return None;
    }
    let bare = |text: &str| {
        !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    index
        .key
        .iter()
        .map(|element| {
            if bare(element) {
                return Some(element.clone());
            }
            let inner = element.strip_prefix("coalesce(")?.strip_suffix(')')?;
            let (column, constant) = inner.split_once(',')?;
            let constant = constant.trim();
            (bare(column.trim())
                && constant.len() >= 2
                && constant.starts_with('\'')
                && constant.ends_with('\''))
            .then(|| column.trim().to_owned())
        })
        .collect()
}

/// Renders a column type as `backend` spells it in DDL.
fn render_type(ty: &ColumnType, backend: DbBackend) -> String {
    if backend == DbBackend::Sqlite && matches!(ty, ColumnType::Array(_)) {
        // DECISIONS 5: lists are JSON text on SQLite (sea-query has no SQLite array type).
        return "json_text".to_owned();
    }
    let statement = QueryTable::create()
        .table(Alias::new("t"))
        .col(ColumnDef::new_with_type(Alias::new("c"), ty.clone()))
        .take();
    let sql = match backend {
        DbBackend::Postgres => statement.to_string(PostgresQueryBuilder),
        _ => statement.to_string(SqliteQueryBuilder),
    };
    // `CREATE TABLE "t" ( "c" <type> )`
    sql.split_once("\"c\" ")
        .map(|(_, rest)| rest.trim_end_matches(')').trim().to_owned())
        .unwrap_or(sql)
}

/// One spelling per type, so the entity's rendering and the catalog's agree.
fn canonical(ty: &str, backend: DbBackend) -> String {
    let ty = ty.to_lowercase().replace('"', "").replace(", ", ",");
    if backend != DbBackend::Postgres {
        return ty;
    }
    let ty = ty
        .replace("character varying", "varchar")
        .replace("character(", "char(")
        .replace("decimal(", "numeric(");
    match ty.as_str() {
        "bool" => "boolean".to_owned(),
        "timestamp" => "timestamp without time zone".to_owned(),
        _ => ty,
    }
}

fn table_name(table: &TableRef) -> String {
    match table {
        TableRef::Table(name, _) => name.1.to_string(),
        other => format!("{other:?}"),
    }
}

fn action(action: Option<sea_orm::sea_query::ForeignKeyAction>) -> String {
    use sea_orm::sea_query::ForeignKeyAction as A;
    match action {
        None | Some(A::NoAction) => "NO ACTION",
        Some(A::Restrict) => "RESTRICT",
        Some(A::SetNull) => "SET NULL",
        Some(A::SetDefault) => "SET DEFAULT",
        Some(A::Cascade) => "CASCADE",
        Some(other) => return format!("{other:?}").to_uppercase(),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_canonicalizes_types_per_backend() {
        use sea_orm::sea_query::StringLen;
        let pg = DbBackend::Postgres;
        assert_eq!(
            canonical(&render_type(&ColumnType::String(StringLen::N(255)), pg), pg),
            canonical("character varying(255)", pg)
        );
        assert_eq!(
            canonical(&render_type(&ColumnType::Decimal(Some((18, 2))), pg), pg),
            canonical("numeric(18,2)", pg)
        );
        assert_eq!(
            canonical("decimal(18, 2)", pg),
            canonical("numeric(18,2)", pg)
        );
        assert_eq!(
            canonical(&render_type(&ColumnType::Boolean, pg), pg),
            canonical("boolean", pg)
        );
        assert_eq!(
            canonical(&render_type(&ColumnType::DateTime, pg), pg),
            canonical("timestamp without time zone", pg)
        );
        let sqlite = DbBackend::Sqlite;
        assert_eq!(
            render_type(&ColumnType::TimestampWithTimeZone, sqlite),
            "timestamp_with_timezone_text"
        );
        assert_eq!(
            render_type(
                &ColumnType::Array(sea_orm::sea_query::RcOrArc::new(ColumnType::Text)),
                sqlite
            ),
            "json_text"
        );
        assert_ne!(
            canonical(&render_type(&ColumnType::Text, pg), pg),
            canonical("character varying(255)", pg)
        );
    }
}

#[cfg(test)]
mod enum_tests {
    use super::string_literals;

    #[test]
    fn literals_come_out_of_checks_of_either_backend() {
        assert_eq!(
            string_literals("kind in ('person', 'org')"),
            ["person", "org"]
        );
        assert_eq!(
            string_literals(
                "((kind)::text = any ((array['person'::character varying, 'o''rg'::character varying])::text[]))"
            ),
            ["person", "o'rg"]
        );
        assert!(string_literals("x between 0 and 100").is_empty());
    }
}
