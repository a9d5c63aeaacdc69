//! LifeOS `20251206_finance_account_categories_update` (runs after `20251218`, whatever its
//! file date says): user-scoped account categories with slug, base type and flags.
//!
//! `user_id` arrives without a foreign key, as in history; `phase3a_new_models` adds it.
//! Differences from the original (DECISIONS 0, 11):
//! - slugs use `-`, as the service makes them (`"Credit Cards & Loans"` →
//!   `credit-cards-loans`), not the original backfill's `_`;
//! - `base_type` comes from the category code where it names one (`ASSET`, `Liabilities`,
//!   …) and only otherwise from `normal_balance` (credit → liability, debit → asset); the
//!   original used `normal_balance` alone, turning every income and equity category into a
//!   liability;
//! - `is_system` defaults to `FALSE` (user categories are not system ones) and existing rows —
//!   all without a user at this revision — are marked system; the original defaulted to
//!   `TRUE`, so any row inserted without the flag became a system category;
//! - `down` drops what `up` added, failing as a whole (the original swallowed errors one by
//!   one, which PostgreSQL's aborted transaction defeats).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{TableChange, drop_indexes, exec, index, ix, slug_sql, utc_now_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CATEGORY_INDEXES: [(&str, &[&str]); 3] = [
    (
        "ix_finance_account_category_user_base_default",
        &["user_id", "base_type", "is_default"],
    ),
    (
        "ix_finance_account_category_user_base_name",
        &["user_id", "base_type", "name"],
    ),
    (
        "uq_finance_account_category_user_base_slug",
        &["user_id", "base_type", "slug"],
    ),
];

const COLUMNS: [&str; 7] = [
    "user_id",
    "slug",
    "base_type",
    "is_default",
    "is_system",
    "created_at",
    "updated_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        TableChange::new("finance_account_category")
            .add_column(integer_null("user_id"))
            .add_column(string_len("slug", 128).default("").take())
            .add_column(string_len("base_type", 16).default("asset").take())
            .add_column(boolean("is_default").default(false).take())
            .add_column(boolean("is_system").default(false).take())
            .add_column(date_time_null("created_at"))
            .add_column(date_time_null("updated_at"))
            .run(manager)
            .await?;
        exec(
            manager,
            &format!(
                "UPDATE finance_account_category SET \
                 slug = CASE WHEN slug = '' THEN {slug} ELSE slug END, \
                 base_type = CASE \
                     WHEN upper(code) IN ('ASSET', 'ASSETS') THEN 'asset' \
                     WHEN upper(code) IN ('LIABILITY', 'LIABILITIES') THEN 'liability' \
                     WHEN upper(code) = 'EQUITY' THEN 'equity' \
                     WHEN upper(code) = 'INCOME' THEN 'income' \
                     WHEN upper(code) IN ('EXPENSE', 'EXPENSES') THEN 'expense' \
                     WHEN normal_balance = 'credit' THEN 'liability' \
                     ELSE 'asset' END, \
                 is_system = (user_id IS NULL), \
                 created_at = COALESCE(created_at, {now}), \
                 updated_at = COALESCE(updated_at, {now})",
                slug = slug_sql("trim(name)", b),
                now = utc_now_sql(b),
            ),
        )
        .await?;
        manager
            .create_index(ix("finance_account_category", "user_id"))
            .await?;
        for (name, columns) in CATEGORY_INDEXES {
            let mut statement = index(name, "finance_account_category", columns);
            if name.starts_with("uq_") {
                statement.unique();
            }
            manager.create_index(statement).await?;
        }
        manager
            .create_index(index(
                "ix_finance_account_user_category",
                "finance_account",
                &["user_id", "category_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(
            manager,
            "finance_account",
            &["ix_finance_account_user_category"],
        )
        .await?;
        let mut names: Vec<&str> = CATEGORY_INDEXES.iter().map(|(name, _)| *name).collect();
        names.push("ix_finance_account_category_user_id");
        drop_indexes(manager, "finance_account_category", &names).await?;
        let mut change = TableChange::new("finance_account_category");
        for column in COLUMNS.iter().rev() {
            change = change.drop_column(column);
        }
        change.run(manager).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
