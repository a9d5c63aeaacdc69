//! The user lookups every identity module shares (kept apart so that `accounts`, `access`
//! and `sessions` need not import one another for them).

use lifeos_entity::{Timestamp, UserId, user};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{Error, Result};

/// The user whose email is `email` (already normalised by [`crate::validate::email`]),
/// compared case-insensitively as the database folds case: `lower(email) = lower(?)`, the
/// expression the unique index `ix_user_email` keeps unique, and which serves this lookup.
/// (SQLite's `lower()` folds ASCII letters only, PostgreSQL's follows the database's locale;
/// both sides of the comparison and the index use the same one, so lookups and uniqueness
/// always agree.)
pub(crate) async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(
            Expr::expr(Func::lower(Expr::col(user::Column::Email)))
                .eq(Func::lower(Expr::val(email))),
        )
        .one(db)
        .await?)
}

/// The user `user`.
pub(crate) async fn load<C: ConnectionTrait>(db: &C, user: UserId) -> Result<user::Model> {
    user::Entity::find_by_id(user)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("user", user))
}

/// The user `user`, locked until the end of the transaction (`FOR UPDATE` on PostgreSQL; on
/// SQLite the transaction from [`crate::db::begin_write`] already holds the write lock), so
/// that decisions about the user's rows (how many reset requests, …) cannot race.
pub(crate) async fn load_for_update<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> Result<user::Model> {
    user::Entity::find_by_id(user)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("user", user))
}

/// Stores `hash` (from `secret::hash_password`) as the password of `user`.
pub(crate) async fn store_password_hash<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    hash: String,
) -> Result<()> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, hash.into())
        .col_expr(user::Column::UpdatedAt, Timestamp::now().into())
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}
