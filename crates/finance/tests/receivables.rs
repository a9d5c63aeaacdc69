//! Receivables and loans, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: trackers
//! (create, read, update, delete, with their event) and every refusal (nothing written),
//! entries, the outstanding amount to the cent, the overdue list (and the index that serves
//! it), interest by its convention (simple, actual/365, rounded once, half up), loan groups
//! (idempotent links, summaries), keyset paging, and another user's ids.

use chrono::{Days, NaiveDate};
use lifeos_entity::UserId;
use lifeos_finance::Error;
use lifeos_finance::service::journal::AMOUNT_MAX;
use lifeos_finance::service::receivables::{
    self, NewEntry, NewGroup, NewTracker, TrackerCursor, TrackerPatch,
};
use lifeos_testkit::TestDb;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

mod common;
use common::{count, day, is_invalid, is_not_found, outbox, payloads, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[allow(clippy::expect_used)] // only literals of this file: a typo must stop the test
fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal literal")
}

/// `days` after (positive) or before (negative) `from`.
fn shift(from: NaiveDate, days: i64) -> Result<NaiveDate, Box<dyn std::error::Error>> {
    let moved = if days >= 0 {
        from.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        from.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.ok_or_else(|| "date out of range".into())
}

fn tracker(counterparty: &str, principal: &str, start: NaiveDate) -> NewTracker {
    NewTracker {
        counterparty: counterparty.to_owned(),
        principal: dec(principal),
        start_date: start,
        ..Default::default()
    }
}

fn entry(on: NaiveDate, amount: &str) -> NewEntry {
    NewEntry {
        entry_date: on,
        amount: dec(amount),
        memo: None,
    }
}

fn group(name: &str) -> NewGroup {
    NewGroup {
        name: name.to_owned(),
        description: None,
    }
}

/// Trackers, entries, groups, links and outbox rows: what a refused call must leave unchanged.
async fn written(db: &DatabaseConnection) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    rows_in(
        db,
        &[
            "finance_receivable_tracker",
            "finance_receivable_manual_entry",
            "finance_loan_group",
            "finance_loan_group_link",
            "platform_outbox",
        ],
    )
    .await
}

