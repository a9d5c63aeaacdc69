//! Login sessions: opaque session tokens (short-lived, presented on every request) and
//! refresh tokens (long-lived, exchanged for a new pair), both 256 random bits of which only
//! the SHA-256 is stored (`auth_session.session_id`, `session_token.jti`).
//!
//! Lifecycle of an `auth_session` ([`LifecycleState`]): `active` from [`issue`]; then
//! `invalidated` (sign-out, [`revoke`], password change, deactivation), `admin_reset`
//! ([`admin_reset`]) or `expired` ([`expire_due`], once neither token can be used). Every
//! state but `active` is final, and ending a session revokes its refresh tokens.
//!
//! A refresh token is single-use: [`refresh`] revokes it and issues a new pair for the same
//! session. Presenting an already used refresh token again means it was copied, so the
//! whole session is ended (refresh-token reuse detection) — also when the two presentations
//! overlap: the first to use the token up rotates it, the second waits for that (the user's
//! and the session's row locks on PostgreSQL, the write lock on SQLite), finds it used and
//! ends the session, including the tokens the first call has just issued. Neither caller
//! holds a live session afterwards.
//!
//! Operations that end sessions lock the user, then the session, then its tokens, in that
//! order, so they never deadlock with one another.
//!
//! A session also has an absolute lifetime ([`SessionPolicy::max_age`], 30 days by default
//! counted from sign-in): no token of it lives past that, and refreshing after it is
//! [`TokenProblem::Expired`]. Sessions and refresh tokens from history that have no expiry
//! are treated as expired.

use chrono::{DateTime, Duration, Utc};
use lifeos_entity::{Timestamp, UserId, auth_session, session_token};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

use super::{access, users};
use crate::platform::outbox;
use crate::{Error, Result, TokenProblem, db, secret, validate};

/// Longest device id (`auth_session.device_id`).
pub const DEVICE_ID_MAX: usize = 128;
/// Longest admin-reset reason.
pub const REASON_MAX: usize = 255;

/// The states of an `auth_session` (the values the sources use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleState {
    /// In use.
    Active,
    /// Ended by its user (sign-out, password change, deactivation).
    Invalidated,
    /// Neither its session token nor a refresh token can be used any more.
    Expired,
    /// Ended by an administrator.
    AdminReset,
}

impl LifecycleState {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Invalidated => "invalidated",
            Self::Expired => "expired",
            Self::AdminReset => "admin_reset",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "active" => Self::Active,
            "expired" => Self::Expired,
            "admin_reset" => Self::AdminReset,
            _ => Self::Invalidated,
        }
    }
}

/// How long tokens live.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// Lifetime of a session token (default 1 hour).
    pub session_ttl: Duration,
    /// Lifetime of a refresh token (default 14 days).
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a session, from sign-in (default 30 days): no token of the
    /// session is valid past it, however often it is refreshed.
    pub max_age: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            session_ttl: Duration::hours(1),
            refresh_ttl: Duration::days(14),
            max_age: Duration::days(30),
        }
    }
}

/// A new token pair. The tokens are shown here once; the database keeps only their digests,
/// and the `Debug` output shows neither.
#[derive(Clone)]
pub struct IssuedTokens {
    /// The session's id (what [`revoke`] takes).
    pub session_id: i32,
    /// The owner.
    pub user_id: UserId,
    /// The session token.
    pub session_token: String,
    /// When the session token expires.
    pub session_expires_at: DateTime<Utc>,
    /// The refresh token.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("session_id", &self.session_id)
            .field("user_id", &self.user_id)
            .field("session_token", &"..")
            .field("session_expires_at", &self.session_expires_at)
            .field("refresh_token", &"..")
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}

/// A session as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The session's id.
    pub id: i32,
    /// The owner.
    pub user_id: UserId,
    /// Its lifecycle state.
    pub state: LifecycleState,
    /// The device it was opened on, if given.
    pub device_id: Option<String>,
    /// When the current session token expires (`None` for sessions from history).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it ended, if it did.
    pub invalidated_at: Option<DateTime<Utc>>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
}

