//! Trial-balance settings: per user and month, the original's `auto_rollup` flag, stored for
//! clients ([`super::balances`] computes its category rollups either way).
//!
//! A month is exactly `YYYY-MM` — four digits of a year 1..=9999, `-`, two digits of a month
//! 01..=12 — anything else is `Core(Invalid)` for `month` ([`month_of`] gives a day's). A
//! month without a stored setting reads as the default, [`DEFAULT_AUTO_ROLLUP`] (the column's
//! default), and `stored: false`. A user has at most one setting per month (the unique index
//! `ux_finance_trial_balance_setting_user_month`); [`set`] is one upsert on it, so concurrent
//! calls for the same month leave one row (with the last writer's value). Settings announce
//! no events (the original had none).

use chrono::{Datelike, NaiveDate};
use lifeos_entity::UserId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};

use crate::entity::finance_trial_balance_setting::{self, Column};
use crate::error::{Result, invalid};

/// `auto_rollup` of a month without a stored setting (the column's default).
pub const DEFAULT_AUTO_ROLLUP: bool = true;

/// The trial-balance setting of one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Whether the month's trial balance is rolled up automatically.
    pub auto_rollup: bool,
    /// Whether the user stored it (`false`: the default, no row).
    pub stored: bool,
}

impl Setting {
    /// The default of `month`, not stored.
    fn default_of(month: String) -> Self {
        Self {
            month,
            auto_rollup: DEFAULT_AUTO_ROLLUP,
            stored: false,
        }
    }

    /// A stored row.
    fn from_row(row: finance_trial_balance_setting::Model) -> Self {
        Self {
            month: row.month,
            auto_rollup: row.auto_rollup,
            stored: true,
        }
    }
}

/// The month of `day`, `YYYY-MM` (`2026-03-31` → `"2026-03"`) — a month the other functions
/// accept for a day of the years 1..=9999 (outside them the year does not have four digits).
pub fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// `raw` if it is a month `YYYY-MM` of the years 1..=9999.
fn checked_month(raw: &str) -> Result<String> {
    let bad = || {
        invalid(
            "month",
            format!("`{raw}` is not a month `YYYY-MM` of the years 0001 to 9999"),
        )
    };
    let (year, number) = raw.split_once('-').ok_or_else(bad)?;
    let digits = |part: &str, count: usize| {
        part.len() == count && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    if !digits(year, 4) || !digits(number, 2) {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let number: u32 = number.parse().map_err(|_| bad())?;
    if year < 1 {
        return Err(bad());
    }
    NaiveDate::from_ymd_opt(year, number, 1).ok_or_else(bad)?;
    Ok(raw.to_owned())
}

/// The user's setting of `month`: the stored one, else the default (`stored: false`).
///
/// # Errors
/// `Core(Invalid)` for a bad month.
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId, month: &str) -> Result<Setting> {
    let month = checked_month(month)?;
    let found = finance_trial_balance_setting::Entity::find()
        .filter(Column::UserId.eq(user))
        .filter(Column::Month.eq(month.as_str()))
        .one(db)
        .await?;
    Ok(match found {
        Some(row) => Setting::from_row(row),
        None => Setting::default_of(month),
    })
}

/// Stores the user's `auto_rollup` for `month`, inserting or updating its row in one
/// statement (`INSERT … ON CONFLICT (user_id, month) DO UPDATE`), so that concurrent calls
/// for the same month leave one row.
///
/// # Errors
/// `Core(Invalid)` for a bad month, and with `field = "reference"` for a user that does not
/// exist (the foreign key).
pub async fn set<C>(db: &C, user: UserId, month: &str, auto_rollup: bool) -> Result<Setting>
where
    C: ConnectionTrait + TransactionTrait,
{
    let month = checked_month(month)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    finance_trial_balance_setting::Entity::insert(finance_trial_balance_setting::ActiveModel {
        user_id: Set(user),
        month: Set(month.clone()),
        auto_rollup: Set(auto_rollup),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([Column::UserId, Column::Month])
            .update_column(Column::AutoRollup)
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(Setting {
        month,
        auto_rollup,
        stored: true,
    })
}

/// The user's stored settings, by month.
///
/// # Errors
/// On a database failure.
pub async fn list<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Vec<Setting>> {
    Ok(finance_trial_balance_setting::Entity::find()
        .filter(Column::UserId.eq(user))
        .order_by_asc(Column::Month)
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Setting::from_row)
        .collect())
}

/// Removes the user's setting of `month` (it reads as the default again); returns whether
/// there was one.
///
/// # Errors
/// `Core(Invalid)` for a bad month.
pub async fn clear<C>(db: &C, user: UserId, month: &str) -> Result<bool>
where
    C: ConnectionTrait + TransactionTrait,
{
    let month = checked_month(month)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let deleted = finance_trial_balance_setting::Entity::delete_many()
        .filter(Column::UserId.eq(user))
        .filter(Column::Month.eq(month.as_str()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(deleted.rows_affected > 0)
}
