//! Ledgers, periods and roll-ups, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`)
//! PostgreSQL: the running balance across pages and back-dated entries, the journal by day,
//! a period's trial balance and its category roll-ups, the monthly roll-up by the user's
//! months, bad input, another user's ids, and the indexes that serve each statement.

use chrono::{NaiveDate, TimeZone, Utc};
use lifeos_entity::{Timestamp, UserId};
use lifeos_finance::entity::finance_account::AccountType;
use lifeos_finance::service::journal;
use lifeos_finance::service::{accounts, balances, ledger};
use lifeos_testkit::TestDb;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryTrait, Statement, TransactionTrait};

mod common;
use common::day;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn at(y: i32, m: u32, d: u32, h: u32) -> Result<Timestamp, Box<dyn std::error::Error>> {
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
) -> Result<i32, Box<dyn std::error::Error>> {
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

/// Posts `amount` from `credit` to `debit` at `when`.
async fn pay(
    db: &DatabaseConnection,
    owner: UserId,
    amount: &str,
    debit: i32,
    credit: i32,
    when: Timestamp,
) -> Result<i32, Box<dyn std::error::Error>> {
    Ok(
        journal::record_transaction(db, owner, amount.parse()?, debit, credit, None, Some(when))
            .await?
            .entry
            .id,
    )
}

fn is_invalid(error: &lifeos_finance::Error, field: &str) -> bool {
    matches!(error, lifeos_finance::Error::Core(lifeos_core::Error::Invalid { field: f, .. }) if *f == field)
}

fn is_not_found(error: &lifeos_finance::Error) -> bool {
    matches!(
        error,
        lifeos_finance::Error::Core(lifeos_core::Error::NotFound { .. })
    )
}

#[tokio::test]
async fn the_ledger_runs_its_balance_across_pages_and_back_dated_entries() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let pay_account = account(&db, ann, "Salary", AccountType::Income).await?;
    let food = account(&db, ann, "Food", AccountType::Expense).await?;
    pay(&db, ann, "100.00", bank, pay_account, at(2026, 1, 1, 9)?).await?;
    pay(&db, ann, "0.10", food, bank, at(2026, 1, 2, 9)?).await?;
    pay(&db, ann, "0.20", food, bank, at(2026, 1, 2, 9)?).await?;
    pay(&db, ann, "50.00", bank, pay_account, at(2026, 1, 3, 9)?).await?;

    let first = ledger::ledger(&*db, ann, bank, None, 2).await?;
    assert_eq!(first.opening, Decimal::ZERO);
    let balances: Vec<String> = first
        .rows
        .iter()
        .map(|row| row.balance.to_string())
        .collect();
    assert_eq!(balances, ["100.00", "99.90"]);
    let cursor = first.next.ok_or("a second page")?;
    // An entry back-dated before the cursor, posted between two page reads: the next page
    // neither repeats nor skips a row, and its opening balance includes the new entry.
    pay(&db, ann, "1.00", food, bank, at(2025, 12, 31, 9)?).await?;
    let second = ledger::ledger(&*db, ann, bank, Some(cursor), 2).await?;
    assert_eq!(second.opening, "98.90".parse()?);
    let balances: Vec<String> = second
        .rows
        .iter()
        .map(|row| row.balance.to_string())
        .collect();
    assert_eq!(balances, ["98.70", "148.70"]);
    assert_eq!(second.next, None);
    assert_eq!(
        second.rows.last().map(|row| row.balance),
        Some(
            balances::account_balance(&*db, ann, bank, day(2026, 1, 3)?)
                .await?
                .balance
        )
    );
    // The expense account is debit-normal; income credit-normal.
    let food_page = ledger::ledger(&*db, ann, food, None, 10).await?;
    assert_eq!(
        food_page.rows.last().map(|row| row.balance),
        Some("1.30".parse()?)
    );
    let income = ledger::ledger(&*db, ann, pay_account, None, 10).await?;
    assert_eq!(
        income.rows.last().map(|row| row.balance),
        Some("150.00".parse()?)
    );

    // Bad input, another user's account.
    for limit in [0, ledger::LIMIT_MAX + 1] {
        let error = ledger::ledger(&*db, ann, bank, None, limit)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, "limit"), "{error:?}");
    }
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    let theirs = ledger::ledger(&*db, bob, bank, None, 10)
        .await
        .err()
        .ok_or("read")?;
    assert!(is_not_found(&theirs), "{theirs:?}");
    Ok(())
}

