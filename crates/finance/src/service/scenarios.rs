//! What-if scenarios over the money schedule: named sets of adjustments overlaid on the
//! projection ([`super::schedule::project`]) without touching the ledger, the schedule or the
//! stored projection.
//!
//! A **scenario** has a name (1..=[`NAME_MAX`] characters after trimming) and an optional
//! description (up to [`DESCRIPTION_MAX`]). Its **rows** are of two kinds:
//! - a **delta** on one of the user's schedule rows ([`add_delta`]): its amount is added to
//!   **every occurrence** of that row in the projected window (so +20.00 on a weekly row of
//!   −120.00 makes each week −100.00; several deltas on one row add up). Deleting the base row
//!   deletes its deltas;
//! - an **extra** dated amount on one of the user's accounts ([`add_extra`]): signed as
//!   schedule rows are (positive is money in), in the account's currency, on its date.
//!
//! Amounts follow the schedule's rules: never zero, two decimals at most, at most
//! [`AMOUNT_MAX`] in absolute value; a memo has up to [`MEMO_MAX`] characters.
//!
//! The **scenario projection** ([`project_scenario`]) is the base projection — the same
//! covered accounts, opening balances and days — with the scenario's rows added to the days'
//! changes. As in the base projection, only days from tomorrow to the horizon count: an extra
//! amount dated today or earlier, or after the horizon, changes nothing. An extra amount on an
//! account the projection does not cover adds its amount only (the account's balance is not
//! added to the opening); in a currency the base does not project, that currency is projected
//! from zero. Nothing is written: a scenario projection is computed on each call.
//! [`compare`] lines the scenario up with the base, day by day and currency by currency
//! (a currency only the scenario has is 0.00 in the base).
//!
//! Every function acts for one user: another user's scenario, scenario row, schedule row or
//! account behaves exactly as a missing one (`Core(NotFound)`). Writes validate first and run
//! in one transaction; on any error nothing is written. Deleting a scenario deletes its rows
//! (the foreign key cascades).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use lifeos_entity::UserId;
use rust_decimal::Decimal;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};

use super::schedule::{self, Basis, Changes, Occurrence};
pub use super::schedule::{AMOUNT_MAX, MEMO_MAX, Projection};
use crate::entity::{
    finance_money_schedule_scenario as scenario,
    finance_money_schedule_scenario_row as scenario_row,
};
use crate::error::{Result, invalid, not_found};

/// The longest scenario name, in characters.
pub const NAME_MAX: usize = 128;

/// The longest scenario description, in characters.
pub const DESCRIPTION_MAX: usize = 4000;

const SCENARIO: &str = "schedule scenario";
const SCENARIO_ROW: &str = "scenario row";

/// A new scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewScenario {
    /// 1..=128 characters after trimming.
    pub name: String,
    /// An optional description (up to 4000 characters; blank is none).
    pub description: Option<String>,
}

/// A new delta on a schedule row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewDelta {
    /// The user's schedule row.
    pub base_row_id: i32,
    /// Added to each of the row's occurrences: signed, never zero, two decimals at most.
    pub delta_amount: Decimal,
    /// An optional memo.
    pub memo: Option<String>,
}

/// A new extra dated amount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewExtra {
    /// The user's account.
    pub account_id: i32,
    /// Its day.
    pub event_date: NaiveDate,
    /// Signed (positive is money in), never zero, two decimals at most.
    pub amount: Decimal,
    /// An optional memo.
    pub memo: Option<String>,
}

/// One day and currency of a scenario next to the base projection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The day.
    pub date: NaiveDate,
    /// The currency.
    pub currency: String,
    /// The base projection's balance.
    pub base: Decimal,
    /// The scenario's balance.
    pub scenario: Decimal,
    /// `scenario − base`.
    pub difference: Decimal,
}

// --- scenarios ---

/// Creates a scenario.
///
/// # Errors
/// `Core(Invalid)` for an empty or over-long name or an over-long description.
pub async fn create_scenario<C>(db: &C, user: UserId, new: NewScenario) -> Result<scenario::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = lifeos_core::validate::text("name", &new.name, NAME_MAX)?;
    let description =
        crate::input::optional_text("description", new.description.as_deref(), DESCRIPTION_MAX)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    let created = scenario::ActiveModel {
        user_id: Set(user),
        name: Set(name),
        description: Set(description),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// The user's scenario `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get_scenario<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<scenario::Model> {
    scenario_of(db, user, id, None).await
}

