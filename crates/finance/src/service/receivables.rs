//! Receivables and loans: trackers of money lent to (or owed by) a counterparty, their manual
//! entries, what is outstanding, what is overdue, the interest accrued, and loan groups.
//!
//! A **tracker** is a counterparty (1..=255 characters after trimming), a positive principal,
//! a start date, an optional due date (not before the start) and an optional annual interest
//! rate in percent (0..=999.99, NUMERIC(5,2)). Amounts have at most two decimals (more are
//! refused, never rounded) and at most [`AMOUNT_MAX`] in absolute value, as in the journal.
//! Dates lie in the years 1..=9999 (so that they also compare correctly as SQLite's text).
//!
//! **Entries** are signed, from the lender's side: a **negative** amount is a payment received
//! (it lowers what is owed), a **positive** one a further advance (it raises it). An entry is
//! never zero and never dated before its tracker's start; it is immutable — a mistake is
//! corrected by a compensating entry. An entry takes effect on its own date: the
//! **outstanding** amount as of a day is the principal plus every entry dated on or before
//! that day (nothing before the start date: the loan did not exist yet). It may be negative
//! (overpaid). Sums run in SQL over integer cents (`CAST(round(amount * 100) AS BIGINT)`), as
//! [`super::balances`] does, so SQLite's REAL storage cannot lose a cent.
//!
//! A tracker is **overdue** when its due date is before the user's today (their local day,
//! [`lifeos_core::days::LocalDays`]) and its outstanding amount as of today is above zero
//! (a settled or overpaid tracker is not overdue; one without a due date never is).
//!
//! **Interest** ([`accrued_interest`]) is simple, actual/365, never compounded: every calendar
//! day `d` from the start date up to, not including, `as_of` accrues
//! `max(outstanding(d), 0) × rate / 100 / 365`, where `outstanding(d)` is the outstanding
//! amount as of `d` defined above (so a payment dated `d` already stops that day's interest
//! on the amount paid, and an advance dated `d` already earns it). Every day counts, 29
//! February too, and a year is always 365 days. An overpaid balance accrues nothing (it is
//! clamped at zero: no interest is owed to the borrower). The days are summed exactly —
//! integer arithmetic in cents × hundredths of a percent × days — and the total is rounded
//! **once**, half up, to the cent. Example: 1,000.00 at 5.00% from 1 January to 15 March
//! 2026 (73 days) accrues `1000 × 5 / 100 × 73 / 365` = 10.00. No rate, or `as_of` on or
//! before the start date, accrues 0.00. The interest is reported, never added to the
//! outstanding amount.
//!
//! **Loan groups** (a name of 1..=128 characters, an optional description) gather trackers;
//! a tracker may be in several groups. Linking needs both the group and the tracker to be the
//! user's, and is idempotent; [`group_summary`] lists the group's trackers with their
//! outstanding amounts and totals.
//!
//! Every function acts for one user: another user's tracker or group behaves exactly as a
//! missing one (`Core(NotFound)`). Writes validate first and run in one transaction
//! ([`lifeos_core::db::begin_write`]); on any error nothing is written. Deleting a tracker
//! deletes its entries and links, deleting a group its links (the foreign keys cascade).
//!
//! Events, as the original announced them, in the same transaction as the write:
//! `finance.receivable.created` (`tracker_id`, `counterparty`, `principal` and
//! `interest_rate` as two-decimal strings, `start_date`, `due_date`) and
//! `finance.receivable.entry_recorded` (`tracker_id`, `entry_id`, `entry_date`, `amount` as a
//! two-decimal string).

use chrono::NaiveDate;
use lifeos_core::days::LocalDays;
use lifeos_core::db::placeholder;
use lifeos_core::platform::outbox;
use lifeos_entity::UserId;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set, Statement, TransactionSession,
    TransactionTrait, Value,
};
use serde_json::json;

pub use super::journal::AMOUNT_MAX;
use crate::entity::{
    finance_loan_group, finance_loan_group_link, finance_receivable_manual_entry,
    finance_receivable_tracker,
};
use crate::error::{Error, Result, invalid, not_found};
use crate::input::{day, optional_text};
use crate::money::{money, two};

/// The longest counterparty, in characters.
pub const COUNTERPARTY_MAX: usize = 255;

/// The longest loan-group name, in characters.
pub const GROUP_NAME_MAX: usize = 128;

