//! An account's ledger: its lines in posting order with the running balance, paged by a
//! stable keyset cursor; and the journal's entries by local day.
//!
//! Lines are ordered by `(posted_at, entry id, line id)` — a total order that never changes,
//! since posted entries are immutable. A page starts after a [`LedgerCursor`] (the last row
//! of the previous page), so rows posted meanwhile neither repeat nor skip rows; the running
//! balance of a page's first row is recomputed from every earlier line (an entry back-dated
//! before the cursor shows in the balances of later pages, as it should). Balances are
//! signed by the account's normal side and summed over integer cents, as in
//! [`super::balances`].

use chrono::NaiveDate;
use lifeos_core::days::LocalDays;
use lifeos_core::db::placeholder;
use lifeos_entity::{Timestamp, UserId};
use rust_decimal::Decimal;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Statement, Value,
};

use crate::entity::{finance_account, finance_journal_entry};
use crate::error::{Result, invalid, not_found};

/// The most rows of one page.
pub const LIMIT_MAX: u64 = 500;

/// Where a ledger page ends: its last row's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerCursor {
    /// The entry's posting time.
    pub posted_at: Timestamp,
    /// The entry.
    pub entry_id: i32,
    /// The line.
    pub line_id: i32,
}

/// One line of an account's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    /// The line.
    pub line_id: i32,
    /// Its entry.
    pub entry_id: i32,
    /// When the entry was posted.
    pub posted_at: Timestamp,
    /// The entry's description.
    pub description: Option<String>,
    /// The line's memo.
    pub memo: Option<String>,
    /// The debit (0.00 for a credit line).
    pub debit: Decimal,
    /// The credit (0.00 for a debit line).
    pub credit: Decimal,
    /// The account's balance after this line, signed by its normal side.
    pub balance: Decimal,
}

/// A page of an account's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerPage {
    /// The account.
    pub account: finance_account::Model,
    /// The balance before the page's first row.
    pub opening: Decimal,
    /// The rows, in posting order.
    pub rows: Vec<LedgerRow>,
    /// The cursor of the next page; `None` when this is the last.
    pub next: Option<LedgerCursor>,
}

/// `(e.posted_at, e.id, l.id) > cursor` (or `<=` with `before`), spelled out: row values
/// compare differently across backends' timestamp types.
fn position(
    backend: DbBackend,
    values: &mut Vec<Value>,
    cursor: &LedgerCursor,
    before: bool,
) -> String {
    let mut next = |value: Value| {
        values.push(value);
        placeholder(backend, values.len())
    };
    let (strictly, last) = if before { ("<", "<=") } else { (">", ">") };
    let at = next(cursor.posted_at.into());
    let at_again = next(cursor.posted_at.into());
    let entry = next(cursor.entry_id.into());
    let entry_again = next(cursor.entry_id.into());
    let line = next(cursor.line_id.into());
    format!(
        "(e.posted_at {strictly} {at} OR (e.posted_at = {at_again} AND (e.id {strictly} {entry} \
         OR (e.id = {entry_again} AND l.id {last} {line}))))"
    )
}

