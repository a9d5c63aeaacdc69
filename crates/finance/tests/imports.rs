//! Transactions and imports, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL:
//! recording, reading, listing, booking (once, also racing) and deleting transactions, with
//! every refusal writing nothing; bank statements imported idempotently (re-imports,
//! overlapping statements, identical rows, external ids, racing imports), refused whole with
//! line-numbered errors, previewed exactly, undone as a batch; the original's journal CSV
//! posted, re-imported, undone by reversals; and the indexes that serve the lookups.

use chrono::{NaiveDate, TimeZone, Utc};
use lifeos_entity::{Timestamp, UserId};
use lifeos_finance::Error;
use lifeos_finance::entity::finance_account::AccountType;
use lifeos_finance::entity::finance_import_batch::ImportKind;
use lifeos_finance::entity::finance_transaction::TransactionSource;
use lifeos_finance::service::imports::{
    self, AmountColumns, BankMapping, ColumnRef, ImportResult, JournalMapping,
};
use lifeos_finance::service::journal::{self, AMOUNT_MAX};
use lifeos_finance::service::transactions::{self, NewTransaction, TransactionCursor};
use lifeos_finance::service::{accounts, balances};
use lifeos_testkit::TestDb;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryTrait, Statement};

mod common;
use common::{count, is_invalid, is_not_found, payloads, rows_in};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

#[allow(
    clippy::expect_used,
    reason = "only literals of this file: a typo must stop the test"
)]
fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal literal")
}

fn day(y: i32, m: u32, d: u32) -> Fallible<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "bad date".into())
}

fn at(y: i32, m: u32, d: u32, h: u32) -> Fallible<Timestamp> {
    Ok(Timestamp(
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .ok_or("bad time")?,
    ))
}

async fn account(
    db: &DatabaseConnection,
    owner: UserId,
    name: &str,
    account_type: AccountType,
) -> Fallible<i32> {
    Ok(accounts::create(
        db,
        owner,
        accounts::NewAccount {
            name: name.to_owned(),
            account_type,
            ..Default::default()
        },
    )
    .await?
    .id)
}

/// Transactions, batches, entries, lines and outbox rows: what a refused call leaves as is.
async fn written(db: &DatabaseConnection) -> Fallible<Vec<i64>> {
    rows_in(
        db,
        &[
            "finance_transaction",
            "finance_import_batch",
            "finance_journal_entry",
            "finance_journal_line",
            "platform_outbox",
        ],
    )
    .await
}

/// The dedupe keys of a batch's transactions, sorted.
async fn batch_keys(db: &DatabaseConnection, batch: i32) -> Fallible<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT dedupe_key FROM finance_transaction WHERE import_batch_id = {batch} \
                 ORDER BY dedupe_key"
            ),
        ))
        .await?;
    let mut keys = Vec::new();
    for row in rows {
        keys.push(row.try_get_by_index::<String>(0)?);
    }
    Ok(keys)
}

/// The lines of an `Error::Import`.
fn import_lines<T: std::fmt::Debug>(result: Result<T, Error>) -> Fallible<Vec<u64>> {
    match result {
        Err(Error::Import { errors }) => Ok(errors.iter().map(|error| error.line).collect()),
        other => Err(format!("not an import error: {other:?}").into()),
    }
}

fn batch_id(result: &ImportResult) -> Fallible<i32> {
    Ok(result.batch.as_ref().ok_or("no batch")?.id)
}

fn spend(amount: &str, when: Timestamp) -> NewTransaction {
    NewTransaction {
        amount: dec(amount),
        occurred_at: Some(when),
        ..Default::default()
    }
}

// --- transactions ---

