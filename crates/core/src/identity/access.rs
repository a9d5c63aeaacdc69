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
//! A deactivated user holds no permission. Changing and listing roles and permissions
//! requires [`ADMIN`]; the first administrator is made with [`bootstrap_admin`] (race-free:
//! of two concurrent calls one succeeds), and the last active holder of [`ADMIN_ROLE`] can be
//! neither unassigned, deactivated nor deleted, nor can the role stop granting [`ADMIN`], so
//! an installation never loses its only administrator by mistake.

use std::collections::BTreeSet;

use lifeos_entity::{Timestamp, UserId, permission, role, role_permission, user, user_role};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set, TransactionSession, TransactionTrait,
};

use super::users;
use crate::{Error, Result, db, validate};

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
    let permission = find_permission(db, code).await?;
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
pub async fn assign_role<C>(db: &C, actor: UserId, target: UserId, role: &str) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    // The role first, as every change of role holders does (then the user, through the
    // grant's foreign key), so this never deadlocks with them.
    require_permission(db, actor, ADMIN).await?;
    let txn = db::begin_write(db).await?;
    let role = find_role_for_update(&txn, role).await?;
    users::load(&txn, target).await?;
    assign(&txn, target, role.id).await?;
    txn.commit().await?;
    Ok(())
}

/// Takes the role `role` from `target` (administrators only). Returns whether they held it.
/// The last active holder of [`ADMIN_ROLE`] keeps it: checked under a lock on the role, so two
/// administrators unassigning each other at once cannot both succeed.
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`]; [`Error::NotFound`] for an unknown
/// role; [`Error::Conflict`] when `target` is the last administrator.
pub async fn unassign_role<C>(db: &C, actor: UserId, target: UserId, role: &str) -> Result<bool>
where
    C: ConnectionTrait + TransactionTrait,
{
    require_permission(db, actor, ADMIN).await?;
    let txn = db::begin_write(db).await?;
    let role = find_role_for_update(&txn, role).await?;
    // Checked again under the lock: an administrator demoted meanwhile is no longer one.
    require_permission(&txn, actor, ADMIN).await?;
    if role.name == ADMIN_ROLE {
        keep_an_administrator(&txn, target).await?;
    }
    let deleted = user_role::Entity::delete_many()
        .filter(user_role::Column::UserId.eq(target))
        .filter(user_role::Column::RoleId.eq(role.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(deleted.rows_affected > 0)
}

/// Stops the role `role` granting the permission `code` (administrators only). Returns
/// whether it granted it.
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`]; [`Error::NotFound`] for an unknown
/// role or permission; [`Error::Conflict`] for [`ADMIN`] from [`ADMIN_ROLE`] (administrators
/// would lock themselves out).
pub async fn revoke_permission<C: ConnectionTrait>(
    db: &C,
    actor: UserId,
    role: &str,
    code: &str,
) -> Result<bool> {
    require_permission(db, actor, ADMIN).await?;
    let role = find_role(db, role).await?;
    let permission = find_permission(db, code).await?;
    if role.name == ADMIN_ROLE && permission.code == ADMIN {
        return Err(Error::Conflict(format!(
            "`{ADMIN_ROLE}` always grants `{ADMIN}`"
        )));
    }
    let deleted = role_permission::Entity::delete_many()
        .filter(role_permission::Column::RoleId.eq(role.id))
        .filter(role_permission::Column::PermissionId.eq(permission.id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// A role and the permission codes it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrants {
    /// The role's name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The permission codes it grants, sorted.
    pub permissions: Vec<String>,
}

/// Every role with the permissions it grants, by name (administrators only).
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`].
pub async fn list_roles<C: ConnectionTrait>(db: &C, actor: UserId) -> Result<Vec<RoleGrants>> {
    require_permission(db, actor, ADMIN).await?;
    let mut grants: std::collections::BTreeMap<i32, Vec<String>> = Default::default();
    for (grant, permission) in role_permission::Entity::find()
        .find_also_related(permission::Entity)
        .all(db)
        .await?
    {
        if let Some(permission) = permission {
            grants
                .entry(grant.role_id)
                .or_default()
                .push(permission.code);
        }
    }
    Ok(role::Entity::find()
        .order_by_asc(role::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|role| {
            let mut permissions = grants.remove(&role.id).unwrap_or_default();
            permissions.sort();
            RoleGrants {
                name: role.name,
                description: role.description,
                permissions,
            }
        })
        .collect())
}

/// Every permission code, sorted (administrators only).
///
/// # Errors
/// [`Error::Forbidden`] unless `actor` holds [`ADMIN`].
pub async fn list_permissions<C: ConnectionTrait>(
    db: &C,
    actor: UserId,
) -> Result<Vec<permission::Model>> {
    require_permission(db, actor, ADMIN).await?;
    Ok(permission::Entity::find()
        .order_by_asc(permission::Column::Code)
        .all(db)
        .await?)
}

/// How many active users hold the role `role_id`.
async fn active_administrators<C: ConnectionTrait>(db: &C, role_id: i32) -> Result<u64> {
    Ok(user_role::Entity::find()
        .join(JoinType::InnerJoin, user_role::Relation::User.def())
        .filter(user_role::Column::RoleId.eq(role_id))
        .filter(user::Column::IsActive.eq(true))
        .count(db)
        .await?)
}

/// Refuses (with [`Error::Conflict`]) to let `user` stop being an administrator — by losing
/// the role, deactivation or deletion — when they are the last active one. Locks the admin
/// role for the rest of the transaction, so two such changes cannot both pass the check.
pub(crate) async fn keep_an_administrator<C: ConnectionTrait>(db: &C, user: UserId) -> Result<()> {
    let Some(role) = role::Entity::find()
        .filter(role::Column::Name.eq(ADMIN_ROLE))
        .lock_exclusive()
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let holds = user_role::Entity::find()
        .join(JoinType::InnerJoin, user_role::Relation::User.def())
        .filter(user_role::Column::UserId.eq(user))
        .filter(user_role::Column::RoleId.eq(role.id))
        .filter(user::Column::IsActive.eq(true))
        .count(db)
        .await?
        > 0;
    if holds && active_administrators(db, role.id).await? <= 1 {
        return Err(Error::Conflict(
            "the last active administrator must stay one: make another administrator first".into(),
        ));
    }
    Ok(())
}

/// Makes `user` the first administrator. Operators run it once after set-up. Two calls at
/// once make one administrator: the check and the grant run under a lock on the admin role.
///
/// # Errors
/// [`Error::Conflict`] when an active user already holds the [`ADMIN_ROLE`]; [`Error::NotFound`] for
/// an unknown user.
pub async fn bootstrap_admin<C>(db: &C, user: UserId) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db::begin_write(db).await?;
    users::load(&txn, user).await?;
    let role = find_role_for_update(&txn, ADMIN_ROLE).await?;
    if active_administrators(&txn, role.id).await? > 0 {
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

/// The role `name`, locked until the end of the transaction (`FOR UPDATE` on PostgreSQL; the
/// SQLite transaction from [`db::begin_write`] already holds the write lock).
async fn find_role_for_update<C: ConnectionTrait>(db: &C, name: &str) -> Result<role::Model> {
    role::Entity::find()
        .filter(role::Column::Name.eq(name))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("role", name))
}

async fn find_permission<C: ConnectionTrait>(db: &C, code: &str) -> Result<permission::Model> {
    permission::Entity::find()
        .filter(permission::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("permission", code))
}
