//! The double-entry journal, exact: post an entry, read it, reverse it, record a simple
//! two-account transaction.
//!
//! An entry has 2..=100 lines. Each line is one-sided — a positive debit or a positive credit,
//! never both, never negative — with at most two decimals (more are refused, not rounded) and
//! at most [`AMOUNT_MAX`]. Every account is the user's own and active. Debits equal credits
//! **exactly, per currency** of the lines' accounts (no tolerance, unlike the original's
//! ±0.005). The entry, its lines and a `finance.journal.posted` outbox event are written in
//! one transaction, or nothing is.
//!
//! Posted entries are immutable: there is no update. [`reverse`] posts the mirror entry,
//! linked to the original (`reverses_entry_id`); an entry is reversed at most once, which a
//! unique index enforces under concurrent calls. On PostgreSQL the database itself refuses,
//! at commit, any change to lines that leaves an entry unbalanced per currency or with fewer
//! than two lines (a deferred constraint trigger); on SQLite this service is the guard.
//!
//! Amounts are limited to [`AMOUNT_MAX`] so that every amount and every sum of an entry is
//! exact on both backends: SQLite stores NUMERIC as REAL and SeaORM reads a `Decimal`
//! through `f64`, exact at two decimals only below about 9·10¹³ (the balances' own limits are
//! the balances module's).

use std::collections::BTreeMap;

use lifeos_core::platform::outbox;
use lifeos_entity::{Timestamp, UserId};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

use crate::entity::{finance_account, finance_journal_entry, finance_journal_line};
use crate::error::{Error, Result, invalid, not_found};

/// The fewest lines of an entry.
pub const LINES_MIN: usize = 2;

/// The most lines of an entry.
pub const LINES_MAX: usize = 100;

/// The longest description or memo, in characters.
pub const TEXT_MAX: usize = 512;

/// The largest amount of one line: 99,999,999,999.99 (so an entry's sums stay below 10¹³,
/// exact on SQLite too).
pub const AMOUNT_MAX: Decimal = Decimal::from_parts(1_316_134_911, 2_328, 0, false, 2);

/// One line of a new entry: a debit or a credit of `amount` on an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLine {
    /// The user's account.
    pub account_id: i32,
    /// The debit (zero on a credit line).
    pub debit: Decimal,
    /// The credit (zero on a debit line).
    pub credit: Decimal,
    /// An optional memo (up to 512 characters).
    pub memo: Option<String>,
}

impl NewLine {
    /// A debit of `amount` on `account_id`.
    pub fn debit(account_id: i32, amount: Decimal) -> Self {
        Self {
            account_id,
            debit: amount,
            credit: Decimal::ZERO,
            memo: None,
        }
    }

    /// A credit of `amount` on `account_id`.
    pub fn credit(account_id: i32, amount: Decimal) -> Self {
        Self {
            account_id,
            debit: Decimal::ZERO,
            credit: amount,
            memo: None,
        }
    }

    /// This line with `memo`.
    pub fn memo(mut self, memo: &str) -> Self {
        self.memo = Some(memo.to_owned());
        self
    }
}

/// A new journal entry.
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    /// An optional description (up to 512 characters).
    pub description: Option<String>,
    /// When it is posted; `None`: now.
    pub posted_at: Option<Timestamp>,
    /// Its 2..=100 lines.
    pub lines: Vec<NewLine>,
}

/// A posted entry with its lines (in the order given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The entry.
    pub entry: finance_journal_entry::Model,
    /// Its lines.
    pub lines: Vec<finance_journal_line::Model>,
}

/// Posts `new` for `user`, with a `finance.journal.posted` event.
///
/// # Errors
/// `Core(Invalid)` for too few or many lines, a line that is not one positive side, an amount
/// with more than two decimals or above [`AMOUNT_MAX`], an over-long description or memo;
/// `Core(NotFound)` for an account that is not the user's; [`Error::InactiveAccount`];
/// [`Error::Unbalanced`].
pub async fn post<C>(db: &C, user: UserId, new: NewEntry) -> Result<Posted>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let posted = write(&txn, user, new, None, true).await?;
    txn.commit().await?;
    Ok(posted)
}

