//! Signed webhooks, following Standard Webhooks (standardwebhooks.com):
//!
//! * `webhook-id` — the delivery's idempotency key (the same on every retry: receivers drop
//!   duplicates by it);
//! * `webhook-timestamp` — Unix seconds of this attempt (receivers refuse stale ones);
//! * `webhook-signature` — space-separated `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
//!   one per active secret, so a receiver keeps verifying while its secret rotates.
//!
//! Secrets are `whsec_<base64 key>`. They live in the worker's key file ([`WebhookKeys`]), never
//! in the store or the API, and every `Debug` here masks them.
//!
//! Answers: 2xx delivered; 410 unsubscribes the channel; 429 and 5xx (and anything else) retry,
//! not before `Retry-After`; timeouts and connection failures retry.

use crate::{ack_link, error_chain, Addresses, Channel, SendError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tocsin_core::tracking::{Delivery, Warning};
use tocsin_core::ChannelKind;

type HmacSha256 = Hmac<Sha256>;

/// A signing secret: `whsec_` followed by the base64 of the key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a webhook secret must start with \"whsec_\"")]
    Prefix,
    #[error("a webhook secret's key (after \"whsec_\") must be base64: {0}")]
    Base64(String),
    #[error("a webhook secret's key must be between 24 and 64 bytes, this one has {0}")]
    Length(usize),
}

