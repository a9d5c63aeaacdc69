//! Access control: roles, permissions and the grants between them.
//!
//! A user holds roles (`user_role`); a role grants permissions (`role_permission`); a
//! permission is a code such as `finance:write`. The default roles and permissions are seeded
//! by migration `m20261121_000001_kernel_services`, never by code at start-up:
//!
//! | role | grants |
//! |---|---|
//! | `user` | `account:write` |
//! | `<domain>:write` (finance, calendar, health, habits, skills, projects, relationships, journal) | the same code |
//! | `admin` (not a default) | `auth:admin` |
//!
//! A deactivated user holds no permission. Changing roles and permissions requires
//! [`ADMIN`]; the first administrator is made with [`bootstrap_admin`].

use std::collections::BTreeSet;

use lifeos_entity::{Timestamp, UserId, permission, role, role_permission, user, user_role};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait,
    Set, TransactionSession, TransactionTrait,
};

use crate::{Error, Result, validate};

/// The roles every new account receives (as the sources grant them).
pub const DEFAULT_ROLES: [&str; 9] = [
    "user",
    "finance:write",
    "calendar:write",
    "health:write",
    "habits:write",
    "skills:write",
    "projects:write",
    "relationships:write",
    "journal:write",
];

/// The role of administrators.
pub const ADMIN_ROLE: &str = "admin";

/// The permission that administers other users (roles, sessions).
pub const ADMIN: &str = "auth:admin";

/// Longest role name (`role.name`).
pub const ROLE_NAME_MAX: usize = 64;
/// Longest permission code (`permission.code`).
pub const PERMISSION_CODE_MAX: usize = 128;
/// Longest description of a role or permission.
pub const DESCRIPTION_MAX: usize = 255;

/// Gives `user` the [`DEFAULT_ROLES`].
pub(crate) async fn grant_default_roles<C: ConnectionTrait>(db: &C, user: UserId) -> Result<()> {
    let roles = role::Entity::find()
        .filter(role::Column::Name.is_in(DEFAULT_ROLES))
        .all(db)
        .await?;
    if roles.len() != DEFAULT_ROLES.len() {
        let found: BTreeSet<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        let missing: Vec<&str> = DEFAULT_ROLES
            .iter()
            .copied()
            .filter(|name| !found.contains(name))
            .collect();
        return Err(Error::Db(sea_orm::DbErr::Custom(format!(
            "default roles {missing:?} are missing: migrate the database to head"
        ))));
    }
    for role in roles {
        assign(db, user, role.id).await?;
    }
    Ok(())
}

