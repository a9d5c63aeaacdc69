//! Balances, exact to the cent on both backends: an account's balance as of a local day, the
//! trial balance as of a day or for a period (with category roll-ups), and a monthly roll-up,
//! all per currency.
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
//! ledger; the journal's per-line limit is 10¹¹). The per-account sums are the SQL
//! aggregation (one statement over the indexed journal); the category roll-ups and the
//! per-currency totals then add up those few per-account rows — one per account — so they
//! always agree with the rows they are made of.

use lifeos_core::db::placeholder;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};
use lifeos_core::days::LocalDays;
use lifeos_entity::{Timestamp, UserId};
use rust_decimal::Decimal;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, Value,
};

use crate::entity::finance_account::{self, AccountType};
use crate::entity::finance_account_category;
use crate::error::{Result, invalid, not_found};

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

/// A trial balance as of a day, or for a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialBalance {
    /// The first day of the period (its start, in the user's time zone); `None`: from the
    /// first entry (a trial balance as of `as_of`).
    pub from: Option<NaiveDate>,
    /// The last day (its end, in the user's time zone).
    pub as_of: NaiveDate,
    /// One row per account with lines in the period, or active and created by its end;
    /// ordered as the original: by type, category (uncategorised first), code (none first),
    /// then name (compared by code point).
    pub rows: Vec<TrialRow>,
    /// The rows summed per type, category and currency, ordered as the original: by type,
    /// then category id (uncategorised first), then currency.
    pub rollups: Vec<CategoryRollup>,
    /// Per currency: the sum of all debits and of all credits — equal, since every entry
    /// balances per currency.
    pub totals: BTreeMap<String, (Decimal, Decimal)>,
}

/// The accounts of one type, category and currency in a trial balance, summed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryRollup {
    /// The accounts' type.
    pub account_type: AccountType,
    /// The category; `None` for uncategorised accounts.
    pub category_id: Option<i32>,
    /// The category's name; "Uncategorized" for none.
    pub category_name: String,
    /// The accounts' currency.
    pub currency: String,
    /// The sum of their debits.
    pub debits: Decimal,
    /// The sum of their credits.
    pub credits: Decimal,
    /// The sum of their balances (signed by the type's normal side).
    pub balance: Decimal,
}

/// One account's movements in one month of a [`monthly`] roll-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthlyRow {
    /// The month, `YYYY-MM`, in the user's time zone.
    pub month: String,
    /// The account.
    pub account_id: i32,
    /// Its currency.
    pub currency: String,
    /// The month's debits.
    pub debits: Decimal,
    /// The month's credits.
    pub credits: Decimal,
    /// The month's change of balance, signed by the account's normal side.
    pub change: Decimal,
}

/// The most months one [`monthly`] roll-up covers.
pub const MONTHS_MAX: u32 = 120;

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
    crate::input::day("day", day)?;
    let days = LocalDays::for_user(db, user).await?;
    Ok(Timestamp(days.range(day).1))
}

/// A line's debit and credit in integer cents, and their sums (exact on SQLite's REAL too).
const CENTS: &str = "CAST(SUM(CAST(round(l.debit * 100) AS BIGINT)) AS BIGINT), \
     CAST(SUM(CAST(round(l.credit * 100) AS BIGINT)) AS BIGINT)";

