//! Accounts: registration, sign-in, the profile (full name, time zone, email), password
//! change, deactivation and deletion.
//!
//! Emails are stored trimmed with their ASCII letters lower-cased (those from history as the
//! migration lower-cased them, with the database's `lower()`), and are unique
//! case-insensitively (`ix_user_email` is a unique index on `lower(email)`; lookups compare
//! `lower(email) = lower(?)`, so an address from history written `Ada@Example.org` is found as
//! `ada@example.org`). Passwords
//! are argon2id hashes; every new account receives the default roles
//! ([`access::DEFAULT_ROLES`]). `user.timezone` is the user's one time zone: the profile sets
//! it, the `timezone` preference reads and writes it, and [`crate::days`] computes local days
//! from it.
//!
//! Changing the password or the email, and deactivating the account, end every session and
//! invalidate every outstanding password-reset token.
//! Deleting a user removes every row they own in every domain: the ownership foreign keys
//! cascade (Part 2, DECISIONS 7), so one `DELETE` does it atomically.

use chrono::{DateTime, Utc};
use lifeos_entity::{Timestamp, UserId, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::json;

use super::sessions::{self, IssuedTokens, SessionPolicy};
use super::{access, password_reset, users};
use crate::platform::outbox;
use crate::{Error, Result, db, secret, validate};

/// Longest full name, in characters (`user.full_name`).
pub const FULL_NAME_MAX: usize = 255;

/// What a caller may see of an account (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The user's id.
    pub id: UserId,
    /// Trimmed email with ASCII letters lower-cased (rows from history were lower-cased by
    /// the database's `lower()`).
    pub email: String,
    /// Display name, if given.
    pub full_name: Option<String>,
    /// IANA time zone (`UTC` unless chosen).
    pub timezone: String,
    /// `false` once deactivated.
    pub is_active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for Account {
    fn from(model: user::Model) -> Self {
        Self {
            id: model.id,
            email: model.email,
            full_name: model.full_name,
            timezone: model.timezone.unwrap_or_else(|| "UTC".to_owned()),
            is_active: model.is_active,
            created_at: model.created_at.as_utc(),
        }
    }
}

/// Input of [`register`]. Its `Debug` output shows the email, never the password.
#[derive(Clone, Default)]
pub struct NewAccount {
    /// Email; trimmed and its ASCII letters lower-cased before it is checked and stored.
    pub email: String,
    /// Password in clear, [`validate::PASSWORD_MIN`]..=[`validate::PASSWORD_MAX`] characters.
    pub password: String,
    /// Display name (blank means none), at most [`FULL_NAME_MAX`] characters.
    pub full_name: Option<String>,
    /// IANA time zone; `None` means `UTC`.
    pub timezone: Option<String>,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("email", &self.email)
            .field("password", &"..")
            .field("full_name", &self.full_name)
            .field("timezone", &self.timezone)
            .finish()
    }
}

/// Creates an account with the default roles and enqueues `auth.user.registered`.
///
/// # Errors
/// [`Error::Invalid`] for a malformed email, a password out of bounds, an over-long name or an
/// unknown time zone; [`Error::Conflict`] when the email is taken; [`Error::Db`] when the
/// default roles are missing (the database is not migrated to head).
pub async fn register<C>(db: &C, new: NewAccount) -> Result<Account>
where
    C: ConnectionTrait + TransactionTrait,
{
    let email = validate::email(&new.email)?;
    validate::password(&new.password)?;
    let full_name = match &new.full_name {
        Some(name) => validate::optional_text("full_name", name, FULL_NAME_MAX)?,
        None => None,
    };
    let timezone = match &new.timezone {
        Some(zone) => validate::timezone(zone)?,
        None => "UTC".to_owned(),
    };
    let password_hash = secret::hash_password(&new.password)?;

    let txn = db::begin_write(db).await?;
    if users::find_by_email(&txn, &email).await?.is_some() {
        return Err(Error::Conflict(format!(
            "email {email} is already registered"
        )));
    }
    let now = Timestamp::now();
    let model = user::ActiveModel {
        email: Set(email),
        password_hash: Set(password_hash),
        full_name: Set(full_name),
        timezone: Set(Some(timezone)),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    access::grant_default_roles(&txn, model.id).await?;
    outbox::enqueue(
        &txn,
        Some(model.id),
        "auth.user.registered",
        json!({ "user_id": model.id.0 }),
    )
    .await?;
    txn.commit().await?;
    Ok(model.into())
}

/// Checks an email and password and returns the account.
///
/// # Errors
/// [`Error::InvalidCredentials`] for an unknown (or malformed) email and for a wrong password
/// alike — both paths verify one argon2 hash, so they also take the same time;
/// [`Error::AccountInactive`] when the credentials are right but the account is deactivated.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    email: &str,
    password: &str,
) -> Result<Account> {
    check_credentials(db, email, password)
        .await
        .map(Account::from)
}

