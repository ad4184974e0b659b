//! Recipients' one-time links under `/r/{token}`: no account; the signed, single-use link is
//! the credential.

use super::with_engine;
use crate::problem::{ApiJson, Problem};
use crate::recipient_page as page;
use crate::AppState;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::Serialize;
use serde_json::json;
use serde_json::Value;
use std::sync::Arc;
use tocsin_core::followup::FeedbackKind;
use tocsin_core::i18n::{self, Tz};
use tocsin_core::links::LinkPurpose;
use tocsin_core::tracking::Measure;
use tocsin_engine::EngineError;
use tocsin_engine::{LinkOutcome, LinkRefusal};
use utoipa::ToSchema;

/// What a link is for and what to send to it.
#[derive(Serialize, ToSchema)]
pub struct LinkInfo {
    /// `acknowledge`, `posture` or `feedback`.
    #[schema(value_type = String)]
    pub purpose: LinkPurpose,
    /// `valid` (usable), `spent` (used; the same request is answered again until
    /// `replay_until`) or `expired`.
    pub state: String,
    /// When the link stops working.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<tocsin_core::Timestamp>,
    /// When it was used (`spent`).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub used_at: Option<tocsin_core::Timestamp>,
    /// Until when the same request gets the same answer and next link again (`spent`).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replay_until: Option<tocsin_core::Timestamp>,
    /// Always `POST`.
    pub method: String,
    #[schema(value_type = Object)]
    pub example_body: Value,
}

/// The form fields of `POST /r/{token}` from the recipient's page
/// (`application/x-www-form-urlencoded`): `measures` may repeat.
// `deny_unknown_fields` puts `additionalProperties: false` in the schema: the handler refuses an
// unknown field, naming it (`form_body`).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LinkForm {
    /// Posture: one per measure in place.
    measures: Vec<FormMeasure>,
    /// Posture: another measure, in the recipient's words.
    other: Option<String>,
    /// Posture: a note.
    note: Option<String>,
    /// Feedback: `too_general` (the page's default, also when empty), `useful` or `other`.
    #[schema(value_type = tocsin_core::followup::FeedbackKind, required = false)]
    kind: Option<String>,
    /// Feedback: what the recipient needs to know.
    text: Option<String>,
    /// The button pressed (`acknowledge`, `posture`, `feedback`); informative only.
    action: Option<String>,
}

/// The measures the page's checkboxes send (`measures=extra_screening`); a measure in the
/// recipient's own words goes in `other`. Only the schema of [`LinkForm`] names it.
#[derive(ToSchema, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum FormMeasure {
    ExtraScreening,
    DetectionDogs,
    StaffBriefed,
    EvacuationRoutes,
    ArmedGuards,
    AccessControl,
    PoliceLiaison,
    EventCancelled,
}

/// What a browser gets instead of JSON: the page for the link, or why it cannot be used.
async fn page_view(st: &AppState, token: String) -> Result<Response, Problem> {
    let engine = engine(st)?;
    let now = st.now();
    tokio::task::spawn_blocking(move || {
        let view = engine.link_view(&token, now)?;
        Ok::<_, Problem>(match view {
            Err(r) => refused_page(&r, "en", Tz::UTC),
            Ok(v) => {
                let cat = i18n::catalogue(&v.language);
                match &v.refused {
                    Some(r) => refused_page(r, &v.language, v.zone),
                    None => page::respond(
                        StatusCode::OK,
                        page::LinkPage {
                            cat,
                            zone: v.zone,
                            purpose: v.purpose,
                            warning: &v.warning,
                            expires: v.expires,
                            error: None,
                        }
                        .render(),
                    ),
                }
            }
        })
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

fn refused_page(r: &LinkRefusal, lang: &str, zone: Tz) -> Response {
    let refused = match r {
        LinkRefusal::Forged => page::Refused::Forged,
        LinkRefusal::Expired(t) => page::Refused::Expired(*t),
        LinkRefusal::Spent => page::Refused::Spent,
    };
    page::respond(
        refused.status(),
        refused.render(i18n::catalogue(lang), zone),
    )
}

fn engine(st: &AppState) -> Result<Arc<tocsin_engine::Engine>, Problem> {
    st.engine.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-engine",
            "Service Unavailable",
            "this server was started without the pipeline engine",
        )
    })
}

/// `GET /r/{token}`: what this link is for, whether it is valid, spent or expired, and what to
/// send, without spending it. A browser (`Accept: text/html`) gets the recipient's page instead
/// (docs/recipients.md).
#[utoipa::path(get, path = "/r/{token}", tag = "recipients",
    params(("token" = String, Path, description = "The signed one-time link token")),
    responses(
        (status = 200, description = "What this link is for and its state (the GET does not spend it): JSON for API clients, the recipient's page for `Accept: text/html`",
            content((LinkInfo = "application/json"), (String = "text/html"))),
        (status = 410, description = "For `Accept: text/html`: the link expired or was already used (an HTML page saying so)", content((String = "text/html")))))]