/// The longest loan-group description, in characters.
pub const DESCRIPTION_MAX: usize = 4000;

/// The longest memo of an entry, in characters.
pub const MEMO_MAX: usize = 512;

/// The highest annual interest rate, in percent: 999.99 (NUMERIC(5,2)).
pub const RATE_MAX: Decimal = Decimal::from_parts(99_999, 0, 0, false, 2);

/// The most trackers of one page of [`list_trackers`].
pub const LIMIT_MAX: u64 = 100;

const TRACKER: &str = "receivable tracker";
const GROUP: &str = "loan group";

/// Days per year of the interest convention (actual/365).
const DAYS_PER_YEAR: i128 = 365;

/// A new tracker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewTracker {
    /// Who owes the money: 1..=255 characters after trimming.
    pub counterparty: String,
    /// The amount lent: positive, two decimals at most, at most [`AMOUNT_MAX`].
    pub principal: Decimal,
    /// When the loan starts.
    pub start_date: NaiveDate,
    /// When it is due (not before the start), if ever.
    pub due_date: Option<NaiveDate>,
    /// The annual interest rate in percent (0..=999.99, two decimals at most), if any.
    pub interest_rate: Option<Decimal>,
}

/// A change to a tracker: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::option_option)] // `Some(None)` removes an optional field
pub struct TrackerPatch {
    /// A new counterparty.
    pub counterparty: Option<String>,
    /// A new principal.
    pub principal: Option<Decimal>,
    /// A new start date (not after any of the tracker's entries).
    pub start_date: Option<NaiveDate>,
    /// A new due date; `Some(None)` removes it.
    pub due_date: Option<Option<NaiveDate>>,
    /// A new interest rate; `Some(None)` removes it.
    pub interest_rate: Option<Option<Decimal>>,
}

/// Where a page of [`list_trackers`] ends: the next page starts after this tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackerCursor {
    /// The last tracker's start date.
    pub start_date: NaiveDate,
    /// The last tracker's id.
    pub id: i32,
}

impl From<&finance_receivable_tracker::Model> for TrackerCursor {
    fn from(tracker: &finance_receivable_tracker::Model) -> Self {
        Self {
            start_date: tracker.start_date,
            id: tracker.id,
        }
    }
}

/// A new manual entry of a tracker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewEntry {
    /// Its date: not before the tracker's start.
    pub entry_date: NaiveDate,
    /// Signed, never zero: negative for a payment received, positive for a further advance;
    /// two decimals at most, at most [`AMOUNT_MAX`] in absolute value.
    pub amount: Decimal,
    /// An optional memo (up to 512 characters).
    pub memo: Option<String>,
}

/// A tracker with its outstanding amount as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerBalance {
    /// The tracker.
    pub tracker: finance_receivable_tracker::Model,
    /// Its principal plus its entries up to the day (zero before its start date).
    pub outstanding: Decimal,
}

/// A new loan group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewGroup {
    /// 1..=128 characters after trimming.
    pub name: String,
    /// An optional description (up to 4000 characters).
    pub description: Option<String>,
}

/// A loan group with its trackers as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group.
    pub group: finance_loan_group::Model,
    /// The day.
    pub as_of: NaiveDate,
    /// Its trackers with their outstanding amounts, newest start first (then by id,
    /// descending).
    pub trackers: Vec<TrackerBalance>,
    /// The sum of the trackers' principals (all of them, started or not).
    pub total_principal: Decimal,
    /// The sum of the trackers' outstanding amounts.
    pub total_outstanding: Decimal,
}

// --- trackers ---

