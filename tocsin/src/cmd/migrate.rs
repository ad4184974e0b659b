//! `tocsin migrate --from LOCATION --to LOCATION`: copy a whole store to another backend (SQLite →
//! PostgreSQL when a deployment outgrows one machine, or back), then prove the copy.
//!
//! The copy is table by table through `tocsin_store::Dump` (raw cells, so JSON records and the
//! audit chain travel byte for byte) into an EMPTY, freshly migrated target; then every table's row
//! count is compared and the target's audit chain is verified from genesis: its head hash must be
//! the source's. Writers on the source should be stopped first: a count that moved is reported.

use super::DbLocation;
use crate::progress::{Mode, Progress};
use anyhow::{bail, ensure, Context, Result};
use serde_json::json;
use std::sync::mpsc::sync_channel;
use std::time::Instant;
use tocsin_store::{Dump, SqlValue, StoreError};

/// Tables that are coordination between running processes, not data (see
/// `tocsin_store::coordination`): a copy starts with no leader.
const NOT_COPIED: &[&str] = &["leaders"];

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The store to copy: a SQLite path, `sqlite:PATH` or `postgres://…` (must exist).
    #[arg(long)]
    from: DbLocation,
    /// The empty store to copy into (created and migrated if it is a SQLite file).
    #[arg(long)]
    to: DbLocation,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug)]
struct TableCopy {
    table: String,
    source_rows: u64,
    target_rows: u64,
}

pub fn run(a: MigrateArgs) -> Result<()> {
    ensure!(
        a.from != a.to,
        "--from and --to are the same store ({}): nothing to migrate",
        a.from
    );
    if let (DbLocation::Sqlite(f), DbLocation::Sqlite(t)) = (&a.from, &a.to) {
        if let (Ok(f), Ok(t)) = (f.canonicalize(), t.canonicalize()) {
            ensure!(
                f != t,
                "--from and --to are the same file ({}): nothing to migrate",
                f.display()
            );
        }
    }
    if let DbLocation::Sqlite(p) = &a.from {
        // Opening would create an empty file and "migrate" nothing.
        ensure!(p.is_file(), "--from {}: no such SQLite file", p.display());
    }
    let started = Instant::now();
    let (source, source_dump) = a.from.open_for_copy().context("--from")?;
    let (target, target_dump) = a.to.open_for_copy().context("--to")?;

    let source_head = match source.verify_audit()? {
        Ok(head) => head,
        Err(b) => bail!(
            "--from {}: the audit chain is broken ({b}); repair or investigate it before copying",
            a.from
        ),
    };
    let target_counts = target_dump.table_counts()?;
    if let Some((table, n)) = target_counts
        .iter()
        .find(|(t, n)| **n > 0 && !NOT_COPIED.contains(&t.as_str()))
    {
        bail!("--to {} is not empty: table {table} holds {n} row(s); migrate copies only into an empty database", a.to);
    }

    let tables: Vec<String> = source_dump
        .tables()?
        .into_iter()
        .filter(|t| !NOT_COPIED.contains(&t.as_str()))
        .collect();
    let target_tables = target_dump.tables()?;
    for t in &tables {
        ensure!(
            target_tables.contains(t),
            "--to {} has no table {t}: is it an older Tocsin schema?",
            a.to
        );
        let (sc, tc) = (source_dump.table_columns(t)?, target_dump.table_columns(t)?);
        if let Some(c) = sc.iter().find(|c| !tc.contains(c)) {
            bail!(
                "--to {}: table {t} has no column {c} (the two schemas differ)",
                a.to
            );
        }
    }

    let to_copy: u64 = {
        let counts = source_dump.table_counts()?;
        tables.iter().filter_map(|t| counts.get(t)).sum()
    };
    let progress = Progress::new(Mode::detect(a.json), "copying", "rows", Some(to_copy));
    for t in &tables {
        let columns = source_dump.table_columns(t)?;
        let n = copy_table(source_dump.as_ref(), target_dump.as_ref(), t, &columns, &progress).with_context(|| format!("copying table {t} (the target now holds a partial copy: drop and re-create it before retrying)"))?;
        tracing::debug!(table = %t, rows = n, "copied");
    }
    progress.finish(&format!("{} tables", tables.len()));

    // Proof: counts per table, then the chain re-verified on the target.
    let (sc, tc) = (source_dump.table_counts()?, target_dump.table_counts()?);
    let mut report = Vec::new();
    let mut mismatched = Vec::new();
    for t in &tables {
        let (s, d) = (
            sc.get(t).copied().unwrap_or(0),
            tc.get(t).copied().unwrap_or(0),
        );
        if s != d {
            mismatched.push(format!("{t}: {s} in the source, {d} in the target"));
        }
        report.push(TableCopy {
            table: t.clone(),
            source_rows: s,
            target_rows: d,
        });
    }
    ensure!(
        mismatched.is_empty(),
        "row counts differ after the copy (was the source written meanwhile?): {}",
        mismatched.join("; ")
    );
    let target_head = match target.verify_audit()? {
        Ok(head) => head,
        Err(b) => bail!(
            "the copy's audit chain does not verify on --to {}: {b}",
            a.to
        ),
    };
    ensure!(
        target_head == source_head,
        "the copy's chain head {target_head} differs from the source's {source_head}"
    );
    let events = target.audit_events()?.len();
    let rows: u64 = report.iter().map(|r| r.target_rows).sum();
    let secs = started.elapsed().as_secs_f64();

    if a.json {
        let summary = json!({
            "from": a.from.to_string(),
            "to": a.to.to_string(),
            "tables": report.iter().map(|r| json!({"table": r.table, "source_rows": r.source_rows, "target_rows": r.target_rows})).collect::<Vec<_>>(),
            "rows": rows,
            "audit_events": events,
            "chain_head": target_head,
            "chain_verified": true,
            "counts_verified": true,
            "seconds": secs,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("migrated {} → {}", a.from, a.to);
        for r in &report {
            println!("  {:<24} {:>10} rows  ✓", r.table, r.target_rows);
        }
        println!("{rows} rows in {} tables, counts verified; audit chain verified on the target: {events} events, head {target_head} (same as the source)", report.len());
        println!("took {secs:.1} s");
    }
    Ok(())
}

/// Stream one table: the source dumps on its own thread into a bounded channel the target loads
/// from, so a large table never sits in memory whole.
fn copy_table(
    source: &dyn Dump,
    target: &dyn Dump,
    table: &str,
    columns: &[String],
    progress: &Progress,
) -> Result<u64> {
    let (tx, rx) = sync_channel::<Vec<SqlValue>>(1024);
    std::thread::scope(|s| {
        let dumper = s.spawn(move || {
            source.dump_table(table, &mut |row| {
                tx.send(row)
                    .map_err(|_| StoreError::Db("the target stopped loading".into()))
            })
        });
        let loaded = target.load_table(
            table,
            columns,
            &mut rx.into_iter().inspect(|_| progress.inc(1)),
        );
        let dumped = dumper
            .join()
            .map_err(|_| anyhow::anyhow!("reading table {table} panicked"))?;
        // The target's error explains a dump stopped by it; otherwise the dump's own error.
        let n = loaded?;
        dumped?;
        Ok(n)
    })
}
