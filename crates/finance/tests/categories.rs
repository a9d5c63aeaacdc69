//! Account categories, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: slugs,
//! idempotent create per user, type and slug (also racing), name validation (nothing
//! written), one default per user and type, list and get with system categories, codes, and
//! the category an account is created into — given, named inline, or the default of its type
//! (the user's, the system's, or a new one, made once even by racing creates).

use lifeos_entity::UserId;
use lifeos_finance::Error;
use lifeos_finance::entity::finance_account::AccountType;
use lifeos_finance::entity::finance_account_category::{self, NormalBalance};
use lifeos_finance::service::accounts::{self, NewAccount};
use lifeos_finance::service::categories::{self, NewCategory};
use lifeos_testkit::TestDb;
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection, Statement};

mod common;
use common::{count, is_invalid, is_not_found, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

type Category = finance_account_category::Model;

fn new(name: &str, base_type: AccountType) -> NewCategory {
    NewCategory {
        name: name.to_owned(),
        base_type,
        is_default: false,
    }
}

fn new_default(name: &str, base_type: AccountType) -> NewCategory {
    NewCategory {
        is_default: true,
        ..new(name, base_type)
    }
}

fn account(name: &str, account_type: AccountType) -> NewAccount {
    NewAccount {
        name: name.to_owned(),
        account_type,
        ..Default::default()
    }
}

fn names(listed: &[Category]) -> Vec<&str> {
    listed
        .iter()
        .map(|category| category.name.as_str())
        .collect()
}

/// Categories, accounts and outbox rows: what a refused call must leave unchanged.
async fn written(db: &DatabaseConnection) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    rows_in(
        db,
        &[
            "finance_account_category",
            "finance_account",
            "platform_outbox",
        ],
    )
    .await
}

/// The user's categories.
async fn categories_of(
    db: &DatabaseConnection,
    user: UserId,
) -> Result<i64, Box<dyn std::error::Error>> {
    count(
        db,
        &format!("SELECT count(*) FROM finance_account_category WHERE user_id = {user}"),
    )
    .await
}

/// The user's default categories of `base_type`.
async fn defaults(
    db: &DatabaseConnection,
    user: UserId,
    base_type: AccountType,
) -> Result<i64, Box<dyn std::error::Error>> {
    count(
        db,
        &format!(
            "SELECT count(*) FROM finance_account_category WHERE user_id = {user} \
             AND base_type = '{}' AND is_default",
            base_type.to_value()
        ),
    )
    .await
}

/// Inserts a system category (no owner) and returns its id.
async fn system(
    db: &DatabaseConnection,
    code: &str,
    name: &str,
    base_type: AccountType,
    is_default: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO finance_account_category (code, name, slug, base_type, \
             normal_balance, is_system, is_default) VALUES ('{code}', '{name}', '{slug}', \
             '{base_type}', '{balance}', true, {is_default})",
            slug = categories::slug(name),
            base_type = base_type.to_value(),
            balance = base_type.normal_balance().to_value(),
        ),
    ))
    .await?;
    Ok(db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT id FROM finance_account_category WHERE code = '{code}'"),
        ))
        .await?
        .ok_or("no system category")?
        .try_get_by_index(0)?)
}

/// The code prefix of a type: its first three letters, upper-cased.
fn prefix(base_type: AccountType) -> &'static str {
    match base_type {
        AccountType::Asset => "ASS",
        AccountType::Liability => "LIA",
        AccountType::Equity => "EQU",
        AccountType::Income => "INC",
        AccountType::Expense => "EXP",
    }
}

/// The seven digits of a code of the form `AAA0000000`.
fn code_digits(code: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let (Some(letters), Some(digits)) = (code.get(..3), code.get(3..)) else {
        return Err(format!("{code:?} is too short").into());
    };
    if code.len() != 10
        || !letters.bytes().all(|byte| byte.is_ascii_uppercase())
        || !digits.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(format!("{code:?} is not three upper-case letters and seven digits").into());
    }
    Ok(digits.parse()?)
}

