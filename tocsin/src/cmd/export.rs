//! `tocsin export stix|cap [--threat ID] [--out DIR]`: the stored warnings in the field's
//! standards. STIX: one bundle per warning of a STIX-capable audience (partner services,
//! domestic agencies, operators). CAP: one alert per warning of the public and of operators.
//! Files are named after the warning id (`<id>.stix.json`, `<id>.cap.xml`); the bytes depend only
//! on the stored warnings, so a re-export is identical. Without `--out`, documents go to stdout.

use super::Globals;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use tocsin_core::tracking::Warning;
use tocsin_core::ThreatId;
use tocsin_formats::stix::STIX_CAPABLE;
use tocsin_server::cap_feed::{cap_alert, CAP_AUDIENCES};
use tocsin_server::taxii::{released, warning_bundle};

#[derive(clap::Subcommand, Debug)]
pub enum ExportCommand {
    /// STIX 2.1 bundles of the warnings for partners, agencies and operators.
    Stix(ExportArgs),
    /// CAP 1.2 alerts of the public advisories and operator warnings.
    Cap(ExportArgs),
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Only this threat's warnings.
    #[arg(long)]
    threat: Option<String>,
    /// Write one file per warning into this directory (created if missing).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Include warnings not yet released (drafts, approved but not queued).
    #[arg(long)]
    all: bool,
}

pub fn run(cmd: ExportCommand, g: &Globals) -> Result<()> {
    let store = g.db.open()?;
    let (stix, a) = match cmd {
        ExportCommand::Stix(a) => (true, a),
        ExportCommand::Cap(a) => (false, a),
    };
    let tid = a.threat.as_deref().map(ThreatId::new);
    if let Some(t) = &tid {
        if store.threat(t)?.is_none() {
            anyhow::bail!("no threat {t:?} in {}", g.db);
        }
    }
    let warnings: Vec<Warning> = store
        .warnings(tid.as_ref())?
        .into_iter()
        .filter(|w| a.all || released(w.state))
        .filter(|w| {
            if stix {
                STIX_CAPABLE.contains(&w.audience_kind)
            } else {
                CAP_AUDIENCES.contains(&w.audience_kind)
            }
        })
        .collect();
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut written = 0;
    for w in &warnings {
        let (doc, ext) = if stix {
            match warning_bundle(store.as_ref(), w)? {
                Some(b) => (tocsin_formats::stix::to_bytes(&b), "stix.json"),
                None => continue,
            }
        } else {
            match cap_alert(store.as_ref(), w, None)? {
                Some(alert) => (
                    tocsin_formats::cap::write_alert(&alert).into_bytes(),
                    "cap.xml",
                ),
                None => continue,
            }
        };
        match &a.out {
            Some(dir) => {
                // The id's grammar (docs/formats.md) keeps the name inside `dir`; a stored id
                // that breaks it (written before ids were checked) is refused, not followed.
                let name = w.id.file_name(ext).with_context(|| {
                    format!(
                        "warning {:?}: not exported to {}",
                        w.id.as_str(),
                        dir.display()
                    )
                })?;
                let path = dir.join(name);
                std::fs::write(&path, &doc)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            None => std::io::stdout().write_all(&doc)?,
        }
        written += 1;
    }
    eprintln!(
        "exported {written} {} document(s)",
        if stix { "STIX" } else { "CAP" }
    );
    Ok(())
}
