//! The schema at the head of the chain equals the schema the entities describe.

use lifeos_testkit::{TestDb, drift, schema};

#[tokio::test]
async fn entities_match_the_schema_at_head() {
    let db = TestDb::at_head().await.expect("database at head");
    let backend = db.get_database_backend();
    let snapshot = schema::snapshot(&db).await.expect("snapshot");
    let differences = drift::compare(&snapshot, &lifeos_tests::entity_tables(backend), backend);
    assert!(
        differences.is_empty(),
        "entities and migrations disagree on {backend:?}:\n  {}",
        differences.join("\n  ")
    );
}
