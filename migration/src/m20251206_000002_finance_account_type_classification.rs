//! LifeOS `20251206_finance_account_type_classification`: account type, subtype, normalized
//! name and creation time on `finance_account`, with their four indexes.
//!
//! Differences from the original (DECISIONS 0):
//! - `created_at` (`NOT NULL DEFAULT now`) is added through [`TableChange`], so it also works on
//!   a SQLite table that already has rows (the original `ADD COLUMN` fails there);
//! - `normalized_name` also collapses runs of inner whitespace, as the service normalizes
//!   names (`"  Main   Checking "` → `"main checking"`), not only `lower(trim(name))`;
//! - the type is derived from the category code case-insensitively (`assets`, `ASSET`, …),
//!   with the same table of codes; anything else stays `asset`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, drop_indexes, exec, index, normalized_name_sql, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &[&str]); 4] = [
    ("ix_finance_account_type", &["account_type"]),
    ("ix_finance_account_user_type", &["user_id", "account_type"]),
    ("ix_finance_account_normalized_name", &["normalized_name"]),
    (
        "ix_finance_account_user_normalized_name",
        &["user_id", "normalized_name"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        TableChange::new("finance_account")
            .add_column(string_len("account_type", 16).default("asset").take())
            .add_column(string_len_null("account_subtype", 64))
            .add_column(string_len("normalized_name", 255).default("").take())
            .add_column(date_time("created_at").default(utc_now(b)).take())
            .run(manager)
            .await?;
        exec(
            manager,
            &format!(
                "UPDATE finance_account SET normalized_name = {} WHERE normalized_name = ''",
                normalized_name_sql("name", b)
            ),
        )
        .await?;
        exec(
            manager,
            "UPDATE finance_account SET account_type = COALESCE((\
                SELECT CASE upper(c.code) \
                    WHEN 'ASSET' THEN 'asset' WHEN 'ASSETS' THEN 'asset' \
                    WHEN 'LIABILITY' THEN 'liability' WHEN 'LIABILITIES' THEN 'liability' \
                    WHEN 'EQUITY' THEN 'equity' \
                    WHEN 'INCOME' THEN 'income' \
                    WHEN 'EXPENSE' THEN 'expense' WHEN 'EXPENSES' THEN 'expense' \
                END \
                FROM finance_account_category c WHERE c.id = finance_account.category_id), 'asset') \
             WHERE account_type = 'asset'",
        )
        .await?;
        for (name, columns) in INDEXES {
            manager
                .create_index(index(name, "finance_account", columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let names: Vec<&str> = INDEXES.iter().map(|(name, _)| *name).collect();
        drop_indexes(manager, "finance_account", &names).await?;
        TableChange::new("finance_account")
            .drop_column("created_at")
            .drop_column("normalized_name")
            .drop_column("account_subtype")
            .drop_column("account_type")
            .run(manager)
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
