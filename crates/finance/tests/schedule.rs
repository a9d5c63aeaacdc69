//! The money schedule and its scenarios, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`)
//! PostgreSQL: schedule rows (create, read, update, list, delete, with their events) and every
//! refusal (typed, nothing written), recurrence (the 31st, the last day of a month, weekly
//! counts, daylight-saving changes), the projection from the ledger's real balances per
//! currency, the stored projection (recomputed whole, also by racing calls), scenarios
//! (deltas and extra amounts, compared with the base, writing nothing), another user's ids,
//! and the indexes that serve the listings.
//!
//! Tests that depend on "today" give their user a time zone where it is about noon when they
//! start, so the user's day cannot change while they run; expected dates are relative to it.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, Timelike, Utc};
use lifeos_entity::UserId;
use lifeos_finance::Error;
use lifeos_finance::entity::finance_account::AccountType;
use lifeos_finance::service::scenarios::{self, NewDelta, NewExtra, NewScenario};
use lifeos_finance::service::schedule::{self, NewRow, Occurrence, RowPatch};
use lifeos_finance::service::{accounts, journal};
use lifeos_testkit::TestDb;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryTrait, Statement, TransactionTrait};

mod common;
use common::{count, is_invalid, is_not_found, outbox, payloads, rows_in};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[allow(clippy::expect_used)] // only literals of this file: a typo must stop the test
fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal literal")
}

fn day(y: i32, m: u32, d: u32) -> Res<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "bad date".into())
}

