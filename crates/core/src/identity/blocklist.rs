//! The JWT blocklist: ids (`jti`) of access tokens revoked before their expiry. Services that
//! issue JWTs check it on every request; entries can be purged once the token has expired on
//! its own.

use chrono::{DateTime, Utc};
use lifeos_entity::{Timestamp, UserId, jwt_blocklist};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{Result, validate};

/// Longest token id (`jwt_blocklist.jti`).
pub const JTI_MAX: usize = 64;

/// Blocks the token `jti` until `expires_at`, recording who blocked it. Blocking a blocked
/// token again keeps the later expiry — decided in the one upsert statement, so concurrent
/// blocks of one token end with the latest of their expiries. An entry from history without
/// an expiry (blocked for good) stays without one.
///
/// # Errors
/// [`crate::Error::Invalid`] for an empty or over-long `jti`; `field = "reference"` when
/// `created_by` is not a user.
pub async fn block<C: ConnectionTrait>(
    db: &C,
    jti: &str,
    expires_at: DateTime<Utc>,
    created_by: Option<UserId>,
) -> Result<()> {
    let jti = validate::text("jti", jti, JTI_MAX)?;
    let now = Timestamp::now();
    jwt_blocklist::Entity::insert(jwt_blocklist::ActiveModel {
        jti: Set(jti),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
        expires_at: Set(Some(expires_at.into())),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(jwt_blocklist::Column::Jti)
            .value(
                jwt_blocklist::Column::ExpiresAt,
                Expr::cust(
                    "CASE WHEN jwt_blocklist.expires_at IS NULL \
                     OR jwt_blocklist.expires_at >= excluded.expires_at \
                     THEN jwt_blocklist.expires_at ELSE excluded.expires_at END",
                ),
            )
            .update_column(jwt_blocklist::Column::UpdatedAt)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Whether `jti` is blocked.
///
/// # Errors
/// Database failures only.
pub async fn is_blocked<C: ConnectionTrait>(db: &C, jti: &str) -> Result<bool> {
    Ok(find(db, jti.trim()).await?.is_some())
}

/// Removes entries whose token expired before `now`; returns how many. Entries without an
/// expiry (from history) stay.
///
/// # Errors
/// Database failures only.
pub async fn purge_expired<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64> {
    let purged = jwt_blocklist::Entity::delete_many()
        .filter(jwt_blocklist::Column::ExpiresAt.lt(Timestamp(now)))
        .exec(db)
        .await?;
    Ok(purged.rows_affected)
}

async fn find<C: ConnectionTrait>(db: &C, jti: &str) -> Result<Option<jwt_blocklist::Model>> {
    Ok(jwt_blocklist::Entity::find()
        .filter(jwt_blocklist::Column::Jti.eq(jti))
        .one(db)
        .await?)
}
