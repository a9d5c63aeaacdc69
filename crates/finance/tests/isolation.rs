//! Tenant isolation, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: Bob calls
//! every public finance function with Ann's ids. Each one that takes an id answers
//! `NotFound` exactly as for a missing id; each listing shows Bob nothing of Ann's; and
//! afterwards every finance table, the outbox and Ann's rows are exactly as before.

use lifeos_entity::UserId;
use lifeos_finance::Error;
use lifeos_finance::entity::finance_account::AccountType;
use lifeos_finance::service::{
    accounts, balances, categories, imports, journal, ledger, receivables, scenarios, schedule,
    settings, transactions,
};
use lifeos_testkit::TestDb;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

mod common;
use common::day;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Every table a finance function could write, and the outbox.
const TABLES: &[&str] = &[
    "finance_account_category",
    "finance_account",
    "finance_journal_entry",
    "finance_journal_line",
    "finance_transaction",
    "finance_trial_balance_setting",
    "finance_money_schedule_row",
    "finance_money_schedule_daily_balance",
    "finance_money_schedule_scenario",
    "finance_money_schedule_scenario_row",
    "finance_receivable_tracker",
    "finance_receivable_manual_entry",
    "finance_loan_group",
    "finance_loan_group_link",
    "finance_import_batch",
    "platform_outbox",
];

/// Every row of every table, as text: what must not change.
async fn snapshot(db: &DatabaseConnection) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for table in TABLES {
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                format!("SELECT CAST(t AS TEXT) FROM {table} t ORDER BY 1")
            }
            _ => {
                // Every column quoted and joined: SQLite has no row-to-text cast.
                let columns = db
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT name FROM pragma_table_info('{table}')"),
                    ))
                    .await?
                    .iter()
                    .map(|row| row.try_get_by_index::<String>(0))
                    .collect::<Result<Vec<_>, _>>()?;
                let row = columns
                    .iter()
                    .map(|column| format!("quote(\"{column}\")"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                format!("SELECT {row} FROM {table} ORDER BY 1")
            }
        };
        let rows = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await?;
        out.push(format!("{table}: {}", rows.len()));
        for row in rows {
            out.push(row.try_get_by_index::<String>(0)?);
        }
    }
    Ok(out)
}

fn not_found<T: std::fmt::Debug>(what: &str, result: Result<T, Error>) -> TestResult {
    match result {
        Err(Error::Core(lifeos_core::Error::NotFound { .. })) => Ok(()),
        other => Err(format!("{what}: {other:?} instead of NotFound").into()),
    }
}

/// Ann's rows: two accounts, an entry, a tracker with an entry, a group with a link, a
/// category and a setting.
struct Anns {
    bank: i32,
    income: i32,
    category: i32,
    entry: i32,
    tracker: i32,
    group: i32,
    row: i32,
    scenario: i32,
    scenario_row: i32,
    transaction: i32,
    batch: i32,
    journal_batch: i32,
}

/// A bank statement: a header, a date and a signed amount.
const STATEMENT: &str = "date,amount\n2026-01-05,-12.50\n2026-01-06,100.00\n";

