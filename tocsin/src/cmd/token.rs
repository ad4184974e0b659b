//! `tocsin token create|list|revoke`: API tokens for people and for partners' TAXII/CAP access
//! (docs/security.md). Secrets are printed once and stored only as hashes.

use super::Globals;
use anyhow::{Context, Result};
use tocsin_auth::{Role, Scope, TokenSpec};
use tocsin_store::AuditCtx;

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once and stored only as a hash.
    Create(CreateArgs),
    /// List every token (id, label, role, scopes, owner, expiry, status); never a secret.
    List,
    /// Revoke a token by id: every later request with it is refused (401).
    Revoke(RevokeArgs),
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// viewer, analyst, approver or admin.
    #[arg(long)]
    role: Role,
    /// Who or what the token is for (recorded as the actor of its writes when it has no user).
    #[arg(long)]
    label: String,
    /// What the token may be used for: comma-separated read, write, approve, admin (default:
    /// every scope its role can use). Rights are the role and the scopes together.
    #[arg(long, value_parser = parse_scopes)]
    scopes: Option<ScopeList>,
    /// The user the token acts as (their identity and clearance; their role caps the token's).
    #[arg(long)]
    user: Option<String>,
    /// Bind the token to an audience: it may then read only that audience's TAXII collection and
    /// alerts, never the staff API.
    #[arg(long)]
    audience: Option<String>,
    /// Expire after this long: `30d`, `12h`, `90m` (default: never).
    #[arg(long, value_parser = parse_span, conflicts_with = "expires_days")]
    expires_in: Option<chrono::Duration>,
    /// Expire after this many days (kept for scripts; `--expires-in Nd` is the same).
    #[arg(long)]
    expires_days: Option<i64>,
}

#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    /// The token's id (`tocsin token list`).
    id: i64,
}

/// One `--scopes` value (a newtype so clap takes the list as one value).
#[derive(Debug, Clone)]
pub struct ScopeList(Vec<Scope>);

fn parse_scopes(s: &str) -> std::result::Result<ScopeList, String> {
    Scope::parse_list(s)
        .map(ScopeList)
        .map_err(|e| e.to_string())
}

fn parse_span(s: &str) -> std::result::Result<chrono::Duration, String> {
    tocsin_auth::parse_duration(s).map_err(|e| e.to_string())
}

pub fn run(cmd: TokenCommand, g: &Globals) -> Result<()> {
    let store = g.db.open()?;
    let now = chrono::Utc::now();
    let ctx = AuditCtx::new("cli:token", now);
    match cmd {
        TokenCommand::Create(a) => {
            if let Some(aud) = &a.audience {
                anyhow::ensure!(
                    store.audience(&aud.as_str().into())?.is_some(),
                    "audience {aud:?} is not in the store"
                );
            }
            let user_id = match &a.user {
                Some(name) => {
                    let name = tocsin_auth::normalize_username(name)?;
                    Some(
                        store
                            .user_by_name(&name)?
                            .with_context(|| {
                                format!("user {name:?} is not in the store (tocsin user list)")
                            })?
                            .id,
                    )
                }
                None => None,
            };
            let expires_in = match (a.expires_in, a.expires_days) {
                (Some(d), _) => Some(d),
                (None, Some(days)) => Some(
                    chrono::Duration::try_days(days)
                        .filter(|_| days > 0)
                        .context("--expires-days must be a positive number of days")?,
                ),
                (None, None) => None,
            };
            let spec = TokenSpec {
                role: a.role,
                label: a.label,
                expires_at: expires_in.map(|d| now + d),
                scopes: a
                    .scopes
                    .map(|ScopeList(s)| s)
                    .unwrap_or_else(|| Scope::up_to(a.role)),
                user_id,
            };
            let (secret, id) = tocsin_auth::issue_scoped_token(store.as_ref(), &spec, &ctx)?;
            if let Some(aud) = &a.audience {
                store.set_token_audience(id, Some(&aud.as_str().into()), &ctx)?;
            }
            eprintln!("token {id} created; the secret below is shown only now");
            println!("{secret}");
        }
        TokenCommand::List => {
            let users: std::collections::HashMap<i64, String> = store
                .users()?
                .into_iter()
                .map(|u| (u.id, u.username))
                .collect();
            println!(
                "{:>4}  {:<8}  {:<8}  {:<24}  {:<12}  {:<20}  {:<14}  LABEL",
                "ID", "STATUS", "ROLE", "SCOPES", "USER", "EXPIRES", "AUDIENCE"
            );
            for t in store.tokens()? {
                let scopes = tocsin_auth::token::token_scopes(&t);
                println!(
                    "{:>4}  {:<8}  {:<8}  {:<24}  {:<12}  {:<20}  {:<14}  {}",
                    t.id,
                    tocsin_auth::token::token_status(&t, now),
                    t.role,
                    scopes.join(","),
                    t.user_id
                        .map(|id| users.get(&id).cloned().unwrap_or_else(|| format!("#{id}")))
                        .unwrap_or_else(|| "-".into()),
                    t.expires_at
                        .map(|e| e.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "never".into()),
                    t.audience_id
                        .as_ref()
                        .map(|a| a.as_str().to_owned())
                        .unwrap_or_else(|| "-".into()),
                    t.label,
                );
            }
        }
        TokenCommand::Revoke(a) => {
            if store.revoke_token(a.id, &ctx)? {
                println!("token {} revoked", a.id);
            } else {
                println!("token {} was already revoked", a.id);
            }
        }
    }
    Ok(())
}