#[tokio::test]
async fn journal_entries_are_listed_by_local_day_and_paged() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    // New York: 2 January 03:00 UTC is still 1 January.
    lifeos_core::identity::preferences::set(&*db, ann, "timezone", "America/New_York".into())
        .await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let equity = account(&db, ann, "Capital", AccountType::Equity).await?;
    let mut ids = Vec::new();
    for hour in [15, 15, 20] {
        ids.push(pay(&db, ann, "1.00", bank, equity, at(2026, 1, 1, hour)?).await?);
    }
    ids.push(pay(&db, ann, "1.00", bank, equity, at(2026, 1, 2, 3)?).await?);
    let late = pay(&db, ann, "1.00", bank, equity, at(2026, 1, 2, 6)?).await?;

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = ledger::entries(&*db, ann, day(2026, 1, 1)?, day(2026, 1, 1)?, after, 2).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.posted_at, last.id));
        seen.extend(page.iter().map(|entry| entry.id));
    }
    assert_eq!(
        seen, ids,
        "1 January in New York, in posting order, once each"
    );
    let next_day = ledger::entries(&*db, ann, day(2026, 1, 2)?, day(2026, 1, 2)?, None, 10).await?;
    assert_eq!(
        next_day.iter().map(|entry| entry.id).collect::<Vec<_>>(),
        [late]
    );
    let error = ledger::entries(&*db, ann, day(2026, 1, 2)?, day(2026, 1, 1)?, None, 10)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "period"), "{error:?}");
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    assert!(
        ledger::entries(&*db, bob, day(2026, 1, 1)?, day(2026, 1, 2)?, None, 10)
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn periods_roll_up_by_category_and_months_follow_the_users_zone() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    lifeos_core::identity::preferences::set(&*db, ann, "timezone", "America/New_York".into())
        .await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset).await?;
    let cash = account(&db, ann, "Cash", AccountType::Asset).await?;
    let salary = account(&db, ann, "Salary", AccountType::Income).await?;
    // Cash is uncategorised (history allowed it).
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!("UPDATE finance_account SET category_id = NULL WHERE id = {cash}"),
    ))
    .await?;
    pay(&db, ann, "10.00", bank, salary, at(2026, 1, 15, 12)?).await?;
    // 1 February 03:00 UTC is 31 January in New York.
    pay(&db, ann, "0.10", cash, salary, at(2026, 2, 1, 3)?).await?;
    pay(&db, ann, "0.20", cash, salary, at(2026, 2, 10, 12)?).await?;

    let january = balances::period_balance(&*db, ann, day(2026, 1, 1)?, day(2026, 1, 31)?).await?;
    assert_eq!(january.from, Some(day(2026, 1, 1)?));
    let of = |trial: &balances::TrialBalance, id: i32| {
        trial
            .rows
            .iter()
            .find(|row| row.account.id == id)
            .map(|row| row.balance.balance)
    };
    assert_eq!(of(&january, bank), Some("10.00".parse()?));
    assert_eq!(of(&january, cash), Some("0.10".parse()?));
    assert_eq!(of(&january, salary), Some("10.10".parse()?));
    let february = balances::period_balance(&*db, ann, day(2026, 2, 1)?, day(2026, 2, 28)?).await?;
    assert_eq!(of(&february, cash), Some("0.20".parse()?));
    // No lines in February, and created (today) after it: not in February's trial balance.
    assert_eq!(of(&february, bank), None);
    assert_eq!(
        february.totals.get("USD").copied(),
        Some(("0.20".parse()?, "0.20".parse()?))
    );
    // Roll-ups: per type and category, uncategorised first within its type and named so.
    let labels: Vec<(AccountType, Option<String>, String, String)> = january
        .rollups
        .iter()
        .map(|rollup| {
            (
                rollup.account_type,
                rollup.category_id.map(|_| "some".to_owned()),
                rollup.category_name.clone(),
                rollup.balance.to_string(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            (
                AccountType::Asset,
                None,
                "Uncategorized".to_owned(),
                "0.10".to_owned()
            ),
            (
                AccountType::Asset,
                Some("some".to_owned()),
                "Default Asset".to_owned(),
                "10.00".to_owned()
            ),
            (
                AccountType::Income,
                Some("some".to_owned()),
                "Default Income".to_owned(),
                "10.10".to_owned()
            ),
        ]
    );
    let error = balances::period_balance(&*db, ann, day(2026, 2, 1)?, day(2026, 1, 1)?)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "period"), "{error:?}");

    let months = balances::monthly(&*db, ann, day(2026, 1, 20)?, 2).await?;
    let cash_months: Vec<(String, String)> = months
        .iter()
        .filter(|row| row.account_id == cash)
        .map(|row| (row.month.clone(), row.change.to_string()))
        .collect();
    assert_eq!(
        cash_months,
        [
            ("2026-01".to_owned(), "0.10".to_owned()),
            ("2026-02".to_owned(), "0.20".to_owned())
        ]
    );
    for count in [0, balances::MONTHS_MAX + 1] {
        let error = balances::monthly(&*db, ann, day(2026, 1, 1)?, count)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, "count"), "{error:?}");
    }
    let error = balances::monthly(&*db, ann, NaiveDate::MAX, 2)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "first"), "{error:?}");
    let error = balances::monthly(&*db, ann, day(9999, 12, 1)?, 2)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "count"), "{error:?}");
    // Beyond the year 9999 the backends would disagree: refused.
    let error = balances::trial_balance(&*db, ann, day(10000, 1, 1)?)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "day"), "{error:?}");
    let error = ledger::entries(&*db, ann, day(2026, 1, 1)?, NaiveDate::MAX, None, 10)
        .await
        .err()
        .ok_or("accepted")?;
    assert!(is_invalid(&error, "period"), "{error:?}");
    // Another user sees none of it.
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    assert!(
        balances::monthly(&*db, bob, day(2026, 1, 1)?, 2)
            .await?
            .is_empty()
    );
    let theirs = balances::period_balance(&*db, bob, day(2026, 1, 1)?, day(2026, 2, 28)?).await?;
    assert!(theirs.rows.is_empty() && theirs.rollups.is_empty() && theirs.totals.is_empty());
    Ok(())
}