/// Creates a tracker, with a `finance.receivable.created` event.
///
/// # Errors
/// `Core(Invalid)` for an empty or over-long counterparty, a principal that is not positive,
/// has more than two decimals or is above [`AMOUNT_MAX`], a due date before the start date,
/// a rate outside 0..=999.99 or with more than two decimals, a date outside the years
/// 1..=9999.
pub async fn create_tracker<C>(
    db: &C,
    user: UserId,
    new: NewTracker,
) -> Result<finance_receivable_tracker::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let counterparty =
        lifeos_core::validate::text("counterparty", &new.counterparty, COUNTERPARTY_MAX)?;
    let principal = principal(new.principal)?;
    let start_date = day("start_date", new.start_date)?;
    let due_date = new.due_date.map(|due| day("due_date", due)).transpose()?;
    due_after_start(start_date, due_date)?;
    let interest_rate = new.interest_rate.map(rate).transpose()?;

    let txn = lifeos_core::db::begin_write(db).await?;
    let tracker = finance_receivable_tracker::ActiveModel {
        user_id: Set(user),
        counterparty: Set(counterparty),
        principal: Set(principal),
        start_date: Set(start_date),
        due_date: Set(due_date),
        interest_rate: Set(interest_rate),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let tracker = exact_tracker(tracker);
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.receivable.created",
        json!({
            "tracker_id": tracker.id,
            "counterparty": tracker.counterparty,
            "principal": tracker.principal.to_string(),
            "start_date": tracker.start_date.to_string(),
            "due_date": tracker.due_date.map(|due| due.to_string()),
            "interest_rate": tracker.interest_rate.map(|rate| rate.to_string()),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(tracker)
}

/// The user's tracker `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get_tracker<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<finance_receivable_tracker::Model> {
    tracker_of(db, user, id, Lock::Read).await
}

/// Changes the user's tracker `id` as `patch` says.
///
/// # Errors
/// `Core(NotFound)`; `Core(Invalid)` for a value [`create_tracker`] would refuse, a due date
/// that would be before the start date, or a start date after one of the tracker's entries.
pub async fn update_tracker<C>(
    db: &C,
    user: UserId,
    id: i32,
    patch: TrackerPatch,
) -> Result<finance_receivable_tracker::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let counterparty = patch
        .counterparty
        .as_deref()
        .map(|raw| lifeos_core::validate::text("counterparty", raw, COUNTERPARTY_MAX))
        .transpose()?;
    let principal = patch.principal.map(principal).transpose()?;
    let start_date = patch
        .start_date
        .map(|start| day("start_date", start))
        .transpose()?;
    let due_date = match patch.due_date {
        Some(Some(due)) => Some(Some(day("due_date", due)?)),
        other => other,
    };
    let interest_rate = match patch.interest_rate {
        Some(Some(value)) => Some(Some(rate(value)?)),
        other => other,
    };

    let txn = lifeos_core::db::begin_write(db).await?;
    let tracker = tracker_of(&txn, user, id, Lock::Update).await?;
    let new_start = start_date.unwrap_or(tracker.start_date);
    if start_date.is_some() || due_date.is_some() {
        due_after_start(new_start, due_date.unwrap_or(tracker.due_date))?;
    }
    if new_start > tracker.start_date {
        let earlier = finance_receivable_manual_entry::Entity::find()
            .filter(finance_receivable_manual_entry::Column::TrackerId.eq(id))
            .filter(finance_receivable_manual_entry::Column::EntryDate.lt(new_start))
            .order_by_asc(finance_receivable_manual_entry::Column::EntryDate)
            .one(&txn)
            .await?;
        if let Some(entry) = earlier {
            return Err(invalid(
                "start_date",
                format!(
                    "{new_start} is after the entry of {} (id {})",
                    entry.entry_date, entry.id
                ),
            ));
        }
    }

    let mut active: finance_receivable_tracker::ActiveModel = tracker.clone().into();
    let mut changed = false;
    if let Some(value) = counterparty {
        active.counterparty = Set(value);
        changed = true;
    }
    if let Some(value) = principal {
        active.principal = Set(value);
        changed = true;
    }
    if let Some(value) = start_date {
        active.start_date = Set(value);
        changed = true;
    }
    if let Some(value) = due_date {
        active.due_date = Set(value);
        changed = true;
    }
    if let Some(value) = interest_rate {
        active.interest_rate = Set(value);
        changed = true;
    }
    if !changed {
        txn.commit().await?;
        return Ok(tracker);
    }
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(exact_tracker(updated))
}

/// Deletes the user's tracker `id` with its entries and its group links.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn delete_tracker<C>(db: &C, user: UserId, id: i32) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let deleted = finance_receivable_tracker::Entity::delete_many()
        .filter(finance_receivable_tracker::Column::Id.eq(id))
        .filter(finance_receivable_tracker::Column::UserId.eq(user))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(not_found(TRACKER, id));
    }
    txn.commit().await?;
    Ok(())
}

