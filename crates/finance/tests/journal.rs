//! The exact journal, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: posting and
//! every refusal (nothing written), per-currency balance, reversal once (also racing), the
//! simple transaction, another user's ids, and PostgreSQL's own guard against raw SQL.

use lifeos_entity::UserId;
use lifeos_finance::Error;
use lifeos_finance::service::accounts::{self, NewAccount};
use lifeos_finance::service::journal::{self, AMOUNT_MAX, NewEntry, NewLine};
use lifeos_testkit::TestDb;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

mod common;
use common::{kind, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn account(
    db: &DatabaseConnection,
    owner: UserId,
    name: &str,
    currency: &str,
) -> Result<i32, Box<dyn std::error::Error>> {
    Ok(accounts::create(
        db,
        owner,
        NewAccount {
            name: name.to_owned(),
            account_type: kind("asset"),
            currency: Some(currency.to_owned()),
            ..Default::default()
        },
    )
    .await?
    .id)
}

#[allow(clippy::expect_used)] // only literals of this file: a typo must stop the test
fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal literal")
}

/// Entries, lines and outbox rows: what a refused call must leave unchanged.
async fn written(db: &DatabaseConnection) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    rows_in(
        db,
        &[
            "finance_journal_entry",
            "finance_journal_line",
            "platform_outbox",
        ],
    )
    .await
}

/// Debit `from`, credit `to`, `amount` each.
fn two_line(from: i32, to: i32, amount: &str) -> NewEntry {
    entry(vec![
        NewLine::debit(from, dec(amount)),
        NewLine::credit(to, dec(amount)),
    ])
}

fn entry(lines: Vec<NewLine>) -> NewEntry {
    NewEntry {
        description: Some("test".to_owned()),
        posted_at: None,
        lines,
    }
}

#[tokio::test]
async fn a_balanced_entry_is_posted_exactly_with_its_event() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let (bank, food, fun) = (
        account(&db, ann, "Bank", "USD").await?,
        account(&db, ann, "Food", "USD").await?,
        account(&db, ann, "Fun", "USD").await?,
    );
    let posted = journal::post(
        &*db,
        ann,
        entry(vec![
            NewLine::debit(food, dec("0.10")).memo("bread"),
            NewLine::debit(fun, dec("0.20")),
            NewLine::credit(bank, dec("0.30")),
        ]),
    )
    .await?;
    assert_eq!(posted.lines.len(), 3);
    assert_eq!(posted.lines[0].debit, dec("0.1"));
    assert_eq!(posted.lines[0].memo.as_deref(), Some("bread"));
    assert_eq!(posted.lines[2].credit, dec("0.3"));
    assert_eq!(journal::get(&*db, ann, posted.entry.id).await?, posted);
    let event: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(payload AS TEXT) FROM platform_outbox \
             WHERE event_type = 'finance.journal.posted'",
        ))
        .await?
        .ok_or("no event")?
        .try_get_by_index(0)?;
    let event = event.replace(' ', "");
    assert!(
        event.contains("\"USD\":\"0.30\"") && event.contains("\"line_count\":3"),
        "{event}"
    );

    // Several currencies in one entry, each balanced on its own.
    let (eur_bank, eur_food) = (
        account(&db, ann, "Konto", "EUR").await?,
        account(&db, ann, "Essen", "EUR").await?,
    );
    journal::post(
        &*db,
        ann,
        entry(vec![
            NewLine::debit(food, dec("12.34")),
            NewLine::credit(bank, dec("12.34")),
            NewLine::debit(eur_food, dec("11.00")),
            NewLine::credit(eur_bank, dec("11")),
        ]),
    )
    .await?;
    let simple =
        journal::record_transaction(&*db, ann, dec("99.99"), food, bank, Some("lunch"), None)
            .await?;
    assert_eq!(simple.lines.len(), 2);
    assert_eq!(
        (simple.lines[0].debit, simple.lines[1].credit),
        (dec("99.99"), dec("99.99"))
    );
    assert_eq!(AMOUNT_MAX.to_string(), "99999999999.99");
    journal::record_transaction(&*db, ann, AMOUNT_MAX, food, bank, None, None).await?;
    // Trailing zeros are not extra decimals; a negative zero is no amount; 100 lines are
    // allowed.
    let tidy = journal::post(
        &*db,
        ann,
        entry(vec![
            NewLine {
                account_id: food,
                debit: dec("1.000"),
                credit: dec("-0"),
                memo: None,
            },
            NewLine::credit(bank, dec("1")),
        ]),
    )
    .await?;
    assert_eq!(
        (
            tidy.lines[0].debit.to_string(),
            tidy.lines[0].credit.to_string()
        ),
        ("1.00".to_owned(), "0.00".to_owned())
    );
    let mut hundred = vec![NewLine::credit(bank, dec("0.99"))];
    hundred.extend((0..99).map(|_| NewLine::debit(food, dec("0.01"))));
    assert_eq!(
        journal::post(&*db, ann, entry(hundred)).await?.lines.len(),
        100
    );
    Ok(())
}

