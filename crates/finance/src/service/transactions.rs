//! Transactions: the user's log of recorded and imported money movements
//! (`finance_transaction`), each optionally booked to the journal.
//!
//! A transaction has a **signed**, non-zero amount (negative: money out, positive: money in)
//! of at most two decimals (more are refused, never rounded) and at most
//! [`AMOUNT_MAX`](super::journal::AMOUNT_MAX) in absolute value; the instant it occurred
//! (years 1..=9999); and optional free texts — a description (up to [`DESCRIPTION_MAX`], so
//! that it can become the booking entry's description), a counterparty (up to
//! [`COUNTERPARTY_MAX`]) and a category (up to [`CATEGORY_MAX`]). Texts are trimmed, blank
//! ones stored as `NULL`, and never contain NUL. [`record`] writes any source but `import`:
//! imported rows come only from [`super::imports`].
//!
//! [`book`] posts the two-line journal entry "debit one account, credit another, |amount|"
//! (posted at the transaction's instant, described by its description) through
//! [`super::journal::post`] and links it (`journal_entry_id`), in one transaction. The sign
//! of the amount does not choose the sides: the caller names the debit and the credit
//! account (money out of a bank account, −12.30, is typically "debit Groceries, credit
//! Bank"). A transaction is booked at most once ([`Error::AlreadyBooked`], also for racing
//! calls: PostgreSQL locks its row `FOR UPDATE`, SQLite's write transaction serialises
//! writers); a booked transaction cannot be deleted — reverse its entry in the journal
//! instead.
//!
//! [`list`] pages the user's transactions **newest first** by the stable key
//! `(occurred_at, id)`, optionally within local days (the user's time zone and day start,
//! [`LocalDays`]), served by `ix_finance_transaction_user_occurred_at`.
//!
//! Every function acts for one user: another user's transaction behaves as a missing one
//! (`Core(NotFound)`). Writes validate first and run in one transaction; on any error nothing
//! is written. [`record`] announces `finance.transaction.created` (`transaction_id`, `amount`
//! as a two-decimal string, `occurred_at` in RFC 3339, `source`, `import_batch_id`: `null`)
//! in the same transaction; [`book`]'s entry announces `finance.journal.posted`.
//!
//! The original also named `finance.transaction.inferred` (for its calendar-inference path,
//! whose module is missing from its repository) and `finance.ml.suggest_accounts` /
//! `finance.ml.feedback` (ML account ranking): no mutation of this layer does either, so none
//! is sent.

use chrono::{Datelike, NaiveDate, SecondsFormat};
use lifeos_core::days::LocalDays;
use lifeos_core::platform::outbox;
use lifeos_entity::{Timestamp, UserId};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

use super::journal::{self, NewEntry, NewLine, Posted};
use crate::entity::finance_transaction::{self, TransactionSource};
use crate::error::{Error, Result, invalid, not_found};
use crate::input::optional_text;
use crate::money::{amount, two};

/// The longest description, in characters (a journal entry's, so that booking keeps it).
pub const DESCRIPTION_MAX: usize = journal::TEXT_MAX;

/// The longest counterparty, in characters.
pub const COUNTERPARTY_MAX: usize = 255;

/// The longest category, in characters.
pub const CATEGORY_MAX: usize = 128;

/// The most transactions of one page of [`list`].
pub const LIMIT_MAX: u64 = 500;

/// The event announcing new transactions.
pub(crate) const CREATED_EVENT: &str = "finance.transaction.created";

const TRANSACTION: &str = "transaction";

/// A new transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTransaction {
    /// Signed, never zero (negative: money out); two decimals at most, at most
    /// [`AMOUNT_MAX`](super::journal::AMOUNT_MAX) in absolute value.
    pub amount: Decimal,
    /// When it occurred (years 1..=9999); `None`: now.
    pub occurred_at: Option<Timestamp>,
    /// An optional description (up to [`DESCRIPTION_MAX`] characters).
    pub description: Option<String>,
    /// An optional counterparty (up to [`COUNTERPARTY_MAX`] characters).
    pub counterparty: Option<String>,
    /// An optional free-text category (up to [`CATEGORY_MAX`] characters).
    pub category: Option<String>,
    /// Where it came from: any source but [`TransactionSource::Import`] (default
    /// [`TransactionSource::Manual`]).
    pub source: TransactionSource,
}

impl Default for NewTransaction {
    fn default() -> Self {
        Self {
            amount: Decimal::ZERO,
            occurred_at: None,
            description: None,
            counterparty: None,
            category: None,
            source: TransactionSource::Manual,
        }
    }
}

