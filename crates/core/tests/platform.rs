//! Preferences, the outbox, audit, read models and calendar credentials, plus tenant
//! isolation across every kernel service.

mod common;

use common::account;

use chrono::{Duration, Utc};
use lifeos_core::calendar::credentials::{
    self as credentials, NewCredential, Provider, SyncOutcome,
};
use lifeos_core::identity::accounts;
use lifeos_core::identity::preferences;
use lifeos_core::identity::sessions::{self, SessionPolicy};
use lifeos_core::platform::audit::{self, Filter, NewInsight, Severity};
use lifeos_core::platform::outbox;
use lifeos_core::platform::readmodels::{self, ModelType, NewReadModel};
use lifeos_core::{CredentialKey, Error};
use lifeos_entity::{Timestamp, calendar_oauth_token, platform_outbox, user_preference};
use lifeos_testkit::TestDb;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set, TransactionTrait};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn preferences_merge_defaults_and_upsert() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let all = preferences::get_all(db.conn(), ada).await?;
    assert_eq!(all, preferences::defaults());
    assert_eq!(all["currency"], json!("USD"));
    assert_eq!(all["insights_opt_in"], json!(true));

    preferences::set(db.conn(), ada, "currency", json!("EUR")).await?;
    preferences::set(db.conn(), ada, "currency", json!("GBP")).await?;
    preferences::set(db.conn(), ada, "dashboard.layout", json!({"cols": 3})).await?;
    assert_eq!(
        user_preference::Entity::find().count(db.conn()).await?,
        2,
        "one row per key"
    );
    let all = preferences::get_all(db.conn(), ada).await?;
    assert_eq!(all["currency"], json!("GBP"));
    assert_eq!(all["language"], json!("en"));
    assert_eq!(all["dashboard.layout"], json!({"cols": 3}));
    assert_eq!(
        preferences::get(db.conn(), ada, "timezone").await?,
        Some(json!("UTC"))
    );
    assert_eq!(preferences::get(db.conn(), ada, "unknown").await?, None);

    for (key, value, field) in [
        ("currency", json!("euro"), "value"),
        ("language", json!(42), "value"),
        ("timezone", json!("Mars/Olympus"), "value"),
        ("insights_opt_in", json!("yes"), "value"),
        ("", json!(1), "key"),
        ("Upper Case", json!(1), "key"),
        (&"k".repeat(129), json!(1), "key"),
        ("blob", json!("x".repeat(17 * 1024)), "value"),
    ] {
        match preferences::set(db.conn(), ada, key, value).await {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{key}"),
            other => panic!("{key}: {other:?}"),
        }
    }
    preferences::set(db.conn(), ada, "language", json!("pt-BR")).await?;
    preferences::set(db.conn(), ada, "timezone", json!("America/Sao_Paulo")).await?;
    // The time zone is the profile's, not a preference row.
    assert_eq!(user_preference::Entity::find().count(db.conn()).await?, 3);
    assert_eq!(
        accounts::get(db.conn(), ada).await?.timezone,
        "America/Sao_Paulo"
    );
    // Keys are trimmed on read as on write.
    assert_eq!(
        preferences::get(db.conn(), ada, " currency ").await?,
        Some(json!("GBP"))
    );
    assert!(preferences::reset(db.conn(), ada, " currency ").await?);
    assert!(!preferences::reset(db.conn(), ada, "currency").await?);
    assert_eq!(
        preferences::get(db.conn(), ada, "currency").await?,
        Some(json!("USD"))
    );
    Ok(())
}

#[tokio::test]
async fn outbox_events_commit_or_roll_back_with_the_write() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let base = platform_outbox::Entity::find().count(db.conn()).await?;

    let txn = db.conn().begin().await?;
    preferences::set(&txn, ada, "currency", json!("EUR")).await?;
    outbox::enqueue(
        &txn,
        Some(ada),
        "core.preference.set",
        json!({"key": "currency"}),
    )
    .await?;
    txn.rollback().await?;
    assert_eq!(
        platform_outbox::Entity::find().count(db.conn()).await?,
        base
    );
    assert_eq!(
        preferences::get(db.conn(), ada, "currency").await?,
        Some(json!("USD"))
    );

    let txn = db.conn().begin().await?;
    preferences::set(&txn, ada, "currency", json!("EUR")).await?;
    outbox::enqueue(
        &txn,
        Some(ada),
        "core.preference.set",
        json!({"key": "currency"}),
    )
    .await?;
    txn.commit().await?;
    assert_eq!(
        platform_outbox::Entity::find().count(db.conn()).await?,
        base + 1
    );
    assert!(matches!(
        outbox::enqueue(db.conn(), None, " ", json!({})).await,
        Err(Error::Invalid {
            field: "event_type",
            ..
        })
    ));
    Ok(())
}