#[tokio::test]
async fn transactions_are_recorded_read_listed_booked_and_deleted() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let food = account(&db, ann, "Food", AccountType::Expense).await?;
    let market = transactions::record(
        &*db,
        ann,
        NewTransaction {
            description: Some("  Market ".to_owned()),
            counterparty: Some(" Shop ".to_owned()),
            category: Some("groceries".to_owned()),
            ..spend("-12.3", at(2026, 1, 5, 12)?)
        },
    )
    .await?;
    assert_eq!(market.user_id, ann);
    assert_eq!(market.amount.to_string(), "-12.30");
    assert_eq!(market.occurred_at, at(2026, 1, 5, 12)?);
    assert_eq!(market.description.as_deref(), Some("Market"));
    assert_eq!(market.counterparty.as_deref(), Some("Shop"));
    assert_eq!(market.category.as_deref(), Some("groceries"));
    assert_eq!(market.source, TransactionSource::Manual);
    assert_eq!(
        (
            market.journal_entry_id,
            market.import_batch_id,
            market.dedupe_key.clone()
        ),
        (None, None, None)
    );
    assert_eq!(transactions::get(&*db, ann, market.id).await?, market);
    let events = payloads(&db, "finance.transaction.created").await?;
    assert_eq!(events.len(), 1);
    let event = events.first().ok_or("no event")?;
    for part in [
        format!("\"transaction_id\":{}", market.id),
        "\"amount\":\"-12.30\"".to_owned(),
        "\"occurred_at\":\"2026-01-05T12:00:00Z\"".to_owned(),
        "\"source\":\"manual\"".to_owned(),
        "\"import_batch_id\":null".to_owned(),
    ] {
        assert!(event.contains(&part), "{part} not in {event}");
    }
    let salary = transactions::record(
        &*db,
        ann,
        NewTransaction {
            source: TransactionSource::Api,
            ..spend("100", at(2026, 1, 6, 9)?)
        },
    )
    .await?;
    assert_eq!(salary.source, TransactionSource::Api);
    let now = transactions::record(
        &*db,
        ann,
        NewTransaction {
            amount: dec("5.5"),
            ..Default::default()
        },
    )
    .await?;

    // Newest first; paged one by one, each exactly once.
    let all: Vec<i32> = transactions::list(&*db, ann, None, None, None, 500)
        .await?
        .iter()
        .map(|transaction| transaction.id)
        .collect();
    assert_eq!(all, [now.id, salary.id, market.id]);
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = transactions::list(&*db, ann, None, None, after, 1).await?;
        let Some(last) = page.last() else { break };
        after = Some(TransactionCursor::from(last));
        seen.extend(page.iter().map(|transaction| transaction.id));
    }
    assert_eq!(seen, all);
    let fifth = transactions::list(
        &*db,
        ann,
        Some(day(2026, 1, 5)?),
        Some(day(2026, 1, 5)?),
        None,
        10,
    )
    .await?;
    assert_eq!(fifth, std::slice::from_ref(&market));
    let through_sixth: Vec<i32> =
        transactions::list(&*db, ann, None, Some(day(2026, 1, 6)?), None, 10)
            .await?
            .iter()
            .map(|transaction| transaction.id)
            .collect();
    assert_eq!(through_sixth, [salary.id, market.id]);

    // Booking: |amount| from the credit account to the debit account, at its instant.
    let (booked, posted) = transactions::book(&*db, ann, market.id, food, bank).await?;
    assert_eq!(booked.journal_entry_id, Some(posted.entry.id));
    assert_eq!(transactions::get(&*db, ann, market.id).await?, booked);
    assert_eq!(posted.entry.posted_at, market.occurred_at);
    assert_eq!(posted.entry.description.as_deref(), Some("Market"));
    assert_eq!(
        (posted.lines[0].account_id, posted.lines[0].debit),
        (food, dec("12.30"))
    );
    assert_eq!(
        (posted.lines[1].account_id, posted.lines[1].credit),
        (bank, dec("12.30"))
    );
    let end = day(2026, 1, 31)?;
    assert_eq!(
        balances::account_balance(&*db, ann, food, end)
            .await?
            .balance,
        dec("12.30")
    );
    assert_eq!(
        balances::account_balance(&*db, ann, bank, end)
            .await?
            .balance,
        dec("-12.30")
    );
    assert_eq!(payloads(&db, "finance.journal.posted").await?.len(), 1);

    // Booked once; a booked transaction stays.
    let before = written(&db).await?;
    let again = transactions::book(&*db, ann, market.id, food, bank).await;
    assert!(
        matches!(again, Err(Error::AlreadyBooked { transaction }) if transaction == market.id),
        "{again:?}"
    );
    let deleted = transactions::delete(&*db, ann, market.id).await;
    assert!(
        matches!(deleted, Err(Error::AlreadyBooked { transaction }) if transaction == market.id),
        "{deleted:?}"
    );
    assert_eq!(written(&db).await?, before);

    // An unbooked one is deleted.
    transactions::delete(&*db, ann, salary.id).await?;
    let gone = transactions::get(&*db, ann, salary.id)
        .await
        .err()
        .ok_or("still there")?;
    assert!(is_not_found(&gone), "{gone:?}");
    let deleted_events = payloads(&db, "finance.transaction.deleted").await?;
    assert_eq!(deleted_events.len(), 1, "{deleted_events:?}");
    assert!(
        deleted_events[0]
            .replace(' ', "")
            .contains(&format!("\"transaction_id\":{}", salary.id)),
        "{deleted_events:?}"
    );

    // Another user's transaction and accounts behave as missing ones.
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    let bobs = account(&db, bob, "Bank", AccountType::Asset).await?;
    let before = written(&db).await?;
    let errors = [
        transactions::get(&*db, bob, now.id).await.err(),
        transactions::book(&*db, bob, now.id, food, bank)
            .await
            .err(),
        transactions::delete(&*db, bob, now.id).await.err(),
        transactions::book(&*db, ann, now.id, food, bobs)
            .await
            .err(),
    ];
    for error in errors {
        let error = error.ok_or("accepted")?;
        assert!(is_not_found(&error), "{error:?}");
    }
    assert!(
        transactions::list(&*db, bob, None, None, None, 10)
            .await?
            .is_empty()
    );
    assert_eq!(written(&db).await?, before);
    assert_eq!(
        transactions::get(&*db, ann, now.id).await?.journal_entry_id,
        None
    );
    Ok(())
}