/// A page of the user's trackers, newest start date first (then by id, descending): the
/// first `limit` (1..=100) after `after` (from the start when `None`; pass the last tracker
/// of the previous page, `TrackerCursor::from(last)`). Paging by this key is stable: a tracker
/// created meanwhile never shifts a page or repeats a tracker.
///
/// # Errors
/// `Core(Invalid)` for a limit outside 1..=100.
pub async fn list_trackers<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    after: Option<TrackerCursor>,
    limit: u64,
) -> Result<Vec<finance_receivable_tracker::Model>> {
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(invalid("limit", format!("must be 1..={LIMIT_MAX}")));
    }
    let mut query = finance_receivable_tracker::Entity::find()
        .filter(finance_receivable_tracker::Column::UserId.eq(user));
    if let Some(cursor) = after {
        query = query.filter(
            Condition::any()
                .add(finance_receivable_tracker::Column::StartDate.lt(cursor.start_date))
                .add(
                    Condition::all()
                        .add(finance_receivable_tracker::Column::StartDate.eq(cursor.start_date))
                        .add(finance_receivable_tracker::Column::Id.lt(cursor.id)),
                ),
        );
    }
    Ok(query
        .order_by_desc(finance_receivable_tracker::Column::StartDate)
        .order_by_desc(finance_receivable_tracker::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(exact_tracker)
        .collect())
}

// --- entries ---

