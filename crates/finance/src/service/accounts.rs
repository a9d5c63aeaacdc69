//! The chart of accounts: create (also idempotently, "inline"), rename, re-categorise,
//! deactivate and reactivate, set the currency, and typeahead search.
//!
//! A name is 1..=255 characters after trimming; its normalized form (lower-cased, trimmed,
//! inner white space collapsed: [`normalize_name`]) is unique among a user's **active**
//! accounts — the database enforces it (`ux_finance_account_user_active_name`), so two
//! concurrent inline creates of the same name give one account. A category must be a system
//! category (no owner: readable by everyone, changed by no one) or the user's own, and its
//! base type must be the account's type. An account's currency (ISO 4217, default the user's
//! `currency` preference) is fixed once the account has journal lines.
//!
//! Events, as the original announced them: `finance.account.created`,
//! `finance.account.category_updated` (in the same transaction as the change).

use lifeos_core::platform::outbox;
use lifeos_entity::{Timestamp, UserId};
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::json;

use super::categories;
use crate::entity::{finance_account, finance_account_category, finance_journal_line};
use crate::error::{Error, Result, invalid, not_found};

pub use crate::entity::finance_account::{AccountSubtype, AccountType};

/// The longest name, in characters.
pub const NAME_MAX: usize = 255;

/// The longest typeahead query, in characters.
pub const QUERY_MAX: usize = 100;

/// The most typeahead results.
pub const LIMIT_MAX: u64 = 100;

/// The subtypes an account of `account_type` may have.
pub fn subtypes(account_type: AccountType) -> &'static [AccountSubtype] {
    account_type.subtypes()
}

/// A name as accounts are matched by it: lower-cased, trimmed, runs of white space inside
/// collapsed to one space (`"  Main   Checking "` → `"main checking"`).
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A name as stored: trimmed, 1..=255 characters, no NUL, and a normalized form that fits
/// the column too (lower-casing can lengthen a name: `İ` becomes `i̇`).
fn account_name(raw: &str) -> Result<(String, String)> {
    let name = lifeos_core::validate::text("name", raw, NAME_MAX)?;
    let normalized = normalize_name(&name);
    if normalized.chars().count() > NAME_MAX {
        return Err(invalid(
            "name",
            format!("is longer than {NAME_MAX} characters once lower-cased"),
        ));
    }
    Ok((name, normalized))
}

/// A new account.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    /// 1..=255 characters after trimming.
    pub name: String,
    /// The type.
    pub account_type: AccountType,
    /// One of the type's [`subtypes`], if any.
    pub subtype: Option<AccountSubtype>,
    /// A system category or the user's own, of the account's type. With neither this nor
    /// `new_category_name`, the account goes into the default category of its type (see
    /// [`categories::default_for`]).
    pub category_id: Option<i32>,
    /// The name of a category of the user's to file the account under, created if the user
    /// has none of that name (slug) and type. Not together with `category_id`.
    pub new_category_name: Option<String>,
    /// An optional code (up to 32 characters).
    pub code: Option<String>,
    /// An optional description.
    pub description: Option<String>,
    /// ISO 4217 (three letters); `None`: the user's `currency` preference.
    pub currency: Option<String>,
}

/// Creates an account.
///
/// # Errors
/// `Core(Invalid)` for a bad name, type, subtype, code or currency; `Core(NotFound)` for a
/// category that is neither a system one nor the user's; [`Error::CategoryType`];
/// `Core(Conflict)` when an active account of the user has the same normalized name.
pub async fn create<C>(db: &C, user: UserId, new: NewAccount) -> Result<finance_account::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let account = insert(&txn, user, new).await?;
    txn.commit().await?;
    Ok(account)
}

/// Creates an account unless an active one of the user already has the same normalized
/// name, which is returned instead (`false`: not created) — also when two calls race: the
/// loser finds the winner's account. The account returned may differ from `new` in type,
/// category or currency: the name decides (as in the original).
///
/// # Errors
/// As [`create`], except that a duplicate name is not an error.
pub async fn create_inline<C>(
    db: &C,
    user: UserId,
    new: NewAccount,
) -> Result<(finance_account::Model, bool)>
where
    C: ConnectionTrait + TransactionTrait,
{
    let normalized = normalize_name(&new.name);
    if let Some(existing) = active_named(db, user, &normalized).await? {
        return Ok((existing, false));
    }
    match create(db, user, new).await {
        Ok(account) => Ok((account, true)),
        // Another call created it meanwhile.
        Err(Error::Core(lifeos_core::Error::Conflict(detail))) => {
            match active_named(db, user, &normalized).await? {
                Some(existing) => Ok((existing, false)),
                None => Err(Error::Core(lifeos_core::Error::Conflict(detail))),
            }
        }
        Err(error) => Err(error),
    }
}