#[test]
fn slugs_keep_ascii_letters_and_digits_and_join_the_rest_with_one_dash() {
    for (name, slug) in [
        ("  Rent & Utilities!! ", "rent-utilities"),
        ("Rent & Utilities", "rent-utilities"),
        ("rent utilities", "rent-utilities"),
        ("Credit Cards & Loans", "credit-cards-loans"),
        ("2024 Taxes", "2024-taxes"),
        ("--a--b--", "a-b"),
        // Other letters are separators too: `Ü` leads (dropped), `ï` joins.
        ("Ünïcode", "n-code"),
        ("Café au lait", "caf-au-lait"),
        ("ÄÖÜ", "uncategorized"),
        ("!!! ??", "uncategorized"),
        ("", "uncategorized"),
    ] {
        assert_eq!(categories::slug(name), slug, "{name:?}");
    }
}

#[tokio::test]
async fn create_returns_the_category_of_the_same_slug_per_user_and_type() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let (rent, created) = categories::create(
        &*db,
        ann,
        new("  Rent   &  Utilities ", AccountType::Expense),
    )
    .await?;
    assert!(created);
    assert_eq!(rent.name, "Rent & Utilities");
    assert_eq!(rent.slug, "rent-utilities");
    assert_eq!(rent.user_id, Some(ann));
    assert_eq!(rent.base_type, AccountType::Expense);
    assert_eq!(rent.normal_balance, NormalBalance::Debit);
    assert!(!rent.is_default && !rent.is_system, "{rent:?}");
    assert_eq!(categories::get(&*db, ann, rent.id).await?, rent);

    let (again, created) =
        categories::create(&*db, ann, new("rent utilities", AccountType::Expense)).await?;
    assert!(!created);
    assert_eq!(again, rent, "the stored category, its name unchanged");

    // Another type, another user: another category.
    let (income, created) =
        categories::create(&*db, ann, new("Rent & Utilities", AccountType::Income)).await?;
    assert!(created && income.id != rent.id, "{income:?}");
    assert_eq!(income.normal_balance, NormalBalance::Credit);
    let (bobs, created) =
        categories::create(&*db, bob, new("Rent & Utilities", AccountType::Expense)).await?;
    assert!(created && bobs.id != rent.id, "{bobs:?}");
    assert_eq!(bobs.user_id, Some(bob));
    assert_eq!(categories_of(&db, ann).await?, 2);
    assert_eq!(categories_of(&db, bob).await?, 1);

    // Bad names: refused, nothing written.
    let before = written(&db).await?;
    for name in ["", "   ", &*"x".repeat(129), "Nul\0name"] {
        let error = categories::create(&*db, ann, new_default(name, AccountType::Asset))
            .await
            .err()
            .ok_or_else(|| format!("{name:?} was accepted"))?;
        assert!(is_invalid(&error, "name"), "{name:?}: {error:?}");
    }
    assert_eq!(written(&db).await?, before, "a refused create wrote");
    assert_eq!(defaults(&db, ann, AccountType::Asset).await?, 0);

    // 128 characters are accepted.
    let (long, created) =
        categories::create(&*db, ann, new(&"y".repeat(128), AccountType::Asset)).await?;
    assert!(created);
    assert_eq!(long.name.chars().count(), categories::NAME_MAX);
    Ok(())
}

