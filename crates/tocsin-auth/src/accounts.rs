//! Users: usernames, clearances, password hashing (Argon2id) and creating a user, shared by the
//! CLI (`tocsin user create`) and the API (`POST /api/v1/users`).
//!
//! Passwords are never logged, never stored, never returned: only the Argon2id PHC string (salt
//! and parameters included) reaches the store, and the audit chain records only whether a user
//! has one.

use crate::principal::Role;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;
use tocsin_core::{Classification, CountryCode};
use tocsin_store::accounts::{NewUser, UserRecord};
use tocsin_store::{AuditCtx, Store, StoreError};

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask for more).
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted: bounds the hashing work an anonymous login can cause.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Longest username.
pub const MAX_USERNAME_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("username {0:?} is invalid: use 1 to 64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit")]
    Username(String),
    #[error("the password is too short: at least {MIN_PASSWORD_LEN} characters")]
    PasswordTooShort,
    #[error("the password is too long: at most {MAX_PASSWORD_LEN} bytes")]
    PasswordTooLong,
    #[error("unknown clearance {0:?} (expected U, C, S, TS or UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP SECRET)")]
    Clearance(String),
    #[error("duration {0:?} is invalid: expected a positive number followed by m, h or d (e.g. 30d, 12h, 90m)")]
    Duration(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// A username in its stored form (lower case), or why not.
pub fn normalize_username(s: &str) -> Result<String, AccountError> {
    let u = s.trim().to_ascii_lowercase();
    let ok = !u.is_empty()
        && u.len() <= MAX_USERNAME_LEN
        && u.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && u.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(u)
    } else {
        Err(AccountError::Username(s.chars().take(80).collect()))
    }
}

/// `U`, `C`, `S`, `TS`, or the banner names (`SECRET`, `TOP SECRET`, `TOP_SECRET`), any case.
pub fn parse_clearance(s: &str) -> Result<Classification, AccountError> {
    match s.trim().to_ascii_uppercase().replace('_', " ").as_str() {
        "U" | "UNCLASSIFIED" => Ok(Classification::U),
        "C" | "CONFIDENTIAL" => Ok(Classification::C),
        "S" | "SECRET" => Ok(Classification::S),
        "TS" | "TOP SECRET" => Ok(Classification::TS),
        _ => Err(AccountError::Clearance(s.to_owned())),
    }
}

/// `30d`, `12h`, `90m`: a positive span, at most ten years.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, AccountError> {
    let err = || AccountError::Duration(s.to_owned());
    let s = s.trim();
    // By character: the last one may be multi-byte (`"5é"`), and splitting inside it would panic.
    let unit = s.chars().last().ok_or_else(err)?;
    let num = &s[..s.len() - unit.len_utf8()];
    let n: i64 = num.parse().map_err(|_| err())?;
    let d = match unit {
        'm' => chrono::Duration::try_minutes(n),
        'h' => chrono::Duration::try_hours(n),
        'd' => chrono::Duration::try_days(n),
        _ => None,
    }
    .ok_or_else(err)?;
    if n <= 0 || d > chrono::Duration::days(3660) {
        return Err(err());
    }
    Ok(d)
}

fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AccountError::PasswordTooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(AccountError::PasswordTooLong);
    }
    Ok(())
}

/// Hash a password with Argon2id (the crate's default parameters) and a fresh random salt; returns
/// the PHC string. Checks the length rules first.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    check_password(password)?;
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Does `password` match the stored PHC string? Unparseable hashes match nothing.
pub fn verify_password(phc: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spend the same work as a real verification, for a username that does not exist (or has no
/// password, or is disabled): the answer's timing must not tell which usernames are real.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc =
        DUMMY.get_or_init(|| hash_password("dummy password, never matches").unwrap_or_default());
    let _ = verify_password(phc, password);
}

/// Create a user (CLI and API share it): validates every field, hashes the password.
pub fn create_user(
    store: &dyn Store,
    username: &str,
    role: Role,
    clearance: Classification,
    nationality: CountryCode,
    password: Option<&str>,
    audit: &AuditCtx,
) -> Result<UserRecord, CreateUserError> {
    let username = normalize_username(username)?;
    let password_hash = password.map(hash_password).transpose()?;
    let id = store.insert_user(
        &NewUser {
            username,
            role: role.as_str().to_owned(),
            clearance,
            nationality,
            password_hash,
        },
        audit,
    )?;
    store.user(id)?.ok_or_else(|| {
        CreateUserError::Store(StoreError::NotFound {
            kind: "user",
            id: id.to_string(),
        })
    })
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(normalize_username(" Ana.Smith ").unwrap(), "ana.smith");
        for bad in ["", "-ana", "ana smith", "ana@x", "é", &"a".repeat(65)] {
            assert!(normalize_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clearances_and_durations_parse() {
        assert_eq!(parse_clearance("secret").unwrap(), Classification::S);
        assert_eq!(parse_clearance("TOP_SECRET").unwrap(), Classification::TS);
        assert_eq!(parse_clearance("C").unwrap(), Classification::C);
        assert!(parse_clearance("cosmic")
            .unwrap_err()
            .to_string()
            .contains("cosmic"));
        assert_eq!(parse_duration("30d").unwrap(), chrono::Duration::days(30));
        assert_eq!(parse_duration("12h").unwrap(), chrono::Duration::hours(12));
        assert_eq!(
            parse_duration("90m").unwrap(),
            chrono::Duration::minutes(90)
        );
        for bad in [
            "", "d", "0d", "-1d", "3w", "99999d", "1.5h", "\u{80}", "5é", "é5d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        assert_eq!(hash_password("short"), Err(AccountError::PasswordTooShort));
        assert_eq!(
            hash_password(&"x".repeat(MAX_PASSWORD_LEN + 1)),
            Err(AccountError::PasswordTooLong)
        );
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password(
            "not a phc string",
            "correct horse battery"
        ));
        // Salted: the same password hashes differently each time.
        assert_ne!(h, hash_password("correct horse battery").unwrap());
    }
}