/// The user's scenarios, by name (then id).
///
/// # Errors
/// On a database failure.
pub async fn list_scenarios<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> Result<Vec<scenario::Model>> {
    Ok(scenario::Entity::find()
        .filter(scenario::Column::UserId.eq(user))
        .order_by_asc(scenario::Column::Name)
        .order_by_asc(scenario::Column::Id)
        .all(db)
        .await?)
}

/// Deletes the user's scenario `id` with its rows.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn delete_scenario<C>(db: &C, user: UserId, id: i32) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let deleted = scenario::Entity::delete_many()
        .filter(scenario::Column::Id.eq(id))
        .filter(scenario::Column::UserId.eq(user))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(not_found(SCENARIO, id));
    }
    txn.commit().await?;
    Ok(())
}

// --- scenario rows ---

/// Adds to the user's scenario `scenario_id` a delta on the user's schedule row
/// `new.base_row_id`.
///
/// # Errors
/// `Core(Invalid)` for a zero delta, one with more than two decimals or above
/// [`AMOUNT_MAX`], an over-long memo; `Core(NotFound)` for a scenario or a schedule row that
/// is not the user's.
pub async fn add_delta<C>(
    db: &C,
    user: UserId,
    scenario_id: i32,
    new: NewDelta,
) -> Result<scenario_row::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let delta = crate::money::amount("delta_amount", new.delta_amount)?;
    let memo = crate::input::optional_text("memo", new.memo.as_deref(), MEMO_MAX)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    scenario_of(&txn, user, scenario_id, Some(LockType::Share)).await?;
    // Share-locked on PostgreSQL: a concurrent deletion of the row waits.
    let base = schedule::row_of(&txn, user, new.base_row_id, Some(LockType::Share)).await?;
    let row = scenario_row::ActiveModel {
        scenario_id: Set(scenario_id),
        base_row_id: Set(Some(base.id)),
        delta_amount: Set(delta),
        event_date: Set(None),
        account_id: Set(None),
        memo: Set(memo),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(exact(row))
}

/// Adds to the user's scenario `scenario_id` an extra amount on the user's account
/// `new.account_id` on `new.event_date`.
///
/// # Errors
/// `Core(Invalid)` for a zero amount, one with more than two decimals or above
/// [`AMOUNT_MAX`], an over-long memo, a date outside the years 1..=9999; `Core(NotFound)` for
/// a scenario or an account that is not the user's.
pub async fn add_extra<C>(
    db: &C,
    user: UserId,
    scenario_id: i32,
    new: NewExtra,
) -> Result<scenario_row::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let amount = crate::money::amount("amount", new.amount)?;
    crate::input::day("event_date", new.event_date)?;
    let memo = crate::input::optional_text("memo", new.memo.as_deref(), MEMO_MAX)?;
    let txn = lifeos_core::db::begin_write(db).await?;
    scenario_of(&txn, user, scenario_id, Some(LockType::Share)).await?;
    let account = schedule::account_of(&txn, user, new.account_id, false).await?;
    let row = scenario_row::ActiveModel {
        scenario_id: Set(scenario_id),
        base_row_id: Set(None),
        delta_amount: Set(amount),
        event_date: Set(Some(new.event_date)),
        account_id: Set(Some(account.id)),
        memo: Set(memo),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(exact(row))
}

/// The rows of the user's scenario `scenario_id`, in the order they were added.
///
/// # Errors
/// `Core(NotFound)` for a scenario that is not the user's.
pub async fn scenario_rows<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    scenario_id: i32,
) -> Result<Vec<scenario_row::Model>> {
    scenario_of(db, user, scenario_id, None).await?;
    rows_of(db, scenario_id).await
}

/// Removes the row `row_id` from the user's scenario `scenario_id`.
///
/// # Errors
/// `Core(NotFound)` for a scenario that is not the user's or a row that is not in it.
pub async fn remove_row<C>(db: &C, user: UserId, scenario_id: i32, row_id: i32) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    scenario_of(&txn, user, scenario_id, Some(LockType::Share)).await?;
    let deleted = scenario_row::Entity::delete_many()
        .filter(scenario_row::Column::Id.eq(row_id))
        .filter(scenario_row::Column::ScenarioId.eq(scenario_id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(not_found(SCENARIO_ROW, row_id));
    }
    txn.commit().await?;
    Ok(())
}

// --- projections ---

/// The projection of the user's scenario `scenario_id` over `horizon_days` (1..=366) days:
/// the base projection with the scenario's rows overlaid (see the module docs). Nothing is
/// written.
///
/// # Errors
/// `Core(NotFound)` for a scenario that is not the user's; as
/// [`super::schedule::project`].
pub async fn project_scenario<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    scenario_id: i32,
    horizon_days: u32,
) -> Result<Projection> {
    scenario_of(db, user, scenario_id, None).await?;
    let basis = schedule::basis(db, user, horizon_days).await?;
    let changes = overlay(db, user, scenario_id, &basis).await?;
    basis.run(&changes)
}