#[tokio::test]
async fn trackers_are_created_read_updated_and_deleted_with_their_events() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let start = day(2026, 1, 1)?;
    let created = receivables::create_tracker(
        &*db,
        ann,
        NewTracker {
            due_date: Some(day(2026, 6, 30)?),
            interest_rate: Some(dec("5")),
            ..tracker("  Bob  ", "1000", start)
        },
    )
    .await?;
    assert_eq!(created.user_id, ann);
    assert_eq!(created.counterparty, "Bob");
    assert_eq!(created.principal.to_string(), "1000.00");
    assert_eq!(created.start_date, start);
    assert_eq!(created.due_date, Some(day(2026, 6, 30)?));
    assert_eq!(
        created.interest_rate.map(|rate| rate.to_string()),
        Some("5.00".to_owned())
    );
    assert_eq!(
        receivables::get_tracker(&*db, ann, created.id).await?,
        created
    );
    assert_eq!(outbox(&db, "finance.receivable.created").await?, 1);
    let events = payloads(&db, "finance.receivable.created").await?;
    let event = events.first().ok_or("no created event")?;
    for part in [
        format!("\"tracker_id\":{}", created.id),
        "\"counterparty\":\"Bob\"".to_owned(),
        "\"principal\":\"1000.00\"".to_owned(),
        "\"start_date\":\"2026-01-01\"".to_owned(),
        "\"due_date\":\"2026-06-30\"".to_owned(),
        "\"interest_rate\":\"5.00\"".to_owned(),
    ] {
        assert!(event.contains(&part), "{part} not in {event}");
    }
    // Trailing zeros are not extra decimals; the largest amount is accepted.
    let tidy = receivables::create_tracker(&*db, ann, tracker("Tidy", "1.000", start)).await?;
    assert_eq!(tidy.principal.to_string(), "1.00");
    let largest = receivables::create_tracker(
        &*db,
        ann,
        NewTracker {
            principal: AMOUNT_MAX,
            ..tracker("Large", "1", start)
        },
    )
    .await?;
    assert_eq!(largest.principal, AMOUNT_MAX);
    assert_eq!(
        receivables::get_tracker(&*db, ann, largest.id)
            .await?
            .principal,
        AMOUNT_MAX,
        "exact on SQLite too"
    );

    // Update: each field, then removing the optional ones; an empty patch changes nothing.
    let updated = receivables::update_tracker(
        &*db,
        ann,
        created.id,
        TrackerPatch {
            counterparty: Some(" Robert ".to_owned()),
            principal: Some(dec("1200.50")),
            start_date: Some(day(2025, 12, 1)?),
            due_date: Some(Some(day(2026, 12, 31)?)),
            interest_rate: Some(Some(dec("7.25"))),
        },
    )
    .await?;
    assert_eq!(updated.counterparty, "Robert");
    assert_eq!(updated.principal.to_string(), "1200.50");
    assert_eq!(updated.start_date, day(2025, 12, 1)?);
    assert_eq!(updated.due_date, Some(day(2026, 12, 31)?));
    assert_eq!(updated.interest_rate, Some(dec("7.25")));
    assert_eq!(
        receivables::get_tracker(&*db, ann, created.id).await?,
        updated
    );
    let cleared = receivables::update_tracker(
        &*db,
        ann,
        created.id,
        TrackerPatch {
            due_date: Some(None),
            interest_rate: Some(None),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!((cleared.due_date, cleared.interest_rate), (None, None));
    assert_eq!(cleared.counterparty, "Robert");
    let same = receivables::update_tracker(&*db, ann, created.id, TrackerPatch::default()).await?;
    assert_eq!(same, cleared);

    // An entry, with its event.
    let paid = receivables::record_entry(
        &*db,
        ann,
        created.id,
        NewEntry {
            memo: Some("  first instalment ".to_owned()),
            ..entry(day(2026, 2, 1)?, "-100")
        },
    )
    .await?;
    assert_eq!(paid.tracker_id, created.id);
    assert_eq!(paid.amount.to_string(), "-100.00");
    assert_eq!(paid.memo.as_deref(), Some("first instalment"));
    assert_eq!(outbox(&db, "finance.receivable.entry_recorded").await?, 1);
    let events = payloads(&db, "finance.receivable.entry_recorded").await?;
    let event = events.first().ok_or("no entry event")?;
    for part in [
        format!("\"tracker_id\":{}", created.id),
        format!("\"entry_id\":{}", paid.id),
        "\"entry_date\":\"2026-02-01\"".to_owned(),
        "\"amount\":\"-100.00\"".to_owned(),
    ] {
        assert!(event.contains(&part), "{part} not in {event}");
    }
    // The start may move, but not past an entry.
    let moved = receivables::update_tracker(
        &*db,
        ann,
        created.id,
        TrackerPatch {
            start_date: Some(day(2026, 2, 1)?),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(moved.start_date, day(2026, 2, 1)?);

    // Delete: the entries and links go with it; the group stays.
    let family = receivables::create_group(&*db, ann, group("Family")).await?;
    receivables::link(&*db, ann, family.id, created.id).await?;
    receivables::delete_tracker(&*db, ann, created.id).await?;
    let gone = receivables::get_tracker(&*db, ann, created.id).await;
    assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_receivable_manual_entry").await?,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_loan_group_link").await?,
        0
    );
    assert_eq!(receivables::get_group(&*db, ann, family.id).await?, family);
    let again = receivables::delete_tracker(&*db, ann, created.id).await;
    assert!(again.as_ref().is_err_and(is_not_found), "{again:?}");
    Ok(())
}

#[tokio::test]
async fn every_bad_input_is_refused_with_its_error_and_writes_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let start = day(2026, 1, 1)?;
    let existing = receivables::create_tracker(&*db, ann, tracker("Bob", "100", start)).await?;
    receivables::record_entry(&*db, ann, existing.id, entry(day(2026, 1, 10)?, "-1")).await?;
    // The limits themselves are accepted.
    let edge = receivables::create_tracker(
        &*db,
        ann,
        NewTracker {
            due_date: Some(start),
            interest_rate: Some(dec("999.99")),
            ..tracker(&"x".repeat(255), "0.01", start)
        },
    )
    .await?;
    assert_eq!(edge.interest_rate, Some(dec("999.99")));
    receivables::record_entry(
        &*db,
        ann,
        edge.id,
        NewEntry {
            memo: Some("m".repeat(512)),
            ..entry(start, "-99999999999.99")
        },
    )
    .await?;
    let before = written(&db).await?;

    let far = day(10000, 1, 1)?;
    let tracker_cases: Vec<(&str, NewTracker)> = vec![
        ("counterparty", tracker("", "1", start)),
        ("counterparty", tracker("   ", "1", start)),
        ("counterparty", tracker(&"x".repeat(256), "1", start)),
        ("counterparty", tracker("Nul\0party", "1", start)),
        ("principal", tracker("Bob", "0", start)),
        ("principal", tracker("Bob", "-0", start)),
        ("principal", tracker("Bob", "-5", start)),
        ("principal", tracker("Bob", "0.001", start)),
        ("principal", tracker("Bob", "1.005", start)),
        ("principal", tracker("Bob", "100000000000.00", start)),
        (
            "due_date",
            NewTracker {
                due_date: Some(day(2025, 12, 31)?),
                ..tracker("Bob", "1", start)
            },
        ),
        (
            "interest_rate",
            NewTracker {
                interest_rate: Some(dec("5.125")),
                ..tracker("Bob", "1", start)
            },
        ),
        (
            "interest_rate",
            NewTracker {
                interest_rate: Some(dec("1000")),
                ..tracker("Bob", "1", start)
            },
        ),
        (
            "interest_rate",
            NewTracker {
                interest_rate: Some(dec("-1")),
                ..tracker("Bob", "1", start)
            },
        ),
        ("start_date", tracker("Bob", "1", far)),
        (
            "due_date",
            NewTracker {
                due_date: Some(far),
                ..tracker("Bob", "1", start)
            },
        ),
    ];
    for (field, new) in tracker_cases {
        let error = receivables::create_tracker(&*db, ann, new.clone())
            .await
            .err()
            .ok_or_else(|| format!("accepted {new:?}"))?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }

    let entry_cases: Vec<(&str, NewEntry)> = vec![
        ("amount", entry(start, "0")),
        ("amount", entry(start, "-0.00")),
        ("amount", entry(start, "0.001")),
        ("amount", entry(start, "-12.345")),
        ("amount", entry(start, "100000000000")),
        ("amount", entry(start, "-100000000000")),
        ("entry_date", entry(day(2025, 12, 31)?, "-1")),
        ("entry_date", entry(far, "-1")),
        (
            "memo",
            NewEntry {
                memo: Some("m".repeat(513)),
                ..entry(start, "-1")
            },
        ),
    ];
    for (field, new) in entry_cases {
        let error = receivables::record_entry(&*db, ann, existing.id, new.clone())
            .await
            .err()
            .ok_or_else(|| format!("accepted {new:?}"))?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }

    let patch_cases: Vec<(&str, TrackerPatch)> = vec![
        (
            "counterparty",
            TrackerPatch {
                counterparty: Some(" ".to_owned()),
                ..Default::default()
            },
        ),
        (
            "principal",
            TrackerPatch {
                principal: Some(dec("0")),
                ..Default::default()
            },
        ),
        (
            "principal",
            TrackerPatch {
                principal: Some(dec("1.001")),
                ..Default::default()
            },
        ),
        (
            "due_date",
            TrackerPatch {
                due_date: Some(Some(day(2025, 6, 1)?)),
                ..Default::default()
            },
        ),
        (
            // After the entry of 10 January.
            "start_date",
            TrackerPatch {
                start_date: Some(day(2026, 1, 11)?),
                ..Default::default()
            },
        ),
        (
            "interest_rate",
            TrackerPatch {
                interest_rate: Some(Some(dec("0.001"))),
                ..Default::default()
            },
        ),
    ];
    for (field, patch) in patch_cases {
        let error = receivables::update_tracker(&*db, ann, existing.id, patch.clone())
            .await
            .err()
            .ok_or_else(|| format!("accepted {patch:?}"))?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }
    assert_eq!(
        receivables::get_tracker(&*db, ann, existing.id).await?,
        existing
    );

    for (field, new) in [
        ("name", group("")),
        ("name", group(&"g".repeat(129))),
        (
            "description",
            NewGroup {
                description: Some("d".repeat(4001)),
                ..group("Family")
            },
        ),
    ] {
        let error = receivables::create_group(&*db, ann, new)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }
    for limit in [0, 101] {
        let error = receivables::list_trackers(&*db, ann, None, limit)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, "limit"), "{error:?}");
    }
    assert_eq!(
        written(&db).await?,
        before,
        "a refused call wrote something"
    );
    Ok(())
}

