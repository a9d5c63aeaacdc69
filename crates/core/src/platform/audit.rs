//! The event log (`event_record`, append-only) and the insights derived from it
//! (`insight_record`). Both are read per user; queries are served by
//! `ix_event_record_user_event_type`, `ix_event_record_user_created_at` and
//! `ix_insight_record_user_created_at`.

use chrono::{DateTime, Utc};
use lifeos_entity::{Timestamp, UserId, event_record, insight_record};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;

use crate::{Error, Result, db, validate};

/// Longest event type.
pub const EVENT_TYPE_MAX: usize = 128;
/// Longest insight kind.
pub const KIND_MAX: usize = 64;
/// Most rows one query returns.
pub const LIMIT_MAX: u64 = 1000;

/// Which rows a query returns; every bound is optional. Results are newest first.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this exact event type.
    pub event_type: Option<String>,
    /// Only event types of this domain (`finance` matches `finance.journal.posted`; `%`
    /// and `_` match only themselves).
    pub domain: Option<String>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    /// At most this many (default and maximum [`LIMIT_MAX`]).
    pub limit: Option<u64>,
}

/// Appends an event for `user` and returns it.
///
/// # Errors
/// [`Error::Invalid`] for an empty or over-long event type.
pub async fn record_event<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    event_type: &str,
    payload: Value,
) -> Result<event_record::Model> {
    let event_type = validate::text("event_type", event_type, EVENT_TYPE_MAX)?;
    Ok(event_record::ActiveModel {
        event_type: Set(event_type),
        payload: Set(payload),
        user_id: Set(Some(user)),
        created_at: Set(Timestamp::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The events of `user` matching `filter`, newest first.
///
/// # Errors
/// Database failures only.
pub async fn events<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    filter: &Filter,
) -> Result<Vec<event_record::Model>> {
    let mut query = event_record::Entity::find().filter(event_record::Column::UserId.eq(user));
    if let Some(event_type) = &filter.event_type {
        query = query.filter(event_record::Column::EventType.eq(event_type.as_str()));
    }
    if let Some(domain) = &filter.domain {
        query = query.filter(db::starts_with(
            Expr::col((event_record::Entity, event_record::Column::EventType)),
            &format!("{domain}."),
        ));
    }
    if let Some(since) = filter.since {
        query = query.filter(event_record::Column::CreatedAt.gte(Timestamp(since)));
    }
    if let Some(until) = filter.until {
        query = query.filter(event_record::Column::CreatedAt.lt(Timestamp(until)));
    }
    Ok(query
        .order_by_desc(event_record::Column::CreatedAt)
        .order_by_desc(event_record::Column::Id)
        .limit(limit(filter))
        .all(db)
        .await?)
}

fn limit(filter: &Filter) -> u64 {
    filter.limit.unwrap_or(LIMIT_MAX).min(LIMIT_MAX)
}

/// Severity of an insight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// For information.
    Info,
    /// Worth attention.
    Warning,
    /// Needs action.
    Critical,
}

impl Severity {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// Input of [`record_insight`].
#[derive(Clone, Debug)]
pub struct NewInsight {
    /// The event it was derived from, if any (must be the same user's).
    pub event_id: Option<i32>,
    /// The event type it concerns (`finance.journal.posted`).
    pub event_type: String,
    /// What kind of insight (`finance_spend`, `habit_progress`, …).
    pub kind: String,
    /// The message shown to the user.
    pub message: String,
    /// How important it is.
    pub severity: Severity,
    /// Structured details.
    pub data: Value,
}

/// Records an insight for `user`.
///
/// # Errors
/// [`Error::Invalid`] for an empty or over-long event type or kind; [`Error::NotFound`] when
/// `event_id` is not one of `user`'s events.
pub async fn record_insight<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    new: NewInsight,
) -> Result<insight_record::Model> {
    let event_type = validate::text("event_type", &new.event_type, EVENT_TYPE_MAX)?;
    let kind = validate::text("kind", &new.kind, KIND_MAX)?;
    if let Some(event_id) = new.event_id {
        event_record::Entity::find_by_id(event_id)
            .filter(event_record::Column::UserId.eq(user))
            .one(db)
            .await?
            .ok_or_else(|| Error::not_found("event", event_id))?;
    }
    Ok(insight_record::ActiveModel {
        user_id: Set(Some(user)),
        event_id: Set(new.event_id),
        event_type: Set(event_type),
        kind: Set(kind),
        message: Set(new.message),
        severity: Set(new.severity.as_str().to_owned()),
        data: Set(new.data),
        created_at: Set(Timestamp::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The insights of `user` matching `filter` (by their event type and creation time), newest
/// first.
///
/// # Errors
/// Database failures only.
pub async fn insights<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    filter: &Filter,
) -> Result<Vec<insight_record::Model>> {
    let mut query = insight_record::Entity::find().filter(insight_record::Column::UserId.eq(user));
    if let Some(event_type) = &filter.event_type {
        query = query.filter(insight_record::Column::EventType.eq(event_type.as_str()));
    }
    if let Some(domain) = &filter.domain {
        query = query.filter(db::starts_with(
            Expr::col((insight_record::Entity, insight_record::Column::EventType)),
            &format!("{domain}."),
        ));
    }
    if let Some(since) = filter.since {
        query = query.filter(insight_record::Column::CreatedAt.gte(Timestamp(since)));
    }
    if let Some(until) = filter.until {
        query = query.filter(insight_record::Column::CreatedAt.lt(Timestamp(until)));
    }
    Ok(query
        .order_by_desc(insight_record::Column::CreatedAt)
        .order_by_desc(insight_record::Column::Id)
        .limit(limit(filter))
        .all(db)
        .await?)
}