async fn active_named<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    normalized: &str,
) -> Result<Option<finance_account::Model>> {
    Ok(finance_account::Entity::find()
        .filter(finance_account::Column::UserId.eq(user))
        .filter(finance_account::Column::NormalizedName.eq(normalized))
        .filter(is_active())
        .one(db)
        .await?)
}

/// `is_active` as the partial indexes' predicate spells it (bare, not `= true`), so that
/// SQLite — which matches a partial index's condition term for term — and PostgreSQL's
/// generic plans use them.
fn is_active() -> Expr {
    Expr::col((finance_account::Entity, finance_account::Column::IsActive))
}

/// Validates and inserts, with its event, on `txn`.
async fn insert<C: ConnectionTrait + TransactionTrait>(
    txn: &C,
    user: UserId,
    new: NewAccount,
) -> Result<finance_account::Model> {
    let (name, normalized) = account_name(&new.name)?;
    let account_type = new.account_type;
    if let Some(subtype) = new.subtype
        && !account_type.subtypes().contains(&subtype)
    {
        return Err(invalid(
            "subtype",
            format!(
                "{} is not a subtype of {} ({:?})",
                subtype.to_value(),
                account_type.to_value(),
                account_type.subtypes()
            ),
        ));
    }
    let code = match new.code.as_deref() {
        Some(code) => lifeos_core::validate::optional_text("code", code, 32)?,
        None => None,
    };
    let description = match new.description.as_deref() {
        Some(text) => lifeos_core::validate::optional_text("description", text, 4000)?,
        None => None,
    };
    let currency = match new.currency.as_deref() {
        Some(currency) => currency_code(currency)?,
        None => preferred_currency(txn, user).await?,
    };
    let category = match (new.category_id, new.new_category_name.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "category",
                "give category_id or new_category_name, not both",
            ));
        }
        (Some(category), None) => {
            usable_category(txn, user, category, account_type).await?;
            category
        }
        (None, Some(name)) => {
            categories::find_or_insert(txn, user, name, account_type, false)
                .await?
                .0
                .id
        }
        (None, None) => categories::default_in(txn, user, account_type).await?.id,
    };
    let account = finance_account::ActiveModel {
        user_id: Set(user),
        category_id: Set(Some(category)),
        normalized_name: Set(normalized),
        name: Set(name),
        code: Set(code),
        description: Set(description),
        is_active: Set(true),
        account_type: Set(account_type),
        account_subtype: Set(new.subtype),
        currency: Set(currency),
        created_at: Set(Timestamp::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    outbox::enqueue(
        txn,
        Some(user),
        "finance.account.created",
        json!({
            "account_id": account.id,
            "account_type": account.account_type.to_value(),
            "category_id": account.category_id,
            "currency": account.currency,
        }),
    )
    .await?;
    Ok(account)
}

/// An ISO 4217 code in use (the `iso_currency` list), trimmed and upper-cased.
pub(crate) fn currency_code(raw: &str) -> Result<String> {
    let code = raw.trim().to_ascii_uppercase();
    match iso_currency::Currency::from_code(&code) {
        Some(currency) => Ok(currency.code().to_owned()),
        None => Err(invalid(
            "currency",
            format!("`{raw}` is not an ISO 4217 currency code"),
        )),
    }
}

/// The user's `currency` preference; `USD` (its default) when it is unset or not a code.
async fn preferred_currency<C: ConnectionTrait>(db: &C, user: UserId) -> Result<String> {
    let value = lifeos_core::identity::preferences::get(db, user, "currency").await?;
    Ok(value
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(|text| currency_code(text).ok())
        .unwrap_or_else(|| "USD".to_owned()))
}

/// Checks that `category` is a system category or `user`'s, for accounts of `account_type`.
async fn usable_category<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    category: i32,
    account_type: AccountType,
) -> Result<()> {
    let found = finance_account_category::Entity::find_by_id(category)
        .filter(
            finance_account_category::Column::UserId
                .is_null()
                .or(finance_account_category::Column::UserId.eq(user)),
        )
        .one(db)
        .await?
        .ok_or_else(|| not_found("account category", category))?;
    if found.base_type != account_type {
        return Err(Error::CategoryType {
            category,
            base_type: found.base_type,
            account_type,
        });
    }
    Ok(())
}

