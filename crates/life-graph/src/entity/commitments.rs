//! `commitments`: obligations, goals, routines and appointments, reached through a role.

use chrono::{DateTime, Utc};
use lifeos_entity::TextList;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The kind of a commitment (PostgreSQL enum `commitment_type`; checked TEXT on SQLite).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "commitment_type")]
#[serde(rename_all = "snake_case")]
pub enum CommitmentType {
    /// Something owed (an invoice to pay).
    #[sea_orm(string_value = "obligation")]
    Obligation,
    /// An ongoing duty.
    #[sea_orm(string_value = "responsibility")]
    Responsibility,
    /// Something to achieve.
    #[sea_orm(string_value = "goal")]
    Goal,
    /// Something recurring.
    #[sea_orm(string_value = "routine")]
    Routine,
    /// Something at a time.
    #[sea_orm(string_value = "appointment")]
    Appointment,
    /// A regulatory requirement.
    #[sea_orm(string_value = "compliance")]
    Compliance,
}

/// The lifecycle state of a commitment (PostgreSQL enum `commitment_state`; checked TEXT on
/// SQLite). The allowed transitions are DECISIONS 13.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "commitment_state")]
#[serde(rename_all = "snake_case")]
pub enum CommitmentState {
    /// Suggested, not yet accepted.
    #[sea_orm(string_value = "proposed")]
    Proposed,
    /// Accepted, not yet started (the default).
    #[sea_orm(string_value = "accepted")]
    Accepted,
    /// In progress.
    #[sea_orm(string_value = "active")]
    Active,
    /// On hold.
    #[sea_orm(string_value = "paused")]
    Paused,
    /// Done (final).
    #[sea_orm(string_value = "fulfilled")]
    Fulfilled,
    /// Dropped (final).
    #[sea_orm(string_value = "canceled")]
    Canceled,
    /// Overdue.
    #[sea_orm(string_value = "delinquent")]
    Delinquent,
}

/// Where a commitment came from (`CHECK source IN (…)`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(50))")]
#[serde(rename_all = "snake_case")]
pub enum CommitmentSource {
    /// From an e-mail.
    #[sea_orm(string_value = "email")]
    Email,
    /// From a document.
    #[sea_orm(string_value = "doc")]
    Doc,
    /// From a vision extraction.
    #[sea_orm(string_value = "vision_extract")]
    VisionExtract,
    /// From the API.
    #[sea_orm(string_value = "api")]
    Api,
    /// Entered by hand.
    #[sea_orm(string_value = "manual")]
    Manual,
}

/// A commitment. Owned through its role (`role_id` → `roles.user_id`).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commitments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed)]
    pub role_id: Uuid,
    pub commitment_type: CommitmentType,
    #[sea_orm(column_type = "String(StringLen::N(500))")]
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub source: CommitmentSource,
    /// The other party (`idx_commitments_counterparty` is partial).
    pub counterparty_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    /// iCalendar recurrence rule.
    #[sea_orm(column_type = "Text", nullable)]
    pub rrule: Option<String>,
    /// 0–100 (`CHECK`), 50 by default.
    pub priority: Option<i32>,
    pub state: CommitmentState,
    pub severity: Option<i32>,
    /// Domain tags (`TEXT[]` with a GIN index on PostgreSQL, JSON on SQLite).
    pub domain_tags: Option<TextList>,
    /// Why the priority is what it is.
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    #[sea_orm(belongs_to, from = "role_id", to = "id", on_delete = "Cascade")]
    pub role: HasOne<super::roles::Entity>,
    #[sea_orm(belongs_to, from = "counterparty_id", to = "id")]
    pub counterparty: HasOne<super::parties::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
