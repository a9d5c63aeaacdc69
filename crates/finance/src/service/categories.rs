//! Account categories: the user's own and the system's (no owner: readable by every user,
//! changed by none), each for accounts of one type.
//!
//! A user's categories are unique by (type, slug) — the slug is the name lower-cased with
//! every run of other characters than `a-z0-9` turned into one `-` — so creating one that
//! exists returns it. At most one of a user's categories per type is the default (a unique
//! partial index keeps it so); an account created without a category goes into the default
//! of its type: the user's, else the system's, else a new user default "Default {Type}".
//! Categories announce no events (the original had none).

use lifeos_core::validate;
use lifeos_entity::{Timestamp, UserId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};

use crate::entity::finance_account::AccountType;
use crate::entity::finance_account_category::{self, Column};
use crate::error::{Result, not_found};

/// The longest category name, in characters.
pub const NAME_MAX: usize = 128;

/// A new category of the user's.
#[derive(Clone, Debug)]
pub struct NewCategory {
    /// 1..=128 characters; runs of white space are collapsed to one space.
    pub name: String,
    /// The type of the accounts it will hold.
    pub base_type: AccountType,
    /// Make it the user's default for its type (the previous default stops being one).
    pub is_default: bool,
}

/// `name` as a slug: lower-cased, each run of characters other than `a-z0-9` one `-`, at most
/// 128 characters, no `-` at either end; `uncategorized` when nothing is left.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    // Within the column: lower-casing can lengthen a name (`İ` is `i` and a combining dot).
    let cut: String = out.chars().take(NAME_MAX).collect();
    let trimmed = cut.trim_end_matches('-');
    if trimmed.is_empty() {
        "uncategorized".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A name as stored: trimmed, white space collapsed, 1..=128 characters.
fn category_name(raw: &str) -> Result<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(validate::text("name", &name, NAME_MAX)?)
}

/// Creates a category of the user's, or returns the one with the same type and slug (`false`:
/// not created) — also when two calls race. With `is_default`, the category (new or found)
/// becomes the user's default for its type.
///
/// # Errors
/// `Core(Invalid)` for a bad name.
pub async fn create<C>(
    db: &C,
    user: UserId,
    new: NewCategory,
) -> Result<(finance_account_category::Model, bool)>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let found = find_or_insert(&txn, user, &new.name, new.base_type, new.is_default).await?;
    txn.commit().await?;
    Ok(found)
}

/// The category `id` if it is a system category or the user's.
///
/// # Errors
/// `Core(NotFound)` otherwise.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<finance_account_category::Model> {
    finance_account_category::Entity::find_by_id(id)
        .filter(Column::UserId.is_null().or(Column::UserId.eq(user)))
        .one(db)
        .await?
        .ok_or_else(|| not_found("account category", id))
}

/// The user's categories — with the system ones when `include_system` — of `base_type` (or
/// every type), ordered by type, then name (as the original).
///
/// # Errors
/// On a database failure.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    base_type: Option<AccountType>,
    include_system: bool,
) -> Result<Vec<finance_account_category::Model>> {
    let owner = if include_system {
        Column::UserId.eq(user).or(Column::UserId.is_null())
    } else {
        Column::UserId.eq(user)
    };
    let mut query = finance_account_category::Entity::find()
        .filter(owner)
        .order_by_asc(Column::BaseType)
        .order_by_asc(Column::Name)
        .order_by_asc(Column::Id);
    if let Some(base_type) = base_type {
        query = query.filter(Column::BaseType.eq(base_type));
    }
    Ok(query.all(db).await?)
}

/// Makes the user's category `id` their default for its type.
///
/// # Errors
/// `Core(NotFound)` when it is not the user's (a system category cannot be changed).
/// `Core(Conflict)` only if a concurrent call made a category of the same type default
/// that this call could not see (PostgreSQL serialises calls on existing categories).
pub async fn set_default<C>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<finance_account_category::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let category = finance_account_category::Entity::find_by_id(id)
        .filter(Column::UserId.eq(user))
        .one(&txn)
        .await?
        .ok_or_else(|| not_found("account category", id))?;
    let category = make_default(&txn, user, category).await?;
    txn.commit().await?;
    Ok(category)
}

/// The category an account of `base_type` goes into when none is given: the user's default,
/// else the system default, else a new user default "Default {Type}" (created here).
///
/// # Errors
/// On a database failure.
pub async fn default_for<C>(
    db: &C,
    user: UserId,
    base_type: AccountType,
) -> Result<finance_account_category::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let category = default_in(&txn, user, base_type).await?;
    txn.commit().await?;
    Ok(category)
}

