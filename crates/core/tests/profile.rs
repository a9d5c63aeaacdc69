//! The user profile (name, time zone, email), sign-in in one call, and the user's local day
//! from the one time zone and the day-start preference.

mod common;

use common::{PASSWORD, account};

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use lifeos_core::days::{DAY_STARTS_AT, LocalDays};
use lifeos_core::identity::accounts::{self, ProfilePatch};
use lifeos_core::identity::sessions::{self, SessionPolicy};
use lifeos_core::identity::{password_reset, preferences};
use lifeos_core::{Error, TokenProblem};
use lifeos_entity::{UserId, user};
use lifeos_testkit::TestDb;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn the_profile_changes_name_and_time_zone() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let updated = accounts::update_profile(
        db.conn(),
        ada,
        ProfilePatch {
            full_name: Some(Some("  Ada Lovelace ".into())),
            timezone: Some("Asia/Seoul".into()),
        },
    )
    .await?;
    assert_eq!(updated.full_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(updated.timezone, "Asia/Seoul");
    // The preference reads the profile's zone, and writing it changes the profile.
    assert_eq!(
        preferences::get(db.conn(), ada, "timezone").await?,
        Some(json!("Asia/Seoul"))
    );
    assert_eq!(
        preferences::get_all(db.conn(), ada).await?["timezone"],
        json!("Asia/Seoul")
    );
    preferences::set(db.conn(), ada, " timezone ", json!("Europe/Berlin")).await?;
    assert_eq!(
        accounts::get(db.conn(), ada).await?.timezone,
        "Europe/Berlin"
    );
    assert!(preferences::reset(db.conn(), ada, "timezone").await?);
    assert_eq!(accounts::get(db.conn(), ada).await?.timezone, "UTC");

    // A name can be removed; a patch without fields changes nothing.
    let cleared = accounts::update_profile(
        db.conn(),
        ada,
        ProfilePatch {
            full_name: Some(None),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(cleared.full_name, None);
    assert_eq!(
        accounts::update_profile(db.conn(), ada, ProfilePatch::default())
            .await?
            .timezone,
        "UTC"
    );

    let before = user::Entity::find_by_id(ada).one(db.conn()).await?;
    for (patch, field) in [
        (
            ProfilePatch {
                timezone: Some("Mars/Olympus".into()),
                ..Default::default()
            },
            "timezone",
        ),
        (
            ProfilePatch {
                full_name: Some(Some("x".repeat(accounts::FULL_NAME_MAX + 1))),
                timezone: Some("Europe/Paris".into()),
            },
            "full_name",
        ),
    ] {
        match accounts::update_profile(db.conn(), ada, patch).await {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(user::Entity::find_by_id(ada).one(db.conn()).await?, before);
    assert!(matches!(
        accounts::update_profile(db.conn(), UserId(9999), ProfilePatch::default()).await,
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn changing_the_email_is_checked_case_insensitively_and_ends_sessions() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    account(&db, "bob@example.org").await?;
    let issued = sessions::issue(db.conn(), ada, None, SessionPolicy::default()).await?;
    let reset = password_reset::request(db.conn(), "ada@example.org", password_reset::DEFAULT_TTL)
        .await?
        .ok_or("no reset token")?;

    assert!(matches!(
        accounts::change_email(db.conn(), ada, "wrong password", "ada@new.org").await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        accounts::change_email(db.conn(), ada, PASSWORD, " BOB@Example.org ").await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        accounts::change_email(db.conn(), ada, PASSWORD, "not an email").await,
        Err(Error::Invalid { field: "email", .. })
    ));
    // Refusals changed nothing.
    assert!(
        sessions::validate(db.conn(), &issued.session_token)
            .await
            .is_ok()
    );
    assert_eq!(
        accounts::get(db.conn(), ada).await?.email,
        "ada@example.org"
    );

    let changed = accounts::change_email(db.conn(), ada, PASSWORD, "Ada@New.org").await?;
    assert_eq!(changed.email, "ada@new.org");
    assert!(matches!(
        sessions::validate(db.conn(), &issued.session_token).await,
        Err(Error::Token(TokenProblem::Revoked))
    ));
    assert!(matches!(
        password_reset::consume(db.conn(), &reset.token, "a new password").await,
        Err(Error::Token(TokenProblem::Used))
    ));
    assert!(matches!(
        accounts::authenticate(db.conn(), "ada@example.org", PASSWORD).await,
        Err(Error::InvalidCredentials)
    ));
    assert_eq!(
        accounts::authenticate(db.conn(), "ADA@new.org", PASSWORD)
            .await?
            .id,
        ada
    );
    // The old address is free again.
    account(&db, "Ada@Example.org").await?;
    assert_eq!(user::Entity::find().count(db.conn()).await?, 3);
    Ok(())
}

#[tokio::test]
async fn sign_in_authenticates_and_opens_a_session() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let signed = accounts::sign_in(
        db.conn(),
        "ADA@example.org",
        PASSWORD,
        Some("phone"),
        SessionPolicy::default(),
    )
    .await?;
    assert_eq!(signed.account.id, ada);
    let session = sessions::validate(db.conn(), &signed.tokens.session_token).await?;
    assert_eq!(
        (session.user_id, session.device_id.as_deref()),
        (ada, Some("phone"))
    );
    assert!(matches!(
        accounts::sign_in(
            db.conn(),
            "ada@example.org",
            "wrong",
            None,
            SessionPolicy::default()
        )
        .await,
        Err(Error::InvalidCredentials)
    ));
    assert_eq!(sessions::list(db.conn(), ada).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn local_days_follow_the_profile_zone_and_the_day_start() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or("bad date");

    // UTC and midnight until the user says otherwise.
    let days = LocalDays::for_user(db.conn(), ada).await?;
    assert_eq!(
        (days.zone(), days.day_start()),
        (chrono_tz::UTC, NaiveTime::MIN)
    );

    // 23:30 in Seoul is 14:30 UTC: the Seoul date, which here is also the UTC date; 00:30 in
    // Seoul on 2 March is still 1 March in UTC.
    accounts::update_profile(
        db.conn(),
        ada,
        ProfilePatch {
            timezone: Some("Asia/Seoul".into()),
            ..Default::default()
        },
    )
    .await?;
    let days = LocalDays::for_user(db.conn(), ada).await?;
    let half_past_midnight = Utc
        .with_ymd_and_hms(2026, 3, 1, 15, 30, 0)
        .single()
        .ok_or("t")?;
    assert_eq!(days.day_of(half_past_midnight), day(2026, 3, 2)?);
    assert_ne!(
        days.day_of(half_past_midnight),
        half_past_midnight.date_naive()
    );

    // With day start 04:00, 01:30 belongs to the day before.
    preferences::set(db.conn(), ada, DAY_STARTS_AT, json!("04:00")).await?;
    let days = LocalDays::for_user(db.conn(), ada).await?;
    let early = Utc
        .with_ymd_and_hms(2026, 3, 1, 16, 30, 0)
        .single()
        .ok_or("t")?; // 01:30 KST
    assert_eq!(days.day_of(early), day(2026, 3, 1)?);
    let (start, end) = days.range(day(2026, 3, 1)?);
    assert_eq!(
        (start, end),
        (
            Utc.with_ymd_and_hms(2026, 2, 28, 19, 0, 0)
                .single()
                .ok_or("t")?,
            Utc.with_ymd_and_hms(2026, 3, 1, 19, 0, 0)
                .single()
                .ok_or("t")?
        )
    );

    for bad in [json!("4:00"), json!("24:00"), json!(400)] {
        assert!(matches!(
            preferences::set(db.conn(), ada, DAY_STARTS_AT, bad).await,
            Err(Error::Invalid { field: "value", .. })
        ));
    }
    assert!(matches!(
        LocalDays::for_user(db.conn(), UserId(9999)).await,
        Err(Error::NotFound { .. })
    ));
    Ok(())
}