#[tokio::test]
async fn a_user_has_one_default_per_type_and_cannot_move_anyone_elses() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let (food, _) =
        categories::create(&*db, ann, new_default("Food", AccountType::Expense)).await?;
    assert!(food.is_default);
    let (bills, created) =
        categories::create(&*db, ann, new_default("Bills", AccountType::Expense)).await?;
    assert!(created && bills.is_default);
    assert!(!categories::get(&*db, ann, food.id).await?.is_default);
    assert_eq!(defaults(&db, ann, AccountType::Expense).await?, 1);

    // Another type keeps its own default.
    let (salary, _) =
        categories::create(&*db, ann, new_default("Salary", AccountType::Income)).await?;
    assert!(salary.is_default);
    assert!(categories::get(&*db, ann, bills.id).await?.is_default);

    // Creating an existing category as the default moves the default to it.
    let (food_again, created) =
        categories::create(&*db, ann, new_default(" FOOD ", AccountType::Expense)).await?;
    assert!(!created);
    assert_eq!(food_again.id, food.id);
    assert!(food_again.is_default);
    assert!(!categories::get(&*db, ann, bills.id).await?.is_default);
    assert_eq!(defaults(&db, ann, AccountType::Expense).await?, 1);

    // set_default moves it back; again, it changes nothing.
    let bills = categories::set_default(&*db, ann, bills.id).await?;
    assert!(bills.is_default);
    assert!(!categories::get(&*db, ann, food.id).await?.is_default);
    assert_eq!(categories::set_default(&*db, ann, bills.id).await?, bills);
    assert_eq!(defaults(&db, ann, AccountType::Expense).await?, 1);
    assert_eq!(defaults(&db, ann, AccountType::Income).await?, 1);
    assert_eq!(
        categories::default_for(&*db, ann, AccountType::Expense)
            .await?
            .id,
        bills.id
    );

    // Bob's category, a system one, a missing one: not found, nothing changes.
    let (toys, _) =
        categories::create(&*db, bob, new_default("Toys", AccountType::Expense)).await?;
    let household = system(&db, "SYSHOUSE", "Household", AccountType::Expense, false).await?;
    let anns = categories::list(&*db, ann, None, true).await?;
    let bobs = categories::list(&*db, bob, None, true).await?;
    for id in [toys.id, household, i32::MAX] {
        let error = categories::set_default(&*db, ann, id)
            .await
            .err()
            .ok_or_else(|| format!("category {id} was made ann's default"))?;
        assert!(is_not_found(&error), "{id}: {error:?}");
    }
    let error = categories::set_default(&*db, bob, bills.id)
        .await
        .err()
        .ok_or("bob moved ann's default")?;
    assert!(is_not_found(&error), "{error:?}");
    assert_eq!(categories::list(&*db, ann, None, true).await?, anns);
    assert_eq!(categories::list(&*db, bob, None, true).await?, bobs);
    assert!(!categories::get(&*db, bob, household).await?.is_default);
    Ok(())
}

#[tokio::test]
async fn list_filters_by_type_and_owner_and_get_reads_system_categories() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let (food, _) = categories::create(&*db, ann, new("Food", AccountType::Expense)).await?;
    for (name, base_type) in [
        ("Salary", AccountType::Income),
        ("Bills", AccountType::Expense),
        ("Bank", AccountType::Asset),
    ] {
        categories::create(&*db, ann, new(name, base_type)).await?;
    }
    let (apples, _) = categories::create(&*db, bob, new("Apples", AccountType::Expense)).await?;
    let household = system(&db, "SYSHOUSE", "Household", AccountType::Expense, false).await?;
    system(&db, "SYSGIFT", "Gifts", AccountType::Income, false).await?;

    // By type (as stored: asset, expense, income), then name.
    for (who, base_type, include_system, expected) in [
        (ann, None, false, &["Bank", "Bills", "Food", "Salary"][..]),
        (
            ann,
            None,
            true,
            &["Bank", "Bills", "Food", "Household", "Gifts", "Salary"][..],
        ),
        (
            ann,
            Some(AccountType::Expense),
            true,
            &["Bills", "Food", "Household"][..],
        ),
        (
            ann,
            Some(AccountType::Expense),
            false,
            &["Bills", "Food"][..],
        ),
        (ann, Some(AccountType::Liability), true, &[][..]),
        (bob, None, false, &["Apples"][..]),
        (bob, None, true, &["Apples", "Household", "Gifts"][..]),
        (bob, Some(AccountType::Income), true, &["Gifts"][..]),
    ] {
        let listed = categories::list(&*db, who, base_type, include_system).await?;
        assert_eq!(
            names(&listed),
            expected,
            "{who} {base_type:?} {include_system}"
        );
    }

    // A system category is anyone's to read; another user's is missing to the others.
    for who in [ann, bob] {
        let read = categories::get(&*db, who, household).await?;
        assert_eq!(read.name, "Household");
        assert_eq!(read.user_id, None);
        assert!(read.is_system);
    }
    for (who, id) in [(ann, apples.id), (bob, food.id), (ann, i32::MAX)] {
        let error = categories::get(&*db, who, id)
            .await
            .err()
            .ok_or_else(|| format!("{who} read category {id}"))?;
        assert!(is_not_found(&error), "{error:?}");
    }
    Ok(())
}