/// Where a page of [`list`] ends: the next page starts after this transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionCursor {
    /// The last transaction's instant.
    pub occurred_at: Timestamp,
    /// The last transaction's id.
    pub id: i32,
}

impl From<&finance_transaction::Model> for TransactionCursor {
    fn from(transaction: &finance_transaction::Model) -> Self {
        Self {
            occurred_at: transaction.occurred_at,
            id: transaction.id,
        }
    }
}

/// Records `new` for `user`, with a `finance.transaction.created` event.
///
/// # Errors
/// `Core(Invalid)` for a zero amount, one with more than two decimals or beyond
/// [`AMOUNT_MAX`](super::journal::AMOUNT_MAX), an over-long text or one with a NUL character, an instant outside the
/// years 1..=9999, the source `import`.
pub async fn record<C>(
    db: &C,
    user: UserId,
    new: NewTransaction,
) -> Result<finance_transaction::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    if new.source == TransactionSource::Import {
        return Err(invalid(
            "source",
            "imported transactions come only from an import",
        ));
    }
    let amount = amount("amount", new.amount)?;
    let description = optional_text("description", new.description.as_deref(), DESCRIPTION_MAX)?;
    let counterparty = optional_text(
        "counterparty",
        new.counterparty.as_deref(),
        COUNTERPARTY_MAX,
    )?;
    let category = optional_text("category", new.category.as_deref(), CATEGORY_MAX)?;
    let occurred_at = match new.occurred_at {
        Some(at) => instant("occurred_at", at)?,
        None => Timestamp::now(),
    };

    let txn = lifeos_core::db::begin_write(db).await?;
    let model = finance_transaction::ActiveModel {
        user_id: Set(user),
        amount: Set(amount),
        description: Set(description),
        occurred_at: Set(occurred_at),
        journal_entry_id: Set(None),
        counterparty: Set(counterparty),
        category: Set(category),
        source: Set(new.source),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let model = exact(model);
    outbox::enqueue(
        &txn,
        Some(user),
        CREATED_EVENT,
        json!({
            "transaction_id": model.id,
            "amount": model.amount.to_string(),
            "occurred_at": model.occurred_at.0.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "source": model.source.to_value(),
            "import_batch_id": null,
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// The user's transaction `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<finance_transaction::Model> {
    transaction_of(db, user, id, false).await
}

/// A page of the user's transactions, **newest first** (by `occurred_at`, then by id, both
/// descending): those that occurred on the local days `first..=last` (`None`: unbounded on
/// that side), the first `limit` (1..=[`LIMIT_MAX`]) after `after` (from the newest when
/// `None`; pass `TransactionCursor::from(last of the previous page)`). Paging by this key is
/// stable: a transaction recorded meanwhile never shifts a page or repeats one.
///
/// # Errors
/// `Core(Invalid)` for a limit outside 1..=500 (`limit`), `last` before `first` or a day
/// outside the years 1..=9999 (`period`).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    after: Option<TransactionCursor>,
    limit: u64,
) -> Result<Vec<finance_transaction::Model>> {
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(invalid("limit", format!("must be 1..={LIMIT_MAX}")));
    }
    if let (Some(first), Some(last)) = (first, last)
        && last < first
    {
        return Err(invalid("period", format!("{last} is before {first}")));
    }
    for day in first.iter().chain(last.iter()) {
        crate::input::day("period", *day)?;
    }
    let (mut start, mut end) = (None, None);
    if first.is_some() || last.is_some() {
        let days = LocalDays::for_user(db, user).await?;
        start = first.map(|day| Timestamp(days.range(day).0));
        end = last.map(|day| Timestamp(days.range(day).1));
    }
    Ok(list_select(user, start, end, after, limit)
        .all(db)
        .await?
        .into_iter()
        .map(exact)
        .collect())
}

/// The query [`list`] runs for the instants `[start, end)` (`None`: unbounded). Public so
/// that a query-plan test can explain it.
pub fn list_select(
    user: UserId,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    after: Option<TransactionCursor>,
    limit: u64,
) -> Select<finance_transaction::Entity> {
    use finance_transaction::Column;
    let mut query = finance_transaction::Entity::find().filter(Column::UserId.eq(user));
    if let Some(start) = start {
        query = query.filter(Column::OccurredAt.gte(start));
    }
    if let Some(end) = end {
        query = query.filter(Column::OccurredAt.lt(end));
    }
    if let Some(cursor) = after {
        // The bare bound first, so that it joins the index's range; then the exact position.
        query = query
            .filter(Column::OccurredAt.lte(cursor.occurred_at))
            .filter(
                Condition::any()
                    .add(Column::OccurredAt.lt(cursor.occurred_at))
                    .add(
                        Condition::all()
                            .add(Column::OccurredAt.eq(cursor.occurred_at))
                            .add(Column::Id.lt(cursor.id)),
                    ),
            );
    }
    query
        .order_by_desc(Column::OccurredAt)
        .order_by_desc(Column::Id)
        .limit(limit)
}

/// Books the user's transaction `id`: posts "debit `debit_account`, credit `credit_account`,
/// |amount|" at the transaction's instant, described by its description, and links the entry
/// to it — in one transaction. The sides are the caller's whatever the amount's sign.
///
/// # Errors
/// `Core(NotFound)` for a transaction or an account that is not the user's;
/// [`Error::AlreadyBooked`] when it is booked (also when a racing call booked it first);
/// as [`journal::post`] otherwise ([`Error::InactiveAccount`], [`Error::Unbalanced`] for
/// accounts of different currencies).
pub async fn book<C>(
    db: &C,
    user: UserId,
    id: i32,
    debit_account: i32,
    credit_account: i32,
) -> Result<(finance_transaction::Model, Posted)>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let mut transaction = transaction_of(&txn, user, id, true).await?;
    if transaction.journal_entry_id.is_some() {
        return Err(Error::AlreadyBooked { transaction: id });
    }
    let amount = transaction.amount.abs();
    let posted = journal::post(
        &txn,
        user,
        NewEntry {
            description: transaction.description.clone(),
            posted_at: Some(transaction.occurred_at),
            lines: vec![
                NewLine::debit(debit_account, amount),
                NewLine::credit(credit_account, amount),
            ],
        },
    )
    .await?;
    let linked = finance_transaction::Entity::update_many()
        .col_expr(
            finance_transaction::Column::JournalEntryId,
            Expr::value(Some(posted.entry.id)),
        )
        .filter(finance_transaction::Column::Id.eq(id))
        .filter(finance_transaction::Column::UserId.eq(user))
        .filter(finance_transaction::Column::JournalEntryId.is_null())
        .exec(&txn)
        .await?;
    if linked.rows_affected != 1 {
        return Err(Error::AlreadyBooked { transaction: id });
    }
    txn.commit().await?;
    transaction.journal_entry_id = Some(posted.entry.id);
    Ok((transaction, posted))
}

