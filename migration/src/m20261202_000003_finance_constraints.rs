//! Part 2: finance's enumerated strings are CHECK-constrained, and the uniqueness the original
//! only hoped for is enforced.
//!
//! - **Enumerated strings** (DECISIONS 12): every value from history is first trimmed (of
//!   spaces, tabs and line breaks) and lower-cased, and a type's plural or synonym
//!   (`assets`, `liabilities`, `expenses`, `revenue`, …) becomes the type, as
//!   m20251206_000002 read them; a value that is still not in its list is mapped, never
//!   dropped — the row stays and each change is reported to its owner as an `event_record`
//!   row `finance.value.mapped` (`{table, id, column, from, to}`; a system category's has no
//!   owner). The lists and the mappings:
//!
//!   | column | allowed | anything else becomes |
//!   |---|---|---|
//!   | `finance_account_category.base_type` | asset, liability, equity, income, expense | the type of its first account with a valid one, else `asset` |
//!   | `finance_account_category.normal_balance` | debit, credit | its base type's side (asset, expense: debit) |
//!   | `finance_account.account_type` | the five types | its category's base type, else `asset` |
//!   | `finance_account.account_subtype` | NULL or one of its type's subtypes | blank: NULL; else `other` |
//!   | `finance_transaction.source` | manual, calendar, calendar_inferred, import, api | `manual` |
//!   | `finance_transaction.inference_status` | NULL, pending, inferred, confirmed, rejected | blank: NULL; else `pending` |
//!
//!   The subtype has two checks: its list (`ck_finance_account_subtype`), and that it belongs
//!   to the account's type (`ck_finance_account_subtype_of_type`). Two categories of a user
//!   whose types become the same while their slugs are equal (`Asset`/`asset`, both `cash`)
//!   would break `uq_finance_account_category_user_base_slug`: the index is dropped for the
//!   mapping, every such category but the oldest gets the slug `{slug}-{id}` (reported,
//!   `finance.account_category.slug_changed`), and the index is created again.
//! - **One trial-balance setting per user and month**: months are trimmed and `YYYY-M`
//!   becomes `YYYY-0M` (reported as a mapping); then duplicates keep the newest row (highest
//!   id, the last written); each removed row is reported
//!   (`finance.trial_balance_setting.removed`, with its values). Then the unique index
//!   `ux_finance_trial_balance_setting_user_month`.
//! - **One default category per user and base type**: older defaults lose the flag (reported,
//!   `finance.account_category.default_cleared`); the unique partial index
//!   `ux_finance_account_category_user_base_default` keeps it so under concurrent calls.
//! - **A tracker is linked to a group once**: duplicate links (identical rows) are removed;
//!   unique index `ux_finance_loan_group_link_group_tracker`.
//! - **Overdue receivables are found by index**: `ix_finance_receivable_tracker_user_due_date`.
//!
//! `down` drops the checks and indexes. Mapped values, removed duplicates and cleared flags
//! are not restored (each is in `event_record`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::{TableChange, exec};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The account types.
const TYPES: &[&str] = &["asset", "liability", "equity", "income", "expense"];

/// The subtypes allowed per account type (the services' `subtypes`, frozen here).
const SUBTYPES: &[(&str, &[&str])] = &[
    (
        "asset",
        &["cash", "bank", "investment", "property", "other"],
    ),
    ("liability", &["loan", "credit_card", "payable", "other"]),
    ("equity", &["contributed", "retained_earnings", "other"]),
    (
        "income",
        &["salary", "investment", "business", "rental", "other"],
    ),
    (
        "expense",
        &[
            "groceries",
            "utilities",
            "rent",
            "transportation",
            "entertainment",
            "other",
        ],
    ),
];

/// Where a finance transaction came from (the union of the sources' lists).
const SOURCES: &[&str] = &["manual", "calendar", "calendar_inferred", "import", "api"];

/// The review state of an inferred transaction (the union of the sources' lists).
const INFERENCE_STATUSES: &[&str] = &["pending", "inferred", "confirmed", "rejected"];

