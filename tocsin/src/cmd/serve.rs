//! `tocsin serve`: the HTTP API over the store.

use super::{open_engine, Globals};
use anyhow::Result;
use std::net::SocketAddr;
use std::sync::Arc;
use tocsin_store::Store;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080", env = "TOCSIN_LISTEN")]
    listen: SocketAddr,
    /// Load the reference case into the store at start (skipped if it is already there).
    #[arg(long)]
    demo: bool,
}

pub async fn run(args: ServeArgs, g: &Globals) -> Result<()> {
    let engine = open_engine(&g.db, g.outbox.clone())?;
    if args.demo && engine.store().threat(&"moscow-2024-03".into())?.is_none() {
        super::demo::load_into(&engine, None)?;
        tracing::info!("reference case loaded into {}", g.db.display());
    }
    let store: Arc<dyn Store> = engine.store().clone();
    let given = std::env::var("TOCSIN_ADMIN_TOKEN").ok().filter(|s| !s.is_empty());
    if let Some(secret) = tocsin_server::bootstrap_admin_token(store.as_ref(), given.as_deref(), chrono::Utc::now())? {
        // Printed once, on stdout only; the store keeps nothing but its hash.
        println!("admin token (shown once, store it now): {secret}");
    }
    tracing::info!("listening on http://{}", args.listen);
    tocsin_server::serve(tocsin_server::AppState::new(store), args.listen).await?;
    Ok(())
}
