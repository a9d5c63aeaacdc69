//! The money schedule: planned cash movements, one-off or recurring, their expansion into
//! dated occurrences, and the projection of the user's money day by day, per currency.
//!
//! **Rows.** A schedule row is a signed amount on one of the user's accounts — **positive
//! is money in, negative money out** — never zero, with at most two decimals (more are
//! refused, never rounded) and at most [`AMOUNT_MAX`] in absolute value, on an event date
//! (years 1..=9999), with an optional memo (up to [`MEMO_MAX`] characters). The account must
//! be the user's and active when the row is created or moved to it ([`Error::InactiveAccount`]
//! otherwise); a row keeps counting after its account is deactivated.
//!
//! **Recurrence.** A row may recur: `rrule` holds the *rule part* of an RFC 5545 `RRULE`
//! (`FREQ=MONTHLY;BYMONTHDAY=-1`, `FREQ=WEEKLY;COUNT=4`, …; at most [`RRULE_MAX`]
//! characters, stored upper-cased), with the row's event date as its start (`DTSTART`). It
//! is expanded by the `rrule` crate in the user's time zone
//! ([`lifeos_core::days::LocalDays::zone`]) from **local noon** of the event date — noon is
//! never in a daylight-saving gap — and each occurrence is the local calendar date of an
//! expanded instant. Because the rule runs on local wall-clock time, a monthly rule keeps its
//! day of the month across a daylight-saving change. Refused (`Core(Invalid)`, field
//! `rrule`): a rule that does not parse or validate; anything but the rule's own parts (no
//! `RRULE:` name, no `DTSTART`, no line breaks); a rule more frequent than daily or with
//! `BYHOUR`/`BYMINUTE`/`BYSECOND` (the schedule counts days); `INTERVAL=0` or `COUNT=0`; an
//! `UNTIL` that is not a UTC date-time (`UNTIL=20261231T235959Z`, as RFC 5545 requires with
//! a zoned start; it is compared with the occurrences' local-noon instants); a rule that
//! never occurs.
//!
//! The rule's semantics are RFC 5545's, as the crate implements them (like python-dateutil):
//! - the event date itself is an occurrence only when it matches the rule (RFC 5545 leaves
//!   an unsynchronised start undefined);
//! - `BYMONTHDAY=31` occurs only in months that have a 31st, and so does `FREQ=MONTHLY`
//!   started on a 31st (the start's day is the rule's day): a 30-day month and February are
//!   **skipped**, never moved to their last day. For "the last day of every month" use
//!   `BYMONTHDAY=-1`.
//!
//! A rule yields at most one occurrence per day, so at most 366 per row in any window this
//! module expands (at most [`WINDOW_DAYS_MAX`] days); an expansion walks at most
//! [`STEPS_MAX`] occurrences from the row's start (a daily rule started some 270 years
//! before the window is refused, `Core(Invalid)` naming the row).
//!
//! **Projection** ([`project`]), per currency. It *covers* every account of the user that has
//! at least one schedule row (active or not). It starts from their real balances: the
//! **opening** balance of a currency is, over the covered asset and liability accounts in
//! it, the sum of debits − credits of every journal line posted before the end of the user's
//! today (an asset's balance, minus a liability's: the cash position). Covered accounts of
//! other types (income, expense, equity) add no opening balance — their balances are flows,
//! not money held — but their rows still move the projection. The opening is "as of the end
//! of today", so occurrences dated **today or earlier are ignored** (they are assumed to be in
//! the ledger already); the projection then runs day by day over the `horizon_days`
//! (1..=[`HORIZON_MAX`]) days **from tomorrow** to today + `horizon_days`: each day's change
//! is the sum of that day's occurrences in the currency, its balance the running total.
//! Arithmetic is exact (`Decimal`, never floating point). A currency is projected when a
//! covered account has it, even without any occurrence in the window.
//!
//! **Stored projection** ([`recompute`]): `finance_money_schedule_daily_balance` holds the
//! projected running balance per user, currency and day. Recomputing replaces the user's rows
//! whole, in one transaction, with a `finance.schedule.recomputed` event; concurrent
//! recomputes of one user are serialised (PostgreSQL: a `FOR NO KEY UPDATE` lock on the user's
//! row; SQLite: the write transaction), so the table always holds one complete projection.
//! Scenario projections are computed on demand and never stored
//! ([`super::scenarios`]).
//!
//! Every function acts for one user: another user's row behaves exactly as a missing one
//! (`Core(NotFound)`). Writes validate first and run in one transaction
//! ([`lifeos_core::db::begin_write`]); on any error nothing is written. Deleting a row also
//! deletes the scenario deltas on it (a delta on nothing means nothing).
//!
//! Events, in the same transaction as the write: `finance.schedule.created` and
//! `finance.schedule.updated` (`row_id`, `account_id`, `event_date`, `amount` as a
//! two-decimal string, `rrule`), `finance.schedule.deleted` (`row_id`, `account_id`,
//! `event_date`), `finance.schedule.recomputed` (`start`, `days`, `currencies`, `rows`).

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use lifeos_core::days::LocalDays;
use lifeos_core::platform::outbox;
use lifeos_entity::{Timestamp, UserId};
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};
use rust_decimal::Decimal;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

