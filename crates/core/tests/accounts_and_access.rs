//! Accounts, sessions, tokens, password reset and access control, on the backend the
//! environment selects (SQLite, or PostgreSQL with `LIFEOS_TEST_POSTGRES_URL`).

use chrono::{Duration, Utc};
use lifeos_core::identity::accounts::{self, NewAccount};
use lifeos_core::identity::sessions::{self, LifecycleState, SessionPolicy};
use lifeos_core::identity::{access, blocklist, password_reset};
use lifeos_core::{Error, TokenProblem};
use lifeos_entity::{Timestamp, UserId, auth_session, password_reset_token, session_token, user};
use lifeos_testkit::TestDb;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

fn new(email: &str) -> NewAccount {
    NewAccount {
        email: email.to_owned(),
        password: "correct horse battery".to_owned(),
        full_name: Some("Ada Lovelace".to_owned()),
        timezone: Some("Europe/London".to_owned()),
    }
}

async fn users(db: &TestDb) -> Result<u64, DbErr> {
    user::Entity::find().count(db.conn()).await
}

#[tokio::test]
async fn register_authenticate_change_password_deactivate() -> Result<(), Box<dyn std::error::Error>>
{
    let db = TestDb::at_head().await?;
    let account = accounts::register(
        db.conn(),
        NewAccount {
            email: "  Ada@Example.ORG ".into(),
            timezone: None,
            ..new("")
        },
    )
    .await?;
    assert_eq!(account.email, "ada@example.org");
    assert_eq!(account.timezone, "UTC");
    let stored = user::Entity::find_by_id(account.id)
        .one(db.conn())
        .await?
        .ok_or("no row")?;
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!stored.password_hash.contains("correct horse"));
    assert_eq!(access::roles_of(db.conn(), account.id).await?, {
        let mut roles: Vec<String> = access::DEFAULT_ROLES
            .iter()
            .map(|r| r.to_string())
            .collect();
        roles.sort();
        roles
    });

    let signed_in =
        accounts::authenticate(db.conn(), "ADA@example.org", "correct horse battery").await?;
    assert_eq!(signed_in.id, account.id);
    let unknown =
        accounts::authenticate(db.conn(), "bob@example.org", "correct horse battery").await;
    let wrong = accounts::authenticate(db.conn(), "ada@example.org", "wrong horse battery").await;
    let malformed = accounts::authenticate(db.conn(), "not an email", "x").await;
    for result in [&unknown, &wrong, &malformed] {
        assert!(
            matches!(result, Err(Error::InvalidCredentials)),
            "{result:?}"
        );
    }
    assert_eq!(
        unknown.as_ref().err().map(ToString::to_string),
        wrong.as_ref().err().map(ToString::to_string)
    );

    let tokens = sessions::issue(
        db.conn(),
        account.id,
        Some("phone"),
        SessionPolicy::default(),
    )
    .await?;
    assert!(matches!(
        accounts::change_password(
            db.conn(),
            account.id,
            "wrong horse battery",
            "new password 1"
        )
        .await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        accounts::change_password(db.conn(), account.id, "correct horse battery", "short").await,
        Err(Error::Invalid {
            field: "password",
            ..
        })
    ));
    accounts::change_password(
        db.conn(),
        account.id,
        "correct horse battery",
        "new password 1",
    )
    .await?;
    assert!(
        accounts::authenticate(db.conn(), "ada@example.org", "correct horse battery")
            .await
            .is_err()
    );
    accounts::authenticate(db.conn(), "ada@example.org", "new password 1").await?;
    assert!(matches!(
        sessions::validate(db.conn(), &tokens.session_token).await,
        Err(Error::Token(TokenProblem::Revoked))
    ));

    accounts::deactivate(db.conn(), account.id).await?;
    assert!(matches!(
        accounts::authenticate(db.conn(), "ada@example.org", "new password 1").await,
        Err(Error::AccountInactive)
    ));
    assert!(!access::has_permission(db.conn(), account.id, "finance:write").await?);
    assert!(matches!(
        sessions::issue(db.conn(), account.id, None, SessionPolicy::default()).await,
        Err(Error::AccountInactive)
    ));

    accounts::delete(db.conn(), account.id).await?;
    assert!(matches!(
        accounts::get(db.conn(), account.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        accounts::delete(db.conn(), account.id).await,
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn bad_registrations_are_refused_and_write_nothing() -> Result<(), Box<dyn std::error::Error>>
{
    let db = TestDb::at_head().await?;
    accounts::register(db.conn(), new("ada@example.org")).await?;
    let before = users(&db).await?;
    let cases: Vec<(NewAccount, &str)> = vec![
        (new("ada-at-example.org"), "email"),
        (new(""), "email"),
        (new(&format!("{}@example.org", "a".repeat(250))), "email"),
        (
            NewAccount {
                timezone: Some("Mars/Olympus".into()),
                ..new("b@example.org")
            },
            "timezone",
        ),
        (
            NewAccount {
                password: "short".into(),
                ..new("b@example.org")
            },
            "password",
        ),
        (
            NewAccount {
                full_name: Some("x".repeat(256)),
                ..new("b@example.org")
            },
            "full_name",
        ),
    ];
    for (input, expected) in cases {
        match accounts::register(db.conn(), input).await {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, expected),
            other => panic!("{expected}: {other:?}"),
        }
    }
    assert!(matches!(
        accounts::register(db.conn(), new(" ADA@example.org")).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(users(&db).await?, before);
    Ok(())
}

#[tokio::test]
async fn sessions_issue_validate_refresh_and_end() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let ada = accounts::register(db.conn(), new("ada@example.org"))
        .await?
        .id;
    let policy = SessionPolicy::default();
    let first = sessions::issue(db.conn(), ada, Some("laptop"), policy).await?;
    assert_ne!(first.session_token, first.refresh_token);

    // Only digests are stored.
    let stored = auth_session::Entity::find_by_id(first.session_id)
        .one(db.conn())
        .await?
        .ok_or("no session")?;
    assert_eq!(stored.session_id.len(), 64);
    assert_ne!(stored.session_id, first.session_token);
    let refresh_rows = session_token::Entity::find().all(db.conn()).await?;
    assert!(
        refresh_rows
            .iter()
            .all(|r| r.jti != first.refresh_token && r.jti.len() == 64)
    );

    let session = sessions::validate(db.conn(), &first.session_token).await?;
    assert_eq!(
        (session.user_id, session.state),
        (ada, LifecycleState::Active)
    );
    assert!(matches!(
        sessions::validate(db.conn(), "made-up").await,
        Err(Error::Token(TokenProblem::Unknown))
    ));

    // Rotation: new pair, same session; the old tokens stop working.
    let second = sessions::refresh(db.conn(), &first.refresh_token, policy).await?;
    assert_eq!(second.session_id, first.session_id);
    sessions::validate(db.conn(), &second.session_token).await?;
    assert!(matches!(
        sessions::validate(db.conn(), &first.session_token).await,
        Err(Error::Token(TokenProblem::Unknown))
    ));
    // Replaying the used refresh token ends the session.
    assert!(matches!(
        sessions::refresh(db.conn(), &first.refresh_token, policy).await,
        Err(Error::Token(TokenProblem::Revoked))
    ));
    assert!(matches!(
        sessions::validate(db.conn(), &second.session_token).await,
        Err(Error::Token(TokenProblem::Revoked))
    ));
    assert!(matches!(
        sessions::refresh(db.conn(), &second.refresh_token, policy).await,
        Err(Error::Token(TokenProblem::Revoked))
    ));

    // Expiry.
    let third = sessions::issue(db.conn(), ada, None, policy).await?;
    let past = Timestamp(Utc::now() - Duration::minutes(1));
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::ExpiresAt, Expr::value(Some(past)))
        .filter(auth_session::Column::Id.eq(third.session_id))
        .exec(db.conn())
        .await?;
    assert!(matches!(
        sessions::validate(db.conn(), &third.session_token).await,
        Err(Error::Token(TokenProblem::Expired))
    ));
    assert_eq!(
        sessions::expire_due(db.conn()).await?,
        0,
        "its refresh token still lives"
    );
    let renewed = sessions::refresh(db.conn(), &third.refresh_token, policy).await?;
    sessions::validate(db.conn(), &renewed.session_token).await?;
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::ExpiresAt, Expr::value(Some(past)))
        .filter(auth_session::Column::Id.eq(third.session_id))
        .exec(db.conn())
        .await?;
    session_token::Entity::update_many()
        .col_expr(session_token::Column::ExpiresAt, Expr::value(Some(past)))
        .filter(session_token::Column::AuthSessionId.eq(third.session_id))
        .exec(db.conn())
        .await?;
    assert!(matches!(
        sessions::refresh(db.conn(), &renewed.refresh_token, policy).await,
        Err(Error::Token(TokenProblem::Expired))
    ));
    assert_eq!(sessions::expire_due(db.conn()).await?, 1);
    assert!(matches!(
        sessions::validate(db.conn(), &renewed.session_token).await,
        Err(Error::Token(TokenProblem::Expired))
    ));

    // Revoke one, sign out another.
    let fourth = sessions::issue(db.conn(), ada, None, policy).await?;
    let fifth = sessions::issue(db.conn(), ada, None, policy).await?;
    sessions::revoke(db.conn(), ada, fourth.session_id).await?;
    sessions::revoke(db.conn(), ada, fourth.session_id).await?;
    sessions::sign_out(db.conn(), &fifth.session_token).await?;
    let states: Vec<LifecycleState> = sessions::list(db.conn(), ada)
        .await?
        .iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(states.len(), 4, "a refresh keeps its session");
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == LifecycleState::Invalidated)
            .count(),
        3
    );
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == LifecycleState::Expired)
            .count(),
        1
    );

    // Bad input.
    let zero = SessionPolicy {
        session_ttl: Duration::zero(),
        ..policy
    };
    assert!(matches!(
        sessions::issue(db.conn(), ada, None, zero).await,
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        sessions::issue(db.conn(), ada, Some(&"d".repeat(129)), policy).await,
        Err(Error::Invalid {
            field: "device_id",
            ..
        })
    ));
    assert!(matches!(
        sessions::issue(db.conn(), UserId(9999), None, policy).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(auth_session::Entity::find().count(db.conn()).await?, 4);
    Ok(())
}

#[tokio::test]
async fn admin_reset_needs_the_admin_permission() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let ada = accounts::register(db.conn(), new("ada@example.org"))
        .await?
        .id;
    let bob = accounts::register(db.conn(), new("bob@example.org"))
        .await?
        .id;
    let policy = SessionPolicy::default();
    let tokens = sessions::issue(db.conn(), bob, None, policy).await?;
    sessions::issue(db.conn(), bob, None, policy).await?;

    assert!(matches!(
        sessions::admin_reset(db.conn(), ada, bob, "lost phone").await,
        Err(Error::Forbidden { permission }) if permission == access::ADMIN
    ));
    access::bootstrap_admin(db.conn(), ada).await?;
    assert!(matches!(
        access::bootstrap_admin(db.conn(), bob).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        sessions::admin_reset(db.conn(), ada, bob, "  ").await,
        Err(Error::Invalid {
            field: "reason",
            ..
        })
    ));
    assert_eq!(
        sessions::admin_reset(db.conn(), ada, bob, "lost phone").await?,
        2
    );
    assert!(
        sessions::list(db.conn(), bob)
            .await?
            .iter()
            .all(|s| s.state == LifecycleState::AdminReset && s.invalidated_at.is_some())
    );
    assert!(matches!(
        sessions::refresh(db.conn(), &tokens.refresh_token, policy).await,
        Err(Error::Token(TokenProblem::Revoked))
    ));
    let outbox = lifeos_core::platform::outbox::list(
        db.conn(),
        lifeos_core::platform::outbox::OutboxStatus::Pending,
        100,
    )
    .await?;
    assert!(
        outbox
            .iter()
            .any(|m| m.event_type == "auth.session.admin_reset" && m.user_id == Some(bob))
    );
    Ok(())
}