#[tokio::test]
async fn an_account_without_a_category_goes_into_the_default_of_its_type() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let carol = user(&db, "carol@example.com").await?;

    // No default of carol's, no system one: a new default of hers, then reused.
    let rent = accounts::create(&*db, carol, account("Rent", AccountType::Expense)).await?;
    let made = categories::get(&*db, carol, rent.category_id.ok_or("no category")?).await?;
    assert_eq!(made.name, "Default Expense");
    assert_eq!(made.slug, "default-expense");
    assert_eq!(made.user_id, Some(carol));
    assert_eq!(made.base_type, AccountType::Expense);
    assert!(made.is_default && !made.is_system, "{made:?}");
    let power = accounts::create(&*db, carol, account("Power", AccountType::Expense)).await?;
    assert_eq!(power.category_id, Some(made.id));
    assert_eq!(categories_of(&db, carol).await?, 1);
    assert_eq!(
        categories::default_for(&*db, carol, AccountType::Expense)
            .await?
            .id,
        made.id
    );

    // A system default, and no default of bob's: the system one, nothing created.
    let everyday = system(&db, "SYSEXP", "Everyday", AccountType::Expense, true).await?;
    let bobs = accounts::create(&*db, bob, account("Rent", AccountType::Expense)).await?;
    assert_eq!(bobs.category_id, Some(everyday));
    assert_eq!(categories_of(&db, bob).await?, 0);
    // … of that type only: an income account still gets a new default of bob's.
    let salary = accounts::create(&*db, bob, account("Salary", AccountType::Income)).await?;
    let income = categories::get(&*db, bob, salary.category_id.ok_or("no category")?).await?;
    assert_eq!(income.name, "Default Income");
    assert_eq!(income.user_id, Some(bob));
    assert_eq!(income.normal_balance, NormalBalance::Credit);
    assert!(income.is_default);

    // The user's own default comes before the system's.
    let (living, _) =
        categories::create(&*db, ann, new_default("Living", AccountType::Expense)).await?;
    let anns = accounts::create(&*db, ann, account("Rent", AccountType::Expense)).await?;
    assert_eq!(anns.category_id, Some(living.id));
    let water = accounts::create(&*db, carol, account("Water", AccountType::Expense)).await?;
    assert_eq!(water.category_id, Some(made.id), "carol keeps her own");
    Ok(())
}

