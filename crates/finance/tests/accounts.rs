//! The chart of accounts, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: create
//! and its validation, idempotent inline create (also racing), rename, re-categorise,
//! (de)activate, currency, typeahead with its indexes, and another user's ids.

use lifeos_entity::UserId;
use lifeos_finance::Error;
use lifeos_finance::entity::finance_account::{self, AccountSubtype, AccountType};
use lifeos_finance::service::accounts::{self, NewAccount};
use lifeos_testkit::TestDb;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Statement};

mod common;
use common::{is_invalid, is_not_found, kind, outbox, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn named(name: &str, account_type: &str) -> NewAccount {
    NewAccount {
        name: name.to_owned(),
        account_type: kind(account_type),
        ..Default::default()
    }
}

async fn accounts_of(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    finance_account::Entity::find().count(db).await
}

#[tokio::test]
async fn accounts_are_created_validated_and_announced() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let account = accounts::create(
        &*db,
        ann,
        NewAccount {
            name: "  Main   Checking ".to_owned(),
            account_type: " Asset".parse()?,
            subtype: Some("BANK".parse()?),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(account.name, "Main   Checking");
    assert_eq!(account.normalized_name, "main checking");
    assert_eq!(account.account_type, AccountType::Asset);
    assert_eq!(account.account_subtype, Some(AccountSubtype::Bank));
    assert_eq!(account.currency, "USD", "the preference's default");
    assert_eq!(outbox(&db, "finance.account.created").await?, 1);

    lifeos_core::identity::preferences::set(&*db, ann, "currency", "EUR".into()).await?;
    let euro = accounts::create(&*db, ann, named("Savings", "asset")).await?;
    assert_eq!(euro.currency, "EUR");
    // A stored preference that is not a code (from history) falls back to USD.
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!("UPDATE user_preference SET value = '\"euros\"' WHERE user_id = {ann} AND key = 'currency'"),
    ))
    .await?;
    let fallback = accounts::create(&*db, ann, named("Piggy bank", "asset")).await?;
    assert_eq!(fallback.currency, "USD");

    let before = accounts_of(&db).await?;
    for (new, field) in [
        (named("", "asset"), "name"),
        (named(&"x".repeat(256), "asset"), "name"),
        (
            NewAccount {
                subtype: Some(AccountSubtype::Salary),
                ..named("Cash", "asset")
            },
            "subtype",
        ),
        (
            NewAccount {
                currency: Some("EURO".to_owned()),
                ..named("Cash", "asset")
            },
            "currency",
        ),
        (
            NewAccount {
                code: Some("c".repeat(33)),
                ..named("Cash", "asset")
            },
            "code",
        ),
        (
            NewAccount {
                description: Some("d".repeat(4001)),
                ..named("Cash", "asset")
            },
            "description",
        ),
        (named("Nul\0name", "asset"), "name"),
        // 255 characters, but 510 once lower-cased.
        (named(&"İ".repeat(255), "asset"), "name"),
    ] {
        let error = accounts::create(&*db, ann, new)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, field), "{field}: {error:?}");
    }
    let duplicate = accounts::create(&*db, ann, named("MAIN checking", "asset")).await;
    assert!(
        matches!(duplicate, Err(Error::Core(lifeos_core::Error::Conflict(_)))),
        "{duplicate:?}"
    );
    assert_eq!(accounts_of(&db).await?, before, "a refused create wrote");
    assert_eq!(outbox(&db, "finance.account.created").await?, 3);
    assert_eq!(
        accounts::subtypes(AccountType::Liability),
        &[
            AccountSubtype::Loan,
            AccountSubtype::CreditCard,
            AccountSubtype::Payable,
            AccountSubtype::Other
        ][..]
    );
    for (bad, field) in [("money", "account_type"), ("", "account_type")] {
        let error = bad.parse::<AccountType>().err().ok_or("parsed")?;
        assert!(is_invalid(&error, field), "{bad}: {error:?}");
    }
    let error = "wages".parse::<AccountSubtype>().err().ok_or("parsed")?;
    assert!(is_invalid(&error, "subtype"), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn inline_create_returns_the_active_account_of_that_name_even_racing() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let (first, created) =
        accounts::create_inline(&*db, ann, named("Groceries", "expense")).await?;
    assert!(created);
    let (again, created) =
        accounts::create_inline(&*db, ann, named("  groceries ", "expense")).await?;
    assert!(!created);
    assert_eq!(again.id, first.id);

    // Ten calls at once for a new name: one account.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let conn: DatabaseConnection = (*db).clone();
        calls.spawn(
            async move { accounts::create_inline(&conn, ann, named("Rent", "expense")).await },
        );
    }
    let (mut ids, mut created) = (Vec::new(), 0);
    while let Some(result) = calls.join_next().await {
        let (account, new) = result??;
        ids.push(account.id);
        created += usize::from(new);
    }
    assert_eq!(created, 1, "one call creates, the others find it");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");

    // A deactivated account's name is free again; reactivating the old one then conflicts.
    accounts::set_active(&*db, ann, first.id, false).await?;
    let (fresh, created) =
        accounts::create_inline(&*db, ann, named("Groceries", "expense")).await?;
    assert!(created && fresh.id != first.id);
    let back = accounts::set_active(&*db, ann, first.id, true).await;
    assert!(
        matches!(back, Err(Error::Core(lifeos_core::Error::Conflict(_)))),
        "{back:?}"
    );
    Ok(())
}