impl WebhookSecret {
    /// Parse `whsec_<base64>`. The error never repeats the secret.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        let b64 = s.trim().strip_prefix("whsec_").ok_or(SecretError::Prefix)?;
        let key = B64
            .decode(b64)
            .map_err(|e| SecretError::Base64(e.to_string()))?;
        // The spec recommends 24–64 bytes; shorter keys are guessable.
        if !(24..=64).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self { key })
    }

    /// A fresh random 32-byte secret.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self { key }
    }

    /// The `whsec_…` text (to hand to the receiver once; do not log it).
    pub fn expose(&self) -> String {
        format!("whsec_{}", B64.encode(&self.key))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// The `webhook-signature` header value: one `v1,<base64>` per secret, space-separated.
pub fn sign(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| {
            format!(
                "v1,{}",
                B64.encode(s.mac(id, timestamp, body).finalize().into_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("webhook-timestamp {0:?} is not Unix seconds")]
    BadTimestamp(String),
    #[error("webhook-timestamp is {0} s away from now (tolerance {1} s)")]
    Stale(i64, i64),
    #[error("no v1 signature in webhook-signature matches")]
    NoMatch,
}

/// Check a received webhook the way a receiver must: timestamp within `tolerance_s` of `now`,
/// and at least one `v1` signature matching one of `secrets` (compared in constant time).
pub fn verify(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    tolerance_s: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp(timestamp.into()))?;
    if (now - ts).abs() > tolerance_s {
        return Err(VerifyError::Stale(now - ts, tolerance_s));
    }
    for part in signature.split(' ') {
        let Some(b64) = part.strip_prefix("v1,") else {
            continue;
        };
        let Ok(sig) = B64.decode(b64) else { continue };
        if secrets
            .iter()
            .any(|s| s.mac(id, ts, body).verify_slice(&sig).is_ok())
        {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatch)
}

/// Signing secrets per receiver URL, with a default for URLs not listed. Loaded from a TOML file:
///
/// ```toml
/// default = ["whsec_…"]          # optional
/// [[endpoint]]
/// url = "https://hooks.example/tocsin"
/// secrets = ["whsec_new…", "whsec_old…"]   # all are used while rotating
/// ```
#[derive(Clone, Default)]
pub struct WebhookKeys {
    default: Vec<WebhookSecret>,
    by_url: HashMap<String, Vec<WebhookSecret>>,
}

impl std::fmt::Debug for WebhookKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookKeys")
            .field("default", &self.default.len())
            .field("endpoints", &self.by_url.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot read webhook key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("webhook key file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("webhook key file {path}: {field}: {source}")]
    Secret {
        path: String,
        field: String,
        source: SecretError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    default: Vec<String>,
    #[serde(default)]
    endpoint: Vec<EndpointKeys>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointKeys {
    url: String,
    secrets: Vec<String>,
}

impl WebhookKeys {
    /// Every URL signs with `secrets`.
    pub fn with_default(secrets: Vec<WebhookSecret>) -> Self {
        Self {
            default: secrets,
            by_url: HashMap::new(),
        }
    }

    pub fn set(&mut self, url: impl Into<String>, secrets: Vec<WebhookSecret>) {
        self.by_url.insert(url.into(), secrets);
    }

    /// The URLs this configuration can sign for: [`Addresses::Any`] with a default secret, else
    /// exactly the endpoints that have one (a process claims no other webhook delivery).
    pub fn addresses(&self) -> Addresses {
        if !self.default.is_empty() {
            return Addresses::Any;
        }
        let mut urls: Vec<String> = self
            .by_url
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(u, _)| u.clone())
            .collect();
        urls.sort();
        Addresses::Only(urls)
    }

    /// How many endpoints have their own secrets, and whether a default is set (for `doctor`).
    pub fn summary(&self) -> (usize, bool) {
        (
            self.by_url.values().filter(|s| !s.is_empty()).count(),
            !self.default.is_empty(),
        )
    }

    /// The secrets to sign a request to `url` with (empty: none configured).
    pub fn for_url(&self, url: &str) -> &[WebhookSecret] {
        self.by_url
            .get(url)
            .map(Vec::as_slice)
            .unwrap_or(&self.default)
    }

    pub fn load(path: &Path) -> Result<Self, KeysError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeysError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse the key file's text; `origin` names it in errors (which never quote a secret).
    pub fn parse(text: &str, origin: &str) -> Result<Self, KeysError> {
        let file: KeysFile = toml::from_str(text).map_err(|e| KeysError::Parse {
            path: origin.into(),
            message: e.message().to_owned(),
        })?;
        let parse_all = |list: &[String], field: &str| -> Result<Vec<WebhookSecret>, KeysError> {
            list.iter()
                .enumerate()
                .map(|(i, s)| {
                    WebhookSecret::parse(s).map_err(|source| KeysError::Secret {
                        path: origin.into(),
                        field: format!("{field}[{i}]"),
                        source,
                    })
                })
                .collect()
        };
        let mut keys = Self::with_default(parse_all(&file.default, "default")?);
        for (i, e) in file.endpoint.iter().enumerate() {
            let secrets = parse_all(&e.secrets, &format!("endpoint[{i}].secrets"))?;
            if secrets.is_empty() {
                return Err(KeysError::Parse {
                    path: origin.into(),
                    message: format!("endpoint[{i}] ({}) has no secret", e.url),
                });
            }
            keys.set(e.url.clone(), secrets);
        }
        Ok(keys)
    }
}

/// Settings of the webhook channel.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub keys: WebhookKeys,
    /// Whole-request timeout (connect + send + answer); a timeout is retried.
    pub timeout: std::time::Duration,
    /// Acknowledgement link template (`{warning}`, `{key}`), carried in the payload.
    pub ack_url: Option<String>,
    /// Which destinations may be reached: public addresses, others only when allowed
    /// (`crate::destinations`).
    pub destinations: crate::Destinations,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            keys: WebhookKeys::default(),
            timeout: std::time::Duration::from_secs(10),
            ack_url: None,
            destinations: crate::Destinations::default(),
        }
    }
}

/// The members of the body's `data` object that are the same for every recipient of a warning,
/// as JSON text without the braces (computed once per warning: a fan-out to thousands of
/// recipients would otherwise rebuild the same JSON for each).
fn common_members(w: &Warning) -> String {
    let v = serde_json::json!({
        "reference": w.id,
        "version": w.version,
        "supersedes": w.supersedes,
        "tlp": w.tlp.label(),
        "banner": w.banner,
        "headline": w.headline,
        "text": w.text,
        "measures": w.measures,
        "valid_from": w.valid.from,
        "valid_until": w.valid.until,
    });
    let s = serde_json::to_string(&v).unwrap_or_else(|_| "{}".into());
    s[1..s.len() - 1].to_owned()
}

/// The body's `type`: what the receiver is asked to act on. A reminder or escalation is not a new
/// warning, a cancel withdraws one, and a CERT's feed notification is not a threat warning.
pub fn event_type(d: &Delivery, w: &Warning) -> &'static str {
    use tocsin_core::tracking::NoticeKind;
    match d.notice.as_ref().map(|n| n.kind) {
        Some(NoticeKind::Cancel) => "warning.cancelled",
        Some(NoticeKind::Reminder) => "posture.reminder",
        Some(NoticeKind::Escalation) => "posture.escalation",
        None if w.is_feed_notification() => "feed.notification",
        None => "warning.issued",
    }
}

fn assemble(
    common: &str,
    event: &str,
    d: &Delivery,
    text: &str,
    sent_at: chrono::DateTime<chrono::Utc>,
    ack_url: Option<&str>,
) -> Vec<u8> {
    use tocsin_core::links::{links_in, LinkPurpose};
    let js = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let link = |l: Option<String>| l.map(|l| js(&l)).unwrap_or_else(|| "null".into());
    // The signed one-time links the text carries, as fields; a withdrawn warning offers none.
    let found = if d.is_cancel() {
        Vec::new()
    } else {
        links_in(text)
    };
    let first = |p: LinkPurpose| found.iter().find(|(q, _)| *q == p).map(|(_, l)| l.clone());
    // A reminder or escalation asks for a posture report, not an acknowledgement.
    let ack = link(if d.notice.is_some() {
        None
    } else {
        ack_link(ack_url, d).or_else(|| first(LinkPurpose::Acknowledge))
    });
    let posture = link(
        d.notice
            .as_ref()
            .and_then(|n| n.posture_url.clone())
            .or_else(|| first(LinkPurpose::Posture)),
    );
    let feedback = link(first(LinkPurpose::Feedback));
    format!(
        r#"{{"type":"{}","timestamp":{},"data":{{{},"kind":{},"idempotency_key":{},"audience":{},"ack_url":{},"posture_url":{},"feedback_url":{}}}}}"#,
        event,
        js(&sent_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        common,
        js(d.notice.as_ref().map_or("warning", |n| n.kind.as_str())),
        js(&d.idempotency_key),
        js(d.audience_id.as_str()),
        ack,
        posture,
        feedback
    )
    .into_bytes()
}

/// The JSON body of a warning webhook (Standard Webhooks' `type` / `timestamp` / `data`
/// envelope): `data` holds `reference`, `version`, `supersedes`, `tlp`, `banner`, `headline`,
/// `text`, `measures`, `valid_from`, `valid_until`, `kind`, `idempotency_key`, `audience`,
/// `ack_url` (the configured template, else the text's signed acknowledgement link), `posture_url`,
/// `feedback_url` (the text's signed links); `type` by [`event_type`].
pub fn payload(
    d: &Delivery,
    w: &Warning,
    sent_at: chrono::DateTime<chrono::Utc>,
    ack_url: Option<&str>,
) -> Vec<u8> {
    assemble(
        &common_members(w),
        event_type(d, w),
        d,
        &w.text,
        sent_at,
        ack_url,
    )
}

/// Parse `Retry-After`: delay-seconds or an HTTP-date (relative to `now`).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Some(Duration::seconds(secs.max(0)));
    }
    chrono::DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|t| (t.with_timezone(&chrono::Utc) - now).max(Duration::zero()))
}