#[tokio::test]
async fn another_users_trackers_and_groups_behave_as_missing_ones() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let today = lifeos_core::days::LocalDays::for_user(&*db, ann)
        .await?
        .today();
    let start = shift(today, -60)?;
    let anns = receivables::create_tracker(
        &*db,
        ann,
        NewTracker {
            due_date: Some(shift(today, -1)?),
            interest_rate: Some(dec("5")),
            ..tracker("Carol", "100", start)
        },
    )
    .await?;
    receivables::record_entry(&*db, ann, anns.id, entry(start, "-10")).await?;
    let family = receivables::create_group(&*db, ann, group("Family")).await?;
    receivables::link(&*db, ann, family.id, anns.id).await?;
    let bobs = receivables::create_tracker(&*db, bob, tracker("Dave", "5", start)).await?;
    let mine = receivables::create_group(&*db, bob, group("Mine")).await?;
    let before = written(&db).await?;

    let (theirs, their_group) = (anns.id, family.id);
    let rename = TrackerPatch {
        counterparty: Some("Mallory".to_owned()),
        ..Default::default()
    };
    let as_of = today;
    let errors: Vec<(&str, Option<Error>)> = vec![
        (
            "get_tracker",
            receivables::get_tracker(&*db, bob, theirs).await.err(),
        ),
        (
            "update_tracker",
            receivables::update_tracker(&*db, bob, theirs, rename.clone())
                .await
                .err(),
        ),
        (
            "delete_tracker",
            receivables::delete_tracker(&*db, bob, theirs).await.err(),
        ),
        (
            "record_entry",
            receivables::record_entry(&*db, bob, theirs, entry(start, "-1"))
                .await
                .err(),
        ),
        (
            "entries",
            receivables::entries(&*db, bob, theirs).await.err(),
        ),
        (
            "outstanding",
            receivables::outstanding(&*db, bob, theirs, as_of)
                .await
                .err(),
        ),
        (
            "accrued_interest",
            receivables::accrued_interest(&*db, bob, theirs, as_of)
                .await
                .err(),
        ),
        (
            "get_group",
            receivables::get_group(&*db, bob, their_group).await.err(),
        ),
        (
            "delete_group",
            receivables::delete_group(&*db, bob, their_group)
                .await
                .err(),
        ),
        (
            "group_summary",
            receivables::group_summary(&*db, bob, their_group, as_of)
                .await
                .err(),
        ),
        (
            "link into their group",
            receivables::link(&*db, bob, their_group, bobs.id)
                .await
                .err(),
        ),
        (
            "link their tracker",
            receivables::link(&*db, bob, mine.id, theirs).await.err(),
        ),
        (
            "unlink from their group",
            receivables::unlink(&*db, bob, their_group, theirs)
                .await
                .err(),
        ),
        (
            "unlink their tracker",
            receivables::unlink(&*db, bob, mine.id, theirs).await.err(),
        ),
        // And missing ids, the same way.
        (
            "missing tracker",
            receivables::update_tracker(&*db, ann, i32::MAX, rename)
                .await
                .err(),
        ),
        (
            "missing group",
            receivables::link(&*db, ann, i32::MAX, theirs).await.err(),
        ),
    ];
    for (call, error) in errors {
        let error = error.ok_or_else(|| format!("{call}: another user's id was reachable"))?;
        assert!(is_not_found(&error), "{call}: {error:?}");
    }
    assert_eq!(
        written(&db).await?,
        before,
        "a refused call wrote something"
    );
    // Ann's rows are as they were, and Bob's lists hold only his own.
    assert_eq!(receivables::get_tracker(&*db, ann, theirs).await?, anns);
    assert_eq!(receivables::entries(&*db, ann, theirs).await?.len(), 1);
    let summary = receivables::group_summary(&*db, ann, their_group, as_of).await?;
    assert_eq!(summary.trackers.len(), 1);
    assert_eq!(
        receivables::list_trackers(&*db, bob, None, 100).await?,
        vec![bobs]
    );
    assert_eq!(receivables::list_groups(&*db, bob).await?, vec![mine]);
    assert!(receivables::overdue(&*db, bob).await?.is_empty());
    assert_eq!(receivables::overdue(&*db, ann).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn outstanding_sums_payments_and_advances_exactly_to_the_cent() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let start = day(2026, 1, 1)?;
    let loan = receivables::create_tracker(&*db, ann, tracker("Bob", "0.10", start)).await?;
    // 0.10 + 0.20 − 0.29 + 1.15 − 1.16: float traps all (0.1 + 0.2, 0.29 × 100, 1.15 × 100).
    let mut recorded = Vec::new();
    for (on, amount) in [
        (day(2026, 1, 5)?, "0.20"),
        (day(2026, 1, 10)?, "-0.29"),
        (day(2026, 1, 10)?, "1.15"),
        (day(2026, 1, 20)?, "-1.16"),
    ] {
        recorded.push(receivables::record_entry(&*db, ann, loan.id, entry(on, amount)).await?);
    }
    for (as_of, expected) in [
        (day(2025, 12, 31)?, "0.00"),
        (start, "0.10"),
        (day(2026, 1, 4)?, "0.10"),
        (day(2026, 1, 5)?, "0.30"),
        (day(2026, 1, 9)?, "0.30"),
        (day(2026, 1, 10)?, "1.16"),
        (day(2026, 1, 19)?, "1.16"),
        (day(2026, 1, 20)?, "0.00"),
        (day(2030, 1, 1)?, "0.00"),
    ] {
        let outstanding = receivables::outstanding(&*db, ann, loan.id, as_of).await?;
        assert_eq!(outstanding.to_string(), expected, "as of {as_of}");
    }
    // Newest date first, then the later entry of the same date first.
    let listed: Vec<i32> = receivables::entries(&*db, ann, loan.id)
        .await?
        .iter()
        .map(|entry| entry.id)
        .collect();
    assert_eq!(
        listed,
        vec![
            recorded[3].id,
            recorded[2].id,
            recorded[1].id,
            recorded[0].id
        ]
    );
    assert_eq!(
        receivables::entries(&*db, ann, loan.id).await?[1].amount,
        dec("1.15")
    );

    // Overpaid: negative. The largest amounts stay exact.
    let over = receivables::create_tracker(&*db, ann, tracker("Over", "10", start)).await?;
    receivables::record_entry(&*db, ann, over.id, entry(start, "-10.01")).await?;
    assert_eq!(
        receivables::outstanding(&*db, ann, over.id, start)
            .await?
            .to_string(),
        "-0.01"
    );
    let big = receivables::create_tracker(
        &*db,
        ann,
        NewTracker {
            principal: AMOUNT_MAX,
            ..tracker("Big", "1", start)
        },
    )
    .await?;
    for _ in 0..3 {
        receivables::record_entry(
            &*db,
            ann,
            big.id,
            NewEntry {
                amount: AMOUNT_MAX,
                ..entry(start, "1")
            },
        )
        .await?;
    }
    receivables::record_entry(&*db, ann, big.id, entry(start, "-0.29")).await?;
    assert_eq!(
        receivables::outstanding(&*db, ann, big.id, start)
            .await?
            .to_string(),
        "399999999999.67"
    );
    Ok(())
}

