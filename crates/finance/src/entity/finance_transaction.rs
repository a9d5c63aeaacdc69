//! `finance_transaction`: a recorded or imported transaction, optionally booked by a journal entry.

use lifeos_entity::{Timestamp, UserId};
use sea_orm::entity::prelude::*;

/// Where a transaction came from (the union of the sources' lists; `CHECK`ed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum TransactionSource {
    /// Entered by hand.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// Taken from a calendar event (the migration's name).
    #[sea_orm(string_value = "calendar")]
    Calendar,
    /// Inferred from a calendar event (the ORM's name).
    #[sea_orm(string_value = "calendar_inferred")]
    CalendarInferred,
    /// Imported from a file or bank feed.
    #[sea_orm(string_value = "import")]
    Import,
    /// Written through the API.
    #[sea_orm(string_value = "api")]
    Api,
}

/// The review state of an inferred transaction (the union of the sources' lists; `CHECK`ed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum InferenceStatus {
    /// Inferred, awaiting review (the ORM's name).
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Inferred, awaiting review (the migration's name).
    #[sea_orm(string_value = "inferred")]
    Inferred,
    /// Confirmed by the user.
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    /// Rejected by the user.
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

/// A recorded or imported transaction, optionally booked by a journal entry.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_transaction")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed, unique_key = "user_dedupe")]
    pub user_id: UserId,
    #[sea_orm(column_type = "Decimal(Some((18, 2)))")]
    pub amount: Decimal,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub occurred_at: Timestamp,
    pub journal_entry_id: Option<i32>,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub counterparty: Option<String>,
    /// Free-text category.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub category: Option<String>,
    /// Where the row came from.
    pub source: TransactionSource,
    #[sea_orm(indexed)]
    pub calendar_event_id: Option<i32>,
    /// Inference confidence, 0.00–1.00.
    #[sea_orm(column_type = "Decimal(Some((3, 2)))", nullable)]
    pub confidence_score: Option<Decimal>,
    /// The review state of an inferred row; `NULL` for manual rows.
    pub inference_status: Option<InferenceStatus>,
    /// The import batch that brought it, if any.
    #[sea_orm(indexed)]
    pub import_batch_id: Option<i32>,
    /// The import's duplicate key (the source's external id, else a hash of the raw row and
    /// its occurrence); unique per user, `NULL` for rows entered by hand.
    #[sea_orm(
        unique_key = "user_dedupe",
        column_type = "String(StringLen::N(128))",
        nullable
    )]
    pub dedupe_key: Option<String>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: HasOne<lifeos_entity::user::Entity>,
    #[sea_orm(belongs_to, from = "import_batch_id", to = "id", on_delete = "SetNull")]
    pub import_batch: HasOne<super::finance_import_batch::Entity>,
    #[sea_orm(
        belongs_to,
        from = "journal_entry_id",
        to = "id",
        on_delete = "SetNull"
    )]
    pub journal_entry: HasOne<super::finance_journal_entry::Entity>,
    #[sea_orm(
        belongs_to,
        from = "calendar_event_id",
        to = "id",
        on_delete = "SetNull"
    )]
    pub calendar_event: HasOne<lifeos_entity::calendar_event::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
