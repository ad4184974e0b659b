//! `tocsin import DIR`: registry, audiences and reports from a directory of human-editable files.

use crate::{Engine, EngineError, Result};
use std::path::Path;
use tocsin_store::AuditCtx;

/// What an import loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub venues: usize,
    pub events: usize,
    pub audiences: usize,
    pub threats: usize,
    pub matches: usize,
    /// What was accepted but looks wrong, one sentence each naming the file, row id and value
    /// (e.g. an `operator` that names no audience: that site's warnings could reach no one).
    pub notes: Vec<String>,
}

/// Entities stored per transaction by an import (and per step of its progress).
pub const IMPORT_BATCH: usize = 2_000;

fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EngineError::Input {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

fn input_err(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Input {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl Engine {
    /// Load `venues.csv`, `events.csv` and `audiences.toml` from `dir` (each optional, but at least
    /// one must exist). Parsing happens before anything is written, so a bad file stores nothing.
    pub fn import_registry(&self, dir: &Path, ctx: &AuditCtx) -> Result<ImportSummary> {
        self.import_registry_with(dir, ctx, &|_, _| {})
    }

    /// [`Self::import_registry`], telling `progress(done, total)` the entities stored so far.
    /// They are stored in batches of [`IMPORT_BATCH`], each its own transaction: an import that
    /// fails part-way keeps the batches before, and importing again completes it (an upsert).
    pub fn import_registry_with(
        &self,
        dir: &Path,
        ctx: &AuditCtx,
        progress: &dyn Fn(u64, u64),
    ) -> Result<ImportSummary> {
        let venues_path = dir.join("venues.csv");
        let events_path = dir.join("events.csv");
        let aud_path = dir.join("audiences.toml");
        let venues = match read(&venues_path)? {
            Some(t) => tocsin_formats::registry::parse_venues_csv(&t)
                .map_err(|e| input_err(&venues_path, e))?,
            None => Vec::new(),
        };
        let events = match read(&events_path)? {
            Some(t) => tocsin_formats::registry::parse_events_csv(&t, &venues)
                .map_err(|e| input_err(&events_path, e))?,
            None => Vec::new(),
        };
        let audiences = match read(&aud_path)? {
            Some(t) => tocsin_formats::registry::parse_audiences_toml(&t)
                .map_err(|e| input_err(&aud_path, e))?,
            None => Vec::new(),
        };
        if venues.is_empty() && events.is_empty() && audiences.is_empty() {
            return Err(input_err(
                dir,
                "no venues.csv, events.csv or audiences.toml found",
            ));
        }
        let all: Vec<_> = venues.iter().chain(events.iter()).cloned().collect();
        let incoming: Vec<String> = audiences.iter().map(|a| a.id.to_string()).collect();
        let mut notes = self.registry_notes("venues.csv", &venues, &incoming)?;
        notes.extend(self.registry_notes("events.csv", &events, &incoming)?);
        let total = all.len() as u64;
        progress(0, total);
        for (i, batch) in all.chunks(IMPORT_BATCH).enumerate() {
            self.upsert_entities(batch, ctx)?;
            progress((i * IMPORT_BATCH + batch.len()) as u64, total);
        }
        if !audiences.is_empty() {
            for a in &audiences {
                a.id.check().map_err(|e| input_err(dir, e))?;
            }
            self.store.upsert_audiences(&audiences, ctx)?;
        }
        Ok(ImportSummary {
            venues: venues.len(),
            events: events.len(),
            audiences: audiences.len(),
            notes,
            ..Default::default()
        })
    }

    /// What is accepted but looks wrong in registry rows from `file`: rows whose `operator` names
    /// no audience (neither stored nor in `incoming`, the audience ids imported alongside), and
    /// categories not in the taxonomy. One sentence each, naming the file and the rows.
    pub fn registry_notes(
        &self,
        file: &str,
        list: &[tocsin_core::Entity],
        incoming: &[String],
    ) -> Result<Vec<String>> {
        let mut known: std::collections::BTreeSet<String> = self
            .store
            .audiences()?
            .into_iter()
            .map(|a| a.id.to_string())
            .collect();
        known.extend(incoming.iter().cloned());
        let mut notes = Vec::new();
        let unknown: Vec<String> = list
            .iter()
            .flat_map(|e| {
                e.audiences
                    .iter()
                    .filter(|a| !known.contains(a.as_str()))
                    .map(move |a| format!("{} ({})", e.id, a))
            })
            .collect();
        if !unknown.is_empty() {
            const SHOWN: usize = 20;
            let more = unknown.len().saturating_sub(SHOWN);
            notes.push(format!(
                "{file}: {} row(s) name an operator that is no audience (in audiences.toml or the store), so nobody is warned about them until it exists: {}{}",
                unknown.len(),
                unknown[..unknown.len().min(SHOWN)].join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
        }
        let mut unknown: std::collections::BTreeMap<&tocsin_core::Category, Vec<&str>> =
            Default::default();
        for e in list
            .iter()
            .filter(|e| !self.config.taxonomy.knows(&e.category))
        {
            unknown.entry(&e.category).or_default().push(e.id.as_str());
        }
        for (c, ids) in unknown {
            let whose = format!(
                "{file}: {}{}",
                ids[..ids.len().min(5)].join(", "),
                if ids.len() > 5 {
                    format!(" and {} more", ids.len() - 5)
                } else {
                    String::new()
                }
            );
            notes.extend(self.config.taxonomy.note(c, &whose));
        }
        Ok(notes)
    }

    /// Parse a portion-marked report file (see docs/formats.md) into a threat, without storing it.
    pub fn parse_report_file(path: &Path) -> Result<tocsin_core::Threat> {
        let text = read(path)?.ok_or_else(|| input_err(path, "file not found"))?;
        tocsin_formats::report::parse_report(&text).map_err(|e| input_err(path, e))
    }

    /// Registry and audiences, then every `*.txt` report in `dir` (ingested and matched).
    pub fn import_dir(&self, dir: &Path, ctx: &AuditCtx) -> Result<ImportSummary> {
        self.import_dir_with(dir, ctx, &|_, _| {})
    }

    /// [`Self::import_dir`], telling `progress(done, total)` how many of the registry's entities
    /// and then of the reports are stored.
    pub fn import_dir_with(
        &self,
        dir: &Path,
        ctx: &AuditCtx,
        progress: &dyn Fn(u64, u64),
    ) -> Result<ImportSummary> {
        let mut reports: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| input_err(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        reports.sort();
        let n_reports = reports.len() as u64;
        let mut summary =
            self.import_registry_with(dir, ctx, &|done, total| progress(done, total + n_reports))?;
        let entities = (summary.venues + summary.events) as u64;
        for (i, path) in reports.into_iter().enumerate() {
            progress(entities + i as u64, entities + n_reports);
            let threat = Self::parse_report_file(&path)?;
            if self.store.threat(&threat.id)?.is_some() {
                continue; // importing the same directory twice must not fail or duplicate
            }
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            summary.notes.extend(
                self.category_notes(&threat)
                    .into_iter()
                    .map(|n| format!("{}: {n}", name.as_deref().unwrap_or("report"))),
            );
            self.ingest_threat(&threat, ctx)?;
            summary.matches += self.compute_matches(&threat.id, ctx)?.len();
            summary.threats += 1;
        }
        progress(entities + n_reports, entities + n_reports);
        Ok(summary)
    }
}
