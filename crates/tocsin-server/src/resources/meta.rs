//! The server itself: `GET /health`.

use super::Reply;
use crate::problem::Problem;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`: an answer at all is the news.
    pub status: String,
    /// This build's version.
    pub version: String,
}

#[utoipa::path(get, path = "/health", tag = "meta",
    responses((status = 200, description = "The server is up", body = Health)))]
#[allow(clippy::unused_async)]
pub async fn health() -> Result<Reply<Health>, Problem> {
    Reply::new(&Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