#[tokio::test]
async fn accounts_are_renamed_recategorised_and_their_currency_set() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let account = accounts::create(&*db, ann, named("Bank", "asset")).await?;
    let renamed = accounts::rename(&*db, ann, account.id, " Bank  of Mum ").await?;
    assert_eq!(renamed.normalized_name, "bank of mum");
    let other = accounts::create(&*db, ann, named("Wallet", "asset")).await?;
    let clash = accounts::rename(&*db, ann, other.id, "BANK OF MUM").await;
    assert!(
        matches!(clash, Err(Error::Core(lifeos_core::Error::Conflict(_)))),
        "{clash:?}"
    );

    // Categories: a system one of the right type, the user's own, not another user's.
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_string(
        backend,
        "INSERT INTO finance_account_category (code, name, slug, base_type, normal_balance, \
         is_system) VALUES ('SYSASSET', 'Assets', 'assets', 'asset', 'debit', true), \
         ('SYSINC', 'Income', 'income', 'income', 'credit', true)",
    ))
    .await?;
    let bob = user(&db, "bob@example.com").await?;
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO finance_account_category (user_id, code, name, slug, base_type, \
             normal_balance, is_system) VALUES ({bob}, 'BOBASSET', 'Bob''s', 'bobs', 'asset', \
             'debit', false)"
        ),
    ))
    .await?;
    let ids: Vec<i32> = finance_category_ids(&db).await?;
    let (system_asset, system_income, bobs) = (ids[0], ids[1], ids[2]);
    let with_theirs = accounts::create(
        &*db,
        ann,
        NewAccount {
            category_id: Some(bobs),
            ..named("House", "asset")
        },
    )
    .await;
    assert!(
        with_theirs.as_ref().is_err_and(is_not_found),
        "{with_theirs:?}"
    );
    let wrong = accounts::create(
        &*db,
        ann,
        NewAccount {
            category_id: Some(system_income),
            ..named("House", "asset")
        },
    )
    .await;
    assert!(
        matches!(wrong, Err(Error::CategoryType { .. })),
        "{wrong:?}"
    );
    let moved = accounts::recategorize(&*db, ann, account.id, Some(system_asset)).await?;
    assert_eq!(moved.category_id, Some(system_asset));
    assert_eq!(outbox(&db, "finance.account.category_updated").await?, 1);
    let wrong_type = accounts::recategorize(&*db, ann, account.id, Some(system_income)).await;
    assert!(
        matches!(wrong_type, Err(Error::CategoryType { .. })),
        "{wrong_type:?}"
    );
    let theirs = accounts::recategorize(&*db, ann, account.id, Some(bobs)).await;
    assert!(theirs.as_ref().is_err_and(is_not_found), "{theirs:?}");
    assert_eq!(
        accounts::get(&*db, ann, account.id).await?.category_id,
        Some(system_asset)
    );

    // Currency: free until the account has lines.
    let euro = accounts::set_currency(&*db, ann, account.id, "eur").await?;
    assert_eq!(euro.currency, "EUR");
    // An entry with two lines, in one transaction (PostgreSQL checks entries at commit).
    let txn = sea_orm::TransactionTrait::begin(&*db).await?;
    for sql in [
        format!("INSERT INTO finance_journal_entry (user_id, description) VALUES ({ann}, 'e')"),
        format!(
            "INSERT INTO finance_journal_line (entry_id, account_id, debit, credit) \
             SELECT max(id), {0}, 5, 0 FROM finance_journal_entry \
             UNION ALL SELECT max(id), {0}, 0, 5 FROM finance_journal_entry",
            account.id
        ),
    ] {
        txn.execute_raw(Statement::from_string(backend, sql))
            .await?;
    }
    txn.commit().await?;
    let frozen = accounts::set_currency(&*db, ann, account.id, "GBP").await;
    assert!(
        matches!(frozen, Err(Error::CurrencyFrozen { .. })),
        "{frozen:?}"
    );

    // Every refused change writes nothing: the accounts and the outbox stay as they are.
    let all_events = || async {
        let backend = db.get_database_backend();
        db.query_one_raw(Statement::from_string(
            backend,
            "SELECT count(*) FROM platform_outbox",
        ))
        .await?
        .ok_or_else(|| sea_orm::DbErr::Custom("no count".into()))?
        .try_get_by_index::<i64>(0)
    };
    let (accounts_before, events_before) =
        (accounts::list(&*db, ann, true).await?, all_events().await?);
    let other_id = other.id;
    for (what, error, field) in [
        (
            "empty name",
            accounts::rename(&*db, ann, other_id, "  ").await.err(),
            Some("name"),
        ),
        (
            "long name",
            accounts::rename(&*db, ann, other_id, &"n".repeat(256))
                .await
                .err(),
            Some("name"),
        ),
        (
            "clash",
            accounts::rename(&*db, ann, other_id, "bank of mum")
                .await
                .err(),
            None,
        ),
        (
            "not a code",
            accounts::set_currency(&*db, ann, other_id, "EURO")
                .await
                .err(),
            Some("currency"),
        ),
        (
            "no such currency",
            accounts::set_currency(&*db, ann, other_id, "XYZ")
                .await
                .err(),
            Some("currency"),
        ),
        (
            "frozen",
            accounts::set_currency(&*db, ann, account.id, "JPY")
                .await
                .err(),
            None,
        ),
    ] {
        let error = error.ok_or(what)?;
        if let Some(field) = field {
            assert!(is_invalid(&error, field), "{what}: {error:?}");
        }
    }
    assert_eq!(accounts::list(&*db, ann, true).await?, accounts_before);
    assert_eq!(all_events().await?, events_before);
    Ok(())
}