/// `days` after (positive) or before (negative) `from`.
fn shift(from: NaiveDate, days: i64) -> Res<NaiveDate> {
    let moved = if days >= 0 {
        from.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        from.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.ok_or_else(|| "date out of range".into())
}

async fn user(db: &DatabaseConnection, email: &str) -> Res<UserId> {
    Ok(lifeos_testkit::user(db, email).await?)
}

async fn account(
    db: &DatabaseConnection,
    owner: UserId,
    name: &str,
    account_type: AccountType,
    currency: &str,
) -> Res<i32> {
    Ok(accounts::create(
        db,
        owner,
        accounts::NewAccount {
            name: name.to_owned(),
            account_type,
            currency: Some(currency.to_owned()),
            ..Default::default()
        },
    )
    .await?
    .id)
}

/// A time zone where it is now between 12:00 and 12:59, so that the user's today stays the
/// same for the next eleven hours. (`Etc/GMT-5` is five hours *ahead* of UTC.)
fn noon_zone() -> String {
    let offset = 12 - i64::from(Utc::now().hour()); // -11..=12
    match offset {
        0 => "UTC".to_owned(),
        ahead if ahead > 0 => format!("Etc/GMT-{ahead}"),
        behind => format!("Etc/GMT+{}", -behind),
    }
}

async fn set_zone(db: &DatabaseConnection, owner: UserId, zone: &str) -> Res<()> {
    lifeos_core::identity::preferences::set(db, owner, "timezone", zone.into()).await?;
    Ok(())
}

async fn today(db: &DatabaseConnection, owner: UserId) -> Res<NaiveDate> {
    Ok(lifeos_core::days::LocalDays::for_user(db, owner)
        .await?
        .today())
}

fn row(account_id: i32, event_date: NaiveDate, amount: &str, rrule: Option<&str>) -> NewRow {
    NewRow {
        account_id,
        event_date,
        amount: dec(amount),
        memo: None,
        rrule: rrule.map(str::to_owned),
    }
}

fn extra(account_id: i32, event_date: NaiveDate, amount: &str) -> NewExtra {
    NewExtra {
        account_id,
        event_date,
        amount: dec(amount),
        memo: None,
    }
}

fn scenario(name: &str) -> NewScenario {
    NewScenario {
        name: name.to_owned(),
        description: None,
    }
}

/// The rows of every table these services (or the journal) write: what a refused call must
/// leave unchanged.
async fn written(db: &DatabaseConnection) -> Res<Vec<i64>> {
    rows_in(
        db,
        &[
            "finance_money_schedule_row",
            "finance_money_schedule_scenario",
            "finance_money_schedule_scenario_row",
            "finance_money_schedule_daily_balance",
            "finance_journal_entry",
            "finance_journal_line",
            "platform_outbox",
        ],
    )
    .await
}

/// The stored balances of `owner` in `currency` on `first..=last`, by day.
async fn stored(
    db: &DatabaseConnection,
    owner: UserId,
    currency: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Res<Vec<(NaiveDate, Decimal)>> {
    Ok(schedule::daily_balances(db, owner, currency, first, last)
        .await?
        .into_iter()
        .map(|row| (row.as_of, row.balance))
        .collect())
}

/// The journal's entries and lines.
async fn ledger(db: &DatabaseConnection) -> Res<(i64, i64)> {
    Ok((
        count(db, "SELECT count(*) FROM finance_journal_entry").await?,
        count(db, "SELECT count(*) FROM finance_journal_line").await?,
    ))
}

/// The dates `row` occurs on among `occurrences`.
fn dates(occurrences: &[Occurrence], row: i32) -> Vec<NaiveDate> {
    occurrences
        .iter()
        .filter(|occurrence| occurrence.row_id == row)
        .map(|occurrence| occurrence.date)
        .collect()
}

/// `values` as the days `start + 1`, `start + 2`, … with those amounts.
fn by_day(start: NaiveDate, values: &[&str]) -> Res<Vec<(NaiveDate, Decimal)>> {
    let mut out = Vec::new();
    for (index, value) in values.iter().enumerate() {
        out.push((shift(start, i64::try_from(index)? + 1)?, dec(value)));
    }
    Ok(out)
}

/// The balances of `currency` in `projection`, by day.
fn balances(projection: &schedule::Projection, currency: &str) -> Vec<(NaiveDate, Decimal)> {
    projection
        .of_currency(currency)
        .map(|day| (day.date, day.balance))
        .collect()
}

/// The differences of `currency` in a comparison, by day.
fn differences(compared: &[scenarios::Comparison], currency: &str) -> Vec<(NaiveDate, Decimal)> {
    compared
        .iter()
        .filter(|day| day.currency == currency)
        .map(|day| (day.date, day.difference))
        .collect()
}

/// Ann's ledger and schedule for the projection tests, around her today.
struct Plan {
    ann: UserId,
    today: NaiveDate,
    bank: i32,
    capital: i32,
    euro: i32,
    pounds: i32,
    weekly: i32,
}

/// Ann, in a time zone where it is about noon, with:
/// - USD: Bank (asset) 1,000.00 and Card (liability) owing 200.00, both with schedule rows;
///   Savings (asset) 5,000.00 without any; Groceries (expense, 200.00 spent) with a row;
/// - EUR: Konto (asset) 300.00, with a row;
/// - GBP: Pounds (asset) 70.00, without any;
/// - the schedule: Bank +500.00 on day 2; Bank −120.50 weekly from day 1, twice (days 1 and
///   8); Groceries −30.00 on day 3; Card −50.00 on day 4; Konto −100.00 (EUR) on day 5; and,
///   outside every window of ten days, Bank +999.00 today, +777.00 yesterday and +1.00 on day
///   11 (day `n` = today + `n`).
async fn plan(db: &DatabaseConnection) -> Res<Plan> {
    let ann = user(db, "ann@example.com").await?;
    set_zone(db, ann, &noon_zone()).await?;
    let today = today(db, ann).await?;
    let bank = account(db, ann, "Bank", AccountType::Asset, "USD").await?;
    let card = account(db, ann, "Card", AccountType::Liability, "USD").await?;
    let capital = account(db, ann, "Capital", AccountType::Equity, "USD").await?;
    let groceries = account(db, ann, "Groceries", AccountType::Expense, "USD").await?;
    let savings = account(db, ann, "Savings", AccountType::Asset, "USD").await?;
    let euro = account(db, ann, "Konto", AccountType::Asset, "EUR").await?;
    let euro_capital = account(db, ann, "Kapital", AccountType::Equity, "EUR").await?;
    let pounds = account(db, ann, "Pounds", AccountType::Asset, "GBP").await?;
    let pound_capital = account(db, ann, "Pound capital", AccountType::Equity, "GBP").await?;
    // Posted now, so as of the end of today.
    for (amount, debit, credit) in [
        ("1000", bank, capital),
        ("200", groceries, card),
        ("5000", savings, capital),
        ("300", euro, euro_capital),
        ("70", pounds, pound_capital),
    ] {
        journal::record_transaction(db, ann, dec(amount), debit, credit, None, None).await?;
    }
    schedule::create_row(db, ann, row(bank, shift(today, 2)?, "500", None)).await?;
    let weekly = schedule::create_row(
        db,
        ann,
        row(
            bank,
            shift(today, 1)?,
            "-120.50",
            Some("FREQ=WEEKLY;COUNT=2"),
        ),
    )
    .await?
    .id;
    schedule::create_row(db, ann, row(groceries, shift(today, 3)?, "-30", None)).await?;
    schedule::create_row(db, ann, row(card, shift(today, 4)?, "-50", None)).await?;
    schedule::create_row(db, ann, row(euro, shift(today, 5)?, "-100", None)).await?;
    schedule::create_row(db, ann, row(bank, today, "999", None)).await?;
    schedule::create_row(db, ann, row(bank, shift(today, -1)?, "777", None)).await?;
    schedule::create_row(db, ann, row(bank, shift(today, 11)?, "1", None)).await?;
    Ok(Plan {
        ann,
        today,
        bank,
        capital,
        euro,
        pounds,
        weekly,
    })
}

/// The base projection of [`plan`] over ten days, by hand:
/// - USD opens at 800.00 — Bank's 1,000.00 minus Card's 200.00 owed (Groceries is an expense
///   account: no opening balance; Savings has no rows: not covered); day 1 −120.50 → 679.50;
///   day 2 +500.00 → 1,179.50; day 3 −30.00 → 1,149.50; day 4 −50.00 → 1,099.50; days 5–7
///   unchanged; day 8 −120.50 → 979.00; days 9–10 unchanged. Today's +999.00 and yesterday's
///   +777.00 are in the opening already (ignored); day 11 is past the horizon.
/// - EUR opens at 300.00; day 5 −100.00 → 200.00.
/// - GBP: not covered (no rows), not projected.
fn usd_base(today: NaiveDate) -> Res<Vec<(NaiveDate, Decimal)>> {
    by_day(
        today,
        &[
            "679.50", "1179.50", "1149.50", "1099.50", "1099.50", "1099.50", "1099.50", "979.00",
            "979.00", "979.00",
        ],
    )
}

fn eur_base(today: NaiveDate) -> Res<Vec<(NaiveDate, Decimal)>> {
    by_day(
        today,
        &[
            "300", "300", "300", "300", "200", "200", "200", "200", "200", "200",
        ],
    )
}

#[tokio::test]
async fn schedule_rows_are_created_read_updated_listed_and_deleted_with_events() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset, "USD").await?;
    let cash = account(&db, ann, "Cash", AccountType::Asset, "USD").await?;

    let salary = schedule::create_row(
        &*db,
        ann,
        NewRow {
            memo: Some("  Salary  ".to_owned()),
            ..row(
                bank,
                day(2026, 1, 25)?,
                "2500",
                Some(" freq=monthly;count=12 "),
            )
        },
    )
    .await?;
    assert_eq!(salary.amount.to_string(), "2500.00");
    assert_eq!(salary.memo.as_deref(), Some("Salary"));
    assert_eq!(salary.rrule.as_deref(), Some("FREQ=MONTHLY;COUNT=12"));
    assert_eq!((salary.user_id, salary.account_id), (ann, bank));
    assert_eq!(schedule::get_row(&*db, ann, salary.id).await?, salary);
    let rent =
        schedule::create_row(&*db, ann, row(bank, day(2026, 2, 1)?, "-1200.5", None)).await?;
    assert_eq!(rent.amount.to_string(), "-1200.50");
    assert_eq!(rent.rrule, None);
    let old = schedule::create_row(&*db, ann, row(cash, day(2025, 12, 1)?, "-10", None)).await?;
    assert_eq!(outbox(&db, "finance.schedule.created").await?, 3);
    let created = payloads(&db, "finance.schedule.created").await?;
    assert!(
        created[0].contains("\"rrule\":\"FREQ=MONTHLY;COUNT=12\"")
            && created[0].contains("\"amount\":\"2500.00\"")
            && created[0].contains("\"event_date\":\"2026-01-25\""),
        "{}",
        created[0]
    );
    assert!(
        created[1].contains("\"amount\":\"-1200.50\"") && created[1].contains("\"rrule\":null"),
        "{}",
        created[1]
    );

    // A window lists its one-off rows and the recurring rows started by its end, by date.
    assert_eq!(
        schedule::list_rows(&*db, ann, day(2026, 2, 1)?, day(2026, 2, 28)?).await?,
        vec![salary.clone(), rent.clone()]
    );
    assert_eq!(
        schedule::list_rows(&*db, ann, day(2025, 12, 1)?, day(2025, 12, 31)?).await?,
        vec![old.clone()]
    );
    let error = schedule::list_rows(&*db, ann, day(2026, 2, 1)?, day(2026, 1, 31)?)
        .await
        .err()
        .ok_or("a backwards window was listed")?;
    assert!(is_invalid(&error, "period"), "{error:?}");

    // Update: another account and amount, no memo, no rule (a one-off now).
    let updated = schedule::update_row(
        &*db,
        ann,
        salary.id,
        RowPatch {
            account_id: Some(cash),
            amount: Some(dec("2600")),
            memo: Some(None),
            rrule: Some(None),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(
        (
            updated.account_id,
            updated.amount,
            updated.memo.clone(),
            updated.rrule.clone(),
            updated.event_date
        ),
        (cash, dec("2600.00"), None, None, day(2026, 1, 25)?)
    );
    assert_eq!(schedule::get_row(&*db, ann, salary.id).await?, updated);
    // A patch that changes nothing announces nothing.
    let same = schedule::update_row(
        &*db,
        ann,
        salary.id,
        RowPatch {
            amount: Some(dec("2600.00")),
            account_id: Some(cash),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(same, updated);
    assert_eq!(outbox(&db, "finance.schedule.updated").await?, 1);
    let updates = payloads(&db, "finance.schedule.updated").await?;
    assert!(
        updates[0].contains("\"amount\":\"2600.00\"") && updates[0].contains("\"rrule\":null"),
        "{}",
        updates[0]
    );

    // A rule with an end; moving the start past that end is refused (nothing changes).
    let until = schedule::update_row(
        &*db,
        ann,
        rent.id,
        RowPatch {
            rrule: Some(Some("FREQ=MONTHLY;UNTIL=20260601T000000Z".to_owned())),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(
        until.rrule.as_deref(),
        Some("FREQ=MONTHLY;UNTIL=20260601T000000Z")
    );
    let error = schedule::update_row(
        &*db,
        ann,
        rent.id,
        RowPatch {
            event_date: Some(day(2026, 7, 1)?),
            ..Default::default()
        },
    )
    .await
    .err()
    .ok_or("a start after UNTIL was accepted")?;
    assert!(is_invalid(&error, "rrule"), "{error:?}");
    assert_eq!(schedule::get_row(&*db, ann, rent.id).await?, until);
    assert_eq!(outbox(&db, "finance.schedule.updated").await?, 2);

    // Delete, once.
    schedule::delete_row(&*db, ann, rent.id).await?;
    let error = schedule::get_row(&*db, ann, rent.id)
        .await
        .err()
        .ok_or("a deleted row was read")?;
    assert!(is_not_found(&error), "{error:?}");
    let error = schedule::delete_row(&*db, ann, rent.id)
        .await
        .err()
        .ok_or("a row was deleted twice")?;
    assert!(is_not_found(&error), "{error:?}");
    assert_eq!(outbox(&db, "finance.schedule.deleted").await?, 1);
    let deleted = payloads(&db, "finance.schedule.deleted").await?;
    assert!(
        deleted[0].contains(&format!("\"row_id\":{}", rent.id)),
        "{}",
        deleted[0]
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_money_schedule_row").await?,
        2
    );
    Ok(())
}

#[tokio::test]
async fn bad_rows_and_scenarios_are_refused_with_typed_errors_and_nothing_is_written() -> TestResult
{
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset, "USD").await?;
    let closed = account(&db, ann, "Old bank", AccountType::Asset, "USD").await?;
    accounts::set_active(&*db, ann, closed, false).await?;
    let bobs = account(&db, bob, "Bob's bank", AccountType::Asset, "USD").await?;
    let start = day(2026, 3, 1)?;
    let existing = schedule::create_row(&*db, ann, row(bank, start, "10", None)).await?;
    let plan = scenarios::create_scenario(&*db, ann, scenario("Plan")).await?;
    let before = written(&db).await?;

    // Amounts, memos and dates.
    for (field, new) in [
        ("amount", row(bank, start, "0", None)),
        ("amount", row(bank, start, "-0.00", None)),
        ("amount", row(bank, start, "1.005", None)),
        ("amount", row(bank, start, "100000000000", None)),
        (
            "memo",
            NewRow {
                memo: Some("x".repeat(513)),
                ..row(bank, start, "1", None)
            },
        ),
        (
            "memo",
            NewRow {
                memo: Some("nul\0".to_owned()),
                ..row(bank, start, "1", None)
            },
        ),
        ("event_date", row(bank, day(10000, 1, 1)?, "1", None)),
    ] {
        let error = schedule::create_row(&*db, ann, new.clone())
            .await
            .err()
            .ok_or_else(|| format!("{new:?} was accepted"))?;
        assert!(is_invalid(&error, field), "{new:?}: {error:?}");
    }

    // Rules: unparsable, finer than a day, a floating or date-only UNTIL, more than the rule
    // part, zero steps, never occurring, ending before the start, too long.
    let too_long = format!("FREQ=DAILY{}", ";INTERVAL=1".repeat(50));
    for rule in [
        "FREQ=FORTNIGHTLY",
        "COUNT=3",
        "FREQ=HOURLY;BYMINUTE=0",
        "FREQ=DAILY;BYHOUR=9",
        "FREQ=DAILY;UNTIL=20261231",
        "FREQ=DAILY;UNTIL=20261231T000000",
        "DTSTART:20260101T000000Z",
        "RRULE:FREQ=DAILY",
        "FREQ=DAILY\nRRULE:FREQ=WEEKLY",
        "DTSTART;TZID=UTC:20260101T120000\nRRULE:FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;COUNT=0",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;UNTIL=20200101T000000Z",
        too_long.as_str(),
    ] {
        let error = schedule::create_row(&*db, ann, row(bank, start, "1", Some(rule)))
            .await
            .err()
            .ok_or_else(|| format!("rule {rule:?} was accepted"))?;
        assert!(is_invalid(&error, "rrule"), "{rule:?}: {error:?}");
    }

    // Accounts: inactive, another user's, unknown.
    let error = schedule::create_row(&*db, ann, row(closed, start, "1", None))
        .await
        .err()
        .ok_or("a row on an inactive account was accepted")?;
    assert!(
        matches!(error, Error::InactiveAccount { account } if account == closed),
        "{error:?}"
    );
    for foreign in [bobs, 999_999] {
        let error = schedule::create_row(&*db, ann, row(foreign, start, "1", None))
            .await
            .err()
            .ok_or("a row on another user's account was accepted")?;
        assert!(is_not_found(&error), "{error:?}");
    }

    // Updates refuse the same.
    for (patch, expected) in [
        (
            RowPatch {
                amount: Some(dec("0")),
                ..Default::default()
            },
            "amount",
        ),
        (
            RowPatch {
                rrule: Some(Some("FREQ=SECONDLY".to_owned())),
                ..Default::default()
            },
            "rrule",
        ),
        (
            RowPatch {
                memo: Some(Some("y".repeat(600))),
                ..Default::default()
            },
            "memo",
        ),
    ] {
        let error = schedule::update_row(&*db, ann, existing.id, patch.clone())
            .await
            .err()
            .ok_or_else(|| format!("{patch:?} was accepted"))?;
        assert!(is_invalid(&error, expected), "{patch:?}: {error:?}");
    }
    let error = schedule::update_row(
        &*db,
        ann,
        existing.id,
        RowPatch {
            account_id: Some(closed),
            ..Default::default()
        },
    )
    .await
    .err()
    .ok_or("a move to an inactive account was accepted")?;
    assert!(
        matches!(error, Error::InactiveAccount { account } if account == closed),
        "{error:?}"
    );
    let error = schedule::update_row(
        &*db,
        ann,
        existing.id,
        RowPatch {
            account_id: Some(bobs),
            ..Default::default()
        },
    )
    .await
    .err()
    .ok_or("a move to another user's account was accepted")?;
    assert!(is_not_found(&error), "{error:?}");

    // Scenarios: names, deltas and extra amounts.
    let long_name = "n".repeat(129);
    for name in ["", "   ", long_name.as_str()] {
        let error = scenarios::create_scenario(&*db, ann, scenario(name))
            .await
            .err()
            .ok_or_else(|| format!("scenario name {name:?} was accepted"))?;
        assert!(is_invalid(&error, "name"), "{error:?}");
    }
    for delta in ["0", "0.001", "100000000000"] {
        let error = scenarios::add_delta(
            &*db,
            ann,
            plan.id,
            NewDelta {
                base_row_id: existing.id,
                delta_amount: dec(delta),
                memo: None,
            },
        )
        .await
        .err()
        .ok_or_else(|| format!("delta {delta} was accepted"))?;
        assert!(is_invalid(&error, "delta_amount"), "{error:?}");
    }
    let error = scenarios::add_extra(&*db, ann, plan.id, extra(bank, start, "12.345"))
        .await
        .err()
        .ok_or("an extra of three decimals was accepted")?;
    assert!(is_invalid(&error, "amount"), "{error:?}");
    let error = scenarios::add_extra(&*db, ann, plan.id, extra(bank, day(10000, 1, 1)?, "1"))
        .await
        .err()
        .ok_or("an extra in the year 10000 was accepted")?;
    assert!(is_invalid(&error, "event_date"), "{error:?}");

    // Horizons, windows and currencies.
    for horizon in [0, 367] {
        let error = schedule::project(&*db, ann, horizon)
            .await
            .err()
            .ok_or_else(|| format!("horizon {horizon} was projected"))?;
        assert!(is_invalid(&error, "horizon_days"), "{error:?}");
        let error = schedule::recompute(&*db, ann, horizon)
            .await
            .err()
            .ok_or_else(|| format!("horizon {horizon} was recomputed"))?;
        assert!(is_invalid(&error, "horizon_days"), "{error:?}");
        let error = scenarios::project_scenario(&*db, ann, plan.id, horizon)
            .await
            .err()
            .ok_or_else(|| format!("horizon {horizon} was projected for a scenario"))?;
        assert!(is_invalid(&error, "horizon_days"), "{error:?}");
    }
    // 366 days, both ends included, is the longest window.
    schedule::occurrences(&*db, ann, day(2026, 1, 1)?, day(2027, 1, 1)?).await?;
    let error = schedule::occurrences(&*db, ann, day(2026, 1, 1)?, day(2027, 1, 2)?)
        .await
        .err()
        .ok_or("a window of 367 days was expanded")?;
    assert!(is_invalid(&error, "period"), "{error:?}");
    let error = schedule::daily_balances(&*db, ann, "US", start, start)
        .await
        .err()
        .ok_or("a currency of two letters was read")?;
    assert!(is_invalid(&error, "currency"), "{error:?}");

    assert_eq!(
        written(&db).await?,
        before,
        "a refused call wrote something"
    );
    assert_eq!(schedule::get_row(&*db, ann, existing.id).await?, existing);
    assert!(
        scenarios::scenario_rows(&*db, ann, plan.id)
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn another_users_rows_scenarios_and_accounts_behave_as_missing_ones() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let ann_bank = account(&db, ann, "Bank", AccountType::Asset, "USD").await?;
    let bob_bank = account(&db, bob, "Bank", AccountType::Asset, "USD").await?;
    let on = day(2026, 5, 1)?;
    let ann_row = schedule::create_row(&*db, ann, row(ann_bank, on, "10", None)).await?;
    let bob_row = schedule::create_row(&*db, bob, row(bob_bank, on, "20", None)).await?;
    let ann_plan = scenarios::create_scenario(&*db, ann, scenario("Ann's")).await?;
    let bob_plan = scenarios::create_scenario(&*db, bob, scenario("Bob's")).await?;
    let ann_extra = scenarios::add_extra(&*db, ann, ann_plan.id, extra(ann_bank, on, "5")).await?;
    schedule::recompute(&*db, ann, 5).await?;
    let before = written(&db).await?;

    let delta = |base_row_id| NewDelta {
        base_row_id,
        delta_amount: dec("1"),
        memo: None,
    };
    let results: Vec<Result<(), Error>> = vec![
        schedule::get_row(&*db, bob, ann_row.id).await.map(|_| ()),
        schedule::update_row(
            &*db,
            bob,
            ann_row.id,
            RowPatch {
                amount: Some(dec("1")),
                ..Default::default()
            },
        )
        .await
        .map(|_| ()),
        schedule::update_row(
            &*db,
            bob,
            bob_row.id,
            RowPatch {
                account_id: Some(ann_bank),
                ..Default::default()
            },
        )
        .await
        .map(|_| ()),
        schedule::delete_row(&*db, bob, ann_row.id).await,
        schedule::create_row(&*db, bob, row(ann_bank, on, "1", None))
            .await
            .map(|_| ()),
        scenarios::get_scenario(&*db, bob, ann_plan.id)
            .await
            .map(|_| ()),
        scenarios::delete_scenario(&*db, bob, ann_plan.id).await,
        scenarios::scenario_rows(&*db, bob, ann_plan.id)
            .await
            .map(|_| ()),
        scenarios::add_delta(&*db, bob, ann_plan.id, delta(bob_row.id))
            .await
            .map(|_| ()),
        scenarios::add_delta(&*db, bob, bob_plan.id, delta(ann_row.id))
            .await
            .map(|_| ()),
        scenarios::add_extra(&*db, bob, ann_plan.id, extra(bob_bank, on, "1"))
            .await
            .map(|_| ()),
        scenarios::add_extra(&*db, bob, bob_plan.id, extra(ann_bank, on, "1"))
            .await
            .map(|_| ()),
        scenarios::remove_row(&*db, bob, ann_plan.id, ann_extra.id).await,
        scenarios::remove_row(&*db, bob, bob_plan.id, ann_extra.id).await,
        scenarios::project_scenario(&*db, bob, ann_plan.id, 10)
            .await
            .map(|_| ()),
        scenarios::compare(&*db, bob, ann_plan.id, 10)
            .await
            .map(|_| ()),
    ];
    for (index, result) in results.iter().enumerate() {
        match result {
            Err(error) if is_not_found(error) => {}
            other => return Err(format!("call {index}: {other:?}").into()),
        }
    }
    assert_eq!(
        written(&db).await?,
        before,
        "a refused call wrote something"
    );

    // Bob's listings hold only his own.
    let window = (day(2026, 1, 1)?, day(2026, 12, 31)?);
    assert_eq!(
        schedule::list_rows(&*db, bob, window.0, window.1).await?,
        vec![bob_row.clone()]
    );
    let theirs = schedule::occurrences(&*db, bob, window.0, window.1).await?;
    assert_eq!(
        theirs
            .iter()
            .map(|occurrence| occurrence.row_id)
            .collect::<Vec<_>>(),
        vec![bob_row.id]
    );
    assert_eq!(
        scenarios::list_scenarios(&*db, bob).await?,
        vec![bob_plan.clone()]
    );
    let far = (day(2000, 1, 1)?, day(2100, 1, 1)?);
    assert!(
        schedule::daily_balances(&*db, bob, "USD", far.0, far.1)
            .await?
            .is_empty()
    );
    assert_eq!(
        schedule::daily_balances(&*db, ann, "USD", far.0, far.1)
            .await?
            .len(),
        5
    );
    // Ann's are intact.
    assert_eq!(schedule::get_row(&*db, ann, ann_row.id).await?, ann_row);
    assert_eq!(
        scenarios::scenario_rows(&*db, ann, ann_plan.id).await?,
        vec![ann_extra]
    );
    Ok(())
}

#[tokio::test]
async fn monthly_rules_on_the_31st_skip_shorter_months_and_weekly_counts_stop() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset, "USD").await?;
    // RFC 5545: a monthly rule started on the 31st, like BYMONTHDAY=31, occurs only in months
    // that have a 31st; BYMONTHDAY=-1 is the last day of every month.
    let on_31st = schedule::create_row(
        &*db,
        ann,
        row(bank, day(2026, 1, 31)?, "-100", Some("FREQ=MONTHLY")),
    )
    .await?;
    let by_31 = schedule::create_row(
        &*db,
        ann,
        row(
            bank,
            day(2026, 1, 1)?,
            "-50",
            Some("FREQ=MONTHLY;BYMONTHDAY=31"),
        ),
    )
    .await?;
    let last = schedule::create_row(
        &*db,
        ann,
        row(
            bank,
            day(2026, 1, 1)?,
            "-25",
            Some("FREQ=MONTHLY;BYMONTHDAY=-1"),
        ),
    )
    .await?;
    let weekly = schedule::create_row(
        &*db,
        ann,
        row(bank, day(2026, 1, 5)?, "-10", Some("FREQ=WEEKLY;COUNT=4")),
    )
    .await?;
    let once = schedule::create_row(&*db, ann, row(bank, day(2026, 2, 14)?, "30", None)).await?;

    let half_year = schedule::occurrences(&*db, ann, day(2026, 1, 1)?, day(2026, 6, 30)?).await?;
    let thirty_firsts = vec![day(2026, 1, 31)?, day(2026, 3, 31)?, day(2026, 5, 31)?];
    assert_eq!(dates(&half_year, on_31st.id), thirty_firsts);
    assert_eq!(dates(&half_year, by_31.id), thirty_firsts);
    assert_eq!(
        dates(&half_year, last.id),
        vec![
            day(2026, 1, 31)?,
            day(2026, 2, 28)?,
            day(2026, 3, 31)?,
            day(2026, 4, 30)?,
            day(2026, 5, 31)?,
            day(2026, 6, 30)?,
        ]
    );
    assert_eq!(
        dates(&half_year, weekly.id),
        vec![
            day(2026, 1, 5)?,
            day(2026, 1, 12)?,
            day(2026, 1, 19)?,
            day(2026, 1, 26)?,
        ]
    );
    assert_eq!(dates(&half_year, once.id), vec![day(2026, 2, 14)?]);
    assert_eq!(half_year.len(), 3 + 3 + 6 + 4 + 1);
    assert!(
        half_year
            .windows(2)
            .all(|pair| (pair[0].date, pair[0].row_id) <= (pair[1].date, pair[1].row_id)),
        "not by date, then row"
    );
    let first = half_year
        .iter()
        .find(|occurrence| occurrence.row_id == on_31st.id)
        .ok_or("no occurrence")?;
    assert_eq!(
        (first.account_id, first.currency.as_str(), first.amount),
        (bank, "USD", dec("-100.00"))
    );

    // A window in the middle holds only its own occurrences.
    let spring = schedule::occurrences(&*db, ann, day(2026, 3, 1)?, day(2026, 4, 30)?).await?;
    assert_eq!(dates(&spring, on_31st.id), vec![day(2026, 3, 31)?]);
    assert_eq!(
        dates(&spring, last.id),
        vec![day(2026, 3, 31)?, day(2026, 4, 30)?]
    );
    assert!(dates(&spring, weekly.id).is_empty() && dates(&spring, once.id).is_empty());

    // The expansion on its own agrees.
    assert_eq!(
        schedule::expand(
            day(2026, 1, 31)?,
            Some("FREQ=MONTHLY"),
            chrono_tz::UTC,
            day(2026, 1, 1)?,
            day(2026, 6, 30)?
        )?,
        thirty_firsts
    );
    assert_eq!(
        schedule::expand(
            day(2026, 2, 14)?,
            None,
            chrono_tz::UTC,
            day(2026, 2, 15)?,
            day(2026, 6, 30)?
        )?,
        Vec::<NaiveDate>::new()
    );
    Ok(())
}

#[tokio::test]
async fn rules_keep_their_local_day_across_daylight_saving_changes() -> TestResult {
    let db = TestDb::at_head().await?;
    // New York moves to daylight time on 8 March 2026.
    let ann = user(&db, "ann@example.com").await?;
    set_zone(&db, ann, "America/New_York").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset, "USD").await?;
    let monthly = schedule::create_row(
        &*db,
        ann,
        row(bank, day(2026, 2, 15)?, "-75", Some("FREQ=MONTHLY;COUNT=4")),
    )
    .await?;
    let weekly = schedule::create_row(
        &*db,
        ann,
        row(bank, day(2026, 3, 1)?, "-5", Some("FREQ=WEEKLY;COUNT=3")),
    )
    .await?;
    let all = schedule::occurrences(&*db, ann, day(2026, 1, 1)?, day(2026, 6, 30)?).await?;
    assert_eq!(
        dates(&all, monthly.id),
        vec![
            day(2026, 2, 15)?,
            day(2026, 3, 15)?,
            day(2026, 4, 15)?,
            day(2026, 5, 15)?,
        ]
    );
    assert_eq!(
        dates(&all, weekly.id),
        vec![day(2026, 3, 1)?, day(2026, 3, 8)?, day(2026, 3, 15)?]
    );

    // Auckland leaves daylight time on 5 April 2026: local noon is 23:00 UTC the day before
    // in March, 00:00 UTC the same day from April. The local dates stay the 15th.
    let bob = user(&db, "bob@example.com").await?;
    set_zone(&db, bob, "Pacific/Auckland").await?;
    let konto = account(&db, bob, "Bank", AccountType::Asset, "NZD").await?;
    let nz = schedule::create_row(
        &*db,
        bob,
        row(
            konto,
            day(2026, 3, 15)?,
            "-40",
            Some("FREQ=MONTHLY;COUNT=3"),
        ),
    )
    .await?;
    let expected = vec![day(2026, 3, 15)?, day(2026, 4, 15)?, day(2026, 5, 15)?];
    let theirs = schedule::occurrences(&*db, bob, day(2026, 1, 1)?, day(2026, 6, 30)?).await?;
    assert_eq!(dates(&theirs, nz.id), expected);
    assert_eq!(
        schedule::expand(
            day(2026, 3, 15)?,
            Some("FREQ=MONTHLY;COUNT=3"),
            chrono_tz::Pacific::Auckland,
            day(2026, 1, 1)?,
            day(2026, 6, 30)?
        )?,
        expected
    );
    Ok(())
}

#[tokio::test]
async fn the_projection_starts_from_real_balances_per_currency() -> TestResult {
    let db = TestDb::at_head().await?;
    let p = plan(&db).await?;
    let projection = schedule::project(&*db, p.ann, 10).await?;
    assert_eq!((projection.start, projection.horizon_days), (p.today, 10));
    assert_eq!(
        projection.opening,
        BTreeMap::from([
            ("EUR".to_owned(), dec("300.00")),
            ("USD".to_owned(), dec("800.00")),
        ])
    );
    assert_eq!(balances(&projection, "USD"), usd_base(p.today)?);
    assert_eq!(balances(&projection, "EUR"), eur_base(p.today)?);
    assert_eq!(projection.days.len(), 20, "GBP is not covered");
    let changes: Vec<(NaiveDate, Decimal)> = projection
        .of_currency("USD")
        .map(|day| (day.date, day.change))
        .collect();
    assert_eq!(
        changes,
        by_day(
            p.today,
            &[
                "-120.50", "500", "-30", "-50", "0", "0", "0", "-120.50", "0", "0"
            ]
        )?
    );
    assert_eq!(
        projection.balance("USD", shift(p.today, 4)?),
        Some(dec("1099.50"))
    );
    assert_eq!(projection.balance("USD", p.today), None);
    // Every amount at two decimals.
    assert!(
        projection
            .days
            .iter()
            .all(|day| day.balance.scale() == 2 && day.change.scale() == 2)
    );

    // The ledger moves: so does the projection (from the real balance, not from zero).
    journal::record_transaction(&*db, p.ann, dec("100"), p.bank, p.capital, None, None).await?;
    let moved = schedule::project(&*db, p.ann, 10).await?;
    assert_eq!(moved.opening.get("USD"), Some(&dec("900")));
    assert_eq!(
        moved.balance("USD", shift(p.today, 10)?),
        Some(dec("1079.00"))
    );
    assert_eq!(balances(&moved, "EUR"), eur_base(p.today)?);

    // The longest horizon, and nothing for a user without a schedule.
    assert_eq!(
        schedule::project(&*db, p.ann, 366).await?.days.len(),
        2 * 366
    );
    let bob = user(&db, "bob@example.com").await?;
    let empty = schedule::project(&*db, bob, 10).await?;
    assert!(empty.days.is_empty() && empty.opening.is_empty());
    Ok(())
}

#[tokio::test]
async fn recompute_replaces_the_stored_projection_whole() -> TestResult {
    let db = TestDb::at_head().await?;
    let p = plan(&db).await?;
    let (first, last) = (shift(p.today, 1)?, shift(p.today, 10)?);

    assert_eq!(schedule::recompute(&*db, p.ann, 10).await?, 20);
    let all = "SELECT count(*) FROM finance_money_schedule_daily_balance";
    assert_eq!(count(&db, all).await?, 20);
    assert_eq!(
        stored(&db, p.ann, "USD", first, last).await?,
        usd_base(p.today)?
    );
    assert_eq!(
        stored(&db, p.ann, "EUR", first, last).await?,
        eur_base(p.today)?
    );
    // Any case of the code reads the same rows.
    let lower = schedule::daily_balances(&*db, p.ann, " usd ", first, last).await?;
    assert!(lower.len() == 10 && lower.iter().all(|row| row.currency == "USD"));

    // Again: the same rows, not twice as many; a shorter horizon replaces the longer one.
    assert_eq!(schedule::recompute(&*db, p.ann, 10).await?, 20);
    assert_eq!(count(&db, all).await?, 20);
    assert_eq!(
        stored(&db, p.ann, "USD", first, last).await?,
        usd_base(p.today)?
    );
    assert_eq!(schedule::recompute(&*db, p.ann, 3).await?, 6);
    assert_eq!(count(&db, all).await?, 6);
    assert_eq!(
        stored(&db, p.ann, "USD", first, last).await?,
        usd_base(p.today)?.into_iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(outbox(&db, "finance.schedule.recomputed").await?, 3);
    let events = payloads(&db, "finance.schedule.recomputed").await?;
    let start = format!("\"start\":\"{}\"", p.today);
    for needle in [
        "\"days\":10",
        "\"rows\":20",
        "\"currencies\":[\"EUR\",\"USD\"]",
        start.as_str(),
    ] {
        assert!(events[0].contains(needle), "{needle} in {}", events[0]);
    }

    // Another user's recompute leaves Ann's rows alone. Bob plans the largest amount every
    // day: ten days fit the stored balance's limit, a year does not — refused, and his
    // earlier rows stay as they were.
    let bob = user(&db, "bob@example.com").await?;
    set_zone(&db, bob, &noon_zone()).await?;
    let bob_today = today(&db, bob).await?;
    let bob_bank = account(&db, bob, "Bank", AccountType::Asset, "USD").await?;
    schedule::create_row(
        &*db,
        bob,
        row(
            bob_bank,
            shift(bob_today, 1)?,
            "99999999999.99",
            Some("FREQ=DAILY"),
        ),
    )
    .await?;
    assert_eq!(schedule::recompute(&*db, bob, 10).await?, 10);
    assert_eq!(count(&db, all).await?, 16);
    let before = written(&db).await?;
    let error = schedule::recompute(&*db, bob, 366)
        .await
        .err()
        .ok_or("a balance beyond the column was stored")?;
    assert!(is_invalid(&error, "balance"), "{error:?}");
    assert_eq!(written(&db).await?, before);
    let bobs = schedule::daily_balances(
        &*db,
        bob,
        "USD",
        shift(bob_today, 1)?,
        shift(bob_today, 10)?,
    )
    .await?;
    assert_eq!(bobs.len(), 10);
    assert_eq!(
        bobs.last().map(|row| row.balance),
        Some(dec("999999999999.90"))
    );
    assert_eq!(stored(&db, p.ann, "USD", first, last).await?.len(), 3);
    Ok(())
}

#[tokio::test]
async fn racing_recomputes_leave_one_consistent_projection() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let p = plan(&db).await?;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let conn: DatabaseConnection = (*db).clone();
        let ann = p.ann;
        calls.spawn(async move { schedule::recompute(&conn, ann, 30).await });
    }
    let (mut done, mut failed) = (0, 0);
    while let Some(result) = calls.join_next().await {
        match result? {
            Ok(rows) => {
                assert_eq!(rows, 60);
                done += 1;
            }
            // A clean failure (a busy database): it wrote nothing.
            Err(Error::Core(lifeos_core::Error::Conflict(_) | lifeos_core::Error::Db(_))) => {
                failed += 1;
            }
            Err(other) => return Err(format!("unexpected: {other:?}").into()),
        }
    }
    assert!(done >= 1, "every recompute failed ({failed})");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM finance_money_schedule_daily_balance"
        )
        .await?,
        60
    );
    let projection = schedule::project(&*db, p.ann, 30).await?;
    for currency in ["EUR", "USD"] {
        let stored: Vec<(NaiveDate, Decimal)> = schedule::daily_balances(
            &*db,
            p.ann,
            currency,
            shift(p.today, 1)?,
            shift(p.today, 30)?,
        )
        .await?
        .into_iter()
        .map(|row| (row.as_of, row.balance))
        .collect();
        assert_eq!(stored, balances(&projection, currency), "{currency}");
    }
    assert_eq!(
        outbox(&db, "finance.schedule.recomputed").await?,
        i64::from(done)
    );
    Ok(())
}