/// `'a', 'b', …` for an SQL `IN` list.
fn list(values: &[&str]) -> String {
    values
        .iter()
        .map(|value| format!("'{value}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every subtype, once.
fn all_subtypes() -> Vec<&'static str> {
    let mut all: Vec<&str> = SUBTYPES
        .iter()
        .flat_map(|(_, subs)| subs.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// `value` belongs to the account's type (`account_type` already valid).
fn subtype_of_type(value: &str) -> String {
    SUBTYPES
        .iter()
        .map(|(kind, subs)| format!("(account_type = '{kind}' AND {value} IN ({}))", list(subs)))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// One mapped column: `target` is an SQL expression over the row giving the value it keeps.
struct Mapping {
    table: &'static str,
    column: &'static str,
    /// The owner's id, an SQL expression over the row.
    owner: &'static str,
    target: String,
}

impl Mapping {
    /// Reports, then rewrites, every row whose value is not its target (set-based).
    async fn run(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let (json, differs) = match backend {
            DbBackend::Postgres => ("json_build_object", "IS DISTINCT FROM"),
            _ => ("json_object", "IS NOT"),
        };
        let Self {
            table,
            column,
            owner,
            target,
        } = self;
        let changed = format!("{column} {differs} ({target})");
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'finance.value.mapped', {json}('table', '{table}', 'id', id, \
                 'column', '{column}', 'from', {column}, 'to', ({target})), {owner} \
                 FROM {table} WHERE {changed}"
            ),
        )
        .await?;
        exec(
            manager,
            &format!("UPDATE {table} SET {column} = ({target}) WHERE {changed}"),
        )
        .await
    }
}

/// The value trimmed of white space (spaces, tabs, line breaks) and lower-cased.
fn clean(column: &str, backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => format!("lower(btrim({column}, E' \\t\\r\\n'))"),
        _ => format!("lower(trim({column}, ' ' || char(9, 10, 13)))"),
    }
}

/// [`clean`], with the plurals and synonyms of the account types read as the types.
fn clean_type(column: &str, backend: DbBackend) -> String {
    let value = clean(column, backend);
    format!(
        "CASE {value} WHEN 'assets' THEN 'asset' WHEN 'liabilities' THEN 'liability' \
         WHEN 'equities' THEN 'equity' WHEN 'incomes' THEN 'income' \
         WHEN 'revenue' THEN 'income' WHEN 'revenues' THEN 'income' \
         WHEN 'expenses' THEN 'expense' ELSE {value} END"
    )
}

/// `CASE`: the cleaned value (`clean`: an SQL expression) when it is in `allowed`, else
/// `otherwise`.
fn normalized_or(clean: &str, allowed: &str, otherwise: &str) -> String {
    format!("CASE WHEN {clean} IN ({allowed}) THEN {clean} ELSE {otherwise} END")
}

/// The mappings, in the order they run (each may read the columns mapped before it).
fn mappings(backend: DbBackend) -> Vec<Mapping> {
    let types = list(TYPES);
    let subtype = &clean("account_subtype", backend);
    let account_type = clean_type("a.account_type", backend);
    let blank = |column: &str| format!("{column} IS NULL OR {} = ''", clean(column, backend));
    let month = format!(
        "CASE WHEN length({m}) = 6 AND substr({m}, 5, 1) = '-' \
         THEN substr({m}, 1, 5) || '0' || substr({m}, 6, 1) ELSE {m} END",
        m = match backend {
            DbBackend::Postgres => "btrim(month, E' \\t\\r\\n')".to_owned(),
            _ => "trim(month, ' ' || char(9, 10, 13))".to_owned(),
        }
    );
    vec![
        Mapping {
            table: "finance_account_category",
            column: "base_type",
            owner: "user_id",
            target: normalized_or(
                &clean_type("base_type", backend),
                &types,
                &format!(
                    "COALESCE((SELECT {account_type} FROM finance_account a \
                     WHERE a.category_id = finance_account_category.id \
                     AND {account_type} IN ({types}) ORDER BY a.id LIMIT 1), 'asset')"
                ),
            ),
        },
        Mapping {
            table: "finance_account_category",
            column: "normal_balance",
            owner: "user_id",
            target: normalized_or(
                &clean("normal_balance", backend),
                "'debit', 'credit'",
                "CASE WHEN base_type IN ('asset', 'expense') THEN 'debit' ELSE 'credit' END",
            ),
        },
        Mapping {
            table: "finance_account",
            column: "account_type",
            owner: "user_id",
            target: normalized_or(
                &clean_type("account_type", backend),
                &types,
                "COALESCE((SELECT c.base_type FROM finance_account_category c \
                 WHERE c.id = finance_account.category_id), 'asset')",
            ),
        },
        Mapping {
            table: "finance_account",
            column: "account_subtype",
            owner: "user_id",
            target: format!(
                "CASE WHEN {} THEN NULL WHEN {} THEN {subtype} ELSE 'other' END",
                blank("account_subtype"),
                subtype_of_type(subtype)
            ),
        },
        Mapping {
            table: "finance_transaction",
            column: "source",
            owner: "user_id",
            target: normalized_or(&clean("source", backend), &list(SOURCES), "'manual'"),
        },
        Mapping {
            table: "finance_transaction",
            column: "inference_status",
            owner: "user_id",
            target: format!(
                "CASE WHEN {} THEN NULL ELSE {} END",
                blank("inference_status"),
                normalized_or(
                    &clean("inference_status", backend),
                    &list(INFERENCE_STATUSES),
                    "'pending'"
                )
            ),
        },
        Mapping {
            table: "finance_trial_balance_setting",
            column: "month",
            owner: "user_id",
            target: month,
        },
    ]
}

/// The check constraints: (table, name, expression).
fn checks() -> Vec<(&'static str, &'static str, String)> {
    let types = list(TYPES);
    vec![
        (
            "finance_account_category",
            "ck_finance_account_category_base_type",
            format!("base_type IN ({types})"),
        ),
        (
            "finance_account_category",
            "ck_finance_account_category_normal_balance",
            "normal_balance IN ('debit', 'credit')".to_owned(),
        ),
        (
            "finance_account",
            "ck_finance_account_type",
            format!("account_type IN ({types})"),
        ),
        (
            "finance_account",
            "ck_finance_account_subtype",
            format!(
                "account_subtype IS NULL OR account_subtype IN ({})",
                list(&all_subtypes())
            ),
        ),
        (
            "finance_account",
            "ck_finance_account_subtype_of_type",
            format!(
                "account_subtype IS NULL OR {}",
                subtype_of_type("account_subtype")
            ),
        ),
        (
            "finance_transaction",
            "ck_finance_transaction_source",
            format!("source IN ({})", list(SOURCES)),
        ),
        (
            "finance_transaction",
            "ck_finance_transaction_inference_status",
            format!(
                "inference_status IS NULL OR inference_status IN ({})",
                list(INFERENCE_STATUSES)
            ),
        ),
    ]
}

/// The tables that take checks, in order.
const CHECKED: &[&str] = &[
    "finance_account_category",
    "finance_account",
    "finance_transaction",
];

/// The indexes this migration adds: (name, statement).
const INDEXES: &[(&str, &str)] = &[
    (
        "ux_finance_trial_balance_setting_user_month",
        "CREATE UNIQUE INDEX ux_finance_trial_balance_setting_user_month \
         ON finance_trial_balance_setting (user_id, month)",
    ),
    (
        "ux_finance_account_category_user_base_default",
        "CREATE UNIQUE INDEX ux_finance_account_category_user_base_default \
         ON finance_account_category (user_id, base_type) WHERE is_default",
    ),
    (
        "ux_finance_loan_group_link_group_tracker",
        "CREATE UNIQUE INDEX ux_finance_loan_group_link_group_tracker \
         ON finance_loan_group_link (group_id, tracker_id)",
    ),
    (
        "ix_finance_receivable_tracker_user_due_date",
        "CREATE INDEX ix_finance_receivable_tracker_user_due_date \
         ON finance_receivable_tracker (user_id, due_date)",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let json = match backend {
            DbBackend::Postgres => "json_build_object",
            _ => "json_object",
        };
        // Mapped types may make two of a user's categories equal in (type, slug).
        exec(
            manager,
            "DROP INDEX uq_finance_account_category_user_base_slug",
        )
        .await?;
        for mapping in mappings(backend) {
            mapping.run(manager).await?;
        }
        let same_slug = "user_id IS NOT NULL AND EXISTS (SELECT 1 \
             FROM finance_account_category o WHERE o.user_id = finance_account_category.user_id \
             AND o.base_type = finance_account_category.base_type \
             AND o.slug = finance_account_category.slug AND o.id < finance_account_category.id)";
        let new_slug = "substr(slug, 1, 100) || '-' || CAST(id AS VARCHAR(12))";
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'finance.account_category.slug_changed', {json}('id', id, \
                 'from', slug, 'to', {new_slug}), user_id \
                 FROM finance_account_category WHERE {same_slug}"
            ),
        )
        .await?;
        exec(
            manager,
            &format!("UPDATE finance_account_category SET slug = {new_slug} WHERE {same_slug}"),
        )
        .await?;
        exec(
            manager,
            "CREATE UNIQUE INDEX uq_finance_account_category_user_base_slug \
             ON finance_account_category (user_id, base_type, slug)",
        )
        .await?;
        let checks = checks();
        for table in CHECKED {
            let mut change = TableChange::new(table);
            for (_, name, expression) in checks.iter().filter(|(on, ..)| on == table) {
                change = change.check(name, expression);
            }
            change.run(manager).await?;
        }

        let older_setting = "EXISTS (SELECT 1 FROM finance_trial_balance_setting o \
             WHERE o.user_id = finance_trial_balance_setting.user_id \
             AND o.month = finance_trial_balance_setting.month \
             AND o.id > finance_trial_balance_setting.id)";
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'finance.trial_balance_setting.removed', {json}('id', id, \
                 'month', month, 'auto_rollup', auto_rollup), user_id \
                 FROM finance_trial_balance_setting WHERE {older_setting}"
            ),
        )
        .await?;
        exec(
            manager,
            &format!("DELETE FROM finance_trial_balance_setting WHERE {older_setting}"),
        )
        .await?;

        let older_default = "is_default AND user_id IS NOT NULL AND EXISTS (SELECT 1 \
             FROM finance_account_category o WHERE o.is_default \
             AND o.user_id = finance_account_category.user_id \
             AND o.base_type = finance_account_category.base_type \
             AND o.id > finance_account_category.id)";
        exec(
            manager,
            &format!(
                "INSERT INTO event_record (event_type, payload, user_id) \
                 SELECT 'finance.account_category.default_cleared', {json}('id', id, \
                 'base_type', base_type, 'name', name), user_id \
                 FROM finance_account_category WHERE {older_default}"
            ),
        )
        .await?;
        exec(
            manager,
            &format!(
                "UPDATE finance_account_category SET is_default = FALSE WHERE {older_default}"
            ),
        )
        .await?;

        exec(
            manager,
            "DELETE FROM finance_loan_group_link WHERE EXISTS (SELECT 1 \
             FROM finance_loan_group_link o WHERE o.group_id = finance_loan_group_link.group_id \
             AND o.tracker_id = finance_loan_group_link.tracker_id \
             AND o.id < finance_loan_group_link.id)",
        )
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
        let checks = checks();
        for table in CHECKED.iter().rev() {
            let mut change = TableChange::new(table);
            for (_, name, _) in checks.iter().filter(|(on, ..)| on == table) {
                change = change.drop_check(name);
            }
            change.run(manager).await?;
        }
        Ok(())
    }
}
