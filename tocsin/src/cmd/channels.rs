//! The delivery channels' settings, one block for every process that delivers (`serve`, `worker`,
//! `doctor`): webhook signing keys, the acknowledgement link template and SMTP. Read from a file
//! (`--channels FILE`, TOML), the environment (`TOCSIN_…`) and flags; a flag or variable wins over
//! the file. A process sends only the channels configured here and claims no other delivery: one
//! it cannot send stays pending for a process that can (docs/delivery.md, "One delivery model").

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tocsin_deliver::{Addresses, DeliveryConfig, SmtpConfig, SmtpTls, WebhookKeys};

const DEFAULT_SMTP_PORT: u16 = 587;
const DEFAULT_SMTP_FROM: &str = "Tocsin <warnings@tocsin.invalid>";

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ChannelArgs {
    /// Channel settings file (TOML: `webhook_keys`, `ack_url`, `[smtp]`; docs/delivery.md).
    /// Flags and environment variables override its values.
    #[arg(long, env = "TOCSIN_CHANNELS")]
    pub channels: Option<PathBuf>,
    /// Webhook signing secrets (TOML: `default = [...]`, `[[endpoint]] url, secrets`; see
    /// docs/delivery.md). Without it this process sends no webhook (they wait for one that can).
    #[arg(long, env = "TOCSIN_WEBHOOK_KEYS")]
    pub webhook_keys: Option<PathBuf>,
    /// Acknowledgement link template carried in e-mails and webhooks (`{warning}`, `{key}`).
    #[arg(long, env = "TOCSIN_ACK_URL")]
    pub ack_url: Option<String>,
    /// SMTP server; this process sends e-mail only when it is set.
    #[arg(long, env = "TOCSIN_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (default 587).
    #[arg(long, env = "TOCSIN_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// starttls (default, 587), implicit (465) or none (a relay on this host only).
    #[arg(long, env = "TOCSIN_SMTP_TLS")]
    pub smtp_tls: Option<SmtpTls>,
    /// SMTP AUTH user; the password comes only from TOCSIN_SMTP_PASSWORD (never a flag or the
    /// file, so it does not show in the process list or on disk).
    #[arg(long, env = "TOCSIN_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// The sender (default `Tocsin <warnings@tocsin.invalid>`).
    #[arg(long, env = "TOCSIN_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Accept self-signed SMTP certificates (test servers only).
    #[arg(long)]
    pub smtp_insecure: bool,
}

/// The `--channels` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelFile {
    /// Relative paths are relative to the file.
    webhook_keys: Option<PathBuf>,
    ack_url: Option<String>,
    smtp: Option<SmtpFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpFile {
    host: String,
    port: Option<u16>,
    tls: Option<String>,
    user: Option<String>,
    from: Option<String>,
    #[serde(default)]
    insecure: bool,
}