#[tokio::test]
async fn scenarios_overlay_the_projection_without_writing_to_it() -> TestResult {
    let db = TestDb::at_head().await?;
    let p = plan(&db).await?;
    schedule::recompute(&*db, p.ann, 10).await?;
    let window = (shift(p.today, -30)?, shift(p.today, 30)?);
    let rows_before = schedule::list_rows(&*db, p.ann, window.0, window.1).await?;
    let stored_before = schedule::daily_balances(&*db, p.ann, "USD", window.0, window.1).await?;
    let base = schedule::project(&*db, p.ann, 10).await?;
    let ledger_before = ledger(&db).await?;

    let plan_b = scenarios::create_scenario(
        &*db,
        p.ann,
        NewScenario {
            name: " Plan B ".to_owned(),
            description: Some("Cheaper groceries".to_owned()),
        },
    )
    .await?;
    assert_eq!(plan_b.name, "Plan B");
    assert_eq!(
        scenarios::get_scenario(&*db, p.ann, plan_b.id).await?,
        plan_b
    );
    // Without rows, a scenario is the base.
    assert_eq!(
        scenarios::project_scenario(&*db, p.ann, plan_b.id, 10)
            .await?
            .days,
        base.days
    );

    // +20.50 on each occurrence of the weekly −120.50 (days 1 and 8); −300.00 on day 3;
    // +50.00 EUR on day 9; +10.00 GBP on day 1 (a currency the base does not project); and,
    // ignored, +1,000.00 today and on day 11.
    let delta = scenarios::add_delta(
        &*db,
        p.ann,
        plan_b.id,
        NewDelta {
            base_row_id: p.weekly,
            delta_amount: dec("20.5"),
            memo: Some("haggle".to_owned()),
        },
    )
    .await?;
    assert_eq!(
        (
            delta.base_row_id,
            delta.delta_amount.to_string(),
            delta.event_date,
            delta.account_id
        ),
        (Some(p.weekly), "20.50".to_owned(), None, None)
    );
    let laptop = scenarios::add_extra(
        &*db,
        p.ann,
        plan_b.id,
        NewExtra {
            memo: Some("laptop".to_owned()),
            ..extra(p.bank, shift(p.today, 3)?, "-300")
        },
    )
    .await?;
    assert_eq!(
        (
            laptop.base_row_id,
            laptop.account_id,
            laptop.event_date,
            laptop.memo.as_deref()
        ),
        (None, Some(p.bank), Some(shift(p.today, 3)?), Some("laptop"))
    );
    for new in [
        extra(p.euro, shift(p.today, 9)?, "50"),
        extra(p.pounds, shift(p.today, 1)?, "10"),
        extra(p.bank, p.today, "1000"),
        extra(p.bank, shift(p.today, 11)?, "1000"),
    ] {
        scenarios::add_extra(&*db, p.ann, plan_b.id, new).await?;
    }
    assert_eq!(
        scenarios::scenario_rows(&*db, p.ann, plan_b.id)
            .await?
            .len(),
        6
    );

    // By hand, USD from 800.00: day 1 −100.00 → 700.00; day 2 +500.00 → 1,200.00; day 3
    // −30.00 −300.00 → 870.00; day 4 −50.00 → 820.00; day 8 −100.00 → 720.00. EUR: 200.00
    // from day 5, 250.00 from day 9. GBP: 10.00 from day 1, from an opening of 0.00.
    let projected = scenarios::project_scenario(&*db, p.ann, plan_b.id, 10).await?;
    assert_eq!(
        balances(&projected, "USD"),
        by_day(
            p.today,
            &[
                "700", "1200", "870", "820", "820", "820", "820", "720", "720", "720"
            ]
        )?
    );
    assert_eq!(
        balances(&projected, "EUR"),
        by_day(
            p.today,
            &[
                "300", "300", "300", "300", "200", "200", "200", "200", "250", "250"
            ]
        )?
    );
    assert_eq!(balances(&projected, "GBP"), by_day(p.today, &["10"; 10])?);
    assert_eq!(projected.opening.get("GBP"), Some(&dec("0.00")));
    assert_eq!(projected.opening.get("USD"), Some(&dec("800.00")));

    // Compared with the base, day by day: by currency (EUR, GBP, USD), then date.
    let compared = scenarios::compare(&*db, p.ann, plan_b.id, 10).await?;
    assert_eq!(compared.len(), 30);
    let mut currencies: Vec<&str> = compared.iter().map(|day| day.currency.as_str()).collect();
    currencies.dedup();
    assert_eq!(currencies, vec!["EUR", "GBP", "USD"]);
    assert_eq!(
        differences(&compared, "USD"),
        by_day(
            p.today,
            &[
                "20.50", "20.50", "-279.50", "-279.50", "-279.50", "-279.50", "-279.50", "-259.00",
                "-259.00", "-259.00",
            ]
        )?
    );
    assert_eq!(
        differences(&compared, "EUR"),
        by_day(
            p.today,
            &["0", "0", "0", "0", "0", "0", "0", "0", "50", "50"]
        )?
    );
    assert_eq!(differences(&compared, "GBP"), by_day(p.today, &["10"; 10])?);
    let third = shift(p.today, 3)?;
    let day3 = compared
        .iter()
        .find(|day| day.currency == "USD" && day.date == third)
        .ok_or("no day 3")?;
    assert_eq!(
        (day3.base, day3.scenario, day3.difference),
        (dec("1149.50"), dec("870.00"), dec("-279.50"))
    );
    assert!(
        compared
            .iter()
            .filter(|day| day.currency == "GBP")
            .all(|day| day.base == dec("0"))
    );

    // Nothing was written: the ledger, the schedule and the stored projection are as before.
    assert_eq!(ledger(&db).await?, ledger_before);
    assert_eq!(
        schedule::list_rows(&*db, p.ann, window.0, window.1).await?,
        rows_before
    );
    assert_eq!(
        schedule::daily_balances(&*db, p.ann, "USD", window.0, window.1).await?,
        stored_before
    );
    assert_eq!(schedule::project(&*db, p.ann, 10).await?, base);
    assert_eq!(outbox(&db, "finance.schedule.recomputed").await?, 1);

    // Without the laptop, only the delta remains: 20.50 a week.
    scenarios::remove_row(&*db, p.ann, plan_b.id, laptop.id).await?;
    let error = scenarios::remove_row(&*db, p.ann, plan_b.id, laptop.id)
        .await
        .err()
        .ok_or("a row was removed twice")?;
    assert!(is_not_found(&error), "{error:?}");
    assert_eq!(
        differences(
            &scenarios::compare(&*db, p.ann, plan_b.id, 10).await?,
            "USD"
        ),
        by_day(
            p.today,
            &[
                "20.50", "20.50", "20.50", "20.50", "20.50", "20.50", "20.50", "41.00", "41.00",
                "41.00",
            ]
        )?
    );

    // Scenarios are listed by name; deleting the base row deletes its deltas; deleting a
    // scenario deletes its rows.
    let another = scenarios::create_scenario(&*db, p.ann, scenario("Another")).await?;
    assert_eq!(
        scenarios::list_scenarios(&*db, p.ann).await?,
        vec![another.clone(), plan_b.clone()]
    );
    schedule::delete_row(&*db, p.ann, p.weekly).await?;
    let left = scenarios::scenario_rows(&*db, p.ann, plan_b.id).await?;
    assert_eq!(left.len(), 4);
    assert!(left.iter().all(|row| row.base_row_id.is_none()));
    scenarios::delete_scenario(&*db, p.ann, plan_b.id).await?;
    let error = scenarios::get_scenario(&*db, p.ann, plan_b.id)
        .await
        .err()
        .ok_or("a deleted scenario was read")?;
    assert!(is_not_found(&error), "{error:?}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM finance_money_schedule_scenario_row"
        )
        .await?,
        0
    );
    assert_eq!(scenarios::list_scenarios(&*db, p.ann).await?, vec![another]);
    Ok(())
}

