//! `tocsin compose --report FILE --audience FILE [--audience-id ID] [--json]`: compose the warning
//! one audience would get from one report, through the same composer and leak gate as the engine.
//! No store and no registry: operators get no list of their own sites.

use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;
use tocsin_core::compose::{compose, ComposeError, ComposeInput};
use tocsin_core::Audience;
use tocsin_formats::{parse_audiences_toml, parse_report};

#[derive(clap::Args, Debug)]
pub struct ComposeArgs {
    /// The report file (TOML front matter + portion-marked body; docs/formats.md).
    #[arg(long)]
    pub report: PathBuf,
    /// A TOML file with one `[audience]` table, or an audiences.toml (`[[audience]]` tables).
    #[arg(long)]
    pub audience: PathBuf,
    /// Which audience of the file to use when it holds more than one.
    #[arg(long)]
    pub audience_id: Option<String>,
    /// Global restricted terms, one per line (blank lines and `#` comments skipped).
    #[arg(long)]
    pub restricted: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A single `[audience]` table is the same as a file with one `[[audience]]`: rewrite that header
/// line in place so line numbers in errors still point into the user's file.
fn audiences_from(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim() == "[audience]" {
                l.replacen("[audience]", "[[audience]]", 1)
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn pick_audience(
    mut all: Vec<Audience>,
    id: Option<&str>,
    path: &std::path::Path,
) -> Result<Audience> {
    match id {
        Some(id) => {
            let ids: Vec<String> = all.iter().map(|a| a.id.to_string()).collect();
            let i = all
                .iter()
                .position(|a| a.id.as_str() == id)
                .ok_or_else(|| {
                    anyhow!(
                        "{}: no audience with id {id:?} (the file has: {})",
                        path.display(),
                        ids.join(", ")
                    )
                })?;
            Ok(all.swap_remove(i))
        }
        None if all.len() == 1 => Ok(all.remove(0)),
        None if all.is_empty() => bail!(
            "{}: no audience: expected one [audience] table or [[audience]] tables",
            path.display()
        ),
        None => bail!(
            "{}: {} audiences in the file ({}); pick one with --audience-id",
            path.display(),
            all.len(),
            all.iter()
                .map(|a| a.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn run(a: ComposeArgs) -> Result<()> {
    let report_text = std::fs::read_to_string(&a.report)
        .with_context(|| format!("reading {}", a.report.display()))?;
    let threat = parse_report(&report_text).map_err(|e| anyhow!("{}: {e}", a.report.display()))?;
    let aud_text = std::fs::read_to_string(&a.audience)
        .with_context(|| format!("reading {}", a.audience.display()))?;
    let all = parse_audiences_toml(&audiences_from(&aud_text))
        .map_err(|e| anyhow!("{}: {e}", a.audience.display()))?;
    let aud = pick_audience(all, a.audience_id.as_deref(), &a.audience)?;
    let global: Vec<String> = match &a.restricted {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    let reference = format!("{}.{}", threat.id, aud.id);
    let ack = match aud.kind {
        // In the audience's language, as the engine writes it (docs/recipients.md).
        tocsin_core::AudienceKind::Public => tocsin_core::i18n::catalogue(&aud.language)
            .fmt("links-public", &[("id", reference.as_str())]),
        _ => format!("Acknowledge and report measures quoting reference {reference}."),
    };
    // Deterministic: "now" is when the report was received (the public's 48 hours start there).
    let composed = compose(&ComposeInput {
        threat: &threat,
        audience: &aud,
        entities: &[],
        global_restricted: &global,
        now: threat.received,
        posture_interval_hours: aud.posture_interval_hours.map(i64::from).unwrap_or(24),
        ack_instructions: &ack,
        translations: &[],
    });
    let c = match composed {
        Ok(c) => c,
        Err(ComposeError::Leak(l)) => bail!(
            "{}: {l}\n  rule: {}\n  field: {}\n  span: bytes {}..{}\n  excerpt: {:?}",
            a.report.display(),
            l.rule.name(),
            l.field,
            l.start,
            l.end,
            l.excerpt
        ),
        Err(e) => bail!("{}: {e}", a.report.display()),
    };
    if a.json {
        let v = serde_json::json!({
            "audience": aud.id,
            "audience_kind": aud.kind,
            "tlp": c.tlp(),
            "banner": c.banner(),
            "specificity": c.specificity(),
            "headline": c.headline(),
            "text": c.text(),
            "withheld_portions": c.withheld_portions(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("audience:    {} ({})", aud.id, aud.kind.as_str());
        println!("marking:     {} / {}", c.banner(), c.tlp());
        println!(
            "specificity: {}",
            serde_json::to_value(c.specificity())?
                .as_str()
                .unwrap_or_default()
        );
        println!("withheld:    {} portion(s) (not releasable, or naming a restricted term); {} summarised by a tearline", c.withheld_portions(), c.summarised_portions());
        println!("headline:    {}", c.headline());
        println!();
        print!("{}", c.text());
    }
    Ok(())
}
