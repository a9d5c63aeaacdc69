//! Balances, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: the local day's end,
//! the normal side, another user's account, and a property test — random balanced entries of
//! awkward amounts (0.01s, 0.1 + 0.2, the largest amount) — checking every account balance and
//! the trial balance to the cent against sums computed in Rust.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use lifeos_entity::{Timestamp, UserId};
use lifeos_finance::service::journal::{self, AMOUNT_MAX, NewEntry, NewLine};
use lifeos_finance::service::{accounts, balances, ledger};
use lifeos_testkit::TestDb;
use proptest::prelude::*;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

mod common;
use common::{day, kind};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn account(
    db: &DatabaseConnection,
    owner: UserId,
    name: &str,
    account_type: &str,
) -> Result<i32, Box<dyn std::error::Error>> {
    Ok(accounts::create(
        db,
        owner,
        accounts::NewAccount {
            name: name.to_owned(),
            account_type: kind(account_type),
            ..Default::default()
        },
    )
    .await?
    .id)
}

#[tokio::test]
async fn balances_count_entries_up_to_the_end_of_the_users_local_day() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    lifeos_core::identity::preferences::set(&*db, ann, "timezone", "Asia/Seoul".into()).await?;
    let bank = account(&db, ann, "Bank", "asset").await?;
    let salary = account(&db, ann, "Salary", "income").await?;
    // 23:30 on 1 March in Seoul is 14:30 UTC; 00:30 on 2 March is 15:30 UTC.
    for (hour, amount) in [(14, "100.00"), (15, "0.01")] {
        journal::record_transaction(
            &*db,
            ann,
            amount.parse()?,
            bank,
            salary,
            None,
            Some(Timestamp(
                Utc.with_ymd_and_hms(2026, 3, 1, hour, 30, 0)
                    .single()
                    .ok_or("bad time")?,
            )),
        )
        .await?;
    }
    let first = balances::account_balance(&*db, ann, bank, day(2026, 3, 1)?).await?;
    assert_eq!(first.balance, "100.00".parse()?);
    let second = balances::account_balance(&*db, ann, bank, day(2026, 3, 2)?).await?;
    assert_eq!(second.balance, "100.01".parse()?);
    // Income is credit-normal: positive too.
    let income = balances::account_balance(&*db, ann, salary, day(2026, 3, 2)?).await?;
    assert_eq!(
        (income.credits, income.balance),
        ("100.01".parse()?, "100.01".parse()?)
    );
    let before = balances::account_balance(&*db, ann, bank, day(2026, 2, 28)?).await?;
    assert_eq!(before.balance, Decimal::ZERO);

    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    let theirs = balances::account_balance(&*db, bob, bank, day(2026, 3, 2)?).await;
    assert!(
        matches!(
            theirs,
            Err(lifeos_finance::Error::Core(
                lifeos_core::Error::NotFound { .. }
            ))
        ),
        "{theirs:?}"
    );
    assert!(
        balances::trial_balance(&*db, bob, day(2026, 3, 2)?)
            .await?
            .rows
            .is_empty()
    );
    Ok(())
}

/// An amount from an awkward set.
fn amount() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::new(1, 2)),
        Just(Decimal::new(10, 2)),
        Just(Decimal::new(20, 2)),
        Just(Decimal::new(30, 2)),
        // x·100 falls just below the integer in binary floating point.
        Just(Decimal::new(29, 2)),
        Just(Decimal::new(57, 2)),
        Just(Decimal::new(115, 2)),
        (1i64..10_000_000).prop_map(|cents| Decimal::new(cents, 2)),
        Just(AMOUNT_MAX),
    ]
}