#[tokio::test]
async fn schedule_rows_and_daily_balances_are_served_by_their_indexes() -> TestResult {
    use lifeos_testkit::explain::assert_index_serves;
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    // Three users, each with 400 schedule rows over 400 days (one in fifty recurring) and 400
    // stored balances (two currencies over 200 days).
    let series = if postgres {
        "SELECT g FROM generate_series(1, 400) AS g"
    } else {
        "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 400) \
         SELECT g FROM s"
    };
    let date = |days: &str| {
        if postgres {
            format!("DATE '2025-01-01' + ({days})")
        } else {
            format!("date('2025-01-01', '+' || ({days}) || ' days')")
        }
    };
    let mut owners = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let owner = user(&db, email).await?;
        let bank = account(&db, owner, "Bank", AccountType::Asset, "USD").await?;
        let txn = db.begin().await?;
        for sql in [
            format!(
                "INSERT INTO finance_money_schedule_row \
                 (user_id, account_id, event_date, amount, rrule) \
                 SELECT {owner}, {bank}, {}, 10, \
                 CASE WHEN g % 50 = 0 THEN 'FREQ=MONTHLY' END FROM ({series}) AS s",
                date("g")
            ),
            format!(
                "INSERT INTO finance_money_schedule_daily_balance \
                 (user_id, as_of, balance, currency) \
                 SELECT {owner}, {}, g, CASE WHEN g <= 200 THEN 'USD' ELSE 'EUR' END \
                 FROM ({series}) AS s",
                date("(g - 1) % 200 + 1")
            ),
        ] {
            txn.execute_raw(Statement::from_string(backend, sql))
                .await?;
        }
        txn.commit().await?;
        owners.push(owner);
    }
    db.execute_raw(Statement::from_string(backend, "ANALYZE"))
        .await?;
    let owner = owners[1];
    let (from, to) = (day(2025, 2, 1)?, day(2025, 2, 28)?);

    let rows = schedule::rows_select(owner, from, to)
        .build(backend)
        .to_string();
    assert_index_serves(
        &db,
        &rows,
        "ix_finance_money_schedule_row_user_event_date",
        "event_date",
    )
    .await?;
    let stored = schedule::daily_balances_select(owner, "USD", from, to)
        .build(backend)
        .to_string();
    assert_index_serves(
        &db,
        &stored,
        "ux_finance_money_schedule_daily_balance_user_currency_as_of",
        "as_of",
    )
    .await?;

    // And they read what was inserted: February's 28 days, the recurring rows before it.
    assert_eq!(
        schedule::daily_balances(&*db, owner, "USD", from, to)
            .await?
            .len(),
        28
    );
    let listed = schedule::list_rows(&*db, owner, from, to).await?;
    assert_eq!(listed.len(), 28);
    Ok(())
}

