//! E-mail over SMTP (lettre): STARTTLS, implicit TLS (SMTPS) or — for a local relay only — plain,
//! with AUTH when credentials are given. Each warning is one `multipart/alternative` message (text
//! and HTML) carrying the reference and the acknowledgement link; its `Message-ID` is derived
//! from the delivery's idempotency key, so a re-sent message is recognisably the same one.
//!
//! Signing (OpenPGP/MIME or S/MIME) plugs in as a [`MessageSigner`]: it receives the finished
//! `multipart/alternative` body and returns the part to send in its place (e.g. a
//! `multipart/signed`), before the headers are added.

use crate::{ack_link, Channel, SendError};
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use std::sync::Arc;
use tocsin_core::tracking::{Delivery, Warning};
use tocsin_core::ChannelKind;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS; refuses to continue without it (port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
    /// No TLS at all: only for a relay on the same host (tests, a local MTA).
    None,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "starttls" => Ok(Self::StartTls),
            "implicit" | "smtps" => Ok(Self::Implicit),
            "none" => Ok(Self::None),
            other => Err(format!(
                "unknown SMTP TLS mode {other:?} (expected starttls, implicit or none)"
            )),
        }
    }
}

/// Settings of the e-mail channel.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Accept any certificate (self-signed test servers only).
    pub accept_invalid_certs: bool,
    pub username: Option<String>,
    /// Never logged: `Debug` masks it.
    pub password: Option<String>,
    /// The sender, e.g. `Tocsin warnings <warnings@agency.example>`.
    pub from: String,
    /// Acknowledgement link template (`{warning}`, `{key}`).
    pub ack_url: Option<String>,
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("ack_url", &self.ack_url)
            .finish()
    }
}

/// Turns the finished body into a signed one (OpenPGP/MIME, S/MIME). None ships yet.
pub trait MessageSigner: Send + Sync {
    fn sign(&self, body: MultiPart) -> Result<MultiPart, SendError>;
}

pub struct EmailChannel {
    config: SmtpConfig,
    from: Mailbox,
    transport: SmtpTransport,
    signer: Option<Arc<dyn MessageSigner>>,
}

impl EmailChannel {
    pub fn new(config: SmtpConfig) -> Result<Self, SendError> {
        let bad = |reason: String| SendError::BadAddress {
            channel: "email",
            address: config.from.clone(),
            reason,
        };
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| bad(format!("sender address: {e}")))?;
        let tls_params = || {
            TlsParameters::builder(config.host.clone())
                .dangerous_accept_invalid_certs(config.accept_invalid_certs)
                .build()
                .map_err(|e| SendError::Transport {
                    channel: "email",
                    address: config.host.clone(),
                    reason: format!("TLS setup: {e}"),
                })
        };
        let tls = match config.tls {
            SmtpTls::StartTls => Tls::Required(tls_params()?),
            SmtpTls::Implicit => Tls::Wrapper(tls_params()?),
            SmtpTls::None => Tls::None,
        };
        let mut b = SmtpTransport::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let (Some(u), Some(p)) = (&config.username, &config.password) {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Self {
            transport: b.build(),
            from,
            config,
            signer: None,
        })
    }

    pub fn with_signer(mut self, signer: Arc<dyn MessageSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The message for one delivery (public so tests and tools can inspect it).
    pub fn message(&self, d: &Delivery, w: &Warning) -> Result<Message, SendError> {
        let to: Mailbox = d
            .channel
            .address
            .parse()
            .map_err(|e| SendError::BadAddress {
                channel: "email",
                address: d.channel.address.clone(),
                reason: format!("{e}"),
            })?;
        // Attachment blocks at the end of the text (feed notifications' events CSV) become
        // real attachments beside the text and HTML parts.
        let (main_text, attachments) = tocsin_core::tracking::split_attachments(&w.text);
        let shown = Warning {
            text: main_text,
            ..w.clone()
        };
        let (text, html) = bodies(d, &shown, self.config.ack_url.as_deref());
        let alternative = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html),
            );
        let mut body = if attachments.is_empty() {
            alternative
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            for a in attachments {
                let ct = ContentType::parse(&format!("{}; charset=utf-8", a.content_type))
                    .map_err(|e| SendError::Permanent {
                        channel: "email",
                        address: d.channel.address.clone(),
                        reason: format!("attachment {}: content type: {e}", a.file_name),
                    })?;
                mixed = mixed.singlepart(Attachment::new(a.file_name).body(a.content, ct));
            }
            mixed
        };
        if let Some(signer) = &self.signer {
            body = signer.sign(body)?;
        }
        let domain = self.from.email.domain().to_owned();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(header_text(&subject(w)))
            .message_id(Some(message_id(&d.idempotency_key, &domain)))
            .multipart(body)
            .map_err(|e| SendError::Permanent {
                channel: "email",
                address: d.channel.address.clone(),
                reason: format!("cannot build message: {e}"),
            })
    }
}