/// An entry: debits on some of the four accounts (by index), one credit line balancing them
/// — mostly a few awkward amounts; sometimes 99 lines of 0.01 (the most lines an entry has),
/// or the largest amount on both sides.
fn entry() -> impl Strategy<Value = (Vec<(usize, Decimal)>, usize)> {
    prop_oneof![
        6 => (
            prop::collection::vec((0usize..4, amount()), 1..6),
            0usize..4,
        ),
        1 => (0usize..4, 0usize..4)
            .prop_map(|(debit, credit)| (vec![(debit, Decimal::new(1, 2)); 99], credit)),
        1 => (0usize..4, 0usize..4).prop_map(|(debit, credit)| (vec![(debit, AMOUNT_MAX)], credit)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_balance_and_the_trial_balance_are_exact_to_the_cent(
        entries in prop::collection::vec(entry(), 1..8)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(check(entries)).map_err(|error| TestCaseError::fail(error.to_string()))?;
    }
}

async fn check(entries: Vec<(Vec<(usize, Decimal)>, usize)>) -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let mut ids = Vec::new();
    for (name, account_type) in [
        ("Bank", "asset"),
        ("Food", "expense"),
        ("Loan", "liability"),
        ("Pay", "income"),
    ] {
        ids.push(account(&db, ann, name, account_type).await?);
    }
    let mut expected: BTreeMap<i32, (Decimal, Decimal)> = BTreeMap::new();
    for (debits, credit_to) in entries {
        let total: Decimal = debits.iter().map(|(_, amount)| *amount).sum();
        if total > AMOUNT_MAX {
            continue; // one credit line could not carry it
        }
        let mut lines: Vec<NewLine> = debits
            .iter()
            .map(|(index, amount)| NewLine::debit(ids[*index], *amount))
            .collect();
        lines.push(NewLine::credit(ids[credit_to], total));
        journal::post(
            &*db,
            ann,
            NewEntry {
                lines,
                ..Default::default()
            },
        )
        .await?;
        for (index, amount) in &debits {
            expected.entry(ids[*index]).or_default().0 += *amount;
        }
        expected.entry(ids[credit_to]).or_default().1 += total;
    }
    let today = lifeos_core::days::LocalDays::for_user(&*db, ann)
        .await?
        .today();
    let trial = balances::trial_balance(&*db, ann, today).await?;
    let (mut all_debits, mut all_credits) = (Decimal::ZERO, Decimal::ZERO);
    for (position, id) in ids.iter().enumerate() {
        let (debits, credits) = expected.get(id).copied().unwrap_or_default();
        let balance = balances::account_balance(&*db, ann, *id, today).await?;
        assert_eq!(
            (balance.debits, balance.credits),
            (debits, credits),
            "account {position}"
        );
        let signed = if position < 2 {
            debits - credits
        } else {
            credits - debits
        };
        assert_eq!(balance.balance, signed, "account {position}");
        let row = trial
            .rows
            .iter()
            .find(|row| row.account.id == *id)
            .ok_or("no row")?;
        assert_eq!(row.balance, balance);
        all_debits += debits;
        all_credits += credits;
    }
    assert_eq!(all_debits, all_credits);
    assert_eq!(trial.totals.len(), 1, "{:?}", trial.totals);
    assert_eq!(
        trial.totals.get("USD").copied().unwrap_or_default(),
        (all_debits, all_credits)
    );
    // The category roll-ups add up to the same totals and balances.
    let rolled = |pick: fn(&balances::CategoryRollup) -> Decimal| -> Decimal {
        trial.rollups.iter().map(pick).sum()
    };
    assert_eq!(rolled(|rollup| rollup.debits), all_debits);
    assert_eq!(rolled(|rollup| rollup.credits), all_credits);
    assert_eq!(
        rolled(|rollup| rollup.balance),
        trial
            .rows
            .iter()
            .map(|row| row.balance.balance)
            .sum::<Decimal>()
    );
    // Everything was posted today: the period of today alone is the same trial balance.
    let period = balances::period_balance(&*db, ann, today, today).await?;
    assert_eq!(period.rows, trial.rows);
    assert_eq!(period.totals, trial.totals);
    // This month's roll-up holds every account's sums; each ledger, paged by three, ends at
    // the account's balance, line by line.
    let month = balances::monthly(&*db, ann, today, 1).await?;
    for (position, id) in ids.iter().enumerate() {
        let (debits, credits) = expected.get(id).copied().unwrap_or_default();
        let row = month.iter().find(|row| row.account_id == *id);
        assert_eq!(
            row.map(|row| (row.debits, row.credits)).unwrap_or_default(),
            (debits, credits),
            "month of account {position}"
        );
        let balance = balances::account_balance(&*db, ann, *id, today).await?;
        let (mut after, mut last, mut running) = (None, Decimal::ZERO, Decimal::ZERO);
        loop {
            let page = ledger::ledger(&*db, ann, *id, after, 3).await?;
            assert_eq!(
                page.opening, last,
                "opening of a page of account {position}"
            );
            for row in &page.rows {
                running += if position < 2 {
                    row.debit - row.credit
                } else {
                    row.credit - row.debit
                };
                assert_eq!(
                    row.balance, running,
                    "running balance of account {position}"
                );
            }
            last = page.rows.last().map_or(last, |row| row.balance);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(last, balance.balance, "ledger of account {position}");
    }
    Ok(())
}

#[tokio::test]
async fn the_trial_balance_totals_each_currency_on_its_own() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let new = |name: &str, account_type: &str, currency: &str| accounts::NewAccount {
        name: name.to_owned(),
        account_type: kind(account_type),
        currency: Some(currency.to_owned()),
        ..Default::default()
    };
    let usd_bank = accounts::create(&*db, ann, new("Bank", "asset", "USD"))
        .await?
        .id;
    let usd_pay = accounts::create(&*db, ann, new("Pay", "income", "USD"))
        .await?
        .id;
    let eur_bank = accounts::create(&*db, ann, new("Konto", "asset", "EUR"))
        .await?
        .id;
    let eur_rent = accounts::create(&*db, ann, new("Miete", "expense", "EUR"))
        .await?
        .id;
    journal::post(
        &*db,
        ann,
        NewEntry {
            lines: vec![
                NewLine::debit(usd_bank, "10.00".parse()?),
                NewLine::credit(usd_pay, "10.00".parse()?),
                NewLine::debit(eur_rent, "7.50".parse()?),
                NewLine::credit(eur_bank, "7.50".parse()?),
            ],
            ..Default::default()
        },
    )
    .await?;
    let today = lifeos_core::days::LocalDays::for_user(&*db, ann)
        .await?
        .today();
    let trial = balances::trial_balance(&*db, ann, today).await?;
    let ten: Decimal = "10.00".parse()?;
    let seven_fifty: Decimal = "7.50".parse()?;
    assert_eq!(
        trial.totals,
        BTreeMap::from([
            ("EUR".to_owned(), (seven_fifty, seven_fifty)),
            ("USD".to_owned(), (ten, ten)),
        ])
    );
    // Ordered by type, then name: assets (Bank, Konto), expense (Miete), income (Pay).
    let names: Vec<&str> = trial
        .rows
        .iter()
        .map(|row| row.account.name.as_str())
        .collect();
    assert_eq!(names, ["Bank", "Konto", "Miete", "Pay"]);
    let signs: Vec<Decimal> = trial.rows.iter().map(|row| row.balance.balance).collect();
    assert_eq!(signs, [ten, -seven_fifty, seven_fifty, ten]);
    Ok(())
}
