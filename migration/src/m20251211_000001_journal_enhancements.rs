//! LifeOS `20251211_journal_enhancements`: the journal v1 columns (`body`, `tags`,
//! `entry_date`, privacy, sentiment, `updated_at`, and the `mood_int` bridge) and indexes.
//!
//! Differences from the original (DECISIONS 0):
//! - `mood_int` takes the legacy `mood` only where it is an integer; anything else
//!   (`'happy'`) becomes `NULL`. The original cast aborted on PostgreSQL and gave `0` on
//!   SQLite;
//! - existing entries get `entry_date` = the day of `created_at` and `updated_at` =
//!   `created_at`, not the day the migration ran (DECISIONS 8 wants the user's local day; the
//!   rows of this era carry no zone, so the UTC day of `created_at` is the best available);
//! - columns with non-constant defaults are added through [`TableChange`], so a SQLite table
//!   with rows migrates.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::support::{
    TableChange, day_of_sql, drop_indexes, exec, index, integer_or_null_sql, utc_now,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &[&str]); 3] = [
    (
        "ix_journal_entry_user_entry_date",
        &["user_id", "entry_date"],
    ),
    (
        "ix_journal_entry_user_created_at",
        &["user_id", "created_at"],
    ),
    ("ix_journal_entry_user_mood", &["user_id", "mood_int"]),
];

const COLUMNS: [&str; 8] = [
    "body",
    "tags",
    "entry_date",
    "is_private",
    "sentiment_score",
    "emotion_label",
    "updated_at",
    "mood_int",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        TableChange::new("journal_entry")
            .add_column(text("body").default("").take())
            .add_column(json("tags").default("[]").take())
            .add_column(date("entry_date").default(Expr::current_date()).take())
            .add_column(boolean("is_private").default(true).take())
            .add_column(decimal_len_null("sentiment_score", 5, 2))
            .add_column(string_len_null("emotion_label", 64))
            .add_column(date_time("updated_at").default(utc_now(b)).take())
            .add_column(integer_null("mood_int"))
            .run(manager)
            .await?;
        exec(
            manager,
            &format!(
                "UPDATE journal_entry SET \
                 body = CASE WHEN body IS NULL OR body = '' THEN COALESCE(content, '') ELSE body END, \
                 mood_int = COALESCE(mood_int, {}), \
                 entry_date = {}, \
                 updated_at = created_at",
                integer_or_null_sql("mood", b),
                day_of_sql("created_at", b)
            ),
        )
        .await?;
        for (name, columns) in INDEXES {
            manager
                .create_index(index(name, "journal_entry", columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let names: Vec<&str> = INDEXES.iter().map(|(name, _)| *name).collect();
        drop_indexes(manager, "journal_entry", &names).await?;
        let mut change = TableChange::new("journal_entry");
        for column in COLUMNS.iter().rev() {
            change = change.drop_column(column);
        }
        change.run(manager).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
