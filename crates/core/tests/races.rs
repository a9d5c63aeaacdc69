//! Two callers at once. Each test runs on a database several connections use at once
//! (`TestDb::concurrent_at_head`: a file with a pool on SQLite, a pool on PostgreSQL) and,
//! where the interleaving matters, forces it: a transaction on another connection holds the
//! lock the operations need (a row lock on PostgreSQL, the write lock on SQLite) while the
//! racing calls start, so they all read the same state before any of them can write, as
//! they would under load. Released, they must still end in one consistent outcome.

mod common;

use common::account;

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use lifeos_core::identity::accounts;
use lifeos_core::identity::sessions::{self, LifecycleState, SessionPolicy};
use lifeos_core::identity::{access, blocklist, password_reset};
use lifeos_core::platform::readmodels::{self, ModelType, NewReadModel};
use lifeos_core::{Error, TokenProblem};
use lifeos_entity::{jwt_blocklist, readmodel_run, readmodel_state, role, user_role};
use lifeos_testkit::TestDb;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, TransactionTrait,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// On SQLite, long enough for spawned calls to reach the lock they wait on.
const SETTLE: StdDuration = StdDuration::from_millis(300);

/// Returns once `waiters` racing calls wait for a lock: on PostgreSQL when as many backends of
/// this database wait on one (polled, for up to 30 s, so a slow machine does not release the
/// lock too early and let the race pass untested); on SQLite, whose busy waits cannot be seen,
/// after [`SETTLE`].
async fn settle(db: &DatabaseConnection, waiters: i64) -> Result<(), Box<dyn std::error::Error>> {
    if db.get_database_backend() != DbBackend::Postgres {
        tokio::time::sleep(SETTLE).await;
        return Ok(());
    }
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let waiting: i64 = db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await?
            .ok_or("no row")?
            .try_get_by_index(0)?;
        if waiting >= waiters {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("only {waiting} of {waiters} calls reached the lock").into());
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// A transaction on its own connection that holds the lock on the rows `sql` (a no-op
/// `UPDATE`) touches until it is committed.
async fn hold(db: &DatabaseConnection, sql: &str) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    let txn = db.begin().await?;
    let done = txn.execute_unprepared(sql).await?;
    assert!(done.rows_affected() > 0, "`{sql}` locked nothing");
    Ok(txn)
}