#[tokio::test]
async fn bad_transactions_are_refused_and_nothing_is_written() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let food = account(&db, ann, "Food", AccountType::Expense).await?;
    let when = at(2026, 1, 5, 12)?;
    let beyond = AMOUNT_MAX + dec("0.01");
    let far = Timestamp(
        Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0)
            .single()
            .ok_or("bad time")?,
    );
    let text = |n: usize| Some("x".repeat(n));
    let cases: Vec<(NewTransaction, &str)> = vec![
        (spend("0", when), "amount"),
        (spend("1.001", when), "amount"),
        (spend(&beyond.to_string(), when), "amount"),
        (spend(&(-beyond).to_string(), when), "amount"),
        (
            NewTransaction {
                description: text(transactions::DESCRIPTION_MAX + 1),
                ..spend("1", when)
            },
            "description",
        ),
        (
            NewTransaction {
                description: Some("a\0b".to_owned()),
                ..spend("1", when)
            },
            "description",
        ),
        (
            NewTransaction {
                counterparty: text(transactions::COUNTERPARTY_MAX + 1),
                ..spend("1", when)
            },
            "counterparty",
        ),
        (
            NewTransaction {
                category: text(transactions::CATEGORY_MAX + 1),
                ..spend("1", when)
            },
            "category",
        ),
        (
            NewTransaction {
                source: TransactionSource::Import,
                ..spend("1", when)
            },
            "source",
        ),
        (spend("1", far), "occurred_at"),
    ];
    let before = written(&db).await?;
    for (new, field) in cases {
        let error = transactions::record(&*db, ann, new.clone())
            .await
            .err()
            .ok_or_else(|| format!("accepted {new:?}"))?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }
    for limit in [0, transactions::LIMIT_MAX + 1] {
        let error = transactions::list(&*db, ann, None, None, None, limit)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, "limit"), "{error:?}");
    }
    let error = transactions::list(
        &*db,
        ann,
        Some(day(2026, 1, 2)?),
        Some(day(2026, 1, 1)?),
        None,
        10,
    )
    .await
    .err()
    .ok_or("accepted")?;
    assert!(is_invalid(&error, "period"), "{error:?}");
    assert_eq!(
        written(&db).await?,
        before,
        "a refused call wrote something"
    );

    // The largest amounts, either way, exactly (SQLite too).
    for amount in [AMOUNT_MAX, -AMOUNT_MAX] {
        let recorded = transactions::record(
            &*db,
            ann,
            NewTransaction {
                amount,
                ..spend("1", when)
            },
        )
        .await?;
        assert_eq!(
            transactions::get(&*db, ann, recorded.id).await?.amount,
            amount
        );
    }

    // A booking the journal refuses writes nothing and leaves the transaction unbooked.
    let lunch = transactions::record(&*db, ann, spend("-9.95", when)).await?;
    accounts::set_active(&*db, ann, food, false).await?;
    let before = written(&db).await?;
    let refused = transactions::book(&*db, ann, lunch.id, food, bank).await;
    assert!(
        matches!(refused, Err(Error::InactiveAccount { account }) if account == food),
        "{refused:?}"
    );
    let missing = transactions::book(&*db, ann, lunch.id + 1000, bank, bank).await;
    assert!(missing.as_ref().is_err_and(is_not_found), "{missing:?}");
    assert_eq!(written(&db).await?, before);
    assert_eq!(
        transactions::get(&*db, ann, lunch.id)
            .await?
            .journal_entry_id,
        None
    );
    Ok(())
}

#[tokio::test]
async fn racing_bookings_post_one_entry() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let food = account(&db, ann, "Food", AccountType::Expense).await?;
    let lunch = transactions::record(&*db, ann, spend("-9.95", at(2026, 1, 5, 12)?)).await?;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let conn: DatabaseConnection = (*db).clone();
        let id = lunch.id;
        calls.spawn(async move { transactions::book(&conn, ann, id, food, bank).await });
    }
    let (mut booked, mut refused) = (Vec::new(), 0);
    while let Some(result) = calls.join_next().await {
        match result? {
            Ok((transaction, posted)) => booked.push((transaction, posted)),
            Err(Error::AlreadyBooked { transaction }) if transaction == lunch.id => refused += 1,
            Err(other) => return Err(format!("unexpected: {other:?}").into()),
        }
    }
    assert_eq!((booked.len(), refused), (1, 4));
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_journal_entry").await?,
        1
    );
    let (transaction, posted) = &booked[0];
    assert_eq!(transaction.journal_entry_id, Some(posted.entry.id));
    assert_eq!(
        transactions::get(&*db, ann, lunch.id)
            .await?
            .journal_entry_id,
        Some(posted.entry.id)
    );
    Ok(())
}

// --- bank statements ---

/// A statement with a header, `;` between fields, `,` before decimals, day/month/year, and
/// debit and credit columns; two genuinely identical coffees.
const JANUARY: &str = "Date;Description;Payee;Debit;Credit\n\
03/01/2026;Coffee;Cafe;3,50;\n\
03/01/2026;Coffee;Cafe;3,50;\n\
04/01/2026;Salary;Employer;;2000,00\n\
05/01/2026;Rent;Landlord;800,00;0,00\n";

/// The next statement: it repeats the last two rows of [`JANUARY`].
const OVERLAP: &str = "Date;Description;Payee;Debit;Credit\n\
04/01/2026;Salary;Employer;;2000,00\n\
05/01/2026;Rent;Landlord;800,00;0,00\n\
06/01/2026;Groceries;Market;42,10;\n";

fn statement_mapping() -> BankMapping {
    BankMapping {
        date: ColumnRef::Name("Date".to_owned()),
        amount: AmountColumns::DebitCredit {
            debit: ColumnRef::Name("Debit".to_owned()),
            // Header names match ASCII case-insensitively too.
            credit: ColumnRef::Name("credit".to_owned()),
        },
        description: Some(ColumnRef::Name("Description".to_owned())),
        counterparty: Some(ColumnRef::Name("Payee".to_owned())),
        external_id: None,
        source: None,
        date_format: "%d/%m/%Y".to_owned(),
        decimal_separator: ',',
        has_headers: true,
        delimiter: b';',
    }
}

