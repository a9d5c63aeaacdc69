//! Helpers the finance suites share (each suite uses some of them).
#![allow(dead_code)]

use chrono::NaiveDate;
use lifeos_entity::UserId;
use lifeos_finance::Error;
use lifeos_finance::entity::finance_account::AccountType;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// Whether `error` is the kernel's `Invalid` for `field`.
pub fn is_invalid(error: &Error, field: &str) -> bool {
    matches!(error, Error::Core(lifeos_core::Error::Invalid { field: f, .. }) if *f == field)
}

/// Whether `error` is the kernel's `NotFound`.
pub fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::Core(lifeos_core::Error::NotFound { .. }))
}

/// A new user (the test's owner of rows).
pub async fn user(db: &DatabaseConnection, email: &str) -> Result<UserId, sea_orm::DbErr> {
    lifeos_testkit::user(db, email).await
}

/// The account type named `account_type`.
#[allow(clippy::expect_used, reason = "a test's own input")]
pub fn kind(account_type: &str) -> AccountType {
    account_type.parse().expect("an account type")
}

/// The calendar day `y-m-d`.
pub fn day(y: i32, m: u32, d: u32) -> Result<NaiveDate, Box<dyn std::error::Error>> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "bad date".into())
}

#[allow(unused_imports, reason = "each suite uses some of them")]
pub use lifeos_testkit::rows::{count, rows_in};

/// The outbox payloads of `event`, oldest first, without spaces.
pub async fn payloads(
    db: &DatabaseConnection,
    event: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT CAST(payload AS TEXT) FROM platform_outbox \
                 WHERE event_type = '{event}' ORDER BY id"
            ),
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(row.try_get_by_index::<String>(0)?.replace(' ', ""));
    }
    Ok(out)
}

/// The number of outbox rows of `event`.
pub async fn outbox(
    db: &DatabaseConnection,
    event: &str,
) -> Result<i64, Box<dyn std::error::Error>> {
    count(
        db,
        &format!("SELECT count(*) FROM platform_outbox WHERE event_type = '{event}'"),
    )
    .await
}