/// Like [`hold`] on SQLite (where any write takes the one write lock); on PostgreSQL a
/// transaction holding `pg_lock` (e.g. a table lock that lets readers through but makes
/// writers wait, so racing calls all read before any of them writes).
async fn hold_for(
    db: &DatabaseConnection,
    sqlite: &str,
    pg_lock: &str,
) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute_unprepared(pg_lock).await?;
        Ok(txn)
    } else {
        hold(db, sqlite).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_refreshes_with_one_token_leave_no_live_session() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ada = account(db.conn(), "ada@example.org").await?;
    let issued = sessions::issue(db.conn(), ada, None, SessionPolicy::default()).await?;
    let held = hold(
        db.conn(),
        &format!(
            "UPDATE session_token SET revoked = revoked WHERE auth_session_id = {}",
            issued.session_id
        ),
    )
    .await?;
    let mut calls = Vec::new();
    for _ in 0..2 {
        let conn = db.conn().clone();
        let token = issued.refresh_token.clone();
        calls.push(tokio::spawn(async move {
            sessions::refresh(&conn, &token, SessionPolicy::default()).await
        }));
    }
    settle(db.conn(), 2).await?;
    held.commit().await?;
    let mut rotated = Vec::new();
    for call in calls {
        match call.await? {
            Ok(tokens) => rotated.push(tokens),
            Err(Error::Token(TokenProblem::Revoked)) => {}
            Err(other) => return Err(format!("unexpected refusal: {other:?}").into()),
        }
    }
    // The interleaving is forced, so exactly one rotated before the other found it used.
    assert_eq!(rotated.len(), 1, "not exactly one refresh succeeded");
    // Neither caller holds a live session: the reuse ended it, new tokens included.
    for tokens in &rotated {
        assert!(matches!(
            sessions::validate(db.conn(), &tokens.session_token).await,
            Err(Error::Token(TokenProblem::Revoked))
        ));
        assert!(matches!(
            sessions::refresh(db.conn(), &tokens.refresh_token, SessionPolicy::default()).await,
            Err(Error::Token(TokenProblem::Revoked))
        ));
    }
    // The first session token was replaced if one refresh rotated, else its session ended.
    assert!(matches!(
        sessions::validate(db.conn(), &issued.session_token).await,
        Err(Error::Token(TokenProblem::Unknown | TokenProblem::Revoked))
    ));
    let listed = sessions::list(db.conn(), ada).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, LifecycleState::Invalidated);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_bootstraps_at_once_make_one_administrator() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ada = account(db.conn(), "ada@example.org").await?;
    let bob = account(db.conn(), "bob@example.org").await?;
    // Both calls read that nobody is an administrator before either can grant the role.
    let held = hold_for(
        db.conn(),
        "UPDATE role SET updated_at = updated_at WHERE name = 'admin'",
        "LOCK TABLE user_role IN EXCLUSIVE MODE",
    )
    .await?;
    let mut calls = Vec::new();
    for user in [ada, bob] {
        let conn = db.conn().clone();
        calls.push(tokio::spawn(async move {
            access::bootstrap_admin(&conn, user).await
        }));
    }
    settle(db.conn(), 2).await?;
    held.commit().await?;
    let mut made = 0;
    for call in calls {
        match call.await? {
            Ok(()) => made += 1,
            Err(Error::Conflict(_)) => {}
            Err(other) => return Err(format!("unexpected refusal: {other:?}").into()),
        }
    }
    assert_eq!(made, 1);
    let admin_role = role::Entity::find()
        .filter(role::Column::Name.eq(access::ADMIN_ROLE))
        .one(db.conn())
        .await?
        .ok_or("no admin role")?;
    let admins = user_role::Entity::find()
        .filter(user_role::Column::RoleId.eq(admin_role.id))
        .count(db.conn())
        .await?;
    assert_eq!(admins, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_blocks_keep_the_latest_expiry() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let now = Utc::now();
    blocklist::block(db.conn(), "jti-1", now + Duration::hours(1), None).await?;
    let held = hold(
        db.conn(),
        "UPDATE jwt_blocklist SET updated_at = updated_at WHERE jti = 'jti-1'",
    )
    .await?;
    // The later expiry queues first, the earlier one after it.
    let mut calls = Vec::new();
    for hours in [3, 2] {
        let conn = db.conn().clone();
        calls.push(tokio::spawn(async move {
            blocklist::block(&conn, "jti-1", now + Duration::hours(hours), None).await
        }));
        tokio::time::sleep(SETTLE / 2).await;
    }
    settle(db.conn(), 2).await?;
    held.commit().await?;
    for call in calls {
        call.await??;
    }
    let row = jwt_blocklist::Entity::find()
        .filter(jwt_blocklist::Column::Jti.eq("jti-1"))
        .one(db.conn())
        .await?
        .ok_or("entry gone")?;
    let expiry = row.expires_at.ok_or("no expiry")?.as_utc();
    assert!(
        (expiry - (now + Duration::hours(3))).num_seconds().abs() <= 1,
        "kept {expiry}, not the latest expiry"
    );
    Ok(())
}

