//! Signed one-time links for recipients: acknowledge a warning, report posture, give feedback —
//! without an account. A link is `base64url(payload).base64url(HMAC-SHA256(secret, payload))`;
//! the payload names the warning, the purpose, an expiry and a nonce. The store remembers used
//! nonces, which makes each link single-use; verification here is pure.

use crate::ids::WarningId;
use crate::time::Timestamp;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    Acknowledge,
    Posture,
    Feedback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkClaims {
    #[serde(rename = "w")]
    pub warning_id: WarningId,
    #[serde(rename = "p")]
    pub purpose: LinkPurpose,
    /// Unix seconds after which the link is refused.
    #[serde(rename = "e")]
    pub expires: i64,
    /// Random, unique per link: the store records it when the link is used.
    #[serde(rename = "n")]
    pub nonce: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("malformed link: {0}")]
    Malformed(&'static str),
    #[error("link signature does not verify")]
    BadSignature,
    #[error("link expired at {0}")]
    Expired(Timestamp),
    #[error("link is for {expected:?}, not {got:?}")]
    WrongPurpose {
        expected: LinkPurpose,
        got: LinkPurpose,
    },
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unb64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        buf = buf << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn mac(secret: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(payload);
    m.finalize().into_bytes().to_vec()
}

/// Sign claims into a link token.
pub fn sign(claims: &LinkClaims, secret: &[u8]) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    format!("{}.{}", b64url(&payload), b64url(&mac(secret, &payload)))
}

/// Verify a token's signature only, whatever its purpose and expiry: the claims of a link this
/// server signed, to say whether it is spent or expired (the recipient's page names the warning's
/// language even for an expired link).
pub fn verify_signature(token: &str, secret: &[u8]) -> Result<LinkClaims, LinkError> {
    let (p, s) = token
        .split_once('.')
        .ok_or(LinkError::Malformed("expected payload.signature"))?;
    let payload = unb64url(p).ok_or(LinkError::Malformed("payload is not base64url"))?;
    let sig = unb64url(s).ok_or(LinkError::Malformed("signature is not base64url"))?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(&payload);
    // Constant-time comparison: a timing side channel must not reveal the signature.
    m.verify_slice(&sig).map_err(|_| LinkError::BadSignature)?;
    serde_json::from_slice(&payload)
        .map_err(|_| LinkError::Malformed("payload is not valid claims"))
}

/// The recipient links (`…/r/<token>`) in a text Tocsin wrote, with what each is for, in order.
/// The claims are read, not verified: this only labels links in our own outgoing messages (a
/// webhook's `ack_url`, `feedback_url`, `posture_url`); using a link verifies it.
pub fn links_in(text: &str) -> Vec<(LinkPurpose, String)> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .filter_map(|w| {
            let w = w.trim_end_matches(['.', ',', ';', ')']);
            let token = w.rsplit_once("/r/")?.1;
            let payload = unb64url(token.split_once('.')?.0)?;
            let claims: LinkClaims = serde_json::from_slice(&payload).ok()?;
            Some((claims.purpose, w.to_owned()))
        })
        .collect()
}

/// When a link stops working.
pub fn expires_at(claims: &LinkClaims) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp(claims.expires, 0)
}

/// Verify a token's signature and expiry, whatever its purpose (single use is the store's job).
pub fn verify_any(token: &str, secret: &[u8], now: Timestamp) -> Result<LinkClaims, LinkError> {
    let claims = verify_signature(token, secret)?;
    if now.timestamp() > claims.expires {
        return Err(LinkError::Expired(
            chrono::DateTime::from_timestamp(claims.expires, 0).unwrap_or(now),
        ));
    }
    Ok(claims)
}

/// Verify a token for one purpose.
pub fn verify(
    token: &str,
    secret: &[u8],
    purpose: LinkPurpose,
    now: Timestamp,
) -> Result<LinkClaims, LinkError> {
    let claims = verify_any(token, secret, now)?;
    if claims.purpose != purpose {
        return Err(LinkError::WrongPurpose {
            expected: purpose,
            got: claims.purpose,
        });
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_a_text_are_found_with_their_purpose() {
        let secret = b"k";
        let ack = sign(&claims(), secret);
        let fb = sign(
            &LinkClaims {
                purpose: LinkPurpose::Feedback,
                ..claims()
            },
            secret,
        );
        let text = format!(
            "Reference W1. Acknowledge receipt: https://t.example/r/{ack} . Too general? Tell us: https://t.example/r/{fb}. See https://other.example/page ."
        );
        assert_eq!(
            links_in(&text),
            vec![
                (
                    LinkPurpose::Acknowledge,
                    format!("https://t.example/r/{ack}")
                ),
                (LinkPurpose::Feedback, format!("https://t.example/r/{fb}")),
            ]
        );
        assert!(links_in("https://t.example/r/not-a-token").is_empty());
    }
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            warning_id: "w1".into(),
            purpose: LinkPurpose::Acknowledge,
            expires: 1_710_000_000,
            nonce: "n1".into(),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let now = Utc.timestamp_opt(1_709_000_000, 0).unwrap();
        let t = sign(&claims(), b"secret");
        assert_eq!(
            verify(&t, b"secret", LinkPurpose::Acknowledge, now).unwrap(),
            claims()
        );
        assert_eq!(
            verify(&t, b"other", LinkPurpose::Acknowledge, now),
            Err(LinkError::BadSignature)
        );
        assert!(matches!(
            verify(&t, b"secret", LinkPurpose::Posture, now),
            Err(LinkError::WrongPurpose { .. })
        ));
        let later = Utc.timestamp_opt(1_710_000_001, 0).unwrap();
        assert!(matches!(
            verify(&t, b"secret", LinkPurpose::Acknowledge, later),
            Err(LinkError::Expired(_))
        ));
        // A tampered payload (another warning id) fails the signature.
        let forged = sign(
            &LinkClaims {
                warning_id: "w2".into(),
                ..claims()
            },
            b"secret",
        );
        let mixed = format!(
            "{}.{}",
            forged.split('.').next().unwrap(),
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(
            verify(&mixed, b"secret", LinkPurpose::Acknowledge, now),
            Err(LinkError::BadSignature)
        );
        assert!(matches!(
            verify("no-dot", b"secret", LinkPurpose::Acknowledge, now),
            Err(LinkError::Malformed(_))
        ));
    }

    proptest! {
        #[test]
        fn base64url_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(unb64url(&b64url(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn verify_never_panics(s in ".{0,200}") {
            let _ = verify(&s, b"k", LinkPurpose::Posture, Utc::now());
        }
    }
}