#[tokio::test]
async fn overdue_lists_unsettled_trackers_due_before_the_users_today() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let today = lifeos_core::days::LocalDays::for_user(&*db, ann)
        .await?
        .today();
    let start = shift(today, -30)?;
    let due = |days: i64| -> Result<NewTracker, Box<dyn std::error::Error>> {
        Ok(NewTracker {
            due_date: Some(shift(today, days)?),
            ..tracker("Someone", "100", start)
        })
    };
    let yesterday = receivables::create_tracker(&*db, ann, due(-1)?).await?;
    let settled = receivables::create_tracker(&*db, ann, due(-10)?).await?;
    receivables::record_entry(&*db, ann, settled.id, entry(shift(today, -12)?, "-100")).await?;
    let partly = receivables::create_tracker(&*db, ann, due(-10)?).await?;
    receivables::record_entry(&*db, ann, partly.id, entry(shift(today, -12)?, "-70.01")).await?;
    let overpaid = receivables::create_tracker(&*db, ann, due(-5)?).await?;
    receivables::record_entry(&*db, ann, overpaid.id, entry(start, "-100.01")).await?;
    // A payment dated tomorrow does not settle it today.
    let promised = receivables::create_tracker(&*db, ann, due(-3)?).await?;
    receivables::record_entry(&*db, ann, promised.id, entry(shift(today, 1)?, "-100")).await?;
    // An advance after the due date raises what is overdue.
    let raised = receivables::create_tracker(&*db, ann, due(-2)?).await?;
    receivables::record_entry(&*db, ann, raised.id, entry(shift(today, -1)?, "0.01")).await?;
    // Due today, due later, never due: not overdue.
    receivables::create_tracker(&*db, ann, due(0)?).await?;
    receivables::create_tracker(&*db, ann, due(1)?).await?;
    receivables::create_tracker(&*db, ann, tracker("No date", "100", start)).await?;
    // Bob's overdue tracker is his own.
    receivables::create_tracker(
        &*db,
        bob,
        NewTracker {
            due_date: Some(shift(today, -1)?),
            ..tracker("Bob's", "5", start)
        },
    )
    .await?;

    let overdue = receivables::overdue(&*db, ann).await?;
    let found: Vec<(i32, String)> = overdue
        .iter()
        .map(|row| (row.tracker.id, row.outstanding.to_string()))
        .collect();
    assert_eq!(
        found,
        vec![
            (partly.id, "29.99".to_owned()),
            (promised.id, "100.00".to_owned()),
            (raised.id, "100.01".to_owned()),
            (yesterday.id, "100.00".to_owned()),
        ]
    );
    assert_eq!(overdue[0].tracker, partly);
    let bobs = receivables::overdue(&*db, bob).await?;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].tracker.user_id, bob);
    Ok(())
}

