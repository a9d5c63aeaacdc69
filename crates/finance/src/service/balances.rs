//! Balances, exact to the cent on both backends: an account's balance as of a local day, and
//! the trial balance as of a day, per currency.
//!
//! "As of a day" is the end of that day in the user's time zone (and day start:
//! [`lifeos_core::days::LocalDays`]): every entry posted before it counts. A balance is signed
//! by the account's normal side, which its type decides: asset and expense accounts are
//! debit-normal, the others credit-normal (the original read the category's `normal_balance`
//! and treated every uncategorised account as debit-normal).
//!
//! Sums run in SQL over integer cents (`CAST(round(amount * 100) AS BIGINT)`): SQLite stores
//! NUMERIC as REAL and would sum floating point; in cents every amount the journal accepts is
//! exact on both backends, and so is every sum below 9.2·10¹⁶ (far above any personal
//! ledger; the journal's per-line limit is 10¹¹).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use lifeos_core::days::LocalDays;
use lifeos_entity::{Timestamp, UserId};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, Value,
};

use crate::entity::finance_account;
use crate::error::{Result, not_found};

/// An account's sums and balance as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountBalance {
    /// The account.
    pub account_id: i32,
    /// Its currency.
    pub currency: String,
    /// The sum of its debits.
    pub debits: Decimal,
    /// The sum of its credits.
    pub credits: Decimal,
    /// Signed by the normal side: debits − credits for a debit-normal account, credits −
    /// debits for a credit-normal one.
    pub balance: Decimal,
}

/// A trial balance as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialBalance {
    /// The day (its end, in the user's time zone).
    pub as_of: NaiveDate,
    /// One row per account with lines before the day's end, or active and created by then;
    /// ordered as the original: by type, category (uncategorised first), code (none first),
    /// then (normalized) name.
    pub rows: Vec<TrialRow>,
    /// Per currency: the sum of all debits and of all credits — equal, since every entry
    /// balances per currency.
    pub totals: BTreeMap<String, (Decimal, Decimal)>,
}

/// One account of a trial balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialRow {
    /// The account.
    pub account: finance_account::Model,
    /// Its sums and balance.
    pub balance: AccountBalance,
}

/// The end of `day` for `user` (exclusive).
async fn end_of<C: ConnectionTrait>(db: &C, user: UserId, day: NaiveDate) -> Result<Timestamp> {
    let days = LocalDays::for_user(db, user).await?;
    Ok(Timestamp(days.range(day).1))
}

/// Debit and credit cents per account of `user`, for entries posted before `end`
/// (`account`: only that one).
async fn sums<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    end: Timestamp,
    account: Option<i32>,
) -> Result<BTreeMap<i32, (i64, i64)>> {
    let backend = db.get_database_backend();
    let placeholder = |n: usize| match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let mut sql = format!(
        "SELECT l.account_id, \
         CAST(SUM(CAST(round(l.debit * 100) AS BIGINT)) AS BIGINT), \
         CAST(SUM(CAST(round(l.credit * 100) AS BIGINT)) AS BIGINT) \
         FROM finance_journal_line l JOIN finance_journal_entry e ON e.id = l.entry_id \
         WHERE e.user_id = {} AND e.posted_at < {}",
        placeholder(1),
        placeholder(2)
    );
    let mut values: Vec<Value> = vec![user.0.into(), end.into()];
    if let Some(account) = account {
        sql.push_str(&format!(" AND l.account_id = {}", placeholder(3)));
        values.push(account.into());
    }
    sql.push_str(" GROUP BY l.account_id");
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        out.insert(
            row.try_get_by_index::<i32>(0)?,
            (
                row.try_get_by_index::<i64>(1)?,
                row.try_get_by_index::<i64>(2)?,
            ),
        );
    }
    Ok(out)
}

/// Whether an account is debit-normal: asset and expense accounts are, liability, equity and
/// income accounts are not. (A category's base type is its accounts' type, so the category
/// cannot disagree; its stored `normal_balance` column, which defaults to `debit`, could.)
fn debit_normal(account: &finance_account::Model) -> bool {
    account.account_type.debit_normal()
}

fn balance_of(
    account: &finance_account::Model,
    (debit_cents, credit_cents): (i64, i64),
) -> AccountBalance {
    let (debits, credits) = (Decimal::new(debit_cents, 2), Decimal::new(credit_cents, 2));
    AccountBalance {
        account_id: account.id,
        currency: account.currency.clone(),
        debits,
        credits,
        balance: if debit_normal(account) {
            debits - credits
        } else {
            credits - debits
        },
    }
}

/// The balance of the user's account `account_id` as of the end of `day`.
///
/// # Errors
/// `Core(NotFound)` for an account that is not the user's.
pub async fn account_balance<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    account_id: i32,
    day: NaiveDate,
) -> Result<AccountBalance> {
    let account = finance_account::Entity::find_by_id(account_id)
        .filter(finance_account::Column::UserId.eq(user))
        .one(db)
        .await?
        .ok_or_else(|| not_found("account", account_id))?;
    let end = end_of(db, user, day).await?;
    let cents = sums(db, user, end, Some(account_id))
        .await?
        .get(&account_id)
        .copied()
        .unwrap_or((0, 0));
    Ok(balance_of(&account, cents))
}

/// The user's trial balance as of the end of `day`.
///
/// # Errors
/// On a database failure.
pub async fn trial_balance<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    day: NaiveDate,
) -> Result<TrialBalance> {
    let end = end_of(db, user, day).await?;
    let cents = sums(db, user, end, None).await?;
    let accounts = finance_account::Entity::find()
        .filter(finance_account::Column::UserId.eq(user))
        .all(db)
        .await?;
    let mut rows: Vec<TrialRow> = accounts
        .into_iter()
        .filter(|account| {
            cents.contains_key(&account.id) || account.is_active && account.created_at < end
        })
        .map(|account| {
            let sums = cents.get(&account.id).copied().unwrap_or((0, 0));
            let balance = balance_of(&account, sums);
            TrialRow { account, balance }
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |row: &TrialRow| {
            (
                row.account.account_type.to_value(),
                row.account.category_id,
                row.account.code.clone(),
                row.account.normalized_name.clone(),
                row.account.id,
            )
        };
        key(a).cmp(&key(b))
    });
    let mut totals: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for row in &rows {
        let total = totals.entry(row.balance.currency.clone()).or_default();
        total.0 += row.balance.debits;
        total.1 += row.balance.credits;
    }
    Ok(TrialBalance {
        as_of: day,
        rows,
        totals,
    })
}
