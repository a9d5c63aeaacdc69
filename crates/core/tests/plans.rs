//! The kernel's hot queries are served by indexes (EXPLAIN on the backend under test; the SQL
//! is what the services send, written out).

use lifeos_testkit::TestDb;
use lifeos_testkit::explain::assert_uses_index;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn kernel_lookups_are_served_by_indexes() -> TestResult {
    let db = TestDb::at_head().await?;
    for (sql, indexes) in [
        // accounts: a user by email, case-insensitively.
        (
            "SELECT id FROM \"user\" WHERE lower(email) = lower('Ada@example.org')",
            &["ix_user_email"][..],
        ),
        // password_reset::request: the user's requests of the last hour.
        (
            "SELECT COUNT(*) FROM password_reset_token \
             WHERE user_id = 1 AND created_at > '2026-01-01 00:00:00'",
            &[
                "ix_password_reset_token_user_id",
                "ix_password_reset_user_expires_at",
            ][..],
        ),
        // password_reset::consume / sessions::refresh: a token by its digest.
        (
            "SELECT id FROM password_reset_token WHERE jti = 'digest'",
            &[
                "password_reset_token_jti_key",
                "sqlite_autoindex_password_reset_token_1",
            ][..],
        ),
        // outbox::claim: the due messages, oldest first.
        (
            "SELECT id FROM platform_outbox WHERE status IN ('pending', 'retry') \
             AND available_at <= '2026-01-01 00:00:00' ORDER BY available_at, id LIMIT 50",
            &["ix_platform_outbox_status_available_at"][..],
        ),
        // outbox::claim: abandoned leases due for the dead letters.
        (
            "UPDATE platform_outbox SET status = 'dead' WHERE status = 'sending' \
             AND available_at <= '2026-01-01 00:00:00' AND attempts >= 5",
            &["ix_platform_outbox_status_available_at"][..],
        ),
        // audit::events by domain: the user's events whose type starts with the domain.
        (
            "SELECT id FROM event_record WHERE user_id = 1 \
             AND substr(event_type, 1, 8) = 'finance.' ORDER BY created_at DESC LIMIT 100",
            &[
                "ix_event_record_user_event_type",
                "ix_event_record_user_created_at",
            ][..],
        ),
    ] {
        assert_uses_index(&db, sql, indexes).await?;
    }
    Ok(())
}

/// The check itself can fail: nothing indexes a user's full name.
#[tokio::test]
async fn an_unindexed_lookup_is_reported() -> TestResult {
    let db = TestDb::at_head().await?;
    let refused = assert_uses_index(
        &db,
        "SELECT id FROM \"user\" WHERE full_name = 'Ada'",
        &["ix_user_email"],
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");
    Ok(())
}
