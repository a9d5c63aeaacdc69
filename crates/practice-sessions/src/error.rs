//! The practice domain's error: its own rule violations, and the kernel's
//! [`lifeos_core::Error`] (not found, invalid input, conflict, database) passed through.

use sea_orm::DbErr;
use sea_orm::prelude::Uuid;

use crate::entity::goals::GoalType;

/// A failed practice operation. Nothing was written when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The goal hierarchy does not allow a `child` under a `parent` of this type (`None`: as
    /// a root). See [`crate::service::tree::allowed_children`].
    #[error("a {child:?} cannot be placed under {}", match .parent { Some(t) => format!("a {t:?}"), None => "nothing (as a root)".to_owned() })]
    Hierarchy {
        /// The parent's type; `None` for a parentless goal.
        parent: Option<GoalType>,
        /// The type of the goal being placed.
        child: GoalType,
    },
    /// The rows belong to different fractals (roots): a move to another root, or a session
    /// under goals of two roots.
    #[error("{what} would cross fractals (roots)")]
    CrossRoot {
        /// What was refused.
        what: &'static str,
    },
    /// Moving a goal under itself or one of its descendants.
    #[error("goal {goal} cannot move under itself or its descendants")]
    Cycle {
        /// The goal being moved.
        goal: Uuid,
    },
    /// The timer (of an activity instance or a session) was never started.
    #[error("{what} {id} has not been started")]
    NotStarted {
        /// `"activity instance"` or `"practice session"`.
        what: &'static str,
        /// Its id.
        id: Uuid,
    },
    /// The timer is running or has run already: a second start.
    #[error("{what} {id} has already been started")]
    AlreadyStarted {
        /// `"activity instance"` or `"practice session"`.
        what: &'static str,
        /// Its id.
        id: Uuid,
    },
    /// The timer was stopped already: a second stop (or a pause after the end).
    #[error("{what} {id} has already been stopped")]
    AlreadyStopped {
        /// `"activity instance"` or `"practice session"`.
        what: &'static str,
        /// Its id.
        id: Uuid,
    },
    /// The user already has an active practice session (started, not ended, not deleted):
    /// at most one may be active at a time.
    #[error("another practice session is active")]
    SessionActive {
        /// The active session, when it could be read.
        active: Option<Uuid>,
    },
    /// Pausing a paused session, or resuming one that is not paused.
    #[error("practice session {session} is {}", if *.paused { "paused already" } else { "not paused" })]
    PauseState {
        /// The session.
        session: Uuid,
        /// Whether it is paused now.
        paused: bool,
    },
    /// A metric (or split) definition with recorded values cannot be removed from its
    /// activity; deactivate it instead.
    #[error("{what} {id} has recorded values")]
    HasValues {
        /// `"metric definition"` or `"split definition"`.
        what: &'static str,
        /// Its id.
        id: Uuid,
    },
    /// The row to restore sits under a row that is still deleted: restore that one first.
    #[error("{what} {id} is deleted: restore it first")]
    ParentDeleted {
        /// The kind of the deleted ancestor.
        what: &'static str,
        /// Its id.
        id: Uuid,
    },
    /// Not found, invalid input, a conflict, or a database failure (see
    /// [`lifeos_core::Error`]).
    #[error(transparent)]
    Core(#[from] lifeos_core::Error),
}

impl From<DbErr> for Error {
    /// As [`lifeos_core::Error`]'s conversion: unique violations become `Conflict`,
    /// foreign-key violations `Invalid`, anything else `Db`.
    fn from(error: DbErr) -> Self {
        Self::Core(lifeos_core::Error::from(error))
    }
}

/// The result of a practice operation.
pub type Result<T> = std::result::Result<T, Error>;

/// `Error::Core(NotFound)` for `entity` `id`.
pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> Error {
    Error::Core(lifeos_core::Error::not_found(entity, id))
}

/// `Error::Core(Invalid)` for `field`.
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Core(lifeos_core::Error::invalid(field, reason))
}

/// `Error::Core(Conflict)`.
pub(crate) fn conflict(what: impl Into<String>) -> Error {
    Error::Core(lifeos_core::Error::Conflict(what.into()))
}