#[tokio::test]
async fn access_control_follows_roles_and_grants() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let ada = accounts::register(db.conn(), new("ada@example.org"))
        .await?
        .id;
    let bob = accounts::register(db.conn(), new("bob@example.org"))
        .await?
        .id;
    let held = access::permissions_of(db.conn(), bob).await?;
    for code in [
        "account:write",
        "finance:write",
        "journal:write",
        "relationships:write",
    ] {
        assert!(held.contains(code), "{code}");
        access::require_permission(db.conn(), bob, code).await?;
    }
    assert!(!access::has_permission(db.conn(), bob, access::ADMIN).await?);
    assert!(!access::has_permission(db.conn(), UserId(9999), "finance:write").await?);

    // Administrators define roles and grants; others cannot.
    assert!(matches!(
        access::create_role(db.conn(), bob, "auditor", "").await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        access::unassign_role(db.conn(), bob, bob, "finance:write").await,
        Err(Error::Forbidden { .. })
    ));
    access::bootstrap_admin(db.conn(), ada).await?;
    access::create_role(db.conn(), ada, "auditor", "Reads the audit log").await?;
    assert!(matches!(
        access::create_role(db.conn(), ada, "auditor", "").await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        access::create_role(db.conn(), ada, &"r".repeat(65), "").await,
        Err(Error::Invalid { field: "name", .. })
    ));
    access::create_permission(db.conn(), ada, "audit:read", "").await?;
    access::grant_permission(db.conn(), ada, "auditor", "audit:read").await?;
    access::grant_permission(db.conn(), ada, "auditor", "audit:read").await?;
    assert!(matches!(
        access::grant_permission(db.conn(), ada, "auditor", "nope").await,
        Err(Error::NotFound { .. })
    ));
    access::assign_role(db.conn(), ada, bob, "auditor").await?;
    access::require_permission(db.conn(), bob, "audit:read").await?;
    assert!(access::unassign_role(db.conn(), ada, bob, "finance:write").await?);
    assert!(matches!(
        access::require_permission(db.conn(), bob, "finance:write").await,
        Err(Error::Forbidden { permission }) if permission == "finance:write"
    ));

    // Grants can be revoked; roles and permissions can be listed by administrators.
    assert!(access::revoke_permission(db.conn(), ada, "auditor", "audit:read").await?);
    assert!(!access::revoke_permission(db.conn(), ada, "auditor", "audit:read").await?);
    assert!(!access::has_permission(db.conn(), bob, "audit:read").await?);
    assert!(matches!(
        access::revoke_permission(db.conn(), bob, "user", "account:write").await,
        Err(Error::Forbidden { .. })
    ));
    let roles = access::list_roles(db.conn(), ada).await?;
    let admin = roles
        .iter()
        .find(|role| role.name == access::ADMIN_ROLE)
        .ok_or("no admin role")?;
    assert_eq!(admin.permissions, [access::ADMIN]);
    let auditor = roles
        .iter()
        .find(|role| role.name == "auditor")
        .ok_or("no auditor")?;
    assert!(auditor.permissions.is_empty());
    let mut names: Vec<&str> = roles.iter().map(|role| role.name.as_str()).collect();
    assert!(names.is_sorted());
    names.retain(|name| access::DEFAULT_ROLES.contains(name));
    assert_eq!(names.len(), access::DEFAULT_ROLES.len());
    let codes: Vec<String> = access::list_permissions(db.conn(), ada)
        .await?
        .into_iter()
        .map(|p| p.code)
        .collect();
    assert!(codes.contains(&"audit:read".to_owned()) && codes.is_sorted());
    assert!(matches!(
        access::list_roles(db.conn(), bob).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        access::list_permissions(db.conn(), bob).await,
        Err(Error::Forbidden { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn the_last_administrator_cannot_be_unassigned() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let ada = accounts::register(db.conn(), new("ada@example.org"))
        .await?
        .id;
    let bob = accounts::register(db.conn(), new("bob@example.org"))
        .await?
        .id;
    access::bootstrap_admin(db.conn(), ada).await?;
    assert!(matches!(
        access::bootstrap_admin(db.conn(), bob).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        access::unassign_role(db.conn(), ada, ada, access::ADMIN_ROLE).await,
        Err(Error::Conflict(_))
    ));
    assert!(access::has_permission(db.conn(), ada, access::ADMIN).await?);
    // With a second administrator, either may step down — but not both.
    access::assign_role(db.conn(), ada, bob, access::ADMIN_ROLE).await?;
    assert!(access::unassign_role(db.conn(), bob, ada, access::ADMIN_ROLE).await?);
    assert!(matches!(
        access::unassign_role(db.conn(), bob, bob, access::ADMIN_ROLE).await,
        Err(Error::Conflict(_))
    ));
    assert!(access::has_permission(db.conn(), bob, access::ADMIN).await?);
    // Unassigning an administrator role someone does not hold is no loss.
    assert!(!access::unassign_role(db.conn(), bob, ada, access::ADMIN_ROLE).await?);
    // The last active administrator can be neither deactivated nor deleted, and the role
    // always grants the admin permission.
    assert!(matches!(
        accounts::deactivate(db.conn(), bob).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        accounts::delete(db.conn(), bob).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        access::revoke_permission(db.conn(), bob, access::ADMIN_ROLE, access::ADMIN).await,
        Err(Error::Conflict(_))
    ));
    assert!(access::has_permission(db.conn(), bob, access::ADMIN).await?);
    // A deactivated holder does not count: with Ada (admin again) deactivated, Bob is still
    // the last active one.
    access::assign_role(db.conn(), bob, ada, access::ADMIN_ROLE).await?;
    accounts::deactivate(db.conn(), ada).await?;
    assert!(matches!(
        access::unassign_role(db.conn(), bob, bob, access::ADMIN_ROLE).await,
        Err(Error::Conflict(_))
    ));
    let carol = accounts::register(db.conn(), new("carol@example.org"))
        .await?
        .id;
    access::assign_role(db.conn(), bob, carol, access::ADMIN_ROLE).await?;
    accounts::delete(db.conn(), bob).await?;
    assert!(access::has_permission(db.conn(), carol, access::ADMIN).await?);
    Ok(())
}

#[tokio::test]
async fn blocklist_blocks_until_purged() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let ada = accounts::register(db.conn(), new("ada@example.org"))
        .await?
        .id;
    let now = Utc::now();
    blocklist::block(db.conn(), "jti-live", now + Duration::hours(1), Some(ada)).await?;
    blocklist::block(db.conn(), "jti-dead", now - Duration::hours(1), None).await?;
    blocklist::block(db.conn(), "jti-dead", now - Duration::hours(2), None).await?;
    assert!(blocklist::is_blocked(db.conn(), "jti-live").await?);
    assert!(blocklist::is_blocked(db.conn(), "jti-dead").await?);
    assert!(!blocklist::is_blocked(db.conn(), "jti-other").await?);
    assert!(matches!(
        blocklist::block(db.conn(), "", now, None).await,
        Err(Error::Invalid { field: "jti", .. })
    ));
    assert!(matches!(
        blocklist::block(db.conn(), &"j".repeat(65), now, None).await,
        Err(Error::Invalid { field: "jti", .. })
    ));
    assert_eq!(blocklist::purge_expired(db.conn(), now).await?, 1);
    assert!(!blocklist::is_blocked(db.conn(), "jti-dead").await?);
    assert!(blocklist::is_blocked(db.conn(), "jti-live").await?);
    // Blocking again extends the expiry.
    blocklist::block(db.conn(), "jti-live", now + Duration::days(2), None).await?;
    assert_eq!(
        blocklist::purge_expired(db.conn(), now + Duration::days(1)).await?,
        0
    );
    Ok(())
}

#[tokio::test]
async fn password_reset_is_single_use_and_expires() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let ada = accounts::register(db.conn(), new("ada@example.org"))
        .await?
        .id;
    let tokens = sessions::issue(db.conn(), ada, None, SessionPolicy::default()).await?;
    assert!(
        password_reset::request(db.conn(), "nobody@example.org", password_reset::DEFAULT_TTL)
            .await?
            .is_none()
    );
    assert!(
        password_reset::request(db.conn(), "garbage", password_reset::DEFAULT_TTL)
            .await?
            .is_none()
    );
    let reset = password_reset::request(db.conn(), " ADA@example.org", password_reset::DEFAULT_TTL)
        .await?
        .ok_or("no token")?;
    let row = password_reset_token::Entity::find()
        .one(db.conn())
        .await?
        .ok_or("no row")?;
    assert_ne!(row.jti, reset.token);
    assert_eq!(row.jti.len(), 64);

    assert!(matches!(
        password_reset::consume(db.conn(), &reset.token, "short").await,
        Err(Error::Invalid {
            field: "password",
            ..
        })
    ));
    assert!(matches!(
        password_reset::consume(db.conn(), "wrong-token", "brand new password").await,
        Err(Error::Token(TokenProblem::Unknown))
    ));
    assert_eq!(
        password_reset::consume(db.conn(), &reset.token, "brand new password").await?,
        ada
    );
    accounts::authenticate(db.conn(), "ada@example.org", "brand new password").await?;
    assert!(matches!(
        sessions::validate(db.conn(), &tokens.session_token).await,
        Err(Error::Token(TokenProblem::Revoked))
    ));
    assert!(matches!(
        password_reset::consume(db.conn(), &reset.token, "another password").await,
        Err(Error::Token(TokenProblem::Used))
    ));

    let late = password_reset::request(db.conn(), "ada@example.org", password_reset::DEFAULT_TTL)
        .await?
        .ok_or("no token")?;
    password_reset_token::Entity::update_many()
        .col_expr(
            password_reset_token::Column::ExpiresAt,
            Expr::value(Timestamp(Utc::now() - Duration::seconds(1))),
        )
        .filter(password_reset_token::Column::UsedAt.is_null())
        .exec(db.conn())
        .await?;
    assert!(matches!(
        password_reset::consume(db.conn(), &late.token, "another password").await,
        Err(Error::Token(TokenProblem::Expired))
    ));
    accounts::authenticate(db.conn(), "ada@example.org", "brand new password").await?;
    Ok(())
}