impl From<auth_session::Model> for Session {
    fn from(model: auth_session::Model) -> Self {
        Self {
            id: model.id,
            user_id: model.user_id,
            state: LifecycleState::parse(&model.lifecycle_state),
            device_id: model.device_id,
            expires_at: model.expires_at.map(|t| t.as_utc()),
            invalidated_at: model.invalidated_at.map(|t| t.as_utc()),
            created_at: model.created_at.as_utc(),
        }
    }
}

fn check_policy(policy: &SessionPolicy) -> Result<()> {
    if policy.session_ttl <= Duration::zero()
        || policy.refresh_ttl <= Duration::zero()
        || policy.max_age <= Duration::zero()
    {
        return Err(Error::invalid("policy", "token lifetimes must be positive"));
    }
    Ok(())
}

/// Opens a session for `user` and returns its tokens. Prefer [`super::accounts::sign_in`],
/// which checks the password and opens the session so that a password change committed in
/// between refuses the sign-in; `issue` is for callers that authenticated the user another
/// way.
///
/// # Errors
/// [`Error::Invalid`] for an over-long device id or a non-positive lifetime;
/// [`Error::NotFound`] for an unknown user; [`Error::AccountInactive`] for a deactivated one.
pub async fn issue<C>(
    db: &C,
    user: UserId,
    device_id: Option<&str>,
    policy: SessionPolicy,
) -> Result<IssuedTokens>
where
    C: ConnectionTrait + TransactionTrait,
{
    check_policy(&policy)?;
    let device_id = check_device(device_id)?;
    let txn = db::begin_write(db).await?;
    let tokens = open(&txn, user, device_id, policy).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Checks an optional device id (blank is none).
pub(crate) fn check_device(device_id: Option<&str>) -> Result<Option<String>> {
    match device_id {
        Some(id) => validate::optional_text("device_id", id, DEVICE_ID_MAX),
        None => Ok(None),
    }
}

/// Opens a session for `user` on `db`, a write transaction: locks the user (so a password
/// change or deactivation in progress finishes first, and its end of all sessions cannot
/// miss this one), checks they are active, and stores the session and its refresh token.
pub(crate) async fn open<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    device_id: Option<String>,
    policy: SessionPolicy,
) -> Result<IssuedTokens> {
    check_policy(&policy)?;
    if !users::load_for_update(db, user).await?.is_active {
        return Err(Error::AccountInactive);
    }
    let now = Utc::now();
    let session_token = secret::new_token()?;
    let session_expires_at = now + policy.session_ttl.min(policy.max_age);
    let session = auth_session::ActiveModel {
        session_id: Set(secret::token_digest(&session_token)),
        user_id: Set(user),
        lifecycle_state: Set(LifecycleState::Active.as_str().to_owned()),
        device_id: Set(device_id),
        expires_at: Set(Some(session_expires_at.into())),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let (refresh_token, refresh_expires_at) =
        insert_refresh_token(db, user, session.id, now, now + policy.max_age, policy).await?;
    Ok(IssuedTokens {
        session_id: session.id,
        user_id: user,
        session_token,
        session_expires_at,
        refresh_token,
        refresh_expires_at,
    })
}

/// Stores a new refresh token of `session`, expiring after the policy's lifetime but never
/// after the session's `deadline`.
async fn insert_refresh_token<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    session: i32,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
    policy: SessionPolicy,
) -> Result<(String, DateTime<Utc>)> {
    let token = secret::new_token()?;
    let expires_at = std::cmp::min(now + policy.refresh_ttl, deadline);
    session_token::ActiveModel {
        user_id: Set(user),
        jti: Set(secret::token_digest(&token)),
        revoked: Set(false),
        expires_at: Set(Some(expires_at.into())),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        auth_session_id: Set(Some(session)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((token, expires_at))
}

/// Checks a session token and returns its session.
///
/// # Errors
/// [`Error::Token`] with [`TokenProblem::Unknown`], [`TokenProblem::Expired`] or
/// [`TokenProblem::Revoked`] (the session ended; a session from history without an expiry is
/// expired); [`Error::AccountInactive`] when the owner was deactivated meanwhile.
pub async fn validate<C: ConnectionTrait>(db: &C, session_token: &str) -> Result<Session> {
    let session = auth_session::Entity::find()
        .filter(auth_session::Column::SessionId.eq(secret::token_digest(session_token)))
        .one(db)
        .await?
        .ok_or(Error::Token(TokenProblem::Unknown))?;
    match LifecycleState::parse(&session.lifecycle_state) {
        LifecycleState::Active => {}
        LifecycleState::Expired => return Err(Error::Token(TokenProblem::Expired)),
        _ => return Err(Error::Token(TokenProblem::Revoked)),
    }
    if session
        .expires_at
        .is_none_or(|at| at.as_utc() <= Utc::now())
    {
        return Err(Error::Token(TokenProblem::Expired));
    }
    if !users::load(db, session.user_id).await?.is_active {
        return Err(Error::AccountInactive);
    }
    Ok(session.into())
}

/// Exchanges a refresh token for a new session token and refresh token of the same session.
/// The presented refresh token is used up.
///
/// A refresh token that was already used is evidence that it leaked: the session it belongs
/// to is ended (state `invalidated`, every refresh token revoked, the session token refused)
/// and that change is kept, although the call returns [`TokenProblem::Revoked`] — the one
/// error after which something was written. Two calls presenting the same token at once are
/// the same case: one rotates, the other ends the session (see the module docs).
///
/// # Errors
/// [`Error::Token`] ([`TokenProblem::Unknown`]; [`TokenProblem::Expired`] for an expired
/// token or a session past [`SessionPolicy::max_age`]; [`TokenProblem::Revoked`]);
/// [`Error::AccountInactive`]; [`Error::Invalid`] for a non-positive lifetime.
pub async fn refresh<C>(db: &C, refresh_token: &str, policy: SessionPolicy) -> Result<IssuedTokens>
where
    C: ConnectionTrait + TransactionTrait,
{
    check_policy(&policy)?;
    let digest = secret::token_digest(refresh_token);
    let txn = db::begin_write(db).await?;
    let now = Utc::now();
    let token = session_token::Entity::find()
        .filter(session_token::Column::Jti.eq(digest.as_str()))
        .one(&txn)
        .await?
        .ok_or(Error::Token(TokenProblem::Unknown))?;
    let Some(session_id) = token.auth_session_id else {
        // A token from history, not tied to a session: it cannot be rotated.
        return Err(Error::Token(TokenProblem::Revoked));
    };
    // Lock in the order every operation that ends sessions uses — the user, the session,
    // then its tokens — so a concurrent refresh of this session, a password change or a
    // deactivation waits for this one instead of deadlocking with it. (The new token's
    // foreign key would take a share lock on the user row anyway.)
    if !users::load_for_update(&txn, token.user_id).await?.is_active {
        return Err(Error::AccountInactive);
    }
    let session = auth_session::Entity::find_by_id(session_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(Error::Token(TokenProblem::Unknown))?;
    // Use the token up. A concurrent refresh with the same token waited above and now finds
    // it used. Any refusal below rolls this back.
    let used = session_token::Entity::update_many()
        .col_expr(session_token::Column::Revoked, Expr::value(true))
        .col_expr(
            session_token::Column::UpdatedAt,
            Expr::value(Timestamp(now)),
        )
        .filter(session_token::Column::Id.eq(token.id))
        .filter(session_token::Column::Revoked.eq(false))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        // Used before: reuse detection ends the session it belongs to.
        end_session(&txn, session_id).await?;
        txn.commit().await?;
        return Err(Error::Token(TokenProblem::Revoked));
    }
    if token.expires_at.is_none_or(|at| at.as_utc() <= now) {
        return Err(Error::Token(TokenProblem::Expired));
    }
    if LifecycleState::parse(&session.lifecycle_state) != LifecycleState::Active {
        return Err(Error::Token(TokenProblem::Revoked));
    }
    let deadline = session.created_at.as_utc() + policy.max_age;
    if deadline <= now {
        return Err(Error::Token(TokenProblem::Expired));
    }
    let session_token = secret::new_token()?;
    let session_expires_at = std::cmp::min(now + policy.session_ttl, deadline);
    let rotated = auth_session::Entity::update_many()
        .col_expr(
            auth_session::Column::SessionId,
            Expr::value(secret::token_digest(&session_token)),
        )
        .col_expr(
            auth_session::Column::ExpiresAt,
            Expr::value(Timestamp(session_expires_at)),
        )
        .col_expr(auth_session::Column::UpdatedAt, Expr::value(Timestamp(now)))
        .filter(auth_session::Column::Id.eq(session.id))
        .filter(auth_session::Column::LifecycleState.eq(LifecycleState::Active.as_str()))
        .exec(&txn)
        .await?;
    if rotated.rows_affected != 1 {
        return Err(Error::Token(TokenProblem::Revoked));
    }
    let (refresh_token, refresh_expires_at) =
        insert_refresh_token(&txn, session.user_id, session.id, now, deadline, policy).await?;
    txn.commit().await?;
    Ok(IssuedTokens {
        session_id: session.id,
        user_id: session.user_id,
        session_token,
        session_expires_at,
        refresh_token,
        refresh_expires_at,
    })
}

/// The sessions of `user`, newest first.
///
/// # Errors
/// Database failures only.
pub async fn list<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Vec<Session>> {
    Ok(auth_session::Entity::find()
        .filter(auth_session::Column::UserId.eq(user))
        .order_by_desc(auth_session::Column::CreatedAt)
        .order_by_desc(auth_session::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Session::from)
        .collect())
}

/// Ends the session `session_id` of `user` (sign-out of one device). Ending an ended session
/// changes nothing.
///
/// # Errors
/// [`Error::NotFound`] when `user` has no such session (also when it is another user's).
pub async fn revoke<C>(db: &C, user: UserId, session_id: i32) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db::begin_write(db).await?;
    auth_session::Entity::find_by_id(session_id)
        .filter(auth_session::Column::UserId.eq(user))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))?;
    end_session(&txn, session_id).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the session a session token belongs to (sign-out).