#[tokio::test]
async fn overdue_is_served_by_the_user_due_date_index() -> TestResult {
    use lifeos_testkit::explain::assert_index_serves;
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    // Three users with 400 trackers each, due on consecutive days, and statistics.
    let mut users = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        users.push(user(&db, email).await?.0);
    }
    let (series, start, due) = if postgres {
        (
            "SELECT g FROM generate_series(1, 400) AS g",
            "DATE '2020-01-01'",
            "DATE '2020-01-01' + g",
        )
    } else {
        (
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 400) \
             SELECT g FROM s",
            "'2020-01-01'",
            "date('2020-01-01', '+' || g || ' days')",
        )
    };
    for id in &users {
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO finance_receivable_tracker \
                 (user_id, counterparty, principal, start_date, due_date) \
                 SELECT {id}, 'party ' || CAST(g AS TEXT), 100, {start}, {due} \
                 FROM ({series}) AS series"
            ),
        ))
        .await?;
    }
    db.execute_unprepared("ANALYZE").await?;
    // The statement `overdue` runs, on a day when 30 of the user's 400 are due.
    let sql = receivables::overdue_sql(backend, UserId(users[0]), day(2020, 2, 1)?);
    assert_index_serves(
        &db,
        &sql,
        "ix_finance_receivable_tracker_user_due_date",
        "due_date",
    )
    .await?;
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql.clone()))
        .await?;
    assert_eq!(rows.len(), 30, "{sql}");
    Ok(())
}