#[tokio::test]
async fn bank_statements_import_once_and_keep_identical_rows() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    lifeos_core::identity::preferences::set(&*db, ann, "timezone", "Europe/Berlin".into()).await?;
    let mapping = statement_mapping();
    let start = written(&db).await?;

    let preview = imports::preview_bank(&*db, ann, JANUARY.as_bytes(), &mapping).await?;
    assert!(preview.skip.is_empty());
    let lines: Vec<u64> = preview.create.iter().map(|row| row.line).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    let amounts: Vec<String> = preview
        .create
        .iter()
        .map(|row| row.amount.to_string())
        .collect();
    assert_eq!(amounts, ["-3.50", "-3.50", "2000.00", "-800.00"]);
    let first = preview.create.first().ok_or("no row")?;
    assert_eq!(first.day, day(2026, 1, 3)?);
    // The start of 3 January in Berlin (UTC+1).
    assert_eq!(first.occurred_at, at(2026, 1, 2, 23)?);
    assert_eq!(first.description.as_deref(), Some("Coffee"));
    assert_eq!(first.counterparty.as_deref(), Some("Cafe"));
    let (coffee, again) = (&preview.create[0].dedupe_key, &preview.create[1].dedupe_key);
    assert!(
        coffee.starts_with("row:") && coffee.ends_with(":0"),
        "{coffee}"
    );
    assert!(again.ends_with(":1"), "{again}");
    assert_eq!(
        coffee.trim_end_matches(":0"),
        again.trim_end_matches(":1"),
        "identical rows, one hash"
    );
    assert!(coffee.chars().count() <= 128);
    assert_eq!(written(&db).await?, start, "a preview writes nothing");

    let imported = imports::import_bank(
        &*db,
        ann,
        Some(" january.csv "),
        JANUARY.as_bytes(),
        &mapping,
    )
    .await?;
    assert_eq!((imported.created, imported.skipped), (4, 0));
    let batch = imported.batch.clone().ok_or("no batch")?;
    assert_eq!(batch.user_id, ann);
    assert_eq!(batch.kind, ImportKind::Bank);
    assert_eq!(batch.file_name.as_deref(), Some("january.csv"));
    assert_eq!(batch.row_count, 4);
    assert_eq!(batch.undone_at, None);
    assert_eq!(imports::get_batch(&*db, ann, batch.id).await?, batch);
    // The preview said exactly this.
    let mut expected: Vec<String> = preview
        .create
        .iter()
        .map(|row| row.dedupe_key.clone())
        .collect();
    expected.sort();
    assert_eq!(batch_keys(&db, batch.id).await?, expected);
    let listed = transactions::list(&*db, ann, None, None, None, 10).await?;
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|transaction| {
        transaction.source == TransactionSource::Import
            && transaction.import_batch_id == Some(batch.id)
            && transaction.journal_entry_id.is_none()
    }));
    // One event for the batch.
    let events = payloads(&db, "finance.transaction.created").await?;
    assert_eq!(events.len(), 1);
    let event = events.first().ok_or("no event")?;
    for part in [
        format!("\"import_batch_id\":{}", batch.id),
        "\"count\":4".to_owned(),
        "\"source\":\"import\"".to_owned(),
    ] {
        assert!(event.contains(&part), "{part} not in {event}");
    }

    // The same file again: nothing new, no batch.
    let before = written(&db).await?;
    let again = imports::import_bank(&*db, ann, None, JANUARY.as_bytes(), &mapping).await?;
    assert_eq!((again.created, again.skipped, again.batch), (0, 4, None));
    assert_eq!(written(&db).await?, before);
    let preview = imports::preview_bank(&*db, ann, JANUARY.as_bytes(), &mapping).await?;
    assert!(preview.create.is_empty());
    assert_eq!(
        preview.skip.iter().map(|row| row.line).collect::<Vec<_>>(),
        [2, 3, 4, 5]
    );

    // An overlapping statement: only its new row.
    let preview = imports::preview_bank(&*db, ann, OVERLAP.as_bytes(), &mapping).await?;
    assert_eq!(
        (
            preview
                .create
                .iter()
                .map(|row| row.line)
                .collect::<Vec<_>>(),
            preview.skip.iter().map(|row| row.line).collect::<Vec<_>>()
        ),
        (vec![4], vec![2, 3])
    );
    let overlap = imports::import_bank(&*db, ann, None, OVERLAP.as_bytes(), &mapping).await?;
    assert_eq!((overlap.created, overlap.skipped), (1, 2));
    assert_eq!(overlap.batch.as_ref().map(|batch| batch.row_count), Some(1));
    assert_eq!(
        batch_keys(&db, batch_id(&overlap)?).await?,
        preview
            .create
            .iter()
            .map(|row| row.dedupe_key.clone())
            .collect::<Vec<_>>()
    );

    // A third identical coffee in a later export of the month is a new transaction.
    let three = format!("{JANUARY}03/01/2026;Coffee;Cafe;3,50;\n");
    let third = imports::import_bank(&*db, ann, None, three.as_bytes(), &mapping).await?;
    assert_eq!((third.created, third.skipped), (1, 4));
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_transaction").await?,
        6
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_import_batch").await?,
        3
    );

    // Another user imports the same file for themselves.
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    let theirs = imports::import_bank(&*db, bob, None, JANUARY.as_bytes(), &mapping).await?;
    assert_eq!(theirs.created, 4);
    Ok(())
}