/// Posts the two-line entry "debit `debit_account`, credit `credit_account`, `amount`", as
/// the original's simple transaction did.
///
/// # Errors
/// As [`post`]; a non-positive amount is `Core(Invalid)`.
pub async fn record_transaction<C>(
    db: &C,
    user: UserId,
    amount: Decimal,
    debit_account: i32,
    credit_account: i32,
    description: Option<&str>,
    posted_at: Option<Timestamp>,
) -> Result<Posted>
where
    C: ConnectionTrait + TransactionTrait,
{
    post(
        db,
        user,
        NewEntry {
            description: description.map(str::to_owned),
            posted_at,
            lines: vec![
                NewLine::debit(debit_account, amount),
                NewLine::credit(credit_account, amount),
            ],
        },
    )
    .await
}

/// The user's entry `id` with its lines.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId, id: i32) -> Result<Posted> {
    let entry = finance_journal_entry::Entity::find_by_id(id)
        .filter(finance_journal_entry::Column::UserId.eq(user))
        .one(db)
        .await?
        .ok_or_else(|| not_found("journal entry", id))?;
    let lines = finance_journal_line::Entity::find()
        .filter(finance_journal_line::Column::EntryId.eq(id))
        .order_by_asc(finance_journal_line::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(exact)
        .collect();
    Ok(Posted { entry, lines })
}

/// Reverses the user's entry `id`: posts its mirror (every debit a credit and back) now,
/// linked to it, described as `description` or "Reversal of entry {id}". The accounts may
/// have been deactivated since: a correction is always possible.
///
/// # Errors
/// `Core(NotFound)`; [`Error::AlreadyReversed`] (also when another call reversed it first).
pub async fn reverse<C>(db: &C, user: UserId, id: i32, description: Option<&str>) -> Result<Posted>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    let mut query = finance_journal_entry::Entity::find_by_id(id)
        .filter(finance_journal_entry::Column::UserId.eq(user));
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(&txn)
        .await?
        .ok_or_else(|| not_found("journal entry", id))?;
    let reversed = finance_journal_entry::Entity::find()
        .filter(finance_journal_entry::Column::ReversesEntryId.eq(id))
        .one(&txn)
        .await?;
    if reversed.is_some() {
        return Err(Error::AlreadyReversed { entry: id });
    }
    let original = get(&txn, user, id).await?;
    let mirror = NewEntry {
        description: Some(
            description.map_or_else(|| format!("Reversal of entry {id}"), str::to_owned),
        ),
        posted_at: None,
        lines: original
            .lines
            .iter()
            .map(|line| NewLine {
                account_id: line.account_id,
                debit: line.credit,
                credit: line.debit,
                memo: line.memo.clone(),
            })
            .collect(),
    };
    let posted = match write(&txn, user, mirror, Some(id), false).await {
        Err(Error::Core(lifeos_core::Error::Conflict(_))) => {
            return Err(Error::AlreadyReversed { entry: id });
        }
        other => other?,
    };
    txn.commit().await?;
    Ok(posted)
}