#[tokio::test]
async fn an_account_is_filed_under_a_given_or_an_inline_named_category() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let (bills, _) = categories::create(&*db, ann, new("Bills", AccountType::Expense)).await?;
    let (salary, _) = categories::create(&*db, ann, new("Salary", AccountType::Income)).await?;
    let (bobs, _) = categories::create(&*db, bob, new("Bob's", AccountType::Expense)).await?;
    let household = system(&db, "SYSHOUSE", "Household", AccountType::Expense, false).await?;
    let gifts = system(&db, "SYSGIFT", "Gifts", AccountType::Income, false).await?;

    // A given category: the user's own or a system one, of the account's type.
    for (name, category) in [("Power", bills.id), ("Cleaning", household)] {
        let filed = accounts::create(
            &*db,
            ann,
            NewAccount {
                category_id: Some(category),
                ..account(name, AccountType::Expense)
            },
        )
        .await?;
        assert_eq!(filed.category_id, Some(category), "{name}");
    }

    // A named one: the user's of that name (slug) and the account's type, created if missing
    // (and not made a default).
    let before = categories_of(&db, ann).await?;
    let pizza = accounts::create(
        &*db,
        ann,
        NewAccount {
            new_category_name: Some("  eating   OUT ".to_owned()),
            ..account("Pizza", AccountType::Expense)
        },
    )
    .await?;
    let eating = categories::get(&*db, ann, pizza.category_id.ok_or("no category")?).await?;
    assert_eq!(eating.name, "eating OUT");
    assert_eq!(eating.slug, "eating-out");
    assert_eq!(eating.user_id, Some(ann));
    assert_eq!(eating.base_type, AccountType::Expense);
    assert!(!eating.is_default && !eating.is_system, "{eating:?}");
    assert_eq!(categories_of(&db, ann).await?, before + 1);
    for (name, category_name, category) in [
        ("Sushi", "Eating Out", eating.id),
        ("Gas", "bills", bills.id),
    ] {
        let filed = accounts::create(
            &*db,
            ann,
            NewAccount {
                new_category_name: Some(category_name.to_owned()),
                ..account(name, AccountType::Expense)
            },
        )
        .await?;
        assert_eq!(filed.category_id, Some(category), "{name}");
    }
    assert_eq!(categories_of(&db, ann).await?, before + 1);
    // The account's type decides the category's.
    let refunds = accounts::create(
        &*db,
        ann,
        NewAccount {
            new_category_name: Some("Eating Out".to_owned()),
            ..account("Refunds", AccountType::Income)
        },
    )
    .await?;
    let income = categories::get(&*db, ann, refunds.category_id.ok_or("no category")?).await?;
    assert_ne!(income.id, eating.id);
    assert_eq!(income.slug, "eating-out");
    assert_eq!(income.base_type, AccountType::Income);
    assert_eq!(income.normal_balance, NormalBalance::Credit);

    // Refusals write nothing.
    let before = written(&db).await?;
    let both = accounts::create(
        &*db,
        ann,
        NewAccount {
            category_id: Some(bills.id),
            new_category_name: Some("Utilities".to_owned()),
            ..account("Heating", AccountType::Expense)
        },
    )
    .await
    .err()
    .ok_or("both a category and a new one were accepted")?;
    assert!(is_invalid(&both, "category"), "{both:?}");
    for category in [salary.id, gifts] {
        let error = accounts::create(
            &*db,
            ann,
            NewAccount {
                category_id: Some(category),
                ..account("Heating", AccountType::Expense)
            },
        )
        .await
        .err()
        .ok_or("a category of another type was accepted")?;
        assert!(
            matches!(
                &error,
                Error::CategoryType {
                    category: id,
                    base_type: AccountType::Income,
                    account_type: AccountType::Expense,
                } if *id == category
            ),
            "{error:?}"
        );
    }
    for category in [bobs.id, i32::MAX] {
        let error = accounts::create(
            &*db,
            ann,
            NewAccount {
                category_id: Some(category),
                ..account("Heating", AccountType::Expense)
            },
        )
        .await
        .err()
        .ok_or("another user's category was accepted")?;
        assert!(is_not_found(&error), "{error:?}");
    }
    for bad in ["   ", &*"z".repeat(129), "Nul\0"] {
        let error = accounts::create(
            &*db,
            ann,
            NewAccount {
                new_category_name: Some(bad.to_owned()),
                ..account("Heating", AccountType::Expense)
            },
        )
        .await
        .err()
        .ok_or_else(|| format!("category name {bad:?} was accepted"))?;
        assert!(is_invalid(&error, "name"), "{bad:?}: {error:?}");
    }
    assert_eq!(written(&db).await?, before, "a refused create wrote");
    Ok(())
}