#[tokio::test]
async fn external_ids_decide_duplicates() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    // No header: columns by position; a signed amount with `.` decimals.
    let mapping = BankMapping {
        date: ColumnRef::Index(1),
        amount: AmountColumns::Single(ColumnRef::Index(2)),
        description: Some(ColumnRef::Index(3)),
        external_id: Some(ColumnRef::Index(0)),
        has_headers: false,
        ..Default::default()
    };
    let file = "T1,2026-02-01,-10.00,Lunch\n\
                T2,2026-02-01,-10.00,Lunch\n\
                T1,2026-02-01,-10.00,Lunch again\n\
                ,2026-02-02,+5,Refund\n";
    let preview = imports::preview_bank(&*db, ann, file.as_bytes(), &mapping).await?;
    assert_eq!(
        (
            preview
                .create
                .iter()
                .map(|row| row.line)
                .collect::<Vec<_>>(),
            preview.skip.iter().map(|row| row.line).collect::<Vec<_>>()
        ),
        (vec![1, 2, 4], vec![3])
    );
    let keys: Vec<&str> = preview
        .create
        .iter()
        .map(|row| row.dedupe_key.as_str())
        .collect();
    assert_eq!(keys[..2], ["ext:T1", "ext:T2"]);
    assert!(keys[2].starts_with("row:"), "{}", keys[2]);
    assert_eq!(preview.create[2].amount.to_string(), "5.00");
    let imported = imports::import_bank(&*db, ann, None, file.as_bytes(), &mapping).await?;
    assert_eq!((imported.created, imported.skipped), (3, 1));

    // A later file: T2 again (the bank's id wins over changed details), T3 new.
    let later = "T2,2026-02-03,-99.00,Changed\nT3,2026-02-03,-1.00,New\n";
    let next = imports::import_bank(&*db, ann, None, later.as_bytes(), &mapping).await?;
    assert_eq!((next.created, next.skipped), (1, 1));
    assert_eq!(batch_keys(&db, batch_id(&next)?).await?, ["ext:T3"]);
    let again = imports::import_bank(&*db, ann, None, file.as_bytes(), &mapping).await?;
    assert_eq!((again.created, again.skipped), (0, 4));

    // Another source — a second bank with its own T1, a second card with the same purchase
    // — shares no key with the first: its rows are all new, and once only.
    for (source, created) in [("Card 2", 3), ("Card 2", 0), ("Savings", 3)] {
        let other = BankMapping {
            source: Some(source.to_owned()),
            ..mapping.clone()
        };
        let result = imports::import_bank(&*db, ann, None, file.as_bytes(), &other).await?;
        assert_eq!(result.created, created, "{source}");
    }
    let bad = BankMapping {
        source: Some(" ".to_owned()),
        ..mapping.clone()
    };
    let error = imports::import_bank(&*db, ann, None, file.as_bytes(), &bad)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "source"), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn malformed_files_are_refused_whole_with_their_lines() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let mapping = statement_mapping();
    // Line 3: an ISO date; line 5: three decimals; line 6: four fields.
    let file = "Date;Description;Payee;Debit;Credit\n\
                03/01/2026;Coffee;Cafe;3,50;\n\
                2026-01-03;Coffee;Cafe;3,50;\n\
                04/01/2026;Salary;Employer;;2000,00\n\
                05/01/2026;Rent;Landlord;800,125;\n\
                06/01/2026;Groceries;Market;42,10\n";
    let before = written(&db).await?;
    assert_eq!(
        import_lines(imports::preview_bank(&*db, ann, file.as_bytes(), &mapping).await)?,
        [3, 5, 6]
    );
    assert_eq!(
        import_lines(imports::import_bank(&*db, ann, None, file.as_bytes(), &mapping).await)?,
        [3, 5, 6]
    );
    // Both sides, neither, a thousands separator, a negative debit, zeros on both sides.
    let sides = "Date;Description;Payee;Debit;Credit\n\
                 03/01/2026;A;B;3,50;1,00\n\
                 03/01/2026;A;B;;\n\
                 03/01/2026;A;B;1.000,00;\n\
                 03/01/2026;A;B;-3,50;\n\
                 03/01/2026;A;B;0,00;0,00\n\
                 03/01/2026;A;B;3,5;\n";
    assert_eq!(
        import_lines(imports::import_bank(&*db, ann, None, sides.as_bytes(), &mapping).await)?,
        [2, 3, 4, 5, 6]
    );
    // Signed amounts: empty, zero, spaces, beyond the largest amount.
    let single = BankMapping {
        has_headers: false,
        ..Default::default()
    };
    let signed = "2026-01-01,\n\
                  2026-01-01,0.00\n\
                  2026-01-01,1 000.00\n\
                  2026-01-01,100000000000.00\n\
                  2026-01-01,99999999999.99\n\
                  2026-02-30,1.00\n";
    assert_eq!(
        import_lines(imports::import_bank(&*db, ann, None, signed.as_bytes(), &single).await)?,
        [1, 2, 3, 4, 6]
    );
    assert_eq!(
        written(&db).await?,
        before,
        "a refused file wrote something"
    );

    // Mappings and files refused before any row.
    let refusals: Vec<(BankMapping, &str, &str)> = vec![
        (
            BankMapping {
                decimal_separator: ';',
                ..statement_mapping()
            },
            JANUARY,
            "decimal_separator",
        ),
        (
            BankMapping {
                date_format: "%Y-%Q".to_owned(),
                ..statement_mapping()
            },
            JANUARY,
            "date_format",
        ),
        (
            BankMapping {
                delimiter: b'"',
                ..statement_mapping()
            },
            JANUARY,
            "delimiter",
        ),
        (
            BankMapping {
                has_headers: false,
                ..statement_mapping()
            },
            JANUARY,
            "mapping",
        ),
        (
            BankMapping {
                description: Some(ColumnRef::Name("Memo".to_owned())),
                ..statement_mapping()
            },
            JANUARY,
            "mapping",
        ),
        (
            BankMapping {
                counterparty: Some(ColumnRef::Index(5)),
                ..statement_mapping()
            },
            JANUARY,
            "mapping",
        ),
        (statement_mapping(), "", "file"),
        (statement_mapping(), "\u{feff}\n\n", "file"),
    ];
    for (mapping, file, field) in refusals {
        let error = imports::import_bank(&*db, ann, None, file.as_bytes(), &mapping)
            .await
            .err()
            .ok_or_else(|| format!("accepted for {field}"))?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }
    let mut long = String::from("Date;Description;Payee;Debit;Credit\n");
    for _ in 0..=imports::BANK_ROWS_MAX {
        long.push_str("03/01/2026;Coffee;Cafe;3,50;\n");
    }
    let error = imports::import_bank(&*db, ann, None, long.as_bytes(), &mapping)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "file"), "{error:?}");
    let error = imports::import_bank(
        &*db,
        ann,
        Some(&"f".repeat(imports::FILE_NAME_MAX + 1)),
        JANUARY.as_bytes(),
        &mapping,
    )
    .await
    .err()
    .ok_or("accepted")?;
    assert!(is_invalid(&error, "file_name"), "{error:?}");
    assert_eq!(
        written(&db).await?,
        before,
        "a refused file wrote something"
    );
    Ok(())
}

