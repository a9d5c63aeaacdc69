//! The testkit's own promises.

use lifeos_migration::{Migrator, MigratorTrait};
use lifeos_testkit::{TestDb, migrate_to, migration_names};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

async fn count(db: &TestDb, sql: &str) -> Result<i64, DbErr> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?
        .try_get_by_index(0)
}

#[tokio::test]
async fn migrate_to_stops_at_the_named_revision_and_the_chain_continues_with_the_rows() {
    let names = migration_names();
    let target = "m20251204_000001_core_add_insight_record";
    let db = TestDb::at(target).await.expect("database");
    let applied = Migrator::get_applied_migrations(db.conn())
        .await
        .expect("applied");
    let position = names.iter().position(|n| n == target).expect("in chain");
    assert_eq!(applied.len(), position + 1);
    assert_eq!(applied.last().map(|m| m.name()), Some(target));

    db.execute_unprepared(
        "INSERT INTO \"user\" (email, password_hash) VALUES ('kept@example.com', 'x')",
    )
    .await
    .expect("insert at the revision");
    Migrator::up(db.conn(), None)
        .await
        .expect("continue to head");
    assert!(
        Migrator::get_pending_migrations(db.conn())
            .await
            .expect("pending")
            .is_empty()
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM \"user\" WHERE email = 'kept@example.com'"
        )
        .await
        .expect("count"),
        1
    );

    assert!(
        migrate_to(db.conn(), target).await.is_err(),
        "never migrates down"
    );
    assert!(
        migrate_to(db.conn(), "m20990101_000000_nope")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn each_test_database_is_fresh_and_isolated() {
    let first = TestDb::empty().await.expect("first");
    let second = TestDb::empty().await.expect("second");
    first
        .execute_unprepared("CREATE TABLE only_in_first (id INTEGER)")
        .await
        .expect("create");
    assert!(
        second
            .execute_unprepared("SELECT * FROM only_in_first")
            .await
            .is_err()
    );
    assert_eq!(
        first.database_name().is_some(),
        first.get_database_backend() == DbBackend::Postgres
    );
    if let (Some(a), Some(b)) = (first.database_name(), second.database_name()) {
        assert_ne!(a, b);
    }
}

/// On PostgreSQL the test's database is dropped when the `TestDb` goes, also when the test
/// panics. (On SQLite the database lives in memory and goes with the connection.)
#[test]
fn a_postgres_database_is_dropped_even_when_its_test_panics() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut name = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let db = TestDb::empty().await.expect("database");
            name = db.database_name().map(str::to_owned);
            panic!("the test fails while its database exists");
        })
    }));
    assert!(outcome.is_err());
    let Some(name) = name else {
        assert_eq!(lifeos_testkit::backend(), DbBackend::Sqlite);
        return;
    };
    let admin = std::env::var(lifeos_testkit::POSTGRES_URL_VAR).expect("url");
    let remaining: i64 = runtime.block_on(async {
        let admin = sea_orm::Database::connect(admin.as_str())
            .await
            .expect("admin");
        admin
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'"),
            ))
            .await
            .expect("query")
            .expect("row")
            .try_get_by_index(0)
            .expect("count")
    });
    assert_eq!(remaining, 0, "{name} was left behind");
}
