//! Password reset: a single-use token, valid for a short time (30 minutes by default, as in
//! the sources), of which only the SHA-256 is stored. Consuming it sets the new password and
//! ends every session of the user.

use chrono::{DateTime, Duration, Utc};
use lifeos_entity::{Timestamp, UserId, password_reset_token};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::json;

use crate::{Error, Result, TokenProblem, accounts, outbox, secret, sessions, validate};

/// Default lifetime of a reset token.
pub const DEFAULT_TTL: Duration = Duration::minutes(30);
/// Consumptions allowed per token (as in the sources).
pub const MAX_ATTEMPTS: i32 = 5;

/// A reset token to send to the user, once.
#[derive(Clone, Debug)]
pub struct ResetToken {
    /// Whose password it resets.
    pub user_id: UserId,
    /// The token.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Starts a reset for the account with `email`. Returns `None` when there is no active
/// account with that email — the caller answers both cases alike, so the response reveals
/// nothing. On success, enqueues `auth.user.password_reset_requested` (without the token).
///
/// # Errors
/// [`Error::Invalid`] for a non-positive `ttl`.
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
    let txn = db.begin().await?;
    let Some(user) = accounts::find_by_email(&txn, &email).await? else {
        return Ok(None);
    };
    if !user.is_active {
        return Ok(None);
    }
    let token = secret::new_token()?;
    let now = Utc::now();
    let expires_at = now + ttl;
    password_reset_token::ActiveModel {
        user_id: Set(user.id),
        jti: Set(secret::token_digest(&token)),
        expires_at: Set(expires_at.into()),
        used_at: Set(None),
        attempts: Set(0),
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

/// Sets a new password with a reset token: the token is used up, and every session of the
/// user ends. Returns whose password was reset.
///
/// # Errors
/// [`Error::Invalid`] for a new password out of bounds (the token stays usable);
/// [`Error::Token`] with [`TokenProblem::Unknown`], [`TokenProblem::Used`],
/// [`TokenProblem::Expired`] or [`TokenProblem::TooManyAttempts`]; [`Error::AccountInactive`].
pub async fn consume<C>(db: &C, token: &str, new_password: &str) -> Result<UserId>
where
    C: ConnectionTrait + TransactionTrait,
{
    validate::password(new_password)?;
    let txn = db.begin().await?;
    let row = password_reset_token::Entity::find()
        .filter(password_reset_token::Column::Jti.eq(secret::token_digest(token)))
        .one(&txn)
        .await?
        .ok_or(Error::Token(TokenProblem::Unknown))?;
    if row.used_at.is_some() {
        return Err(Error::Token(TokenProblem::Used));
    }
    let now = Utc::now();
    if row.expires_at.as_utc() <= now {
        return Err(Error::Token(TokenProblem::Expired));
    }
    if row.attempts >= MAX_ATTEMPTS {
        return Err(Error::Token(TokenProblem::TooManyAttempts));
    }
    if !accounts::load(&txn, row.user_id).await?.is_active {
        return Err(Error::AccountInactive);
    }
    // Claim the token; of two concurrent consumptions only one finds it unused.
    let claimed = password_reset_token::Entity::update_many()
        .col_expr(
            password_reset_token::Column::UsedAt,
            Expr::value(Some(Timestamp(now))),
        )
        .col_expr(
            password_reset_token::Column::Attempts,
            Expr::col(password_reset_token::Column::Attempts).add(1),
        )
        .col_expr(
            password_reset_token::Column::UpdatedAt,
            Expr::value(Timestamp(now)),
        )
        .filter(password_reset_token::Column::Id.eq(row.id))
        .filter(password_reset_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(Error::Token(TokenProblem::Used));
    }
    accounts::set_password(&txn, row.user_id, new_password).await?;
    sessions::end_all(&txn, row.user_id, sessions::LifecycleState::Invalidated).await?;
    txn.commit().await?;
    Ok(row.user_id)
}
