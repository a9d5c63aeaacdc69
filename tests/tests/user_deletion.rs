//! Deleting a user removes every row they own in every table — and nothing of anyone else's.
//!
//! A generic filler driven by the schema snapshot at head puts one row in every table for
//! Bob, then one for Ada (each row's parents are that pass's rows; every `user` reference is
//! the pass's owner). `accounts::delete(Ada)` must leave exactly Bob's rows in every owned
//! table, the platform-wide rows untouched, and no reference to Ada anywhere.

use std::collections::{BTreeMap, BTreeSet};

use lifeos_core::identity::accounts::{self, NewAccount};
use lifeos_entity::UserId;
use lifeos_testkit::{TestDb, schema};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait};

/// Tables that belong to the platform, not to a user: a user's deletion leaves them alone.
/// `jwt_blocklist` keeps its rows (a blocked token stays blocked; `created_by` becomes NULL).
const PLATFORM: [&str; 6] = [
    "role",
    "permission",
    "role_permission",
    "readmodel_state",
    "readmodel_run",
    "jwt_blocklist",
];

async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::Custom("no count".into()))?;
    row.try_get_by_index::<i64>(0)
}

/// One row in every table (but `user`) for `owner`, parents first.
async fn fill<C: ConnectionTrait>(
    db: &C,
    snapshot: &schema::Schema,
    owner: UserId,
    pass: u8,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let tables: BTreeMap<&String, &schema::Table> = snapshot
        .tables
        .iter()
        .filter(|(name, _)| !name.starts_with("seaql_") && name.as_str() != "user")
        .collect();
    let uuids: BTreeMap<&String, String> = tables
        .keys()
        .enumerate()
        .map(|(index, name)| (*name, format!("0000000{pass}-0000-7000-8000-{index:012x}")))
        .collect();
    let mut done: BTreeSet<&str> = BTreeSet::from(["user"]);
    while done.len() <= tables.len() {
        let before = done.len();
        for (name, table) in &tables {
            if done.contains(name.as_str()) {
                continue;
            }
            if !table
                .foreign_keys
                .iter()
                .all(|key| key.foreign_table == **name || done.contains(key.foreign_table.as_str()))
            {
                continue;
            }
            let own_uuid = &uuids[name];
            let mut columns = Vec::new();
            let mut values = Vec::new();
            for (column, info) in &table.columns {
                let key = table
                    .foreign_keys
                    .iter()
                    .find(|key| key.columns.len() == 1 && &key.columns[0] == column);
                let overridden = lifeos_tests::FILL_OVERRIDES
                    .iter()
                    .find(|(t, c, _)| t == name && c == column)
                    .map(|(_, _, value)| (*value).to_owned());
                let is_pk = table.primary_key == [column.clone()];
                let value = if let Some(value) = overridden {
                    value
                } else if let Some(key) = key {
                    if key.foreign_table == "user" {
                        owner.0.to_string()
                    } else if key.foreign_table == **name {
                        if info.nullable {
                            continue;
                        }
                        format!("'{own_uuid}'")
                    } else {
                        let parent_key = &key.foreign_columns[0];
                        format!(
                            "(SELECT \"{parent_key}\" FROM \"{}\" ORDER BY \"{parent_key}\" DESC LIMIT 1)",
                            key.foreign_table
                        )
                    }
                } else if is_pk && info.data_type.to_lowercase().contains("int") {
                    continue;
                } else if is_pk || !info.nullable && info.default.is_none() {
                    lifeos_tests::fill_literal(
                        &info.data_type,
                        backend,
                        own_uuid,
                        &pass.to_string(),
                        &format!("x{pass}"),
                    )
                } else {
                    continue;
                };
                columns.push(format!("\"{column}\""));
                values.push(value);
            }
            // A journal entry has at least two lines (PostgreSQL checks it at commit).
            let copies = if name.as_str() == "finance_journal_line" {
                2
            } else {
                1
            };
            let row = format!("({})", values.join(", "));
            db.execute_raw(Statement::from_string(
                backend,
                format!(
                    "INSERT INTO \"{name}\" ({}) VALUES {}",
                    columns.join(", "),
                    vec![row; copies].join(", ")
                ),
            ))
            .await
            .map_err(|e| DbErr::Custom(format!("insert into {name}: {e}")))?;
            done.insert(name.as_str());
        }
        assert!(done.len() > before, "foreign keys form a cycle");
    }
    Ok(())
}

async fn counts(
    db: &DatabaseConnection,
    snapshot: &schema::Schema,
) -> Result<BTreeMap<String, i64>, DbErr> {
    let mut counts = BTreeMap::new();
    for name in snapshot.tables.keys().filter(|n| !n.starts_with("seaql_")) {
        counts.insert(
            name.clone(),
            count(db, &format!("SELECT COUNT(*) FROM \"{name}\"")).await?,
        );
    }
    Ok(counts)
}

#[tokio::test]
async fn deleting_a_user_removes_every_row_they_own_and_nothing_else()
-> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::at_head().await?;
    let snapshot = schema::snapshot(&db).await?;
    let register = |email: &str| NewAccount {
        email: email.to_owned(),
        password: "correct horse battery".to_owned(),
        ..Default::default()
    };
    let bob = accounts::register(db.conn(), register("bob@example.org"))
        .await?
        .id;
    // One transaction per pass: PostgreSQL checks journal entries (two lines, balanced)
    // when it commits.
    let txn = db.begin().await?;
    fill(&txn, &snapshot, bob, 1).await?;
    txn.commit().await?;
    let with_bob = counts(&db, &snapshot).await?;
    let ada = accounts::register(db.conn(), register("ada@example.org"))
        .await?
        .id;
    // One transaction per pass: PostgreSQL checks journal entries (two lines, balanced)
    // when it commits.
    let txn = db.begin().await?;
    fill(&txn, &snapshot, ada, 2).await?;
    txn.commit().await?;
    let with_both = counts(&db, &snapshot).await?;
    for (table, rows) in &with_both {
        if table != "role_permission" {
            assert!(*rows > with_bob[table], "`{table}` got no row of Ada's");
        }
    }

    accounts::delete(db.conn(), ada).await?;
    let after = counts(&db, &snapshot).await?;
    for (table, rows) in &after {
        let expected = if PLATFORM.contains(&table.as_str()) {
            with_both[table]
        } else if table == "platform_outbox" {
            with_bob[table] + 1 // `auth.user.deleted`, owned by nobody
        } else {
            with_bob[table]
        };
        assert_eq!(*rows, expected, "rows of `{table}` after deleting Ada");
    }
    for (table, info) in &snapshot.tables {
        for key in info
            .foreign_keys
            .iter()
            .filter(|k| k.foreign_table == "user")
        {
            let column = &key.columns[0];
            let left = count(
                &db,
                &format!(
                    "SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = {}",
                    ada.0
                ),
            )
            .await?;
            assert_eq!(left, 0, "`{table}.{column}` still names Ada");
        }
    }
    accounts::authenticate(db.conn(), "bob@example.org", "correct horse battery").await?;
    Ok(())
}