pub use super::journal::AMOUNT_MAX;
use crate::entity::finance_account::{self, AccountType};
use crate::entity::{
    finance_money_schedule_daily_balance as daily_balance,
    finance_money_schedule_row as schedule_row, finance_money_schedule_scenario_row,
};
use crate::error::{Error, Result, invalid, not_found};
use crate::input::{day, optional_text};
use crate::money::{amount, two};

/// The longest memo, in characters.
pub const MEMO_MAX: usize = 512;

/// The longest recurrence rule, in characters.
pub const RRULE_MAX: usize = 512;

/// The longest projection, in days.
pub const HORIZON_MAX: u32 = 366;

/// The longest window [`occurrences`] and [`expand`] cover, in days (both ends included).
pub const WINDOW_DAYS_MAX: i64 = 366;

/// The most occurrences one row contributes to one window (a rule occurs at most once a day,
/// so a window of [`WINDOW_DAYS_MAX`] days never reaches it).
pub const OCCURRENCES_MAX: usize = 400;

/// The most occurrences an expansion walks from a row's start to the end of its window.
pub const STEPS_MAX: usize = 100_000;

/// The largest projected balance [`recompute`] stores, in absolute value:
/// 9,999,999,999,999.99 (below 10¹³, exact to the cent in SQLite's REAL too).
pub const BALANCE_MAX: Decimal = Decimal::from_parts(2_764_472_319, 232_830, 0, false, 2);

/// The most rows one `INSERT` of [`recompute`] writes.
const INSERT_CHUNK: usize = 500;

const ROW: &str = "schedule row";

/// A new schedule row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewRow {
    /// The user's active account the money moves in or out of.
    pub account_id: i32,
    /// The day of the movement; a recurring row's start.
    pub event_date: NaiveDate,
    /// Signed, never zero: positive for money in, negative for money out; two decimals at
    /// most, at most [`AMOUNT_MAX`] in absolute value.
    pub amount: Decimal,
    /// An optional memo (up to [`MEMO_MAX`] characters; blank is none).
    pub memo: Option<String>,
    /// The rule part of an RFC 5545 `RRULE` (`FREQ=WEEKLY;COUNT=4`); `None` (or blank): once.
    pub rrule: Option<String>,
}

/// A change to a schedule row: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::option_option)] // `Some(None)` removes an optional field
pub struct RowPatch {
    /// Another of the user's active accounts.
    pub account_id: Option<i32>,
    /// A new event date (the rule, if any, is checked again from it).
    pub event_date: Option<NaiveDate>,
    /// A new amount.
    pub amount: Option<Decimal>,
    /// A new memo; `Some(None)` removes it.
    pub memo: Option<Option<String>>,
    /// A new rule; `Some(None)` makes the row a one-off.
    pub rrule: Option<Option<String>>,
}

/// One dated occurrence of a schedule row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// The row.
    pub row_id: i32,
    /// Its account.
    pub account_id: i32,
    /// The account's currency.
    pub currency: String,
    /// The local date it occurs on.
    pub date: NaiveDate,
    /// The row's signed amount.
    pub amount: Decimal,
}

/// One currency's projected day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectedDay {
    /// The day.
    pub date: NaiveDate,
    /// The currency.
    pub currency: String,
    /// The sum of the day's occurrences in the currency.
    pub change: Decimal,
    /// The projected balance at the end of the day.
    pub balance: Decimal,
}

/// A projection of the user's money, per currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    /// The user's today, when it was computed: the opening balances are as of its end.
    pub start: NaiveDate,
    /// How many days it runs: from `start + 1` to `start + horizon_days`.
    pub horizon_days: u32,
    /// The opening balance of every currency projected.
    pub opening: BTreeMap<String, Decimal>,
    /// `horizon_days` days per currency, by currency, then date.
    pub days: Vec<ProjectedDay>,
}

impl Projection {
    /// The projected balance of `currency` at the end of `date`; `None` outside the
    /// projection.
    pub fn balance(&self, currency: &str, date: NaiveDate) -> Option<Decimal> {
        self.days
            .iter()
            .find(|day| day.currency == currency && day.date == date)
            .map(|day| day.balance)
    }

