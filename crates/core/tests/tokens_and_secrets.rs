//! Tokens and secrets: absolute session lifetime, history's rows without expiry, reset tokens
//! invalidating one another, request limits, calendar refresh tokens and key rotation, and
//! no secret in any `Debug` output.

mod common;

use common::account;

use chrono::{Duration, Utc};
use lifeos_core::calendar::credentials::{self, NewCredential, Provider};
use lifeos_core::identity::accounts::{self, NewAccount};
use lifeos_core::identity::password_reset::{self, MAX_REQUESTS_PER_HOUR};
use lifeos_core::identity::sessions::{self, LifecycleState, SessionPolicy};
use lifeos_core::platform::outbox::{self, ClaimOptions};
use lifeos_core::{CredentialKey, Error, TokenProblem};
use lifeos_entity::{
    Timestamp, auth_session, calendar_oauth_token, password_reset_token, session_token,
};
use lifeos_testkit::TestDb;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn a_session_cannot_be_refreshed_past_its_absolute_lifetime() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let policy = SessionPolicy {
        max_age: Duration::hours(2),
        ..Default::default()
    };
    let issued = sessions::issue(db.conn(), ada, None, policy).await?;
    // No token of the session outlives it.
    let deadline = Utc::now() + Duration::hours(2);
    assert!(issued.refresh_expires_at <= deadline);
    assert!(issued.session_expires_at <= deadline);
    let refreshed = sessions::refresh(db.conn(), &issued.refresh_token, policy).await?;
    assert!(refreshed.refresh_expires_at <= deadline);

    // Three hours later (the session began three hours ago), refreshing is refused.
    auth_session::Entity::update_many()
        .col_expr(
            auth_session::Column::CreatedAt,
            Expr::value(Timestamp(Utc::now() - Duration::hours(3))),
        )
        .filter(auth_session::Column::Id.eq(issued.session_id))
        .exec(db.conn())
        .await?;
    assert!(matches!(
        sessions::refresh(db.conn(), &refreshed.refresh_token, policy).await,
        Err(Error::Token(TokenProblem::Expired))
    ));
    // The refusal wrote nothing: the token is still unused.
    let token = session_token::Entity::find()
        .filter(session_token::Column::AuthSessionId.eq(issued.session_id))
        .filter(session_token::Column::Revoked.eq(false))
        .all(db.conn())
        .await?;
    assert_eq!(token.len(), 1);
    assert!(matches!(
        sessions::issue(
            db.conn(),
            ada,
            None,
            SessionPolicy {
                max_age: Duration::zero(),
                ..Default::default()
            }
        )
        .await,
        Err(Error::Invalid {
            field: "policy",
            ..
        })
    ));
    Ok(())
}

#[tokio::test]
async fn sessions_and_refresh_tokens_from_history_without_expiry_are_expired() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let issued = sessions::issue(db.conn(), ada, None, SessionPolicy::default()).await?;
    auth_session::Entity::update_many()
        .col_expr(
            auth_session::Column::ExpiresAt,
            Expr::value(None::<Timestamp>),
        )
        .exec(db.conn())
        .await?;
    assert!(matches!(
        sessions::validate(db.conn(), &issued.session_token).await,
        Err(Error::Token(TokenProblem::Expired))
    ));
    session_token::Entity::update_many()
        .col_expr(
            session_token::Column::ExpiresAt,
            Expr::value(None::<Timestamp>),
        )
        .exec(db.conn())
        .await?;
    assert!(matches!(
        sessions::refresh(db.conn(), &issued.refresh_token, SessionPolicy::default()).await,
        Err(Error::Token(TokenProblem::Expired))
    ));
    assert_eq!(sessions::expire_due(db.conn()).await?, 1);
    assert_eq!(
        sessions::list(db.conn(), ada).await?[0].state,
        LifecycleState::Expired
    );
    Ok(())
}

