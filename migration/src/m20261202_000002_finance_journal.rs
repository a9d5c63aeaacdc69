//! Part 2: what the exact double-entry journal needs from the schema.
//!
//! - **Reversals are linked and happen once**: `finance_journal_entry.reverses_entry_id`
//!   (the entry a reversal mirrors; `ON DELETE CASCADE`, since entries go only with their
//!   user) and the unique partial index `ux_finance_journal_entry_reverses`, so a second
//!   reversal of the same entry cannot be written, even by two racing calls.
//! - **PostgreSQL refuses an unbalanced entry at commit**: the deferred constraint triggers
//!   `finance_journal_line_balanced` (every line inserted, deleted, or updated in its entry,
//!   account or amounts) and `finance_journal_entry_has_lines` (every entry inserted) run
//!   `finance_journal_entry_balanced()`; when the transaction commits, each entry touched that
//!   still exists must have at least two lines and, per currency of its lines' accounts,
//!   debits equal to credits — exactly (SQLSTATE 23514). `finance_account_currency_fixed`
//!   refuses a currency change of an account that has lines. A raw `INSERT`, `UPDATE` or
//!   `DELETE` cannot leave a broken entry behind. Entries from history are not re-checked
//!   until one of their lines changes. On SQLite (no triggers deferred to commit) the service
//!   is the guard.
//!
//! `down` drops the triggers, their functions, the index and the column. The function is created
//! `OR REPLACE`: `migrate fresh` drops tables (and with them the trigger) but not functions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{TableChange, exec, fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION finance_journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entries integer[];
    entry integer;
    lines bigint;
    currency text;
BEGIN
    IF TG_TABLE_NAME = 'finance_journal_entry' THEN
        entries := ARRAY[NEW.id];
    ELSIF TG_OP = 'INSERT' THEN
        entries := ARRAY[NEW.entry_id];
    ELSIF TG_OP = 'DELETE' THEN
        entries := ARRAY[OLD.entry_id];
    ELSE
        entries := ARRAY[OLD.entry_id, NEW.entry_id];
    END IF;
    FOREACH entry IN ARRAY entries LOOP
        CONTINUE WHEN entry IS NULL
            OR NOT EXISTS (SELECT 1 FROM finance_journal_entry WHERE id = entry);
        SELECT count(*) INTO lines FROM finance_journal_line WHERE entry_id = entry;
        IF lines < 2 THEN
            RAISE EXCEPTION 'journal entry % has % line(s); an entry has at least two', entry, lines
                USING ERRCODE = '23514';
        END IF;
        SELECT a.currency INTO currency
            FROM finance_journal_line l JOIN finance_account a ON a.id = l.account_id
            WHERE l.entry_id = entry
            GROUP BY a.currency
            HAVING sum(l.debit) <> sum(l.credit)
            LIMIT 1;
        IF currency IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % does not balance in %: debits differ from credits',
                entry, currency USING ERRCODE = '23514';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$"#;

/// Refuses a currency change of an account with journal lines (its entries would stop
/// balancing per currency).
const CURRENCY_FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION finance_account_currency_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM finance_journal_line WHERE account_id = NEW.id) THEN
        RAISE EXCEPTION 'account % has journal lines: its currency is fixed', NEW.id
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableChange::new("finance_journal_entry")
            .add_column(
                ColumnDef::new("reverses_entry_id")
                    .integer()
                    .null()
                    .to_owned(),
            )
            .foreign_key(
                fk(
                    "finance_journal_entry",
                    "reverses_entry_id",
                    "finance_journal_entry",
                )
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned(),
            )
            .run(manager)
            .await?;
        exec(
            manager,
            "CREATE UNIQUE INDEX ux_finance_journal_entry_reverses ON finance_journal_entry \
             (reverses_entry_id) WHERE reverses_entry_id IS NOT NULL",
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            exec(manager, FUNCTION).await?;
            exec(
                manager,
                "CREATE CONSTRAINT TRIGGER finance_journal_line_balanced \
                 AFTER INSERT OR DELETE OR UPDATE OF entry_id, account_id, debit, credit \
                 ON finance_journal_line DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
                 EXECUTE FUNCTION finance_journal_entry_balanced()",
            )
            .await?;
            exec(
                manager,
                "CREATE CONSTRAINT TRIGGER finance_journal_entry_has_lines \
                 AFTER INSERT ON finance_journal_entry DEFERRABLE INITIALLY DEFERRED \
                 FOR EACH ROW EXECUTE FUNCTION finance_journal_entry_balanced()",
            )
            .await?;
            exec(manager, CURRENCY_FUNCTION).await?;
            exec(
                manager,
                "CREATE TRIGGER finance_account_currency_fixed \
                 BEFORE UPDATE OF currency ON finance_account FOR EACH ROW \
                 WHEN (OLD.currency IS DISTINCT FROM NEW.currency) \
                 EXECUTE FUNCTION finance_account_currency_fixed()",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for sql in [
                "DROP TRIGGER finance_account_currency_fixed ON finance_account",
                "DROP FUNCTION finance_account_currency_fixed()",
                "DROP TRIGGER finance_journal_entry_has_lines ON finance_journal_entry",
                "DROP TRIGGER finance_journal_line_balanced ON finance_journal_line",
                "DROP FUNCTION finance_journal_entry_balanced()",
            ] {
                exec(manager, sql).await?;
            }
        }
        exec(manager, "DROP INDEX ux_finance_journal_entry_reverses").await?;
        TableChange::new("finance_journal_entry")
            .drop_foreign_key("reverses_entry_id")
            .drop_column("reverses_entry_id")
            .run(manager)
            .await
    }
}