/// The statement summing debit and credit cents per account of `user` over the entries
/// posted in `[start, end)` (`start` `None`: from the first; `account`: only that one),
/// served by `ix_finance_journal_entry_user_posted_at`. Public so that a query-plan test can
/// explain it.
pub fn sums_statement(
    backend: DbBackend,
    user: UserId,
    start: Option<Timestamp>,
    end: Timestamp,
    account: Option<i32>,
) -> Statement {
    let mut sql = format!(
        "SELECT l.account_id, {CENTS} \
         FROM finance_journal_entry e JOIN finance_journal_line l ON l.entry_id = e.id \
         WHERE e.user_id = {} AND e.posted_at < {}",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    let mut values: Vec<Value> = vec![user.0.into(), end.into()];
    if let Some(start) = start {
        values.push(start.into());
        sql.push_str(&format!(
            " AND e.posted_at >= {}",
            placeholder(backend, values.len())
        ));
    }
    if let Some(account) = account {
        values.push(account.into());
        sql.push_str(&format!(
            " AND l.account_id = {}",
            placeholder(backend, values.len())
        ));
    }
    sql.push_str(" GROUP BY l.account_id");
    Statement::from_sql_and_values(backend, sql, values)
}

/// Debit and credit cents per account of `user`, for entries posted in `[start, end)`
/// (`account`: only that one).
async fn sums<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    start: Option<Timestamp>,
    end: Timestamp,
    account: Option<i32>,
) -> Result<BTreeMap<i32, (i64, i64)>> {
    let statement = sums_statement(db.get_database_backend(), user, start, end, account);
    let rows = db.query_all_raw(statement).await?;
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
    let cents = sums(db, user, None, end, Some(account_id))
        .await?
        .get(&account_id)
        .copied()
        .unwrap_or((0, 0));
    Ok(balance_of(&account, cents))
}

/// The user's trial balance as of the end of `day`: every entry posted before it.
///
/// # Errors
/// On a database failure.
pub async fn trial_balance<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    day: NaiveDate,
) -> Result<TrialBalance> {
    let end = end_of(db, user, day).await?;
    build(db, user, None, end, day).await
}

/// The user's trial balance for the period from the start of `first` to the end of `last`
/// (local days, both included): each account's debits, credits and change of balance over
/// the entries posted in it.
///
/// # Errors
/// `Core(Invalid)` when `last` is before `first`.
pub async fn period_balance<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<TrialBalance> {
    if last < first {
        return Err(invalid("period", format!("{last} is before {first}")));
    }
    crate::input::day("period", first)?;
    crate::input::day("period", last)?;
    let days = LocalDays::for_user(db, user).await?;
    let (start, end) = days.span(first, last);
    let mut balance = build(db, user, Some(Timestamp(start)), Timestamp(end), last).await?;
    balance.from = Some(first);
    Ok(balance)
}

/// The trial balance over the entries posted in `[start, end)`.
async fn build<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    start: Option<Timestamp>,
    end: Timestamp,
    as_of: NaiveDate,
) -> Result<TrialBalance> {
    let cents = sums(db, user, start, end, None).await?;
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
                row.account.name.clone(),
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
    let rollups = rollups(db, user, &rows).await?;
    Ok(TrialBalance {
        from: None,
        as_of,
        rows,
        rollups,
        totals,
    })
}

/// The rows summed per type, category and currency, in the original's order.
async fn rollups<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    rows: &[TrialRow],
) -> Result<Vec<CategoryRollup>> {
    let ids: BTreeSet<i32> = rows
        .iter()
        .filter_map(|row| row.account.category_id)
        .collect();
    let names: BTreeMap<i32, String> = if ids.is_empty() {
        BTreeMap::new()
    } else {
        finance_account_category::Entity::find()
            .filter(finance_account_category::Column::Id.is_in(ids))
            .filter(
                finance_account_category::Column::UserId
                    .eq(user)
                    .or(finance_account_category::Column::UserId.is_null()),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|category| (category.id, category.name))
            .collect()
    };
    let mut sums: BTreeMap<(String, Option<i32>, String), CategoryRollup> = BTreeMap::new();
    for row in rows {
        let account = &row.account;
        let key = (
            account.account_type.to_value(),
            account.category_id,
            account.currency.clone(),
        );
        let rollup = sums.entry(key).or_insert_with(|| CategoryRollup {
            account_type: account.account_type,
            category_id: account.category_id,
            category_name: account
                .category_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| "Uncategorized".to_owned()),
            currency: account.currency.clone(),
            debits: Decimal::new(0, 2),
            credits: Decimal::new(0, 2),
            balance: Decimal::new(0, 2),
        });
        rollup.debits += row.balance.debits;
        rollup.credits += row.balance.credits;
        rollup.balance += row.balance.balance;
    }
    Ok(sums.into_values().collect())
}