async fn assign<C: ConnectionTrait>(db: &C, user: UserId, role_id: i32) -> Result<()> {
    user_role::Entity::insert(user_role::ActiveModel {
        user_id: Set(user),
        role_id: Set(role_id),
    })
    .on_conflict(
        OnConflict::columns([user_role::Column::UserId, user_role::Column::RoleId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The names of the roles `user` holds, sorted.
///
/// # Errors
/// Database failures only (an unknown user holds no role).
pub async fn roles_of<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Vec<String>> {
    let mut names: Vec<String> = role::Entity::find()
        .join(JoinType::InnerJoin, user_role::Relation::Role.def().rev())
        .filter(user_role::Column::UserId.eq(user))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    Ok(names)
}

/// The permission codes `user` holds through their roles (none when deactivated).
///
/// # Errors
/// Database failures only.
pub async fn permissions_of<C: ConnectionTrait>(db: &C, user: UserId) -> Result<BTreeSet<String>> {
    Ok(held(db, user, None)
        .await?
        .into_iter()
        .map(|p| p.code)
        .collect())
}

/// Whether `user` (active) holds the permission `code` through any of their roles.
///
/// # Errors
/// Database failures only.
pub async fn has_permission<C: ConnectionTrait>(db: &C, user: UserId, code: &str) -> Result<bool> {
    Ok(!held(db, user, Some(code)).await?.is_empty())
}

/// Like [`has_permission`], as a guard.
///
/// # Errors
/// [`Error::Forbidden`] naming `code` when `user` does not hold it.
pub async fn require_permission<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    code: &str,
) -> Result<()> {
    if has_permission(db, user, code).await? {
        Ok(())
    } else {
        Err(Error::Forbidden {
            permission: code.to_owned(),
        })
    }
}

async fn held<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    code: Option<&str>,
) -> Result<Vec<permission::Model>> {
    let mut query = permission::Entity::find()
        .join(
            JoinType::InnerJoin,
            role_permission::Relation::Permission.def().rev(),
        )
        .join(JoinType::InnerJoin, role_permission::Relation::Role.def())
        .join(JoinType::InnerJoin, user_role::Relation::Role.def().rev())
        .join(JoinType::InnerJoin, user_role::Relation::User.def())
        .filter(user_role::Column::UserId.eq(user))
        .filter(user::Column::IsActive.eq(true))
        .distinct();
    if let Some(code) = code {
        query = query.filter(permission::Column::Code.eq(code));
    }
    Ok(query.all(db).await?)
}

/// Creates a role (administrators only).
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`]; [`Error::Invalid`] for an empty or
/// over-long name or description; [`Error::Conflict`] when the name exists.
pub async fn create_role<C: ConnectionTrait>(
    db: &C,
    actor: UserId,
    name: &str,
    description: &str,
) -> Result<role::Model> {
    let name = validate::text("name", name, ROLE_NAME_MAX)?;
    let description =
        validate::optional_text("description", description, DESCRIPTION_MAX)?.unwrap_or_default();
    require_permission(db, actor, ADMIN).await?;
    let now = Timestamp::now();
    let inserted = role::Entity::insert(role::ActiveModel {
        name: Set(name),
        description: Set(description),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    Ok(inserted)
}

/// Creates a permission code (administrators only).
///
/// # Errors
/// As [`create_role`].
pub async fn create_permission<C: ConnectionTrait>(
    db: &C,
    actor: UserId,
    code: &str,
    description: &str,
) -> Result<permission::Model> {
    let code = validate::text("code", code, PERMISSION_CODE_MAX)?;
    let description =
        validate::optional_text("description", description, DESCRIPTION_MAX)?.unwrap_or_default();
    require_permission(db, actor, ADMIN).await?;
    let now = Timestamp::now();
    let inserted = permission::Entity::insert(permission::ActiveModel {
        code: Set(code),
        description: Set(description),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    Ok(inserted)
}

/// Lets the role `role` grant the permission `code` (administrators only; idempotent).
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`]; [`Error::NotFound`] for an unknown
/// role or permission.
pub async fn grant_permission<C: ConnectionTrait>(
    db: &C,
    actor: UserId,
    role: &str,
    code: &str,
) -> Result<()> {
    require_permission(db, actor, ADMIN).await?;
    let role = find_role(db, role).await?;
    let permission = permission::Entity::find()
        .filter(permission::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("permission", code))?;
    role_permission::Entity::insert(role_permission::ActiveModel {
        role_id: Set(role.id),
        permission_id: Set(permission.id),
    })
    .on_conflict(
        OnConflict::columns([
            role_permission::Column::RoleId,
            role_permission::Column::PermissionId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Gives `target` the role `role` (administrators only; idempotent).
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`]; [`Error::NotFound`] for an unknown
/// role or user.
pub async fn assign_role<C: ConnectionTrait>(
    db: &C,
    actor: UserId,
    target: UserId,
    role: &str,
) -> Result<()> {
    require_permission(db, actor, ADMIN).await?;
    let role = find_role(db, role).await?;
    crate::accounts::load(db, target).await?;
    assign(db, target, role.id).await
}

/// Takes the role `role` from `target` (administrators only). Returns whether they held it.
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`]; [`Error::NotFound`] for an unknown
/// role.
pub async fn unassign_role<C: ConnectionTrait>(
    db: &C,
    actor: UserId,
    target: UserId,
    role: &str,
) -> Result<bool> {
    require_permission(db, actor, ADMIN).await?;
    let role = find_role(db, role).await?;
    let deleted = user_role::Entity::delete_many()
        .filter(user_role::Column::UserId.eq(target))
        .filter(user_role::Column::RoleId.eq(role.id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Makes `user` the first administrator. Operators run it once after set-up.
///
/// # Errors
/// [`Error::Conflict`] when someone already holds the [`ADMIN_ROLE`]; [`Error::NotFound`] for
/// an unknown user.
pub async fn bootstrap_admin<C>(db: &C, user: UserId) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    crate::accounts::load(&txn, user).await?;
    let role = find_role(&txn, ADMIN_ROLE).await?;
    let holders = user_role::Entity::find()
        .filter(user_role::Column::RoleId.eq(role.id))
        .filter(Expr::col(user_role::Column::UserId).is_not_null())
        .all(&txn)
        .await?;
    if !holders.is_empty() {
        return Err(Error::Conflict("an administrator already exists".into()));
    }
    assign(&txn, user, role.id).await?;
    txn.commit().await?;
    Ok(())
}

async fn find_role<C: ConnectionTrait>(db: &C, name: &str) -> Result<role::Model> {
    role::Entity::find()
        .filter(role::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("role", name))
}
