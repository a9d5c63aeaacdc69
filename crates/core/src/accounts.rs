//! Accounts: registration, authentication, password change, deactivation and deletion.
//!
//! Emails are stored trimmed and lower-cased and are unique; passwords are argon2id hashes;
//! every new account receives the default roles ([`crate::access::DEFAULT_ROLES`]).
//! Deleting a user removes every row they own in every domain: the ownership foreign keys
//! cascade (Part 2, DECISIONS 7), so one `DELETE` does it atomically.

use chrono::{DateTime, Utc};
use lifeos_entity::{Timestamp, UserId, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::json;

use crate::{Error, Result, access, outbox, secret, sessions, validate};

/// Longest full name, in characters (`user.full_name`).
pub const FULL_NAME_MAX: usize = 255;

/// What a caller may see of an account (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The user's id.
    pub id: UserId,
    /// Trimmed, lower-cased email.
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

/// Input of [`register`].
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    /// Email; trimmed and lower-cased before it is checked and stored.
    pub email: String,
    /// Password in clear, [`validate::PASSWORD_MIN`]..=[`validate::PASSWORD_MAX`] characters.
    pub password: String,
    /// Display name (blank means none), at most [`FULL_NAME_MAX`] characters.
    pub full_name: Option<String>,
    /// IANA time zone; `None` means `UTC`.
    pub timezone: Option<String>,
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

    let txn = db.begin().await?;
    if find_by_email(&txn, &email).await?.is_some() {
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
    let found = match validate::email(email) {
        Ok(email) => find_by_email(db, &email).await?,
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
    Ok(model.into())
}

/// The account of `user`.
///
/// # Errors
/// [`Error::NotFound`] when there is no such user.
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Account> {
    load(db, user).await.map(Account::from)
}

/// Replaces the password after checking the current one, and ends every session of the user
/// (they sign in again with the new password).
///
/// # Errors
/// [`Error::Invalid`] for a new password out of bounds; [`Error::InvalidCredentials`] when
/// `current` is wrong; [`Error::NotFound`] for an unknown user.
pub async fn change_password<C>(db: &C, user: UserId, current: &str, new: &str) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    validate::password(new)?;
    let txn = db.begin().await?;
    let model = load(&txn, user).await?;
    if !secret::verify_password(current, &model.password_hash) {
        return Err(Error::InvalidCredentials);
    }
    set_password(&txn, user, new).await?;
    sessions::end_all(&txn, user, sessions::LifecycleState::Invalidated).await?;
    txn.commit().await?;
    Ok(())
}

/// Deactivates the account: it can no longer authenticate, and its sessions end. Its data
/// stays. Deactivating an inactive account changes nothing.
///
/// # Errors
/// [`Error::NotFound`] for an unknown user.
pub async fn deactivate<C>(db: &C, user: UserId) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    load(&txn, user).await?;
    user::Entity::update_many()
        .col_expr(user::Column::IsActive, false.into())
        .col_expr(user::Column::UpdatedAt, Timestamp::now().into())
        .filter(user::Column::Id.eq(user))
        .exec(&txn)
        .await?;
    sessions::end_all(&txn, user, sessions::LifecycleState::Invalidated).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes the user and every row they own, in every domain (the ownership keys cascade),
/// and enqueues `auth.user.deleted` (kept: the event carries no owner, so the cascade leaves
/// it for delivery).
///
/// # Errors
/// [`Error::NotFound`] for an unknown user.
pub async fn delete<C>(db: &C, user: UserId) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
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

pub(crate) async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?)
}

pub(crate) async fn load<C: ConnectionTrait>(db: &C, user: UserId) -> Result<user::Model> {
    user::Entity::find_by_id(user)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("user", user))
}

/// Stores a new hash of `password` (already validated) for `user`.
pub(crate) async fn set_password<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    password: &str,
) -> Result<()> {
    let hash = secret::hash_password(password)?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, hash.into())
        .col_expr(user::Column::UpdatedAt, Timestamp::now().into())
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}
