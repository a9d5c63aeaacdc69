//! Per-user preferences: JSON values under short keys, one row per (user, key) (unique since
//! `m20261121_000001_kernel_services`). Reads merge in the documented defaults:
//!
//! | key | default | accepted values |
//! |---|---|---|
//! | `currency` | `"USD"` | three upper-case letters (ISO 4217) |
//! | `language` | `"en"` | a language tag such as `en` or `pt-BR` |
//! | `timezone` | `"UTC"` | an IANA time-zone name — the profile's `user.timezone` (below) |
//! | `insights_opt_in` | `true` | a boolean |
//! | `day_starts_at` | `"00:00"` | `"HH:MM"`, when the user's day starts ([`crate::days`]) |
//!
//! Other keys take any JSON value up to [`VALUE_MAX_BYTES`]. Keys are trimmed on read as on
//! write.
//!
//! `timezone` is not stored here: it reads and writes `user.timezone`, the one time zone of a
//! user (so the profile, this key and [`crate::days`] never disagree). A `timezone` row
//! written by history is ignored.

use std::collections::BTreeMap;

use lifeos_entity::{Timestamp, UserId, user, user_preference};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use chrono::NaiveTime;

use crate::{Error, Result, validate};

/// The key that reads and writes `user.timezone`.
pub const TIMEZONE: &str = "timezone";

/// The key of the time the user's day starts (`"HH:MM"`; see [`crate::days`]).
pub const DAY_STARTS_AT: &str = "day_starts_at";

/// Parses a day start, `HH:MM` (24-hour, `00:00` to `23:59`).
///
/// # Errors
/// [`Error::Invalid`] with `field = "day_starts_at"`.
pub fn parse_day_start(text: &str) -> Result<NaiveTime> {
    let bad = || Error::invalid(DAY_STARTS_AT, format!("`{text}` is not a time `HH:MM`"));
    let (hours, minutes) = text.split_once(':').ok_or_else(bad)?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return Err(bad());
    }
    let hours: u32 = hours.parse().map_err(|_| bad())?;
    let minutes: u32 = minutes.parse().map_err(|_| bad())?;
    NaiveTime::from_hms_opt(hours, minutes, 0).ok_or_else(bad)
}

/// Longest key (`user_preference.key`).
pub const KEY_MAX: usize = 128;
/// Largest value, as serialised JSON.
pub const VALUE_MAX_BYTES: usize = 16 * 1024;

/// The documented defaults, merged into every read.
pub fn defaults() -> BTreeMap<String, Value> {
    BTreeMap::from([
        ("currency".to_owned(), Value::from("USD")),
        ("language".to_owned(), Value::from("en")),
        ("timezone".to_owned(), Value::from("UTC")),
        ("insights_opt_in".to_owned(), Value::from(true)),
        (DAY_STARTS_AT.to_owned(), Value::from("00:00")),
    ])
}

/// Every preference of `user`: the defaults, overridden by what the user set.
///
/// # Errors
/// Database failures only.
pub async fn get_all<C: ConnectionTrait>(db: &C, user: UserId) -> Result<BTreeMap<String, Value>> {
    let mut merged = defaults();
    for row in user_preference::Entity::find()
        .filter(user_preference::Column::UserId.eq(user))
        .all(db)
        .await?
    {
        merged.insert(row.key, row.value);
    }
    if let Some(zone) = stored_zone(db, user).await? {
        merged.insert(TIMEZONE.to_owned(), Value::from(zone));
    } else {
        merged.insert(TIMEZONE.to_owned(), Value::from("UTC"));
    }
    Ok(merged)
}

