//! The finance domain's error: its own rule violations, and the kernel's [`lifeos_core::Error`]
//! (not found, invalid input, conflict, database) passed through unchanged.

use sea_orm::DbErr;

use crate::entity::finance_account::AccountType;

/// A failed finance operation. Nothing was written when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The account is deactivated: it takes no new lines and is not offered by typeahead.
    #[error("account {account} is inactive")]
    InactiveAccount {
        /// The account's id.
        account: i32,
    },
    /// The account has journal lines, so its currency can no longer change.
    #[error("account {account} has journal lines: its currency is fixed")]
    CurrencyFrozen {
        /// The account's id.
        account: i32,
    },
    /// The category's base type is not the account's type.
    #[error("category {category} is for {base_type:?} accounts, not {account_type:?}")]
    CategoryType {
        /// The category's id.
        category: i32,
        /// The category's base type.
        base_type: AccountType,
        /// The account's type.
        account_type: AccountType,
    },
    /// The entry's debits and credits differ in `currency` (exactly: there is no tolerance).
    #[error("unbalanced entry in {currency}: debits {debits}, credits {credits}")]
    Unbalanced {
        /// The currency (of the lines' accounts) that does not balance.
        currency: String,
        /// The sum of its debits.
        debits: rust_decimal::Decimal,
        /// The sum of its credits.
        credits: rust_decimal::Decimal,
    },
    /// The entry has been reversed already (an entry is reversed at most once).
    #[error("journal entry {entry} is already reversed")]
    AlreadyReversed {
        /// The entry's id.
        entry: i32,
    },
    /// The transaction is booked already: it is booked at most once, and a booked
    /// transaction is not deleted (reverse its journal entry instead).
    #[error("transaction {transaction} is already booked")]
    AlreadyBooked {
        /// The transaction's id.
        transaction: i32,
    },
    /// An imported file was refused whole (nothing was written): its malformed rows.
    #[error("the file was refused: {} malformed row(s)", .errors.len())]
    Import {
        /// The rows' errors, by line (at most `service::imports::ERRORS_MAX`).
        errors: Vec<RowError>,
    },
    /// The import batch is undone already (a batch is undone at most once).
    #[error("import batch {batch} is already undone")]
    AlreadyUndone {
        /// The batch's id.
        batch: i32,
    },
    /// The bank batch cannot be undone: some of its transactions are booked.
    #[error("import batch {batch} has booked transactions: {transactions:?}")]
    BatchBooked {
        /// The batch's id.
        batch: i32,
        /// Its booked transactions' ids, ascending.
        transactions: Vec<i32>,
    },
    /// Not found, invalid input, a conflict, or a database failure (see [`lifeos_core::Error`]).
    #[error(transparent)]
    Core(#[from] lifeos_core::Error),
}

impl From<DbErr> for Error {
    /// As [`lifeos_core::Error`]'s conversion: unique violations become `Conflict`, foreign-key
    /// violations `Invalid`, anything else `Db`.
    fn from(error: DbErr) -> Self {
        Self::Core(lifeos_core::Error::from(error))
    }
}

/// One malformed row of an imported file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// The line the row starts on (the file's first line is 1).
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// The result of a finance operation.
pub type Result<T> = std::result::Result<T, Error>;

/// `Error::Core(NotFound)` for `entity` `id`.
pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> Error {
    Error::Core(lifeos_core::Error::NotFound {
        entity,
        id: id.to_string(),
    })
}

/// `Error::Core(Invalid)` for `field`.
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Core(lifeos_core::Error::Invalid {
        field,
        reason: reason.into(),
    })
}
