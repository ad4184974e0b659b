//! The server itself: `GET /health`.

use axum::Json;
use serde_json::{json, Value};

#[utoipa::path(get, path = "/health", tag = "meta",
    responses((status = 200, description = "The server is up", body = crate::openapi::Health)))]
#[allow(clippy::unused_async)]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}