#[tokio::test]
async fn ledgers_journals_and_trial_balances_are_served_by_their_indexes() -> TestResult {
    use lifeos_testkit::explain::assert_index_serves;
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    // Three users, each with 300 two-line entries over 300 days: every entry credits the
    // capital account and debits one of twenty asset accounts in turn.
    let mut users = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let owner = lifeos_testkit::user(&db, email).await?;
        let equity = account(&db, owner, "Capital", AccountType::Equity).await?;
        let mut assets = Vec::new();
        for n in 0..20 {
            assets.push(account(&db, owner, &format!("Asset {n}"), AccountType::Asset).await?);
        }
        let bank = assets[0];
        let first_asset = bank;
        let series = if postgres {
            "SELECT g FROM generate_series(1, 300) AS g".to_owned()
        } else {
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 300) \
             SELECT g FROM s"
                .to_owned()
        };
        let days = if postgres {
            "TIMESTAMP '2025-01-01' + g * INTERVAL '1 day'"
        } else {
            "datetime('2025-01-01', '+' || g || ' days')"
        };
        let txn = db.begin().await?;
        for sql in [
            format!(
                "INSERT INTO finance_journal_entry (user_id, description, posted_at) \
                 SELECT {owner}, 'e' || g, {days} FROM ({series}) AS s"
            ),
            format!(
                "INSERT INTO finance_journal_line (entry_id, account_id, debit, credit) \
                 SELECT id, {first_asset} + id % 20, 1, 0 FROM finance_journal_entry \
                 WHERE user_id = {owner}"
            ),
            format!(
                "INSERT INTO finance_journal_line (entry_id, account_id, debit, credit) \
                 SELECT id, {equity}, 0, 1 FROM finance_journal_entry WHERE user_id = {owner}"
            ),
        ] {
            // One transaction: PostgreSQL checks at commit that every entry has its lines.
            txn.execute_raw(Statement::from_string(backend, sql))
                .await?;
        }
        txn.commit().await?;
        users.push((owner, bank));
    }
    // Every entry was imported: its duplicate key.
    db.execute_raw(Statement::from_string(
        backend,
        "UPDATE finance_journal_entry SET dedupe_key = 'row:' || CAST(id AS VARCHAR(12))",
    ))
    .await?;
    db.execute_raw(Statement::from_string(backend, "ANALYZE"))
        .await?;
    let (owner, bank) = users[1];
    let start = at(2025, 6, 1, 0)?;
    let end = at(2025, 7, 1, 0)?;

    // The trial balance as of a day, and for a period: by the user's posting times.
    // (As of a day early in the data: as of the last day, every entry qualifies and the
    // planner rightly reads the user's entries by `user_id` alone.)
    let early = at(2025, 1, 20, 0)?;
    for statement in [
        balances::sums_statement(backend, owner, None, early, None),
        balances::sums_statement(backend, owner, Some(start), end, None),
        balances::monthly_statement(backend, owner, &[("2025-06".to_owned(), start, end)]),
    ] {
        assert_index_serves(
            &db,
            &statement.to_string(),
            "ix_finance_journal_entry_user_posted_at",
            "posted_at",
        )
        .await?;
    }
    // A journal import's duplicate lookup: by the key.
    let keys = ["row:7".to_owned(), "row:8".to_owned()];
    let lookup = lifeos_finance::service::imports::existing_entry_keys_select(owner, &keys)
        .build(backend)
        .to_string();
    assert_index_serves(
        &db,
        &lookup,
        "ux_finance_journal_entry_user_dedupe",
        "dedupe_key",
    )
    .await?;
    // An account's ledger: by its account id.
    let cursor = ledger::LedgerCursor {
        posted_at: start,
        entry_id: 1,
        line_id: 1,
    };
    for statement in [
        ledger::page_statement(backend, owner, bank, None, 50),
        ledger::page_statement(backend, owner, bank, Some(&cursor), 50),
    ] {
        assert_index_serves(
            &db,
            &statement.to_string(),
            "ix_finance_journal_line_account_id",
            "account_id",
        )
        .await?;
    }
    // The journal by day, and its next page.
    for after in [None, Some((start, 1))] {
        let journal_by_day = ledger::entries_select(owner, start, end, after, 50)
            .build(backend)
            .to_string();
        assert_index_serves(
            &db,
            &journal_by_day,
            "ix_finance_journal_entry_user_posted_at",
            "posted_at",
        )
        .await?;
    }
    Ok(())
}
