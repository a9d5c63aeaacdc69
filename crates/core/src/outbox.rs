//! The transactional outbox (`platform_outbox`).
//!
//! A service that announces an event calls [`enqueue`] with the same connection or
//! transaction as its domain write, so the event exists exactly when the write does. A
//! dispatcher (not part of this crate) then loops: [`claim`] a batch, deliver each message,
//! [`acknowledge`] it or record a [`fail`]ure; after [`RetryPolicy::max_attempts`] failures a
//! message is dead-lettered and waits for an operator ([`list`], [`requeue`]).
//!
//! Statuses: `pending` → `sending` (claimed) → `sent`; a failure makes it `retry` (available
//! again after an exponential back-off) or `dead`. A claim is a lease: a `sending` message
//! whose worker vanished becomes claimable again when the lease ends. On PostgreSQL the claim
//! locks rows with `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same
//! message; SQLite serialises writers, so one statement is enough there. The claim is served
//! by `ix_platform_outbox_status_available_at`.
//!
//! The outbox is the platform's, not a user's: these functions are for the dispatcher and
//! operators, and the rows they return carry their owner (`user_id`).

use chrono::{DateTime, Duration, Utc};
use lifeos_entity::{Timestamp, UserId, platform_outbox};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;

use crate::{Error, Result, validate};

/// Longest event type (`platform_outbox.event_type`).
pub const EVENT_TYPE_MAX: usize = 128;
/// Longest stored error text; longer errors are cut.
pub const ERROR_MAX: usize = 4000;

/// Where a message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OutboxStatus {
    /// Waiting for its first delivery.
    Pending,
    /// Claimed by a worker.
    Sending,
    /// Delivered.
    Sent,
    /// Failed; will be retried when available again.
    Retry,
    /// Failed for good, as history recorded it (not produced by this crate).
    Failed,
    /// Dead-lettered after too many failures.
    Dead,
}

impl OutboxStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "pending" => Self::Pending,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "retry" => Self::Retry,
            "dead" => Self::Dead,
            _ => Self::Failed,
        }
    }
}

/// A message of the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMessage {
    /// Its id.
    pub id: i32,
    /// The user the event concerns, if any.
    pub user_id: Option<UserId>,
    /// `domain.entity.verb`, e.g. `finance.journal.posted`.
    pub event_type: String,
    /// The event's data.
    pub payload: Value,
    /// Delivery status.
    pub status: OutboxStatus,
    /// Deliveries attempted so far.
    pub attempts: i32,
    /// When it may be claimed (for `sending`: when the lease ends).
    pub available_at: DateTime<Utc>,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}

impl From<platform_outbox::Model> for OutboxMessage {
    fn from(model: platform_outbox::Model) -> Self {
        Self {
            id: model.id,
            user_id: model.user_id,
            event_type: model.event_type,
            payload: model.payload,
            status: OutboxStatus::parse(&model.status),
            attempts: model.attempts,
            available_at: model.available_at.as_utc(),
            last_error: model.last_error,
            created_at: model.created_at.as_utc(),
        }
    }
}

/// How a claim is made.
#[derive(Clone, Copy, Debug)]
pub struct ClaimOptions {
    /// Most messages per claim (1..=1000; default 50, as the sources).
    pub batch: u64,
    /// How long a claimed message stays reserved for the worker (default 5 minutes).
    pub lease: Duration,
}

impl Default for ClaimOptions {
    fn default() -> Self {
        Self {
            batch: 50,
            lease: Duration::minutes(5),
        }
    }
}

/// When failed messages are retried, and when they are given up.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts after which a failure dead-letters the message (default 5, as the sources).
    pub max_attempts: i32,
    /// Delay after the first failure; each further failure doubles it (default 1 minute).
    pub base_delay: Duration,
    /// Longest delay (default 1 hour).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::minutes(1),
            max_delay: Duration::hours(1),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after `attempts` failed ones:
    /// `base_delay × 2^(attempts − 1)`, at most `max_delay`.
    pub fn delay_after(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.base_delay
            .checked_mul(1_i32 << doublings)
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }
}

