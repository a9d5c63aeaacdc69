//! Trial-balance settings, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: the
//! default of a month without a row, set and get, the upsert (also racing: one row), clear,
//! list order, strict months (nothing written), an unknown user, and another user's settings.

use lifeos_entity::UserId;
use lifeos_finance::service::settings::{self, DEFAULT_AUTO_ROLLUP, Setting};
use lifeos_testkit::TestDb;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

mod common;
use common::{day, is_invalid, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn setting(month: &str, auto_rollup: bool, stored: bool) -> Setting {
    Setting {
        month: month.to_owned(),
        auto_rollup,
        stored,
    }
}

/// The rows of `finance_trial_balance_setting` (of `user`, or of everyone).
async fn rows(
    db: &DatabaseConnection,
    user: Option<UserId>,
) -> Result<i64, Box<dyn std::error::Error>> {
    let filter = user.map_or_else(String::new, |user| format!(" WHERE user_id = {user}"));
    Ok(db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT count(*) FROM finance_trial_balance_setting{filter}"),
        ))
        .await?
        .ok_or("no count")?
        .try_get_by_index(0)?)
}

#[tokio::test]
async fn a_month_reads_as_the_default_until_set_and_set_upserts() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    assert_eq!(
        settings::get(&*db, ann, "2026-03").await?,
        setting("2026-03", true, false)
    );
    assert_eq!(rows(&db, None).await?, 0, "reading wrote");
    // The default is the column's: a row inserted without the flag reads the same.
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!(
            "INSERT INTO finance_trial_balance_setting (user_id, month) VALUES ({ann}, '2027-01')"
        ),
    ))
    .await?;
    assert_eq!(
        settings::get(&*db, ann, "2027-01").await?,
        setting("2027-01", DEFAULT_AUTO_ROLLUP, true)
    );
    assert!(settings::clear(&*db, ann, "2027-01").await?);

    assert_eq!(
        settings::set(&*db, ann, "2026-03", false).await?,
        setting("2026-03", false, true)
    );
    assert_eq!(
        settings::get(&*db, ann, "2026-03").await?,
        setting("2026-03", false, true)
    );
    // Set again, both ways: the one row is updated.
    assert_eq!(
        settings::set(&*db, ann, "2026-03", true).await?,
        setting("2026-03", true, true)
    );
    assert_eq!(
        settings::get(&*db, ann, "2026-03").await?,
        setting("2026-03", true, true),
        "stored, though equal to the default"
    );
    settings::set(&*db, ann, "2026-03", false).await?;
    settings::set(&*db, ann, "2026-03", false).await?;
    assert_eq!(rows(&db, None).await?, 1);
    assert_eq!(
        settings::get(&*db, ann, "2026-03").await?,
        setting("2026-03", false, true)
    );
    // Other months are untouched.
    assert_eq!(
        settings::get(&*db, ann, "2026-04").await?,
        setting("2026-04", true, false)
    );

    // Clear: back to the default; a second clear finds nothing.
    assert!(settings::clear(&*db, ann, "2026-03").await?);
    assert_eq!(
        settings::get(&*db, ann, "2026-03").await?,
        setting("2026-03", true, false)
    );
    assert!(!settings::clear(&*db, ann, "2026-03").await?);
    assert_eq!(rows(&db, None).await?, 0);

    // A day's month, which the functions accept, at both ends of the years.
    for (on, month) in [
        (day(2026, 3, 31)?, "2026-03"),
        (day(2026, 12, 1)?, "2026-12"),
        (day(1, 1, 1)?, "0001-01"),
        (day(9999, 12, 31)?, "9999-12"),
    ] {
        assert_eq!(settings::month_of(on), month);
        assert_eq!(
            settings::get(&*db, ann, &settings::month_of(on)).await?,
            setting(month, true, false)
        );
    }
    settings::set(&*db, ann, "0001-01", false).await?;
    settings::set(&*db, ann, "9999-12", false).await?;
    assert_eq!(rows(&db, Some(ann)).await?, 2);
    Ok(())
}