async fn running_run(db: &DatabaseConnection) -> Result<i32, Box<dyn std::error::Error>> {
    readmodels::register(
        db,
        NewReadModel {
            name: "habits.streaks".into(),
            version: "v1".into(),
            domain: "habits".into(),
            model_type: ModelType::Aggregate,
            idempotency_key: "habits.streaks@v1".into(),
            consumed_events: vec!["habits.log.created".into()],
            rebuild_strategy: None,
        },
    )
    .await?;
    Ok(
        readmodels::start_run(db, "habits.streaks", "v1", None, None)
            .await?
            .id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_finished_and_failed_at_once_ends_one_way() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let run = running_run(db.conn()).await?;
    let held = hold(
        db.conn(),
        &format!("UPDATE readmodel_run SET status = status WHERE id = {run}"),
    )
    .await?;
    let (conn, other) = (db.conn().clone(), db.conn().clone());
    let finish = tokio::spawn(async move { readmodels::finish(&conn, run).await });
    let fail = tokio::spawn(async move { readmodels::fail(&other, run, "crashed").await });
    settle(db.conn(), 2).await?;
    held.commit().await?;
    let outcomes = [finish.await?, fail.await?];
    let winners: Vec<&readmodel_run::Model> = outcomes.iter().flatten().collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|outcome| matches!(outcome, Err(Error::Conflict(_)))),
        "{outcomes:?}"
    );
    let stored = readmodel_run::Entity::find_by_id(run)
        .one(db.conn())
        .await?
        .ok_or("run gone")?;
    assert_eq!(
        stored.status, winners[0].status,
        "the loser overwrote the winner"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checkpoint_never_moves_back_under_concurrent_advances() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let run = running_run(db.conn()).await?;
    let held = hold(
        db.conn(),
        &format!("UPDATE readmodel_run SET status = status WHERE id = {run}"),
    )
    .await?;
    // The further advance queues first, the one behind it after.
    let mut calls = Vec::new();
    for event in [10, 5] {
        let conn = db.conn().clone();
        calls.push(tokio::spawn(async move {
            readmodels::advance(&conn, run, event).await
        }));
        tokio::time::sleep(SETTLE / 2).await;
    }
    settle(db.conn(), 2).await?;
    held.commit().await?;
    for call in calls {
        match call.await? {
            Ok(()) | Err(Error::Invalid { .. }) => {}
            Err(other) => return Err(format!("unexpected refusal: {other:?}").into()),
        }
    }
    let stored = readmodel_run::Entity::find_by_id(run)
        .one(db.conn())
        .await?
        .ok_or("run gone")?;
    assert_eq!(stored.event_end_id, Some(10));
    let state = readmodel_state::Entity::find()
        .one(db.conn())
        .await?
        .ok_or("state gone")?;
    assert_eq!(state.last_replayed_event_id, Some(10));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reset_requests_respect_the_hourly_limit() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ada = account(db.conn(), "ada@example.org").await?;
    // Every request counts the earlier ones before any of them can add its own.
    let held = hold_for(
        db.conn(),
        &format!("UPDATE \"user\" SET updated_at = updated_at WHERE id = {ada}"),
        "LOCK TABLE password_reset_token IN EXCLUSIVE MODE",
    )
    .await?;
    let mut calls = Vec::new();
    for _ in 0..(password_reset::MAX_REQUESTS_PER_HOUR + 3) {
        let conn = db.conn().clone();
        calls.push(tokio::spawn(async move {
            password_reset::request(&conn, "ada@example.org", password_reset::DEFAULT_TTL).await
        }));
    }
    settle(
        db.conn(),
        i64::try_from(password_reset::MAX_REQUESTS_PER_HOUR + 3)?,
    )
    .await?;
    held.commit().await?;
    let (mut issued, mut refused) = (0, 0);
    for call in calls {
        match call.await? {
            Ok(Some(_)) => issued += 1,
            Err(Error::Token(TokenProblem::TooManyAttempts)) => refused += 1,
            other => return Err(format!("unexpected outcome: {other:?}").into()),
        }
    }
    assert_eq!(
        (issued, refused),
        (password_reset::MAX_REQUESTS_PER_HOUR, 3)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_racing_a_password_change_opens_no_session() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ada = account(db.conn(), "ada@example.org").await?;
    // A password change in progress: the new hash is written but not yet committed.
    let change = db.begin().await?;
    change
        .execute_unprepared(&format!(
            "UPDATE \"user\" SET password_hash = 'changed meanwhile' WHERE id = {ada}"
        ))
        .await?;
    let conn = db.conn().clone();
    let sign_in = tokio::spawn(async move {
        accounts::sign_in(
            &conn,
            "ada@example.org",
            "correct horse battery",
            None,
            SessionPolicy::default(),
        )
        .await
    });
    // The sign-in has read and verified the old password and waits for the user's lock.
    settle(db.conn(), 1).await?;
    assert!(
        !sign_in.is_finished(),
        "the sign-in did not wait for the change"
    );
    change.commit().await?;
    let outcome = sign_in.await?;
    assert!(
        matches!(outcome, Err(Error::InvalidCredentials)),
        "{outcome:?}"
    );
    assert!(sessions::list(db.conn(), ada).await?.is_empty());
    Ok(())
}
