//! The shared value types and typed enums read and write through SeaORM on both backends.

use chrono::{TimeZone, Utc};
use lifeos_entity::{TextList, Timestamp, UserId, user};
use lifeos_life_graph::entity::{commitments, parties, roles};
use lifeos_testkit::TestDb;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

async fn insert_user(db: &TestDb, email: &str) -> Result<user::Model, sea_orm::DbErr> {
    user::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set("x".to_owned()),
        is_active: Set(true),
        created_at: Set(Timestamp(
            Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap(),
        )),
        updated_at: Set(Timestamp::now()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
}

#[tokio::test]
async fn timestamps_and_user_ids_round_trip() {
    let db = TestDb::at_head().await.expect("database");
    let created = insert_user(&db, "a@example.com").await.expect("user");
    let read = user::Entity::find_by_id(created.id)
        .one(db.conn())
        .await
        .expect("select")
        .expect("row");
    assert_eq!(read, created);
    assert_eq!(
        read.created_at.as_utc(),
        Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap()
    );
    assert!(read.id > UserId(0));

    // A server-side default fills a timestamp SeaORM can read back.
    let defaulted = user::ActiveModel {
        email: Set("b@example.com".to_owned()),
        password_hash: Set("x".to_owned()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .expect("insert with defaults");
    let age = Utc::now() - defaulted.created_at.as_utc();
    assert!(age.num_minutes().abs() < 5, "default is not UTC now: {age}");
}

#[tokio::test]
async fn text_lists_and_enums_round_trip() {
    let db = TestDb::at_head().await.expect("database");
    let backend = db.get_database_backend();
    let owner = insert_user(&db, "c@example.com").await.expect("user");
    let party = parties::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(owner.id),
        kind: Set(parties::PartyKind::Org),
        name: Set("ACME Corp".to_owned()),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .expect("insert party");
    let role = roles::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        party_id: Set(party.id),
        user_id: Set(owner.id),
        role_name: Set("vendor".to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .expect("insert role");
    // The column default is an empty list on both backends.
    assert_eq!(role.domain_tags, Some(TextList::default()));

    let tags = TextList(vec!["finance".to_owned(), "home, \"office\"".to_owned()]);
    roles::Entity::update_many()
        .col_expr(roles::Column::DomainTags, tags.expr(backend))
        .filter(roles::Column::Id.eq(role.id))
        .exec(db.conn())
        .await
        .expect("write tags");
    let read = roles::Entity::find_by_id(role.id)
        .one(db.conn())
        .await
        .expect("select")
        .expect("row");
    assert_eq!(read.domain_tags, Some(tags));

    let commitment = commitments::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        role_id: Set(role.id),
        commitment_type: Set(commitments::CommitmentType::Obligation),
        title: Set("Pay invoice #1".to_owned()),
        source: Set(commitments::CommitmentSource::VisionExtract),
        created_at: Set(Utc::now()),
        state: Set(commitments::CommitmentState::Delinquent),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .expect("insert commitment");
    assert_eq!(
        commitment.priority,
        Some(50),
        "the priority default applies"
    );
    let read = commitments::Entity::find_by_id(commitment.id)
        .one(db.conn())
        .await
        .expect("select")
        .expect("row");
    assert_eq!(read.state, commitments::CommitmentState::Delinquent);
    assert_eq!(
        read.commitment_type,
        commitments::CommitmentType::Obligation
    );
}

#[tokio::test]
async fn the_database_rejects_values_outside_an_enumeration() {
    let db = TestDb::at_head().await.expect("database");
    let owner = insert_user(&db, "d@example.com").await.expect("user");
    let result = db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "INSERT INTO parties (id, user_id, kind, name) VALUES ($1, $2, 'robot', 'R2')"
                }
                _ => "INSERT INTO parties (id, user_id, kind, name) VALUES (?, ?, 'robot', 'R2')",
            },
            [uuid::Uuid::now_v7().into(), owner.id.0.into()],
        ))
        .await;
    assert!(result.is_err(), "kind 'robot' was accepted");
}
