//! Part 2: what finance's imports and money schedule need from the schema.
//!
//! - **Import batches**: `finance_import_batch` (the user's, `kind` `bank` or `journal`,
//!   a file name, its row count, when it was imported and undone). Imported transactions and
//!   journal entries point at their batch (`import_batch_id`, `ON DELETE SET NULL`) and carry
//!   a `dedupe_key` — the source's external id, else a hash of the raw row and its occurrence
//!   among identical rows — unique per user (`ux_finance_transaction_user_dedupe`,
//!   `ux_finance_journal_entry_user_dedupe`; NULL for rows entered by hand), so re-importing
//!   a file, even by two calls at once, creates nothing twice.
//! - **Recurring schedule rows**: `finance_money_schedule_row.rrule` (an RFC 5545 RRULE; NULL:
//!   a one-off row on `event_date`, which is also the recurrence's start).
//! - **A projection per currency**: `finance_money_schedule_daily_balance.currency`, backfilled
//!   from the owner's `currency` preference (trimmed, upper-cased; USD otherwise) as the
//!   accounts were, unique per user, currency and day
//!   (`ux_finance_money_schedule_daily_balance_user_currency_as_of`); of two rows of one day
//!   the newest stays (the other is reported, `finance.schedule.daily_balance.removed`). The
//!   original stored each day's net of schedule rows and showed their running sum from zero;
//!   the services store the running balance, so each row from history becomes that sum (its
//!   own and every earlier day's nets, in exact cents).
//! - **Scenario rows that add an amount**: `finance_money_schedule_scenario_row.event_date`,
//!   `account_id` (`ON DELETE CASCADE`) and `memo`, for an extra dated amount beside a delta
//!   on a base row.
//!
//! `down` drops all of it: imported rows lose their batch link and key; scenario rows that
//! add an extra amount are deleted (without their columns they would read as deltas on no
//! row); the stored daily projection is emptied (a cache `recompute` rebuilds; without its
//! currency, several currencies' days would read as duplicates, and the original read nets).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{TableChange, exec, fk, utc_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexes this migration adds: (name, statement).
const INDEXES: &[(&str, &str)] = &[
    (
        "ix_finance_import_batch_user_created_at",
        "CREATE INDEX ix_finance_import_batch_user_created_at \
         ON finance_import_batch (user_id, created_at)",
    ),
    (
        "ix_finance_transaction_import_batch_id",
        "CREATE INDEX ix_finance_transaction_import_batch_id \
         ON finance_transaction (import_batch_id)",
    ),
    (
        "ux_finance_transaction_user_dedupe",
        "CREATE UNIQUE INDEX ux_finance_transaction_user_dedupe \
         ON finance_transaction (user_id, dedupe_key)",
    ),
    (
        "ix_finance_journal_entry_import_batch_id",
        "CREATE INDEX ix_finance_journal_entry_import_batch_id \
         ON finance_journal_entry (import_batch_id)",
    ),
    (
        "ux_finance_journal_entry_user_dedupe",
        "CREATE UNIQUE INDEX ux_finance_journal_entry_user_dedupe \
         ON finance_journal_entry (user_id, dedupe_key)",
    ),
    (
        "ux_finance_money_schedule_daily_balance_user_currency_as_of",
        "CREATE UNIQUE INDEX ux_finance_money_schedule_daily_balance_user_currency_as_of \
         ON finance_money_schedule_daily_balance (user_id, currency, as_of)",
    ),
    (
        "ix_finance_money_schedule_scenario_row_account_id",
        "CREATE INDEX ix_finance_money_schedule_scenario_row_account_id \
         ON finance_money_schedule_scenario_row (account_id)",
    ),
];