#[tokio::test]
async fn a_consumed_reset_token_invalidates_the_others() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let bob = account(&db, "bob@example.org").await?;
    let request = |email: &'static str| {
        let conn = db.conn().clone();
        async move {
            password_reset::request(&conn, email, password_reset::DEFAULT_TTL)
                .await?
                .ok_or(Error::not_found("account", email))
        }
    };
    let first = request("ada@example.org").await?;
    let second = request("ada@example.org").await?;
    let bobs = request("bob@example.org").await?;
    assert_eq!(
        password_reset::consume(db.conn(), &second.token, "new password 1").await?,
        ada
    );
    assert!(matches!(
        password_reset::consume(db.conn(), &first.token, "new password 2").await,
        Err(Error::Token(TokenProblem::Used))
    ));
    accounts::authenticate(db.conn(), "ada@example.org", "new password 1").await?;
    // Another user's token is untouched.
    assert_eq!(
        password_reset::consume(db.conn(), &bobs.token, "bob's new one").await?,
        bob
    );

    // Changing the password invalidates outstanding tokens too.
    let third = request("ada@example.org").await?;
    accounts::change_password(db.conn(), ada, "new password 1", "new password 3").await?;
    assert!(matches!(
        password_reset::consume(db.conn(), &third.token, "new password 4").await,
        Err(Error::Token(TokenProblem::Used))
    ));
    // So does deactivation.
    let fourth = request("ada@example.org").await?;
    accounts::deactivate(db.conn(), ada).await?;
    let row = password_reset_token::Entity::find()
        .filter(password_reset_token::Column::UserId.eq(ada))
        .filter(password_reset_token::Column::UsedAt.is_null())
        .all(db.conn())
        .await?;
    assert!(row.is_empty(), "outstanding after deactivation: {row:?}");
    assert!(matches!(
        password_reset::consume(db.conn(), &fourth.token, "new password 5").await,
        Err(Error::Token(TokenProblem::Used))
    ));
    Ok(())
}

#[tokio::test]
async fn reset_requests_are_limited_per_user_and_hour() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    account(&db, "bob@example.org").await?;
    for _ in 0..MAX_REQUESTS_PER_HOUR {
        assert!(
            password_reset::request(db.conn(), "ada@example.org", password_reset::DEFAULT_TTL)
                .await?
                .is_some()
        );
    }
    assert!(matches!(
        password_reset::request(db.conn(), "ada@example.org", password_reset::DEFAULT_TTL).await,
        Err(Error::Token(TokenProblem::TooManyAttempts))
    ));
    // Per user: Bob is not affected. An unknown email still answers `None`.
    assert!(
        password_reset::request(db.conn(), "bob@example.org", password_reset::DEFAULT_TTL)
            .await?
            .is_some()
    );
    assert!(
        password_reset::request(db.conn(), "nobody@example.org", password_reset::DEFAULT_TTL)
            .await?
            .is_none()
    );
    // An hour later, Ada may ask again.
    password_reset_token::Entity::update_many()
        .col_expr(
            password_reset_token::Column::CreatedAt,
            Expr::value(Timestamp(Utc::now() - Duration::minutes(61))),
        )
        .filter(password_reset_token::Column::UserId.eq(ada))
        .exec(db.conn())
        .await?;
    assert!(
        password_reset::request(db.conn(), "ada@example.org", password_reset::DEFAULT_TTL)
            .await?
            .is_some()
    );
    Ok(())
}

fn google(access: &str, refresh: Option<&str>) -> NewCredential {
    NewCredential {
        provider: Provider::Google,
        access_token: access.into(),
        refresh_token: refresh.map(str::to_owned),
        token_type: None,
        expires_at: None,
    }
}

