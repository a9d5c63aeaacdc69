//! Imports: bank statements (CSV, one `finance_transaction` per row) and the original's
//! journal CSV (one two-line journal entry per row) — validated whole, previewable,
//! idempotent, and undone as a batch.
//!
//! **Bank files** are read with a [`BankMapping`]: which column holds the date, the amount
//! (one signed column, or a debit column — money out — and a credit column — money in),
//! the description, the counterparty and an external id; the date format (chrono strftime);
//! the decimal separator (`.` or `,`); whether the first record is a header; the delimiter.
//! Columns are named by header ([`ColumnRef::Name`], trimmed, exact or else ASCII
//! case-insensitive) or by 0-based position ([`ColumnRef::Index`]). A UTF-8 byte-order mark
//! is ignored, and so are records whose fields are all empty. The date is a **local day** of
//! the user ([`LocalDays`]); the transaction occurs at the **start** of that day. Amounts
//! are strict: an optional sign, digits, and the decimal separator followed by one or two
//! digits — no thousands separators, no spaces, never more than two decimals (refused, never
//! rounded), never zero, at most [`AMOUNT_MAX`]. Debit and credit amounts are unsigned; a
//! row has exactly one of them (an empty or zero field counts as absent); a debit becomes a
//! negative amount. The description (up to [`DESCRIPTION_MAX`] characters) and counterparty
//! (up to [`COUNTERPARTY_MAX`]) are trimmed, blank ones `NULL`, and never contain NUL.
//!
//! **Journal files** are the original's: a header with the columns `amount`,
//! `debit_account_id`, `credit_account_id`, `posted_at` and/or `date`, and optionally
//! `description` and `external_id` (names ASCII case-insensitive). `amount` is positive with
//! `.` as the decimal separator (the rules above); `posted_at` is RFC 3339 or
//! `YYYY-MM-DD HH:MM:SS[.f]` (UTC, `T` also accepted); otherwise `date` (`YYYY-MM-DD`) is a
//! local day and the entry is posted at its start. Both accounts must be the user's, active,
//! and of one currency.
//!
//! **Refused whole:** a malformed file writes nothing and returns [`Error::Import`] with
//! line-numbered errors (at most [`ERRORS_MAX`]; a record's line is where it starts, the
//! header being line 1); messages describe the problem and repeat none of the row's text
//! (dates, amounts, descriptions) — only the account ids of a journal row.
//! A bank file has at most [`BANK_ROWS_MAX`] rows, a journal file at most
//! [`JOURNAL_ROWS_MAX`]; a bad mapping, an empty or too long file, or one without a row
//! (a header alone, blank records) is `Core(Invalid)`. Lines are counted by line feeds: a file
//! whose lines end in a bare carriage return (classic Mac) reads as one line.
//!
//! **Idempotent:** every row has a duplicate key, unique per user (`dedupe_key`, with the
//! indexes `ux_finance_transaction_user_dedupe` and `ux_finance_journal_entry_user_dedupe`):
//! `ext:{external id}` when the file gives one (at most [`EXTERNAL_ID_MAX`] characters),
//! else `row:{sha256}:{n}` — the SHA-256 (hex) of the record's fields, each trimmed, joined by
//! U+001F, and `n` the number of identical records before it in the file. A bank mapping's
//! `source` (the account or card the statement is of) adds its tag to every key, so two
//! sources never share one; without it, all of a user's unnamed statements are one source.
//! (Two identical rows split across two overlapping exports — a statement cut between them
//! — are both occurrence 0 of their files: the second is taken for the first. Name the
//! external-id column where the bank gives one.) Re-importing a
//! file, or a statement that overlaps an imported one, therefore creates only the rows not
//! imported yet, while two genuinely identical rows of one file are both kept. (A row whose
//! external id appears earlier in the same file is skipped as a duplicate. The key depends on
//! the mapping's external-id column and on the file's columns: the same statement exported
//! with other columns is another file.) Two racing imports of one file create its rows once:
//! bank rows are inserted `ON CONFLICT (user_id, dedupe_key) DO NOTHING`; a journal row whose
//! key another import took meanwhile is rolled back to its savepoint and skipped.
//!
//! **Preview** ([`preview_bank`], [`preview_journal`]) validates exactly as the import does
//! and returns the rows it would create and those it would skip, writing nothing.
//!
//! **Batches:** an import that creates rows records a `finance_import_batch` (its kind, file
//! name, the rows it created); one that creates nothing records none and returns
//! `batch: None`. [`undo`] undoes a batch as a unit, once: a bank batch deletes its
//! transactions — only while none of them is booked ([`Error::BatchBooked`]); a journal
//! batch posts a reversal of each of its entries (posted entries are never deleted; entries
//! reversed individually before are left as they are) and clears the entries' duplicate keys,
//! so that the file, or a corrected one, can be imported again.
//!
//! **Events**, in the same transaction: a bank import announces **one**
//! `finance.transaction.created` per batch — `import_batch_id`, `count` (rows created),
//! `source: "import"` — rather than one per row (a recorded transaction's event has
//! `transaction_id` and `import_batch_id: null` instead); each journal row's entry announces
//! `finance.journal.posted`, as does each reversal of an undo; an undo announces
//! `finance.import.undone` (`import_batch_id`, `deleted`, `reversals`).
//!
//! Rows are written in duplicate-key order (not file order), so two imports of overlapping
//! statements wait for each other's keys in one order and never deadlock. [`list_batches`]
//! pages the user's batches, newest first.

use std::collections::{HashMap, HashSet};

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use lifeos_core::days::LocalDays;
use lifeos_core::platform::outbox;
use lifeos_entity::{Timestamp, UserId};
use rust_decimal::Decimal;
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::journal::{self, AMOUNT_MAX, NewEntry, NewLine};
use super::transactions::{self, COUNTERPARTY_MAX, DESCRIPTION_MAX};
use crate::entity::finance_import_batch::ImportKind;
use crate::entity::finance_transaction::TransactionSource;
use crate::entity::{
    finance_account, finance_import_batch, finance_journal_entry, finance_transaction,
};
pub use crate::error::RowError;
use crate::error::{Error, Result, invalid, not_found};