/// Records an entry of the user's tracker `tracker_id` (a payment received when negative, a
/// further advance when positive), with a `finance.receivable.entry_recorded` event.
///
/// # Errors
/// `Core(Invalid)` for a zero amount, one with more than two decimals or above
/// [`AMOUNT_MAX`] in absolute value, an over-long memo, a date before the tracker's start or
/// outside the years 1..=9999; `Core(NotFound)` for a tracker that is not the user's.
pub async fn record_entry<C>(
    db: &C,
    user: UserId,
    tracker_id: i32,
    new: NewEntry,
) -> Result<finance_receivable_manual_entry::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    if new.amount.is_zero() {
        return Err(invalid("amount", "is zero"));
    }
    let amount = money("amount", new.amount)?;
    let entry_date = day("entry_date", new.entry_date)?;
    let memo = optional_text("memo", new.memo.as_deref(), MEMO_MAX)?;

    let txn = lifeos_core::db::begin_write(db).await?;
    // Share-locked on PostgreSQL: a concurrent change of its start date waits.
    let tracker = tracker_of(&txn, user, tracker_id, Lock::Share).await?;
    if entry_date < tracker.start_date {
        return Err(invalid(
            "entry_date",
            format!(
                "{entry_date} is before the tracker's start date, {}",
                tracker.start_date
            ),
        ));
    }
    let entry = finance_receivable_manual_entry::ActiveModel {
        tracker_id: Set(tracker.id),
        entry_date: Set(entry_date),
        amount: Set(amount),
        memo: Set(memo),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let entry = exact_entry(entry);
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.receivable.entry_recorded",
        json!({
            "tracker_id": tracker.id,
            "entry_id": entry.id,
            "entry_date": entry.entry_date.to_string(),
            "amount": entry.amount.to_string(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(entry)
}

/// The entries of the user's tracker `tracker_id`, newest date first (then by id,
/// descending).
///
/// # Errors
/// `Core(NotFound)` for a tracker that is not the user's.
pub async fn entries<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    tracker_id: i32,
) -> Result<Vec<finance_receivable_manual_entry::Model>> {
    let tracker = get_tracker(db, user, tracker_id).await?;
    Ok(finance_receivable_manual_entry::Entity::find()
        .filter(finance_receivable_manual_entry::Column::TrackerId.eq(tracker.id))
        .order_by_desc(finance_receivable_manual_entry::Column::EntryDate)
        .order_by_desc(finance_receivable_manual_entry::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(exact_entry)
        .collect())
}

// --- amounts ---

/// What the user's tracker `tracker_id` has outstanding as of `as_of`: its principal plus its
/// entries dated on or before `as_of` (0.00 before its start date), exact to the cent.
///
/// # Errors
/// `Core(NotFound)` for a tracker that is not the user's.
pub async fn outstanding<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    tracker_id: i32,
    as_of: NaiveDate,
) -> Result<Decimal> {
    let statement = balances_statement(
        db.get_database_backend(),
        user,
        as_of,
        Scope::Tracker(tracker_id),
    );
    tracker_balances(db, statement, as_of)
        .await?
        .into_iter()
        .next()
        .map(|balance| balance.outstanding)
        .ok_or_else(|| not_found(TRACKER, tracker_id))
}

/// The user's overdue trackers: due before the user's today and with an outstanding amount
/// above zero as of today, by due date (then id), with those amounts. One statement
/// ([`overdue_sql`]), served by the index on `(user_id, due_date)`.
///
/// # Errors
/// `Core(NotFound)` for an unknown user.
pub async fn overdue<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Vec<TrackerBalance>> {
    let today = LocalDays::for_user(db, user).await?.today();
    let statement = balances_statement(
        db.get_database_backend(),
        user,
        today,
        Scope::DueBefore(today),
    );
    Ok(tracker_balances(db, statement, today)
        .await?
        .into_iter()
        .filter(|balance| balance.outstanding > Decimal::ZERO)
        .collect())
}

/// The statement [`overdue`] runs for `user` on `today`, on `backend`, values inlined: what a
/// query-plan test explains.
pub fn overdue_sql(backend: DbBackend, user: UserId, today: NaiveDate) -> String {
    balances_statement(backend, user, today, Scope::DueBefore(today)).to_string()
}

/// The interest the user's tracker `tracker_id` has accrued by `as_of` (its days from the
/// start date up to, not including, `as_of`), by the module's convention: simple, actual/365,
/// on the outstanding amount of each day clamped at zero, rounded once, half up, to the cent.
/// 0.00 without a rate or when `as_of` is on or before the start date.
///
/// # Errors
/// `Core(NotFound)` for a tracker that is not the user's; `Core(Invalid)` should the sum
/// not fit in 64-bit cents (beyond any real loan).
pub async fn accrued_interest<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    tracker_id: i32,
    as_of: NaiveDate,
) -> Result<Decimal> {
    let tracker = get_tracker(db, user, tracker_id).await?;
    let zero = Decimal::new(0, 2);
    let Some(rate) = tracker.interest_rate else {
        return Ok(zero);
    };
    // (A negative rate, possible only in rows written around this service, accrues nothing.)
    if rate <= Decimal::ZERO || as_of <= tracker.start_date {
        return Ok(zero);
    }
    // The last day that accrues is the day before `as_of`.
    let last = as_of.pred_opt().unwrap_or(as_of);
    let changes = entry_cents_by_day(db, tracker.id, last).await?;
    let total = cent_days(
        tracker.start_date,
        as_of,
        cents(tracker.principal),
        &changes,
    )
    .ok_or_else(too_large)?;
    // cents × days × (rate × 100) / (100 × 100 × 365), rounded half up (never negative).
    let numerator = total.checked_mul(cents(rate)).ok_or_else(too_large)?;
    let denominator = 100 * 100 * DAYS_PER_YEAR;
    let quotient = numerator / denominator;
    let rounded = if (numerator % denominator) * 2 >= denominator {
        quotient + 1
    } else {
        quotient
    };
    let rounded = i64::try_from(rounded).map_err(|_| too_large())?;
    Ok(Decimal::new(rounded, 2))
}

/// Σ over the days `[start, end)` of the day's outstanding cents, clamped at zero: the
/// principal, changed by `changes` (per date, ascending) from their date on. `None` on
/// overflow.
fn cent_days(
    start: NaiveDate,
    end: NaiveDate,
    principal: i128,
    changes: &[(NaiveDate, i64)],
) -> Option<i128> {
    let mut balance = principal;
    let mut from = start;
    let mut total: i128 = 0;
    for (date, delta) in changes {
        if *date > from {
            let days = i128::from(date.signed_duration_since(from).num_days());
            total = total.checked_add(balance.max(0).checked_mul(days)?)?;
            from = *date;
        }
        balance = balance.checked_add(i128::from(*delta))?;
    }
    if end > from {
        let days = i128::from(end.signed_duration_since(from).num_days());
        total = total.checked_add(balance.max(0).checked_mul(days)?)?;
    }
    Some(total)
}

/// The interest does not fit in 64-bit cents.
fn too_large() -> Error {
    invalid("as_of", "the interest is too large to compute")
}

// --- loan groups ---

/// Creates a loan group.
///
/// # Errors
/// `Core(Invalid)` for an empty or over-long name or an over-long description.
pub async fn create_group<C>(
    db: &C,
    user: UserId,
    new: NewGroup,
) -> Result<finance_loan_group::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = lifeos_core::validate::text("name", &new.name, GROUP_NAME_MAX)?;
    let description = optional_text("description", new.description.as_deref(), DESCRIPTION_MAX)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let group = finance_loan_group::ActiveModel {
        user_id: Set(user),
        name: Set(name),
        description: Set(description),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(group)
}

/// The user's loan group `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get_group<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<finance_loan_group::Model> {
    group_of(db, user, id, false).await
}

