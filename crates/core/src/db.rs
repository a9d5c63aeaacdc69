//! Database helpers the services share: write transactions that serialise on both backends,
//! and `LIKE` patterns that match their text literally.

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
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
pub(crate) async fn begin_write<C>(db: &C) -> Result<C::Transaction>
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

/// The escape character of [`starts_with`] patterns.
const LIKE_ESCAPE: char = '!';

/// `column LIKE 'prefix%' ESCAPE '!'` with `%`, `_` and `!` in `prefix` escaped (`!` rather than a
/// backslash, which PostgreSQL and SQLite quote differently), so the prefix
/// matches only itself (`fin%` does not match `finance`).
pub(crate) fn starts_with(column: impl Into<Expr>, prefix: &str) -> Expr {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    column
        .into()
        .like(LikeExpr::new(pattern).escape(LIKE_ESCAPE))
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Alias, Query, SqliteQueryBuilder};

    use super::*;

    #[test]
    fn prefixes_are_escaped() {
        let sql = Query::select()
            .expr(Expr::val(1))
            .and_where(starts_with(Expr::col(Alias::new("t")), "a%b_c!"))
            .to_string(SqliteQueryBuilder);
        assert!(sql.contains("'a!%b!_c!!%' ESCAPE '!'"), "{sql}");
    }
}