impl ChannelArgs {
    fn file(&self) -> Result<(ChannelFile, Option<&Path>)> {
        let Some(path) = &self.channels else {
            return Ok((ChannelFile::default(), None));
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading channel settings {}", path.display()))?;
        let file: ChannelFile = toml::from_str(&text)
            .with_context(|| format!("channel settings {}", path.display()))?;
        Ok((file, Some(path.as_path())))
    }

    /// The channels of [`DeliveryConfig`] (webhook keys, ack link, SMTP); the worker settings are
    /// left at their defaults.
    pub fn config(&self) -> Result<DeliveryConfig> {
        let (file, origin) = self.file()?;
        let mut c = DeliveryConfig::default();
        let keys = self.webhook_keys.clone().or_else(|| {
            file.webhook_keys.as_ref().map(|p| match origin {
                Some(f) if p.is_relative() => f.parent().unwrap_or(Path::new(".")).join(p),
                _ => p.clone(),
            })
        });
        if let Some(p) = &keys {
            c.webhook.keys = WebhookKeys::load(p)?;
        }
        let ack_url = self.ack_url.clone().or(file.ack_url);
        c.webhook.ack_url = ack_url.clone();
        let smtp_file = file.smtp;
        let host = self
            .smtp_host
            .clone()
            .or_else(|| smtp_file.as_ref().map(|s| s.host.clone()));
        if let Some(host) = host {
            if host.trim().is_empty() {
                bail!("the SMTP host is empty (--smtp-host, TOCSIN_SMTP_HOST or [smtp] host)");
            }
            let f = smtp_file.as_ref();
            let tls = match (self.smtp_tls, f.and_then(|s| s.tls.as_deref())) {
                (Some(t), _) => t,
                (None, Some(t)) => t.parse().map_err(|e: String| {
                    anyhow::anyhow!(
                        "channel settings {}: [smtp] tls: {e}",
                        origin.map(|p| p.display().to_string()).unwrap_or_default()
                    )
                })?,
                (None, None) => SmtpTls::StartTls,
            };
            c.smtp = Some(SmtpConfig {
                host,
                port: self
                    .smtp_port
                    .or(f.and_then(|s| s.port))
                    .unwrap_or(DEFAULT_SMTP_PORT),
                tls,
                accept_invalid_certs: self.smtp_insecure || f.is_some_and(|s| s.insecure),
                username: self.smtp_user.clone().or(f.and_then(|s| s.user.clone())),
                password: std::env::var("TOCSIN_SMTP_PASSWORD")
                    .ok()
                    .filter(|p| !p.is_empty()),
                from: self
                    .smtp_from
                    .clone()
                    .or(f.and_then(|s| s.from.clone()))
                    .unwrap_or_else(|| DEFAULT_SMTP_FROM.into()),
                ack_url,
                timeout: std::time::Duration::from_secs(30),
            });
        }
        Ok(c)
    }
}

/// One line per channel kind: what this process can send (for `doctor` and `serve`'s start-up).
pub fn describe(c: &DeliveryConfig, outbox: &Path) -> Vec<String> {
    let mut lines = vec![format!("file: configured (under {})", outbox.display())];
    let (endpoints, _) = c.webhook.keys.summary();
    lines.push(match c.webhook.keys.addresses() {
        Addresses::Any => format!(
            "webhook: configured (a default secret{})",
            if endpoints > 0 {
                format!(", {endpoints} endpoint(s) with their own")
            } else {
                String::new()
            }
        ),
        Addresses::Only(urls) if urls.is_empty() => {
            "webhook: NOT configured (no --webhook-keys): webhook deliveries are left for a process that has the keys".into()
        }
        Addresses::Only(urls) => format!(
            "webhook: configured for {} endpoint(s) only (no default secret); other URLs are left for a process that has their keys",
            urls.len()
        ),
    });
    lines.push(match &c.smtp {
        Some(s) => format!(
            "email: configured (SMTP {}:{}, {:?}{})",
            s.host,
            s.port,
            s.tls,
            if s.username.is_some() { ", AUTH" } else { "" }
        ),
        None => "email: NOT configured (no --smtp-host): e-mail deliveries are left for a process that has SMTP".into(),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_gives_smtp_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("channels.toml");
        std::fs::write(
            &path,
            "ack_url = \"https://x.example/{key}\"\n[smtp]\nhost = \"mail.example\"\nport = 2525\ntls = \"none\"\n",
        )
        .unwrap();
        let args = ChannelArgs {
            channels: Some(path.clone()),
            smtp_port: Some(25),
            ..Default::default()
        };
        let c = args.config().unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!(smtp.host, "mail.example");
        assert_eq!(smtp.port, 25, "the flag wins over the file");
        assert_eq!(smtp.tls, SmtpTls::None);
        assert_eq!(
            c.webhook.ack_url.as_deref(),
            Some("https://x.example/{key}")
        );
        assert_eq!(c.webhook.keys.addresses(), Addresses::Only(vec![]));
    }

    #[test]
    fn an_unknown_key_or_tls_mode_in_the_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("channels.toml");
        std::fs::write(&path, "[smtp]\nhost = \"m\"\nhots = 1\n").unwrap();
        let args = ChannelArgs {
            channels: Some(path.clone()),
            ..Default::default()
        };
        let e = format!("{:#}", args.config().unwrap_err());
        assert!(e.contains("hots"), "{e}");
        std::fs::write(&path, "[smtp]\nhost = \"m\"\ntls = \"ssl\"\n").unwrap();
        let e = format!("{:#}", args.config().unwrap_err());
        assert!(e.contains("tls") && e.contains("ssl"), "{e}");
    }

    #[test]
    fn without_settings_only_the_file_channel_is_configured() {
        let c = ChannelArgs::default().config().unwrap();
        let lines = describe(&c, Path::new("/tmp/outbox"));
        assert!(lines[0].starts_with("file: configured"));
        assert!(lines[1].contains("webhook: NOT configured"), "{lines:?}");
        assert!(lines[2].contains("email: NOT configured"), "{lines:?}");
    }
}
