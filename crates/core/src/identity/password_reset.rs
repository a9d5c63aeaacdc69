//! Password reset: a single-use token, valid for a short time (30 minutes by default, as in
//! the sources), of which only the SHA-256 is stored. Consuming it sets the new password,
//! ends every session of the user and invalidates every other outstanding reset token of
//! theirs; so do changing the password or the email and deactivating the account.
//!
//! Requests are limited to [`MAX_REQUESTS_PER_HOUR`] per user: a token is 256 random bits,
//! so guessing one is hopeless, and the limit bounds the mail a stranger can make an
//! account receive. (A wrong token matches no row, so there is no per-token attempt count.)

use chrono::{DateTime, Duration, Utc};
use lifeos_entity::{Timestamp, UserId, password_reset_token};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::json;

use super::{sessions, users};
use crate::platform::outbox;
use crate::{Error, Result, TokenProblem, db, secret, validate};

/// Default lifetime of a reset token.
pub const DEFAULT_TTL: Duration = Duration::minutes(30);
/// Reset requests accepted per user in any hour; the next one is
/// [`TokenProblem::TooManyAttempts`].
pub const MAX_REQUESTS_PER_HOUR: u64 = 5;

/// A reset token to send to the user, once. Its `Debug` output hides the token.
#[derive(Clone)]
pub struct ResetToken {
    /// Whose password it resets.
    pub user_id: UserId,
    /// The token.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetToken")
            .field("user_id", &self.user_id)
            .field("token", &"..")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Starts a reset for the account with `email`. Returns `None` when there is no active
/// account with that email — the caller answers both cases alike, so the response reveals
/// nothing. On success, enqueues `auth.user.password_reset_requested` (without the token).
///
/// # Errors
/// [`Error::Invalid`] for a non-positive `ttl`; [`Error::Token`] with
/// [`TokenProblem::TooManyAttempts`] when the account already had [`MAX_REQUESTS_PER_HOUR`]
/// requests in the last hour (answer the client as for `None`, or the refusal reveals that
/// the account exists). Requests at the same moment are counted one after the other.
pub async fn request<C>(db: &C, email: &str, ttl: Duration) -> Result<Option<ResetToken>>
where
    C: ConnectionTrait + TransactionTrait,
{
    if ttl <= Duration::zero() {
        return Err(Error::invalid("ttl", "must be positive"));
    }
    let Ok(email) = validate::email(email) else {
        return Ok(None);
    };
    let txn = db::begin_write(db).await?;
    let Some(user) = users::find_by_email(&txn, &email).await? else {
        return Ok(None);
    };
    // Serialises concurrent requests for one user, so the count below is exact.
    let user = users::load_for_update(&txn, user.id).await?;
    if !user.is_active {
        return Ok(None);
    }
    let now = Utc::now();
    let recent = password_reset_token::Entity::find()
        .filter(password_reset_token::Column::UserId.eq(user.id))
        .filter(password_reset_token::Column::CreatedAt.gt(Timestamp(now - Duration::hours(1))))
        .count(&txn)
        .await?;
    if recent >= MAX_REQUESTS_PER_HOUR {
        return Err(Error::Token(TokenProblem::TooManyAttempts));
    }
    let token = secret::new_token()?;
    let expires_at = now + ttl;
    password_reset_token::ActiveModel {
        user_id: Set(user.id),
        jti: Set(secret::token_digest(&token)),
        expires_at: Set(expires_at.into()),
        used_at: Set(None),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    outbox::enqueue(
        &txn,
        Some(user.id),
        "auth.user.password_reset_requested",
        json!({ "user_id": user.id.0, "expires_at": expires_at }),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(ResetToken {
        user_id: user.id,
        token,
        expires_at,
    }))
}

/// Sets a new password with a reset token: the token is used up, every session of the user
/// ends, and every other outstanding reset token of theirs is invalidated. Returns whose
/// password was reset.
///
/// # Errors
/// [`Error::Invalid`] for a new password out of bounds (the token stays usable);
/// [`Error::Token`] with [`TokenProblem::Unknown`], [`TokenProblem::Used`] (also for a token
/// invalidated by another reset, a password or email change or deactivation) or
/// [`TokenProblem::Expired`]; [`Error::AccountInactive`].
pub async fn consume<C>(db: &C, token: &str, new_password: &str) -> Result<UserId>
where
    C: ConnectionTrait + TransactionTrait,
{
    validate::password(new_password)?;
    let hash = secret::hash_password(new_password)?;
    let digest = secret::token_digest(token);
    let txn = db::begin_write(db).await?;
    let found = password_reset_token::Entity::find()
        .filter(password_reset_token::Column::Jti.eq(digest.as_str()))
        .one(&txn)
        .await?
        .ok_or(Error::Token(TokenProblem::Unknown))?;
    // Lock the user first — the order of a password change (user, then their tokens) — so a
    // concurrent reset or change of this user's password waits for this one.
    let active = users::load_for_update(&txn, found.user_id).await?.is_active;
    let now = Utc::now();
    // Claim the token; of two concurrent consumptions only one finds it unused.
    let claimed = password_reset_token::Entity::update_many()
        .col_expr(
            password_reset_token::Column::UsedAt,
            Expr::value(Some(Timestamp(now))),
        )
        .col_expr(
            password_reset_token::Column::UpdatedAt,
            Expr::value(Timestamp(now)),
        )
        .filter(password_reset_token::Column::Id.eq(found.id))
        .filter(password_reset_token::Column::UsedAt.is_null())
        .filter(password_reset_token::Column::ExpiresAt.gt(Timestamp(now)))
        .exec_with_returning(&txn)
        .await?;
    let Some(row) = claimed.into_iter().next() else {
        let row = password_reset_token::Entity::find_by_id(found.id)
            .one(&txn)
            .await?
            .ok_or(Error::Token(TokenProblem::Unknown))?;
        return Err(Error::Token(if row.used_at.is_some() {
            TokenProblem::Used
        } else {
            TokenProblem::Expired
        }));
    };
    if !active {
        return Err(Error::AccountInactive);
    }
    users::store_password_hash(&txn, row.user_id, hash).await?;
    revoke_all(&txn, row.user_id).await?;
    txn.commit().await?;
    Ok(row.user_id)
}

/// Ends every session of `user` and invalidates their outstanding reset tokens — what a
/// password or email change, a reset and a deactivation do. Call it with the user locked.
pub(crate) async fn revoke_all<C: ConnectionTrait>(db: &C, user: UserId) -> Result<()> {
    sessions::end_all(db, user, sessions::LifecycleState::Invalidated).await?;
    invalidate_all(db, user).await?;
    Ok(())
}

/// Marks every outstanding (unused) reset token of `user` used, so none of them works any
/// more. Returns how many.
async fn invalidate_all<C: ConnectionTrait>(db: &C, user: UserId) -> Result<u64> {
    let now = Timestamp::now();
    let done = password_reset_token::Entity::update_many()
        .col_expr(password_reset_token::Column::UsedAt, Expr::value(Some(now)))
        .col_expr(password_reset_token::Column::UpdatedAt, Expr::value(now))
        .filter(password_reset_token::Column::UserId.eq(user))
        .filter(password_reset_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