pub async fn link_info(
    State(st): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if page::wants_html(&headers) {
        return page_view(&st, token).await;
    }
    with_engine(&st, None, move |e, now| {
        let status = e.link_status(&token, now).map_err(|err| Problem::new(StatusCode::FORBIDDEN, "link-refused", "Forbidden", err.to_string()))?;
        let purpose = status.purpose;
        let body = match purpose {
            LinkPurpose::Acknowledge => json!({}),
            LinkPurpose::Posture => json!({ "measures": ["extra_screening", "detection_dogs", "staff_briefed"], "note": "free text" }),
            LinkPurpose::Feedback => json!({ "kind": "too_general", "text": "what you need to know to act" }),
        };
        Ok(LinkInfo {
            purpose,
            state: status.state.into(),
            expires_at: status.expires_at,
            used_at: status.used_at,
            replay_until: status.replay_until,
            method: "POST".into(),
            example_body: body,
        })
    })
    .await
    .map(IntoResponse::into_response)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    #[serde(default)]
    measures: Vec<Measure>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    kind: Option<FeedbackKind>,
    #[serde(default)]
    text: String,
}

/// Largest form body read.
const MAX_FORM_BODY: usize = 64 * 1024;

/// A form body as a [`LinkBody`]; the error (in the recipient's language where it is one of
/// ours) names the field.
fn form_body(bytes: &[u8], cat: &i18n::Catalogue) -> Result<LinkBody, String> {
    let pairs = page::parse_form(bytes).map_err(|d| cat.fmt("error-form", &[("detail", &d)]))?;
    let mut b = LinkBody::default();
    for (k, v) in pairs {
        match k.as_str() {
            "measures" => {
                let m = page::MEASURES
                    .iter()
                    .find(|(name, _)| *name == v)
                    .and_then(|(name, _)| serde_json::from_value::<Measure>(json!(name)).ok())
                    .ok_or_else(|| {
                        cat.fmt(
                            "error-form",
                            &[("detail", &format!("measures: unknown measure {v:?}"))],
                        )
                    })?;
                b.measures.push(m);
            }
            "other" if !v.trim().is_empty() => b.measures.push(Measure::Other(v.trim().to_owned())),
            "other" | "action" => {}
            "note" => b.note = v,
            "text" => b.text = v,
            // An HTML form sends an empty field for a choice left unmade: the default then.
            "kind" if v.is_empty() => {}
            "kind" => {
                b.kind = Some(serde_json::from_value(json!(v)).map_err(|_| {
                    cat.fmt(
                        "error-form",
                        &[("detail", &format!("kind: unknown kind {v:?}"))],
                    )
                })?)
            }
            other => {
                return Err(cat.fmt(
                    "error-form",
                    &[("detail", &format!("unknown field {other:?}"))],
                ))
            }
        }
    }
    // The page's feedback form is the "too general" one.
    b.kind.get_or_insert(FeedbackKind::TooGeneral);
    Ok(b)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `POST /r/{token}`: acknowledge, report posture or give feedback, as the link says. Single use;
/// the same request again within 15 minutes of the use gets the same answer (and next link).
/// The body is JSON, or the recipient page's form; a browser (`Accept: text/html`) gets a page
/// confirming what was recorded (or why not) instead of JSON.
#[utoipa::path(post, path = "/r/{token}", tag = "recipients",
    params(("token" = String, Path, description = "The signed one-time link token")),
    request_body(content((LinkBody = "application/json"), (LinkForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Recorded; the link is spent. JSON for API clients; for `Accept: text/html` a page confirming what was recorded and when the next posture check-in is due",
            content((Object = "application/json"), (String = "text/html"))),
        (status = 410, description = "For `Accept: text/html`: the link expired or was already used (an HTML page saying so)", content((String = "text/html")))))]