#[tokio::test]
async fn bank_batches_are_undone_as_a_unit_while_unbooked() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let food = account(&db, ann, "Food", AccountType::Expense).await?;
    let mapping = statement_mapping();
    let first = imports::import_bank(&*db, ann, None, JANUARY.as_bytes(), &mapping).await?;
    let first_id = batch_id(&first)?;

    let undone = imports::undo(&*db, ann, first_id).await?;
    assert_eq!(undone.deleted, 4);
    assert!(undone.reversals.is_empty());
    assert!(undone.batch.undone_at.is_some());
    // The undo is announced, and the batch is listed as undone.
    let announced = payloads(&db, "finance.import.undone").await?;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert!(
        announced[0].replace(' ', "").contains("\"deleted\":4"),
        "{announced:?}"
    );
    let listed = imports::list_batches(&*db, ann, None, 10).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, first_id);
    assert!(listed[0].undone_at.is_some());
    for limit in [0, imports::BATCHES_MAX + 1] {
        let error = imports::list_batches(&*db, ann, None, limit)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, "limit"), "{error:?}");
    }
    assert_eq!(imports::get_batch(&*db, ann, first_id).await?, undone.batch);
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_transaction").await?,
        0
    );
    let twice = imports::undo(&*db, ann, first_id).await;
    assert!(
        matches!(twice, Err(Error::AlreadyUndone { batch }) if batch == first_id),
        "{twice:?}"
    );
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    for error in [
        imports::undo(&*db, bob, first_id).await.err(),
        imports::get_batch(&*db, bob, first_id).await.err(),
        imports::undo(&*db, ann, first_id + 1000).await.err(),
    ] {
        let error = error.ok_or("accepted")?;
        assert!(is_not_found(&error), "{error:?}");
    }

    // Undone, the file imports again, in a new batch.
    let second = imports::import_bank(&*db, ann, None, JANUARY.as_bytes(), &mapping).await?;
    assert_eq!(second.created, 4);
    let second_id = batch_id(&second)?;
    assert_ne!(second_id, first_id);

    // One row booked: the batch cannot be undone, and nothing changes.
    let rent = transactions::list(&*db, ann, None, None, None, 10)
        .await?
        .into_iter()
        .find(|transaction| transaction.amount == dec("-800"))
        .ok_or("no rent")?;
    transactions::book(&*db, ann, rent.id, food, bank).await?;
    let before = written(&db).await?;
    let refused = imports::undo(&*db, ann, second_id).await;
    match refused {
        Err(Error::BatchBooked {
            batch,
            transactions,
        }) => assert_eq!((batch, transactions), (second_id, vec![rent.id])),
        other => return Err(format!("unexpected: {other:?}").into()),
    }
    assert_eq!(written(&db).await?, before);
    assert_eq!(
        imports::get_batch(&*db, ann, second_id).await?.undone_at,
        None
    );
    Ok(())
}

#[tokio::test]
async fn racing_imports_of_one_file_create_its_rows_once() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let conn: DatabaseConnection = (*db).clone();
        let mapping = statement_mapping();
        calls.spawn(async move {
            imports::import_bank(
                &conn,
                ann,
                Some("january.csv"),
                JANUARY.as_bytes(),
                &mapping,
            )
            .await
        });
    }
    let (mut created, mut batches) = (0, 0);
    while let Some(result) = calls.join_next().await {
        let result = result??;
        assert_eq!(result.created + result.skipped, 4);
        created += result.created;
        if let Some(batch) = result.batch {
            batches += 1;
            assert_eq!(u64::try_from(batch.row_count)?, result.created);
        }
    }
    assert_eq!(created, 4);
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_transaction").await?,
        4
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_import_batch").await?,
        batches
    );
    Ok(())
}

// --- journal files ---

