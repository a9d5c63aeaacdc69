//! Value types shared by every domain: typed ids and the column types SeaORM has no
//! portable mapping for.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{
    ActiveValue, ColIdx, DbBackend, IntoActiveValue, QueryResult, TryGetError, TryGetable, Value,
};
use serde::{Deserialize, Serialize};

/// The id of a LifeOS user (`user.id`), the owner of every row (DECISIONS 6).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    sea_orm::DeriveValueType,
)]
pub struct UserId(pub i32);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A UTC instant stored in a `TIMESTAMP WITHOUT TIME ZONE` column (the LifeOS tables).
///
/// The LifeOS history stores instants as zone-less timestamps holding UTC. SeaORM cannot read
/// such a column as `DateTime<Utc>` on PostgreSQL (the driver only decodes `TIMESTAMPTZ` into
/// it), so this type reads and writes the naive UTC value and hands out a `DateTime<Utc>`.
/// Tables created as `TIMESTAMPTZ` (Life Graph) use `DateTime<Utc>` directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The current instant.
    pub fn now() -> Self {
        Self(Utc::now())
    }

    /// The instant as a `DateTime<Utc>`.
    pub fn as_utc(&self) -> DateTime<Utc> {
        self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

impl From<Timestamp> for Value {
    fn from(value: Timestamp) -> Self {
        Value::ChronoDateTime(Some(value.0.naive_utc()))
    }
}

impl TryGetable for Timestamp {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        NaiveDateTime::try_get_by(res, index).map(|naive| Self(naive.and_utc()))
    }
}

impl ValueType for Timestamp {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::ChronoDateTime(Some(naive)) => Ok(Self(naive.and_utc())),
            Value::ChronoDateTimeUtc(Some(instant)) => Ok(Self(instant)),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "Timestamp".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::ChronoDateTime
    }

    fn column_type() -> ColumnType {
        ColumnType::DateTime
    }
}

impl Nullable for Timestamp {
    fn null() -> Value {
        Value::ChronoDateTime(None)
    }
}

impl IntoActiveValue<Timestamp> for Timestamp {
    fn into_active_value(self) -> ActiveValue<Timestamp> {
        ActiveValue::Set(self)
    }
}

/// A list of short text labels (tags): `TEXT[]` on PostgreSQL, a JSON array in a TEXT column
/// on SQLite (DECISIONS 5).
///
/// Reading works on both backends. A SeaORM value carries no backend, so writing through an
/// `ActiveModel` binds the list as JSON — right for SQLite, rejected by PostgreSQL for a
/// `TEXT[]` column. Write lists with [`TextList::expr`], which renders the form each backend
/// stores.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TextList(pub Vec<String>);

impl TextList {
    /// The list as a value for `backend`: a text array on PostgreSQL, JSON text elsewhere.
    pub fn value_for(&self, backend: DbBackend) -> Value {
        match backend {
            DbBackend::Postgres => Value::Array(
                ArrayType::String,
                Some(Box::new(
                    self.0
                        .iter()
                        .map(|item| Value::String(Some(item.clone())))
                        .collect(),
                )),
            ),
            _ => Value::from(self.clone()),
        }
    }

    /// The list as an expression for `backend` (for `col_expr` in inserts and updates).
    pub fn expr(&self, backend: DbBackend) -> sea_orm::sea_query::Expr {
        sea_orm::sea_query::Expr::val(self.value_for(backend))
    }
}

impl From<Vec<String>> for TextList {
    fn from(value: Vec<String>) -> Self {
        Self(value)
    }
}

impl From<TextList> for Value {
    fn from(value: TextList) -> Self {
        Value::Json(Some(Box::new(serde_json::Value::from(value.0))))
    }
}

impl TryGetable for TextList {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        match Vec::<String>::try_get_by(res, index) {
            Ok(items) => Ok(Self(items)),
            Err(TryGetError::Null(column)) => Err(TryGetError::Null(column)),
            // Not a PostgreSQL array: the SQLite form, JSON text.
            Err(TryGetError::DbErr(_)) => {
                let text = String::try_get_by(res, index)?;
                serde_json::from_str(&text).map(Self).map_err(|error| {
                    TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                        "column {index:?}: not a JSON array of strings: {error}"
                    )))
                })
            }
        }
    }
}

impl ValueType for TextList {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Json(Some(json)) => serde_json::from_value(*json)
                .map(Self)
                .map_err(|_| ValueTypeErr),
            Value::Array(_, Some(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(Some(text)) => Ok(text),
                    _ => Err(ValueTypeErr),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Self),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "TextList".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::Json
    }

    fn column_type() -> ColumnType {
        ColumnType::Array(sea_orm::sea_query::RcOrArc::new(ColumnType::Text))
    }
}

impl Nullable for TextList {
    fn null() -> Value {
        Value::Json(None)
    }
}

impl IntoActiveValue<TextList> for TextList {
    fn into_active_value(self) -> ActiveValue<TextList> {
        ActiveValue::Set(self)
    }
}