    /// The days of `currency`, by date.
    pub fn of_currency<'a>(&'a self, currency: &'a str) -> impl Iterator<Item = &'a ProjectedDay> {
        self.days.iter().filter(move |day| day.currency == currency)
    }
}

// --- rows ---

/// Creates a schedule row, with a `finance.schedule.created` event.
///
/// # Errors
/// `Core(Invalid)` for a zero amount, one with more than two decimals or above
/// [`AMOUNT_MAX`] in absolute value, an over-long memo, a date outside the years 1..=9999, a
/// refused rule (see the module docs); `Core(NotFound)` for an account that is not the
/// user's; [`Error::InactiveAccount`].
pub async fn create_row<C>(db: &C, user: UserId, new: NewRow) -> Result<schedule_row::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let amount = amount("amount", new.amount)?;
    let event_date = day("event_date", new.event_date)?;
    let memo = optional_text("memo", new.memo.as_deref(), MEMO_MAX)?;
    let days = LocalDays::for_user(db, user).await?;
    let rrule = match new.rrule.as_deref() {
        Some(raw) => checked_rrule(raw, event_date, &days)?,
        None => None,
    };

    let txn = lifeos_core::db::begin_write(db).await?;
    account_of(&txn, user, new.account_id, true).await?;
    let row = schedule_row::ActiveModel {
        user_id: Set(user),
        account_id: Set(new.account_id),
        event_date: Set(event_date),
        amount: Set(amount),
        memo: Set(memo),
        rrule: Set(rrule),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let row = exact_row(row);
    outbox::enqueue(&txn, Some(user), "finance.schedule.created", payload(&row)).await?;
    txn.commit().await?;
    Ok(row)
}

/// The user's schedule row `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get_row<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<schedule_row::Model> {
    row_of(db, user, id, None).await
}

/// Changes the user's schedule row `id` as `patch` says, with a `finance.schedule.updated`
/// event (none when nothing changes). A new event date checks the row's rule again from it.
///
/// # Errors
/// `Core(NotFound)` for a row or a new account that is not the user's;
/// [`Error::InactiveAccount`] for a new account that is inactive; `Core(Invalid)` for a value
/// [`create_row`] would refuse.
pub async fn update_row<C>(
    db: &C,
    user: UserId,
    id: i32,
    patch: RowPatch,
) -> Result<schedule_row::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let amount = patch
        .amount
        .map(|value| self::amount("amount", value))
        .transpose()?;
    let event_date = patch
        .event_date
        .map(|date| day("event_date", date))
        .transpose()?;
    let memo = match patch.memo.as_ref() {
        Some(raw) => Some(optional_text("memo", raw.as_deref(), MEMO_MAX)?),
        None => None,
    };
    let days = LocalDays::for_user(db, user).await?;

    let txn = lifeos_core::db::begin_write(db).await?;
    let row = row_of(&txn, user, id, Some(LockType::Update)).await?;
    let start = event_date.unwrap_or(row.event_date);
    // The rule as it will be, checked from the start it will have.
    let rrule = if patch.rrule.is_some() || event_date.is_some() {
        let text = match patch.rrule.as_ref() {
            Some(new) => new.clone(),
            None => row.rrule.clone(),
        };
        Some(match text.as_deref() {
            Some(raw) => checked_rrule(raw, start, &days)?,
            None => None,
        })
    } else {
        None
    };
    let account_id = patch
        .account_id
        .filter(|account| *account != row.account_id);
    if let Some(account) = account_id {
        account_of(&txn, user, account, true).await?;
    }

    let mut active: schedule_row::ActiveModel = row.clone().into();
    let mut changed = false;
    if let Some(value) = account_id {
        active.account_id = Set(value);
        changed = true;
    }
    if let Some(value) = event_date.filter(|date| *date != row.event_date) {
        active.event_date = Set(value);
        changed = true;
    }
    if let Some(value) = amount.filter(|value| *value != row.amount) {
        active.amount = Set(value);
        changed = true;
    }
    if let Some(value) = memo.filter(|value| *value != row.memo) {
        active.memo = Set(value);
        changed = true;
    }
    if let Some(value) = rrule.filter(|value| *value != row.rrule) {
        active.rrule = Set(value);
        changed = true;
    }
    if !changed {
        txn.commit().await?;
        return Ok(row);
    }
    let updated = exact_row(active.update(&txn).await?);
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.schedule.updated",
        payload(&updated),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Deletes the user's schedule row `id` and the scenario deltas on it, with a