/// Blocking HTTP clients per channel. Each runs its own I/O thread; one would serialise every
/// request of a large fan-out through a single thread.
const CLIENTS: usize = 4;

/// POSTs signed JSON. The HTTP clients are built on first use (from a sender thread), because a
/// blocking client must not be created inside an async runtime.
pub struct WebhookChannel {
    config: WebhookConfig,
    clients: [OnceLock<Result<reqwest::blocking::Client, String>>; CLIENTS],
    common: std::sync::Mutex<HashMap<(String, u32), Arc<String>>>,
    /// The addresses each destination was checked to; the clients connect only to these.
    pinned: crate::destinations::Pinned,
    /// The clock of `webhook-timestamp`: real time, since receivers compare it with theirs.
    clock: Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>,
}

impl WebhookChannel {
    pub fn new(config: WebhookConfig) -> Self {
        Self {
            config,
            clients: Default::default(),
            common: Default::default(),
            pinned: Default::default(),
            clock: Arc::new(chrono::Utc::now),
        }
    }

    fn client(&self, n: usize) -> Result<&reqwest::blocking::Client, SendError> {
        self.clients[n % CLIENTS]
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .timeout(self.config.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
                    .pool_max_idle_per_host(256)
                    .dns_resolver(Arc::new(self.pinned.clone()))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| SendError::Transport {
                channel: "webhook",
                address: String::new(),
                reason: format!("cannot build the HTTP client: {e}"),
            })
    }
}