/// The batch link and dedupe key of an imported row.
fn import_columns(table: &str) -> TableChange {
    TableChange::new(table)
        .add_column(
            ColumnDef::new("import_batch_id")
                .integer()
                .null()
                .to_owned(),
        )
        .add_column(
            ColumnDef::new("dedupe_key")
                .string_len(128)
                .null()
                .to_owned(),
        )
        .foreign_key(
            fk(table, "import_batch_id", "finance_import_batch")
                .on_delete(ForeignKeyAction::SetNull)
                .to_owned(),
        )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("finance_import_batch")
                    .col(
                        ColumnDef::new("id")
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("user_id").integer().not_null())
                    .col(ColumnDef::new("kind").string_len(16).not_null())
                    .col(ColumnDef::new("file_name").string_len(255).null())
                    .col(ColumnDef::new("row_count").integer().not_null().default(0))
                    .col(
                        ColumnDef::new("created_at")
                            .date_time()
                            .not_null()
                            .default(utc_now(backend)),
                    )
                    .col(ColumnDef::new("undone_at").date_time().null())
                    .check((
                        "ck_finance_import_batch_kind",
                        Expr::cust("kind IN ('bank', 'journal')"),
                    ))
                    .foreign_key(
                        fk("finance_import_batch", "user_id", "user")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        import_columns("finance_transaction").run(manager).await?;
        import_columns("finance_journal_entry").run(manager).await?;

        TableChange::new("finance_money_schedule_row")
            .add_column(ColumnDef::new("rrule").text().null().to_owned())
            .run(manager)
            .await?;

        TableChange::new("finance_money_schedule_daily_balance")
            .add_column(
                ColumnDef::new("currency")
                    .string_len(3)
                    .not_null()
                    .default("USD")
                    .to_owned(),
            )
            .run(manager)
            .await?;
        let postgres = backend == DbBackend::Postgres;
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
        let table = "finance_money_schedule_daily_balance";
        exec(
            manager,
            &format!(
                "UPDATE {table} SET currency = (SELECT {preference} \
                 FROM user_preference p WHERE p.user_id = {table}.user_id \
                 AND p.key = 'currency' AND {valid}) \
                 WHERE EXISTS (SELECT 1 FROM user_preference p \
                 WHERE p.user_id = {table}.user_id AND p.key = 'currency' AND {valid})"
            ),
        )
        .await?;
        // Two rows of one day (two racing recomputes of the original): the newest stays, the
        // other is reported.
        let json = if postgres {
            "json_build_object"
        } else {
            "json_object"
        };
        let older = format!(
            "EXISTS (SELECT 1 FROM {table} o WHERE o.user_id = {table}.user_id \
             AND o.currency = {table}.currency AND o.as_of = {table}.as_of AND o.id > {table}.id)"
        );
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'finance.schedule.daily_balance.removed', {json}('id', id, \
                 'as_of', as_of, 'balance', balance), user_id FROM {table} WHERE {older}"
            ),
        )
        .await?;
        exec(manager, &format!("DELETE FROM {table} WHERE {older}")).await?;
        // The original stored each day's net; its forecast showed their running sum from
        // zero. The services store that running balance: each row becomes the sum, in exact
        // cents, of its day's and every earlier day's nets (computed into a temporary table
        // first — SQLite's UPDATE would see rows it has already changed).
        exec(
            manager,
            &format!(
                "CREATE TEMPORARY TABLE finance_daily_running AS SELECT t.id AS id, \
                 (SELECT CAST(SUM(CAST(round(o.balance * 100) AS BIGINT)) AS BIGINT) \
                 FROM {table} o WHERE o.user_id = t.user_id AND o.currency = t.currency \
                 AND o.as_of <= t.as_of) AS cents FROM {table} t"
            ),
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE {table} SET balance = (SELECT r.cents FROM finance_daily_running r \
                 WHERE r.id = {table}.id) / 100.0"
            ),
        )
        .await?;
        exec(manager, "DROP TABLE finance_daily_running").await?;

        TableChange::new("finance_money_schedule_scenario_row")
            .add_column(ColumnDef::new("event_date").date().null().to_owned())
            .add_column(ColumnDef::new("account_id").integer().null().to_owned())
            .add_column(ColumnDef::new("memo").text().null().to_owned())
            .foreign_key(
                fk(
                    "finance_money_schedule_scenario_row",
                    "account_id",
                    "finance_account",
                )
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned(),
            )
            .run(manager)
            .await?;

        for (_, statement) in INDEXES {
            exec(manager, statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES.iter().rev() {
            exec(manager, &format!("DROP INDEX {name}")).await?;
        }
        exec(
            manager,
            "DELETE FROM finance_money_schedule_scenario_row WHERE event_date IS NOT NULL \
             OR account_id IS NOT NULL",
        )
        .await?;
        exec(manager, "DELETE FROM finance_money_schedule_daily_balance").await?;
        TableChange::new("finance_money_schedule_scenario_row")
            .drop_foreign_key("account_id")
            .drop_column("memo")
            .drop_column("account_id")
            .drop_column("event_date")
            .run(manager)
            .await?;
        TableChange::new("finance_money_schedule_daily_balance")
            .drop_column("currency")
            .run(manager)
            .await?;
        TableChange::new("finance_money_schedule_row")
            .drop_column("rrule")
            .run(manager)
            .await?;
        for table in ["finance_journal_entry", "finance_transaction"] {
            TableChange::new(table)
                .drop_foreign_key("import_batch_id")
                .drop_column("dedupe_key")
                .drop_column("import_batch_id")
                .run(manager)
                .await?;
        }
        manager
            .drop_table(Table::drop().table("finance_import_batch").to_owned())
            .await
    }
}