/// [`default_for`] inside the caller's transaction.
pub(crate) async fn default_in<T>(
    txn: &T,
    user: UserId,
    base_type: AccountType,
) -> Result<finance_account_category::Model>
where
    T: ConnectionTrait + TransactionTrait,
{
    for owner in [Column::UserId.eq(user), Column::UserId.is_null()] {
        let found = finance_account_category::Entity::find()
            .filter(owner)
            .filter(Column::BaseType.eq(base_type))
            .filter(Expr::col((
                finance_account_category::Entity,
                Column::IsDefault,
            )))
            .order_by_asc(Column::Id)
            .one(txn)
            .await?;
        if let Some(found) = found {
            return Ok(found);
        }
    }
    let name = format!("Default {}", title(base_type));
    Ok(find_or_insert(txn, user, &name, base_type, true).await?.0)
}

/// `Asset`, `Liability`, … for a default category's name.
fn title(base_type: AccountType) -> String {
    let value = base_type.to_value();
    let mut chars = value.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The user's category of `base_type` with `name`'s slug, inserted if there is none (`true`:
/// inserted); made the default when `is_default`. The insert runs in a savepoint, so that a
/// racing call's insert (a unique violation) leaves the caller's transaction usable and the
/// winner's row is returned.
pub(crate) async fn find_or_insert<T>(
    txn: &T,
    user: UserId,
    name: &str,
    base_type: AccountType,
    is_default: bool,
) -> Result<(finance_account_category::Model, bool)>
where
    T: ConnectionTrait + TransactionTrait,
{
    let name = category_name(name)?;
    let slug = slug(&name);
    let find = || {
        finance_account_category::Entity::find()
            .filter(Column::UserId.eq(user))
            .filter(Column::BaseType.eq(base_type))
            .filter(Column::Slug.eq(slug.clone()))
            .one(txn)
    };
    let (category, created) = match find().await? {
        Some(found) => (found, false),
        None => {
            let code = free_code(txn, user, base_type, &slug).await?;
            let now = Timestamp::now();
            let savepoint = txn.begin().await?;
            let inserted = finance_account_category::ActiveModel {
                user_id: Set(Some(user)),
                code: Set(code),
                name: Set(name),
                slug: Set(slug.clone()),
                base_type: Set(base_type),
                normal_balance: Set(base_type.normal_balance()),
                is_default: Set(false),
                is_system: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&savepoint)
            .await;
            match inserted {
                Ok(category) => {
                    savepoint.commit().await?;
                    (category, true)
                }
                Err(error) => {
                    savepoint.rollback().await?;
                    match find().await? {
                        Some(found) => (found, false),
                        None => return Err(error.into()),
                    }
                }
            }
        }
    };
    if is_default && !category.is_default {
        return Ok((make_default(txn, user, category).await?, created));
    }
    Ok((category, created))
}

/// Clears the user's other default of the category's type, then flags this one.
async fn make_default<C: ConnectionTrait>(
    txn: &C,
    user: UserId,
    category: finance_account_category::Model,
) -> Result<finance_account_category::Model> {
    if category.is_default {
        return Ok(category);
    }
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Two calls for the same type wait for each other here, so the second clears the
        // first's default instead of colliding with it on the unique index.
        finance_account_category::Entity::find()
            .filter(Column::UserId.eq(user))
            .filter(Column::BaseType.eq(category.base_type))
            .lock_exclusive()
            .all(txn)
            .await?;
    }
    finance_account_category::Entity::update_many()
        .col_expr(Column::IsDefault, Expr::value(false))
        .col_expr(Column::UpdatedAt, Expr::value(Timestamp::now()))
        .filter(Column::UserId.eq(user))
        .filter(Column::BaseType.eq(category.base_type))
        .filter(Column::IsDefault.eq(true))
        .exec(txn)
        .await?;
    let mut active: finance_account_category::ActiveModel = category.into();
    active.is_default = Set(true);
    active.updated_at = Set(Timestamp::now());
    Ok(active.update(txn).await?)
}

/// A code no category has: the type's first three letters upper-cased and seven digits of a
/// hash of (user, type, slug), the original's form; the next digits when those are taken.
async fn free_code<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    base_type: AccountType,
    slug: &str,
) -> Result<String> {
    let prefix: String = base_type
        .to_value()
        .chars()
        .take(3)
        .collect::<String>()
        .to_uppercase();
    // FNV-1a: stable across Rust versions and platforms (a code is stored).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{}:{}:{slug}", user.0, base_type.to_value()).bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    for attempt in 0..1000_u64 {
        let code = format!("{prefix}{:07}", hash.wrapping_add(attempt) % 10_000_000);
        let taken = finance_account_category::Entity::find()
            .filter(Column::Code.eq(code.clone()))
            .one(db)
            .await?
            .is_some();
        if !taken {
            return Ok(code);
        }
    }
    Err(lifeos_core::Error::Conflict("no free account category code".to_owned()).into())
}