impl Channel for WebhookChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Webhook
    }

    fn addresses(&self) -> Addresses {
        self.config.keys.addresses()
    }

    fn send(&self, d: &Delivery, w: &Warning) -> Result<(), SendError> {
        let url = &d.channel.address;
        let bad = |reason: String| SendError::BadAddress {
            channel: "webhook",
            address: url.clone(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("must be an http:// or https:// URL".into()));
        }
        // Checked after DNS resolution; the connection uses exactly the addresses checked.
        let host = parsed
            .host_str()
            .ok_or_else(|| bad("the URL has no host".into()))?
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs = self.config.destinations.resolve(&host, port).map_err(bad)?;
        self.pinned
            .pin(host.trim_start_matches('[').trim_end_matches(']'), addrs);
        let secrets = self.config.keys.for_url(url);
        if secrets.is_empty() {
            // Fail closed: an unsigned warning could be forged by anyone who knows the URL.
            return Err(SendError::Transport {
                channel: "webhook",
                address: url.clone(),
                reason: "no signing secret configured for this URL".into(),
            });
        }
        let now = (self.clock)();
        let ts = now.timestamp();
        let common = if d.notice.is_some() {
            // A notice renders the warning with its own text (fresh links each time): not cached.
            Arc::new(common_members(w))
        } else {
            let mut cache = self.common.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() > 1024 {
                cache.clear(); // a long-running worker sees many warnings; only recent ones repeat
            }
            Arc::clone(
                cache
                    .entry((w.id.to_string(), w.version))
                    .or_insert_with(|| Arc::new(common_members(w))),
            )
        };
        let body = assemble(
            &common,
            event_type(d, w),
            d,
            &w.text,
            now,
            self.config.ack_url.as_deref(),
        );
        let signature = sign(secrets, &d.idempotency_key, ts, &body);
        let resp = self
            .client(d.id.unsigned_abs() as usize)?
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", &d.idempotency_key)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .map_err(|e| {
                let reason = if e.is_timeout() {
                    format!("timed out after {:?}", self.config.timeout)
                } else {
                    error_chain(&e)
                };
                SendError::Transport {
                    channel: "webhook",
                    address: url.clone(),
                    reason,
                }
            })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(());
        }
        if status == 410 {
            return Err(SendError::Unsubscribed {
                channel: "webhook",
                address: url.clone(),
                status,
            });
        }
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        // A short excerpt of the answer helps the analyst; receivers' bodies are not trusted, so
        // it is cut and stripped of control characters.
        let detail = resp
            .text()
            .ok()
            .map(|t| {
                t.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
            .filter(|t| !t.is_empty());
        Err(SendError::Rejected {
            channel: "webhook",
            address: url.clone(),
            status,
            retry_after,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published example of the Standard Webhooks reference libraries.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_spec_example() {
        let s = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            sign(
                std::slice::from_ref(&s),
                SPEC_ID,
                SPEC_TS,
                SPEC_BODY.as_bytes()
            ),
            SPEC_SIG
        );
        assert_eq!(
            verify(
                &[s],
                SPEC_ID,
                &SPEC_TS.to_string(),
                SPEC_SIG,
                SPEC_BODY.as_bytes(),
                SPEC_TS + 10,
                300
            ),
            Ok(())
        );
    }

    #[test]
    fn rotation_signs_with_every_secret_and_either_verifies() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let header = sign(&[new.clone(), old.clone()], "id1", 1000, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|p| p.starts_with("v1,")));
        assert_eq!(
            verify(&[old], "id1", "1000", &header, b"{}", 1000, 300),
            Ok(())
        );
        assert_eq!(
            verify(
                std::slice::from_ref(&new),
                "id1",
                "1000",
                &header,
                b"{}",
                1000,
                300
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &[WebhookSecret::generate()],
                "id1",
                "1000",
                &header,
                b"{}",
                1000,
                300
            ),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(
                std::slice::from_ref(&new),
                "id1",
                "1000",
                &header,
                b"{ }",
                1000,
                300
            ),
            Err(VerifyError::NoMatch),
            "body tampered"
        );
        assert_eq!(
            verify(
                std::slice::from_ref(&new),
                "id2",
                "1000",
                &header,
                b"{}",
                1000,
                300
            ),
            Err(VerifyError::NoMatch),
            "id swapped"
        );
        assert_eq!(
            verify(
                std::slice::from_ref(&new),
                "id1",
                "1000",
                &header,
                b"{}",
                1400,
                300
            ),
            Err(VerifyError::Stale(400, 300))
        );
        assert!(matches!(
            verify(&[new], "id1", "soon", &header, b"{}", 1000, 300),
            Err(VerifyError::BadTimestamp(_))
        ));
    }

    #[test]
    fn secrets_parse_strictly_and_never_show() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::Prefix)
        );
        assert!(matches!(
            WebhookSecret::parse("whsec_!!!"),
            Err(SecretError::Base64(_))
        ));
        assert_eq!(
            WebhookSecret::parse("whsec_c2hvcnQ="),
            Err(SecretError::Length(5))
        );
        let s = WebhookSecret::generate();
        assert_eq!(WebhookSecret::parse(&s.expose()).unwrap(), s);
        assert_eq!(format!("{s:?}"), "WebhookSecret(***)");
        let keys = WebhookKeys::with_default(vec![s.clone()]);
        assert!(!format!("{keys:?}").contains(&s.expose()[6..]));
    }

    #[test]
    fn key_file_per_url_with_default_and_errors_name_the_field() {
        let (a, b) = (WebhookSecret::generate(), WebhookSecret::generate());
        let text = format!("default = [\"{}\"]\n[[endpoint]]\nurl = \"https://x.example/h\"\nsecrets = [\"{}\", \"{}\"]\n", a.expose(), b.expose(), a.expose());
        let keys = WebhookKeys::parse(&text, "keys.toml").unwrap();
        assert_eq!(keys.for_url("https://x.example/h"), &[b, a.clone()]);
        assert_eq!(keys.for_url("https://other.example"), &[a]);
        let err = WebhookKeys::parse(
            "[[endpoint]]\nurl = \"u\"\nsecrets = [\"whsec_c2hvcnQ=\"]\n",
            "keys.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("keys.toml")
                && err.contains("endpoint[0].secrets[0]")
                && err.contains("5"),
            "{err}"
        );
        assert!(
            !err.contains("c2hvcnQ"),
            "errors never quote a secret: {err}"
        );
        assert!(WebhookKeys::parse("defualt = []", "k")
            .unwrap_err()
            .to_string()
            .contains("defualt"));
    }

    #[test]
    fn the_payload_is_one_json_object_with_every_field() {
        let d: Delivery = serde_json::from_value(serde_json::json!({
            "id": 1, "warning_id": "W\"1", "audience_id": "ops", "channel": {"kind": "webhook", "address": "https://x"},
            "idempotency_key": "k1", "status": "pending", "attempts": 0, "next_attempt_at": "2024-03-07T12:00:00Z"
        }))
        .unwrap();
        let w: Warning = serde_json::from_value(serde_json::json!({
            "id": "W\"1", "threat_id": "T", "audience_id": "ops", "audience_kind": "operator", "version": 2, "supersedes": "W0",
            "tlp": "AMBER", "banner": "UNCLASSIFIED", "specificity": "named_target", "headline": "Line\nbreak", "text": "t",
            "measures": ["a"], "valid": {"from": "2024-03-07T12:00:00Z", "until": "2024-03-09T12:00:00Z"}, "state": "queued",
            "created_at": "2024-03-07T12:00:00Z"
        }))
        .unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2024-03-07T12:00:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let body: serde_json::Value = serde_json::from_slice(&payload(
            &d,
            &w,
            now,
            Some("https://t/ack/{warning}?k={key}"),
        ))
        .unwrap();
        assert_eq!(body["type"], "warning.issued");
        assert_eq!(body["timestamp"], "2024-03-07T12:00:05Z");
        let data = &body["data"];
        assert_eq!(data["reference"], "W\"1");
        assert_eq!(data["headline"], "Line\nbreak");
        assert_eq!(data["version"], 2);
        assert_eq!(data["idempotency_key"], "k1");
        assert_eq!(data["ack_url"], "https://t/ack/W\"1?k=k1");
        assert_eq!(data["kind"], "warning");
        assert!(data["posture_url"].is_null() && data["feedback_url"].is_null());
        assert_eq!(data.as_object().unwrap().len(), 16);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&payload(&d, &w, now, None)).unwrap()
                ["data"]["ack_url"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn a_cancel_notice_is_typed_cancelled_without_measures_or_ack_link() {
        use tocsin_core::tracking::{Notice, NoticeKind};
        let mut d: Delivery = serde_json::from_value(serde_json::json!({
            "id": 1, "warning_id": "W1", "audience_id": "ops", "channel": {"kind": "webhook", "address": "https://x"},
            "idempotency_key": "k1", "status": "pending", "attempts": 0, "next_attempt_at": "2024-03-07T12:00:00Z"
        }))
        .unwrap();
        d.notice = Some(Notice {
            kind: NoticeKind::Cancel,
            headline: "CANCELLED: h".into(),
            text: "Warning W1 is CANCELLED".into(),
            posture_url: None,
        });
        let w: Warning = serde_json::from_value(serde_json::json!({
            "id": "W1", "threat_id": "T", "audience_id": "ops", "audience_kind": "operator", "version": 1,
            "tlp": "AMBER", "banner": "UNCLASSIFIED", "specificity": "named_target", "headline": "h", "text": "t",
            "measures": ["Screen visitors"], "valid": {"from": "2024-03-07T12:00:00Z", "until": "2024-03-09T12:00:00Z"}, "state": "superseded",
            "created_at": "2024-03-07T12:00:00Z"
        }))
        .unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2024-03-08T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let body: serde_json::Value = serde_json::from_slice(&payload(
            &d,
            &d.render(&w),
            now,
            Some("https://t/ack/{key}"),
        ))
        .unwrap();
        assert_eq!(body["type"], "warning.cancelled");
        assert_eq!(body["data"]["headline"], "CANCELLED: h");
        assert_eq!(body["data"]["text"], "Warning W1 is CANCELLED");
        assert_eq!(body["data"]["measures"], serde_json::json!([]));
        assert!(
            body["data"]["ack_url"].is_null(),
            "a withdrawn warning cannot be acknowledged"
        );
        // A reminder or an escalation is typed as such, keeps the measures and carries its
        // posture link as a field (not an acknowledgement link).
        for (kind, ty) in [
            (NoticeKind::Reminder, "posture.reminder"),
            (NoticeKind::Escalation, "posture.escalation"),
        ] {
            let n = d.notice.as_mut().unwrap();
            n.kind = kind;
            n.posture_url = Some("https://t/r/p1".into());
            let body: serde_json::Value = serde_json::from_slice(&payload(
                &d,
                &d.render(&w),
                now,
                Some("https://t/ack/{key}"),
            ))
            .unwrap();
            assert_eq!(body["type"], ty);
            assert_eq!(body["data"]["kind"], kind.as_str());
            assert_eq!(body["data"]["posture_url"], "https://t/r/p1");
            assert!(body["data"]["ack_url"].is_null(), "{ty}");
            assert_eq!(
                body["data"]["measures"],
                serde_json::json!(["Screen visitors"])
            );
        }
        // A feed notification is not a threat warning.
        d.notice = None;
        let mut feed = w.clone();
        feed.audience_id = tocsin_core::AudienceId::new(format!(
            "{}uni-a",
            tocsin_core::tracking::FEED_AUDIENCE_PREFIX
        ));
        assert_eq!(event_type(&d, &feed), "feed.notification");
        assert_eq!(event_type(&d, &w), "warning.issued");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-03-07T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("120", now), Some(Duration::seconds(120)));
        assert_eq!(
            parse_retry_after("Thu, 07 Mar 2024 12:05:00 GMT", now),
            Some(Duration::minutes(5))
        );
        assert_eq!(
            parse_retry_after("Thu, 07 Mar 2024 11:00:00 GMT", now),
            Some(Duration::zero())
        );
        assert_eq!(parse_retry_after("soonish", now), None);
    }
}

