//! Part 2: what the finance chart-of-accounts services need from the schema.
//!
//! - **Every account has a currency**: `finance_account.currency`, three upper-case letters
//!   (ISO 4217), `NOT NULL DEFAULT 'USD'`. Existing accounts take their owner's `currency`
//!   preference where it is three upper-case letters, else `USD` (the preference's default).
//! - **An active name is unique per user**: `ux_finance_account_user_active_name` on
//!   `(user_id, normalized_name) WHERE is_active`, which makes the services' idempotent
//!   inline create hold under concurrent calls. Active duplicates from history (the original
//!   enforced the rule in the application only) are resolved first. Every account's
//!   `normalized_name` is recomputed as the services compute it (history lower-cased in SQL:
//!   ASCII only on SQLite; the original did not collapse inner white space), then every active
//!   account whose normalized name an older active account of the same user already has (by
//!   id) is renamed `name (#id)` (`-2`, `-3`… should that be taken) — never merged,
//!   deactivated or deleted — and each rename is reported to its owner as an `event_record`
//!   row `finance.account.renamed` with the old and new names.
//! - **Typeahead is served by indexes** (PostgreSQL only: SQLite's prefix range uses the unique
//!   index above; its substring search scans one user's accounts by `user_id`):
//!   `ix_finance_account_user_name_pattern` on `(user_id, normalized_name
//!   varchar_pattern_ops) WHERE is_active` serves `LIKE 'prefix%'` under any collation (a
//!   plain btree cannot under a non-C one); `ix_finance_account_user_name_trgm`, a GiST index
//!   on `(user_id, normalized_name gist_trgm_ops) WHERE is_active` (`btree_gist` and `pg_trgm`
//!   come from the Life Graph's `add_extensions`), serves `LIKE '%part%'` within one user.
//!
//! `down` drops the indexes and the column. Renamed accounts keep their new names (each is
//! recorded in `event_record`; no data is lost).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use std::collections::{BTreeMap, BTreeSet};

use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value};

use crate::support::{TableChange, exec};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let postgres = backend == DbBackend::Postgres;

        TableChange::new("finance_account")
            .add_column(
                ColumnDef::new("currency")
                    .string_len(3)
                    .not_null()
                    .default("USD")
                    .to_owned(),
            )
            .run(manager)
            .await?;
        let preference = if postgres {
            "upper(trim(p.value #>> '{}'))"
        } else {
            "upper(trim(CASE WHEN json_valid(p.value) THEN json_extract(p.value, '$') END))"
        };
        let valid = if postgres {
            format!("{preference} ~ '^[A-Z]{{3}}$'")
        } else {
            format!("{preference} GLOB '[A-Z][A-Z][A-Z]'")
        };
        exec(
            manager,
            &format!(
                "UPDATE finance_account SET currency = (SELECT {preference} \
                 FROM user_preference p WHERE p.user_id = finance_account.user_id \
                 AND p.key = 'currency' AND {valid}) \
                 WHERE EXISTS (SELECT 1 FROM user_preference p \
                 WHERE p.user_id = finance_account.user_id AND p.key = 'currency' AND {valid})"
            ),
        )
        .await?;
        names(manager).await?;
        exec(
            manager,
            "CREATE UNIQUE INDEX ux_finance_account_user_active_name \
             ON finance_account (user_id, normalized_name) WHERE is_active",
        )
        .await?;
        if postgres {
            exec(
                manager,
                "CREATE INDEX ix_finance_account_user_name_pattern ON finance_account \
                 (user_id, normalized_name varchar_pattern_ops) WHERE is_active",
            )
            .await?;
            exec(
                manager,
                "CREATE INDEX ix_finance_account_user_name_trgm ON finance_account \
                 USING gist (user_id, normalized_name gist_trgm_ops) WHERE is_active",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [
            "ix_finance_account_user_name_trgm",
            "ix_finance_account_user_name_pattern",
            "ux_finance_account_user_active_name",
        ] {
            exec(manager, &format!("DROP INDEX IF EXISTS {index}")).await?;
        }
        TableChange::new("finance_account")
            .drop_column("currency")
            .run(manager)
            .await
    }
}

