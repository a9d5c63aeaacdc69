//! Checks of the practice services' text inputs.

use crate::error::Result;

/// The longest name (of a goal, group, definition, unit, split or template), in characters.
pub const NAME_MAX: usize = 200;
/// The longest description or note, in characters.
pub const DESCRIPTION_MAX: usize = 10_000;

/// A required name: trimmed, not empty, at most [`NAME_MAX`] characters, no NUL.
pub(crate) fn name(field: &'static str, raw: &str) -> Result<String> {
    Ok(lifeos_core::validate::text(field, raw, NAME_MAX)?)
}

/// An optional description or note: trimmed, blank as `None`, at most [`DESCRIPTION_MAX`]
/// characters, no NUL.
pub(crate) fn description(field: &'static str, raw: Option<&str>) -> Result<Option<String>> {
    match raw {
        Some(raw) => Ok(lifeos_core::validate::optional_text(
            field,
            raw,
            DESCRIPTION_MAX,
        )?),
        None => Ok(None),
    }
}