async fn anns_rows(
    db: &DatabaseConnection,
    ann: UserId,
) -> Result<Anns, Box<dyn std::error::Error>> {
    let new = |name: &str, account_type| accounts::NewAccount {
        name: name.to_owned(),
        account_type,
        ..Default::default()
    };
    let bank = accounts::create(db, ann, new("Bank", AccountType::Asset))
        .await?
        .id;
    let income = accounts::create(db, ann, new("Salary", AccountType::Income))
        .await?
        .id;
    let (category, _) = categories::create(
        db,
        ann,
        categories::NewCategory {
            name: "Savings".to_owned(),
            base_type: AccountType::Asset,
            is_default: false,
        },
    )
    .await?;
    let entry = journal::record_transaction(db, ann, "12.34".parse()?, bank, income, None, None)
        .await?
        .entry
        .id;
    let tracker = receivables::create_tracker(
        db,
        ann,
        receivables::NewTracker {
            counterparty: "Carl".to_owned(),
            principal: "100.00".parse()?,
            start_date: day(2026, 1, 1)?,
            due_date: Some(day(2026, 2, 1)?),
            interest_rate: Some("5.00".parse()?),
        },
    )
    .await?
    .id;
    receivables::record_entry(
        db,
        ann,
        tracker,
        receivables::NewEntry {
            entry_date: day(2026, 1, 10)?,
            amount: "-10.00".parse()?,
            memo: None,
        },
    )
    .await?;
    let group = receivables::create_group(
        db,
        ann,
        receivables::NewGroup {
            name: "Family".to_owned(),
            description: None,
        },
    )
    .await?
    .id;
    receivables::link(db, ann, group, tracker).await?;
    settings::set(db, ann, "2026-01", false).await?;
    let row = schedule::create_row(
        db,
        ann,
        schedule::NewRow {
            account_id: bank,
            event_date: day(2026, 1, 31)?,
            amount: "-50.00".parse()?,
            memo: None,
            rrule: Some("FREQ=MONTHLY".to_owned()),
        },
    )
    .await?
    .id;
    schedule::recompute(db, ann, 30).await?;
    let scenario = scenarios::create_scenario(
        db,
        ann,
        scenarios::NewScenario {
            name: "Raise".to_owned(),
            description: None,
        },
    )
    .await?
    .id;
    let scenario_row = scenarios::add_delta(
        db,
        ann,
        scenario,
        scenarios::NewDelta {
            base_row_id: row,
            delta_amount: "10.00".parse()?,
            memo: None,
        },
    )
    .await?
    .id;
    let transaction = transactions::record(
        db,
        ann,
        transactions::NewTransaction {
            amount: "-3.00".parse()?,
            ..Default::default()
        },
    )
    .await?
    .id;
    let batch = imports::import_bank(
        db,
        ann,
        Some("jan.csv"),
        STATEMENT.as_bytes(),
        &imports::BankMapping::default(),
    )
    .await?
    .batch
    .ok_or("no batch")?
    .id;
    let journal_file = format!(
        "description,amount,debit_account_id,credit_account_id,date\nPay,5.00,{bank},{income},2026-01-08\n"
    );
    let journal_batch = imports::import_journal(
        db,
        ann,
        None,
        journal_file.as_bytes(),
        &imports::JournalMapping::default(),
    )
    .await?
    .batch
    .ok_or("no batch")?
    .id;
    Ok(Anns {
        bank,
        income,
        category: category.id,
        entry,
        tracker,
        group,
        row,
        scenario,
        scenario_row,
        transaction,
        batch,
        journal_batch,
    })
}