/// One preference of `user`: what they set, else the default, else `None`.
///
/// # Errors
/// Database failures only.
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId, key: &str) -> Result<Option<Value>> {
    let key = key.trim();
    if key == TIMEZONE {
        let zone = stored_zone(db, user).await?;
        return Ok(Some(Value::from(zone.unwrap_or_else(|| "UTC".to_owned()))));
    }
    let stored = user_preference::Entity::find()
        .filter(user_preference::Column::UserId.eq(user))
        .filter(user_preference::Column::Key.eq(key))
        .one(db)
        .await?;
    Ok(stored
        .map(|row| row.value)
        .or_else(|| defaults().remove(key)))
}

/// Sets one preference of `user` (insert or replace, in one statement).
///
/// # Errors
/// [`Error::Invalid`] (`field = "key"` or `"value"`) for a malformed key, an oversized value,
/// or a value a known key does not accept; `field = "reference"` for an unknown user
/// ([`Error::NotFound`] for `timezone`).
pub async fn set<C: ConnectionTrait>(db: &C, user: UserId, key: &str, value: Value) -> Result<()> {
    let key = check_key(key)?;
    check_value(&key, &value)?;
    let now = Timestamp::now();
    if key == TIMEZONE {
        return set_zone(db, user, value.as_str().map(str::to_owned)).await;
    }
    user_preference::Entity::insert(user_preference::ActiveModel {
        user_id: Set(user),
        key: Set(key),
        value: Set(value),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            user_preference::Column::UserId,
            user_preference::Column::Key,
        ])
        .update_columns([
            user_preference::Column::Value,
            user_preference::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Removes what `user` set for `key` (reads fall back to the default). Returns whether
/// there was a value.
///
/// # Errors
/// Database failures only.
pub async fn reset<C: ConnectionTrait>(db: &C, user: UserId, key: &str) -> Result<bool> {
    let key = key.trim();
    if key == TIMEZONE {
        let had = stored_zone(db, user)
            .await?
            .is_some_and(|zone| zone != "UTC");
        set_zone(db, user, None).await?;
        return Ok(had);
    }
    let deleted = user_preference::Entity::delete_many()
        .filter(user_preference::Column::UserId.eq(user))
        .filter(user_preference::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// `user.timezone` of `user` (`None` when unset or the user is unknown).
async fn stored_zone<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Option<String>> {
    Ok(user::Entity::find_by_id(user)
        .one(db)
        .await?
        .and_then(|model| model.timezone))
}

/// Sets `user.timezone` (`None`: back to `UTC`).
async fn set_zone<C: ConnectionTrait>(db: &C, user: UserId, zone: Option<String>) -> Result<()> {
    let done = user::Entity::update_many()
        .col_expr(
            user::Column::Timezone,
            Expr::value(Some(zone.unwrap_or_else(|| "UTC".to_owned()))),
        )
        .col_expr(user::Column::UpdatedAt, Expr::value(Timestamp::now()))
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(Error::not_found("user", user));
    }
    Ok(())
}

fn check_key(key: &str) -> Result<String> {
    let key = validate::text("key", key, KEY_MAX)?;
    if !key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:-".contains(c))
    {
        return Err(Error::invalid(
            "key",
            "use lower-case letters, digits and `_ . : -`",
        ));
    }
    Ok(key)
}

fn check_value(key: &str, value: &Value) -> Result<()> {
    if value.to_string().len() > VALUE_MAX_BYTES {
        return Err(Error::invalid("value", "is larger than 16 KiB"));
    }
    let text = value.as_str();
    let ok = match key {
        "currency" => {
            text.is_some_and(|c| c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()))
        }
        "language" => text.is_some_and(|tag| {
            let mut parts = tag.split('-');
            parts.next().is_some_and(|p| {
                (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_lowercase())
            }) && parts
                .all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
        }),
        TIMEZONE => text.is_some_and(|zone| validate::timezone(zone).is_ok_and(|z| z == zone)),
        "insights_opt_in" => value.is_boolean(),
        DAY_STARTS_AT => text.is_some_and(|time| parse_day_start(time).is_ok()),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "value",
            format!("not an accepted value for `{key}`: {value}"),
        ))
    }
}
