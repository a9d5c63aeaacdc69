//! Checks of the finance services' inputs that are not amounts (those are in
//! [`crate::money`]).

use chrono::{Datelike, NaiveDate};

use crate::error::{Result, invalid};

/// `raw` trimmed, blank as `None`: at most `max` characters, no NUL
/// ([`lifeos_core::validate::optional_text`] for an optional argument).
pub(crate) fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>> {
    match raw {
        Some(raw) => Ok(lifeos_core::validate::optional_text(field, raw, max)?),
        None => Ok(None),
    }
}

/// `day` if it lies in the years 1..=9999: beyond them dates and timestamps no longer sort as
/// text (SQLite stores them so), and the backends would disagree.
pub(crate) fn day(field: &'static str, day: NaiveDate) -> Result<NaiveDate> {
    if (1..=9999).contains(&day.year()) {
        Ok(day)
    } else {
        Err(invalid(
            field,
            format!("{day} is outside the years 1 to 9999"),
        ))
    }
}
