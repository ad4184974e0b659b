//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every error the API returns goes through [`Problem`], so clients parse one shape. Internal
//! details (SQL, file paths) never reach the body: a 500 carries a short reference that is also
//! logged next to the real error.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tocsin_store::StoreError;

/// Media type of problem responses (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Prefix of the problem `type` URIs. They are identifiers, not links: docs/api.md lists them.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:tocsin:problem:";

/// One problem response.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// Short slug appended to [`PROBLEM_TYPE_PREFIX`], e.g. `unauthorized`.
    pub kind: &'static str,
    pub title: String,
    pub detail: String,
    /// Value of a `WWW-Authenticate` header to send (401 and 403 only).
    pub www_authenticate: Option<String>,
    /// Where invalid input is: a JSON Pointer into the body (`/measures/0`), or `query.NAME`,
    /// `header.NAME`, `line 3, column lat` for uploaded files. An RFC 9457 extension member.
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body9457<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// The RFC 9457 body of every error, as the OpenAPI document describes it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    /// `urn:tocsin:problem:<kind>` (docs/api.md lists the kinds).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For invalid input: where it is (JSON Pointer into the body, `query.NAME`, or file line and column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title: title.into(),
            detail: detail.into(),
            www_authenticate: None,
            field: None,
        }
    }

    /// 422 for input that parsed but is not acceptable, naming where it is.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "Unprocessable Content",
            detail,
        )
        .at(field)
    }

    /// Name where the problem is (see [`Problem::field`]).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 401: no usable credentials. `error` is the RFC 6750 error code (`invalid_token`), or `None`
    /// when the request carried no credentials at all (RFC 6750 §3.1: then no error code).
    pub fn unauthorized(detail: impl Into<String>, error: Option<&str>) -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        );
        p.www_authenticate = Some(match error {
            Some(code) => format!("Bearer realm=\"tocsin\", error=\"{code}\""),
            None => "Bearer realm=\"tocsin\"".to_owned(),
        });
        p
    }

    /// 403: the token is valid but its role is too low.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail);
        p.www_authenticate =
            Some("Bearer realm=\"tocsin\", error=\"insufficient_scope\"".to_owned());
        p
    }

    /// 404 naming what was not found.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            format!("{kind} {id:?} not found"),
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad Request",
            detail,
        )
    }

    /// 500 that tells the client only a reference; the cause is logged under the same reference.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let reference = hex::encode(rand::random::<[u8; 4]>());
        tracing::error!(reference = %reference, error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal Server Error",
            format!("the server could not complete the request (reference {reference}; see the server log)"),
        )
    }

    /// A problem for a bare status (used to turn framework errors such as 405 into problem+json).
    pub fn from_status(status: StatusCode, detail: impl Into<String>) -> Self {
        let kind = match status {
            StatusCode::BAD_REQUEST => "bad-request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            StatusCode::CONFLICT => "conflict",
            StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
            s if s.is_server_error() => "internal",
            _ => "error",
        };
        let title = status.canonical_reason().unwrap_or("Error");
        Self::new(status, kind, title, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body9457 {
            kind: format!("{PROBLEM_TYPE_PREFIX}{}", self.kind),
            title: &self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            field: self.field.as_deref(),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = Response::new(Body::from(bytes));
        *resp.status_mut() = self.status;
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(v) = self
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => Problem::not_found(kind, &id),
            // These name only ids and states, never SQL: safe to show (for the write routes).
            e @ (StoreError::Conflict { .. } | StoreError::InvalidState { .. }) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", e.to_string())
            }
            e @ StoreError::Invalid { .. } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Unprocessable Content",
                e.to_string(),
            ),
            other => Problem::internal(&other),
        }
    }
}

/// A JSON request body, read with the path of the first invalid member: a malformed document is a
/// 400, a well-formed one that does not fit the type a 422, both naming the JSON Pointer
/// (`/measures/0`) of the member in `field`. Replaces `axum::Json` for request bodies.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Largest JSON body read (an upload goes through its own route with its own limit).
const MAX_JSON_BODY: usize = 1024 * 1024;

#[axum::async_trait]
impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Problem::from_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "this route takes a JSON body (Content-Type: application/json)",
            )
            .at("header.content-type"));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
            .await
            .map_err(|_| {
                Problem::from_status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {MAX_JSON_BODY} bytes"),
                )
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserialize a request body `bytes` as `T`, naming the JSON Pointer of the first problem.
/// Every request body of the API is a JSON object: serde would also read a struct from an array
/// (by position), so `[null, null]` could pass as a patch with every member unset.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => {}
        Some(_) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "Unprocessable Content",
                "body: expected a JSON object",
            )
            .at("/"))
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let pointer = json_pointer(e.path());
            let inner = e.into_inner();
            let detail = if pointer.is_empty() {
                format!("body: {inner}")
            } else {
                format!("{pointer}: {inner}")
            };
            // serde reports a missing member at its parent: point at the member itself.
            let missing = inner
                .to_string()
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
                .map(str::to_owned);
            let field = match missing {
                Some(name) => format!("{pointer}/{name}"),
                None if pointer.is_empty() => "/".to_owned(),
                None => pointer,
            };
            let p = if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    "Bad Request",
                    detail,
                )
            } else {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-input",
                    "Unprocessable Content",
                    detail,
                )
            };
            Err(p.at(field))
        }
    }
}

/// RFC 6901 pointer of a serde path (`measures[0]` becomes `/measures/0`).
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        out.push('/');
        match seg {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn store_errors_do_not_leak_internals() {
        let e = StoreError::Db(
            "no such table: api_tokens (SELECT token_hash FROM /var/lib/tocsin.db)".into(),
        );
        let resp = Problem::from(e).into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            !text.contains("api_tokens") && !text.contains("tocsin.db"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["status"], 500);
        assert!(v["detail"].as_str().unwrap().contains("reference"));
    }

    #[test]
    fn json_errors_name_the_member() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            by: String,
            measures: Vec<u8>,
        }
        let p = parse_json::<B>(br#"{"by": "x", "measures": [1, "two"]}"#).unwrap_err();
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.field.as_deref(), Some("/measures/1"), "{p:?}");
        let p = parse_json::<B>(br#"{"measures": []}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("/by"), "{p:?}");
        assert!(p.detail.contains("missing field `by`"), "{p:?}");
        let p = parse_json::<B>(br#"{"by": "#).unwrap_err();
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_body_that_is_not_an_object_is_refused() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Patch {
            text: Option<String>,
            headline: Option<String>,
        }
        let req = |body: &'static str| {
            axum::http::Request::builder()
                .method("PATCH")
                .header(header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from(body))
                .unwrap()
        };
        use axum::extract::FromRequest;
        let p = ApiJson::<Patch>::from_request(req(" [null, null]"), &())
            .await
            .unwrap_err();
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.field.as_deref(), Some("/"));
        assert!(
            ApiJson::<Patch>::from_request(req("{\"text\": \"x\"}"), &())
                .await
                .is_ok()
        );
    }

    #[test]
    fn not_found_names_the_id() {
        let p: Problem = StoreError::NotFound {
            kind: "warning",
            id: "w-9".into(),
        }
        .into();
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert!(p.detail.contains("w-9"));
    }
}