#[tokio::test]
async fn every_bad_entry_is_refused_with_its_error_and_writes_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let (bank, food) = (
        account(&db, ann, "Bank", "USD").await?,
        account(&db, ann, "Food", "USD").await?,
    );
    let euro = account(&db, ann, "Konto", "EUR").await?;
    let closed = account(&db, ann, "Old", "USD").await?;
    accounts::set_active(&*db, ann, closed, false).await?;
    let bobs = account(&db, bob, "Bob's bank", "USD").await?;
    let before = written(&db).await?;

    let pair = |debit: &str, credit: &str| {
        vec![
            NewLine::debit(food, dec(debit)),
            NewLine::credit(bank, dec(credit)),
        ]
    };
    let invalid_cases: Vec<(&str, NewEntry)> = vec![
        ("one line", entry(vec![NewLine::debit(food, dec("1"))])),
        (
            "101 lines",
            entry(
                (0..101)
                    .map(|i| {
                        if i == 0 {
                            NewLine::credit(bank, dec("100"))
                        } else {
                            NewLine::debit(food, dec("1"))
                        }
                    })
                    .collect(),
            ),
        ),
        ("negative", entry(pair("-5", "-5"))),
        (
            "both sides",
            entry(vec![
                NewLine {
                    account_id: food,
                    debit: dec("5"),
                    credit: dec("5"),
                    memo: None,
                },
                NewLine::credit(bank, dec("0.01")),
            ]),
        ),
        (
            "neither side",
            entry(vec![
                NewLine::debit(food, Decimal::ZERO),
                NewLine::credit(bank, Decimal::ZERO),
            ]),
        ),
        ("three decimals", entry(pair("0.001", "0.001"))),
        (
            "too large",
            entry(pair("100000000000.00", "100000000000.00")),
        ),
        (
            "long description",
            NewEntry {
                description: Some("x".repeat(513)),
                ..entry(pair("1", "1"))
            },
        ),
        (
            "long memo",
            entry(vec![
                NewLine::debit(food, dec("1")).memo(&"m".repeat(513)),
                NewLine::credit(bank, dec("1")),
            ]),
        ),
    ];
    for (case, new) in invalid_cases {
        let error = journal::post(&*db, ann, new).await.err().ok_or(case)?;
        assert!(
            matches!(error, Error::Core(lifeos_core::Error::Invalid { .. })),
            "{case}: {error:?}"
        );
    }
    let unbalanced = journal::post(&*db, ann, entry(pair("10.00", "9.99"))).await;
    assert!(
        matches!(&unbalanced, Err(Error::Unbalanced { currency, debits, credits })
            if currency == "USD" && *debits == dec("10") && *credits == dec("9.99")),
        "{unbalanced:?}"
    );
    // Balanced in total, not per currency.
    let mixed = journal::post(&*db, ann, two_line(food, euro, "10")).await;
    assert!(matches!(mixed, Err(Error::Unbalanced { .. })), "{mixed:?}");
    let inactive = journal::post(&*db, ann, two_line(closed, bank, "1")).await;
    assert!(
        matches!(inactive, Err(Error::InactiveAccount { .. })),
        "{inactive:?}"
    );
    let theirs = journal::post(&*db, ann, two_line(bobs, bank, "1")).await;
    assert!(
        matches!(
            theirs,
            Err(Error::Core(lifeos_core::Error::NotFound { .. }))
        ),
        "{theirs:?}"
    );
    assert_eq!(
        written(&db).await?,
        before,
        "a refused entry wrote something"
    );
    Ok(())
}

#[tokio::test]
async fn an_entry_is_reversed_once_even_by_racing_calls() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let (bank, food) = (
        account(&db, ann, "Bank", "USD").await?,
        account(&db, ann, "Food", "USD").await?,
    );
    let posted =
        journal::record_transaction(&*db, ann, dec("42.50"), food, bank, None, None).await?;
    // The account closes; the correction is still possible.
    accounts::set_active(&*db, ann, food, false).await?;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let conn: DatabaseConnection = (*db).clone();
        let id = posted.entry.id;
        calls.spawn(async move { journal::reverse(&conn, ann, id, None).await });
    }
    let (mut reversals, mut refused) = (Vec::new(), 0);
    while let Some(result) = calls.join_next().await {
        match result? {
            Ok(reversal) => reversals.push(reversal),
            Err(Error::AlreadyReversed { entry }) if entry == posted.entry.id => refused += 1,
            Err(other) => return Err(format!("unexpected: {other:?}").into()),
        }
    }
    assert_eq!((reversals.len(), refused), (1, 4));
    let reversal = &reversals[0];
    assert_eq!(reversal.entry.reverses_entry_id, Some(posted.entry.id));
    assert_eq!(
        (reversal.lines[0].account_id, reversal.lines[0].credit),
        (food, dec("42.5"))
    );
    assert_eq!(
        (reversal.lines[1].account_id, reversal.lines[1].debit),
        (bank, dec("42.5"))
    );
    // A reversal is an entry like any other: it can be reversed (once) in turn.
    let back = journal::reverse(&*db, ann, reversal.entry.id, Some("re-instated")).await?;
    assert_eq!(back.entry.reverses_entry_id, Some(reversal.entry.id));
    assert_eq!(back.lines[0].debit, dec("42.5"));
    Ok(())
}

