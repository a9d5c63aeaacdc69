//! Every table and index the seeds (and the practice-session improvement design) name exists
//! at the head of the chain under that name, on the backend it belongs to (the lists are
//! `lifeos_schema::seeds`, which `lifeos doctor` checks too).

use lifeos_testkit::{TestDb, schema};
use sea_orm::DbBackend;

#[tokio::test]
async fn every_table_and_index_the_seeds_name_exists_at_head() {
    let db = TestDb::at_head().await.expect("database at head");
    let backend = db.get_database_backend();
    let snapshot = schema::snapshot(&db).await.expect("snapshot");
    let mut missing = Vec::new();
    for table in schema::seeds::tables() {
        if !snapshot.tables.contains_key(table) {
            missing.push(format!("table {table}"));
        }
    }
    let indexes: Vec<&String> = snapshot
        .tables
        .values()
        .flat_map(|table| table.indexes.keys())
        .collect();
    let expected = schema::seeds::indexes(backend);
    for index in expected {
        if !indexes.iter().any(|name| name.as_str() == index) {
            missing.push(format!("index {index}"));
        }
    }
    assert!(missing.is_empty(), "missing on {backend:?}: {missing:?}");
}

/// The partial unique names of the practice tables are enforced among live rows only: the
/// same name can be reused once the first row is soft-deleted.
#[tokio::test]
async fn practice_names_are_unique_among_rows_not_deleted() {
    use sea_orm::{ConnectionTrait, Statement};
    let db = TestDb::at_head().await.expect("database at head");
    let b = db.get_database_backend();
    let run = |sql: String| {
        let db = &db;
        async move {
            db.execute_raw(Statement::from_string(b, sql))
                .await
                .map(|_| ())
        }
    };
    let (root, first, second, third) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    let lit = |id: uuid::Uuid| match b {
        DbBackend::Postgres => format!("'{id}'"),
        _ => format!("x'{}'", id.simple()),
    };
    run("INSERT INTO \"user\" (email, password_hash) VALUES ('a@x', 'h')".to_owned())
        .await
        .expect("user");
    run(format!(
        "INSERT INTO goals (id, user_id, type, name, root_id) VALUES ({0}, 1, 'UltimateGoal', 'Root', {0})",
        lit(root)
    ))
    .await
    .expect("root goal");
    let group = |id: uuid::Uuid| {
        format!(
            "INSERT INTO activity_groups (id, root_id, name) VALUES ({}, {}, 'Strength')",
            lit(id),
            lit(root)
        )
    };
    run(group(first)).await.expect("first group");
    assert!(
        run(group(second)).await.is_err(),
        "a duplicate live name was accepted"
    );
    run(format!(
        "UPDATE activity_groups SET deleted_at = CURRENT_TIMESTAMP WHERE id = {}",
        lit(first)
    ))
    .await
    .expect("soft delete");
    run(group(third))
        .await
        .expect("the name is free again once the first is deleted");
}