#[tokio::test]
async fn a_credential_stored_without_a_refresh_token_keeps_the_stored_one() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let key = CredentialKey::generate()?;
    credentials::store(db.conn(), ada, &key, google("access-1", Some("refresh-1"))).await?;
    credentials::store(db.conn(), ada, &key, google("access-2", None)).await?;
    let opened = credentials::get(db.conn(), ada, Provider::Google, &key).await?;
    assert_eq!(opened.access_token.as_str(), "access-2");
    assert_eq!(
        opened.refresh_token.as_deref().map(String::as_str),
        Some("refresh-1")
    );
    credentials::store(db.conn(), ada, &key, google("access-3", Some("refresh-2"))).await?;
    let opened = credentials::get(db.conn(), ada, Provider::Google, &key).await?;
    assert_eq!(
        opened.refresh_token.as_deref().map(String::as_str),
        Some("refresh-2")
    );
    assert!(credentials::clear_refresh_token(db.conn(), ada, Provider::Google).await?);
    assert!(!credentials::clear_refresh_token(db.conn(), ada, Provider::Google).await?);
    let opened = credentials::get(db.conn(), ada, Provider::Google, &key).await?;
    assert_eq!(
        (opened.access_token.as_str(), opened.refresh_token.is_none()),
        ("access-3", true)
    );
    assert!(matches!(
        credentials::clear_refresh_token(db.conn(), ada, Provider::Apple).await,
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn rotating_the_key_reseals_every_row_in_one_transaction() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let bob = account(&db, "bob@example.org").await?;
    let (old, new) = (CredentialKey::generate()?, CredentialKey::generate()?);
    credentials::store(
        db.conn(),
        ada,
        &old,
        google("ada-access", Some("ada-refresh")),
    )
    .await?;
    credentials::store(db.conn(), bob, &old, google("bob-access", None)).await?;
    let stored = calendar_oauth_token::Entity::find().all(db.conn()).await?;
    assert!(
        stored
            .iter()
            .all(|row| row.access_token.starts_with(&format!("v2.{}.", old.id()))),
        "sealed values name their key"
    );

    // A wrong old key opens nothing, so nothing changes.
    assert!(matches!(
        credentials::rotate_key(db.conn(), &CredentialKey::generate()?, &new).await,
        Err(Error::Decrypt { .. })
    ));
    assert_eq!(
        calendar_oauth_token::Entity::find().all(db.conn()).await?,
        stored
    );
    assert!(matches!(
        credentials::rotate_key(db.conn(), &old, &old.clone()).await,
        Err(Error::Invalid { field: "key", .. })
    ));

    assert_eq!(credentials::rotate_key(db.conn(), &old, &new).await?, 2);
    assert_eq!(
        credentials::rotate_key(db.conn(), &old, &new).await?,
        0,
        "idempotent"
    );
    let opened = credentials::get(db.conn(), ada, Provider::Google, &new).await?;
    assert_eq!(
        (
            opened.access_token.as_str(),
            opened.refresh_token.as_deref().map(String::as_str)
        ),
        ("ada-access", Some("ada-refresh"))
    );
    assert_eq!(
        credentials::get(db.conn(), bob, Provider::Google, &new)
            .await?
            .access_token
            .as_str(),
        "bob-access"
    );
    assert!(matches!(
        credentials::get(db.conn(), ada, Provider::Google, &old).await,
        Err(Error::Decrypt { .. })
    ));
    Ok(())
}

/// Every type that carries a password, token or key prints none of it.
#[tokio::test]
async fn no_secret_reaches_a_debug_print() -> TestResult {
    let db = TestDb::at_head().await?;
    let new = NewAccount {
        email: "ada@example.org".into(),
        password: "hunter2-password".into(),
        ..Default::default()
    };
    let printed = format!("{new:?}");
    assert!(!printed.contains("hunter2") && printed.contains("ada@example.org"));
    let ada = accounts::register(db.conn(), new).await?.id;

    let signed = accounts::sign_in(
        db.conn(),
        "ada@example.org",
        "hunter2-password",
        None,
        SessionPolicy::default(),
    )
    .await?;
    let tokens = &signed.tokens;
    for printed in [format!("{signed:?}"), format!("{tokens:?}")] {
        assert!(!printed.contains(&tokens.session_token), "{printed}");
        assert!(!printed.contains(&tokens.refresh_token), "{printed}");
    }

    let reset = password_reset::request(db.conn(), "ada@example.org", password_reset::DEFAULT_TTL)
        .await?
        .ok_or("no token")?;
    assert!(!format!("{reset:?}").contains(&reset.token));

    let key = CredentialKey::new([42; 32]);
    let credential = google("ya29.access-secret", Some("1//refresh-secret"));
    assert!(!format!("{credential:?}").contains("secret"));
    credentials::store(db.conn(), ada, &key, credential).await?;
    let opened = credentials::get(db.conn(), ada, Provider::Google, &key).await?;
    assert!(!format!("{opened:?}").contains("secret"));
    let printed = format!("{key:?}");
    assert!(!printed.contains("42, 42"), "{printed}");

    let mut claimed = outbox::claim(db.conn(), ClaimOptions::default()).await?;
    let claim = claimed.pop().ok_or("nothing to claim")?;
    for printed in [format!("{claim:?}"), format!("{:?}", claim.token)] {
        assert!(!printed.contains(&claim.token.lease), "{printed}");
    }
    Ok(())
}