#[tokio::test]
async fn another_users_entries_and_accounts_behave_as_missing_ones() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let (bank, food) = (
        account(&db, ann, "Bank", "USD").await?,
        account(&db, ann, "Food", "USD").await?,
    );
    let posted = journal::record_transaction(&*db, ann, dec("5"), food, bank, None, None).await?;
    let bob_bank = account(&db, bob, "Bank", "USD").await?;
    let before = written(&db).await?;
    let errors = [
        journal::get(&*db, bob, posted.entry.id).await.err(),
        journal::reverse(&*db, bob, posted.entry.id, None)
            .await
            .err(),
        journal::record_transaction(&*db, bob, dec("5"), food, bob_bank, None, None)
            .await
            .err(),
    ];
    for error in errors {
        let error = error.ok_or("another user's entry or account was reachable")?;
        assert!(
            matches!(error, Error::Core(lifeos_core::Error::NotFound { .. })),
            "{error:?}"
        );
    }
    assert_eq!(written(&db).await?, before);
    Ok(())
}

/// PostgreSQL checks every entry whose lines change, at commit: raw SQL cannot unbalance an
/// entry or leave it with one line. (SQLite has no such guard: there the service is the
/// only writer that checks, as the crate documents; this test shows raw SQL gets through.)
#[tokio::test]
async fn postgresql_refuses_raw_sql_that_unbalances_an_entry() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    if db.get_database_backend() != DbBackend::Postgres {
        // SQLite has no guard of its own (the crate documents it): raw SQL gets through.
        let (bank, food) = (
            account(&db, ann, "Bank", "USD").await?,
            account(&db, ann, "Food", "USD").await?,
        );
        let posted =
            journal::record_transaction(&*db, ann, dec("5"), food, bank, None, None).await?;
        db.execute_unprepared(&format!(
            "UPDATE finance_journal_line SET debit = 6 WHERE id = {}",
            posted.lines[0].id
        ))
        .await?;
        return Ok(());
    }
    let (bank, food) = (
        account(&db, ann, "Bank", "USD").await?,
        account(&db, ann, "Food", "USD").await?,
    );
    let euro = account(&db, ann, "Konto", "EUR").await?;
    let posted = journal::record_transaction(&*db, ann, dec("5"), food, bank, None, None).await?;
    let other = journal::record_transaction(&*db, ann, dec("3"), food, bank, None, None).await?;
    let id = posted.entry.id;
    let line = posted.lines[0].id;
    let before = written(&db).await?;
    let attempts = [
        format!("UPDATE finance_journal_line SET debit = 6 WHERE id = {line}"),
        format!("DELETE FROM finance_journal_line WHERE id = {line}"),
        format!(
            "INSERT INTO finance_journal_line (entry_id, account_id, debit, credit) \
             VALUES ({id}, {food}, 0.01, 0)"
        ),
        format!("UPDATE finance_journal_line SET account_id = {euro} WHERE id = {line}"),
        format!("UPDATE finance_account SET currency = 'EUR' WHERE id = {food}"),
        format!("INSERT INTO finance_journal_entry (user_id) VALUES ({ann})"),
        // Moving a line to another (balanced) entry unbalances both.
        format!(
            "UPDATE finance_journal_line SET entry_id = {other} WHERE id = {line}",
            other = other.entry.id
        ),
        format!(
            "INSERT INTO finance_journal_entry (user_id) VALUES ({ann}); \
             INSERT INTO finance_journal_line (entry_id, account_id, debit, credit) \
             VALUES (currval(pg_get_serial_sequence('finance_journal_entry', 'id')), {food}, 1, 0)"
        ),
    ];
    for sql in attempts {
        let outcome = db.execute_unprepared(&sql).await;
        assert!(
            outcome.as_ref().is_err_and(|error| {
                let text = error.to_string();
                text.contains("journal entry") || text.contains("journal lines")
            }),
            "{sql}: {outcome:?}"
        );
    }
    assert_eq!(written(&db).await?, before);
    // A balanced change inside one transaction commits.
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!(
        "UPDATE finance_journal_line SET debit = 7 WHERE id = {line}; \
         UPDATE finance_journal_line SET credit = 7 WHERE entry_id = {id} AND id <> {line}"
    ))
    .await?;
    txn.commit().await?;
    Ok(())
}
