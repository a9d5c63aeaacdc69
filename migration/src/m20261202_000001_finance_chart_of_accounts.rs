//! Part 2: what the finance chart-of-accounts services need from the schema.
//!
//! - **Every account has a currency**: `finance_account.currency`, three upper-case letters
//!   (ISO 4217), `NOT NULL DEFAULT 'USD'`. Existing accounts take their owner's `currency`
//!   preference where it is three upper-case letters, else `USD` (the preference's default).
//! - **An active name is unique per user**: `ux_finance_account_user_active_name` on
//!   `(user_id, normalized_name) WHERE is_active`, which makes the services' idempotent
//!   inline create hold under concurrent calls. Active duplicates from history (the original
//!   enforced the rule in the application only) are resolved first: every active account
//!   whose normalized name an older active account of the same user already has (by id) is
//!   renamed `name (#id)` — never merged, deactivated or deleted — and each rename is
//!   reported to its owner as an `event_record` row `finance.account.renamed` with the old
//!   and new names.
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

use crate::support::{TableChange, exec, normalized_name_sql};

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
            "p.value #>> '{}'"
        } else {
            "json_extract(p.value, '$')"
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

        // Active duplicates: report, then rename (the report reads the old names).
        let duplicate = "a.is_active AND EXISTS (SELECT 1 FROM finance_account o \
             WHERE o.user_id = a.user_id AND o.normalized_name = a.normalized_name \
             AND o.is_active AND o.id < a.id)";
        let suffix = "' (#' || CAST(a.id AS TEXT) || ')'";
        let renamed = format!("substr(a.name, 1, 255 - length({suffix})) || {suffix}");
        let payload = if postgres {
            format!(
                "json_build_object('account_id', a.id, 'old_name', a.name, 'new_name', {renamed}, \
                 'reason', 'another active account of yours has the same name')"
            )
        } else {
            format!(
                "json_object('account_id', a.id, 'old_name', a.name, 'new_name', {renamed}, \
                 'reason', 'another active account of yours has the same name')"
            )
        };
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'finance.account.renamed', {payload}, a.user_id \
                 FROM finance_account a WHERE {duplicate}"
            ),
        )
        .await?;
        let normalized = normalized_name_sql(&renamed, backend);
        exec(
            manager,
            &format!(
                "UPDATE finance_account SET name = (SELECT {renamed} FROM finance_account a \
                 WHERE a.id = finance_account.id), \
                 normalized_name = (SELECT {normalized} FROM finance_account a \
                 WHERE a.id = finance_account.id) \
                 WHERE id IN (SELECT a.id FROM finance_account a WHERE {duplicate})"
            ),
        )
        .await?;

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
