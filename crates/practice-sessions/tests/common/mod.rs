//! Helpers the practice suites share (each suite uses some of them).
#![allow(dead_code)]

use chrono::NaiveDate;
use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
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

/// The calendar day `y-m-d`.
pub fn day(y: i32, m: u32, d: u32) -> Result<NaiveDate, Box<dyn std::error::Error>> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "bad date".into())
}

/// The single number `sql` selects (a count).
pub async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, Box<dyn std::error::Error>> {
    Ok(db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or("no count")?
        .try_get_by_index(0)?)
}

/// The number of rows of each of `tables`: what a refused call must leave as it is.
pub async fn rows_in(
    db: &DatabaseConnection,
    tables: &[&str],
) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let mut counts = Vec::with_capacity(tables.len());
    for table in tables {
        counts.push(count(db, &format!("SELECT count(*) FROM {table}")).await?);
    }
    Ok(counts)
}

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
