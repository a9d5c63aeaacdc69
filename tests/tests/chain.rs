//! The migration chain's guarantees, generic over the whole `Migrator`: every migration added
//! to the chain is checked by these tests without new test code.

use lifeos_migration::{Migrator, MigratorTrait};
use lifeos_testkit::{TestDb, migration_names, schema};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::TransactionTrait;

/// `m` + 8 digits + `_` + 6 digits + `_` + a lower-case slug.
fn well_formed(name: &str) -> bool {
    let bytes = name.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let slug = name.get(17..).unwrap_or("");
    bytes.first() == Some(&b'm')
        && digits(1..9)
        && bytes.get(9) == Some(&b'_')
        && digits(10..16)
        && bytes.get(16) == Some(&b'_')
        && !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[test]
fn names_are_unique_and_well_formed() {
    let names = migration_names();
    assert!(!names.is_empty());
    for name in &names {
        assert!(well_formed(name), "malformed migration name `{name}`");
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in &names {
        assert!(seen.insert(name), "migration `{name}` appears twice");
    }
    assert!(well_formed("m20251106_000002_create_core_tables"));
    assert!(!well_formed("m2025110_000002_create_core_tables"));
    assert!(!well_formed("m20251106_000002_Create"));
    assert!(!well_formed("m20251106_000002_"));
}

#[test]
fn every_migration_runs_in_a_transaction() {
    for migration in Migrator::migrations() {
        assert_eq!(
            migration.use_transaction(),
            Some(true),
            "`{}` must run in a transaction on both backends: \
             add `fn use_transaction(&self) -> Option<bool> {{ Some(true) }}`",
            migration.name()
        );
    }
}

/// `sea-orm-cli migrate generate` rebuilds the `vec![]` from the `mod` lines of `lib.rs`, in
/// file order; if they drift apart, the next generated migration reorders the chain.
#[test]
fn mod_lines_follow_the_chain_order() {
    let lib = include_str!("../../migration/src/lib.rs");
    let mods: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.trim().strip_prefix("mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .filter(|name| {
            name.starts_with('m') && name.as_bytes().get(1).is_some_and(u8::is_ascii_digit)
        })
        .collect();
    assert_eq!(mods, migration_names(), "mod lines and the vec![] disagree");

    // The generator replaces what its greedy regex `vec!\[[\s\S]+\]\n` matches: from the first
    // `vec![` to the last line ending in `]`. That span must be the migration list alone.
    let start = lib.find("vec![").expect("a vec![ in lib.rs");
    let end = lib.rfind("]\n").expect("a closing ]");
    for line in lib[start + "vec![".len()..end].lines() {
        let line = line.trim();
        assert!(
            line.is_empty() || (line.starts_with("Box::new(m") && line.ends_with("::Migration),")),
            "sea-orm-cli migrate generate would overwrite `{line}` in migration/src/lib.rs"
        );
    }
}

#[tokio::test]
async fn up_from_empty_reaches_head_and_a_second_up_applies_nothing() {
    let db = TestDb::empty().await.expect("database");
    Migrator::up(db.conn(), None).await.expect("up from empty");
    let applied: Vec<String> = Migrator::get_applied_migrations(db.conn())
        .await
        .expect("applied")
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(applied, migration_names());
    let at_head = schema::snapshot(&db).await.expect("snapshot");
    assert!(!at_head.tables.is_empty());

    Migrator::up(db.conn(), None).await.expect("second up");
    assert!(
        Migrator::get_pending_migrations(db.conn())
            .await
            .expect("pending")
            .is_empty()
    );
    let again = schema::snapshot(&db).await.expect("snapshot");
    assert_eq!(at_head.diff(&again), Vec::<String>::new());
}

/// For every migration, in order: up, then down — the schema must be exactly what it was
/// before the up — then up again, and on to the next. Migrations are applied one at a time
/// in `vec![]` order. A migration listed in [`lifeos_tests::IRREVERSIBLE`] must instead
/// refuse its down with a clear message and leave schema and bookkeeping untouched; one not
/// listed whose down fails fails the test, so the list cannot hide a broken down.
#[tokio::test]
async fn each_migration_down_restores_the_schema_before_its_up() {
    let db = TestDb::empty().await.expect("database");
    let names = migration_names();
    let mut before = schema::snapshot(&db).await.expect("snapshot");
    for (index, name) in names.iter().enumerate() {
        Migrator::up(db.conn(), Some(1))
            .await
            .unwrap_or_else(|e| panic!("up `{name}`: {e}"));
        let applied = Migrator::get_applied_migrations(db.conn())
            .await
            .expect("applied");
        assert_eq!(applied.len(), index + 1, "after up `{name}`");
        assert_eq!(
            applied[index].name(),
            name,
            "migrations apply in vec![] order"
        );
        let after_up = schema::snapshot(&db).await.expect("snapshot");

        if lifeos_tests::IRREVERSIBLE.contains(&name.as_str()) {
            let error = Migrator::down(db.conn(), Some(1))
                .await
                .err()
                .unwrap_or_else(|| panic!("`{name}` is listed as irreversible but its down ran"));
            assert!(
                error.to_string().contains("irreversible migration"),
                "`{name}`: down must fail with a clear message, got: {error}"
            );
            // `Migrator` refuses from the list before running any `down`; the migration's own
            // `down` must refuse too, so the list cannot name a migration that would undo
            // itself. Run it in a transaction that is rolled back whatever it does.
            let txn = db.conn().begin().await.expect("transaction");
            let own = Migrator::migrations()[index]
                .down(&SchemaManager::new(&txn))
                .await;
            txn.rollback().await.expect("rollback");
            let own = own.err().unwrap_or_else(|| {
                panic!("`{name}` is listed as irreversible but its own down ran")
            });
            assert!(
                own.to_string().contains("irreversible migration"),
                "`{name}`: its own down must fail with a clear message, got: {own}"
            );
            let after_refusal = schema::snapshot(&db).await.expect("snapshot");
            let diff = after_up.diff(&after_refusal);
            assert!(
                diff.is_empty(),
                "`{name}`: a refused down changed the schema:\n  {}",
                diff.join("\n  ")
            );
            let applied = Migrator::get_applied_migrations(db.conn())
                .await
                .expect("applied");
            assert_eq!(applied.len(), index + 1, "`{name}` stays applied");
            before = after_up;
            continue;
        }
        Migrator::down(db.conn(), Some(1))
            .await
            .unwrap_or_else(|e| panic!("down `{name}`: {e}"));
        let after_down = schema::snapshot(&db).await.expect("snapshot");
        let diff = before.diff(&after_down);
        assert!(
            diff.is_empty(),
            "`{name}`: down does not restore the schema before its up:\n  {}",
            diff.join("\n  ")
        );

        Migrator::up(db.conn(), Some(1))
            .await
            .unwrap_or_else(|e| panic!("up `{name}` again: {e}"));
        let again = schema::snapshot(&db).await.expect("snapshot");
        let diff = after_up.diff(&again);
        assert!(
            diff.is_empty(),
            "`{name}`: up after down builds a different schema:\n  {}",
            diff.join("\n  ")
        );
        before = again;
    }
    assert!(
        Migrator::get_pending_migrations(db.conn())
            .await
            .expect("pending")
            .is_empty()
    );
}

/// A test-only chain: the real one plus a migration that changes the schema and data, then
/// fails.
struct WithFailingTail;

impl MigratorTrait for WithFailingTail {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = Migrator::migrations();
        migrations.push(Box::new(FailsHalfway));
        migrations
    }
}

