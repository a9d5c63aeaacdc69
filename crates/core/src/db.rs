//! Database helpers the services share: write transactions that serialise on both backends,
//! and a prefix match that means the same on both.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ConnectionTrait, DbBackend, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::Result;

/// Begins a transaction that will write after it has read.
///
/// On SQLite it begins `IMMEDIATE`: it takes the database's write lock up front, so a
/// concurrent writer waits (up to the connection's busy timeout) instead of both reading the
/// same state and one of them failing with `SQLITE_BUSY` when it tries to write. On
/// PostgreSQL it is an ordinary transaction; the operation locks the rows it decides on
/// (`FOR UPDATE`, which sea-query leaves out on SQLite, where it is not needed). Inside an
/// existing transaction it is a savepoint, and the outer transaction's mode applies.
///
/// # Errors
/// When the transaction cannot begin.
pub async fn begin_write<C>(db: &C) -> Result<C::Transaction>
where
    C: ConnectionTrait + TransactionTrait,
{
    let options = match db.get_database_backend() {
        DbBackend::Sqlite => TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        },
        _ => TransactionOptions::default(),
    };
    Ok(db.begin_with_options(options).await?)
}

/// The `n`th (from 1) bind parameter of a raw statement: `$n` on PostgreSQL, `?` on SQLite,
/// where parameters are positional — so the values must be given in the order their
/// placeholders appear in the text.
pub fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// `substr(column, 1, n) = prefix`: the column starts with `prefix`, compared exactly — `%`
/// and `_` match only themselves and letters keep their case on both backends (SQLite's
/// `LIKE` would ignore ASCII case, PostgreSQL's would not). Lengths count characters on both.
pub fn starts_with(column: impl Into<Expr>, prefix: &str) -> Expr {
    // `integer` on PostgreSQL, which has no `substr(text, integer, bigint)`.
    let length = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
    Expr::expr(Func::cust("substr").arg(column.into()).arg(1).arg(length)).eq(prefix)
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Alias, Query, SqliteQueryBuilder};

    use super::*;

    #[test]
    fn prefixes_compare_exactly() {
        let sql = Query::select()
            .expr(Expr::val(1))
            .and_where(starts_with(Expr::col(Alias::new("t")), "a%b_ç."))
            .to_string(SqliteQueryBuilder);
        assert!(sql.contains(r#"substr("t", 1, 6) = 'a%b_ç.'"#), "{sql}");
    }
}