pub async fn link_use(
    State(st): State<AppState>,
    Path(token): Path<String>,
    req: Request,
) -> Result<Response, Problem> {
    let headers = req.headers().clone();
    let html = page::wants_html(&headers);
    let form = is_form(&headers);
    let (bytes, json_body) = if form {
        let raw = axum::body::to_bytes(req.into_body(), MAX_FORM_BODY)
            .await
            .map_err(|_| {
                Problem::from_status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the form is larger than {MAX_FORM_BODY} bytes"),
                )
            })?;
        (Some(raw), None)
    } else {
        let b = ApiJson::<LinkBody>::from_request(req, &())
            .await
            .ok()
            .map(|ApiJson(b)| b);
        (None, b)
    };
    if !html {
        let b = match &bytes {
            Some(raw) => form_body(raw, i18n::catalogue("en"))
                .map_err(|d| Problem::bad_request(d).at("body"))?,
            None => json_body.unwrap_or_default(),
        };
        return with_engine(&st, None, move |e, now| use_link(e, &token, b, now))
            .await
            .map(IntoResponse::into_response);
    }
    let engine = engine(&st)?;
    let now = st.now();
    tokio::task::spawn_blocking(move || {
        let v = match engine.link_view(&token, now)? {
            Err(r) => return Ok(refused_page(&r, "en", Tz::UTC)),
            Ok(v) => v,
        };
        let cat = i18n::catalogue(&v.language);
        if let Some(r) = &v.refused {
            return Ok(refused_page(r, &v.language, v.zone));
        }
        let again = |error: String| {
            page::respond(
                StatusCode::BAD_REQUEST,
                page::LinkPage {
                    cat,
                    zone: v.zone,
                    purpose: v.purpose,
                    warning: &v.warning,
                    expires: v.expires,
                    error: Some(error),
                }
                .render(),
            )
        };
        let b = match &bytes {
            Some(raw) => match form_body(raw, cat) {
                Ok(b) => b,
                Err(e) => return Ok(again(e)),
            },
            None => json_body.unwrap_or_default(),
        };
        let (measures, note) = (b.measures.clone(), b.note.clone());
        let note = if v.purpose == LinkPurpose::Feedback {
            b.text.clone()
        } else {
            note
        };
        match use_link(&engine, &token, b, now) {
            Ok(out) => {
                let path = out
                    .next_posture_link
                    .as_deref()
                    .and_then(|l| l.find("/r/").map(|i| &l[i..]));
                Ok(page::respond(
                    StatusCode::OK,
                    page::Recorded {
                        cat,
                        zone: v.zone,
                        warning: out.warning_id.as_str(),
                        recorded: out.recorded,
                        measures: &measures,
                        note: &note,
                        next_posture_due: out.next_posture_due,
                        next_posture_path: path,
                    }
                    .render(),
                ))
            }
            Err(p) if p.status == StatusCode::BAD_REQUEST => {
                Ok(again(cat.get("error-empty-posture").to_owned()))
            }
            Err(p) if p.detail.contains("already used") => {
                Ok(refused_page(&LinkRefusal::Spent, &v.language, v.zone))
            }
            Err(p) if p.status == StatusCode::CONFLICT => {
                let r = page::Refused::Conflict;
                Ok(page::respond(r.status(), r.render(cat, v.zone)))
            }
            Err(p) if p.status == StatusCode::FORBIDDEN => {
                Ok(refused_page(&LinkRefusal::Forged, &v.language, v.zone))
            }
            Err(p) => Err(p),
        }
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

/// Spend the link for what it is for.
fn use_link(
    e: &tocsin_engine::Engine,
    token: &str,
    b: LinkBody,
    now: tocsin_core::Timestamp,
) -> Result<LinkOutcome, Problem> {
    let refused = |err: EngineError| match err {
        EngineError::Precondition(m) if m.starts_with("recipient link refused") => {
            Problem::new(StatusCode::FORBIDDEN, "link-refused", "Forbidden", m)
        }
        other => other.into(),
    };
    let purpose = e.link_purpose(token, now).map_err(refused)?;
    let out = match purpose {
        LinkPurpose::Acknowledge => e.acknowledge_via_link(token, now),
        LinkPurpose::Posture => {
            if b.measures.is_empty() && b.note.trim().is_empty() {
                return Err(Problem::bad_request(
                    "a posture report needs `measures` or a `note`",
                ));
            }
            e.posture_via_link(token, b.measures, &b.note, now)
        }
        LinkPurpose::Feedback => {
            e.feedback_via_link(token, b.kind.unwrap_or(FeedbackKind::Other), &b.text, now)
        }
    }
    .map_err(refused)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_schema_names_exactly_the_page_measures() {
        use FormMeasure::*;
        let schema: Vec<String> = [
            ExtraScreening,
            DetectionDogs,
            StaffBriefed,
            EvacuationRoutes,
            ArmedGuards,
            AccessControl,
            PoliceLiaison,
            EventCancelled,
        ]
        .iter()
        .map(|m| {
            serde_json::to_value(m)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
        let page: Vec<String> = page::MEASURES
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect();
        assert_eq!(schema, page);
        let cat = i18n::catalogue("en");
        // An empty choice is the default; a wrong one is named.
        let b = form_body(b"kind=&text=more", cat).unwrap();
        assert_eq!(b.kind, Some(FeedbackKind::TooGeneral));
        let e = form_body(b"kind=nonsense", cat).err().unwrap();
        assert!(e.contains("unknown kind \"nonsense\""), "{e}");
    }
}