#[tokio::test]
async fn interest_is_simple_actual_365_and_rounded_once_half_up() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let start = day(2026, 1, 1)?;
    let mar15 = day(2026, 3, 15)?;
    let at = |principal: &str, rate: &str, from: NaiveDate| NewTracker {
        interest_rate: Some(dec(rate)),
        ..tracker("Bob", principal, from)
    };
    let interest = |id: i32, as_of: NaiveDate| {
        let db = &db;
        async move {
            receivables::accrued_interest(&**db, ann, id, as_of)
                .await
                .map(|amount| amount.to_string())
        }
    };

    // 1,000.00 at 5% for the 73 days 1 January ..< 15 March 2026:
    // 1000 × 0.05 × 73 / 365 = 10.00 exactly.
    let plain = receivables::create_tracker(&*db, ann, at("1000", "5", start)).await?;
    assert_eq!(interest(plain.id, mar15).await?, "10.00");
    // One day: 1000 × 0.05 / 365 = 0.136986… → 0.14.
    assert_eq!(interest(plain.id, day(2026, 1, 2)?).await?, "0.14");
    // Nothing on or before the start.
    assert_eq!(interest(plain.id, start).await?, "0.00");
    assert_eq!(interest(plain.id, day(2025, 6, 1)?).await?, "0.00");
    // A payment dated 15 March takes effect that day: nothing changes up to it, and that
    // day (the balance is then zero) accrues nothing.
    receivables::record_entry(&*db, ann, plain.id, entry(mar15, "-1000")).await?;
    assert_eq!(interest(plain.id, mar15).await?, "10.00");
    assert_eq!(interest(plain.id, day(2026, 3, 16)?).await?, "10.00");
    assert_eq!(interest(plain.id, day(2027, 1, 1)?).await?, "10.00");

    // A payment of 500.00 on 6 February: 36 days on 1,000.00 (1 January ..< 6 February),
    // then 37 days on 500.00 (6 February ..< 15 March):
    // (1000 × 36 + 500 × 37) × 0.05 / 365 = 2725 / 365 = 7.465753… → 7.47.
    let halved = receivables::create_tracker(&*db, ann, at("1000", "5", start)).await?;
    receivables::record_entry(&*db, ann, halved.id, entry(day(2026, 2, 6)?, "-500")).await?;
    assert_eq!(interest(halved.id, mar15).await?, "7.47");

    // Overpaid on 6 February (1,500.00 paid back): the negative balance accrues nothing,
    // 1000 × 0.05 × 36 / 365 = 4.931506… → 4.93.
    let overpaid = receivables::create_tracker(&*db, ann, at("1000", "5", start)).await?;
    receivables::record_entry(&*db, ann, overpaid.id, entry(day(2026, 2, 6)?, "-1500")).await?;
    assert_eq!(interest(overpaid.id, mar15).await?, "4.93");

    // An advance on the start date earns from that day: 365.00 at 10% for 10 days = 1.00.
    let advanced = receivables::create_tracker(&*db, ann, at("100", "10", start)).await?;
    receivables::record_entry(&*db, ann, advanced.id, entry(start, "265")).await?;
    assert_eq!(interest(advanced.id, day(2026, 1, 11)?).await?, "1.00");

    // Half up, once: 182.50 at 1% for one day is 0.005 exactly → 0.01 (half to even would
    // give 0.00); 182.49 gives 0.004999… → 0.00.
    let half = receivables::create_tracker(&*db, ann, at("182.50", "1", start)).await?;
    assert_eq!(interest(half.id, day(2026, 1, 2)?).await?, "0.01");
    let below = receivables::create_tracker(&*db, ann, at("182.49", "1", start)).await?;
    assert_eq!(interest(below.id, day(2026, 1, 2)?).await?, "0.00");
    // Rounded once, not per day: 1.00 at 1% accrues 0.0000274 a day (0.00 each), 0.01 a year.
    let small = receivables::create_tracker(&*db, ann, at("1", "1", start)).await?;
    assert_eq!(interest(small.id, day(2027, 1, 1)?).await?, "0.01");

    // Actual/365: 2028 has 366 days, each a 365th of the yearly rate:
    // 365.00 × 0.10 × 366 / 365 = 36.60.
    let leap = receivables::create_tracker(&*db, ann, at("365", "10", day(2028, 1, 1)?)).await?;
    assert_eq!(interest(leap.id, day(2029, 1, 1)?).await?, "36.60");

    // No rate, a zero rate: nothing.
    let none = receivables::create_tracker(&*db, ann, tracker("Bob", "1000", start)).await?;
    assert_eq!(interest(none.id, mar15).await?, "0.00");
    let zero = receivables::create_tracker(&*db, ann, at("1000", "0", start)).await?;
    assert_eq!(interest(zero.id, mar15).await?, "0.00");
    // The highest rate on the largest amount for a century still fits.
    let huge = receivables::create_tracker(
        &*db,
        ann,
        NewTracker {
            principal: AMOUNT_MAX,
            ..at("1", "999.99", start)
        },
    )
    .await?;
    let century = receivables::accrued_interest(&*db, ann, huge.id, day(2126, 1, 1)?).await?;
    assert!(century > AMOUNT_MAX, "{century}");
    Ok(())
}