/// The user's account `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<finance_account::Model> {
    finance_account::Entity::find_by_id(id)
        .filter(finance_account::Column::UserId.eq(user))
        .one(db)
        .await?
        .ok_or_else(|| not_found("account", id))
}

/// The user's accounts, by type then name; inactive ones too when `include_inactive`.
///
/// # Errors
/// On a database failure.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    include_inactive: bool,
) -> Result<Vec<finance_account::Model>> {
    let mut query = finance_account::Entity::find()
        .filter(finance_account::Column::UserId.eq(user))
        .order_by_asc(finance_account::Column::AccountType)
        .order_by_asc(finance_account::Column::NormalizedName)
        .order_by_asc(finance_account::Column::Id);
    if !include_inactive {
        query = query.filter(is_active());
    }
    Ok(query.all(db).await?)
}

/// Locks and returns the user's account `id` inside `txn` (PostgreSQL: `FOR UPDATE`).
async fn locked<C: ConnectionTrait>(
    txn: &C,
    user: UserId,
    id: i32,
) -> Result<finance_account::Model> {
    let mut query =
        finance_account::Entity::find_by_id(id).filter(finance_account::Column::UserId.eq(user));
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(txn)
        .await?
        .ok_or_else(|| not_found("account", id))
}

/// Renames the user's account `id`.
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` for a bad name; `Core(Conflict)` when another active
/// account of the user has the new normalized name.
pub async fn rename<C>(db: &C, user: UserId, id: i32, name: &str) -> Result<finance_account::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let (name, normalized) = account_name(name)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let account = locked(&txn, user, id).await?;
    let mut active: finance_account::ActiveModel = account.into();
    active.normalized_name = Set(normalized);
    active.name = Set(name);
    let account = active.update(&txn).await?;
    txn.commit().await?;
    Ok(account)
}

/// Moves the user's account `id` into `category` (`None`: uncategorised), announcing
/// `finance.account.category_updated`.
///
/// # Errors
/// `Core(NotFound)` for the account or a category that is neither a system one nor the
/// user's; [`Error::CategoryType`].
pub async fn recategorize<C>(
    db: &C,
    user: UserId,
    id: i32,
    category: Option<i32>,
) -> Result<finance_account::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let account = locked(&txn, user, id).await?;
    if let Some(category) = category {
        usable_category(&txn, user, category, account.account_type).await?;
    }
    let previous = account.category_id;
    if previous == category {
        txn.commit().await?;
        return Ok(account);
    }
    let mut active: finance_account::ActiveModel = account.into();
    active.category_id = Set(category);
    let account = active.update(&txn).await?;
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.account.category_updated",
        json!({ "account_id": id, "from": previous, "to": category }),
    )
    .await?;
    txn.commit().await?;
    Ok(account)
}

/// Deactivates (`false`) or reactivates (`true`) the user's account `id`. Its lines and
/// history stay; an inactive account takes no new lines.
///
/// # Errors
/// `Core(NotFound)`; `Core(Conflict)` when reactivating while another active account of the
/// user has the same normalized name (rename one first).
pub async fn set_active<C>(
    db: &C,
    user: UserId,
    id: i32,
    active: bool,
) -> Result<finance_account::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let account = locked(&txn, user, id).await?;
    let mut model: finance_account::ActiveModel = account.into();
    model.is_active = Set(active);
    let account = model.update(&txn).await?;
    txn.commit().await?;
    Ok(account)
}

/// Sets the currency of the user's account `id` (ISO 4217), while it has no journal lines.
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` for a bad code; [`Error::CurrencyFrozen`].
pub async fn set_currency<C>(
    db: &C,
    user: UserId,
    id: i32,
    currency: &str,
) -> Result<finance_account::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let currency = currency_code(currency)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let account = locked(&txn, user, id).await?;
    if account.currency == currency {
        txn.commit().await?;
        return Ok(account);
    }
    let lines = finance_journal_line::Entity::find()
        .filter(finance_journal_line::Column::AccountId.eq(id))
        .count(&txn)
        .await?;
    if lines > 0 {
        return Err(Error::CurrencyFrozen { account: id });
    }
    let mut model: finance_account::ActiveModel = account.into();
    model.currency = Set(currency);
    let account = model.update(&txn).await?;
    txn.commit().await?;
    Ok(account)
}

