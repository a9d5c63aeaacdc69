//! Database constraint violations reach callers as typed errors, on both backends.

use lifeos_core::Error;
use lifeos_entity::{Timestamp, UserId, session_token, user};
use lifeos_testkit::TestDb;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

fn new_user(email: &str) -> user::ActiveModel {
    user::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set("x".to_owned()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_duplicate_is_a_conflict() {
    let db = TestDb::at_head().await.expect("database");
    new_user("same@example.com")
        .insert(db.conn())
        .await
        .expect("first");
    let error: Error = new_user("same@example.com")
        .insert(db.conn())
        .await
        .expect_err("duplicate email")
        .into();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
}

#[tokio::test]
async fn a_missing_reference_is_invalid() {
    let db = TestDb::at_head().await.expect("database");
    let error: Error = session_token::ActiveModel {
        user_id: Set(UserId(9999)),
        jti: Set("j1".to_owned()),
        revoked: Set(false),
        created_at: Set(Timestamp::now()),
        updated_at: Set(Timestamp::now()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .expect_err("unknown user")
    .into();
    assert!(
        matches!(
            error,
            Error::Invalid {
                field: "reference",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn other_database_errors_stay_database_errors() {
    let error: Error = sea_orm::DbErr::Custom("boom".to_owned()).into();
    assert!(matches!(error, Error::Db(_)));
    assert_eq!(error.to_string(), "Custom Error: boom");
}
