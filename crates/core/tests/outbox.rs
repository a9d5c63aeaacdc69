//! The transactional outbox's delivery: claims, fenced acknowledgements and failures,
//! back-off, dead letters, and concurrent workers.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use lifeos_core::Error;
use lifeos_core::platform::outbox::{self, ClaimOptions, ClaimToken, OutboxStatus, RetryPolicy};
use lifeos_entity::{Timestamp, platform_outbox};
use lifeos_testkit::TestDb;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Makes the lease (or back-off) of message `id` end now.
async fn expire(db: &DatabaseConnection, id: i32) -> Result<(), sea_orm::DbErr> {
    platform_outbox::Entity::update_many()
        .col_expr(
            platform_outbox::Column::AvailableAt,
            Expr::value(Timestamp(Utc::now() - Duration::seconds(1))),
        )
        .filter(platform_outbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

async fn row(
    db: &DatabaseConnection,
    id: i32,
) -> Result<platform_outbox::Model, Box<dyn std::error::Error>> {
    Ok(platform_outbox::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or("message gone")?)
}

async fn claim_one(db: &DatabaseConnection) -> Result<outbox::Claimed, Box<dyn std::error::Error>> {
    let mut claimed = outbox::claim(db, ClaimOptions::default()).await?;
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    Ok(claimed.remove(0))
}

#[tokio::test]
async fn delivery_acknowledges_retries_and_dead_letters() -> TestResult {
    let db = TestDb::at_head().await?;
    let a = outbox::enqueue(db.conn(), None, "test.a", json!({"n": 1})).await?;
    let b = outbox::enqueue(db.conn(), None, "test.b", json!({"n": 2})).await?;

    let claimed = outbox::claim(
        db.conn(),
        ClaimOptions {
            batch: 1,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(
        claimed.iter().map(|c| c.message.id).collect::<Vec<_>>(),
        [a]
    );
    let first = &claimed[0];
    assert_eq!(
        (first.message.status, first.message.attempts, first.token.id),
        (OutboxStatus::Sending, 1, a)
    );
    outbox::acknowledge(db.conn(), &first.token).await?;
    assert!(matches!(
        outbox::acknowledge(db.conn(), &first.token).await,
        Err(Error::Conflict(_))
    ));
    let unknown = ClaimToken {
        id: 9999,
        lease: first.token.lease.clone(),
    };
    assert!(matches!(
        outbox::acknowledge(db.conn(), &unknown).await,
        Err(Error::NotFound { .. })
    ));
    // A token for a message that was never claimed under it.
    let forged = ClaimToken {
        id: b,
        lease: first.token.lease.clone(),
    };
    assert!(matches!(
        outbox::fail(db.conn(), &forged, "not claimed", RetryPolicy::default()).await,
        Err(Error::Conflict(_))
    ));

    // b fails: back-off doubles, and the third failure dead-letters it.
    let policy = RetryPolicy {
        max_attempts: 3,
        ..Default::default()
    };
    let mut delays = Vec::new();
    for attempt in 1..=3 {
        let claimed = claim_one(db.conn()).await?;
        assert_eq!((claimed.message.id, claimed.message.attempts), (b, attempt));
        let before = Utc::now();
        let status = outbox::fail(db.conn(), &claimed.token, "broker down", policy).await?;
        let stored = row(db.conn(), b).await?;
        assert_eq!(stored.last_error.as_deref(), Some("broker down"));
        assert_eq!(stored.lease_id, None, "a settled message holds no lease");
        if attempt < 3 {
            assert_eq!(status, OutboxStatus::Retry);
            delays.push((stored.available_at.as_utc() - before).num_seconds());
            assert!(
                outbox::claim(db.conn(), ClaimOptions::default())
                    .await?
                    .is_empty(),
                "not yet available"
            );
            expire(db.conn(), b).await?;
        } else {
            assert_eq!(status, OutboxStatus::Dead);
        }
    }
    assert!(
        (59..=60).contains(&delays[0]) && (119..=120).contains(&delays[1]),
        "{delays:?}"
    );
    assert!(
        outbox::claim(db.conn(), ClaimOptions::default())
            .await?
            .is_empty()
    );
    let dead = outbox::list(db.conn(), OutboxStatus::Dead, 10).await?;
    assert_eq!(dead.iter().map(|m| m.id).collect::<Vec<_>>(), [b]);
    assert_eq!(
        outbox::list(db.conn(), OutboxStatus::Sent, 10).await?.len(),
        1
    );
    outbox::requeue(db.conn(), b).await?;
    assert!(matches!(
        outbox::requeue(db.conn(), a).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        outbox::list(db.conn(), OutboxStatus::Pending, 10)
            .await?
            .len(),
        1
    );

    for (options, field) in [
        (
            ClaimOptions {
                batch: 0,
                ..Default::default()
            },
            "batch",
        ),
        (
            ClaimOptions {
                lease: Duration::zero(),
                ..Default::default()
            },
            "lease",
        ),
        (
            ClaimOptions {
                max_attempts: 0,
                ..Default::default()
            },
            "max_attempts",
        ),
    ] {
        match outbox::claim(db.conn(), options).await {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_late_acknowledgement_after_takeover_is_refused_and_changes_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let id = outbox::enqueue(db.conn(), None, "test.takeover", json!({})).await?;
    let old = claim_one(db.conn()).await?;
    expire(db.conn(), id).await?;
    let new = claim_one(db.conn()).await?;
    assert_eq!(new.message.attempts, 2);
    assert_ne!(old.token, new.token);
    let before = row(db.conn(), id).await?;

    assert!(matches!(
        outbox::acknowledge(db.conn(), &old.token).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        row(db.conn(), id).await?,
        before,
        "the late ack changed the row"
    );
    outbox::acknowledge(db.conn(), &new.token).await?;
    assert_eq!(row(db.conn(), id).await?.status, "sent");
    Ok(())
}

#[tokio::test]
async fn a_late_failure_after_takeover_neither_dead_letters_nor_requeues() -> TestResult {
    let db = TestDb::at_head().await?;
    let id = outbox::enqueue(db.conn(), None, "test.takeover", json!({})).await?;
    let old = claim_one(db.conn()).await?;
    expire(db.conn(), id).await?;
    let new = claim_one(db.conn()).await?;
    let before = row(db.conn(), id).await?;

    // With one attempt allowed, the old worker's failure would dead-letter the message.
    let strict = RetryPolicy {
        max_attempts: 1,
        ..Default::default()
    };
    assert!(matches!(
        outbox::fail(db.conn(), &old.token, "late", strict).await,
        Err(Error::Conflict(_))
    ));
    let after = row(db.conn(), id).await?;
    assert_eq!(
        after, before,
        "the late failure changed the new holder's message"
    );
    assert_eq!(after.status, "sending");

    // The same holds after the message was requeued: its attempts start again from zero,
    // but the old lease does not come back.
    outbox::fail(db.conn(), &new.token, "down", strict).await?;
    outbox::requeue(db.conn(), id).await?;
    let third = claim_one(db.conn()).await?;
    assert_eq!(third.message.attempts, old.message.attempts);
    assert!(matches!(
        outbox::acknowledge(db.conn(), &old.token).await,
        Err(Error::Conflict(_))
    ));
    outbox::acknowledge(db.conn(), &third.token).await?;
    Ok(())
}

#[tokio::test]
async fn a_message_whose_lease_keeps_expiring_ends_dead() -> TestResult {
    let db = TestDb::at_head().await?;
    let id = outbox::enqueue(db.conn(), None, "test.crash", json!({})).await?;
    let options = ClaimOptions {
        max_attempts: 10,
        ..Default::default()
    };
    // Ten workers claim it and crash.
    for attempt in 1..=10 {
        let claimed = outbox::claim(db.conn(), options).await?;
        assert_eq!(
            claimed
                .iter()
                .map(|c| (c.message.id, c.message.attempts))
                .collect::<Vec<_>>(),
            [(id, attempt)]
        );
        expire(db.conn(), id).await?;
    }
    assert!(outbox::claim(db.conn(), options).await?.is_empty());
    let dead = row(db.conn(), id).await?;
    assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 10));
    assert!(
        dead.last_error
            .as_deref()
            .is_some_and(|e| e.contains("lease expired")),
        "{:?}",
        dead.last_error
    );
    assert_eq!(
        outbox::list(db.conn(), OutboxStatus::Dead, 10)
            .await?
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        [id]
    );
    Ok(())
}

/// Four workers claim and acknowledge 120 messages on a database several connections use at
/// once (a file with a pool on SQLite, a pool on PostgreSQL). A claim that read its rows in
/// one statement and marked them in another, or that did not skip rows locked by another
/// worker, hands a message out twice here.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_every_message_exactly_once() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let mut expected = BTreeSet::new();
    for n in 0..120 {
        expected
            .insert(outbox::enqueue(db.conn(), None, "test.concurrent", json!({ "n": n })).await?);
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let conn = db.conn().clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = outbox::claim(
                    &conn,
                    ClaimOptions {
                        batch: 7,
                        ..Default::default()
                    },
                )
                .await?;
                if batch.is_empty() {
                    return Ok::<_, Error>(mine);
                }
                for claimed in batch {
                    outbox::acknowledge(&conn, &claimed.token).await?;
                    mine.push(claimed.message.id);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut seen: BTreeMap<i32, usize> = BTreeMap::new();
    let mut busy_workers = 0;
    for worker in workers {
        let mine = worker.await??;
        busy_workers += usize::from(!mine.is_empty());
        for id in mine {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.keys().copied().collect::<BTreeSet<_>>(), expected);
    assert!(seen.values().all(|n| *n == 1), "claimed twice: {seen:?}");
    assert!(busy_workers > 1, "the workers did not overlap");
    assert_eq!(
        outbox::list(db.conn(), OutboxStatus::Sent, 1000)
            .await?
            .len(),
        120
    );
    Ok(())
}
