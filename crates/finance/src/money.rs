//! Amounts as the finance tables hold them: NUMERIC(18,2), validated without rounding.

use rust_decimal::Decimal;

use crate::error::{Result, invalid};
use crate::service::journal::AMOUNT_MAX;

/// `value` at scale 2 — rounded to two decimals, which only changes a value read from
/// SQLite's REAL through `f64` — never a negative zero.
pub(crate) fn two(value: Decimal) -> Decimal {
    let mut value = value.round_dp(2);
    if value.is_zero() {
        return Decimal::new(0, 2);
    }
    value.rescale(2);
    value
}

/// An amount of two decimals at most (more are refused, never rounded) and at most
/// [`AMOUNT_MAX`] in absolute value, at scale 2. Zero is allowed.
pub(crate) fn money(field: &'static str, value: Decimal) -> Result<Decimal> {
    if value.normalize().scale() > 2 {
        return Err(invalid(
            field,
            format!("{value} has more than two decimals"),
        ));
    }
    if value.abs() > AMOUNT_MAX {
        return Err(invalid(
            field,
            format!("{value} is beyond the largest amount, {AMOUNT_MAX}"),
        ));
    }
    Ok(two(value))
}

/// As [`money`], and never zero.
pub(crate) fn amount(field: &'static str, value: Decimal) -> Result<Decimal> {
    if value.is_zero() {
        return Err(invalid(field, "is zero"));
    }
    money(field, value)
}