#[tokio::test]
async fn rules_that_would_break_projections_are_refused_and_stray_rows_are_left_out() -> TestResult
{
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bank = account(&db, ann, "Bank", AccountType::Asset, "USD").await?;
    // A daily rule from 1700 walks more occurrences than a projection may: refused at once.
    let ancient = schedule::create_row(
        &*db,
        ann,
        row(bank, day(1700, 1, 1)?, "-1.00", Some("FREQ=DAILY")),
    )
    .await
    .err()
    .ok_or("accepted")?;
    assert!(is_invalid(&ancient, "rrule"), "{ancient:?}");
    // A row of history on another user's account moves nothing, and breaks nothing.
    let bob = user(&db, "bob@example.com").await?;
    let bobs = account(&db, bob, "Bob's", AccountType::Asset, "USD").await?;
    schedule::create_row(
        &*db,
        ann,
        row(bank, day(2030, 1, 1)?, "-1.00", Some("FREQ=MONTHLY")),
    )
    .await?;
    let before = schedule::project(&*db, ann, 60).await?;
    let tomorrow = shift(today(&db, ann).await?, 1)?;
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!(
            "INSERT INTO finance_money_schedule_row (user_id, account_id, event_date, amount) \
             VALUES ({ann}, {bobs}, '{tomorrow}', 99)"
        ),
    ))
    .await?;
    let after = schedule::project(&*db, ann, 60).await?;
    assert_eq!(after.days, before.days);
    schedule::recompute(&*db, ann, 60).await?;
    Ok(())
}