/// The statement reading one ledger page of `account`: up to `limit` lines after `after`,
/// served by `ix_finance_journal_line_account_id`. Public so that a query-plan test can
/// explain it.
pub fn page_statement(
    backend: DbBackend,
    user: UserId,
    account: i32,
    after: Option<&LedgerCursor>,
    limit: u64,
) -> Statement {
    let mut values: Vec<Value> = vec![account.into(), user.0.into()];
    let mut sql = format!(
        "SELECT l.id, e.id, e.posted_at, e.description, l.memo, \
         CAST(round(l.debit * 100) AS BIGINT), CAST(round(l.credit * 100) AS BIGINT) \
         FROM finance_journal_line l JOIN finance_journal_entry e ON e.id = l.entry_id \
         WHERE l.account_id = {} AND e.user_id = {}",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    if let Some(cursor) = after {
        sql.push_str(" AND ");
        sql.push_str(&position(backend, &mut values, cursor, false));
    }
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    sql.push_str(&format!(
        " ORDER BY e.posted_at, e.id, l.id LIMIT {}",
        placeholder(backend, values.len())
    ));
    Statement::from_sql_and_values(backend, sql, values)
}

/// A page of the user's account `account_id`'s ledger: up to `limit` (1..=[`LIMIT_MAX`])
/// lines after `after` (`None`: from the first), with the running balance.
///
/// # Errors
/// `Core(NotFound)` for an account that is not the user's; `Core(Invalid)` for a bad limit.
pub async fn ledger<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    account_id: i32,
    after: Option<LedgerCursor>,
    limit: u64,
) -> Result<LedgerPage> {
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(invalid("limit", format!("must be 1..={LIMIT_MAX}")));
    }
    let account = finance_account::Entity::find_by_id(account_id)
        .filter(finance_account::Column::UserId.eq(user))
        .one(db)
        .await?
        .ok_or_else(|| not_found("account", account_id))?;
    let backend = db.get_database_backend();
    let signed = |debit: i64, credit: i64| {
        if account.account_type.debit_normal() {
            debit - credit
        } else {
            credit - debit
        }
    };

    let mut opening = 0_i64;
    if let Some(cursor) = &after {
        let mut values: Vec<Value> = vec![account_id.into(), user.0.into()];
        let before = position(backend, &mut values, cursor, true);
        let sql = format!(
            "SELECT CAST(SUM(CAST(round(l.debit * 100) AS BIGINT)) AS BIGINT), \
             CAST(SUM(CAST(round(l.credit * 100) AS BIGINT)) AS BIGINT) \
             FROM finance_journal_line l JOIN finance_journal_entry e ON e.id = l.entry_id \
             WHERE l.account_id = {} AND e.user_id = {} AND {before}",
            placeholder(backend, 1),
            placeholder(backend, 2)
        );
        if let Some(row) = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
        {
            let debit = row.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0);
            let credit = row.try_get_by_index::<Option<i64>>(1)?.unwrap_or(0);
            opening = signed(debit, credit);
        }
    }

    let rows = db
        .query_all_raw(page_statement(
            backend,
            user,
            account_id,
            after.as_ref(),
            limit + 1,
        ))
        .await?;
    let more = rows.len() as u64 > limit;
    let mut running = opening;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let debit = row.try_get_by_index::<i64>(5)?;
        let credit = row.try_get_by_index::<i64>(6)?;
        running = running
            .checked_add(signed(debit, credit))
            .ok_or_else(|| invalid("account", "its running balance exceeds 64-bit cents"))?;
        out.push(LedgerRow {
            line_id: row.try_get_by_index(0)?,
            entry_id: row.try_get_by_index(1)?,
            posted_at: row.try_get_by_index(2)?,
            description: row.try_get_by_index(3)?,
            memo: row.try_get_by_index(4)?,
            debit: Decimal::new(debit, 2),
            credit: Decimal::new(credit, 2),
            balance: Decimal::new(running, 2),
        });
    }
    let next = if more {
        out.last().map(|row| LedgerCursor {
            posted_at: row.posted_at,
            entry_id: row.entry_id,
            line_id: row.line_id,
        })
    } else {
        None
    };
    Ok(LedgerPage {
        account,
        opening: Decimal::new(opening, 2),
        rows: out,
        next,
    })
}

/// The user's journal entries posted on the local days `first..=last`, in posting order
/// (then by id), at most `limit` (1..=[`LIMIT_MAX`]) after the entry `after` (its posting
/// time and id, from the previous page's last entry). Served by
/// `ix_finance_journal_entry_user_posted_at`.
///
/// # Errors
/// `Core(Invalid)` for a bad limit or `last` before `first`.
pub async fn entries<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    first: NaiveDate,
    last: NaiveDate,
    after: Option<(Timestamp, i32)>,
    limit: u64,
) -> Result<Vec<finance_journal_entry::Model>> {
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(invalid("limit", format!("must be 1..={LIMIT_MAX}")));
    }
    if last < first {
        return Err(invalid("period", format!("{last} is before {first}")));
    }
    crate::input::day("period", first)?;
    crate::input::day("period", last)?;
    let (start, end) = LocalDays::for_user(db, user).await?.span(first, last);
    Ok(
        entries_select(user, Timestamp(start), Timestamp(end), after, limit)
            .all(db)
            .await?,
    )
}

/// The query [`entries`] runs for the posting times `[start, end)`. Public so that a
/// query-plan test can explain it.
pub fn entries_select(
    user: UserId,
    start: Timestamp,
    end: Timestamp,
    after: Option<(Timestamp, i32)>,
    limit: u64,
) -> Select<finance_journal_entry::Entity> {
    use finance_journal_entry::Column;
    let mut query = finance_journal_entry::Entity::find()
        .filter(Column::UserId.eq(user))
        .filter(Column::PostedAt.gte(start))
        .filter(Column::PostedAt.lt(end))
        .order_by_asc(Column::PostedAt)
        .order_by_asc(Column::Id)
        .limit(limit);
    if let Some((posted_at, id)) = after {
        query = query.filter(
            Column::PostedAt
                .gt(posted_at)
                .or(Column::PostedAt.eq(posted_at).and(Column::Id.gt(id))),
        );
    }
    query
}
