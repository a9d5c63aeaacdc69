//! Counting rows: what a suite compares before and after a call that must write nothing.
//! Errors are boxed, as the suites' own results are.

use std::error::Error;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// The single number `sql` selects (a count).
///
/// # Errors
/// The database's, or one saying `sql` returned no row.
pub async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, Box<dyn Error>> {
    Ok(db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| format!("no count from `{sql}`"))?
        .try_get_by_index(0)?)
}

/// The number of rows of each of `tables`: what a refused call must leave as it is.
///
/// # Errors
/// As [`count`].
pub async fn rows_in(db: &DatabaseConnection, tables: &[&str]) -> Result<Vec<i64>, Box<dyn Error>> {
    let mut counts = Vec::with_capacity(tables.len());
    for table in tables {
        counts.push(count(db, &format!("SELECT count(*) FROM {table}")).await?);
    }
    Ok(counts)
}
