//! Per-user preferences: JSON values under short keys, one row per (user, key) (unique since
//! `m20261121_000001_kernel_services`). Reads merge in the documented defaults:
//!
//! | key | default | accepted values |
//! |---|---|---|
//! | `currency` | `"USD"` | three upper-case letters (ISO 4217) |
//! | `language` | `"en"` | a language tag such as `en` or `pt-BR` |
//! | `timezone` | `"UTC"` | an IANA time-zone name |
//! | `insights_opt_in` | `true` | a boolean |
//!
//! Other keys take any JSON value up to [`VALUE_MAX_BYTES`].

use std::collections::BTreeMap;

use lifeos_entity::{Timestamp, UserId, user_preference};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use crate::{Error, Result, validate};

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
    Ok(merged)
}

/// One preference of `user`: what they set, else the default, else `None`.
///
/// # Errors
/// Database failures only.
pub async fn get<C: ConnectionTrait>(db: &C, user: UserId, key: &str) -> Result<Option<Value>> {
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
/// or a value a known key does not accept; `field = "reference"` for an unknown user.
pub async fn set<C: ConnectionTrait>(db: &C, user: UserId, key: &str, value: Value) -> Result<()> {
    let key = check_key(key)?;
    check_value(&key, &value)?;
    let now = Timestamp::now();
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
    let deleted = user_preference::Entity::delete_many()
        .filter(user_preference::Column::UserId.eq(user))
        .filter(user_preference::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
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
        "timezone" => text.is_some_and(|zone| validate::timezone(zone).is_ok_and(|z| z == zone)),
        "insights_opt_in" => value.is_boolean(),
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