/// Adds a message, on `db` — pass the transaction of the domain write it announces.
///
/// # Errors
/// [`Error::Invalid`] for an empty or over-long event type; `field = "reference"` for an
/// unknown user.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    user: Option<UserId>,
    event_type: &str,
    payload: Value,
) -> Result<i32> {
    let event_type = validate::text("event_type", event_type, EVENT_TYPE_MAX)?;
    let now = Timestamp::now();
    let model = platform_outbox::ActiveModel {
        user_id: Set(user),
        event_type: Set(event_type),
        payload: Set(payload),
        status: Set(OutboxStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        available_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(model.id)
}

/// Claims up to `options.batch` available messages, oldest first: each becomes `sending`,
/// its attempts grow by one and it is leased until `now + options.lease`. Safe to call from
/// several workers at once.
///
/// # Errors
/// [`Error::Invalid`] for a batch outside 1..=1000 or a non-positive lease.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    options: ClaimOptions,
) -> Result<Vec<OutboxMessage>> {
    if !(1..=1000).contains(&options.batch) {
        return Err(Error::invalid("batch", "must be between 1 and 1000"));
    }
    if options.lease <= Duration::zero() {
        return Err(Error::invalid("lease", "must be positive"));
    }
    let now = Utc::now();
    let claimable = Query::select()
        .column(platform_outbox::Column::Id)
        .from(platform_outbox::Entity)
        .and_where(Expr::col(platform_outbox::Column::Status).is_in([
            OutboxStatus::Pending.as_str(),
            OutboxStatus::Retry.as_str(),
            OutboxStatus::Sending.as_str(),
        ]))
        .and_where(Expr::col(platform_outbox::Column::AvailableAt).lte(Timestamp(now)))
        .order_by(platform_outbox::Column::AvailableAt, Order::Asc)
        .order_by(platform_outbox::Column::Id, Order::Asc)
        .limit(options.batch)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let mut claimed: Vec<OutboxMessage> = platform_outbox::Entity::update_many()
        .col_expr(
            platform_outbox::Column::Status,
            Expr::value(OutboxStatus::Sending.as_str()),
        )
        .col_expr(
            platform_outbox::Column::Attempts,
            Expr::col(platform_outbox::Column::Attempts).add(1),
        )
        .col_expr(
            platform_outbox::Column::AvailableAt,
            Expr::value(Timestamp(now + options.lease)),
        )
        .filter(platform_outbox::Column::Id.in_subquery(claimable))
        .exec_with_returning(db)
        .await?
        .into_iter()
        .map(OutboxMessage::from)
        .collect();
    claimed.sort_by_key(|m| (m.created_at, m.id));
    Ok(claimed)
}

/// Marks a claimed message delivered.
///
/// # Errors
/// [`Error::NotFound`] for an unknown message; [`Error::Conflict`] when it is not `sending`
/// (never claimed, already acknowledged, or its lease passed to another worker who finished).
pub async fn acknowledge<C: ConnectionTrait>(db: &C, id: i32) -> Result<()> {
    let done = platform_outbox::Entity::update_many()
        .col_expr(
            platform_outbox::Column::Status,
            Expr::value(OutboxStatus::Sent.as_str()),
        )
        .col_expr(
            platform_outbox::Column::LastError,
            Expr::value(None::<String>),
        )
        .filter(platform_outbox::Column::Id.eq(id))
        .filter(platform_outbox::Column::Status.eq(OutboxStatus::Sending.as_str()))
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        return Ok(());
    }
    Err(not_sending(db, id).await)
}

