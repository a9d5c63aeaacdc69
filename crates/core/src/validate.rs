//! Input checks shared by the services: each returns the normalised value or an
//! [`Error::Invalid`] naming the field, before anything is written.

use chrono_tz::Tz;

use crate::{Error, Result};

/// Longest email address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;
/// Shortest accepted password, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest accepted password, in characters (bounds the hashing work one request can cause).
pub const PASSWORD_MAX: usize = 1024;

/// Trims an email address, lower-cases its ASCII letters (the folding both backends'
/// `lower()` share; lookups apply the database's own `lower()` to both sides, so they find an
/// address however it was folded when stored), and checks its shape: one `@`, a non-empty local
/// part of at most 64 characters, a domain with a dot and no empty label, no whitespace or
/// control characters, at most [`EMAIL_MAX`] characters.
///
/// # Errors
/// [`Error::Invalid`] with `field = "email"`.
pub fn email(raw: &str) -> Result<String> {
    let email = raw.trim().to_ascii_lowercase();
    let bad = |reason: &str| Err(Error::invalid("email", reason));
    if email.is_empty() {
        return bad("is empty");
    }
    if email.chars().count() > EMAIL_MAX {
        return bad("is longer than 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or control characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("has no `@`");
    };
    if local.is_empty() || local.chars().count() > 64 {
        return bad("needs 1 to 64 characters before the `@`");
    }
    if domain.contains('@') {
        return bad("has more than one `@`");
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return bad("needs a domain such as example.org after the `@`");
    }
    Ok(email)
}

/// Checks an IANA time-zone name (`Europe/Paris`, `UTC`) and returns its canonical spelling.
///
/// # Errors
/// [`Error::Invalid`] with `field = "timezone"`.
pub fn timezone(raw: &str) -> Result<String> {
    let name = raw.trim();
    name.parse::<Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| Error::invalid("timezone", format!("`{name}` is not an IANA time zone")))
}

/// Checks a new password's length ([`PASSWORD_MIN`]..=[`PASSWORD_MAX`] characters).
///
/// # Errors
/// [`Error::Invalid`] with `field = "password"`.
pub fn password(raw: &str) -> Result<()> {
    let length = raw.chars().count();
    if length < PASSWORD_MIN {
        return Err(Error::invalid(
            "password",
            format!("needs at least {PASSWORD_MIN} characters"),
        ));
    }
    if length > PASSWORD_MAX {
        return Err(Error::invalid(
            "password",
            format!("is longer than {PASSWORD_MAX} characters"),
        ));
    }
    Ok(())
}

/// Trims `raw` and checks it is non-empty and at most `max` characters.
///
/// # Errors
/// [`Error::Invalid`] with the given `field`.
pub fn text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "is empty"));
    }
    optional_text(field, value, max).map(|v| v.unwrap_or_default())
}

/// Like [`text`] for an optional value: blank becomes `None`.
///
/// # Errors
/// [`Error::Invalid`] with the given `field` when longer than `max` characters or holding a
/// NUL character (which PostgreSQL cannot store in text, and SQLite would keep: the backends
/// would disagree).
pub fn optional_text(field: &'static str, raw: &str, max: usize) -> Result<Option<String>> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.contains('\0') {
        return Err(Error::invalid(field, "contains a NUL character"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(email("  Ada@Example.ORG ").unwrap(), "ada@example.org");
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "ada@@example.org",
            "a@b@example.org",
            "ada lovelace@example.org",
            "ada@example..org",
        ] {
            assert!(
                matches!(email(bad), Err(Error::Invalid { field: "email", .. })),
                "{bad:?} accepted"
            );
        }
        let long = format!("{}@example.org", "a".repeat(64)) + &".org".repeat(50);
        assert!(email(&long).is_err());
    }

    #[test]
    fn timezones_are_iana_names() {
        assert_eq!(timezone("Europe/Paris").unwrap(), "Europe/Paris");
        assert_eq!(timezone(" UTC ").unwrap(), "UTC");
        assert!(matches!(
            timezone("Mars/Olympus"),
            Err(Error::Invalid {
                field: "timezone",
                ..
            })
        ));
        assert!(timezone("").is_err());
    }

    #[test]
    fn passwords_and_texts_have_bounds() {
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(password(&"x".repeat(PASSWORD_MAX + 1)).is_err());
        assert_eq!(text("name", "  a ", 3).unwrap(), "a");
        assert!(text("name", " ", 3).is_err());
        assert!(text("name", "abcd", 3).is_err());
        assert_eq!(optional_text("name", " ", 3).unwrap(), None);
        assert!(text("name", "a\0b", 3).is_err());
        assert!(optional_text("name", "a\0b", 3).is_err());
    }
}