/// The user's scenario `scenario_id` next to the base projection, day by day, per currency
/// (by currency, then date), over `horizon_days` (1..=366) days. Both projections are
/// computed from the same reads.
///
/// # Errors
/// As [`project_scenario`].
pub async fn compare<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    scenario_id: i32,
    horizon_days: u32,
) -> Result<Vec<Comparison>> {
    scenario_of(db, user, scenario_id, None).await?;
    let basis = schedule::basis(db, user, horizon_days).await?;
    let with = overlay(db, user, scenario_id, &basis).await?;
    // The base projects every currency the scenario does (from zero when it has none).
    let mut without = basis.changes()?;
    for currency in with.keys() {
        without.entry(currency.clone()).or_default();
    }
    let base = basis.run(&without)?;
    let scenario: BTreeMap<(String, NaiveDate), Decimal> = basis
        .run(&with)?
        .days
        .into_iter()
        .map(|day| ((day.currency, day.date), day.balance))
        .collect();
    let mut out = Vec::with_capacity(base.days.len());
    for day in base.days {
        let with = scenario
            .get(&(day.currency.clone(), day.date))
            .copied()
            .unwrap_or(day.balance);
        let difference = with
            .checked_sub(day.balance)
            .ok_or_else(|| invalid("balance", "the projection's sums are too large"))?;
        out.push(Comparison {
            date: day.date,
            currency: day.currency,
            base: day.balance,
            scenario: with,
            difference: crate::money::two(difference),
        });
    }
    Ok(out)
}

/// The base changes with the rows of `scenario_id` overlaid.
async fn overlay<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    scenario_id: i32,
    basis: &Basis,
) -> Result<Changes> {
    let rows = rows_of(db, scenario_id).await?;
    let mut changes = basis.changes()?;
    let mut by_row: BTreeMap<i32, Vec<&Occurrence>> = BTreeMap::new();
    for occurrence in &basis.occurrences {
        by_row
            .entry(occurrence.row_id)
            .or_default()
            .push(occurrence);
    }
    let accounts: BTreeSet<i32> = rows
        .iter()
        .filter(|row| row.base_row_id.is_none())
        .filter_map(|row| row.account_id)
        .collect();
    let currencies: BTreeMap<i32, String> =
        schedule::accounts_of(db, user, accounts.into_iter().collect())
            .await?
            .into_iter()
            .map(|(id, account)| (id, account.currency))
            .collect();
    for row in &rows {
        match (row.base_row_id, row.event_date, row.account_id) {
            (Some(base), _, _) => {
                for occurrence in by_row.get(&base).into_iter().flatten() {
                    schedule::add_change(
                        &mut changes,
                        &occurrence.currency,
                        occurrence.date,
                        row.delta_amount,
                    )?;
                }
            }
            (None, Some(date), Some(account)) if basis.covers(date) => {
                if let Some(currency) = currencies.get(&account) {
                    schedule::add_change(&mut changes, currency, date, row.delta_amount)?;
                }
            }
            // Outside the window, or a delta whose base row is gone: nothing.
            _ => {}
        }
    }
    Ok(changes)
}

// --- helpers ---

/// The user's scenario `id`, locked (PostgreSQL) as `lock` says.
async fn scenario_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
    lock: Option<LockType>,
) -> Result<scenario::Model> {
    let mut query = scenario::Entity::find_by_id(id).filter(scenario::Column::UserId.eq(user));
    // (SQLite's write transaction already serialises writers.)
    if let Some(lock) = lock.filter(|_| db.get_database_backend() == DbBackend::Postgres) {
        query = query.lock(lock);
    }
    query.one(db).await?.ok_or_else(|| not_found(SCENARIO, id))
}

/// The rows of scenario `scenario_id` (already checked to be the user's), by id.
async fn rows_of<C: ConnectionTrait>(db: &C, scenario_id: i32) -> Result<Vec<scenario_row::Model>> {
    Ok(scenario_row::Entity::find()
        .filter(scenario_row::Column::ScenarioId.eq(scenario_id))
        .order_by_asc(scenario_row::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(exact)
        .collect())
}

/// The row with its amount at the column's two decimals.
fn exact(mut row: scenario_row::Model) -> scenario_row::Model {
    row.delta_amount = crate::money::two(row.delta_amount);
    row
}