/// Records a failed delivery of a claimed message: it becomes `retry`, available after
/// [`RetryPolicy::delay_after`] its attempts, or `dead` once it has had
/// [`RetryPolicy::max_attempts`]. Returns the new status.
///
/// # Errors
/// As [`acknowledge`]; [`Error::Invalid`] for a policy with no attempts.
pub async fn fail<C: ConnectionTrait>(
    db: &C,
    id: i32,
    error: &str,
    policy: RetryPolicy,
) -> Result<OutboxStatus> {
    if policy.max_attempts < 1 {
        return Err(Error::invalid("max_attempts", "must be at least 1"));
    }
    let message = platform_outbox::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("outbox message", id))?;
    let status = if message.attempts >= policy.max_attempts {
        OutboxStatus::Dead
    } else {
        OutboxStatus::Retry
    };
    let error: String = error.chars().take(ERROR_MAX).collect();
    let available_at = Utc::now() + policy.delay_after(message.attempts);
    let done = platform_outbox::Entity::update_many()
        .col_expr(
            platform_outbox::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(platform_outbox::Column::LastError, Expr::value(Some(error)))
        .col_expr(
            platform_outbox::Column::AvailableAt,
            Expr::value(Timestamp(available_at)),
        )
        .filter(platform_outbox::Column::Id.eq(id))
        .filter(platform_outbox::Column::Status.eq(OutboxStatus::Sending.as_str()))
        .filter(platform_outbox::Column::Attempts.eq(message.attempts))
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        Ok(status)
    } else {
        Err(not_sending(db, id).await)
    }
}

/// Puts a dead (or failed) message back in the queue with its attempts reset — for an
/// operator, once the cause is fixed.
///
/// # Errors
/// [`Error::NotFound`] for an unknown message; [`Error::Conflict`] when it is not dead or
/// failed.
pub async fn requeue<C: ConnectionTrait>(db: &C, id: i32) -> Result<()> {
    let done = platform_outbox::Entity::update_many()
        .col_expr(
            platform_outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(platform_outbox::Column::Attempts, Expr::value(0))
        .col_expr(
            platform_outbox::Column::AvailableAt,
            Expr::value(Timestamp::now()),
        )
        .filter(platform_outbox::Column::Id.eq(id))
        .filter(
            platform_outbox::Column::Status
                .is_in([OutboxStatus::Dead.as_str(), OutboxStatus::Failed.as_str()]),
        )
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        return Ok(());
    }
    match platform_outbox::Entity::find_by_id(id).one(db).await? {
        None => Err(Error::not_found("outbox message", id)),
        Some(m) => Err(Error::Conflict(format!(
            "outbox message {id} is {}, not dead",
            m.status
        ))),
    }
}

/// Up to `limit` messages with `status`, oldest first (what is pending, retrying, dead …).
///
/// # Errors
/// Database failures only.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    status: OutboxStatus,
    limit: u64,
) -> Result<Vec<OutboxMessage>> {
    Ok(platform_outbox::Entity::find()
        .filter(platform_outbox::Column::Status.eq(status.as_str()))
        .order_by_asc(platform_outbox::Column::AvailableAt)
        .order_by_asc(platform_outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(OutboxMessage::from)
        .collect())
}

async fn not_sending<C: ConnectionTrait>(db: &C, id: i32) -> Error {
    match platform_outbox::Entity::find_by_id(id).one(db).await {
        Ok(None) => Error::not_found("outbox message", id),
        Ok(Some(m)) => Error::Conflict(format!(
            "outbox message {id} is {}, not being delivered",
            m.status
        )),
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_after(1), Duration::minutes(1));
        assert_eq!(policy.delay_after(2), Duration::minutes(2));
        assert_eq!(policy.delay_after(4), Duration::minutes(8));
        assert_eq!(policy.delay_after(8), Duration::hours(1));
        assert_eq!(policy.delay_after(1000), Duration::hours(1));
        assert_eq!(policy.delay_after(0), Duration::minutes(1));
    }
}
