//! Feed runs: `GET /api/v1/feeds/runs` (every run with its counts, oldest first) and
//! `GET /api/v1/feeds/runs/{id}`. Viewer role. The counts carry no addresses or organisation
//! names, only numbers, organisation ids and the malformed rows' line numbers and reasons.
//!
//! The constituency: `GET /api/v1/feeds/constituency`, analyst role, because it lists every
//! organisation's contacts and networks.

use super::Reply;
use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use serde::Serialize;
use serde_json::Value;
use tocsin_core::Timestamp;
use tocsin_store::feeds::FeedRunRecord;
use utoipa::ToSchema;

/// One feed run and its counts (docs/feeds.md).
#[derive(Serialize, ToSchema)]
pub struct FeedRun {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Events read, matched, notifications written, malformed rows (line and reason).
    #[schema(value_type = Object)]
    pub counts: Value,
}

impl From<FeedRunRecord> for FeedRun {
    fn from(r: FeedRunRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            counts: r.summary,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FeedRunList {
    pub count: usize,
    pub items: Vec<FeedRun>,
}

#[utoipa::path(get, path = "/api/v1/feeds/runs", tag = "feeds",
    responses((status = 200, description = "CERT feed runs (docs/feeds.md)", body = FeedRunList)))]
pub async fn runs(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Reply<FeedRunList>, Problem> {
    st.read(p, |store| {
        let items: Vec<FeedRun> = store.feed_runs()?.into_iter().map(FeedRun::from).collect();
        Ok(FeedRunList {
            count: items.len(),
            items,
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/feeds/runs/{id}", tag = "feeds",
    params(("id" = String, Path, description = "Feed run id")),
    responses((status = 200, description = "One feed run with its counts", body = FeedRun)))]
pub async fn run(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<FeedRun>, Problem> {
    st.read(p, move |store| {
        store
            .feed_run(&id)?
            .map(FeedRun::from)
            .ok_or_else(|| Problem::not_found("feed run", &id))
    })
    .await
}

/// The stored constituency (docs/feeds.md, "The constituency file"), by organisation id.
#[derive(Serialize, ToSchema)]
pub struct Constituency {
    pub count: usize,
    /// One object per organisation as imported: `id`, `name`, `networks`, `asns`, `domains`,
    /// `emails`, `webhooks`, `interval`, `interval_by_type`, `inhibitions`, `tlp`; the `*` row's
    /// settings under id `*`.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

#[utoipa::path(get, path = "/api/v1/feeds/constituency", tag = "feeds",
    responses((status = 200, description = "The CERT's constituency as last imported (docs/feeds.md)", body = Constituency)))]
pub async fn constituency(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Reply<Constituency>, Problem> {
    st.read(p, |store| {
        let items = store
            .constituency()?
            .into_iter()
            .map(|(id, json)| {
                serde_json::from_str::<Value>(&json).map_err(|e| {
                    tocsin_store::StoreError::Corrupt {
                        kind: "organisation",
                        id,
                        reason: e.to_string(),
                    }
                    .into()
                })
            })
            .collect::<Result<Vec<Value>, Problem>>()?;
        Ok(Constituency {
            count: items.len(),
            items,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use crate::{issue_token, router, AppState, Role};
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use serde_json::{json, Value};
    use std::sync::Arc;
    use tocsin_store::feeds::FeedRunRecord;
    use tocsin_store::{AuditCtx, Store};
    use tocsin_store_sqlite::SqliteStore;
    use tower::ServiceExt;

    async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::builder().uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn feed_runs_are_listed_for_viewers_and_need_a_token() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let ctx = AuditCtx::new("test", chrono::Utc::now());
        let run = FeedRunRecord {
            id: "day1".into(),
            at: ctx.at,
            summary: json!({"events": 10, "matched": 7, "notifications": 3}),
        };
        store.insert_feed_run(&run, &ctx).unwrap();
        let viewer = issue_token(store.as_ref(), Role::Viewer, "v", None, &ctx).unwrap();
        let app = router(AppState::new(store));
        assert_eq!(
            get(&app, "/api/v1/feeds/runs", None).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (s, v) = get(&app, "/api/v1/feeds/runs", Some(&viewer)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["count"], 1);
        assert_eq!(v["items"][0]["counts"]["notifications"], 3);
        let (s, v) = get(&app, "/api/v1/feeds/runs/day1", Some(&viewer)).await;
        assert_eq!((s, &v["counts"]["matched"]), (StatusCode::OK, &json!(7)));
        assert_eq!(
            get(&app, "/api/v1/feeds/runs/nope", Some(&viewer)).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn the_constituency_is_shown_to_analysts_not_viewers() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let ctx = AuditCtx::new("test", chrono::Utc::now());
        let org = json!({"id": "klinik", "name": "Klinikum", "emails": ["it@klinik.example"],
            "networks": ["198.51.100.0/24"], "tlp": "red"});
        store
            .replace_constituency(&[("klinik".into(), org.to_string())], &ctx)
            .unwrap();
        let viewer = issue_token(store.as_ref(), Role::Viewer, "v", None, &ctx).unwrap();
        let analyst = issue_token(store.as_ref(), Role::Analyst, "a", None, &ctx).unwrap();
        let app = router(AppState::new(store));
        let uri = "/api/v1/feeds/constituency";
        assert_eq!(get(&app, uri, None).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(get(&app, uri, Some(&viewer)).await.0, StatusCode::FORBIDDEN);
        let (s, v) = get(&app, uri, Some(&analyst)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["count"], 1);
        assert_eq!(v["items"][0], org);
    }
}