#[tokio::test]
async fn groups_link_idempotently_and_sum_their_trackers() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let family = receivables::create_group(
        &*db,
        ann,
        NewGroup {
            description: Some("  loans to family ".to_owned()),
            ..group(" Family ")
        },
    )
    .await?;
    assert_eq!(family.name, "Family");
    assert_eq!(family.description.as_deref(), Some("loans to family"));
    let work = receivables::create_group(&*db, ann, group("Work")).await?;
    let business = receivables::create_group(&*db, ann, group("Business")).await?;
    let names: Vec<String> = receivables::list_groups(&*db, ann)
        .await?
        .into_iter()
        .map(|group| group.name)
        .collect();
    assert_eq!(names, ["Business", "Family", "Work"]);
    assert_eq!(receivables::get_group(&*db, ann, work.id).await?, work);

    let early =
        receivables::create_tracker(&*db, ann, tracker("Ann's brother", "100", day(2026, 1, 1)?))
            .await?;
    let later = receivables::create_tracker(
        &*db,
        ann,
        tracker("Ann's sister", "250.50", day(2026, 2, 1)?),
    )
    .await?;
    receivables::record_entry(&*db, ann, later.id, entry(day(2026, 2, 10)?, "-50.25")).await?;
    let outside =
        receivables::create_tracker(&*db, ann, tracker("Colleague", "999", day(2026, 1, 1)?))
            .await?;
    receivables::link(&*db, ann, work.id, outside.id).await?;

    let first = receivables::link(&*db, ann, family.id, early.id).await?;
    let events = written(&db).await?;
    let again = receivables::link(&*db, ann, family.id, early.id).await?;
    assert_eq!(again, first, "linking twice returns the link");
    assert_eq!(written(&db).await?, events, "linking twice wrote");
    receivables::link(&*db, ann, family.id, later.id).await?;
    // A tracker may be in several groups.
    receivables::link(&*db, ann, business.id, early.id).await?;

    let summary = receivables::group_summary(&*db, ann, family.id, day(2026, 3, 1)?).await?;
    assert_eq!(summary.group, family);
    let rows: Vec<(i32, String)> = summary
        .trackers
        .iter()
        .map(|row| (row.tracker.id, row.outstanding.to_string()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (later.id, "200.25".to_owned()),
            (early.id, "100.00".to_owned())
        ]
    );
    assert_eq!(summary.total_principal.to_string(), "350.50");
    assert_eq!(summary.total_outstanding.to_string(), "300.25");
    // Before the later loan started, it has nothing outstanding (its principal still counts).
    let january = receivables::group_summary(&*db, ann, family.id, day(2026, 1, 15)?).await?;
    assert_eq!(january.total_principal.to_string(), "350.50");
    assert_eq!(january.total_outstanding.to_string(), "100.00");

    // Unlinking: once, then there is nothing to unlink.
    assert!(receivables::unlink(&*db, ann, family.id, early.id).await?);
    assert!(!receivables::unlink(&*db, ann, family.id, early.id).await?);
    let summary = receivables::group_summary(&*db, ann, family.id, day(2026, 3, 1)?).await?;
    assert_eq!(summary.trackers.len(), 1);
    assert_eq!(summary.total_outstanding.to_string(), "200.25");
    let empty = receivables::group_summary(&*db, ann, work.id, day(2025, 1, 1)?).await?;
    assert_eq!(empty.total_outstanding.to_string(), "0.00");
    assert_eq!(empty.total_principal.to_string(), "999.00");
    let none = receivables::create_group(&*db, ann, group("Empty")).await?;
    let nothing = receivables::group_summary(&*db, ann, none.id, day(2026, 3, 1)?).await?;
    assert!(nothing.trackers.is_empty());
    assert_eq!(
        (
            nothing.total_principal.to_string(),
            nothing.total_outstanding.to_string()
        ),
        ("0.00".to_owned(), "0.00".to_owned())
    );

    // Deleting a group takes its links, not its trackers.
    receivables::delete_group(&*db, ann, family.id).await?;
    let gone = receivables::get_group(&*db, ann, family.id).await;
    assert!(gone.as_ref().is_err_and(is_not_found), "{gone:?}");
    assert_eq!(receivables::get_tracker(&*db, ann, later.id).await?, later);
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM finance_loan_group_link WHERE group_id = {}",
                family.id
            )
        )
        .await?,
        0
    );
    Ok(())
}

