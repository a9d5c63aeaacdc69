//! Part 2: what the exact double-entry journal needs from the schema.
//!
//! - **Reversals are linked and happen once**: `finance_journal_entry.reverses_entry_id`
//!   (the entry a reversal mirrors; `ON DELETE CASCADE`, since entries go only with their
//!   user) and the unique partial index `ux_finance_journal_entry_reverses`, so a second
//!   reversal of the same entry cannot be written, even by two racing calls.
//! - **PostgreSQL refuses an unbalanced entry at commit**: the deferred constraint trigger
//!   `finance_journal_line_balanced` runs `finance_journal_entry_balanced()` for every line
//!   inserted, updated or deleted; when the transaction commits, each entry touched that
//!   still exists must have at least two lines and, per currency of its lines' accounts,
//!   debits equal to credits — exactly (SQLSTATE 23514). A raw `INSERT`, `UPDATE` or `DELETE`
//!   cannot leave a broken entry behind. Entries from history are not re-checked until one of
//!   their lines changes. On SQLite (no such triggers across statements) the service is the
//!   guard.
//!
//! `down` drops the trigger, its function, the index and the column. The function is created
//! `OR REPLACE`: `migrate fresh` drops tables (and with them the trigger) but not functions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{TableChange, exec, fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION finance_journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry integer;
    lines bigint;
    currency text;
BEGIN
    FOREACH entry IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.entry_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.entry_id END
    ] LOOP
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
                 AFTER INSERT OR UPDATE OR DELETE ON finance_journal_line \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
                 EXECUTE FUNCTION finance_journal_entry_balanced()",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            exec(
                manager,
                "DROP TRIGGER finance_journal_line_balanced ON finance_journal_line",
            )
            .await?;
            exec(manager, "DROP FUNCTION finance_journal_entry_balanced()").await?;
        }
        exec(manager, "DROP INDEX ux_finance_journal_entry_reverses").await?;
        TableChange::new("finance_journal_entry")
            .drop_foreign_key("reverses_entry_id")
            .drop_column("reverses_entry_id")
            .run(manager)
            .await
    }
}
