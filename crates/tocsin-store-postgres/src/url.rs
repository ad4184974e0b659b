//! The store URL: a libpq-style `postgres://user[:password]@host[:port]/dbname[?options]`, plus
//! Tocsin's own `pool_size` option, which is taken out before the driver parses the rest.

use tocsin_store::{Result, StoreError};

/// Connections per store when the URL does not say.
pub const DEFAULT_POOL_SIZE: usize = 8;

/// The URL split into the driver's part and Tocsin's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreUrl {
    pub driver: String,
    pub pool_size: usize,
}

pub(crate) fn parse(url: &str) -> Result<StoreUrl> {
    let bad = |why: String| StoreError::Invalid {
        kind: "PostgreSQL URL",
        id: redact(url),
        reason: why,
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(bad("must start with postgres:// or postgresql://".into()));
    }
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut pool_size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("pool_size", v)) => {
                pool_size = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        bad(format!(
                            "pool_size must be a whole number from 1 to 1000, not {v:?}"
                        ))
                    })?;
            }
            _ => kept.push(pair),
        }
    }
    let driver = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(StoreUrl { driver, pool_size })
}

/// The URL with any password replaced by `***` (URLs end up in errors and logs).
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &rest[at..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_is_taken_out_and_checked() {
        let u = parse("postgres://u@h:5432/db?pool_size=3&sslmode=disable").unwrap();
        assert_eq!(
            u,
            StoreUrl {
                driver: "postgres://u@h:5432/db?sslmode=disable".into(),
                pool_size: 3
            }
        );
        assert_eq!(
            parse("postgres://u@h/db").unwrap().pool_size,
            DEFAULT_POOL_SIZE
        );
        assert_eq!(
            parse("postgresql://u@h/db?pool_size=1").unwrap().driver,
            "postgresql://u@h/db"
        );
        for bad in [
            "postgres://u@h/db?pool_size=0",
            "postgres://u@h/db?pool_size=x",
            "mysql://u@h/db",
            "sqlite:tocsin.db",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("PostgreSQL URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://tocsin:s3cret@db:5432/t?x=1"),
            "postgres://tocsin:***@db:5432/t?x=1"
        );
        assert_eq!(redact("postgres://tocsin@db/t"), "postgres://tocsin@db/t");
        let e = parse("postgres://u:hunter2@h/db?pool_size=-1")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
