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
//! whose worker vanished becomes claimable again when the lease ends, and once such a message
//! has been claimed [`ClaimOptions::max_attempts`] times, the next claim dead-letters it
//! instead of handing it out forever.
//!
//! Leases are fenced: each claim gives its messages a fresh random lease id
//! (`platform_outbox.lease_id`), returned in a [`ClaimToken`]; [`acknowledge`] and [`fail`]
//! take the token and change the message only while that lease is the current one. A worker
//! whose lease ran out and was taken over by another gets [`Error::Conflict`] and changes
//! nothing. (The attempt number alone would not do: [`requeue`] resets it.) On PostgreSQL the claim
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
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

use crate::{Error, Result, secret, validate};

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

/// Proof of a claim: the message and the lease it was claimed under. Pass it to
/// [`acknowledge`] or [`fail`]; it is refused once another worker has taken the message over.
/// Its `Debug` output hides the lease id (whoever holds it can settle the message).
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimToken {
    /// The message's id.
    pub id: i32,
    /// The lease's random id.
    pub lease: String,
}

impl std::fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimToken")
            .field("id", &self.id)
            .field("lease", &"..")
            .finish()
    }
}

/// A message handed to a worker by [`claim`], with the token that settles it.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    /// The message (status `sending`, its attempts already counting this delivery).
    pub message: OutboxMessage,
    /// What [`acknowledge`] and [`fail`] take.
    pub token: ClaimToken,
}

/// How a claim is made.
#[derive(Clone, Copy, Debug)]
pub struct ClaimOptions {
    /// Most messages per claim (1..=1000; default 50, as the sources).
    pub batch: u64,
    /// How long a claimed message stays reserved for the worker (default 5 minutes).
    pub lease: Duration,
    /// Deliveries after which a message whose lease keeps running out (its worker crashes)
    /// is dead-lettered by the next claim (default 5, as [`RetryPolicy::max_attempts`]).
    pub max_attempts: i32,
}