#[tokio::test]
async fn keyset_pages_return_every_tracker_once_despite_ties_and_inserts() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let mut expected = Vec::new();
    for (index, start) in [
        day(2026, 1, 1)?,
        day(2026, 2, 1)?,
        day(2026, 1, 1)?,
        day(2025, 12, 1)?,
        day(2026, 1, 1)?,
        day(2026, 2, 1)?,
        day(2025, 12, 1)?,
    ]
    .into_iter()
    .enumerate()
    {
        expected.push(
            receivables::create_tracker(&*db, ann, tracker(&format!("party {index}"), "1", start))
                .await?,
        );
    }
    receivables::create_tracker(&*db, bob, tracker("Bob's", "1", day(2026, 1, 1)?)).await?;

    let mut seen = Vec::new();
    let mut after: Option<TrackerCursor> = None;
    let mut pages = 0;
    loop {
        let page = receivables::list_trackers(&*db, ann, after, 3).await?;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        pages += 1;
        after = page.last().map(TrackerCursor::from);
        seen.extend(page);
        if pages == 1 {
            // Inserted meanwhile: one before the cursor (never shown), one after it (shown
            // in its place).
            receivables::create_tracker(&*db, ann, tracker("newest", "1", day(2027, 1, 1)?))
                .await?;
            expected.push(
                receivables::create_tracker(&*db, ann, tracker("oldest", "1", day(2020, 1, 1)?))
                    .await?,
            );
        }
        if pages > 10 {
            return Err("paging does not end".into());
        }
    }
    expected.sort_by_key(|tracker| std::cmp::Reverse((tracker.start_date, tracker.id)));
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    Ok(())
}