/// The statement [`monthly`] runs: debit and credit cents per month and account over
/// `months` (`YYYY-MM`, start, end), one range scan of
/// `ix_finance_journal_entry_user_posted_at` per month. Public for query-plan tests.
pub fn monthly_statement(
    backend: DbBackend,
    user: UserId,
    months: &[(String, Timestamp, Timestamp)],
) -> Statement {
    // Values in the order their placeholders appear (SQLite's `?` are positional).
    let mut values: Vec<Value> = Vec::with_capacity(months.len() * 3 + 1);
    let mut tuples = Vec::with_capacity(months.len());
    for (month, start, end) in months {
        let first = values.len() + 1;
        values.extend([month.clone().into(), (*start).into(), (*end).into()]);
        // PostgreSQL types a `VALUES` column from its first row: say it is a timestamp (on
        // SQLite a cast would turn the text into a number).
        let timestamp = |n: usize| match backend {
            DbBackend::Postgres => format!("CAST({} AS TIMESTAMP)", placeholder(backend, n)),
            _ => placeholder(backend, n),
        };
        tuples.push(format!(
            "({}, {}, {})",
            placeholder(backend, first),
            timestamp(first + 1),
            timestamp(first + 2)
        ));
    }
    values.push(user.0.into());
    let sql = format!(
        "WITH m(month, start_at, end_at) AS (VALUES {}) \
         SELECT m.month, l.account_id, {CENTS} \
         FROM m JOIN finance_journal_entry e ON e.user_id = {} \
         AND e.posted_at >= m.start_at AND e.posted_at < m.end_at \
         JOIN finance_journal_line l ON l.entry_id = e.id \
         GROUP BY m.month, l.account_id ORDER BY m.month, l.account_id",
        tuples.join(", "),
        placeholder(backend, values.len())
    );
    Statement::from_sql_and_values(backend, sql, values)
}

/// The user's movements per month and account, for `count` months (1..=[`MONTHS_MAX`])
/// from the month of `first`: months of the user's time zone (the original grouped by UTC
/// month). Accounts without lines in a month have no row for it. Ordered by month, then
/// account id.
///
/// # Errors
/// `Core(Invalid)` for a count out of range or months past the calendar's end.
pub async fn monthly<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    first: NaiveDate,
    count: u32,
) -> Result<Vec<MonthlyRow>> {
    if !(1..=MONTHS_MAX).contains(&count) {
        return Err(invalid("count", format!("must be 1..={MONTHS_MAX}")));
    }
    let days = LocalDays::for_user(db, user).await?;
    let too_far = || invalid("count", "runs past the calendar's end");
    crate::input::day("first", first)?;
    let mut month = first.with_day(1).ok_or_else(too_far)?;
    let mut months = Vec::new();
    for _ in 0..count {
        let next = month
            .checked_add_months(Months::new(1))
            .ok_or_else(too_far)?;
        crate::input::day("count", next)?;
        months.push((
            month.format("%Y-%m").to_string(),
            Timestamp(days.range(month).0),
            Timestamp(days.range(next).0),
        ));
        month = next;
    }
    let accounts: BTreeMap<i32, finance_account::Model> = finance_account::Entity::find()
        .filter(finance_account::Column::UserId.eq(user))
        .all(db)
        .await?
        .into_iter()
        .map(|account| (account.id, account))
        .collect();
    let rows = db
        .query_all_raw(monthly_statement(db.get_database_backend(), user, &months))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let account_id = row.try_get_by_index::<i32>(1)?;
        let Some(account) = accounts.get(&account_id) else {
            continue;
        };
        let sums = balance_of(
            account,
            (
                row.try_get_by_index::<i64>(2)?,
                row.try_get_by_index::<i64>(3)?,
            ),
        );
        out.push(MonthlyRow {
            month: row.try_get_by_index::<String>(0)?,
            account_id,
            currency: sums.currency,
            debits: sums.debits,
            credits: sums.credits,
            change: sums.balance,
        });
    }
    Ok(out)
}
