//! `SqliteRebuild`, the one way the chain changes what SQLite cannot `ALTER`: it keeps rows and
//! indexes, never fires cascades, and refuses to leave broken foreign keys behind. (It is
//! SQLite-only by design, so these tests always use an in-memory SQLite database.)

use lifeos_migration::support::SqliteRebuild;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait,
};

async fn database(foreign_keys: bool) -> Result<DatabaseConnection, DbErr> {
    let db = Database::connect("sqlite::memory:").await?;
    let pragma = if foreign_keys { "ON" } else { "OFF" };
    db.execute_unprepared(&format!("PRAGMA foreign_keys = {pragma}"))
        .await?;
    db.execute_unprepared(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
         CREATE INDEX ix_parent_name ON parent (name);
         CREATE TABLE child (id INTEGER PRIMARY KEY,
                             parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE);
         INSERT INTO parent (id, name) VALUES (1, 'a'), (2, NULL);
         INSERT INTO child (id, parent_id) VALUES (10, 1), (20, 2);",
    )
    .await?;
    Ok(db)
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?
        .try_get_by_index(0)
}

/// `parent` with `name` made NOT NULL.
fn parent_not_null() -> TableCreateStatement {
    Table::create()
        .table("parent")
        .col(ColumnDef::new("id").integer().not_null().primary_key())
        .col(ColumnDef::new("name").text().not_null())
        .take()
}

async fn rebuild(db: &DatabaseConnection, rebuild: SqliteRebuild) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    rebuild.run(&SchemaManager::new(&txn)).await?;
    txn.commit().await
}

#[tokio::test]
async fn keeps_rows_indexes_and_children_and_backfills() {
    let db = database(false).await.expect("database");
    rebuild(
        &db,
        SqliteRebuild::new("parent", parent_not_null())
            .column_from("name", "COALESCE(name, 'unnamed')"),
    )
    .await
    .expect("rebuild");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM parent")
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM parent WHERE id = 2 AND name = 'unnamed'"
        )
        .await
        .expect("backfill"),
        1
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM child")
            .await
            .expect("children"),
        2,
        "a cascade fired"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_parent_name'"
        )
        .await
        .expect("index"),
        1,
        "the index was not re-created"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT \"notnull\" FROM pragma_table_info('parent') WHERE name = 'name'"
        )
        .await
        .expect("notnull"),
        1
    );
}

#[tokio::test]
async fn refuses_to_rebuild_a_referenced_table_while_foreign_keys_are_enforced() {
    let db = database(true).await.expect("database");
    let error = rebuild(
        &db,
        SqliteRebuild::new("parent", parent_not_null()).column_from("name", "COALESCE(name, '')"),
    )
    .await
    .expect_err("must refuse");
    assert!(
        error.to_string().contains("enforces foreign keys"),
        "{error}"
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM child")
            .await
            .expect("children"),
        2
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT \"notnull\" FROM pragma_table_info('parent') WHERE name = 'name'"
        )
        .await
        .expect("notnull"),
        0,
        "the table changed although the rebuild failed"
    );
}

#[tokio::test]
async fn refuses_to_introduce_dangling_foreign_keys() {
    let db = database(false).await.expect("database");
    db.execute_unprepared("DELETE FROM parent WHERE id = 2")
        .await
        .expect("orphan child 20 (enforcement is off)");
    // Pre-existing orphans are not the rebuild's doing: rebuilding `child` as it is passes.
    let child = || {
        Table::create()
            .table("child")
            .col(ColumnDef::new("id").integer().not_null().primary_key())
            .col(ColumnDef::new("parent_id").integer().not_null())
            .foreign_key(
                ForeignKey::create()
                    .from("child", "parent_id")
                    .to("parent", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .take()
    };
    rebuild(&db, SqliteRebuild::new("child", child()))
        .await
        .expect("existing orphans are kept as they are");
    // Pointing children at a parent that does not exist introduces violations.
    let error = rebuild(
        &db,
        SqliteRebuild::new("child", child()).column_from("parent_id", "parent_id + 100"),
    )
    .await
    .expect_err("must refuse");
    assert!(error.to_string().contains("point nowhere"), "{error}");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM child WHERE parent_id = 1")
            .await
            .expect("rows"),
        1,
        "the failed rebuild changed rows"
    );
}