/// `finance.schedule.deleted` event.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn delete_row<C>(db: &C, user: UserId, id: i32) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let row = row_of(&txn, user, id, Some(LockType::Update)).await?;
    finance_money_schedule_scenario_row::Entity::delete_many()
        .filter(finance_money_schedule_scenario_row::Column::BaseRowId.eq(row.id))
        .exec(&txn)
        .await?;
    schedule_row::Entity::delete_many()
        .filter(schedule_row::Column::Id.eq(row.id))
        .filter(schedule_row::Column::UserId.eq(user))
        .exec(&txn)
        .await?;
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.schedule.deleted",
        json!({
            "row_id": row.id,
            "account_id": row.account_id,
            "event_date": row.event_date.to_string(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The user's rows that may occur on the days `from..=to`: the one-off rows dated in it and
/// the recurring rows starting on or before `to`, by event date (then id). Served by
/// `ix_finance_money_schedule_row_user_event_date` ([`rows_select`]).
///
/// # Errors
/// `Core(Invalid)` when `to` is before `from` or a day is outside the years 1..=9999.
pub async fn list_rows<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<schedule_row::Model>> {
    period(from, to)?;
    Ok(rows_select(user, from, to)
        .all(db)
        .await?
        .into_iter()
        .map(exact_row)
        .collect())
}

/// The query [`list_rows`] runs: the user's rows with `event_date <= to` (the index's range)
/// that recur or are dated on or after `from`, by event date, then id. Public so that a
/// query-plan test can explain it.
pub fn rows_select(user: UserId, from: NaiveDate, to: NaiveDate) -> Select<schedule_row::Entity> {
    use schedule_row::Column;
    schedule_row::Entity::find()
        .filter(Column::UserId.eq(user))
        .filter(Column::EventDate.lte(to))
        .filter(
            Condition::any()
                .add(Column::Rrule.is_not_null())
                .add(Column::EventDate.gte(from)),
        )
        .order_by_asc(Column::EventDate)
        .order_by_asc(Column::Id)
}

// --- expansion ---

/// Every occurrence of the user's rows on the days `from..=to` (at most
/// [`WINDOW_DAYS_MAX`] days), expanded in the user's time zone, by date (then row id).
///
/// # Errors
/// `Core(Invalid)` for a bad window, or a stored rule that no longer expands (naming the
/// row).
pub async fn occurrences<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Occurrence>> {
    window(from, to)?;
    let zone = LocalDays::for_user(db, user).await?.zone();
    let rows = rows_select(user, from, to).all(db).await?;
    let mut ids: Vec<i32> = rows.iter().map(|row| row.account_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let currencies: BTreeMap<i32, String> = accounts_of(db, user, ids)
        .await?
        .into_iter()
        .map(|(id, account)| (id, account.currency))
        .collect();
    expand_rows(&rows, &currencies, zone, from, to)
}

/// The local dates on `from..=to` (at most [`WINDOW_DAYS_MAX`] days) on which a row dated
/// `event_date` with `rrule` (`None`: once) occurs, expanded in `zone` as the module docs
/// describe.
///
/// # Errors
/// `Core(Invalid)` for a bad window or rule.
pub fn expand(
    event_date: NaiveDate,
    rrule: Option<&str>,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>> {
    window(from, to)?;
    expand_within(event_date, rrule, zone, from, to)
}

/// [`expand`], the window checked already.
fn expand_within(
    event_date: NaiveDate,
    rrule: Option<&str>,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>> {
    let Some(rule) = rrule else {
        return Ok(if (from..=to).contains(&event_date) {
            vec![event_date]
        } else {
            Vec::new()
        });
    };
    if event_date > to {
        return Ok(Vec::new());
    }
    let set = rule_set(rule, event_date, zone)?;
    let mut dates: Vec<NaiveDate> = Vec::new();
    for (step, instant) in (&set).into_iter().enumerate() {
        if step >= STEPS_MAX {
            return Err(invalid(
                "rrule",
                format!("more than {STEPS_MAX} occurrences from {event_date} to {to}"),
            ));
        }
        let date = instant.date_naive();
        if date > to {
            break;
        }
        if date >= from && dates.last() != Some(&date) {
            if dates.len() >= OCCURRENCES_MAX {
                break;
            }
            dates.push(date);
        }
    }
    Ok(dates)
}

/// The occurrences of `rows` on `from..=to`, by date (then row id); `currencies` maps their
/// accounts to their currencies.
fn expand_rows(
    rows: &[schedule_row::Model],
    currencies: &BTreeMap<i32, String>,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Occurrence>> {
    let mut out = Vec::new();
    for row in rows {
        let dates = expand_within(row.event_date, row.rrule.as_deref(), zone, from, to).map_err(
            |error| match error {
                Error::Core(lifeos_core::Error::Invalid { field, reason, .. }) => {
                    invalid(field, format!("schedule row {}: {reason}", row.id))
                }
                other => other,
            },
        )?;
        if dates.is_empty() {
            continue;
        }
        // A row whose account is not the user's (possible only in rows from history) moves
        // nothing.
        let Some(currency) = currencies.get(&row.account_id) else {
            continue;
        };
        let amount = two(row.amount);
        out.extend(dates.into_iter().map(|date| Occurrence {
            row_id: row.id,
            account_id: row.account_id,
            currency: currency.clone(),
            date,
            amount,
        }));
    }
    out.sort_by_key(|occurrence| (occurrence.date, occurrence.row_id));
    Ok(out)
}

/// `raw` checked as a new rule starting on `start` in `zone`: trimmed and upper-cased, `None`
/// when blank.
/// The rule must also expand, within [`STEPS_MAX`] occurrences, to a full horizon past the
/// later of its start and the user's today (a daily rule started centuries ago would make
/// every projection fail).
fn checked_rrule(raw: &str, start: NaiveDate, days: &LocalDays) -> Result<Option<String>> {
    let zone = days.zone();
    let rule = raw.trim();
    if rule.is_empty() {
        return Ok(None);
    }
    if rule.chars().count() > RRULE_MAX {
        return Err(invalid(
            "rrule",
            format!("is longer than {RRULE_MAX} characters"),
        ));
    }
    if !rule
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '=' | ';' | ',' | '+' | '-'))
    {
        return Err(invalid(
            "rrule",
            "holds only the rule's parts (`FREQ=…;…`): no property name, DTSTART or line break",
        ));
    }
    let rule = rule.to_ascii_uppercase();
    let until = rule
        .split(';')
        .filter_map(|part| part.strip_prefix("UNTIL="))
        .find(|until| !utc_stamp(until));
    if let Some(until) = until {
        return Err(invalid(
            "rrule",
            format!("UNTIL={until} is not a UTC date-time such as 20261231T235959Z"),
        ));
    }
    let set = rule_set(&rule, start, zone)?;
    if (&set).into_iter().next().is_none() {
        return Err(invalid("rrule", "never occurs"));
    }
    let last = start
        .max(days.today())
        .checked_add_days(chrono::Days::new(u64::from(HORIZON_MAX)))
        .ok_or_else(|| invalid("event_date", "is too late for a recurring row"))?;
    let first = last
        .checked_sub_days(chrono::Days::new(u64::from(HORIZON_MAX)))
        .unwrap_or(last);
    expand_within(start, Some(&rule), zone, first, last)?;
    Ok(Some(rule))
}

/// `YYYYMMDDTHHMMSSZ`.
fn utc_stamp(value: &str) -> bool {
    value.len() == 16
        && value.bytes().enumerate().all(|(index, byte)| match index {
            8 => byte == b'T',
            15 => byte == b'Z',
            _ => byte.is_ascii_digit(),
        })
}

/// The validated rule set of `rule` starting at local noon of `start` in `zone`, with the
/// crate's iteration limits on.
fn rule_set(rule: &str, start: NaiveDate, zone: Tz) -> Result<RRuleSet> {
    let parsed = rule
        .parse::<RRule<Unvalidated>>()
        .map_err(|error| invalid("rrule", error.to_string()))?;
    if matches!(
        parsed.get_freq(),
        Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
    ) {
        return Err(invalid("rrule", "recurs more often than daily"));
    }
    if !parsed.get_by_hour().is_empty()
        || !parsed.get_by_minute().is_empty()
        || !parsed.get_by_second().is_empty()
    {
        return Err(invalid(
            "rrule",
            "BYHOUR, BYMINUTE and BYSECOND are not allowed: the schedule counts days",
        ));
    }
    if parsed.get_interval() == 0 {
        return Err(invalid("rrule", "INTERVAL must be positive"));
    }
    if parsed.get_count() == Some(0) {
        return Err(invalid("rrule", "COUNT must be positive"));
    }
    parsed
        .build(local_noon(start, zone)?)
        .map(RRuleSet::limit)
        .map_err(|error| invalid("rrule", error.to_string()))
}

/// Noon of `date` in `zone` (the earlier instant should it be ambiguous).
fn local_noon(date: NaiveDate, zone: Tz) -> Result<DateTime<rrule::Tz>> {
    let noon = date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN));
    rrule::Tz::Tz(zone)
        .from_local_datetime(&noon)
        .earliest()
        .ok_or_else(|| invalid("event_date", format!("{date} has no noon in {zone}")))
}

// --- projection ---

/// The changes of a projection: per currency, per day.
pub(crate) type Changes = BTreeMap<String, BTreeMap<NaiveDate, Decimal>>;

/// What a projection is computed from, read once: the opening balances and the occurrences
/// of the window (scenarios overlay their rows on it).
pub(crate) struct Basis {
    /// The user's today.
    pub(crate) start: NaiveDate,
    /// The days projected.
    pub(crate) horizon_days: u32,
    /// The first day projected (tomorrow).
    pub(crate) first: NaiveDate,
    /// The last day projected.
    pub(crate) last: NaiveDate,
    /// The opening balance per currency of the covered accounts.
    pub(crate) opening: BTreeMap<String, Decimal>,
    /// The occurrences on `first..=last`.
    pub(crate) occurrences: Vec<Occurrence>,
}

impl Basis {
    /// Whether `date` is a projected day.
    pub(crate) fn covers(&self, date: NaiveDate) -> bool {
        (self.first..=self.last).contains(&date)
    }

    /// The schedule's own changes.
    pub(crate) fn changes(&self) -> Result<Changes> {
        let mut changes = Changes::new();
        for occurrence in &self.occurrences {
            add_change(
                &mut changes,
                &occurrence.currency,
                occurrence.date,
                occurrence.amount,
            )?;
        }
        Ok(changes)
    }

    /// The projection with `changes`: every currency of the opening balances or of the
    /// changes (opening at zero), day by day.
    pub(crate) fn run(&self, changes: &Changes) -> Result<Projection> {
        let mut opening = self.opening.clone();
        for currency in changes.keys() {
            opening
                .entry(currency.clone())
                .or_insert_with(|| Decimal::new(0, 2));
        }
        let per_currency = usize::try_from(self.horizon_days).unwrap_or(0);
        let mut days = Vec::with_capacity(opening.len().saturating_mul(per_currency));
        for (currency, open) in &opening {
            let dated = changes.get(currency);
            let mut balance = *open;
            let mut date = self.start;
            for _ in 0..self.horizon_days {
                date = date.succ_opt().ok_or_else(past_the_calendar)?;
                let change = dated
                    .and_then(|by_day| by_day.get(&date))
                    .copied()
                    .unwrap_or(Decimal::ZERO);
                balance = balance.checked_add(change).ok_or_else(too_large)?;
                days.push(ProjectedDay {
                    date,
                    currency: currency.clone(),
                    change: two(change),
                    balance: two(balance),
                });
            }
        }
        Ok(Projection {
            start: self.start,
            horizon_days: self.horizon_days,
            opening: opening
                .into_iter()
                .map(|(currency, amount)| (currency, two(amount)))
                .collect(),
            days,
        })
    }
}

/// Adds `amount` to the change of `currency` on `date`.
pub(crate) fn add_change(
    changes: &mut Changes,
    currency: &str,
    date: NaiveDate,
    amount: Decimal,
) -> Result<()> {
    let change = changes
        .entry(currency.to_owned())
        .or_default()
        .entry(date)
        .or_insert(Decimal::ZERO);
    *change = change.checked_add(amount).ok_or_else(too_large)?;
    Ok(())
}

/// Reads what a projection of `horizon_days` (1..=[`HORIZON_MAX`]) days from the user's
/// today is computed from.
pub(crate) async fn basis<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    horizon_days: u32,
) -> Result<Basis> {
    horizon(horizon_days)?;
    let days = LocalDays::for_user(db, user).await?;
    let start = days.today();
    let first = start.succ_opt().ok_or_else(past_the_calendar)?;
    let last = start
        .checked_add_days(Days::new(u64::from(horizon_days)))
        .ok_or_else(past_the_calendar)?;
    crate::input::day("horizon_days", last)?;

    // The covered accounts: every account with a schedule row.
    let ids: Vec<i32> = schedule_row::Entity::find()
        .select_only()
        .column(schedule_row::Column::AccountId)
        .distinct()
        .filter(schedule_row::Column::UserId.eq(user))
        .into_tuple()
        .all(db)
        .await?;
    let accounts = accounts_of(db, user, ids).await?;
    let mut opening: BTreeMap<String, Decimal> = accounts
        .values()
        .map(|account| (account.currency.clone(), Decimal::new(0, 2)))
        .collect();
    if accounts.values().any(holds_money) {
        let end = Timestamp(days.range(start).1);
        let statement =
            super::balances::sums_statement(db.get_database_backend(), user, None, end, None);
        for row in db.query_all_raw(statement).await? {
            let account_id: i32 = row.try_get_by_index(0)?;
            let Some(account) = accounts.get(&account_id).filter(|a| holds_money(a)) else {
                continue;
            };
            let debits: i64 = row.try_get_by_index(1)?;
            let credits: i64 = row.try_get_by_index(2)?;
            let cash = Decimal::new(debits, 2)
                .checked_sub(Decimal::new(credits, 2))
                .ok_or_else(too_large)?;
            let total = opening
                .entry(account.currency.clone())
                .or_insert_with(|| Decimal::new(0, 2));
            *total = total.checked_add(cash).ok_or_else(too_large)?;
        }
    }

    let rows = rows_select(user, first, last).all(db).await?;
    let mut currencies: BTreeMap<i32, String> = accounts
        .iter()
        .map(|(id, account)| (*id, account.currency.clone()))
        .collect();
    // Accounts whose first row was written after the covered accounts were read.
    let mut late: Vec<i32> = rows
        .iter()
        .map(|row| row.account_id)
        .filter(|id| !currencies.contains_key(id))
        .collect();
    late.sort_unstable();
    late.dedup();
    if !late.is_empty() {
        for (id, account) in accounts_of(db, user, late).await? {
            opening
                .entry(account.currency.clone())
                .or_insert_with(|| Decimal::new(0, 2));
            currencies.insert(id, account.currency);
        }
    }
    let occurrences = expand_rows(&rows, &currencies, days.zone(), first, last)?;
    Ok(Basis {
        start,
        horizon_days,
        first,
        last,
        opening,
        occurrences,
    })
}

/// The projection of the user's money per currency over `horizon_days` (1..=366) days from
/// tomorrow, from the real balances as of the end of today (see the module docs). Nothing is
/// written.
///
/// # Errors
/// `Core(Invalid)` for a horizon outside 1..=366 or a stored rule that no longer expands;
/// `Core(NotFound)` for an unknown user.
pub async fn project<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    horizon_days: u32,
) -> Result<Projection> {
    let basis = basis(db, user, horizon_days).await?;
    basis.run(&basis.changes()?)
}

/// Replaces the user's stored projection (`finance_money_schedule_daily_balance`) with
/// [`project`]`(horizon_days)` — one row per currency and day, holding the projected running
/// balance — in one transaction, with a `finance.schedule.recomputed` event (`start`, `days`,
/// `currencies`, `rows`). Returns the number of rows written (`horizon_days` per currency).
/// Concurrent recomputes of one user run one after the other.
///
/// # Errors
/// As [`project`]; `Core(Invalid)` (field `balance`) when a projected balance is beyond
/// [`BALANCE_MAX`].
pub async fn recompute<C>(db: &C, user: UserId, horizon_days: u32) -> Result<u64>
where
    C: ConnectionTrait + TransactionTrait,
{
    horizon(horizon_days)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // One recompute of the user at a time (SQLite's write transaction already is). The
        // user's row, `NO KEY UPDATE`: rows referencing the user can still be inserted.
        lifeos_entity::user::Entity::find_by_id(user)
            .lock(LockType::NoKeyUpdate)
            .one(&txn)
            .await?
            .ok_or_else(|| not_found("user", user.0))?;
    }
    let projection = project(&txn, user, horizon_days).await?;
    if let Some(day) = projection
        .days
        .iter()
        .find(|day| day.balance.abs() > BALANCE_MAX)
    {
        return Err(invalid(
            "balance",
            format!(
                "{} {} on {} is beyond {BALANCE_MAX}",
                day.balance, day.currency, day.date
            ),
        ));
    }
    daily_balance::Entity::delete_many()
        .filter(daily_balance::Column::UserId.eq(user))
        .exec(&txn)
        .await?;
    let mut written: u64 = 0;
    for chunk in projection.days.chunks(INSERT_CHUNK) {
        let models = chunk.iter().map(|day| daily_balance::ActiveModel {
            user_id: Set(user),
            as_of: Set(day.date),
            balance: Set(day.balance),
            currency: Set(day.currency.clone()),
            ..Default::default()
        });
        written = written.saturating_add(
            daily_balance::Entity::insert_many(models)
                .exec_without_returning(&txn)
                .await?,
        );
    }
    let currencies: Vec<&String> = projection.opening.keys().collect();
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.schedule.recomputed",
        json!({
            "start": projection.start.to_string(),
            "days": horizon_days,
            "currencies": currencies,
            "rows": written,
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(written)
}

/// The user's stored projection of `currency` (ISO 4217 letters, any case) on the days
/// `from..=to`, by day. Served by
/// `ux_finance_money_schedule_daily_balance_user_currency_as_of` ([`daily_balances_select`]).
///
/// # Errors
/// `Core(Invalid)` for a currency that is not three letters, `to` before `from` or a day
/// outside the years 1..=9999.
pub async fn daily_balances<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    currency: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<daily_balance::Model>> {
    let currency = currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err(invalid(
            "currency",
            format!("`{currency}` is not a three-letter code"),
        ));
    }
    period(from, to)?;
    Ok(daily_balances_select(user, &currency, from, to)
        .all(db)
        .await?
        .into_iter()
        .map(|mut row| {
            row.balance = two(row.balance);
            row
        })
        .collect())
}

/// The query [`daily_balances`] runs. Public so that a query-plan test can explain it.
pub fn daily_balances_select(
    user: UserId,
    currency: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Select<daily_balance::Entity> {
    use daily_balance::Column;
    daily_balance::Entity::find()
        .filter(Column::UserId.eq(user))
        .filter(Column::Currency.eq(currency))
        .filter(Column::AsOf.gte(from))
        .filter(Column::AsOf.lte(to))
        .order_by_asc(Column::AsOf)
}

// --- helpers ---

/// Whether an account's balance is money held (assets) or owed (liabilities).
fn holds_money(account: &finance_account::Model) -> bool {
    matches!(
        account.account_type,
        AccountType::Asset | AccountType::Liability
    )
}

/// The user's row `id`, locked (PostgreSQL) as `lock` says.
pub(crate) async fn row_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
    lock: Option<LockType>,
) -> Result<schedule_row::Model> {
    let mut query =
        schedule_row::Entity::find_by_id(id).filter(schedule_row::Column::UserId.eq(user));
    // (SQLite's write transaction already serialises writers.)
    if let Some(lock) = lock.filter(|_| db.get_database_backend() == DbBackend::Postgres) {
        query = query.lock(lock);
    }
    query
        .one(db)
        .await?
        .map(exact_row)
        .ok_or_else(|| not_found(ROW, id))
}

/// The user's account `id` (share-locked on PostgreSQL, so that a concurrent deactivation
/// waits); when `active`, refused if it is inactive.
pub(crate) async fn account_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
    active: bool,
) -> Result<finance_account::Model> {
    let mut query =
        finance_account::Entity::find_by_id(id).filter(finance_account::Column::UserId.eq(user));
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_shared();
    }
    let account = query
        .one(db)
        .await?
        .ok_or_else(|| not_found("account", id))?;
    if active && !account.is_active {
        return Err(Error::InactiveAccount { account: id });
    }
    Ok(account)
}