/// The most rows of a bank file.
pub const BANK_ROWS_MAX: usize = 10_000;

/// The most rows of a journal file (as the original).
pub const JOURNAL_ROWS_MAX: usize = 1_000;

/// The most row errors reported for one file.
pub const ERRORS_MAX: usize = 100;

/// The longest file name, in characters.
pub const FILE_NAME_MAX: usize = 255;

/// The most batches one [`list_batches`] page returns.
pub const BATCHES_MAX: u64 = 100;

/// The longest source label of a bank mapping, in characters.
pub const SOURCE_MAX: usize = 64;

/// The longest external id, in characters (its key — `ext:`, a source's 16-digit tag and
/// `:`, and the id — fits 128).
pub const EXTERNAL_ID_MAX: usize = 107;

/// Keys looked up per statement.
const KEY_CHUNK: usize = 500;

/// Transactions inserted per statement (10 values each).
const INSERT_CHUNK: usize = 500;

const BATCH: &str = "import batch";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A column of a file: by header name, or by 0-based position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnRef {
    /// The column whose header is this name (needs `has_headers`).
    Name(String),
    /// The column at this 0-based position.
    Index(usize),
}

/// Where a bank file's amounts are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountColumns {
    /// One signed column: negative for money out.
    Single(ColumnRef),
    /// Two unsigned columns, exactly one filled per row.
    DebitCredit {
        /// Money out (imported as a negative amount).
        debit: ColumnRef,
        /// Money in.
        credit: ColumnRef,
    },
}

/// How to read a bank file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankMapping {
    /// The date (a local day).
    pub date: ColumnRef,
    /// The amount(s).
    pub amount: AmountColumns,
    /// The description, if the file has one.
    pub description: Option<ColumnRef>,
    /// The counterparty, if the file has one.
    pub counterparty: Option<ColumnRef>,
    /// The bank's own id of a transaction, if the file has one (the duplicate key when set).
    pub external_id: Option<ColumnRef>,
    /// Where the statement comes from — the bank account or card (an IBAN, a name; up to
    /// [`SOURCE_MAX`] characters). It is part of every duplicate key, so two sources' rows
    /// never collide: two banks' equal transaction ids, or the same purchase on two cards.
    /// `None`: the user's one unnamed source.
    pub source: Option<String>,
    /// The date's chrono strftime format, e.g. `%Y-%m-%d` or `%d/%m/%Y`.
    pub date_format: String,
    /// The decimal separator: `.` or `,`.
    pub decimal_separator: char,
    /// Whether the first record is a header.
    pub has_headers: bool,
    /// The field delimiter (an ASCII byte other than `"`, CR and LF).
    pub delimiter: u8,
}

impl Default for BankMapping {
    /// Date in column 0, a signed amount in column 1, ISO dates, `.` decimals, a header,
    /// commas.
    fn default() -> Self {
        Self {
            date: ColumnRef::Index(0),
            amount: AmountColumns::Single(ColumnRef::Index(1)),
            description: None,
            counterparty: None,
            external_id: None,
            source: None,
            date_format: "%Y-%m-%d".to_owned(),
            decimal_separator: '.',
            has_headers: true,
            delimiter: b',',
        }
    }
}

/// How to read a journal file (its columns are the original's, by header name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalMapping {
    /// The field delimiter (an ASCII byte other than `"`, CR and LF).
    pub delimiter: u8,
}

impl Default for JournalMapping {
    /// Commas.
    fn default() -> Self {
        Self { delimiter: b',' }
    }
}

/// One valid row of a bank file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankRow {
    /// Its line in the file.
    pub line: u64,
    /// Its local day.
    pub day: NaiveDate,
    /// The start of that day: when the transaction occurred.
    pub occurred_at: Timestamp,
    /// Signed, at scale 2 (negative: money out).
    pub amount: Decimal,
    /// Its description.
    pub description: Option<String>,
    /// Its counterparty.
    pub counterparty: Option<String>,
    /// Its duplicate key.
    pub dedupe_key: String,
}

/// One valid row of a journal file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRow {
    /// Its line in the file.
    pub line: u64,
    /// The entry's description.
    pub description: Option<String>,
    /// Positive, at scale 2.
    pub amount: Decimal,
    /// The account debited.
    pub debit_account_id: i32,
    /// The account credited.
    pub credit_account_id: i32,
    /// When the entry is posted.
    pub posted_at: Timestamp,
    /// Its duplicate key.
    pub dedupe_key: String,
}

/// What an import would do, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPreview<R> {
    /// The rows it would create.
    pub create: Vec<R>,
    /// The rows it would skip: imported before, or repeating an external id of the file.
    pub skip: Vec<R>,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportResult {
    /// The batch it recorded; `None` when it created nothing.
    pub batch: Option<finance_import_batch::Model>,
    /// Rows created.
    pub created: u64,
    /// Rows skipped as already imported.
    pub skipped: u64,
}

/// What an undo did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UndoResult {
    /// The batch, now undone.
    pub batch: finance_import_batch::Model,
    /// Bank: the transactions deleted (0 for a journal batch).
    pub deleted: u64,
    /// Journal: the reversal entries posted, in the order of the entries they reverse.
    pub reversals: Vec<i32>,
}

// --- bank files ---

/// What [`import_bank`] would do with `csv_bytes` read by `mapping`; writes nothing.
///
/// # Errors
/// As [`import_bank`].
pub async fn preview_bank<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    csv_bytes: &[u8],
    mapping: &BankMapping,
) -> Result<ImportPreview<BankRow>> {
    let days = LocalDays::for_user(db, user).await?;
    let rows = parse_bank(csv_bytes, mapping, &days)?;
    let existing = existing_transaction_keys(db, user, &rows).await?;
    Ok(partition(rows, &existing))
}