/// The user's loan groups, by name (then id).
///
/// # Errors
/// On a database failure.
pub async fn list_groups<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> Result<Vec<finance_loan_group::Model>> {
    Ok(finance_loan_group::Entity::find()
        .filter(finance_loan_group::Column::UserId.eq(user))
        .order_by_asc(finance_loan_group::Column::Name)
        .order_by_asc(finance_loan_group::Column::Id)
        .all(db)
        .await?)
}

/// Deletes the user's loan group `id` with its links (its trackers stay).
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn delete_group<C>(db: &C, user: UserId, id: i32) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let deleted = finance_loan_group::Entity::delete_many()
        .filter(finance_loan_group::Column::Id.eq(id))
        .filter(finance_loan_group::Column::UserId.eq(user))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(not_found(GROUP, id));
    }
    txn.commit().await?;
    Ok(())
}

/// Links the user's tracker `tracker_id` into the user's group `group_id` and returns the
/// link; when they are linked already, the existing link (nothing is written).
///
/// # Errors
/// `Core(NotFound)` for a group or a tracker that is not the user's.
pub async fn link<C>(
    db: &C,
    user: UserId,
    group_id: i32,
    tracker_id: i32,
) -> Result<finance_loan_group_link::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    // PostgreSQL: the group's row lock serialises links into it, so two concurrent calls
    // cannot both insert (SQLite's write transaction already serialises writers).
    group_of(&txn, user, group_id, true).await?;
    tracker_of(&txn, user, tracker_id, Lock::Share).await?;
    if let Some(existing) = existing_link(&txn, group_id, tracker_id).await? {
        txn.commit().await?;
        return Ok(existing);
    }
    let inserted = finance_loan_group_link::ActiveModel {
        group_id: Set(group_id),
        tracker_id: Set(tracker_id),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match inserted {
        Ok(link) => {
            txn.commit().await?;
            Ok(link)
        }
        Err(error) => match Error::from(error) {
            // The unique index on (group_id, tracker_id): another call linked them first.
            Error::Core(lifeos_core::Error::Conflict(detail)) => {
                drop(txn);
                existing_link(db, group_id, tracker_id)
                    .await?
                    .ok_or(Error::Core(lifeos_core::Error::Conflict(detail)))
            }
            other => Err(other),
        },
    }
}

/// Removes the user's tracker `tracker_id` from the user's group `group_id`; returns whether
/// it was in it.
///
/// # Errors
/// `Core(NotFound)` for a group or a tracker that is not the user's.
pub async fn unlink<C>(db: &C, user: UserId, group_id: i32, tracker_id: i32) -> Result<bool>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    group_of(&txn, user, group_id, true).await?;
    tracker_of(&txn, user, tracker_id, Lock::Read).await?;
    let deleted = finance_loan_group_link::Entity::delete_many()
        .filter(finance_loan_group_link::Column::GroupId.eq(group_id))
        .filter(finance_loan_group_link::Column::TrackerId.eq(tracker_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(deleted.rows_affected > 0)
}

/// The user's group `group_id` as of `as_of`: its trackers with their outstanding amounts
/// and the totals. One statement sums the entries of all its trackers.
///
/// # Errors
/// `Core(NotFound)` for a group that is not the user's.
pub async fn group_summary<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    group_id: i32,
    as_of: NaiveDate,
) -> Result<GroupSummary> {
    let group = get_group(db, user, group_id).await?;
    let statement = balances_statement(
        db.get_database_backend(),
        user,
        as_of,
        Scope::Group(group.id),
    );
    let trackers = tracker_balances(db, statement, as_of).await?;
    let total_principal = two(trackers
        .iter()
        .map(|balance| balance.tracker.principal)
        .sum());
    let total_outstanding = two(trackers.iter().map(|balance| balance.outstanding).sum());
    Ok(GroupSummary {
        group,
        as_of,
        trackers,
        total_principal,
        total_outstanding,
    })
}