#[tokio::test]
async fn another_users_ids_are_missing_ones_everywhere_and_change_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = lifeos_testkit::user(&db, "ann@example.com").await?;
    let bob = lifeos_testkit::user(&db, "bob@example.com").await?;
    let a = anns_rows(&db, ann).await?;
    // Bob's own rows, to pair with Ann's ids.
    let bob_bank = accounts::create(
        &*db,
        bob,
        accounts::NewAccount {
            name: "Bob's bank".to_owned(),
            account_type: AccountType::Asset,
            ..Default::default()
        },
    )
    .await?
    .id;
    let bob_group = receivables::create_group(
        &*db,
        bob,
        receivables::NewGroup {
            name: "Bob's".to_owned(),
            description: None,
        },
    )
    .await?
    .id;
    let before = snapshot(&db).await?;
    let today = day(2026, 3, 1)?;

    // Accounts and categories.
    not_found("accounts::get", accounts::get(&*db, bob, a.bank).await)?;
    not_found(
        "accounts::rename",
        accounts::rename(&*db, bob, a.bank, "Mine").await,
    )?;
    not_found(
        "accounts::recategorize",
        accounts::recategorize(&*db, bob, a.bank, None).await,
    )?;
    not_found(
        "accounts::recategorize (Ann's category)",
        accounts::recategorize(&*db, bob, bob_bank, Some(a.category)).await,
    )?;
    not_found(
        "accounts::set_active",
        accounts::set_active(&*db, bob, a.bank, false).await,
    )?;
    not_found(
        "accounts::set_currency",
        accounts::set_currency(&*db, bob, a.bank, "EUR").await,
    )?;
    let with_anns_category = accounts::NewAccount {
        name: "Sneaky".to_owned(),
        account_type: AccountType::Asset,
        category_id: Some(a.category),
        ..Default::default()
    };
    not_found(
        "accounts::create",
        accounts::create(&*db, bob, with_anns_category.clone()).await,
    )?;
    not_found(
        "accounts::create_inline",
        accounts::create_inline(&*db, bob, with_anns_category).await,
    )?;
    let bobs_accounts = accounts::list(&*db, bob, true).await?;
    assert_eq!(
        bobs_accounts.iter().map(|a| a.id).collect::<Vec<_>>(),
        [bob_bank]
    );
    assert!(accounts::search(&*db, bob, "salary", 10).await?.is_empty());
    not_found(
        "categories::get",
        categories::get(&*db, bob, a.category).await,
    )?;
    not_found(
        "categories::set_default",
        categories::set_default(&*db, bob, a.category).await,
    )?;
    // Bob's default is his own (he has one already: nothing is written).
    let bobs_default = categories::default_for(&*db, bob, AccountType::Asset).await?;
    assert_eq!(bobs_default.user_id, Some(bob));
    assert!(
        categories::list(&*db, bob, None, false)
            .await?
            .iter()
            .all(|category| category.user_id == Some(bob))
    );

    // The journal, balances and ledgers.
    not_found("journal::get", journal::get(&*db, bob, a.entry).await)?;
    not_found(
        "journal::reverse",
        journal::reverse(&*db, bob, a.entry, None).await,
    )?;
    not_found(
        "journal::record_transaction",
        journal::record_transaction(&*db, bob, Decimal::ONE, bob_bank, a.income, None, None).await,
    )?;
    not_found(
        "journal::post",
        journal::post(
            &*db,
            bob,
            journal::NewEntry {
                lines: vec![
                    journal::NewLine::debit(a.bank, Decimal::ONE),
                    journal::NewLine::credit(bob_bank, Decimal::ONE),
                ],
                ..Default::default()
            },
        )
        .await,
    )?;
    not_found(
        "balances::account_balance",
        balances::account_balance(&*db, bob, a.bank, today).await,
    )?;
    let trial = balances::trial_balance(&*db, bob, today).await?;
    assert!(trial.rows.iter().all(|row| row.account.user_id == bob));
    assert!(
        trial
            .rollups
            .iter()
            .all(|rollup| rollup.category_id != Some(a.category))
    );
    let period = balances::period_balance(&*db, bob, day(2020, 1, 1)?, today).await?;
    assert!(period.rows.iter().all(|row| row.account.user_id == bob));
    assert!(
        balances::monthly(&*db, bob, day(2026, 1, 1)?, 12)
            .await?
            .is_empty()
    );
    not_found(
        "ledger::ledger",
        ledger::ledger(&*db, bob, a.bank, None, 10).await,
    )?;
    assert!(
        ledger::entries(&*db, bob, day(2020, 1, 1)?, day(2030, 1, 1)?, None, 10)
            .await?
            .is_empty()
    );

    // Receivables and loan groups.
    not_found(
        "receivables::get_tracker",
        receivables::get_tracker(&*db, bob, a.tracker).await,
    )?;
    not_found(
        "receivables::update_tracker",
        receivables::update_tracker(
            &*db,
            bob,
            a.tracker,
            receivables::TrackerPatch {
                counterparty: Some("Mine".to_owned()),
                ..Default::default()
            },
        )
        .await,
    )?;
    not_found(
        "receivables::record_entry",
        receivables::record_entry(
            &*db,
            bob,
            a.tracker,
            receivables::NewEntry {
                entry_date: day(2026, 1, 20)?,
                amount: Decimal::ONE,
                memo: None,
            },
        )
        .await,
    )?;
    not_found(
        "receivables::entries",
        receivables::entries(&*db, bob, a.tracker).await,
    )?;
    not_found(
        "receivables::outstanding",
        receivables::outstanding(&*db, bob, a.tracker, today).await,
    )?;
    not_found(
        "receivables::accrued_interest",
        receivables::accrued_interest(&*db, bob, a.tracker, today).await,
    )?;
    not_found(
        "receivables::get_group",
        receivables::get_group(&*db, bob, a.group).await,
    )?;
    not_found(
        "receivables::link (Ann's tracker)",
        receivables::link(&*db, bob, bob_group, a.tracker).await,
    )?;
    not_found(
        "receivables::link (Ann's group)",
        receivables::link(&*db, bob, a.group, a.tracker).await,
    )?;
    not_found(
        "receivables::unlink",
        receivables::unlink(&*db, bob, a.group, a.tracker).await,
    )?;
    not_found(
        "receivables::group_summary",
        receivables::group_summary(&*db, bob, a.group, today).await,
    )?;
    not_found(
        "receivables::delete_tracker",
        receivables::delete_tracker(&*db, bob, a.tracker).await,
    )?;
    not_found(
        "receivables::delete_group",
        receivables::delete_group(&*db, bob, a.group).await,
    )?;
    assert!(
        receivables::list_trackers(&*db, bob, None, 100)
            .await?
            .is_empty()
    );
    assert_eq!(receivables::list_groups(&*db, bob).await?.len(), 1);
    assert!(receivables::overdue(&*db, bob).await?.is_empty());

    // The money schedule and scenarios.
    not_found(
        "schedule::get_row",
        schedule::get_row(&*db, bob, a.row).await,
    )?;
    not_found(
        "schedule::update_row",
        schedule::update_row(
            &*db,
            bob,
            a.row,
            schedule::RowPatch {
                amount: Some(Decimal::ONE),
                ..Default::default()
            },
        )
        .await,
    )?;
    not_found(
        "schedule::delete_row",
        schedule::delete_row(&*db, bob, a.row).await,
    )?;
    not_found(
        "schedule::create_row (Ann's account)",
        schedule::create_row(
            &*db,
            bob,
            schedule::NewRow {
                account_id: a.bank,
                event_date: today,
                amount: Decimal::ONE,
                memo: None,
                rrule: None,
            },
        )
        .await,
    )?;
    assert!(
        schedule::list_rows(&*db, bob, day(2020, 1, 1)?, day(2030, 1, 1)?)
            .await?
            .is_empty()
    );
    assert!(
        schedule::occurrences(&*db, bob, today, today + chrono::Days::new(300))
            .await?
            .is_empty()
    );
    assert!(schedule::project(&*db, bob, 30).await?.days.is_empty());
    assert!(
        schedule::daily_balances(&*db, bob, "USD", day(2020, 1, 1)?, day(2030, 1, 1)?)
            .await?
            .is_empty()
    );
    not_found(
        "scenarios::get_scenario",
        scenarios::get_scenario(&*db, bob, a.scenario).await,
    )?;
    not_found(
        "scenarios::delete_scenario",
        scenarios::delete_scenario(&*db, bob, a.scenario).await,
    )?;
    not_found(
        "scenarios::scenario_rows",
        scenarios::scenario_rows(&*db, bob, a.scenario).await,
    )?;
    not_found(
        "scenarios::remove_row",
        scenarios::remove_row(&*db, bob, a.scenario, a.scenario_row).await,
    )?;
    not_found(
        "scenarios::project_scenario",
        scenarios::project_scenario(&*db, bob, a.scenario, 30).await,
    )?;
    not_found(
        "scenarios::compare",
        scenarios::compare(&*db, bob, a.scenario, 30).await,
    )?;
    not_found(
        "scenarios::add_delta",
        scenarios::add_delta(
            &*db,
            bob,
            a.scenario,
            scenarios::NewDelta {
                base_row_id: a.row,
                delta_amount: Decimal::ONE,
                memo: None,
            },
        )
        .await,
    )?;
    not_found(
        "scenarios::add_extra",
        scenarios::add_extra(
            &*db,
            bob,
            a.scenario,
            scenarios::NewExtra {
                account_id: a.bank,
                event_date: today,
                amount: Decimal::ONE,
                memo: None,
            },
        )
        .await,
    )?;
    assert!(scenarios::list_scenarios(&*db, bob).await?.is_empty());
    // Bob's own scenario cannot take Ann's base row or account either.
    let bobs_scenario = scenarios::create_scenario(
        &*db,
        bob,
        scenarios::NewScenario {
            name: "Bob's".to_owned(),
            description: None,
        },
    )
    .await?
    .id;
    not_found(
        "scenarios::add_delta (Ann's row)",
        scenarios::add_delta(
            &*db,
            bob,
            bobs_scenario,
            scenarios::NewDelta {
                base_row_id: a.row,
                delta_amount: Decimal::ONE,
                memo: None,
            },
        )
        .await,
    )?;
    not_found(
        "scenarios::add_extra (Ann's account)",
        scenarios::add_extra(
            &*db,
            bob,
            bobs_scenario,
            scenarios::NewExtra {
                account_id: a.bank,
                event_date: today,
                amount: Decimal::ONE,
                memo: None,
            },
        )
        .await,
    )?;
    scenarios::delete_scenario(&*db, bob, bobs_scenario).await?;

    // Transactions and imports.
    not_found(
        "transactions::get",
        transactions::get(&*db, bob, a.transaction).await,
    )?;
    not_found(
        "transactions::book",
        transactions::book(&*db, bob, a.transaction, bob_bank, bob_bank).await,
    )?;
    not_found(
        "transactions::delete",
        transactions::delete(&*db, bob, a.transaction).await,
    )?;
    assert!(
        transactions::list(&*db, bob, None, None, None, 100)
            .await?
            .is_empty()
    );
    not_found(
        "imports::get_batch",
        imports::get_batch(&*db, bob, a.batch).await,
    )?;
    assert!(
        imports::list_batches(&*db, bob, None, 100)
            .await?
            .is_empty()
    );
    not_found("imports::undo", imports::undo(&*db, bob, a.batch).await)?;
    not_found(
        "imports::undo (journal)",
        imports::undo(&*db, bob, a.journal_batch).await,
    )?;
    // A journal file naming Ann's accounts is refused whole, by line.
    let anns_accounts = format!(
        "description,amount,debit_account_id,credit_account_id,date\nX,1.00,{},{},2026-01-08\n",
        a.bank, a.income
    );
    for result in [
        imports::preview_journal(
            &*db,
            bob,
            anns_accounts.as_bytes(),
            &imports::JournalMapping::default(),
        )
        .await
        .map(|_| ()),
        imports::import_journal(
            &*db,
            bob,
            None,
            anns_accounts.as_bytes(),
            &imports::JournalMapping::default(),
        )
        .await
        .map(|_| ()),
    ] {
        match result {
            Err(Error::Import { errors }) => {
                assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [2]);
            }
            other => return Err(format!("a journal row on Ann's accounts: {other:?}").into()),
        }
    }

    // Settings: Bob's month is his own.
    assert!(!settings::get(&*db, bob, "2026-01").await?.stored);
    assert!(!settings::clear(&*db, bob, "2026-01").await?);
    assert!(settings::list(&*db, bob).await?.is_empty());

    assert_eq!(
        snapshot(&db).await?,
        before,
        "a call on Ann's ids changed something"
    );

    // Bob's own transaction cannot be booked to Ann's accounts.
    let bobs_transaction = transactions::record(
        &*db,
        bob,
        transactions::NewTransaction {
            amount: Decimal::ONE,
            ..Default::default()
        },
    )
    .await?
    .id;
    not_found(
        "transactions::book (Ann's accounts)",
        transactions::book(&*db, bob, bobs_transaction, a.bank, a.income).await,
    )?;
    assert_eq!(
        transactions::get(&*db, bob, bobs_transaction)
            .await?
            .journal_entry_id,
        None
    );

    // Duplicates are per user: Bob's import of the same statement is his own, in full.
    let preview = imports::preview_bank(
        &*db,
        bob,
        STATEMENT.as_bytes(),
        &imports::BankMapping::default(),
    )
    .await?;
    assert_eq!((preview.create.len(), preview.skip.len()), (2, 0));
    let bobs = imports::import_bank(
        &*db,
        bob,
        None,
        STATEMENT.as_bytes(),
        &imports::BankMapping::default(),
    )
    .await?;
    assert_eq!((bobs.created, bobs.skipped), (2, 0));
    Ok(())
}