#[tokio::test]
async fn events_and_insights_are_appended_and_queried() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let posted = audit::record_event(
        db.conn(),
        ada,
        "finance.journal.posted",
        json!({"entry": 1}),
    )
    .await?;
    audit::record_event(db.conn(), ada, "habits.log.created", json!({})).await?;
    let finance = audit::events(
        db.conn(),
        ada,
        &Filter {
            domain: Some("finance".into()),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(
        finance.iter().map(|e| e.id).collect::<Vec<_>>(),
        [posted.id]
    );
    assert_eq!(
        audit::events(db.conn(), ada, &Filter::default())
            .await?
            .len(),
        2
    );
    let later = Filter {
        since: Some(Utc::now() + Duration::minutes(1)),
        ..Default::default()
    };
    assert!(audit::events(db.conn(), ada, &later).await?.is_empty());
    // `%` and `_` in a domain match only themselves.
    let odd = audit::record_event(db.conn(), ada, "fin_nce.odd", json!({})).await?;
    let domain = |name: &str| Filter {
        domain: Some(name.into()),
        ..Default::default()
    };
    assert_eq!(
        audit::events(db.conn(), ada, &domain("fin_nce"))
            .await?
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        [odd.id]
    );
    for pattern in ["%", "fi%", "_inance", "fin!nce", "Finance", "FIN_NCE"] {
        assert!(
            audit::events(db.conn(), ada, &domain(pattern))
                .await?
                .is_empty(),
            "{pattern}"
        );
        assert!(
            audit::insights(db.conn(), ada, &domain(pattern))
                .await?
                .is_empty(),
            "{pattern}"
        );
    }
    assert!(matches!(
        audit::record_event(db.conn(), ada, &"e".repeat(129), json!({})).await,
        Err(Error::Invalid {
            field: "event_type",
            ..
        })
    ));

    let insight = audit::record_insight(
        db.conn(),
        ada,
        NewInsight {
            event_id: Some(posted.id),
            event_type: "finance.journal.posted".into(),
            kind: "finance_spend".into(),
            message: "You spent more on food this week".into(),
            severity: Severity::Warning,
            data: json!({"status": "inferred"}),
        },
    )
    .await?;
    assert_eq!(insight.severity, "warning");
    let listed = audit::insights(
        db.conn(),
        ada,
        &Filter {
            event_type: Some("finance.journal.posted".into()),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(listed.len(), 1);
    assert!(matches!(
        audit::record_insight(
            db.conn(),
            ada,
            NewInsight {
                kind: "".into(),
                ..sample_insight(None)
            }
        )
        .await,
        Err(Error::Invalid { field: "kind", .. })
    ));
    Ok(())
}

fn sample_insight(event_id: Option<i32>) -> NewInsight {
    NewInsight {
        event_id,
        event_type: "finance.journal.posted".into(),
        kind: "finance_spend".into(),
        message: String::new(),
        severity: Severity::Info,
        data: json!({}),
    }
}

fn read_model(key: &str, version: &str) -> NewReadModel {
    NewReadModel {
        name: "finance.balances".into(),
        version: version.into(),
        domain: "finance".into(),
        model_type: ModelType::Aggregate,
        idempotency_key: key.into(),
        consumed_events: vec!["finance.journal.posted".into()],
        rebuild_strategy: Some("full replay".into()),
    }
}

#[tokio::test]
async fn read_model_runs_advance_finish_and_fail() -> TestResult {
    let db = TestDb::at_head().await?;
    readmodels::register(db.conn(), read_model("balances-v1", "v1")).await?;
    assert!(matches!(
        readmodels::register(db.conn(), read_model("balances-v1", "v2")).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        readmodels::register(db.conn(), read_model("other-key", "v1")).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        readmodels::register(db.conn(), read_model(" ", "v3")).await,
        Err(Error::Invalid {
            field: "idempotency_key",
            ..
        })
    ));

    let run = readmodels::start_run(
        db.conn(),
        "finance.balances",
        "v1",
        None,
        Some(json!({"users": "all"})),
    )
    .await?;
    assert_eq!(run.status, "running");
    assert!(matches!(
        readmodels::start_run(db.conn(), "finance.balances", "v1", None, None).await,
        Err(Error::Conflict(_))
    ));
    readmodels::advance(db.conn(), run.id, 10).await?;
    readmodels::advance(db.conn(), run.id, 25).await?;
    assert!(matches!(
        readmodels::advance(db.conn(), run.id, 20).await,
        Err(Error::Invalid { .. })
    ));
    let state = readmodels::get(db.conn(), "finance.balances", "v1").await?;
    assert_eq!(
        (state.last_replayed_event_id, state.last_replay_run_id),
        (Some(25), Some(run.id))
    );
    let done = readmodels::finish(db.conn(), run.id).await?;
    assert_eq!(
        (done.status.as_str(), done.event_end_id),
        ("completed", Some(25))
    );
    assert!(done.completed_at.is_some());
    assert!(matches!(
        readmodels::finish(db.conn(), run.id).await,
        Err(Error::Conflict(_))
    ));

    let next = readmodels::start_run(db.conn(), "finance.balances", "v1", None, None).await?;
    assert_eq!(
        next.event_start_id,
        Some(26),
        "resumes after the checkpoint"
    );
    let failed = readmodels::fail(db.conn(), next.id, "projection bug").await?;
    assert_eq!(
        (failed.status.as_str(), failed.error_message.as_deref()),
        ("failed", Some("projection bug"))
    );
    assert!(matches!(
        readmodels::start_run(db.conn(), "nope", "v1", None, None).await,
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn calendar_credentials_are_sealed_at_rest() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let key = CredentialKey::generate()?;
    let new = NewCredential {
        provider: Provider::Google,
        access_token: "ya29.access-secret".into(),
        refresh_token: Some("1//refresh-secret".into()),
        token_type: None,
        expires_at: Some(Utc::now() + Duration::hours(1)),
    };
    credentials::store(db.conn(), ada, &key, new.clone()).await?;
    let row = calendar_oauth_token::Entity::find()
        .one(db.conn())
        .await?
        .ok_or("no row")?;
    assert!(
        !row.access_token.contains("secret")
            && !row
                .refresh_token
                .clone()
                .unwrap_or_default()
                .contains("secret")
    );
    let opened = credentials::get(db.conn(), ada, Provider::Google, &key).await?;
    assert_eq!(opened.access_token.as_str(), "ya29.access-secret");
    assert_eq!(
        opened.refresh_token.as_deref().map(String::as_str),
        Some("1//refresh-secret")
    );
    assert_eq!(opened.token_type, "Bearer");
    assert!(!format!("{opened:?}").contains("secret"));
    assert!(matches!(
        credentials::get(
            db.conn(),
            ada,
            Provider::Google,
            &CredentialKey::generate()?
        )
        .await,
        Err(Error::Decrypt { .. })
    ));

    // Update in place (unique per user and provider); sync metadata is kept.
    credentials::record_sync(
        db.conn(),
        ada,
        Provider::Google,
        SyncOutcome::Succeeded {
            sync_token: Some("cursor-1".into()),
        },
    )
    .await?;
    credentials::record_sync(
        db.conn(),
        ada,
        Provider::Google,
        SyncOutcome::Failed {
            error: "401 from Google".into(),
        },
    )
    .await?;
    credentials::store(
        db.conn(),
        ada,
        &key,
        NewCredential {
            access_token: "ya29.rotated".into(),
            ..new.clone()
        },
    )
    .await?;
    assert_eq!(
        calendar_oauth_token::Entity::find()
            .count(db.conn())
            .await?,
        1
    );
    let opened = credentials::get(db.conn(), ada, Provider::Google, &key).await?;
    assert_eq!(opened.access_token.as_str(), "ya29.rotated");
    assert_eq!(opened.sync_token.as_deref(), Some("cursor-1"));
    assert!(opened.last_sync_at.is_some());
    assert_eq!(opened.error_message.as_deref(), Some("401 from Google"));
    assert_eq!(
        credentials::providers(db.conn(), ada).await?,
        [Provider::Google]
    );

    // Bad input writes nothing.
    for bad in [
        NewCredential {
            access_token: " ".into(),
            ..new.clone()
        },
        NewCredential {
            access_token: "x".repeat(credentials::TOKEN_MAX + 1),
            ..new.clone()
        },
        NewCredential {
            token_type: Some("t".repeat(33)),
            ..new.clone()
        },
    ] {
        assert!(matches!(
            credentials::store(db.conn(), ada, &key, bad).await,
            Err(Error::Invalid { .. })
        ));
    }
    assert_eq!(
        credentials::get(db.conn(), ada, Provider::Google, &key)
            .await?
            .access_token
            .as_str(),
        "ya29.rotated"
    );

    // A plaintext row from history is sealed in place.
    let now = Timestamp::now();
    calendar_oauth_token::ActiveModel {
        user_id: Set(ada),
        provider: Set("apple".into()),
        access_token: Set("legacy-plain".into()),
        token_type: Set("Bearer".into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db.conn())
    .await?;
    assert!(matches!(
        credentials::get(db.conn(), ada, Provider::Apple, &key).await,
        Err(Error::Decrypt { .. })
    ));
    assert_eq!(credentials::seal_plaintext(db.conn(), &key).await?, 1);
    assert_eq!(credentials::seal_plaintext(db.conn(), &key).await?, 0);
    assert_eq!(
        credentials::get(db.conn(), ada, Provider::Apple, &key)
            .await?
            .access_token
            .as_str(),
        "legacy-plain"
    );
    assert!(credentials::remove(db.conn(), ada, Provider::Apple).await?);
    Ok(())
}

/// Bob tries every user-scoped service with Ada's ids and tokens: he sees and changes nothing
/// of hers.
#[tokio::test]
async fn one_user_never_reaches_another_users_rows() -> TestResult {
    let db = TestDb::at_head().await?;
    let ada = account(&db, "ada@example.org").await?;
    let bob = account(&db, "bob@example.org").await?;
    let key = CredentialKey::generate()?;
    let ada_session = sessions::issue(db.conn(), ada, None, SessionPolicy::default()).await?;
    preferences::set(db.conn(), ada, "currency", json!("EUR")).await?;
    credentials::store(
        db.conn(),
        ada,
        &key,
        NewCredential {
            provider: Provider::Google,
            access_token: "ada-token".into(),
            refresh_token: None,
            token_type: None,
            expires_at: None,
        },
    )
    .await?;
    let ada_event = audit::record_event(db.conn(), ada, "journal.entry.created", json!({})).await?;
    audit::record_insight(db.conn(), ada, sample_insight(Some(ada_event.id))).await?;

    // Sessions.
    assert!(sessions::list(db.conn(), bob).await?.is_empty());
    assert!(matches!(
        sessions::revoke(db.conn(), bob, ada_session.session_id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        sessions::admin_reset(db.conn(), bob, ada, "because").await,
        Err(Error::Forbidden { .. })
    ));
    sessions::validate(db.conn(), &ada_session.session_token).await?;
    // Preferences.
    assert_eq!(
        preferences::get(db.conn(), bob, "currency").await?,
        Some(json!("USD"))
    );
    assert!(!preferences::reset(db.conn(), bob, "currency").await?);
    assert_eq!(
        preferences::get(db.conn(), ada, "currency").await?,
        Some(json!("EUR"))
    );
    // Credentials: Bob's key or not, Ada's row is not his.
    assert!(matches!(
        credentials::get(db.conn(), bob, Provider::Google, &key).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        credentials::record_sync(
            db.conn(),
            bob,
            Provider::Google,
            SyncOutcome::Failed { error: "x".into() }
        )
        .await,
        Err(Error::NotFound { .. })
    ));
    assert!(!credentials::remove(db.conn(), bob, Provider::Google).await?);
    assert!(credentials::providers(db.conn(), bob).await?.is_empty());
    // Copying Ada's sealed token into a row of Bob's does not open it.
    let adas = calendar_oauth_token::Entity::find()
        .one(db.conn())
        .await?
        .ok_or("no row")?;
    let now = Timestamp::now();
    calendar_oauth_token::ActiveModel {
        user_id: Set(bob),
        provider: Set("google".into()),
        access_token: Set(adas.access_token.clone()),
        token_type: Set("Bearer".into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db.conn())
    .await?;
    assert!(matches!(
        credentials::get(db.conn(), bob, Provider::Google, &key).await,
        Err(Error::Decrypt { .. })
    ));
    // Audit.
    assert!(
        audit::events(db.conn(), bob, &Filter::default())
            .await?
            .is_empty()
    );
    assert!(
        audit::insights(db.conn(), bob, &Filter::default())
            .await?
            .is_empty()
    );
    assert!(matches!(
        audit::record_insight(db.conn(), bob, sample_insight(Some(ada_event.id))).await,
        Err(Error::NotFound { .. })
    ));
    // Accounts: Bob's password change cannot touch Ada.
    assert!(matches!(
        accounts::change_password(db.conn(), bob, "wrong password", "new password 1").await,
        Err(Error::InvalidCredentials)
    ));
    accounts::authenticate(db.conn(), "ada@example.org", "correct horse battery").await?;
    Ok(())
}