// --- helpers ---

/// How a row read inside a write is locked on PostgreSQL (SQLite's write transaction already
/// serialises writers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lock {
    /// No lock.
    Read,
    /// `FOR SHARE`.
    Share,
    /// `FOR UPDATE`.
    Update,
}

/// The user's tracker `id`, locked as `lock` says.
async fn tracker_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
    lock: Lock,
) -> Result<finance_receivable_tracker::Model> {
    let mut query = finance_receivable_tracker::Entity::find_by_id(id)
        .filter(finance_receivable_tracker::Column::UserId.eq(user));
    if db.get_database_backend() == DbBackend::Postgres {
        query = match lock {
            Lock::Read => query,
            Lock::Share => query.lock_shared(),
            Lock::Update => query.lock_exclusive(),
        };
    }
    query
        .one(db)
        .await?
        .map(exact_tracker)
        .ok_or_else(|| not_found(TRACKER, id))
}

/// The user's group `id` (PostgreSQL: `FOR UPDATE` when `lock`).
async fn group_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
    lock: bool,
) -> Result<finance_loan_group::Model> {
    let mut query = finance_loan_group::Entity::find_by_id(id)
        .filter(finance_loan_group::Column::UserId.eq(user));
    if lock && db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await?.ok_or_else(|| not_found(GROUP, id))
}

/// The (first) link of `tracker_id` into `group_id`. (Rows from before the unique index may
/// hold duplicates.)
async fn existing_link<C: ConnectionTrait>(
    db: &C,
    group_id: i32,
    tracker_id: i32,
) -> Result<Option<finance_loan_group_link::Model>> {
    Ok(finance_loan_group_link::Entity::find()
        .filter(finance_loan_group_link::Column::GroupId.eq(group_id))
        .filter(finance_loan_group_link::Column::TrackerId.eq(tracker_id))
        .order_by_asc(finance_loan_group_link::Column::Id)
        .one(db)
        .await?)
}

/// Which trackers a balances statement reads.
enum Scope {
    /// One tracker.
    Tracker(i32),
    /// The trackers linked into a group.
    Group(i32),
    /// The trackers due before a day (the overdue candidates).
    DueBefore(NaiveDate),
}

/// The tracker's columns, named as the entity reads them.
const TRACKER_COLUMNS: &str = "t.id AS id, t.user_id AS user_id, t.counterparty AS counterparty, \
     t.principal AS principal, t.start_date AS start_date, t.due_date AS due_date, \
     t.interest_rate AS interest_rate";

const TRACKER_GROUP_BY: &str = "t.id, t.user_id, t.counterparty, t.principal, t.start_date, \
     t.due_date, t.interest_rate";

/// The sum of a tracker's joined entries, in cents (0 without any).
const ENTRY_CENTS: &str = "CAST(COALESCE(SUM(CAST(round(e.amount * 100) AS BIGINT)), 0) AS BIGINT)";

/// The user's trackers in `scope`, each with the sum in cents of its entries dated on or
/// before `through` (column 7, `entry_cents`): one statement, summed over integer cents.
fn balances_statement(
    backend: DbBackend,
    user: UserId,
    through: NaiveDate,
    scope: Scope,
) -> Statement {
    let p = |n: usize| placeholder(backend, n);
    let (filter, value, tail) = match scope {
        Scope::Tracker(id) => (
            format!("t.id = {}", p(3)),
            Value::from(id),
            "ORDER BY t.start_date DESC, t.id DESC".to_owned(),
        ),
        Scope::Group(id) => (
            // `IN`, not a join: links from before the unique index may repeat a tracker.
            format!(
                "t.id IN (SELECT l.tracker_id FROM finance_loan_group_link l \
                 WHERE l.group_id = {})",
                p(3)
            ),
            Value::from(id),
            "ORDER BY t.start_date DESC, t.id DESC".to_owned(),
        ),
        Scope::DueBefore(day) => (
            // The bare range on `due_date`, after `user_id`: the index's two columns.
            format!("t.due_date < {}", p(3)),
            Value::from(sql_day(day)),
            format!(
                "HAVING CAST(round(t.principal * 100) AS BIGINT) + {ENTRY_CENTS} > 0 \
                 ORDER BY t.due_date, t.id"
            ),
        ),
    };
    let sql = format!(
        "SELECT {TRACKER_COLUMNS}, {ENTRY_CENTS} AS entry_cents \
         FROM finance_receivable_tracker t \
         LEFT JOIN finance_receivable_manual_entry e \
         ON e.tracker_id = t.id AND e.entry_date <= {} \
         WHERE t.user_id = {} AND {filter} \
         GROUP BY {TRACKER_GROUP_BY} {tail}",
        p(1),
        p(2)
    );
    let values: Vec<Value> = vec![sql_day(through).into(), user.0.into(), value];
    Statement::from_sql_and_values(backend, sql, values)
}