/// The user with `email` whose password is `password` (see [`authenticate`]).
async fn check_credentials<C: ConnectionTrait>(
    db: &C,
    email: &str,
    password: &str,
) -> Result<user::Model> {
    let found = match validate::email(email) {
        Ok(email) => users::find_by_email(db, &email).await?,
        Err(_) => None,
    };
    let Some(model) = found else {
        secret::verify_nothing(password);
        return Err(Error::InvalidCredentials);
    };
    if !secret::verify_password(password, &model.password_hash) {
        return Err(Error::InvalidCredentials);
    }
    if !model.is_active {
        return Err(Error::AccountInactive);
    }
    Ok(model)
}

/// Locks `user` in the write transaction `txn` and checks that their password and email are
/// still those of `checked` (verified before the transaction, so the slow hash check holds no
/// lock): a change committed in between makes the caller's check stale.
async fn still_checked<C: ConnectionTrait>(txn: &C, checked: &user::Model) -> Result<user::Model> {
    let locked = users::load_for_update(txn, checked.id).await?;
    if locked.password_hash != checked.password_hash || locked.email != checked.email {
        return Err(Error::InvalidCredentials);
    }
    Ok(locked)
}

/// What [`sign_in`] returns: the account and its new session's tokens.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The account that signed in.
    pub account: Account,
    /// The new session's tokens (their `Debug` output hides them).
    pub tokens: IssuedTokens,
}

/// Checks an email and password and opens a session on `device` in one call. The password
/// is verified first, outside any lock; the session is then opened in a transaction that
/// locks the user and re-checks that neither password nor email changed meanwhile, so a
/// sign-in racing a password change or reset never leaves a session opened with the old
/// password.
///
/// # Errors
/// As [`authenticate`] ([`Error::InvalidCredentials`] also when the password changed while
/// signing in) and [`sessions::issue`].
pub async fn sign_in<C>(
    db: &C,
    email: &str,
    password: &str,
    device: Option<&str>,
    policy: SessionPolicy,
) -> Result<SignedIn>
where
    C: ConnectionTrait + TransactionTrait,
{
    let device = sessions::check_device(device)?;
    let checked = check_credentials(db, email, password).await?;
    let txn = db::begin_write(db).await?;
    let locked = still_checked(&txn, &checked).await?;
    let tokens = sessions::open(&txn, checked.id, device, policy).await?;
    txn.commit().await?;
    Ok(SignedIn {
        account: locked.into(),
        tokens,
    })
}

/// The account of `user`.
///
/// # Errors
/// [`Error::NotFound`] when there is no such user.
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Account> {
    users::load(db, user).await.map(Account::from)
}

/// A change to the profile: each `Some` field is set, each `None` kept.
#[derive(Clone, Debug, Default)]
pub struct ProfilePatch {
    /// The display name; `Some(None)` (or a blank name) removes it. At most
    /// [`FULL_NAME_MAX`] characters.
    pub full_name: Option<Option<String>>,
    /// The IANA time zone (`Europe/Paris`), stored in its canonical spelling.
    pub timezone: Option<String>,
}

/// Changes the full name and/or time zone of `user` and returns the account.
///
/// # Errors
/// [`Error::Invalid`] (`full_name`, `timezone`) for an over-long name or an unknown zone;
/// [`Error::NotFound`] for an unknown user.
pub async fn update_profile<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    patch: ProfilePatch,
) -> Result<Account> {
    let full_name = match &patch.full_name {
        Some(Some(name)) => Some(validate::optional_text("full_name", name, FULL_NAME_MAX)?),
        Some(None) => Some(None),
        None => None,
    };
    let timezone = patch
        .timezone
        .as_deref()
        .map(validate::timezone)
        .transpose()?;
    let mut update = user::Entity::update_many()
        .col_expr(user::Column::UpdatedAt, Timestamp::now().into())
        .filter(user::Column::Id.eq(user));
    if let Some(name) = full_name {
        update = update.col_expr(user::Column::FullName, Expr::value(name));
    }
    if let Some(zone) = timezone {
        update = update.col_expr(user::Column::Timezone, Expr::value(Some(zone)));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(Error::not_found("user", user));
    }
    get(db, user).await
}