/// Deletes the user's transaction `id`, which must not be booked, announcing
/// `finance.transaction.deleted`. (An imported transaction deleted this way is imported
/// again by a later import of its file.)
///
/// # Errors
/// `Core(NotFound)`; [`Error::AlreadyBooked`] for a booked transaction.
pub async fn delete<C>(db: &C, user: UserId, id: i32) -> Result<()>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let transaction = transaction_of(&txn, user, id, true).await?;
    if transaction.journal_entry_id.is_some() {
        return Err(Error::AlreadyBooked { transaction: id });
    }
    finance_transaction::Entity::delete_many()
        .filter(finance_transaction::Column::Id.eq(id))
        .filter(finance_transaction::Column::UserId.eq(user))
        .exec(&txn)
        .await?;
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.transaction.deleted",
        json!({ "transaction_id": id, "import_batch_id": transaction.import_batch_id }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

// --- helpers (shared with the imports) ---

/// The user's transaction `id`; on PostgreSQL locked `FOR UPDATE` when `lock` (SQLite's write
/// transaction already serialises writers).
async fn transaction_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
    lock: bool,
) -> Result<finance_transaction::Model> {
    let mut query = finance_transaction::Entity::find_by_id(id)
        .filter(finance_transaction::Column::UserId.eq(user));
    if lock && db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await?
        .map(exact)
        .ok_or_else(|| not_found(TRANSACTION, id))
}

/// An instant of the years 1..=9999 (so that instants also compare correctly as SQLite's
/// text).
fn instant(field: &'static str, at: Timestamp) -> Result<Timestamp> {
    if (1..=9999).contains(&at.0.year()) {
        Ok(at)
    } else {
        Err(invalid(field, "is outside the years 1 to 9999"))
    }
}

/// The transaction with its amounts at the columns' two decimals, as PostgreSQL returns them.
pub(crate) fn exact(mut transaction: finance_transaction::Model) -> finance_transaction::Model {
    transaction.amount = two(transaction.amount);
    transaction.confidence_score = transaction.confidence_score.map(two);
    transaction
}