#[tokio::test]
async fn journal_files_post_entries_once_and_undo_by_reversals() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    lifeos_core::identity::preferences::set(&*db, ann, "timezone", "America/New_York".into())
        .await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let food = account(&db, ann, "Food", AccountType::Expense).await?;
    let salary = account(&db, ann, "Salary", AccountType::Income).await?;
    let mapping = JournalMapping::default();
    let start = written(&db).await?;
    let file = format!(
        "description,amount,debit_account_id,credit_account_id,posted_at\n\
         Groceries,12.30,{food},{bank},2026-01-05 10:00:00\n\
         Salary,1000.00,{bank},{salary},2026-01-06T09:00:00Z\n\
         Groceries,12.30,{food},{bank},2026-01-05 10:00:00\n"
    );
    let preview = imports::preview_journal(&*db, ann, file.as_bytes(), &mapping).await?;
    assert!(preview.skip.is_empty());
    assert_eq!(
        preview
            .create
            .iter()
            .map(|row| row.line)
            .collect::<Vec<_>>(),
        [2, 3, 4]
    );
    let paid = &preview.create[1];
    assert_eq!(
        (
            paid.amount.to_string(),
            paid.debit_account_id,
            paid.credit_account_id,
            paid.posted_at,
            paid.description.as_deref()
        ),
        (
            "1000.00".to_owned(),
            bank,
            salary,
            at(2026, 1, 6, 9)?,
            Some("Salary")
        )
    );
    assert_eq!(preview.create[0].posted_at, at(2026, 1, 5, 10)?);
    assert_eq!(written(&db).await?, start, "a preview writes nothing");

    let imported =
        imports::import_journal(&*db, ann, Some("journal.csv"), file.as_bytes(), &mapping).await?;
    assert_eq!((imported.created, imported.skipped), (3, 0));
    let batch = imported.batch.clone().ok_or("no batch")?;
    assert_eq!(
        (batch.kind, batch.row_count, batch.file_name.as_deref()),
        (ImportKind::Journal, 3, Some("journal.csv"))
    );
    let end = day(2026, 1, 31)?;
    let balance = |account: i32| balances::account_balance(&*db, ann, account, end);
    assert_eq!(balance(food).await?.balance, dec("24.60"));
    assert_eq!(balance(bank).await?.balance, dec("975.40"));
    assert_eq!(balance(salary).await?.balance, dec("1000.00"));
    let of_batch = format!(
        "SELECT count(*) FROM finance_journal_entry WHERE import_batch_id = {} \
         AND dedupe_key IS NOT NULL",
        batch.id
    );
    assert_eq!(count(&db, &of_batch).await?, 3);
    assert_eq!(payloads(&db, "finance.journal.posted").await?.len(), 3);

    // Again: nothing new.
    let before = written(&db).await?;
    let again = imports::import_journal(&*db, ann, None, file.as_bytes(), &mapping).await?;
    assert_eq!((again.created, again.skipped, again.batch), (0, 3, None));
    assert_eq!(written(&db).await?, before);

    // A `date` column: the start of that local day (New York, UTC−5 in January).
    let dated = format!(
        "description,amount,debit_account_id,credit_account_id,date\n\
         Rent,800,{food},{bank},2026-01-07\n"
    );
    let preview = imports::preview_journal(&*db, ann, dated.as_bytes(), &mapping).await?;
    assert_eq!(
        preview.create.first().map(|row| row.posted_at),
        Some(at(2026, 1, 7, 5)?)
    );

    // Undo: every entry reversed (one reversed by hand before is left as it is), none deleted.
    let first_entry = count(
        &db,
        &format!(
            "SELECT CAST(min(id) AS BIGINT) FROM finance_journal_entry \
             WHERE import_batch_id = {}",
            batch.id
        ),
    )
    .await?;
    journal::reverse(&*db, ann, i32::try_from(first_entry)?, None).await?;
    let undone = imports::undo(&*db, ann, batch.id).await?;
    assert_eq!(undone.reversals.len(), 2);
    assert_eq!(undone.deleted, 0);
    assert!(undone.batch.undone_at.is_some());
    let later = day(2100, 1, 1)?;
    for id in [food, bank, salary] {
        assert_eq!(
            balances::account_balance(&*db, ann, id, later)
                .await?
                .balance,
            Decimal::ZERO,
            "account {id}"
        );
    }
    let entries = format!(
        "SELECT count(*) FROM finance_journal_entry WHERE import_batch_id = {}",
        batch.id
    );
    assert_eq!(count(&db, &entries).await?, 3);
    let reversed = format!(
        "SELECT count(*) FROM finance_journal_entry WHERE reverses_entry_id IN \
         (SELECT id FROM finance_journal_entry WHERE import_batch_id = {})",
        batch.id
    );
    assert_eq!(count(&db, &reversed).await?, 3);
    assert_eq!(count(&db, &of_batch).await?, 0, "keys cleared");
    let twice = imports::undo(&*db, ann, batch.id).await;
    assert!(
        matches!(twice, Err(Error::AlreadyUndone { batch: id }) if id == batch.id),
        "{twice:?}"
    );
    // Undone, the file can be imported again.
    let redo = imports::import_journal(&*db, ann, None, file.as_bytes(), &mapping).await?;
    assert_eq!(redo.created, 3);
    Ok(())
}