/// Typeahead over the user's **active** accounts: those whose normalized name starts with
/// the normalized `query` (newest first), then those that contain it elsewhere (newest
/// first), at most `limit` (1..=100) in all. `%`, `_` and `\` in the query match only
/// themselves.
///
/// The prefix part is a range on the normalized name, compared byte-wise on both backends and
/// served by an index on `(user_id, normalized_name)` (SQLite:
/// `ux_finance_account_user_active_name`; PostgreSQL: the operators `~>=~`/`~<~` of
/// `ix_finance_account_user_name_pattern`, whatever the database's collation). The
/// substring part uses the trigram index `ix_finance_account_user_name_trgm` on PostgreSQL; on
/// SQLite it scans the user's own accounts through `ix_finance_account_user_id` — one user's
/// chart of accounts, bounded by its size.
///
/// # Errors
/// `Core(Invalid)` for an empty or over-long query or a limit outside 1..=100.
pub async fn search<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    query: &str,
    limit: u64,
) -> Result<Vec<finance_account::Model>> {
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(invalid("limit", format!("must be 1..={LIMIT_MAX}")));
    }
    let (prefix, substring) = search_selects(db.get_database_backend(), user, query)?;
    let mut found = prefix.limit(limit).all(db).await?;
    let left = limit.saturating_sub(found.len() as u64);
    if left > 0 {
        found.extend(substring.limit(left).all(db).await?);
    }
    Ok(found)
}

/// The SQL of [`search`]'s two queries (prefix part, substring part) on `backend`, values
/// inlined: what a query-plan test explains.
///
/// # Errors
/// `Core(Invalid)` for an empty or over-long query.
pub fn search_sql(backend: DbBackend, user: UserId, query: &str) -> Result<(String, String)> {
    let (prefix, substring) = search_selects(backend, user, query)?;
    Ok((
        prefix.build(backend).to_string(),
        substring.build(backend).to_string(),
    ))
}

/// The two queries of [`search`], without their limits.
fn search_selects(
    backend: DbBackend,
    user: UserId,
    query: &str,
) -> Result<(
    Select<finance_account::Entity>,
    Select<finance_account::Entity>,
)> {
    let query = normalize_name(query);
    if query.is_empty() {
        return Err(invalid("query", "is empty"));
    }
    if query.contains('\0') {
        return Err(invalid("query", "contains a NUL character"));
    }
    if query.chars().count() > QUERY_MAX {
        return Err(invalid(
            "query",
            format!("is longer than {QUERY_MAX} characters"),
        ));
    }
    let postgres = backend == DbBackend::Postgres;
    let (low, high) = (query.clone(), format!("{query}\u{10FFFF}"));
    let name = || {
        Expr::col((
            finance_account::Entity,
            finance_account::Column::NormalizedName,
        ))
    };
    let in_range = if postgres {
        name()
            .binary(BinOper::Custom("~>=~"), low.clone())
            .and(name().binary(BinOper::Custom("~<~"), high.clone()))
    } else {
        name().gte(low).and(name().lt(high))
    };
    let mine = || {
        finance_account::Entity::find()
            .filter(finance_account::Column::UserId.eq(user))
            .filter(is_active())
            .order_by_desc(finance_account::Column::CreatedAt)
            .order_by_desc(finance_account::Column::Id)
    };
    let contains = if postgres {
        let escaped: String = query
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        name().like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
    } else {
        Expr::expr(Func::cust("instr").arg(name()).arg(query)).gt(0)
    };
    Ok((
        mine().filter(in_range.clone()),
        mine().filter(contains).filter(in_range.not()),
    ))
}