/// A `Message-ID` (RFC 5322 `msg-id`): a dot-atom left part derived from the idempotency key
/// (which may hold `@`, `:` or spaces), so a re-sent message keeps its id.
pub fn message_id(key: &str, domain: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(key.as_bytes());
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("<{hex}.tocsin@{domain}>")
}

/// Text that goes into a header: control characters (CR, LF above all) become blanks, so no
/// warning text can start a header of its own.
fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The subject line, in the warning's language: `[TLP:AMBER] headline (ref id)`.
pub fn subject(w: &Warning) -> String {
    tocsin_core::i18n::catalogue(&w.language).fmt(
        "email-subject",
        &[
            ("tlp", w.tlp.label()),
            ("headline", &w.headline),
            ("id", w.id.as_str()),
        ],
    )
}

/// A time as recipients read it: to the second.
fn shown_time(t: &tocsin_core::Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Text and HTML bodies: the banner, the warning, the measures, the reference and the link. The
/// banner is left out when it is only the TLP marking (feed notifications). The channel's own
/// words come from the catalogue of the language the warning is written in.
pub fn bodies(d: &Delivery, w: &Warning, ack_url: Option<&str>) -> (String, String) {
    let link = ack_link(ack_url, d);
    let cat = tocsin_core::i18n::catalogue(&w.language);
    let valid = cat.fmt(
        "email-valid",
        &[
            ("from", &shown_time(&w.valid.from)),
            ("until", &shown_time(&w.valid.until)),
        ],
    );
    let banner = if w.banner == w.tlp.label() {
        ""
    } else {
        w.banner.as_str()
    };
    let mut text = String::new();
    if !banner.is_empty() {
        text.push_str(banner);
        text.push('\n');
    }
    text.push_str(&format!(
        "{}\n\n{}\n\n{}\n",
        w.tlp.label(),
        w.headline,
        w.text
    ));
    if !w.measures.is_empty() {
        text.push_str(&format!("\n{}:\n", cat.get("email-measures")));
        for m in &w.measures {
            text.push_str(&format!("- {m}\n"));
        }
    }
    text.push_str(&format!(
        "\n{valid}\n{} {}\n",
        cat.get("email-reference"),
        w.id
    ));
    if let Some(l) = &link {
        text.push_str(&format!("{} {l}\n", cat.get("email-acknowledge")));
    }
    if !banner.is_empty() {
        text.push_str(&format!("\n{banner}\n"));
    }

    let e = html_escape;
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"{}\" dir=\"{}\"><body><p><strong>{}</strong><br>{}</p><h1>{}</h1>",
        cat.code,
        cat.dir(),
        e(banner),
        e(w.tlp.label()),
        e(&w.headline)
    );
    for para in w.text.split("\n\n") {
        html.push_str(&format!("<p>{}</p>", e(para).replace('\n', "<br>")));
    }
    // The recipient's one-time links (acknowledge, too general, report posture) as buttons to
    // the recipient's page; a cancel notice has none to offer.
    if !d.is_cancel() {
        let buttons = recipient_buttons(&w.text);
        if !buttons.is_empty() {
            html.push_str("<p>");
            for (label, url) in buttons {
                html.push_str(&format!(
                    "<a href=\"{}\" style=\"display:inline-block;margin:0 .5em .5em 0;padding:.6em 1.2em;background:#0b5cad;color:#ffffff;border-radius:4px;font-weight:bold;text-decoration:none\">{}</a>",
                    e(&url),
                    e(&label)
                ));
            }
            html.push_str("</p>");
        }
    }
    if !w.measures.is_empty() {
        html.push_str(&format!("<h2>{}</h2><ul>", e(cat.get("email-measures"))));
        for m in &w.measures {
            html.push_str(&format!("<li>{}</li>", e(m)));
        }
        html.push_str("</ul>");
    }
    html.push_str(&format!(
        "<p>{}<br>{} <code>{}</code></p>",
        e(&valid),
        e(cat.get("email-reference")),
        e(w.id.as_str())
    ));
    if let Some(l) = &link {
        html.push_str(&format!(
            "<p><a href=\"{0}\">{1}</a> ({0})</p>",
            e(l),
            e(cat.get("email-acknowledge-link"))
        ));
    }
    if !banner.is_empty() {
        html.push_str(&format!("<p><strong>{}</strong></p>", e(banner)));
    }
    html.push_str("</body></html>");
    (text, html)
}