async fn finance_category_ids(
    db: &DatabaseConnection,
) -> Result<Vec<i32>, Box<dyn std::error::Error>> {
    let backend = db.get_database_backend();
    db.query_all_raw(Statement::from_string(
        backend,
        "SELECT id FROM finance_account_category WHERE code IN ('SYSASSET', 'SYSINC', 'BOBASSET') \
         ORDER BY CASE code WHEN 'SYSASSET' THEN 0 WHEN 'SYSINC' THEN 1 ELSE 2 END",
    ))
    .await?
    .iter()
    .map(|row| row.try_get_by_index::<i32>(0).map_err(Into::into))
    .collect()
}

#[tokio::test]
async fn typeahead_puts_prefixes_first_and_matches_wildcards_literally() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    for name in [
        "Car loan",
        "Cardiff flat",
        "Credit card",
        "100% fun",
        "100x fun",
        "Card_a",
    ] {
        accounts::create(&*db, ann, named(name, "asset")).await?;
    }
    accounts::create(&*db, bob, named("Car wash", "expense")).await?;
    let old = accounts::create(&*db, ann, named("Carpool", "expense")).await?;
    accounts::set_active(&*db, ann, old.id, false).await?;

    let names = |found: Vec<finance_account::Model>| -> Vec<String> {
        found.into_iter().map(|account| account.name).collect()
    };
    // Prefix matches newest first, then substring matches newest first.
    assert_eq!(
        names(accounts::search(&*db, ann, "CAR", 10).await?),
        ["Card_a", "Cardiff flat", "Car loan", "Credit card"]
    );
    assert_eq!(
        names(accounts::search(&*db, ann, "car", 2).await?),
        ["Card_a", "Cardiff flat"]
    );
    assert_eq!(
        names(accounts::search(&*db, ann, "100%", 10).await?),
        ["100% fun"]
    );
    assert_eq!(
        names(accounts::search(&*db, ann, "d_", 10).await?),
        ["Card_a"]
    );
    assert_eq!(
        names(accounts::search(&*db, ann, "%", 10).await?),
        ["100% fun"]
    );
    assert!(
        accounts::search(&*db, ann, "wash", 10).await?.is_empty(),
        "bob's account"
    );

    for (query, limit, field) in [
        ("  ", 10, "query"),
        (&*"x".repeat(101), 10, "query"),
        ("car", 0, "limit"),
        ("car", 101, "limit"),
    ] {
        let error = accounts::search(&*db, ann, query, limit)
            .await
            .err()
            .ok_or("accepted")?;
        assert!(is_invalid(&error, field), "{error:?}");
    }
    Ok(())
}