/// Changes the email of `user` after checking their password. The new address must not be
/// any other account's, compared case-insensitively. Ends every session and invalidates the
/// outstanding reset tokens (they were sent to the old address).
///
/// # Errors
/// [`Error::Invalid`] for a malformed email; [`Error::InvalidCredentials`] for a wrong
/// password; [`Error::Conflict`] when the email is taken; [`Error::NotFound`] for an unknown
/// user.
pub async fn change_email<C>(
    db: &C,
    user: UserId,
    password: &str,
    new_email: &str,
) -> Result<Account>
where
    C: ConnectionTrait + TransactionTrait,
{
    let email = validate::email(new_email)?;
    let checked = users::load(db, user).await?;
    if !secret::verify_password(password, &checked.password_hash) {
        return Err(Error::InvalidCredentials);
    }
    let txn = db::begin_write(db).await?;
    let model = still_checked(&txn, &checked).await?;
    if model.email == email {
        return Ok(model.into());
    }
    if users::find_by_email(&txn, &email)
        .await?
        .is_some_and(|other| other.id != user)
    {
        return Err(Error::Conflict(format!(
            "email {email} is already registered"
        )));
    }
    // A concurrent change to the same address loses on `ix_user_email` (Conflict).
    user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(email))
        .col_expr(user::Column::UpdatedAt, Timestamp::now().into())
        .filter(user::Column::Id.eq(user))
        .exec(&txn)
        .await?;
    password_reset::revoke_all(&txn, user).await?;
    let account = users::load(&txn, user).await?.into();
    txn.commit().await?;
    Ok(account)
}

/// Replaces the password after checking the current one, ends every session of the user
/// (they sign in again with the new password) and invalidates the outstanding reset tokens.
///
/// # Errors
/// [`Error::Invalid`] for a new password out of bounds; [`Error::InvalidCredentials`] when
/// `current` is wrong; [`Error::NotFound`] for an unknown user.
pub async fn change_password<C>(db: &C, user: UserId, current: &str, new: &str) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    validate::password(new)?;
    let hash = secret::hash_password(new)?;
    let checked = users::load(db, user).await?;
    if !secret::verify_password(current, &checked.password_hash) {
        return Err(Error::InvalidCredentials);
    }
    let txn = db::begin_write(db).await?;
    still_checked(&txn, &checked).await?;
    users::store_password_hash(&txn, user, hash).await?;
    password_reset::revoke_all(&txn, user).await?;
    txn.commit().await?;
    Ok(())
}

/// Deactivates the account: it can no longer authenticate, its sessions end and its
/// outstanding reset tokens are invalidated. Its data stays. Deactivating an inactive account
/// changes nothing.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Conflict`] for the last active
/// administrator.
pub async fn deactivate<C>(db: &C, user: UserId) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db::begin_write(db).await?;
    access::keep_an_administrator(&txn, user).await?;
    users::load_for_update(&txn, user).await?;
    user::Entity::update_many()
        .col_expr(user::Column::IsActive, false.into())
        .col_expr(user::Column::UpdatedAt, Timestamp::now().into())
        .filter(user::Column::Id.eq(user))
        .exec(&txn)
        .await?;
    password_reset::revoke_all(&txn, user).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes the user and every row they own, in every domain (the ownership keys cascade),
/// and enqueues `auth.user.deleted` (kept: the event carries no owner, so the cascade leaves
/// it for delivery).
///
/// # Errors
/// [`Error::NotFound`] for an unknown user; [`Error::Conflict`] for the last active
/// administrator.
pub async fn delete<C>(db: &C, user: UserId) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db::begin_write(db).await?;
    access::keep_an_administrator(&txn, user).await?;
    let deleted = user::Entity::delete_by_id(user).exec(&txn).await?;
    if deleted.rows_affected == 0 {
        return Err(Error::not_found("user", user));
    }
    outbox::enqueue(
        &txn,
        None,
        "auth.user.deleted",
        json!({ "user_id": user.0 }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