/// The user's accounts among `ids`, by id.
pub(crate) async fn accounts_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    ids: Vec<i32>,
) -> Result<BTreeMap<i32, finance_account::Model>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(finance_account::Entity::find()
        .filter(finance_account::Column::UserId.eq(user))
        .filter(finance_account::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|account| (account.id, account))
        .collect())
}

/// The event payload of a created or updated row.
fn payload(row: &schedule_row::Model) -> serde_json::Value {
    json!({
        "row_id": row.id,
        "account_id": row.account_id,
        "event_date": row.event_date.to_string(),
        "amount": row.amount.to_string(),
        "rrule": row.rrule,
    })
}

/// A horizon of 1..=[`HORIZON_MAX`] days.
fn horizon(days: u32) -> Result<()> {
    if (1..=HORIZON_MAX).contains(&days) {
        Ok(())
    } else {
        Err(invalid(
            "horizon_days",
            format!("must be 1..={HORIZON_MAX}, not {days}"),
        ))
    }
}

/// `from..=to` within the years 1..=9999, `to` not before `from`.
fn period(from: NaiveDate, to: NaiveDate) -> Result<()> {
    crate::input::day("period", from)?;
    crate::input::day("period", to)?;
    if to < from {
        return Err(invalid("period", format!("{to} is before {from}")));
    }
    Ok(())
}

/// A [`period`] of at most [`WINDOW_DAYS_MAX`] days.
fn window(from: NaiveDate, to: NaiveDate) -> Result<()> {
    period(from, to)?;
    if to.signed_duration_since(from).num_days() >= WINDOW_DAYS_MAX {
        return Err(invalid(
            "period",
            format!("{from}..={to} is longer than {WINDOW_DAYS_MAX} days"),
        ));
    }
    Ok(())
}

/// The row with its amount at the column's two decimals.
fn exact_row(mut row: schedule_row::Model) -> schedule_row::Model {
    row.amount = two(row.amount);
    row
}

/// A sum beyond `Decimal`'s range (never for amounts the services accept).
fn too_large() -> Error {
    invalid("balance", "the projection's sums are too large")
}

/// A projection past the year 9999.
fn past_the_calendar() -> Error {
    invalid("horizon_days", "runs past the calendar's end")
}
