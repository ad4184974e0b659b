//! The web console (docs/console.md): static HTML, CSS and ES modules under `console/`, embedded
//! in the binary so `tocsin serve` works from any directory. `/` serves the page, `/console/{file}`
//! its assets. The console talks only to this server's API.
//!
//! Every console response carries a Content-Security-Policy that allows nothing but this origin:
//! no CDN, no external fonts or map tiles, no inline script. The basemap ships in `basemap.json`.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// Allows this origin only; `img-src data:` is for nothing external (SVG is drawn in the DOM).
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file: name under `console/`, MIME type, bytes.
struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $mime:expr) => {
        Asset {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!("../console/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    // The recipient's page at `/r/{token}` (recipient_page.rs).
    asset!("recipient.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("map.js", JS),
    asset!("views.js", JS),
    asset!("basemap.json", "application/json"),
    asset!("cities.json", "application/json"),
    asset!("BASEMAP-LICENSE.txt", "text/plain; charset=utf-8"),
];

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// `/`, `/console/{file}` and `/console/clock.json`; merged into the main router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/clock.json", get(clock))
        .route("/console/:file", get(file))
}

/// The server's "now" (which `serve --clock-start` may set in the past), so the posture board
/// judges "overdue" by the same clock as the scheduler, not by the browser's.
async fn clock(State(st): State<AppState>) -> Response {
    let mut r = Json(json!({ "now": st.now() })).into_response();
    secure(r.headers_mut());
    r
}

async fn index() -> Response {
    serve(find("index.html").expect("index.html is embedded"))
}

async fn file(Path(name): Path<String>) -> Response {
    match find(&name) {
        Some(a) => serve(a),
        None => {
            let mut r = crate::problem::Problem::from_status(
                StatusCode::NOT_FOUND,
                format!("no console file {name:?}"),
            )
            .into_response();
            secure(r.headers_mut());
            r
        }
    }
}

fn serve(a: &'static Asset) -> Response {
    let mut r = (StatusCode::OK, a.body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
    secure(h);
    r
}

pub(crate) fn secure(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn state() -> AppState {
        let store = tocsin_store_sqlite::SqliteStore::open_in_memory().unwrap();
        AppState::new(std::sync::Arc::new(store)).with_clock(|| {
            chrono::DateTime::parse_from_rfc3339("2024-03-06T08:30:00Z")
                .unwrap()
                .to_utc()
        })
    }

    async fn get_path(path: &str) -> Response {
        router()
            .with_state(state())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_whole_server_mounts_the_console_at_the_root() {
        let app = crate::router(state());
        let r = app
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert!(std::str::from_utf8(&body)
            .unwrap()
            .contains(r#"<script type="module" src="/console/app.js">"#));
        // The console adds pages, not holes: the API still needs a credential.
        let r = app
            .oneshot(Request::get("/api/v1/threats").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_clock_is_the_servers() {
        let r = get_path("/console/clock.json").await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["now"], "2024-03-06T08:30:00Z");
    }

    #[test]
    fn every_file_in_the_console_directory_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                find(&name).is_some(),
                "console/{name} exists but is not in ASSETS: the binary would not serve it"
            );
        }
        for a in ASSETS {
            assert!(!a.body.is_empty(), "console/{} is empty", a.name);
        }
    }

    #[test]
    fn no_console_file_names_an_external_url() {
        // CSP would block them anyway; this catches them before a browser does.
        for a in ASSETS.iter().filter(|a| {
            a.name.ends_with(".js") || a.name.ends_with(".html") || a.name.ends_with(".css")
        }) {
            // The SVG namespace is a name, never fetched.
            let text = std::str::from_utf8(a.body)
                .unwrap()
                .replace("http://www.w3.org/2000/svg", "");
            for bad in ["http://", "https://", "//fonts.", "cdn."] {
                assert!(!text.contains(bad), "console/{} mentions {bad:?}", a.name);
            }
        }
    }

    #[tokio::test]
    async fn index_and_assets_are_served_with_a_self_only_policy() {
        for (path, mime) in [
            ("/", "text/html"),
            ("/console/app.js", "text/javascript"),
            ("/console/basemap.json", "application/json"),
        ] {
            let r = get_path(path).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert!(
                r.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with(mime),
                "{path}"
            );
            assert_eq!(
                r.headers()[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY,
                "{path}"
            );
        }
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
    }

    #[tokio::test]
    async fn unknown_and_traversing_names_are_404() {
        for path in [
            "/console/nope.js",
            "/console/..%2FCargo.toml",
            "/console/%2e%2e%2fsrc%2flib.rs",
        ] {
            let r = get_path(path).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(r.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        }
    }
}