impl Default for ClaimOptions {
    fn default() -> Self {
        Self {
            batch: 50,
            lease: Duration::minutes(5),
            max_attempts: RetryPolicy::default().max_attempts,
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
        lease_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(model.id)
}

/// Claims up to `options.batch` available messages, oldest first: each becomes `sending`,
/// its attempts grow by one and it is leased until `now + options.lease` under a new lease
/// id. Messages whose lease ran out after `options.max_attempts` deliveries are
/// dead-lettered first. Safe to call from several workers at once.
///
/// # Errors
/// [`Error::Invalid`] for a batch outside 1..=1000, a non-positive lease or `max_attempts`
/// below 1.
pub async fn claim<C: ConnectionTrait>(db: &C, options: ClaimOptions) -> Result<Vec<Claimed>> {
    if !(1..=1000).contains(&options.batch) {
        return Err(Error::invalid("batch", "must be between 1 and 1000"));
    }
    if options.lease <= Duration::zero() {
        return Err(Error::invalid("lease", "must be positive"));
    }
    if options.max_attempts < 1 {
        return Err(Error::invalid("max_attempts", "must be at least 1"));
    }
    let now = Utc::now();
    let sending = OutboxStatus::Sending.as_str();
    // Abandoned too often: dead-letter instead of handing it out again.
    platform_outbox::Entity::update_many()
        .col_expr(
            platform_outbox::Column::Status,
            Expr::value(OutboxStatus::Dead.as_str()),
        )
        .col_expr(
            platform_outbox::Column::LastError,
            Expr::value(Some(format!(
                "lease expired after {} deliveries without an acknowledgement",
                options.max_attempts
            ))),
        )
        .col_expr(
            platform_outbox::Column::LeaseId,
            Expr::value(None::<String>),
        )
        .filter(platform_outbox::Column::Status.eq(sending))
        .filter(platform_outbox::Column::AvailableAt.lte(Timestamp(now)))
        .filter(platform_outbox::Column::Attempts.gte(options.max_attempts))
        .exec(db)
        .await?;
    let claimable =
        Query::select()
            .column(platform_outbox::Column::Id)
            .from(platform_outbox::Entity)
            .cond_where(
                Condition::any()
                    .add(
                        Expr::col(platform_outbox::Column::Status)
                            .is_in([OutboxStatus::Pending.as_str(), OutboxStatus::Retry.as_str()]),
                    )
                    // A lease that ran out, unless it is due for the dead letters (a lease that
                    // ran out between the two statements waits for the next claim).
                    .add(Expr::col(platform_outbox::Column::Status).eq(sending).and(
                        Expr::col(platform_outbox::Column::Attempts).lt(options.max_attempts),
                    )),
            )
            .and_where(Expr::col(platform_outbox::Column::AvailableAt).lte(Timestamp(now)))
            .order_by(platform_outbox::Column::AvailableAt, Order::Asc)
            .order_by(platform_outbox::Column::Id, Order::Asc)
            .limit(options.batch)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
    let lease = secret::new_token()?;
    let mut claimed: Vec<Claimed> = platform_outbox::Entity::update_many()
        .col_expr(platform_outbox::Column::Status, Expr::value(sending))
        .col_expr(
            platform_outbox::Column::Attempts,
            Expr::col(platform_outbox::Column::Attempts).add(1),
        )
        .col_expr(
            platform_outbox::Column::AvailableAt,
            Expr::value(Timestamp(now + options.lease)),
        )
        .col_expr(
            platform_outbox::Column::LeaseId,
            Expr::value(Some(lease.clone())),
        )
        .filter(platform_outbox::Column::Id.in_subquery(claimable))
        .exec_with_returning(db)
        .await?
        .into_iter()
        .map(|model| Claimed {
            token: ClaimToken {
                id: model.id,
                lease: lease.clone(),
            },
            message: OutboxMessage::from(model),
        })
        .collect();
    claimed.sort_by_key(|c| (c.message.created_at, c.message.id));
    Ok(claimed)
}

/// Marks a claimed message delivered.
///
/// # Errors
/// [`Error::NotFound`] for an unknown message; [`Error::Conflict`] when `token`'s lease is
/// not the message's current one (never claimed, already settled, or its lease passed to
/// another worker) — nothing is changed then.
pub async fn acknowledge<C: ConnectionTrait>(db: &C, token: &ClaimToken) -> Result<()> {
    let done = platform_outbox::Entity::update_many()
        .col_expr(
            platform_outbox::Column::Status,
            Expr::value(OutboxStatus::Sent.as_str()),
        )
        .col_expr(
            platform_outbox::Column::LastError,
            Expr::value(None::<String>),
        )
        .col_expr(
            platform_outbox::Column::LeaseId,
            Expr::value(None::<String>),
        )
        .filter(held(token))
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        return Ok(());
    }
    Err(not_held(db, token.id).await)
}

/// Records a failed delivery of a claimed message: it becomes `retry`, available after
/// [`RetryPolicy::delay_after`] its attempts, or `dead` once it has had
/// [`RetryPolicy::max_attempts`]. Returns the new status.
///
/// # Errors
/// As [`acknowledge`] (a late failure report changes nothing); [`Error::Invalid`] for a
/// policy with no attempts.
pub async fn fail<C: ConnectionTrait>(
    db: &C,
    token: &ClaimToken,
    error: &str,
    policy: RetryPolicy,
) -> Result<OutboxStatus> {
    if policy.max_attempts < 1 {
        return Err(Error::invalid("max_attempts", "must be at least 1"));
    }
    let message = platform_outbox::Entity::find()
        .filter(held(token))
        .one(db)
        .await?;
    let Some(message) = message else {
        return Err(not_held(db, token.id).await);
    };
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
        .col_expr(
            platform_outbox::Column::LeaseId,
            Expr::value(None::<String>),
        )
        .filter(held(token))
        .filter(platform_outbox::Column::Attempts.eq(message.attempts))
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        Ok(status)
    } else {
        Err(not_held(db, token.id).await)
    }
}

/// The message of `token`, while it is being delivered under that lease.
fn held(token: &ClaimToken) -> Condition {
    Condition::all()
        .add(platform_outbox::Column::Id.eq(token.id))
        .add(platform_outbox::Column::Status.eq(OutboxStatus::Sending.as_str()))
        .add(platform_outbox::Column::LeaseId.eq(token.lease.as_str()))
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
            platform_outbox::Column::LeaseId,
            Expr::value(None::<String>),
        )
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

async fn not_held<C: ConnectionTrait>(db: &C, id: i32) -> Error {
    match platform_outbox::Entity::find_by_id(id).one(db).await {
        Ok(None) => Error::not_found("outbox message", id),
        Ok(Some(m)) => Error::Conflict(format!(
            "outbox message {id} is {}, not being delivered under this lease",
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