/// Validates `new` and writes it (and its event) on `txn`.
async fn write<C: ConnectionTrait>(
    txn: &C,
    user: UserId,
    new: NewEntry,
    reverses: Option<i32>,
    active_only: bool,
) -> Result<Posted> {
    let description = match new.description.as_deref() {
        Some(text) => lifeos_core::validate::optional_text("description", text, TEXT_MAX)?,
        None => None,
    };
    if !(LINES_MIN..=LINES_MAX).contains(&new.lines.len()) {
        return Err(invalid(
            "lines",
            format!(
                "an entry has {LINES_MIN}..={LINES_MAX} lines, not {}",
                new.lines.len()
            ),
        ));
    }
    let mut memos = Vec::with_capacity(new.lines.len());
    for (index, line) in new.lines.iter().enumerate() {
        amount(index, line)?;
        memos.push(match line.memo.as_deref() {
            Some(text) => lifeos_core::validate::optional_text("memo", text, TEXT_MAX)?,
            None => None,
        });
    }

    // The accounts: the user's own (and active, for a new posting), with their currencies.
    let mut ids: Vec<i32> = new.lines.iter().map(|line| line.account_id).collect();
    ids.sort_unstable();
    ids.dedup();
    // PostgreSQL: share-lock them, so a concurrent deactivation or currency change waits for
    // this posting (SQLite's write transaction already serialises writers).
    let mut query = finance_account::Entity::find()
        .filter(finance_account::Column::UserId.eq(user))
        .filter(finance_account::Column::Id.is_in(ids.clone()))
        .order_by_asc(finance_account::Column::Id);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_shared();
    }
    let accounts: BTreeMap<i32, finance_account::Model> = query
        .all(txn)
        .await?
        .into_iter()
        .map(|account| (account.id, account))
        .collect();
    for id in &ids {
        let account = accounts.get(id).ok_or_else(|| not_found("account", id))?;
        if active_only && !account.is_active {
            return Err(Error::InactiveAccount { account: *id });
        }
    }

    // Balanced per currency, exactly.
    let mut sums: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for line in &new.lines {
        let currency = accounts
            .get(&line.account_id)
            .map_or("", |account| account.currency.as_str());
        let sum = sums.entry(currency).or_default();
        sum.0 += line.debit;
        sum.1 += line.credit;
    }
    if let Some((currency, (debits, credits))) =
        sums.iter().find(|(_, (debits, credits))| debits != credits)
    {
        return Err(Error::Unbalanced {
            currency: (*currency).to_owned(),
            debits: *debits,
            credits: *credits,
        });
    }

    let entry = finance_journal_entry::ActiveModel {
        user_id: Set(user),
        description: Set(description),
        posted_at: Set(new.posted_at.unwrap_or_else(Timestamp::now)),
        reverses_entry_id: Set(reverses),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let mut lines = Vec::with_capacity(new.lines.len());
    for (line, memo) in new.lines.iter().zip(memos) {
        let model = finance_journal_line::ActiveModel {
            entry_id: Set(entry.id),
            account_id: Set(line.account_id),
            // One side is zero; store it as 0 (never a negative zero).
            debit: Set(if line.debit.is_zero() {
                Decimal::ZERO
            } else {
                line.debit
            }),
            credit: Set(if line.credit.is_zero() {
                Decimal::ZERO
            } else {
                line.credit
            }),
            memo: Set(memo),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        lines.push(exact(model));
    }
    // The original's payload (`debit_total`, `credit_total`, `line_count`), per currency,
    // amounts with two decimals.
    let two = |amount: &Decimal| {
        let mut amount = *amount;
        amount.rescale(2);
        amount.to_string()
    };
    let debit_total: BTreeMap<&str, String> = sums
        .iter()
        .map(|(currency, (debits, _))| (*currency, two(debits)))
        .collect();
    let credit_total: BTreeMap<&str, String> = sums
        .iter()
        .map(|(currency, (_, credits))| (*currency, two(credits)))
        .collect();
    outbox::enqueue(
        txn,
        Some(user),
        "finance.journal.posted",
        json!({
            "entry_id": entry.id,
            "line_count": lines.len(),
            "debit_total": debit_total,
            "credit_total": credit_total,
            "reverses_entry_id": reverses,
        }),
    )
    .await?;
    Ok(Posted { entry, lines })
}

/// Checks line `index`: one positive side, two decimals at most, at most [`AMOUNT_MAX`].
fn amount(index: usize, line: &NewLine) -> Result<()> {
    let problem = |reason: String| Err(invalid("lines", format!("line {}: {reason}", index + 1)));
    let (debit, credit) = (line.debit, line.credit);
    if debit.is_sign_negative() && !debit.is_zero()
        || credit.is_sign_negative() && !credit.is_zero()
    {
        return problem("amounts are never negative".to_owned());
    }
    let value = match (debit.is_zero(), credit.is_zero()) {
        (false, true) => debit,
        (true, false) => credit,
        (true, true) => return problem("has neither a debit nor a credit".to_owned()),
        (false, false) => return problem("has both a debit and a credit".to_owned()),
    };
    if value.normalize().scale() > 2 {
        return problem(format!("{value} has more than two decimals"));
    }
    if value > AMOUNT_MAX {
        return problem(format!("{value} is above the largest amount, {AMOUNT_MAX}"));
    }
    Ok(())
}

/// The line with its amounts at the column's two decimals, as PostgreSQL returns them:
/// SQLite hands NUMERIC back as REAL, which SeaORM reads through `f64`.
fn exact(mut line: finance_journal_line::Model) -> finance_journal_line::Model {
    for amount in [&mut line.debit, &mut line.credit] {
        *amount = amount.round_dp(2);
        amount.rescale(2);
    }
    line
}