/// Runs a [`balances_statement`] and computes each tracker's outstanding amount as of
/// `as_of`.
async fn tracker_balances<C: ConnectionTrait>(
    db: &C,
    statement: Statement,
    as_of: NaiveDate,
) -> Result<Vec<TrackerBalance>> {
    let rows = db.query_all_raw(statement).await?;
    let mut balances = Vec::with_capacity(rows.len());
    for row in rows {
        let tracker = exact_tracker(finance_receivable_tracker::Model::from_query_result(
            &row, "",
        )?);
        let entry_cents: i64 = row.try_get_by_index(7)?;
        let outstanding = if tracker.start_date > as_of {
            Decimal::new(0, 2)
        } else {
            two(tracker.principal + Decimal::new(entry_cents, 2))
        };
        balances.push(TrackerBalance {
            tracker,
            outstanding,
        });
    }
    Ok(balances)
}

/// The entries of `tracker_id` dated on or before `through`, summed in cents per date,
/// ascending.
async fn entry_cents_by_day<C: ConnectionTrait>(
    db: &C,
    tracker_id: i32,
    through: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT entry_date, CAST(SUM(CAST(round(amount * 100) AS BIGINT)) AS BIGINT) \
         FROM finance_receivable_manual_entry \
         WHERE tracker_id = {} AND entry_date <= {} \
         GROUP BY entry_date ORDER BY entry_date",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    let values: Vec<Value> = vec![tracker_id.into(), sql_day(through).into()];
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        changes.push((
            row.try_get_by_index::<NaiveDate>(0)?,
            row.try_get_by_index::<i64>(1)?,
        ));
    }
    Ok(changes)
}

/// A positive principal (see [`money`]).
fn principal(value: Decimal) -> Result<Decimal> {
    if value <= Decimal::ZERO {
        return Err(invalid("principal", format!("{value} is not positive")));
    }
    money("principal", value)
}

/// An interest rate: 0..=999.99 percent, two decimals at most, at scale 2.
fn rate(value: Decimal) -> Result<Decimal> {
    if value < Decimal::ZERO {
        return Err(invalid("interest_rate", format!("{value} is negative")));
    }
    if value.normalize().scale() > 2 {
        return Err(invalid(
            "interest_rate",
            format!("{value} has more than two decimals"),
        ));
    }
    if value > RATE_MAX {
        return Err(invalid(
            "interest_rate",
            format!("{value} is above {RATE_MAX} percent"),
        ));
    }
    Ok(two(value))
}

/// Refuses a due date before the start date.
fn due_after_start(start: NaiveDate, due: Option<NaiveDate>) -> Result<()> {
    match due {
        Some(due) if due < start => Err(invalid(
            "due_date",
            format!("{due} is before the start date, {start}"),
        )),
        _ => Ok(()),
    }
}

/// `day` within the years 1..=9999, where dates compare as they do as SQLite's text: a bound
/// outside them is moved to the nearest end (no stored date lies beyond either).
fn sql_day(day: NaiveDate) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    day.clamp(first, last)
}

/// `value` (at most two decimals) in cents, or hundredths of a percent for a rate.
fn cents(value: Decimal) -> i128 {
    two(value).mantissa()
}

/// The tracker with its amounts at the columns' two decimals, as PostgreSQL returns them.
fn exact_tracker(
    mut tracker: finance_receivable_tracker::Model,
) -> finance_receivable_tracker::Model {
    tracker.principal = two(tracker.principal);
    tracker.interest_rate = tracker.interest_rate.map(two);
    tracker
}

/// The entry with its amount at the column's two decimals.
fn exact_entry(
    mut entry: finance_receivable_manual_entry::Model,
) -> finance_receivable_manual_entry::Model {
    entry.amount = two(entry.amount);
    entry
}
