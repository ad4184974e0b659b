//! `tocsin token create`: API tokens for people and for partners' TAXII/CAP access.

use super::Globals;
use anyhow::{Context, Result};
use tocsin_server::Role;
use tocsin_store::{AuditCtx, Exchange, SqliteStore, Store};

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once and stored only as a hash.
    Create(CreateArgs),
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// viewer, analyst, approver or admin.
    #[arg(long)]
    role: Role,
    /// Who or what the token is for (recorded as the actor of its writes).
    #[arg(long)]
    label: String,
    /// Bind the token to an audience: it may then read only that audience's TAXII collection and
    /// alerts, never the staff API.
    #[arg(long)]
    audience: Option<String>,
    /// Expire after this many days (default: never).
    #[arg(long)]
    expires_days: Option<i64>,
}

pub fn run(cmd: TokenCommand, g: &Globals) -> Result<()> {
    let TokenCommand::Create(a) = cmd;
    let store = SqliteStore::open(&g.db).with_context(|| format!("opening store {}", g.db.display()))?;
    let now = chrono::Utc::now();
    let ctx = AuditCtx::new("cli:token", now);
    if let Some(aud) = &a.audience {
        anyhow::ensure!(store.audience(&aud.as_str().into())?.is_some(), "audience {aud:?} is not in the store");
    }
    let expires = a.expires_days.map(|d| now + chrono::Duration::days(d));
    let secret = tocsin_server::issue_token(&store, a.role, &a.label, expires, &ctx)?;
    if let Some(aud) = &a.audience {
        let rec = store.token_by_hash(&tocsin_server::hash_token(&secret))?.context("the new token is not in the store")?;
        store.set_token_audience(rec.id, Some(&aud.as_str().into()), &ctx)?;
    }
    println!("{secret}");
    Ok(())
}
