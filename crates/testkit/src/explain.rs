//! Query plans: which index serves a query, on the backend under test.
//!
//! Test tables hold a handful of rows, and PostgreSQL's planner prefers a sequential scan of
//! a tiny table to any index. So [`plan`] asks PostgreSQL for its plan with sequential scans
//! disabled (`SET LOCAL enable_seqscan = off`, inside a transaction it rolls back): an index
//! that can serve the query is then chosen, and a query no index can serve still shows a
//! `Seq Scan`. SQLite's `EXPLAIN QUERY PLAN` names the index it would use at any size.
//!
//! ```no_run
//! # async fn example(db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
//! lifeos_testkit::explain::assert_uses_index(
//!     db,
//!     "SELECT id FROM \"user\" WHERE lower(email) = 'ada@example.org'",
//!     &["ix_user_email"],
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};

/// The plan of `sql` as text, one line per plan node.
///
/// # Errors
/// Fails when the statement cannot be explained (invalid SQL).
pub async fn plan(db: &DatabaseConnection, sql: &str) -> Result<String, DbErr> {
    let lines: Vec<String> = match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
            let rows = txn
                .query_all_raw(sea_orm::Statement::from_string(
                    DbBackend::Postgres,
                    format!("EXPLAIN {sql}"),
                ))
                .await?;
            txn.rollback().await?;
            rows.iter()
                .map(|row| row.try_get_by_index::<String>(0))
                .collect::<Result<_, _>>()?
        }
        backend => db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                format!("EXPLAIN QUERY PLAN {sql}"),
            ))
            .await?
            .iter()
            .map(|row| row.try_get_by_index::<String>(3))
            .collect::<Result<_, _>>()?,
    };
    Ok(lines.join("\n"))
}

/// Checks that the plan of `sql` uses one of `indexes`.
///
/// # Errors
/// [`DbErr::Custom`] with the plan when it uses none of them; or as [`plan`].
pub async fn assert_uses_index(
    db: &DatabaseConnection,
    sql: &str,
    indexes: &[&str],
) -> Result<(), DbErr> {
    let plan = plan(db, sql).await?;
    let uses = |index: &&str| {
        plan.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == *index)
    };
    if indexes.iter().any(uses) {
        Ok(())
    } else {
        Err(DbErr::Custom(format!(
            "`{sql}` is not served by any of {indexes:?}; plan:\n{plan}"
        )))
    }
}

/// Checks that `index` serves `sql` **by `column`**: the plan uses the index, and the
/// index's search condition (SQLite: the `USING INDEX …(…)` terms; PostgreSQL: the node's
/// `Index Cond`) constrains `column` — not merely a leading `user_id`, after which the rest
/// would be a filter over all of that user's rows.
///
/// # Errors
/// [`DbErr::Custom`] with the plan when it does not; or as [`plan`].
pub async fn assert_index_serves(
    db: &DatabaseConnection,
    sql: &str,
    index: &str,
    column: &str,
) -> Result<(), DbErr> {
    let plan = plan(db, sql).await?;
    let names = |text: &str, word: &str| {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|candidate| candidate == word)
    };
    let served = match db.get_database_backend() {
        DbBackend::Postgres => {
            // The node that scans `index`, with its detail lines (up to the next node).
            let mut lines = plan.lines().skip_while(|line| !names(line, index));
            let node = lines.next();
            node.is_some()
                && lines
                    .take_while(|line| !line.contains("->"))
                    .any(|line| line.contains("Index Cond:") && names(line, column))
        }
        _ => plan.lines().any(|line| {
            names(line, index)
                && line
                    .split_once(&format!("INDEX {index} ("))
                    .is_some_and(|(_, terms)| names(terms, column))
        }),
    };
    if served {
        Ok(())
    } else {
        Err(DbErr::Custom(format!(
            "`{sql}` is not served by {index} on {column}; plan:\n{plan}"
        )))
    }
}

/// [`assert_index_serves`] for a query that any of `indexes` serves equally well (a table with
/// two indexes leading with the same column, between which the backends' planners choose
/// differently): passes when one of them serves `sql` by `column`.
///
/// # Errors
/// [`DbErr::Custom`] with every index's refusal when none does; or as [`plan`].
pub async fn assert_served_by_one_of(
    db: &DatabaseConnection,
    sql: &str,
    indexes: &[&str],
    column: &str,
) -> Result<(), DbErr> {
    let mut refusals = Vec::new();
    for index in indexes {
        match assert_index_serves(db, sql, index, column).await {
            Ok(()) => return Ok(()),
            Err(error) => refusals.push(error.to_string()),
        }
    }
    Err(DbErr::Custom(refusals.join("\n")))
}