#[tokio::test]
async fn bad_journal_files_are_refused_whole_with_their_lines() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let food = account(&db, ann, "Food", AccountType::Expense).await?;
    let closed = account(&db, ann, "Closed", AccountType::Expense).await?;
    accounts::set_active(&*db, ann, closed, false).await?;
    let euro = accounts::create(
        &*db,
        ann,
        accounts::NewAccount {
            name: "Euro cash".to_owned(),
            account_type: AccountType::Asset,
            currency: Some("EUR".to_owned()),
            ..Default::default()
        },
    )
    .await?
    .id;
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    let bobs = account(&db, bob, "Bank", AccountType::Asset).await?;
    let mapping = JournalMapping::default();
    let before = written(&db).await?;

    // Another user's account on line 3.
    let theirs = format!(
        "description,amount,debit_account_id,credit_account_id,date\n\
         Fine,1.00,{food},{bank},2026-01-08\n\
         Theirs,1.00,{food},{bobs},2026-01-08\n"
    );
    assert_eq!(
        import_lines(imports::import_journal(&*db, ann, None, theirs.as_bytes(), &mapping).await)?,
        [3]
    );
    assert_eq!(
        import_lines(imports::preview_journal(&*db, ann, theirs.as_bytes(), &mapping).await)?,
        [3]
    );
    // Three decimals, not positive, not an id, no instant, a bad instant, inactive, two
    // currencies, a missing account.
    let bad = format!(
        "description,amount,debit_account_id,credit_account_id,posted_at,date\n\
         A,1.001,{food},{bank},,2026-01-08\n\
         B,-5.00,{food},{bank},,2026-01-08\n\
         C,5.00,x,{bank},,2026-01-08\n\
         D,5.00,{food},{bank},,\n\
         E,5.00,{food},{bank},yesterday,\n\
         F,5.00,{closed},{bank},,2026-01-08\n\
         G,5.00,{food},{euro},,2026-01-08\n\
         H,5.00,{food},999999,,2026-01-08\n\
         Fine,5.00,{food},{bank},2026-01-08 10:00:00,\n"
    );
    assert_eq!(
        import_lines(imports::import_journal(&*db, ann, None, bad.as_bytes(), &mapping).await)?,
        [2, 3, 4, 5, 6, 7, 8, 9]
    );
    // Columns missing.
    for header in [
        "description,debit_account_id,credit_account_id,date",
        "description,amount,debit_account_id,credit_account_id",
    ] {
        let file = format!("{header}\nx\n");
        let error = imports::import_journal(&*db, ann, None, file.as_bytes(), &mapping)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, "file"), "{error:?}");
    }
    let mut long = String::from("description,amount,debit_account_id,credit_account_id,date\n");
    for _ in 0..=imports::JOURNAL_ROWS_MAX {
        long.push_str(&format!("x,1.00,{food},{bank},2026-01-08\n"));
    }
    let error = imports::import_journal(&*db, ann, None, long.as_bytes(), &mapping)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "file"), "{error:?}");
    assert_eq!(
        written(&db).await?,
        before,
        "a refused file wrote something"
    );
    Ok(())
}

// --- query plans ---

#[tokio::test]
async fn duplicate_lookups_and_lists_are_served_by_their_indexes() -> TestResult {
    use lifeos_testkit::explain::assert_index_serves;
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    // Three users, 400 imported transactions each, an hour apart.
    let series = if postgres {
        "SELECT g FROM generate_series(1, 400) AS g".to_owned()
    } else {
        "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 400) \
         SELECT g FROM s"
            .to_owned()
    };
    let hours = if postgres {
        "TIMESTAMP '2025-01-01' + g * INTERVAL '1 hour'"
    } else {
        "datetime('2025-01-01', '+' || g || ' hours')"
    };
    let mut owners = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let owner = lifeos_testkit::user(&db, email).await?;
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO finance_transaction \
                 (user_id, amount, description, occurred_at, source, dedupe_key) \
                 SELECT {owner}, 1, 't' || g, {hours}, 'import', 'row:' || g \
                 FROM ({series}) AS s"
            ),
        ))
        .await?;
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO finance_import_batch (user_id, kind, row_count, created_at) \
                 SELECT {owner}, 'bank', 1, {hours} FROM ({series}) AS s"
            ),
        ))
        .await?;
        owners.push(owner);
    }
    db.execute_raw(Statement::from_string(backend, "ANALYZE"))
        .await?;
    let owner = owners[1];

    let keys = ["row:1".to_owned(), "row:2".to_owned()];
    let lookup = imports::existing_keys_select(owner, &keys)
        .build(backend)
        .to_string();
    assert_index_serves(
        &db,
        &lookup,
        "ux_finance_transaction_user_dedupe",
        "dedupe_key",
    )
    .await?;

    let (start, end) = (at(2025, 1, 5, 0)?, at(2025, 1, 7, 0)?);
    let cursor = TransactionCursor {
        occurred_at: at(2025, 1, 6, 0)?,
        id: i32::MAX,
    };
    for after in [None, Some(cursor)] {
        let list = transactions::list_select(owner, Some(start), Some(end), after, 50)
            .build(backend)
            .to_string();
        assert_index_serves(
            &db,
            &list,
            "ix_finance_transaction_user_occurred_at",
            "occurred_at",
        )
        .await?;
        // A page of batches after a cursor: by the batch's creation time.
        let batches = imports::batches_select(owner, after.map(|c| (c.occurred_at, 1)), 20)
            .build(backend)
            .to_string();
        let column = if after.is_some() {
            "created_at"
        } else {
            "user_id"
        };
        assert_index_serves(
            &db,
            &batches,
            "ix_finance_import_batch_user_created_at",
            column,
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn files_without_rows_are_refused() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    for file in ["", "date,amount\n", "date,amount\n,\n\n"] {
        let error = imports::import_bank(&*db, ann, None, file.as_bytes(), &BankMapping::default())
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, "file"), "{file:?}: {error:?}");
    }
    Ok(())
}