/// Imports the bank file `csv_bytes` read by `mapping`: one transaction (source `import`)
/// per row not imported before, in one batch, with one `finance.transaction.created` event.
///
/// # Errors
/// [`Error::Import`] for malformed rows; `Core(Invalid)` for a bad mapping (`mapping`,
/// `decimal_separator`, `delimiter`, `date_format`), an empty file or one of more than
/// [`BANK_ROWS_MAX`] rows (`file`), an over-long file name (`file_name`).
pub async fn import_bank<C>(
    db: &C,
    user: UserId,
    file_name: Option<&str>,
    csv_bytes: &[u8],
    mapping: &BankMapping,
) -> Result<ImportResult>
where
    C: ConnectionTrait + TransactionTrait,
{
    let file_name = crate::input::optional_text("file_name", file_name, FILE_NAME_MAX)?;
    let days = LocalDays::for_user(db, user).await?;
    let rows = parse_bank(csv_bytes, mapping, &days)?;
    let total = count(rows.len());

    let txn = lifeos_core::db::begin_write(db).await?;
    let existing = existing_transaction_keys(&txn, user, &rows).await?;
    let mut plan = partition(rows, &existing);
    if plan.create.is_empty() {
        return Ok(nothing(total));
    }
    // In key order: two imports of overlapping statements then wait for each other's keys in
    // one order, never in a cycle (a deadlock on PostgreSQL).
    plan.create.sort_by(|a, b| a.dedupe_key.cmp(&b.dedupe_key));
    let batch = new_batch(&txn, user, ImportKind::Bank, file_name).await?;
    let mut created = 0;
    for chunk in plan.create.chunks(INSERT_CHUNK) {
        let models = chunk.iter().map(|row| finance_transaction::ActiveModel {
            user_id: Set(user),
            amount: Set(row.amount),
            description: Set(row.description.clone()),
            occurred_at: Set(row.occurred_at),
            journal_entry_id: Set(None),
            counterparty: Set(row.counterparty.clone()),
            category: Set(None),
            source: Set(TransactionSource::Import),
            import_batch_id: Set(Some(batch.id)),
            dedupe_key: Set(Some(row.dedupe_key.clone())),
            ..Default::default()
        });
        created += finance_transaction::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([
                    finance_transaction::Column::UserId,
                    finance_transaction::Column::DedupeKey,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    if created == 0 {
        // A racing import created every row first (PostgreSQL): record nothing.
        txn.rollback().await?;
        return Ok(nothing(total));
    }
    let batch = finish_batch(&txn, batch, created).await?;
    outbox::enqueue(
        &txn,
        Some(user),
        transactions::CREATED_EVENT,
        json!({
            "import_batch_id": batch.id,
            "count": created,
            "source": "import",
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(ImportResult {
        batch: Some(batch),
        created,
        skipped: total.saturating_sub(created),
    })
}

/// The user's import batches, newest first (then by id, descending), at most `limit`
/// (1..=[`BATCHES_MAX`]) after `after` (the previous page's last batch: its `created_at`
/// and id). Undone batches are listed too (`undone_at` set).
///
/// # Errors
/// `Core(Invalid)` for a bad limit.
pub async fn list_batches<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    after: Option<(Timestamp, i32)>,
    limit: u64,
) -> Result<Vec<finance_import_batch::Model>> {
    if !(1..=BATCHES_MAX).contains(&limit) {
        return Err(invalid("limit", format!("must be 1..={BATCHES_MAX}")));
    }
    Ok(batches_select(user, after, limit).all(db).await?)
}

/// The query [`list_batches`] runs, served by `ix_finance_import_batch_user_created_at`.
/// Public so that a query-plan test can explain it.
pub fn batches_select(
    user: UserId,
    after: Option<(Timestamp, i32)>,
    limit: u64,
) -> Select<finance_import_batch::Entity> {
    use finance_import_batch::Column;
    let mut query = finance_import_batch::Entity::find()
        .filter(Column::UserId.eq(user))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(limit);
    if let Some((created_at, id)) = after {
        query = query
            .filter(Column::CreatedAt.lte(created_at))
            .filter(Column::CreatedAt.lt(created_at).or(Column::Id.lt(id)));
    }
    query
}

/// The query that finds which of `keys` the user's transactions hold already (it selects
/// their `dedupe_key`), served by `ux_finance_transaction_user_dedupe`. Public so that a
/// query-plan test can explain it.
pub fn existing_keys_select(user: UserId, keys: &[String]) -> Select<finance_transaction::Entity> {
    use finance_transaction::Column;
    finance_transaction::Entity::find()
        .select_only()
        .column(Column::DedupeKey)
        .filter(Column::UserId.eq(user))
        .filter(Column::DedupeKey.is_in(keys.iter().cloned()))
}

/// As [`existing_keys_select`], for journal entries (`ux_finance_journal_entry_user_dedupe`).
pub fn existing_entry_keys_select(
    user: UserId,
    keys: &[String],
) -> Select<finance_journal_entry::Entity> {
    use finance_journal_entry::Column;
    finance_journal_entry::Entity::find()
        .select_only()
        .column(Column::DedupeKey)
        .filter(Column::UserId.eq(user))
        .filter(Column::DedupeKey.is_in(keys.iter().cloned()))
}

// --- journal files ---

/// What [`import_journal`] would do with `csv_bytes`; writes nothing.
///
/// # Errors
/// As [`import_journal`].
pub async fn preview_journal<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    csv_bytes: &[u8],
    mapping: &JournalMapping,
) -> Result<ImportPreview<JournalRow>> {
    let days = LocalDays::for_user(db, user).await?;
    let rows = journal_rows(db, user, csv_bytes, mapping, &days).await?;
    let existing = existing_entry_keys(db, user, &rows).await?;
    Ok(partition(rows, &existing))
}

/// Imports the journal file `csv_bytes`: one two-line entry ("debit `debit_account_id`,
/// credit `credit_account_id`, `amount`") per row not imported before, each with its
/// `finance.journal.posted` event, in one batch.
///
/// # Errors
/// [`Error::Import`] for malformed rows, and for rows whose accounts are not the user's, are
/// inactive or differ in currency; `Core(Invalid)` for a missing column, a bad delimiter, an
/// empty file or one of more than [`JOURNAL_ROWS_MAX`] rows (`file`, `delimiter`), an
/// over-long file name (`file_name`).
pub async fn import_journal<C>(
    db: &C,
    user: UserId,
    file_name: Option<&str>,
    csv_bytes: &[u8],
    mapping: &JournalMapping,
) -> Result<ImportResult>
where
    C: ConnectionTrait + TransactionTrait,
{
    let file_name = crate::input::optional_text("file_name", file_name, FILE_NAME_MAX)?;
    let days = LocalDays::for_user(db, user).await?;

    let txn = lifeos_core::db::begin_write(db).await?;
    let rows = journal_rows(&txn, user, csv_bytes, mapping, &days).await?;
    let total = count(rows.len());
    let existing = existing_entry_keys(&txn, user, &rows).await?;
    let mut plan = partition(rows, &existing);
    if plan.create.is_empty() {
        return Ok(nothing(total));
    }
    // In key order, as bank rows: racing imports never wait for each other in a cycle.
    plan.create.sort_by(|a, b| a.dedupe_key.cmp(&b.dedupe_key));
    let batch = new_batch(&txn, user, ImportKind::Journal, file_name).await?;
    let mut created = 0;
    for row in &plan.create {
        // A savepoint per row: a key taken by a racing import meanwhile (PostgreSQL) rolls
        // back this row only.
        let step = lifeos_core::db::begin_write(&txn).await?;
        let posted = journal::post(
            &step,
            user,
            NewEntry {
                description: row.description.clone(),
                posted_at: Some(row.posted_at),
                lines: vec![
                    NewLine::debit(row.debit_account_id, row.amount),
                    NewLine::credit(row.credit_account_id, row.amount),
                ],
            },
        )
        .await
        .map_err(|error| at_line(row.line, error))?;
        let tagged = finance_journal_entry::Entity::update_many()
            .col_expr(
                finance_journal_entry::Column::ImportBatchId,
                Expr::value(Some(batch.id)),
            )
            .col_expr(
                finance_journal_entry::Column::DedupeKey,
                Expr::value(Some(row.dedupe_key.clone())),
            )
            .filter(finance_journal_entry::Column::Id.eq(posted.entry.id))
            .exec(&step)
            .await;
        match tagged.map_err(Error::from) {
            Ok(_) => {
                step.commit().await?;
                created += 1;
            }
            Err(Error::Core(lifeos_core::Error::Conflict(_))) => step.rollback().await?,
            Err(other) => return Err(other),
        }
    }
    if created == 0 {
        txn.rollback().await?;
        return Ok(nothing(total));
    }
    let batch = finish_batch(&txn, batch, created).await?;
    txn.commit().await?;
    Ok(ImportResult {
        batch: Some(batch),
        created,
        skipped: total.saturating_sub(created),
    })
}

// --- batches ---

/// The user's import batch `id`.
///
/// # Errors
/// `Core(NotFound)` when there is none (or it is another user's).
pub async fn get_batch<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
) -> Result<finance_import_batch::Model> {
    batch_of(db, user, id, false).await
}

/// Undoes the user's batch `batch_id` as a unit (see the module docs) and marks it undone.
///
/// # Errors
/// `Core(NotFound)`; [`Error::AlreadyUndone`]; [`Error::BatchBooked`] for a bank batch with
/// booked transactions (nothing changes).
pub async fn undo<C>(db: &C, user: UserId, batch_id: i32) -> Result<UndoResult>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = lifeos_core::db::begin_write(db).await?;
    // PostgreSQL: the batch's row lock serialises undos of it.
    let batch = batch_of(&txn, user, batch_id, true).await?;
    if batch.undone_at.is_some() {
        return Err(Error::AlreadyUndone { batch: batch_id });
    }
    let postgres = txn.get_database_backend() == DbBackend::Postgres;
    let (mut deleted, mut reversals) = (0, Vec::new());
    match batch.kind {
        ImportKind::Bank => {
            use finance_transaction::Column;
            // PostgreSQL: lock the rows, so that a concurrent booking waits (and then finds
            // its row gone) or has booked (and is seen here).
            let mut query = finance_transaction::Entity::find()
                .select_only()
                .column(Column::Id)
                .column(Column::JournalEntryId)
                .filter(Column::ImportBatchId.eq(batch_id))
                .filter(Column::UserId.eq(user))
                .order_by_asc(Column::Id);
            if postgres {
                query = query.lock_exclusive();
            }
            let rows: Vec<(i32, Option<i32>)> = query.into_tuple().all(&txn).await?;
            let booked: Vec<i32> = rows
                .iter()
                .filter(|(_, entry)| entry.is_some())
                .map(|(id, _)| *id)
                .collect();
            if !booked.is_empty() {
                return Err(Error::BatchBooked {
                    batch: batch_id,
                    transactions: booked,
                });
            }
            deleted = finance_transaction::Entity::delete_many()
                .filter(Column::ImportBatchId.eq(batch_id))
                .filter(Column::UserId.eq(user))
                .exec(&txn)
                .await?
                .rows_affected;
        }
        ImportKind::Journal => {
            use finance_journal_entry::Column;
            let entries: Vec<i32> = finance_journal_entry::Entity::find()
                .select_only()
                .column(Column::Id)
                .filter(Column::ImportBatchId.eq(batch_id))
                .filter(Column::UserId.eq(user))
                .order_by_asc(Column::Id)
                .into_tuple()
                .all(&txn)
                .await?;
            for entry in entries {
                let description =
                    format!("Undo of import batch {batch_id}: reversal of entry {entry}");
                match journal::reverse(&txn, user, entry, Some(description.as_str())).await {
                    Ok(reversal) => reversals.push(reversal.entry.id),
                    Err(Error::AlreadyReversed { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
            finance_journal_entry::Entity::update_many()
                .col_expr(Column::DedupeKey, Expr::value(Option::<String>::None))
                .filter(Column::ImportBatchId.eq(batch_id))
                .filter(Column::UserId.eq(user))
                .exec(&txn)
                .await?;
        }
    }
    let mut active: finance_import_batch::ActiveModel = batch.into();
    active.undone_at = Set(Some(Timestamp::now()));
    let batch = active.update(&txn).await?;
    outbox::enqueue(
        &txn,
        Some(user),
        "finance.import.undone",
        json!({
            "import_batch_id": batch.id,
            "deleted": deleted,
            "reversals": reversals,
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(UndoResult {
        batch,
        deleted,
        reversals,
    })
}

// --- reading files ---

/// A row with a duplicate key.
trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for BankRow {
    fn key(&self) -> &str {
        &self.dedupe_key
    }
}

impl Keyed for JournalRow {
    fn key(&self) -> &str {
        &self.dedupe_key
    }
}

/// The row errors of a file, the first [`ERRORS_MAX`].
#[derive(Default)]
struct Errors(Vec<RowError>);

impl Errors {
    /// Records an error; all are kept (a file has a bounded number of rows) so that
    /// [`check`](Self::check) reports the first lines, whatever order they were found in.
    fn push(&mut self, line: u64, message: impl Into<String>) {
        self.0.push(RowError {
            line,
            message: message.into(),
        });
    }

    /// `Err(Error::Import)` with the errors by line, if there are any.
    fn check(mut self) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_by_key(|error| error.line);
        self.0.truncate(ERRORS_MAX);
        Err(Error::Import { errors: self.0 })
    }
}

/// One record of a file.
struct Record {
    /// The line it starts on.
    line: u64,
    /// Its fields, trimmed.
    fields: Vec<String>,
    /// The SHA-256 (hex) of its trimmed fields joined by U+001F.
    hash: String,
}

impl Record {
    /// Field `index` ("" beyond the record).
    fn field(&self, index: usize) -> &str {
        self.fields.get(index).map_or("", String::as_str)
    }

    /// Field `index`, `None` when empty.
    fn optional(&self, index: Option<usize>) -> Option<&str> {
        index
            .map(|index| self.field(index))
            .filter(|value| !value.is_empty())
    }
}

/// A file's header (trimmed names) and records (of one width).
struct Table {
    header: Option<Vec<String>>,
    /// The number of fields of every record: the header's, else the first record's.
    width: Option<usize>,
    records: Vec<Record>,
}

/// Reads a CSV file: at most `rows_max` records, each UTF-8 and as wide as the first (or the
/// header). Rows that break these rules are `errors`; an unreadable header is refused.
fn read(
    bytes: &[u8],
    has_headers: bool,
    delimiter: u8,
    rows_max: usize,
    errors: &mut Errors,
) -> Result<Table> {
    if !delimiter.is_ascii() || matches!(delimiter, b'"' | b'\n' | b'\r') {
        return Err(invalid(
            "delimiter",
            "must be an ASCII character other than `\"`, CR and LF",
        ));
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if bytes.trim_ascii().is_empty() {
        return Err(invalid("file", "is empty"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(has_headers)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let unreadable = |error: csv::Error| {
        invalid(
            "file",
            format!(
                "is not readable CSV near line {}",
                error.position().map_or(0, csv::Position::line)
            ),
        )
    };
    let header = if has_headers {
        let record = reader.byte_headers().map_err(unreadable)?;
        let line = record.position().map_or(1, csv::Position::line);
        let mut names = Vec::with_capacity(record.len());
        for field in record {
            match std::str::from_utf8(field) {
                Ok(name) => names.push(name.trim().to_owned()),
                Err(_) => {
                    return Err(Error::Import {
                        errors: vec![RowError {
                            line,
                            message: "the header is not valid UTF-8".to_owned(),
                        }],
                    });
                }
            }
        }
        Some(names)
    } else {
        None
    };
    let mut width = header.as_ref().map(Vec::len);
    let mut records = Vec::new();
    let mut rows = 0;
    let mut raw = csv::ByteRecord::new();
    while reader.read_byte_record(&mut raw).map_err(unreadable)? {
        let line = raw.position().map_or(0, csv::Position::line);
        if raw.iter().all(|field| field.trim_ascii().is_empty()) {
            continue;
        }
        rows += 1;
        if rows > rows_max {
            return Err(invalid("file", format!("has more than {rows_max} rows")));
        }
        let expected = *width.get_or_insert(raw.len());
        if raw.len() != expected {
            errors.push(
                line,
                format!("has {} fields, not {expected} as the file", raw.len()),
            );
            continue;
        }
        let mut fields = Vec::with_capacity(raw.len());
        let mut utf8 = true;
        for (index, field) in raw.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(text) => fields.push(text.trim().to_owned()),
                Err(_) => {
                    errors.push(line, format!("field {index} is not valid UTF-8"));
                    utf8 = false;
                    break;
                }
            }
        }
        if !utf8 {
            continue;
        }
        let mut hasher = Sha256::new();
        for (index, field) in fields.iter().enumerate() {
            if index > 0 {
                hasher.update(b"\x1f");
            }
            hasher.update(field.as_bytes());
        }
        let hash = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        records.push(Record { line, fields, hash });
    }
    if records.is_empty() && errors.0.is_empty() {
        return Err(invalid("file", "has no rows"));
    }
    Ok(Table {
        header,
        width,
        records,
    })
}

/// The number of identical records before this one (counting it for the next).
fn occurrence(seen: &mut HashMap<String, u32>, hash: &str) -> u32 {
    let count = seen.entry(hash.to_owned()).or_insert(0);
    let n = *count;
    *count = count.saturating_add(1);
    n
}

/// A source's tag in duplicate keys: the first 16 hex digits of the SHA-256 of its trimmed
/// label.
fn source_tag(source: &str) -> String {
    Sha256::digest(source.trim().as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The row's duplicate key: `ext:{id}` for a non-empty external id, else
/// `row:{hash}:{occurrence}`; with a source, its tag follows the prefix
/// (`ext:{tag}:{id}`, `row:{tag}:{hash}:{occurrence}`).
fn dedupe_key(
    external_id: Option<&str>,
    hash: &str,
    occurrence: u32,
    source: Option<&str>,
) -> std::result::Result<String, String> {
    let tag = source
        .map(|source| format!("{}:", source_tag(source)))
        .unwrap_or_default();
    match external_id {
        Some(id) => {
            if id.chars().count() > EXTERNAL_ID_MAX {
                return Err(format!(
                    "the external id is longer than {EXTERNAL_ID_MAX} characters"
                ));
            }
            if id.contains('\0') {
                return Err("the external id contains a NUL character".to_owned());
            }
            Ok(format!("ext:{tag}{id}"))
        }
        None => Ok(format!("row:{tag}{hash}:{occurrence}")),
    }
}

/// An optional text field: at most `max` characters, no NUL.
fn text_field(
    value: Option<&str>,
    name: &str,
    max: usize,
) -> std::result::Result<Option<String>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(format!("the {name} is longer than {max} characters"));
    }
    if value.contains('\0') {
        return Err(format!("the {name} contains a NUL character"));
    }
    Ok(Some(value.to_owned()))
}

/// A strict amount: an optional sign, digits, and `separator` followed by one or two digits;
/// at most [`AMOUNT_MAX`] in absolute value; at scale 2. The error completes "the amount …".
fn parse_amount(text: &str, separator: char) -> std::result::Result<Decimal, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = match unsigned.split_once(separator) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|fraction| !digits(fraction)) {
        return Err(format!(
            "is not a number: digits, an optional sign and `{separator}` before at most two \
             decimals"
        ));
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > 2 {
        return Err("has more than two decimals".to_owned());
    }
    let beyond = || format!("is beyond the largest amount, {AMOUNT_MAX}");
    let significant = whole.trim_start_matches('0');
    // AMOUNT_MAX has 11 digits before the decimals: 13 digits in cents fit an i64.
    if significant.len() > 11 {
        return Err(beyond());
    }
    let mut cents: i64 = 0;
    for byte in significant
        .bytes()
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(
            b'0',
            2_usize.saturating_sub(fraction.len()),
        ))
    {
        cents = cents
            .checked_mul(10)
            .and_then(|cents| cents.checked_add(i64::from(byte.saturating_sub(b'0'))))
            .ok_or_else(beyond)?;
    }
    let value = Decimal::new(if negative { -cents } else { cents }, 2);
    if value.abs() > AMOUNT_MAX {
        return Err(beyond());
    }
    Ok(crate::money::two(value))
}

/// A day of the years 1..=9999.
fn calendar_day(day: NaiveDate, name: &str) -> std::result::Result<NaiveDate, String> {
    if (1..=9999).contains(&day.year()) {
        Ok(day)
    } else {
        Err(format!("the {name} is outside the years 1 to 9999"))
    }
}

/// Rows in file order, skipping (as duplicates) those imported before (`existing`) and
/// those whose key appeared earlier in the file.
fn partition<R: Keyed>(rows: Vec<R>, existing: &HashSet<String>) -> ImportPreview<R> {
    let mut seen = HashSet::new();
    let (mut create, mut skip) = (Vec::new(), Vec::new());
    for row in rows {
        if existing.contains(row.key()) || !seen.insert(row.key().to_owned()) {
            skip.push(row);
        } else {
            create.push(row);
        }
    }
    ImportPreview { create, skip }
}

/// Which keys of `rows` the user's transactions hold already.
async fn existing_transaction_keys<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    rows: &[BankRow],
) -> Result<HashSet<String>> {
    let keys: Vec<String> = rows.iter().map(|row| row.dedupe_key.clone()).collect();
    let mut existing = HashSet::new();
    for chunk in keys.chunks(KEY_CHUNK) {
        let found: Vec<String> = existing_keys_select(user, chunk)
            .into_tuple()
            .all(db)
            .await?;
        existing.extend(found);
    }
    Ok(existing)
}

/// Which keys of `rows` the user's journal entries hold already.
async fn existing_entry_keys<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    rows: &[JournalRow],
) -> Result<HashSet<String>> {
    let keys: Vec<String> = rows.iter().map(|row| row.dedupe_key.clone()).collect();
    let mut existing = HashSet::new();
    for chunk in keys.chunks(KEY_CHUNK) {
        let found: Vec<String> = existing_entry_keys_select(user, chunk)
            .into_tuple()
            .all(db)
            .await?;
        existing.extend(found);
    }
    Ok(existing)
}

// --- bank rows ---

/// A bank file's columns, resolved to positions.
struct BankColumns {
    date: usize,
    amount: Amounts,
    description: Option<usize>,
    counterparty: Option<usize>,
    external_id: Option<usize>,
}

/// A bank file's amount columns, resolved.
enum Amounts {
    Single(usize),
    DebitCredit { debit: usize, credit: usize },
}

/// Checks what can be checked of `mapping` without the file.
fn check_mapping(mapping: &BankMapping) -> Result<()> {
    if let Some(source) = &mapping.source {
        let trimmed = source.trim();
        if trimmed.is_empty() || trimmed.chars().count() > SOURCE_MAX || trimmed.contains('\0') {
            return Err(invalid(
                "source",
                format!("must be 1..={SOURCE_MAX} characters without NUL"),
            ));
        }
    }
    if !matches!(mapping.decimal_separator, '.' | ',') {
        return Err(invalid("decimal_separator", "must be `.` or `,`"));
    }
    let format = mapping.date_format.trim();
    if format.is_empty() || StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(invalid("date_format", "is not a chrono strftime format"));
    }
    let mut references = vec![&mapping.date];
    match &mapping.amount {
        AmountColumns::Single(amount) => references.push(amount),
        AmountColumns::DebitCredit { debit, credit } => {
            references.push(debit);
            references.push(credit);
        }
    }
    references.extend(
        [
            &mapping.description,
            &mapping.counterparty,
            &mapping.external_id,
        ]
        .into_iter()
        .flatten(),
    );
    for reference in references {
        if let ColumnRef::Name(name) = reference {
            if name.trim().is_empty() {
                return Err(invalid("mapping", "a column name is empty"));
            }
            if !mapping.has_headers {
                return Err(invalid(
                    "mapping",
                    format!("the column `{name}` is named, but the file has no header"),
                ));
            }
        }
    }
    Ok(())
}

/// The position of `reference` in `table`.
fn resolve(reference: &ColumnRef, table: &Table) -> Result<usize> {
    match reference {
        ColumnRef::Index(index) => match table.width {
            Some(width) if *index >= width => Err(invalid(
                "mapping",
                format!("column {index} is beyond the file's {width} columns (counting from 0)"),
            )),
            _ => Ok(*index),
        },
        ColumnRef::Name(name) => {
            let name = name.trim();
            let header = table.header.as_deref().unwrap_or_default();
            header
                .iter()
                .position(|candidate| candidate == name)
                .or_else(|| {
                    header
                        .iter()
                        .position(|candidate| candidate.eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| invalid("mapping", format!("the header has no column `{name}`")))
        }
    }
}

impl BankColumns {
    fn resolve(mapping: &BankMapping, table: &Table) -> Result<Self> {
        let optional = |reference: &Option<ColumnRef>| {
            reference
                .as_ref()
                .map(|reference| resolve(reference, table))
                .transpose()
        };
        let amount = match &mapping.amount {
            AmountColumns::Single(amount) => Amounts::Single(resolve(amount, table)?),
            AmountColumns::DebitCredit { debit, credit } => {
                let (debit, credit) = (resolve(debit, table)?, resolve(credit, table)?);
                if debit == credit {
                    return Err(invalid(
                        "mapping",
                        "the debit and the credit column are the same",
                    ));
                }
                Amounts::DebitCredit { debit, credit }
            }
        };
        Ok(Self {
            date: resolve(&mapping.date, table)?,
            amount,
            description: optional(&mapping.description)?,
            counterparty: optional(&mapping.counterparty)?,
            external_id: optional(&mapping.external_id)?,
        })
    }
}

/// Reads and validates a bank file: its rows, or every row error.
fn parse_bank(bytes: &[u8], mapping: &BankMapping, days: &LocalDays) -> Result<Vec<BankRow>> {
    check_mapping(mapping)?;
    let mut errors = Errors::default();
    let table = read(
        bytes,
        mapping.has_headers,
        mapping.delimiter,
        BANK_ROWS_MAX,
        &mut errors,
    )?;
    let columns = BankColumns::resolve(mapping, &table)?;
    let mut seen = HashMap::new();
    let mut rows = Vec::with_capacity(table.records.len());
    for record in &table.records {
        let n = occurrence(&mut seen, &record.hash);
        match bank_row(record, &columns, mapping, days, n) {
            Ok(row) => rows.push(row),
            Err(message) => errors.push(record.line, message),
        }
    }
    errors.check()?;
    Ok(rows)
}

/// One bank row, or what is wrong with it.
fn bank_row(
    record: &Record,
    columns: &BankColumns,
    mapping: &BankMapping,
    days: &LocalDays,
    occurrence: u32,
) -> std::result::Result<BankRow, String> {
    let date = record.field(columns.date);
    if date.is_empty() {
        return Err("the date is empty".to_owned());
    }
    let format = mapping.date_format.trim();
    let day = NaiveDate::parse_from_str(date, format)
        .map_err(|_| format!("the date does not match the format `{format}`"))?;
    let day = calendar_day(day, "date")?;
    let separator = mapping.decimal_separator;
    let amount = match columns.amount {
        Amounts::Single(index) => {
            let amount = parse_amount(record.field(index), separator)
                .map_err(|problem| format!("the amount {problem}"))?;
            if amount.is_zero() {
                return Err("the amount is zero".to_owned());
            }
            amount
        }
        Amounts::DebitCredit { debit, credit } => {
            let debit = side(record.field(debit), separator, "debit")?;
            let credit = side(record.field(credit), separator, "credit")?;
            match (debit, credit) {
                (Some(out), None) => -out,
                (None, Some(into)) => into,
                (None, None) => return Err("has neither a debit nor a credit amount".to_owned()),
                (Some(_), Some(_)) => {
                    return Err("has both a debit and a credit amount".to_owned());
                }
            }
        }
    };
    let description = text_field(
        record.optional(columns.description),
        "description",
        DESCRIPTION_MAX,
    )?;
    let counterparty = text_field(
        record.optional(columns.counterparty),
        "counterparty",
        COUNTERPARTY_MAX,
    )?;
    let dedupe_key = dedupe_key(
        record.optional(columns.external_id),
        &record.hash,
        occurrence,
        mapping.source.as_deref(),
    )?;
    Ok(BankRow {
        line: record.line,
        day,
        occurred_at: Timestamp(days.range(day).0),
        amount,
        description,
        counterparty,
        dedupe_key,
    })
}

/// A debit or credit field: `None` when empty or zero; never negative.
fn side(text: &str, separator: char, name: &str) -> std::result::Result<Option<Decimal>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let value =
        parse_amount(text, separator).map_err(|problem| format!("the {name} amount {problem}"))?;
    if value.is_zero() {
        return Ok(None);
    }
    if value.is_sign_negative() {
        return Err(format!(
            "the {name} amount is negative (debit and credit amounts are unsigned)"
        ));
    }
    Ok(Some(value))
}

// --- journal rows ---

/// A journal file's columns.
struct JournalColumns {
    description: Option<usize>,
    amount: usize,
    debit: usize,
    credit: usize,
    posted_at: Option<usize>,
    date: Option<usize>,
    external_id: Option<usize>,
}

/// Reads and validates a journal file, its accounts included: its rows, or every row error.
async fn journal_rows<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    bytes: &[u8],
    mapping: &JournalMapping,
    days: &LocalDays,
) -> Result<Vec<JournalRow>> {
    let mut errors = Errors::default();
    let table = read(
        bytes,
        true,
        mapping.delimiter,
        JOURNAL_ROWS_MAX,
        &mut errors,
    )?;
    let header = table.header.as_deref().unwrap_or_default();
    let find = |name: &str| {
        header
            .iter()
            .position(|candidate| candidate.eq_ignore_ascii_case(name))
    };
    let required = |name: &str| {
        find(name).ok_or_else(|| invalid("file", format!("the header has no `{name}` column")))
    };
    let columns = JournalColumns {
        description: find("description"),
        amount: required("amount")?,
        debit: required("debit_account_id")?,
        credit: required("credit_account_id")?,
        posted_at: find("posted_at"),
        date: find("date"),
        external_id: find("external_id"),
    };
    if columns.posted_at.is_none() && columns.date.is_none() {
        return Err(invalid(
            "file",
            "the header has neither a `posted_at` nor a `date` column",
        ));
    }
    let mut seen = HashMap::new();
    let mut rows = Vec::with_capacity(table.records.len());
    for record in &table.records {
        let n = occurrence(&mut seen, &record.hash);
        match journal_row(record, &columns, days, n) {
            Ok(row) => rows.push(row),
            Err(message) => errors.push(record.line, message),
        }
    }
    check_accounts(db, user, &rows, &mut errors).await?;
    errors.check()?;
    Ok(rows)
}

/// One journal row (its accounts unchecked), or what is wrong with it.
fn journal_row(
    record: &Record,
    columns: &JournalColumns,
    days: &LocalDays,
    occurrence: u32,
) -> std::result::Result<JournalRow, String> {
    let amount = parse_amount(record.field(columns.amount), '.')
        .map_err(|problem| format!("the amount {problem}"))?;
    if amount <= Decimal::ZERO {
        return Err("the amount is not positive".to_owned());
    }
    let account = |index: usize, name: &str| {
        record
            .field(index)
            .parse::<i32>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("the {name} is not an account id"))
    };
    let debit_account_id = account(columns.debit, "debit_account_id")?;
    let credit_account_id = account(columns.credit, "credit_account_id")?;
    let posted_at = match (
        record.optional(columns.posted_at),
        record.optional(columns.date),
    ) {
        (Some(text), _) => {
            let at = parse_instant(text).ok_or_else(|| {
                "the posted_at is neither RFC 3339 nor `YYYY-MM-DD HH:MM:SS` (UTC)".to_owned()
            })?;
            calendar_day(at.date_naive(), "posted_at")?;
            Timestamp(at)
        }
        (None, Some(text)) => {
            let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| "the date is not `YYYY-MM-DD`".to_owned())?;
            let day = calendar_day(day, "date")?;
            Timestamp(days.range(day).0)
        }
        (None, None) => return Err("has neither a posted_at nor a date".to_owned()),
    };
    let description = text_field(
        record.optional(columns.description),
        "description",
        journal::TEXT_MAX,
    )?;
    let dedupe_key = dedupe_key(
        record.optional(columns.external_id),
        &record.hash,
        occurrence,
        None,
    )?;
    Ok(JournalRow {
        line: record.line,
        description,
        amount,
        debit_account_id,
        credit_account_id,
        posted_at,
        dedupe_key,
    })
}

/// An RFC 3339 instant, or a zone-less `YYYY-MM-DD HH:MM:SS[.f]` (or with `T`) taken as UTC.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .map(|naive| naive.and_utc())
}

/// Adds an error for each row whose accounts are not both the user's, active, and of one
/// currency (one query per 500 accounts).
async fn check_accounts<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    rows: &[JournalRow],
    errors: &mut Errors,
) -> Result<()> {
    let mut ids: Vec<i32> = rows
        .iter()
        .flat_map(|row| [row.debit_account_id, row.credit_account_id])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut accounts = HashMap::new();
    for chunk in ids.chunks(KEY_CHUNK) {
        let found = finance_account::Entity::find()
            .filter(finance_account::Column::UserId.eq(user))
            .filter(finance_account::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        accounts.extend(found.into_iter().map(|account| (account.id, account)));
    }
    for row in rows {
        let problem = match (
            accounts.get(&row.debit_account_id),
            accounts.get(&row.credit_account_id),
        ) {
            (None, _) => Some(format!("debit account {} not found", row.debit_account_id)),
            (_, None) => Some(format!(
                "credit account {} not found",
                row.credit_account_id
            )),
            (Some(debit), _) if !debit.is_active => {
                Some(format!("debit account {} is inactive", debit.id))
            }
            (_, Some(credit)) if !credit.is_active => {
                Some(format!("credit account {} is inactive", credit.id))
            }
            (Some(debit), Some(credit)) if debit.currency != credit.currency => Some(format!(
                "the debit account is in {}, the credit account in {}",
                debit.currency, credit.currency
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            errors.push(row.line, problem);
        }
    }
    Ok(())
}

/// A journal posting's refusal as the row's error (a database failure stays as it is).
fn at_line(line: u64, error: Error) -> Error {
    match error {
        Error::Core(lifeos_core::Error::Db(_)) => error,
        other => Error::Import {
            errors: vec![RowError {
                line,
                message: other.to_string(),
            }],
        },
    }
}

// --- batches ---

/// An import that created nothing.
fn nothing(total: u64) -> ImportResult {
    ImportResult {
        batch: None,
        created: 0,
        skipped: total,
    }
}

/// `n` as a row count.
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A new batch of `kind` (its row count set by [`finish_batch`]).
async fn new_batch<C: ConnectionTrait>(
    txn: &C,
    user: UserId,
    kind: ImportKind,
    file_name: Option<String>,
) -> Result<finance_import_batch::Model> {
    Ok(finance_import_batch::ActiveModel {
        user_id: Set(user),
        kind: Set(kind),
        file_name: Set(file_name),
        row_count: Set(0),
        created_at: Set(Timestamp::now()),
        undone_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// The batch with its row count.
async fn finish_batch<C: ConnectionTrait>(
    txn: &C,
    batch: finance_import_batch::Model,
    created: u64,
) -> Result<finance_import_batch::Model> {
    let row_count =
        i32::try_from(created).map_err(|_| invalid("file", "has more rows than a batch counts"))?;
    let mut active: finance_import_batch::ActiveModel = batch.into();
    active.row_count = Set(row_count);
    Ok(active.update(txn).await?)
}

/// The user's batch `id`; on PostgreSQL locked `FOR UPDATE` when `lock`.
async fn batch_of<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i32,
    lock: bool,
) -> Result<finance_import_batch::Model> {
    let mut query = finance_import_batch::Entity::find_by_id(id)
        .filter(finance_import_batch::Column::UserId.eq(user));
    if lock && db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await?.ok_or_else(|| not_found(BATCH, id))
}