#[cfg(test)]
mod link_field_tests {
    use super::*;
    use tocsin_core::links::{sign, LinkClaims, LinkPurpose};

    #[test]
    fn the_texts_signed_links_are_fields_unless_the_warning_is_cancelled() {
        let link = |p| {
            format!(
                "https://t.example/r/{}",
                sign(
                    &LinkClaims {
                        warning_id: "W1".into(),
                        purpose: p,
                        expires: 1_900_000_000,
                        nonce: format!("{p:?}"),
                    },
                    b"k"
                )
            )
        };
        let (ack, fb) = (link(LinkPurpose::Acknowledge), link(LinkPurpose::Feedback));
        let mut d: Delivery = serde_json::from_value(serde_json::json!({
            "id": 1, "warning_id": "W1", "audience_id": "ops", "channel": {"kind": "webhook", "address": "https://x"},
            "idempotency_key": "k1", "status": "pending", "attempts": 0, "next_attempt_at": "2024-03-07T12:00:00Z"
        }))
        .unwrap();
        let w: Warning = serde_json::from_value(serde_json::json!({
            "id": "W1", "threat_id": "T", "audience_id": "ops", "audience_kind": "operator", "version": 1,
            "tlp": "AMBER", "banner": "UNCLASSIFIED", "specificity": "named_target", "headline": "h",
            "text": format!("Act now. Reference W1. Acknowledge receipt: {ack} . Too general to act on? Tell us: {fb} ."),
            "measures": [], "valid": {"from": "2024-03-07T12:00:00Z", "until": "2024-03-09T12:00:00Z"}, "state": "queued",
            "created_at": "2024-03-07T12:00:00Z"
        }))
        .unwrap();
        let now = chrono::Utc::now();
        let body: serde_json::Value = serde_json::from_slice(&payload(&d, &w, now, None)).unwrap();
        assert_eq!(body["data"]["ack_url"], ack.as_str());
        assert_eq!(body["data"]["feedback_url"], fb.as_str());
        // A configured template wins for the acknowledgement.
        let body: serde_json::Value =
            serde_json::from_slice(&payload(&d, &w, now, Some("https://a/{key}"))).unwrap();
        assert_eq!(body["data"]["ack_url"], "https://a/k1");
        // A cancel offers no link at all.
        d.notice = Some(tocsin_core::tracking::Notice {
            kind: tocsin_core::tracking::NoticeKind::Cancel,
            headline: "CANCELLED: h".into(),
            text: format!("Cancelled.\n{}", w.text),
            posture_url: None,
        });
        let body: serde_json::Value =
            serde_json::from_slice(&payload(&d, &d.render(&w), now, None)).unwrap();
        assert!(body["data"]["ack_url"].is_null() && body["data"]["feedback_url"].is_null());
    }
}