/// The recipient links (`…/r/<token>`) in a warning's or notice's own text (not in a quoted
/// warning after a `--- ` line), each with the words before it on its line as its label:
/// `Acknowledge receipt: <url> .` gives ("Acknowledge receipt", url), in whatever language the
/// text was written.
pub fn recipient_buttons(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("--- ") {
            break;
        }
        let mut prev_end = 0;
        let mut pos = 0;
        for token in line.split(' ') {
            let start = pos;
            pos += token.len() + 1;
            if !(token.starts_with("http://") || token.starts_with("https://"))
                || !token.contains("/r/")
            {
                continue;
            }
            let before = &line[prev_end..start];
            // The words since the last sentence end before the link.
            let label = before
                .trim_end()
                .trim_end_matches(':')
                .rsplit(". ")
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches(". ")
                .trim_start_matches('.')
                .trim();
            let label = if label.is_empty() { token } else { label };
            out.push((label.to_owned(), token.to_owned()));
            prev_end = start + token.len();
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Channel for EmailChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    fn send(&self, d: &Delivery, w: &Warning) -> Result<(), SendError> {
        let msg = self.message(d, w)?;
        let address = d.channel.address.clone();
        self.transport.send(&msg).map(|_| ()).map_err(|e| {
            let code = e.status().and_then(|c| c.to_string().parse::<u16>().ok());
            let reason = crate::error_chain(&e);
            if e.is_permanent() {
                SendError::Permanent {
                    channel: "email",
                    address,
                    reason,
                }
            } else if let (true, Some(status)) = (e.is_transient(), code) {
                SendError::Rejected {
                    channel: "email",
                    address,
                    status,
                    retry_after: None,
                    detail: Some(reason),
                }
            } else {
                SendError::Transport {
                    channel: "email",
                    address,
                    reason,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_the_password_never_shows() {
        assert_eq!(html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
        let c = SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            tls: SmtpTls::None,
            accept_invalid_certs: false,
            username: Some("u".into()),
            password: Some("hunter2".into()),
            from: "Tocsin <warnings@agency.example>".into(),
            ack_url: None,
            timeout: std::time::Duration::from_secs(5),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!("starttls".parse::<SmtpTls>(), Ok(SmtpTls::StartTls));
        assert!("tls".parse::<SmtpTls>().is_err());
    }

    #[test]
    fn recipient_links_become_labelled_buttons_and_quoted_warnings_give_none() {
        let text = "TLP:AMBER\nReference W1. Подтвердить получение: http://h/r/aa.bb . Слишком общее, чтобы действовать? Напишите нам: https://h/r/cc.dd .\nhttp://example.org/x is not one";
        assert_eq!(
            recipient_buttons(text),
            [
                (
                    "Подтвердить получение".to_owned(),
                    "http://h/r/aa.bb".to_owned()
                ),
                (
                    "Слишком общее, чтобы действовать? Напишите нам".to_owned(),
                    "https://h/r/cc.dd".to_owned()
                ),
            ]
        );
        let reminder = "Report your current posture: http://h/r/pp .\n\n--- The warning ---\nAcknowledge receipt: http://h/r/old .";
        assert_eq!(
            recipient_buttons(reminder),
            [(
                "Report your current posture".to_owned(),
                "http://h/r/pp".to_owned()
            )]
        );
    }

    #[test]
    fn the_channel_writes_its_own_words_in_the_warning_language() {
        use tocsin_core::{AudienceKind, Classification};
        let aud = tocsin_testkit::audience("op-crocus", AudienceKind::Operator, Classification::U);
        let mut w = tocsin_testkit::warning("moscow-2024-03", &aud);
        w.measures = vec!["Досмотр посетителей".into()];
        let d = Delivery {
            id: 1,
            warning_id: w.id.clone(),
            audience_id: aud.id.clone(),
            channel: tocsin_core::ChannelSpec {
                kind: ChannelKind::Email,
                address: "security@crocus.example".into(),
            },
            idempotency_key: "k".into(),
            status: tocsin_core::tracking::DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: w.created_at,
            last_error: None,
            delivered_at: None,
            notice: None,
        };
        let link = Some("https://tocsin.example/ack/{warning}");
        let (en_text, en_html) = bodies(&d, &w, link);
        assert!(en_text.contains("\nRecommended measures:\n"), "{en_text}");
        assert!(en_text.contains("\nReference: "), "{en_text}");
        assert!(en_text.contains("\nAcknowledge: https://"), "{en_text}");
        assert!(
            en_html.contains("Acknowledge this warning</a>"),
            "{en_html}"
        );
        assert!(subject(&w).contains(" (ref "), "{}", subject(&w));

        w.language = "ru".into();
        let (text, html) = bodies(&d, &w, link);
        for english in ["Recommended", "Reference", "Acknowledge", "Valid "] {
            assert!(!text.contains(english), "{english} in {text}");
            assert!(!html.contains(english), "{english} in {html}");
        }
        assert!(
            text.contains("\nРекомендуемые меры:\n- Досмотр посетителей"),
            "{text}"
        );
        assert!(text.contains("\nНомер: "), "{text}");
        assert!(text.contains("\nПодтвердить получение: https://"), "{text}");
        assert!(text.contains("\nДействует с "), "{text}");
        assert!(
            html.starts_with("<!DOCTYPE html><html lang=\"ru\" dir=\"ltr\">"),
            "{html}"
        );
        assert!(html.contains("<h2>Рекомендуемые меры</h2>"), "{html}");
        assert!(subject(&w).contains(" (номер "), "{}", subject(&w));
        w.language = "ar".into();
        assert!(bodies(&d, &w, link).1.contains("dir=\"rtl\""));
    }

    #[test]
    fn message_ids_are_dot_atoms_and_headers_take_no_line_breaks() {
        let key = "feed:run1:klinik:email:it-security@klinik.example";
        let id = message_id(key, "cert.example");
        assert_eq!(
            id,
            message_id(key, "cert.example"),
            "stable across re-sends"
        );
        assert_ne!(
            id,
            message_id("feed:run2:klinik:email:x@y.example", "cert.example")
        );
        let inner = id.strip_prefix('<').unwrap().strip_suffix('>').unwrap();
        let (left, right) = inner.split_once('@').unwrap();
        assert_eq!(right, "cert.example");
        assert!(
            left.split('.')
                .all(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric())),
            "{id}"
        );
        assert_eq!(header_text("a\r\nBcc: x@y\tz"), "a  Bcc: x@y z");
    }
}
