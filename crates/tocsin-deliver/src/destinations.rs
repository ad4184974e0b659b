//! Which webhook destinations may be reached (docs/delivery.md, "Webhook destinations").
//!
//! A webhook's URL comes from an audience record, which an analyst can write: without a check, a
//! webhook could be pointed at the server's own loopback services, the cloud metadata address or
//! the internal network (server-side request forgery). So a destination is refused when any
//! address its host resolves to is loopback, private, link-local, multicast, unspecified,
//! broadcast, shared (CGNAT) or otherwise not globally routable — unless the operator allows it:
//! `allow_private` (`--allow-private-webhooks`) or the host listed in an allow-list file
//! (`--webhook-allow-list`, one host name or IP address per line, `#` comments).
//!
//! The check runs **after DNS resolution**, and the connection then uses exactly the addresses
//! checked (the HTTP client's resolver answers only from [`Pinned`]), so a name that resolves to a
//! public address when checked and to a private one when connecting (DNS rebinding) gets nowhere.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The operator's choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// Reach any address (tests, demos, a private deployment).
    pub allow_private: bool,
    /// Host names and IP addresses reachable even when not public (lower case).
    pub allow: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AllowListError {
    #[error("reading the webhook allow-list {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("webhook allow-list {path}, line {line}: {entry:?} is not a host name or IP address")]
    Entry {
        path: String,
        line: usize,
        entry: String,
    },
}

impl Destinations {
    /// Read an allow-list file: one host name or IP address per line; blank lines and `#`
    /// comments are skipped.
    pub fn load_allow_list(path: &Path) -> Result<Vec<String>, AllowListError> {
        let text = std::fs::read_to_string(path).map_err(|source| AllowListError::Io {
            path: path.display().to_string(),
            source,
        })?;
        parse_allow_list(&text).map_err(|(line, entry)| AllowListError::Entry {
            path: path.display().to_string(),
            line,
            entry,
        })
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allow_private || self.allow.iter().any(|a| a.eq_ignore_ascii_case(host))
    }

    /// Resolve `host:port` and check every address; the addresses to connect to, or why not.
    pub fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => (bare, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {bare:?}: {e}"))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("{bare:?} resolves to no address"));
        }
        if !self.host_allowed(bare) {
            for a in &addrs {
                if let Some(kind) = non_public(a.ip()) {
                    return Err(format!(
                        "{bare:?} resolves to {} ({kind}): webhooks go only to public addresses unless the operator allows it (--allow-private-webhooks or --webhook-allow-list)",
                        a.ip()
                    ));
                }
            }
        }
        Ok(addrs)
    }
}

fn parse_allow_list(text: &str) -> Result<Vec<String>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let ok = entry.parse::<IpAddr>().is_ok()
            || (entry.len() <= 253
                && entry.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                }));
        if !ok {
            return Err((i + 1, entry.to_owned()));
        }
        out.push(entry.to_ascii_lowercase());
    }
    Ok(out)
}

/// Why `ip` is not a public unicast address, or `None` when it is.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if s[0] == 0x0064 && s[1] == 0xff9b {
                // NAT64: the IPv4 address it embeds decides.
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                non_public_v4(v4)
            } else if v6 == Ipv6Addr::from(0u128) {
                Some("unspecified")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared address space")
    } else if o[0] >= 240 {
        Some("reserved")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking")
    } else {
        None
    }
}

/// The addresses each host was last checked to: the HTTP client's resolver answers from here
/// only, so it connects to what was checked and nothing else.
#[derive(Debug, Clone, Default)]
pub struct Pinned(Arc<Mutex<HashMap<String, Vec<SocketAddr>>>>);

impl Pinned {
    pub fn pin(&self, host: &str, addrs: Vec<SocketAddr>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_ascii_lowercase(), addrs);
    }

    fn get(&self, host: &str) -> Option<Vec<SocketAddr>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host.to_ascii_lowercase())
            .cloned()
    }
}

impl reqwest::dns::Resolve for Pinned {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let found = self.get(name.as_str());
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match found {
                Some(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                None => Err(format!("{host:?} was not checked before connecting").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_named() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("100.64.0.1", "shared address space"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("fd00::1", "private (unique local)"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), Some(kind), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert_eq!(non_public(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn private_destinations_are_refused_unless_allowed() {
        let d = Destinations::default();
        let e = d.resolve("127.0.0.1", 8080).unwrap_err();
        assert!(
            e.contains("loopback") && e.contains("--allow-private-webhooks"),
            "{e}"
        );
        let e = d.resolve("localhost", 8080).unwrap_err();
        assert!(
            e.contains("loopback"),
            "names are checked after resolution: {e}"
        );
        assert!(d.resolve("[::1]", 80).is_err());
        assert!(d.resolve("93.184.216.34", 443).is_ok());
        let open = Destinations {
            allow_private: true,
            ..Default::default()
        };
        assert_eq!(
            open.resolve("127.0.0.1", 8080).unwrap(),
            vec!["127.0.0.1:8080".parse().unwrap()]
        );
        let listed = Destinations {
            allow: vec!["localhost".into()],
            ..Default::default()
        };
        assert!(listed.resolve("LOCALHOST", 8080).is_ok());
        assert!(
            listed.resolve("127.0.0.2", 8080).is_err(),
            "only what is listed"
        );
    }

    #[test]
    fn allow_lists_name_the_bad_line() {
        assert_eq!(
            parse_allow_list("# receivers\nhooks.internal.example\n10.0.0.5  # the SIEM\n\n")
                .unwrap(),
            vec!["hooks.internal.example", "10.0.0.5"]
        );
        assert_eq!(
            parse_allow_list("ok.example\nhttp://x/y\n").unwrap_err(),
            (2, "http://x/y".to_owned())
        );
    }
}
