//! `tocsin user create|list|disable`: the people who use the console and own tokens
//! (docs/security.md). Passwords come only on standard input and are stored as Argon2id hashes.

use super::Globals;
use anyhow::{Context, Result};
use std::io::BufRead;
use tocsin_auth::Role;
use tocsin_core::{Classification, CountryCode};
use tocsin_store::accounts::UserPatch;
use tocsin_store::AuditCtx;

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user with a role, a clearance and a nationality.
    Create(CreateArgs),
    /// List the users (never a password or its hash).
    List,
    /// Disable a user: their sessions end now and their tokens stop working.
    Disable(DisableArgs),
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// 1 to 64 characters a-z, 0-9, '.', '_' or '-' (stored in lower case).
    #[arg(long)]
    username: String,
    /// viewer, analyst, approver or admin.
    #[arg(long)]
    role: Role,
    /// The highest classification the user may read: U, C, S, TS (or UNCLASSIFIED, CONFIDENTIAL,
    /// SECRET, TOP_SECRET).
    #[arg(long, value_parser = parse_clearance)]
    clearance: Classification,
    /// ISO 3166-1 alpha-3 code (USA, GBR): NOFORN and REL TO are judged against it.
    #[arg(long, value_parser = parse_country)]
    nationality: CountryCode,
    /// Read the password from the first line of standard input (at least 12 characters). Without
    /// it the user has no password and signs in only through tokens.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(clap::Args, Debug)]
pub struct DisableArgs {
    /// The username (or the numeric id).
    user: String,
}

fn parse_clearance(s: &str) -> std::result::Result<Classification, String> {
    tocsin_auth::parse_clearance(s).map_err(|e| e.to_string())
}

fn parse_country(s: &str) -> std::result::Result<CountryCode, String> {
    CountryCode::parse(s).map_err(|e| e.to_string())
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !pw.is_empty(),
        "--password-stdin: standard input had no password on its first line"
    );
    Ok(pw)
}

pub fn run(cmd: UserCommand, g: &Globals) -> Result<()> {
    // Read the password before opening the store, so a prompt-less pipe is consumed first.
    let password = match &cmd {
        UserCommand::Create(a) if a.password_stdin => Some(read_password()?),
        _ => None,
    };
    let store = g.db.open()?;
    let now = chrono::Utc::now();
    let ctx = AuditCtx::new("cli:user", now);
    match cmd {
        UserCommand::Create(a) => {
            let u = tocsin_auth::create_user(
                store.as_ref(),
                &a.username,
                a.role,
                a.clearance,
                a.nationality,
                password.as_deref(),
                &ctx,
            )?;
            println!(
                "user {} created: {} ({}, cleared {}, {})",
                u.id,
                u.username,
                u.role,
                u.clearance.abbrev(),
                u.nationality
            );
        }
        UserCommand::List => {
            println!(
                "{:>4}  {:<24}  {:<8}  {:<9}  {:<11}  {:<8}  {:<8}  CREATED",
                "ID", "USERNAME", "ROLE", "CLEARANCE", "NATIONALITY", "PASSWORD", "STATUS"
            );
            for u in store.users()? {
                println!(
                    "{:>4}  {:<24}  {:<8}  {:<9}  {:<11}  {:<8}  {:<8}  {}",
                    u.id,
                    u.username,
                    u.role,
                    u.clearance.abbrev(),
                    u.nationality,
                    if u.password_hash.is_some() {
                        "set"
                    } else {
                        "none"
                    },
                    if u.disabled { "disabled" } else { "active" },
                    u.created_at.format("%Y-%m-%d %H:%M UTC"),
                );
            }
        }
        UserCommand::Disable(a) => {
            let found = match a.user.parse::<i64>() {
                Ok(id) => store.user(id)?,
                Err(_) => store.user_by_name(&tocsin_auth::normalize_username(&a.user)?)?,
            };
            let u = found.with_context(|| {
                format!("user {:?} is not in the store (tocsin user list)", a.user)
            })?;
            store.update_user(
                u.id,
                &UserPatch {
                    disabled: Some(true),
                    ..UserPatch::default()
                },
                &ctx,
            )?;
            println!(
                "user {} ({}) disabled; their sessions are ended and their tokens refused",
                u.id, u.username
            );
        }
    }
    Ok(())
}
