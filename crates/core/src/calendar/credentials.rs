//! Calendar OAuth credentials (`calendar_oauth_token`), one per user and provider, with the
//! access and refresh tokens sealed at rest (DECISIONS 16): XChaCha20-Poly1305 under a
//! [`CredentialKey`] the caller supplies, each value bound to its owner, provider and field,
//! so neither a database dump nor a value copied into another row yields a usable token.
//!
//! Rows written before this crate hold plaintext; [`seal_plaintext`] encrypts them in place
//! once the key is available, and reading one before that is an [`Error::Decrypt`].
//!
//! Sealed values name the key they were sealed under ([`CredentialKey::id`]);
//! [`rotate_key`] re-seals every row under a new key in one transaction. Providers send a
//! refresh token only at the first consent, so [`store`] without one keeps the stored refresh
//! token; only [`clear_refresh_token`] (or [`remove`]) drops it. Decrypted tokens are wiped
//! from memory when dropped, and no type here prints a token in its `Debug` output.

use chrono::{DateTime, Utc};
use lifeos_entity::{Timestamp, UserId, calendar_oauth_token};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use zeroize::Zeroizing;

use crate::secret::{self, CredentialKey};
use crate::{Error, Result, validate};

/// Longest OAuth token accepted (before encryption).
pub const TOKEN_MAX: usize = 8192;
/// Longest sync cursor and error message (`VARCHAR(512)`).
pub const TEXT_MAX: usize = 512;

/// The calendar providers LifeOS syncs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Provider {
    /// Google Calendar.
    Google,
    /// Apple (iCloud) Calendar.
    Apple,
}

impl Provider {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Apple => "apple",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "google" => Some(Self::Google),
            "apple" => Some(Self::Apple),
            _ => None,
        }
    }
}

/// Tokens received from a provider's OAuth flow. Its `Debug` output hides the tokens.
#[derive(Clone)]
pub struct NewCredential {
    /// Which provider.
    pub provider: Provider,
    /// The access token.
    pub access_token: String,
    /// The refresh token, if the provider gave one (`None` keeps the stored one).
    pub refresh_token: Option<String>,
    /// The token type (default `Bearer`; at most 32 characters).
    pub token_type: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredential")
            .field("provider", &self.provider)
            .field("access_token", &"..")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A stored credential, opened.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The owner.
    pub user_id: UserId,
    /// The provider.
    pub provider: Provider,
    /// The access token, decrypted (wiped from memory when dropped).
    pub access_token: Zeroizing<String>,
    /// The refresh token, decrypted (wiped from memory when dropped).
    pub refresh_token: Option<Zeroizing<String>>,
    /// The token type.
    pub token_type: String,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the last sync succeeded.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The provider's incremental-sync cursor.
    pub sync_token: Option<String>,
    /// `false` once disconnected.
    pub is_active: bool,
    /// The last sync error (cleared by a successful sync).
    pub error_message: Option<String>,
    /// When the tokens were last stored.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("user_id", &self.user_id)
            .field("provider", &self.provider)
            .field("access_token", &"..")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("expires_at", &self.expires_at)
            .field("last_sync_at", &self.last_sync_at)
            .field("is_active", &self.is_active)
            .field("error_message", &self.error_message)
            .finish()
    }
}

/// The outcome of one sync, for [`record_sync`].
#[derive(Clone, Debug)]
pub enum SyncOutcome {
    /// The sync succeeded; the provider's new cursor, if any.
    Succeeded {
        /// The incremental-sync cursor to store.
        sync_token: Option<String>,
    },
    /// The sync failed with this error (kept, at most [`TEXT_MAX`] characters).
    Failed {
        /// What went wrong.
        error: String,
    },
}

fn context(user: UserId, provider: Provider, field: &str) -> String {
    format!(
        "calendar_oauth_token:{}:{}:{field}",
        user.0,
        provider.as_str()
    )
}