#[tokio::test]
async fn typeahead_and_name_lookups_are_served_by_their_indexes() -> TestResult {
    use lifeos_testkit::explain::assert_index_serves;
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    // Three users with 400 accounts each, and statistics: plans as on a real database.
    let mut users = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        users.push(user(&db, email).await?.0);
    }
    let series = if postgres {
        "SELECT g FROM generate_series(1, 400) AS g".to_owned()
    } else {
        "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 400) \
         SELECT g FROM s"
            .to_owned()
    };
    for id in &users {
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO finance_account (user_id, name, normalized_name, account_type) \
                 SELECT {id}, 'account ' || CAST(g AS TEXT), 'account ' || CAST(g AS TEXT), \
                 'asset' FROM ({series}) AS series"
            ),
        ))
        .await?;
    }
    db.execute_unprepared("ANALYZE").await?;
    let user = users[0];
    // The statements `search` runs.
    let (prefix, substring) = accounts::search_sql(backend, UserId(user), "Account 12")?;
    let prefix_index = if postgres {
        "ix_finance_account_user_name_pattern"
    } else {
        "ux_finance_account_user_active_name"
    };
    assert_index_serves(&db, &prefix, prefix_index, "normalized_name").await?;
    if postgres {
        assert_index_serves(
            &db,
            &substring,
            "ix_finance_account_user_name_trgm",
            "normalized_name",
        )
        .await?;
    } else {
        // SQLite: the substring part scans the user's own accounts (bounded by their count).
        assert_index_serves(&db, &substring, "ix_finance_account_user_id", "user_id").await?;
        // … and the helper tells that scan from one served by the name.
        let by_name = assert_index_serves(
            &db,
            &substring,
            "ix_finance_account_user_id",
            "normalized_name",
        );
        assert!(
            by_name.await.is_err(),
            "a user_id prefix passed for the name"
        );
    }
    // The inline create's lookup by name: the unique index, or on PostgreSQL the trigram
    // one, which also answers equality and which the planner may cost the same.
    // (as `create_inline` spells it: the bare `is_active` of the partial index)
    let lookup = format!(
        "SELECT id FROM finance_account WHERE user_id = {user} \
         AND normalized_name = 'account 7' AND \"finance_account\".\"is_active\""
    );
    let unique = assert_index_serves(
        &db,
        &lookup,
        "ux_finance_account_user_active_name",
        "normalized_name",
    )
    .await;
    if postgres && unique.is_err() {
        assert_index_serves(
            &db,
            &lookup,
            "ix_finance_account_user_name_trgm",
            "normalized_name",
        )
        .await?;
    } else {
        unique?;
    }
    Ok(())
}

#[tokio::test]
async fn another_users_account_behaves_as_a_missing_one() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let account = accounts::create(&*db, ann, named("Bank", "asset")).await?;
    let before = accounts::get(&*db, ann, account.id).await?;
    let id = account.id;
    let results = [
        accounts::get(&*db, bob, id).await.err(),
        accounts::rename(&*db, bob, id, "Mine").await.err(),
        accounts::recategorize(&*db, bob, id, None).await.err(),
        accounts::set_active(&*db, bob, id, false).await.err(),
        accounts::set_currency(&*db, bob, id, "EUR").await.err(),
    ];
    for error in results {
        let error = error.ok_or("another user's account was reachable")?;
        assert!(is_not_found(&error), "{error:?}");
    }
    assert!(accounts::list(&*db, bob, true).await?.is_empty());
    assert_eq!(
        accounts::get(&*db, ann, id).await?,
        before,
        "bob changed ann's account"
    );
    Ok(())
}

#[tokio::test]
async fn the_database_allows_exactly_the_subtypes_the_service_allows() -> TestResult {
    use sea_orm::Iterable;
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let backend = db.get_database_backend();
    let mut n = 0;
    for account_type in AccountType::iter() {
        for subtype in AccountSubtype::iter() {
            n += 1;
            let sql = format!(
                "INSERT INTO finance_account (user_id, name, normalized_name, account_type, \
                 account_subtype) VALUES ({ann}, 'a{n}', 'a{n}', '{}', '{}')",
                sea_orm::ActiveEnum::to_value(&account_type),
                sea_orm::ActiveEnum::to_value(&subtype),
            );
            let stored = db.execute_raw(Statement::from_string(backend, sql)).await;
            assert_eq!(
                stored.is_ok(),
                accounts::subtypes(account_type).contains(&subtype),
                "{account_type:?} / {subtype:?}: {stored:?}"
            );
        }
    }
    Ok(())
}
