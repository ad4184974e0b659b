//! `tocsin verify`: the audit chain.

use super::Globals;
use anyhow::{bail, Result};

pub fn run(g: &Globals) -> Result<()> {
    let store = g.db.open()?;
    match store.verify_audit()? {
        Ok(head) => println!(
            "audit chain verified: {} events, head {head}",
            store.audit_events()?.len()
        ),
        Err(b) => bail!("{b}"),
    }
    Ok(())
}