#[derive(DeriveMigrationName)]
struct FailsHalfway;

#[async_trait::async_trait]
impl MigrationTrait for FailsHalfway {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("half_applied")
                    .col(ColumnDef::new("id").integer().not_null().primary_key())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("role")
                    .add_column(ColumnDef::new("half_applied").integer().null())
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_half_applied")
                    .table("user")
                    .col("full_name")
                    .take(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO role (name, description) VALUES ('half', 'applied')")
            .await?;
        Err(DbErr::Migration("deliberate failure half-way".to_owned()))
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[tokio::test]
async fn a_failing_migration_leaves_the_previous_revision_intact() {
    let db = TestDb::at_head().await.expect("database at head");
    let at_head = schema::snapshot(&db).await.expect("snapshot");

    let error = WithFailingTail::up(db.conn(), None)
        .await
        .expect_err("the failing migration must fail");
    assert!(error.to_string().contains("deliberate failure"), "{error}");

    let after = schema::snapshot(&db).await.expect("snapshot");
    let diff = at_head.diff(&after);
    assert!(
        diff.is_empty(),
        "half-applied changes remain:\n  {}",
        diff.join("\n  ")
    );
    let applied = Migrator::get_applied_migrations(db.conn())
        .await
        .expect("applied");
    assert_eq!(applied.len(), migration_names().len());
    let roles = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM role WHERE name = 'half'",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("count");
    assert_eq!(roles, 0, "the failed migration's row was kept");
}
