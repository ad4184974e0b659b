//! Deliveries: all of them or one warning's, the dead letters, and retrying one.

use super::{require_warning, Reply};
use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tocsin_core::tracking::{Delivery, DeliveryStatus};
use tocsin_core::WarningId;
use tocsin_store::AuditCtx;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub count: usize,
    pub items: Vec<Delivery>,
}

#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "deliveries",
    responses((status = 200, description = "Every dead-lettered delivery, oldest first", body = DeliveryList)))]
pub async fn dead_letters(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Reply<DeliveryList>, Problem> {
    st.read(p, |store| {
        let items = store.dead_letters()?;
        Ok(DeliveryList {
            count: items.len(),
            items,
        })
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "deliveries",
    params(("id" = i64, Path, description = "Delivery id (dead)")),
    responses((status = 200, description = "A fresh set of attempts, due now (its channel is enabled again)", body = Delivery)))]
pub async fn retry(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Json<Delivery>, Problem> {
    let store = st.store.clone();
    let now = st.now();
    tokio::task::spawn_blocking(move || {
        Ok(Json(
            store.retry_delivery(id, &AuditCtx::new(p.actor(), now))?,
        ))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

#[derive(Serialize, ToSchema)]
pub struct WarningDeliveries {
    #[schema(value_type = String)]
    pub warning_id: WarningId,
    pub count: usize,
    pub items: Vec<Delivery>,
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}/deliveries", tag = "deliveries",
    params(("id" = String, Path, description = "Warning id")),
    responses((status = 200, description = "Its deliveries", body = WarningDeliveries)))]
pub async fn warning_deliveries(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<WarningDeliveries>, Problem> {
    st.read(p, move |store| {
        let w = require_warning(store, &WarningId(id))?;
        let items = store.deliveries(Some(&w.id))?;
        Ok(WarningDeliveries {
            warning_id: w.id,
            count: items.len(),
            items,
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct DeliveryFilter {
    status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries",
    params(("status" = Option<tocsin_core::tracking::DeliveryStatus>, Query, description = "Only deliveries in this status")),
    responses((status = 200, description = "Deliveries", body = DeliveryList)))]
pub async fn deliveries(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<DeliveryFilter>,
) -> Result<Reply<DeliveryList>, Problem> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            Problem::bad_request(format!(
                "unknown delivery status {s:?} (expected pending, delivered, retrying or dead)"
            ))
            .at("query.status")
        })?),
    };
    st.read(p, move |store| {
        let mut ds = store.deliveries(None)?;
        if let Some(status) = status {
            ds.retain(|d| d.status == status);
        }
        Ok(DeliveryList {
            count: ds.len(),
            items: ds,
        })
    })
    .await
}
