//! The snapshot sees foreign-key deferrability on both backends.

use lifeos_testkit::TestDb;
use lifeos_testkit::schema::{Deferrability, Schema, snapshot};
use sea_orm::{ConnectionTrait, DbErr};

/// A parent `p` and a child `c` whose key into it carries `clause`.
async fn parent_and_child(clause: &str) -> Result<Schema, DbErr> {
    let db = TestDb::empty().await?;
    db.execute_unprepared("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        .await?;
    db.execute_unprepared(&format!(
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id){clause})"
    ))
    .await?;
    snapshot(&db).await
}

/// On SQLite, and on PostgreSQL when `LIFEOS_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn snapshots_differ_by_foreign_key_deferrability() -> Result<(), DbErr> {
    let immediate = parent_and_child("").await?;
    let deferred = parent_and_child(" DEFERRABLE INITIALLY DEFERRED").await?;
    let timing = |schema: &Schema| -> Vec<Deferrability> {
        schema
            .tables
            .get("c")
            .map(|table| {
                table
                    .foreign_keys
                    .iter()
                    .map(|key| key.deferrable)
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(timing(&immediate), [Deferrability::NotDeferrable]);
    assert_eq!(timing(&deferred), [Deferrability::InitiallyDeferred]);
    assert_ne!(immediate, deferred);
    let diff = immediate.diff(&deferred);
    assert_eq!(diff.len(), 2, "{diff:?}");
    assert!(
        diff.iter().any(|line| line.contains("InitiallyDeferred")),
        "{diff:?}"
    );
    Ok(())
}

/// A trigger (and, on PostgreSQL, its function) is part of the snapshot, so a `down` that
/// leaves one behind is seen.
#[tokio::test]
async fn snapshots_see_triggers_and_functions() -> Result<(), DbErr> {
    let db = TestDb::empty().await?;
    db.execute_unprepared("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        .await?;
    let before = snapshot(&db).await?;
    let postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        db.execute_unprepared(
            "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'append-only'; END $$",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER p_append_only BEFORE DELETE ON p \
             FOR EACH ROW EXECUTE FUNCTION refuse_delete()",
        )
        .await?;
    } else {
        db.execute_unprepared(
            "CREATE TRIGGER p_append_only BEFORE DELETE ON p \
             BEGIN SELECT RAISE(ABORT, 'append-only'); END",
        )
        .await?;
    }
    let after = snapshot(&db).await?;
    let trigger = after.triggers.get("p_append_only").ok_or_else(|| {
        DbErr::Custom(format!("trigger not in the snapshot: {:?}", after.triggers))
    })?;
    assert_eq!(trigger.table, "p");
    assert!(trigger.definition.contains("before delete"), "{trigger:?}");
    assert_eq!(
        after.functions.len(),
        usize::from(postgres),
        "{:?}",
        after.functions
    );
    let diff = before.diff(&after);
    assert_eq!(diff.len(), 1 + usize::from(postgres), "{diff:?}");
    let rendered = after.render("t");
    assert!(
        rendered.contains("trigger p_append_only on p: "),
        "{rendered}"
    );
    Ok(())
}