/// A name as the services match it (a frozen copy of `lifeos_finance`'s `normalize_name`):
/// lower-cased, trimmed, inner runs of white space collapsed to one space.
fn normalize(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The longest name (and normalized name), in characters.
const NAME_MAX: usize = 255;

/// One account as this migration reads it.
struct Account {
    id: i32,
    user: i32,
    name: String,
    normalized: String,
    active: bool,
}

/// Gives every account the normalized name the services compute (history's backfills
/// lower-cased in SQL: ASCII only on SQLite, no white-space collapse in the original), then
/// renames every active account whose normalized name an older (smaller id) active account
/// of the same user has — and every account whose normalized name would not fit in 255
/// characters — `name (#id)`, trimmed and cut to fit, with a further `-2`, `-3`… should that
/// name be taken by any of the user's accounts, active or not. Each rename is reported to the account's owner
/// in `event_record`. The names are computed here, in Rust, so that they are exactly the
/// services' (SQL's `lower` differs by backend); they are written by a few set-based
/// statements, not row by row.
async fn names(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, user_id, name, normalized_name, is_active FROM finance_account ORDER BY id",
        ))
        .await?;
    let mut accounts = Vec::with_capacity(rows.len());
    for row in rows {
        accounts.push(Account {
            id: row.try_get_by_index(0)?,
            user: row.try_get_by_index(1)?,
            name: row.try_get_by_index(2)?,
            normalized: row.try_get_by_index(3)?,
            active: row.try_get_by_index(4)?,
        });
    }
    // Every normalized name per user (as it will be), active or not, to keep renames unique
    // (an inactive account's name stays free for its reactivation).
    let mut taken: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
    for account in &accounts {
        taken
            .entry(account.user)
            .or_default()
            .insert(normalize(&account.name));
    }
    let mut kept: BTreeSet<(i32, String)> = BTreeSet::new();
    let mut changes: Vec<(i32, String, String)> = Vec::new();
    let mut reports: Vec<(i32, i32, String, String)> = Vec::new();
    for account in &accounts {
        let normalized = normalize(&account.name);
        // Kept as it is: not a later active duplicate, and a normalized name that fits.
        let fits = normalized.chars().count() <= NAME_MAX;
        if fits && (!account.active || kept.insert((account.user, normalized.clone()))) {
            if normalized != account.normalized {
                changes.push((account.id, account.name.clone(), normalized));
            }
            continue;
        }
        let used = taken.entry(account.user).or_default();
        let base = account.name.trim();
        let mut attempt = 1u32;
        let (name, normalized) = loop {
            let suffix = if attempt == 1 {
                format!(" (#{})", account.id)
            } else {
                format!(" (#{}-{attempt})", account.id)
            };
            // The longest cut of the name whose normalized form, with the suffix, fits
            // (lower-casing can lengthen a name: `İ` becomes `i̇`).
            let mut room = NAME_MAX.saturating_sub(suffix.chars().count());
            let (name, normalized) = loop {
                let cut: String = base.chars().take(room).collect();
                let name = format!("{}{suffix}", cut.trim_end()).trim().to_owned();
                let normalized = normalize(&name);
                if normalized.chars().count() <= NAME_MAX || room == 0 {
                    break (name, normalized);
                }
                room -= 1;
            };
            if !used.contains(&normalized) {
                break (name, normalized);
            }
            attempt += 1;
        };
        used.insert(normalized.clone());
        if account.active {
            kept.insert((account.user, normalized.clone()));
        }
        reports.push((account.user, account.id, account.name.clone(), name.clone()));
        changes.push((account.id, name, normalized));
    }
    for chunk in changes.chunks(500) {
        let mut values = Vec::new();
        let mut tuples = Vec::new();
        for (index, (id, name, normalized)) in chunk.iter().enumerate() {
            tuples.push(match backend {
                DbBackend::Postgres => format!(
                    "(${}::integer, ${}::varchar, ${}::varchar)",
                    index * 3 + 1,
                    index * 3 + 2,
                    index * 3 + 3
                ),
                _ => "(?, ?, ?)".to_owned(),
            });
            values.extend([
                Value::from(*id),
                Value::from(name.clone()),
                Value::from(normalized.clone()),
            ]);
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE finance_account SET name = v.column2, normalized_name = v.column3 \
                 FROM (VALUES {}) AS v WHERE finance_account.id = v.column1",
                tuples.join(", ")
            ),
            values,
        ))
        .await?;
    }
    let reason = "another active account of yours had the same name, or the name was too long";
    for chunk in reports.chunks(500) {
        let mut values = Vec::new();
        let mut tuples = Vec::new();
        for (index, (user, id, old, new)) in chunk.iter().enumerate() {
            let payload = serde_json::json!({
                "account_id": id, "old_name": old, "new_name": new, "reason": reason,
            });
            tuples.push(match backend {
                DbBackend::Postgres => format!(
                    "('finance.account.renamed', ${}::json, ${}::integer)",
                    index * 2 + 1,
                    index * 2 + 2
                ),
                _ => "('finance.account.renamed', ?, ?)".to_owned(),
            });
            values.extend([Value::from(payload.to_string()), Value::from(*user)]);
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO event_record (event_type, payload, user_id) VALUES {}",
                tuples.join(", ")
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}