#[tokio::test]
async fn months_are_exactly_yyyy_mm_and_a_refusal_writes_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    settings::set(&*db, ann, "2026-01", false).await?;
    let before = settings::list(&*db, ann).await?;
    for bad in [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-01",
        "2026-01-01",
        "",
        "0000-01",
        "10000-01",
        " 2026-01",
        "2026-01 ",
        "2026/01",
        "2026_01",
        "+026-01",
        "-026-01",
        "2026--1",
        "２０２６-01",
        "2026-0１",
        "202601",
        "2026-01\0",
    ] {
        let refused = [
            settings::set(&*db, ann, bad, true).await.err(),
            settings::get(&*db, ann, bad).await.err(),
            settings::clear(&*db, ann, bad).await.err(),
        ];
        for error in refused {
            let error = error.ok_or_else(|| format!("{bad:?} was accepted"))?;
            assert!(is_invalid(&error, "month"), "{bad:?}: {error:?}");
        }
    }
    assert_eq!(settings::list(&*db, ann).await?, before, "a refusal wrote");
    assert_eq!(rows(&db, None).await?, 1);

    // A user that does not exist: the foreign key refuses, nothing is written.
    let error = settings::set(&*db, UserId(i32::MAX), "2026-01", true)
        .await
        .err()
        .ok_or("a setting of no user was stored")?;
    assert!(is_invalid(&error, "reference"), "{error:?}");
    assert_eq!(rows(&db, None).await?, 1);
    Ok(())
}

#[tokio::test]
async fn racing_sets_of_one_month_leave_one_row() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let mut calls = tokio::task::JoinSet::new();
    for call in 0..10 {
        let conn: DatabaseConnection = (*db).clone();
        calls.spawn(async move { settings::set(&conn, ann, "2026-05", call % 2 == 0).await });
    }
    while let Some(result) = calls.join_next().await {
        let stored = result??;
        assert_eq!(stored.month, "2026-05");
        assert!(stored.stored);
    }
    assert_eq!(rows(&db, None).await?, 1);
    let now = settings::get(&*db, ann, "2026-05").await?;
    assert!(now.stored, "{now:?}");
    assert_eq!(settings::list(&*db, ann).await?, vec![now]);
    Ok(())
}

#[tokio::test]
async fn settings_are_listed_by_month_and_another_users_are_separate() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let carol = user(&db, "carol@example.com").await?;
    for (month, auto_rollup) in [("2026-02", false), ("2025-12", true), ("2026-10", false)] {
        settings::set(&*db, ann, month, auto_rollup).await?;
    }
    settings::set(&*db, bob, "2026-02", true).await?;
    assert_eq!(
        settings::list(&*db, ann).await?,
        [
            setting("2025-12", true, true),
            setting("2026-02", false, true),
            setting("2026-10", false, true),
        ]
    );
    assert_eq!(
        settings::list(&*db, bob).await?,
        [setting("2026-02", true, true)]
    );
    assert!(settings::list(&*db, carol).await?.is_empty());

    // Bob sees his own or the default, never ann's; his clear never touches hers.
    assert_eq!(
        settings::get(&*db, bob, "2026-10").await?,
        setting("2026-10", true, false)
    );
    assert!(!settings::clear(&*db, bob, "2026-10").await?);
    assert_eq!(
        settings::get(&*db, ann, "2026-10").await?,
        setting("2026-10", false, true)
    );
    assert!(settings::clear(&*db, bob, "2026-02").await?);
    assert_eq!(
        settings::get(&*db, ann, "2026-02").await?,
        setting("2026-02", false, true)
    );
    // Bob's set of a month ann has stored makes a row of his own.
    settings::set(&*db, bob, "2026-10", true).await?;
    assert_eq!(
        settings::get(&*db, ann, "2026-10").await?,
        setting("2026-10", false, true)
    );
    assert_eq!(rows(&db, Some(ann)).await?, 3);
    assert_eq!(rows(&db, Some(bob)).await?, 1);
    Ok(())
}