///
/// # Errors
/// [`Error::Token`] with [`TokenProblem::Unknown`] for an unknown token.
pub async fn sign_out<C>(db: &C, session_token: &str) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db::begin_write(db).await?;
    let session = auth_session::Entity::find()
        .filter(auth_session::Column::SessionId.eq(secret::token_digest(session_token)))
        .one(&txn)
        .await?
        .ok_or(Error::Token(TokenProblem::Unknown))?;
    end_session(&txn, session.id).await?;
    txn.commit().await?;
    Ok(())
}

/// An administrator ends every active session of `target` (state `admin_reset`) and
/// enqueues `auth.session.admin_reset`. Returns how many sessions were ended.
///
/// # Errors
/// [`Error::Invalid`] for an empty or over-long reason; [`Error::Forbidden`] unless `admin`
/// holds [`access::ADMIN`]; [`Error::NotFound`] for an unknown target.
pub async fn admin_reset<C>(db: &C, admin: UserId, target: UserId, reason: &str) -> Result<u64>
where
    C: ConnectionTrait + TransactionTrait,
{
    let reason = validate::text("reason", reason, REASON_MAX)?;
    let txn = db::begin_write(db).await?;
    access::require_permission(&txn, admin, access::ADMIN).await?;
    users::load_for_update(&txn, target).await?;
    let ended = end_all(&txn, target, LifecycleState::AdminReset).await?;
    outbox::enqueue(
        &txn,
        Some(target),
        "auth.session.admin_reset",
        json!({ "user_id": target.0, "by": admin.0, "reason": reason, "sessions": ended }),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// Marks `expired` every active session whose session token and refresh tokens have all
/// expired (a session or token from history without an expiry counts as expired). Returns
/// how many. Run it periodically; [`validate`] and [`refresh`] already
/// refuse expired tokens without it.
///
/// # Errors
/// Database failures only.
pub async fn expire_due<C>(db: &C) -> Result<u64>
where
    C: ConnectionTrait + TransactionTrait,
{
    let now = Timestamp::now();
    let live_refresh = Query::select()
        .expr(Expr::val(1))
        .from(session_token::Entity)
        .and_where(
            Expr::col((session_token::Entity, session_token::Column::AuthSessionId))
                .equals((auth_session::Entity, auth_session::Column::Id)),
        )
        .and_where(Expr::col((session_token::Entity, session_token::Column::Revoked)).eq(false))
        .and_where(Expr::col((session_token::Entity, session_token::Column::ExpiresAt)).gt(now))
        .to_owned();
    let txn = db::begin_write(db).await?;
    let ended = end_sessions(
        &txn,
        Condition::all()
            .add(
                Condition::any()
                    .add(auth_session::Column::ExpiresAt.lte(now))
                    .add(auth_session::Column::ExpiresAt.is_null()),
            )
            .add(Expr::exists(live_refresh).not()),
        LifecycleState::Expired,
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// Ends every active session of `user` with `state` and revokes all their refresh tokens
/// (also tokens from history that belong to no session). Returns how many sessions ended.
pub(crate) async fn end_all<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    state: LifecycleState,
) -> Result<u64> {
    let ended = end_sessions(
        db,
        Condition::all().add(auth_session::Column::UserId.eq(user)),
        state,
    )
    .await?;
    session_token::Entity::update_many()
        .col_expr(session_token::Column::Revoked, Expr::value(true))
        .col_expr(
            session_token::Column::UpdatedAt,
            Expr::value(Timestamp::now()),
        )
        .filter(session_token::Column::UserId.eq(user))
        .filter(session_token::Column::Revoked.eq(false))
        .exec(db)
        .await?;
    Ok(ended)
}

/// Ends the session `id` (state `invalidated`) and revokes its refresh tokens; an ended
/// session stays as it was.
async fn end_session<C: ConnectionTrait>(db: &C, id: i32) -> Result<u64> {
    end_sessions(
        db,
        Condition::all().add(auth_session::Column::Id.eq(id)),
        LifecycleState::Invalidated,
    )
    .await
}

/// Ends the active sessions matching `which` and revokes their refresh tokens.
async fn end_sessions<C: ConnectionTrait>(
    db: &C,
    which: Condition,
    state: LifecycleState,
) -> Result<u64> {
    let now = Timestamp::now();
    let ids: Vec<i32> = auth_session::Entity::find()
        .filter(which)
        .filter(auth_session::Column::LifecycleState.eq(LifecycleState::Active.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    auth_session::Entity::update_many()
        .col_expr(
            auth_session::Column::LifecycleState,
            Expr::value(state.as_str()),
        )
        .col_expr(auth_session::Column::InvalidatedAt, Expr::value(Some(now)))
        .col_expr(auth_session::Column::UpdatedAt, Expr::value(now))
        .filter(auth_session::Column::Id.is_in(ids.clone()))
        .exec(db)
        .await?;
    session_token::Entity::update_many()
        .col_expr(session_token::Column::Revoked, Expr::value(true))
        .col_expr(session_token::Column::UpdatedAt, Expr::value(now))
        .filter(session_token::Column::AuthSessionId.is_in(ids.clone()))
        .filter(session_token::Column::Revoked.eq(false))
        .exec(db)
        .await?;
    Ok(ids.len() as u64)
}