/// Stores the tokens of `user` for `provider`, replacing earlier ones (the pair is unique),
/// and marks the credential active. Without a refresh token, the stored refresh token stays
/// (providers send one only at the first consent).
///
/// # Errors
/// [`Error::Invalid`] for an empty or over-long token or token type; `field = "reference"`
/// for an unknown user.
pub async fn store<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    key: &CredentialKey,
    new: NewCredential,
) -> Result<()> {
    let access = validate::text("access_token", &new.access_token, TOKEN_MAX)?;
    let refresh = match &new.refresh_token {
        Some(token) => validate::optional_text("refresh_token", token, TOKEN_MAX)?,
        None => None,
    };
    let token_type = match &new.token_type {
        Some(kind) => validate::text("token_type", kind, 32)?,
        None => "Bearer".to_owned(),
    };
    let provider = new.provider;
    let access = secret::seal(key, &context(user, provider, "access_token"), &access)?;
    let refresh = refresh
        .map(|token| secret::seal(key, &context(user, provider, "refresh_token"), &token))
        .transpose()?;
    let now = Timestamp::now();
    calendar_oauth_token::Entity::insert(calendar_oauth_token::ActiveModel {
        user_id: Set(user),
        provider: Set(provider.as_str().to_owned()),
        access_token: Set(access),
        refresh_token: Set(refresh),
        token_type: Set(token_type),
        expires_at: Set(new.expires_at.map(Timestamp)),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            calendar_oauth_token::Column::UserId,
            calendar_oauth_token::Column::Provider,
        ])
        .value(
            calendar_oauth_token::Column::RefreshToken,
            Expr::cust("COALESCE(excluded.refresh_token, calendar_oauth_token.refresh_token)"),
        )
        .update_columns([
            calendar_oauth_token::Column::AccessToken,
            calendar_oauth_token::Column::TokenType,
            calendar_oauth_token::Column::ExpiresAt,
            calendar_oauth_token::Column::IsActive,
            calendar_oauth_token::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// The credential of `user` for `provider`, decrypted.
///
/// # Errors
/// [`Error::NotFound`] when `user` has none for `provider`; [`Error::Decrypt`] for a wrong
/// key (or an altered or plaintext value).
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    provider: Provider,
    key: &CredentialKey,
) -> Result<Credential> {
    let row = find(db, user, provider).await?;
    open(row, provider, key)
}

/// The providers `user` has credentials for (without decrypting anything).
///
/// # Errors
/// Database failures only.
pub async fn providers<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Vec<Provider>> {
    Ok(calendar_oauth_token::Entity::find()
        .filter(calendar_oauth_token::Column::UserId.eq(user))
        .order_by_asc(calendar_oauth_token::Column::Provider)
        .all(db)
        .await?
        .iter()
        .filter_map(|row| Provider::parse(&row.provider))
        .collect())
}

/// Records the outcome of a sync: on success the time and cursor, clearing the last error; on
/// failure the error, keeping the last successful sync's time and cursor.
///
/// # Errors
/// [`Error::NotFound`] when `user` has no credential for `provider`; [`Error::Invalid`] for
/// an over-long cursor or an empty or over-long error.
pub async fn record_sync<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    provider: Provider,
    outcome: SyncOutcome,
) -> Result<()> {
    let row = find(db, user, provider).await?;
    let mut active: calendar_oauth_token::ActiveModel = row.into();
    match outcome {
        SyncOutcome::Succeeded { sync_token } => {
            let sync_token = match sync_token {
                Some(cursor) => validate::optional_text("sync_token", &cursor, TEXT_MAX)?,
                None => None,
            };
            active.last_sync_at = Set(Some(Timestamp::now()));
            active.sync_token = Set(sync_token);
            active.error_message = Set(None);
        }
        SyncOutcome::Failed { error } => {
            active.error_message = Set(Some(validate::text("error", &error, TEXT_MAX)?));
        }
    }
    active.updated_at = Set(Timestamp::now());
    active.update(db).await?;
    Ok(())
}

/// Removes the credential of `user` for `provider` (disconnect). Returns whether there was
/// one.
///
/// # Errors
/// Database failures only.
pub async fn remove<C: ConnectionTrait>(db: &C, user: UserId, provider: Provider) -> Result<bool> {
    let deleted = calendar_oauth_token::Entity::delete_many()
        .filter(calendar_oauth_token::Column::UserId.eq(user))
        .filter(calendar_oauth_token::Column::Provider.eq(provider.as_str()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Drops the stored refresh token of `user` for `provider` (the access token stays). Returns
/// whether there was one.
///
/// # Errors
/// [`Error::NotFound`] when `user` has no credential for `provider`.
pub async fn clear_refresh_token<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    provider: Provider,
) -> Result<bool> {
    let row = find(db, user, provider).await?;
    let had = row.refresh_token.is_some();
    calendar_oauth_token::Entity::update_many()
        .col_expr(
            calendar_oauth_token::Column::RefreshToken,
            Expr::value(None::<String>),
        )
        .col_expr(
            calendar_oauth_token::Column::UpdatedAt,
            Expr::value(Timestamp::now()),
        )
        .filter(calendar_oauth_token::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(had)
}

/// Re-seals every credential under `new`, in one transaction: values sealed under `old` (or
/// in the format from before key ids) are opened and sealed again, values already under `new`
/// are left (so an interrupted rotation can simply be run again), plaintext from history is
/// sealed. Returns how many rows changed. Rows with an unknown provider are left as they are.
///
/// # Errors
/// [`Error::Invalid`] (`field = "key"`) when `old` and `new` are the same key;
/// [`Error::Decrypt`] when a value opens under neither key — then nothing is changed.
pub async fn rotate_key<C>(db: &C, old: &CredentialKey, new: &CredentialKey) -> Result<u64>
where
    C: ConnectionTrait + TransactionTrait,
{
    if old.id() == new.id() {
        return Err(Error::invalid("key", "the new key is the old key"));
    }
    reseal_all(db, Some(old), new).await
}

/// Encrypts, in place, every credential still stored in plaintext (written before this
/// crate). Returns how many rows were sealed. Idempotent.
///
/// # Errors
/// Database failures; rows with an unknown provider are left as they are.
pub async fn seal_plaintext<C>(db: &C, key: &CredentialKey) -> Result<u64>
where
    C: ConnectionTrait + TransactionTrait,
{
    reseal_all(db, None, key).await
}

/// Seals under `new`, in one transaction, every stored value that is plaintext, and — given
/// `old` — every value sealed under another key than `new`. Returns how many rows changed.
async fn reseal_all<C>(db: &C, old: Option<&CredentialKey>, new: &CredentialKey) -> Result<u64>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::db::begin_write(db).await?;
    let mut changed = 0;
    // Locked, so a credential stored meanwhile is not overwritten with its old tokens.
    for row in calendar_oauth_token::Entity::find()
        .order_by_asc(calendar_oauth_token::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?
    {
        let Some(provider) = Provider::parse(&row.provider) else {
            continue;
        };
        let reseal = |field: &str, stored: &str, what: &'static str| -> Result<Option<String>> {
            let context = context(row.user_id, provider, field);
            let plain = match (secret::is_sealed(stored), old) {
                (false, _) => Zeroizing::new(stored.to_owned()),
                (true, Some(old)) if secret::sealed_key_id(stored) != Some(new.id()) => {
                    secret::open(old, &context, stored, what)?
                }
                (true, _) => return Ok(None),
            };
            secret::seal(new, &context, &plain).map(Some)
        };
        let access = reseal("access_token", &row.access_token, "access token")?;
        let refresh = match &row.refresh_token {
            Some(stored) => reseal("refresh_token", stored, "refresh token")?,
            None => None,
        };
        if access.is_none() && refresh.is_none() {
            continue;
        }
        let mut update = calendar_oauth_token::Entity::update_many()
            .filter(calendar_oauth_token::Column::Id.eq(row.id));
        if let Some(value) = access {
            update = update.col_expr(
                calendar_oauth_token::Column::AccessToken,
                Expr::value(value),
            );
        }
        if let Some(value) = refresh {
            update = update.col_expr(
                calendar_oauth_token::Column::RefreshToken,
                Expr::value(Some(value)),
            );
        }
        update.exec(&txn).await?;
        changed += 1;
    }
    txn.commit().await?;
    Ok(changed)
}

async fn find<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    provider: Provider,
) -> Result<calendar_oauth_token::Model> {
    calendar_oauth_token::Entity::find()
        .filter(calendar_oauth_token::Column::UserId.eq(user))
        .filter(calendar_oauth_token::Column::Provider.eq(provider.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("calendar credential", provider.as_str()))
}

fn open(
    row: calendar_oauth_token::Model,
    provider: Provider,
    key: &CredentialKey,
) -> Result<Credential> {
    let user = row.user_id;
    let access_token = secret::open(
        key,
        &context(user, provider, "access_token"),
        &row.access_token,
        "access token",
    )?;
    let refresh_token = row
        .refresh_token
        .as_deref()
        .map(|token| {
            secret::open(
                key,
                &context(user, provider, "refresh_token"),
                token,
                "refresh token",
            )
        })
        .transpose()?;
    Ok(Credential {
        user_id: user,
        provider,
        access_token,
        refresh_token,
        token_type: row.token_type,
        expires_at: row.expires_at.map(|t| t.as_utc()),
        last_sync_at: row.last_sync_at.map(|t| t.as_utc()),
        sync_token: row.sync_token,
        is_active: row.is_active,
        error_message: row.error_message,
        updated_at: row.updated_at.as_utc(),
    })
}