#[tokio::test]
async fn codes_are_three_letters_and_seven_digits_and_unique() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    for who in [ann, bob] {
        for base_type in AccountType::ALL {
            for name in ["Main", "Other", "Rent & Utilities"] {
                categories::create(&*db, who, new(name, base_type)).await?;
            }
        }
        // And a default made for an account.
        accounts::create(&*db, who, account("Card", AccountType::Liability)).await?;
    }
    let mut codes = Vec::new();
    for who in [ann, bob] {
        for category in categories::list(&*db, who, None, false).await? {
            code_digits(&category.code)?;
            assert!(
                category.code.starts_with(prefix(category.base_type)),
                "{category:?}"
            );
            codes.push(category.code);
        }
    }
    assert_eq!(codes.len(), 2 * (5 * 3 + 1));
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 2 * (5 * 3 + 1), "a code is used twice");

    // A code that is taken (here by a renamed category that kept it): the next digits.
    let (food, _) = categories::create(&*db, ann, new("Food", AccountType::Expense)).await?;
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!(
            "UPDATE finance_account_category SET name = 'Food (old)', slug = 'food-old' \
             WHERE id = {}",
            food.id
        ),
    ))
    .await?;
    let (fresh, created) = categories::create(&*db, ann, new("Food", AccountType::Expense)).await?;
    assert!(created && fresh.id != food.id, "{fresh:?}");
    assert!(fresh.code.starts_with("EXP"), "{fresh:?}");
    assert_eq!(
        code_digits(&fresh.code)?,
        (code_digits(&food.code)? + 1) % 10_000_000
    );
    Ok(())
}

#[tokio::test]
async fn racing_creates_of_one_category_give_one_row() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let mut calls = tokio::task::JoinSet::new();
    for call in 0..10 {
        let conn: DatabaseConnection = (*db).clone();
        // Two spellings of one slug.
        let name = if call % 2 == 0 {
            "Rent & Utilities"
        } else {
            "rent utilities"
        };
        calls.spawn(async move {
            categories::create(&conn, ann, new(name, AccountType::Expense)).await
        });
    }
    let (mut found, mut created) = (Vec::new(), 0);
    while let Some(result) = calls.join_next().await {
        let (category, was_created) = result??;
        found.push(category);
        created += usize::from(was_created);
    }
    assert_eq!(created, 1, "one call creates, the others find it");
    let first = found.first().ok_or("no call returned")?;
    assert!(found.iter().all(|category| category == first), "{found:?}");
    assert_eq!(categories_of(&db, ann).await?, 1);
    code_digits(&first.code)?;
    Ok(())
}

#[tokio::test]
async fn racing_account_creates_make_one_default_category() -> TestResult {
    let db = TestDb::concurrent_at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let mut calls = tokio::task::JoinSet::new();
    for call in 0..10 {
        let conn: DatabaseConnection = (*db).clone();
        calls.spawn(async move {
            accounts::create(
                &conn,
                ann,
                account(&format!("Bill {call}"), AccountType::Expense),
            )
            .await
        });
    }
    let mut filed = Vec::new();
    while let Some(result) = calls.join_next().await {
        filed.push(result??.category_id.ok_or("no category")?);
    }
    filed.sort_unstable();
    filed.dedup();
    assert_eq!(filed.len(), 1, "{filed:?}");
    assert_eq!(categories_of(&db, ann).await?, 1);
    assert_eq!(defaults(&db, ann, AccountType::Expense).await?, 1);
    let category = categories::get(&*db, ann, *filed.first().ok_or("no account")?).await?;
    assert_eq!(category.name, "Default Expense");
    assert!(category.is_default);
    assert_eq!(
        count(&db, "SELECT count(*) FROM finance_account").await?,
        10
    );
    Ok(())
}
