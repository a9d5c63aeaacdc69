//! Helpers the practice suites share (each suite uses some of them).
#![allow(dead_code)]

use chrono::NaiveDate;
use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
use sea_orm::DatabaseConnection;

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

#[allow(unused_imports, reason = "each suite uses some of them")]
pub use lifeos_testkit::rows::{count, rows_in};
