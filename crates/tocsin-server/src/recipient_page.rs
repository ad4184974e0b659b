//! The recipient's page at `/r/{token}` for a browser (docs/recipients.md): what the link is for,
//! the warning as its audience received it, and one plain form (no script) to acknowledge,
//! report posture or say "too general"; then a confirmation, or a clear page for a spent,
//! expired or forged link. Every fixed sentence comes from the audience's catalogue
//! (`tocsin_core::i18n`); times are shown in the audience's zone with UTC beside them.
//!
//! The page is server-rendered HTML under the console's Content-Security-Policy (no inline script
//! or style: the stylesheet is `/console/recipient.css`).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use tocsin_core::i18n::{Catalogue, Tz};
use tocsin_core::links::LinkPurpose;
use tocsin_core::tracking::{Measure, Warning};
use tocsin_core::Timestamp;

/// The measures offered as checkboxes: (form value, catalogue key).
pub const MEASURES: &[(&str, &str)] = &[
    ("extra_screening", "measure-extra-screening"),
    ("detection_dogs", "measure-detection-dogs"),
    ("staff_briefed", "measure-staff-briefed"),
    ("evacuation_routes", "measure-evacuation-routes"),
    ("armed_guards", "measure-armed-guards"),
    ("access_control", "measure-access-control"),
    ("police_liaison", "measure-police-liaison"),
    ("event_cancelled", "measure-event-cancelled"),
];

/// `true` when the client prefers HTML to JSON (a browser): `text/html` listed with a weight
/// above that of `application/json` (and of `*/*`, which API clients send).
pub fn wants_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut html: Option<f32> = None;
    let mut json: f32 = 0.0;
    for (i, item) in accept.split(',').enumerate() {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        // Ties go to the first listed: a tiny bonus for earlier entries.
        let w = q - i as f32 * 1e-4;
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = Some(html.map_or(w, |h: f32| h.max(w))),
            "application/json" | "application/*" | "*/*" => json = json.max(w),
            _ => {}
        }
    }
    html.is_some_and(|h| h > 0.0 && h > json)
}

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A finished page with the console's security headers.
pub fn respond(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    crate::console::secure(r.headers_mut());
    r
}

/// The page frame: `lang` and `dir` from the catalogue, the viewport for phones, the stylesheet.
fn frame(cat: &Catalogue, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex\">\n\
<title>{title}</title>\n<link rel=\"stylesheet\" href=\"/console/recipient.css\">\n</head>\n\
<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        lang = esc(cat.code),
        dir = cat.dir(),
        title = esc(title),
    )
}

fn title_key(p: LinkPurpose) -> (&'static str, &'static str) {
    match p {
        LinkPurpose::Acknowledge => ("page-title-acknowledge", "page-intro-acknowledge"),
        LinkPurpose::Posture => ("page-title-posture", "page-intro-posture"),
        LinkPurpose::Feedback => ("page-title-feedback", "page-intro-feedback"),
    }
}

/// The warning exactly as the audience received it: banner, headline, text, measures, validity.
fn warning_section(cat: &Catalogue, w: &Warning, zone: Tz) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<section class=\"warning\" aria-labelledby=\"warning-h\">\n<h2 id=\"warning-h\">{}</h2>\n\
<p class=\"banner\">{}</p>\n<h3 class=\"headline\" dir=\"auto\">{}</h3>\n\
<div class=\"text\" dir=\"auto\">{}</div>\n",
        esc(cat.get("page-warning")),
        esc(&w.banner),
        esc(&w.headline),
        esc(&w.text),
    );
    let _ = write!(
        s,
        "<p class=\"meta\">{}: <span class=\"ref\" dir=\"ltr\">{}</span><br>{}</p>\n</section>\n",
        esc(cat.get("page-reference")),
        esc(w.id.as_str()),
        esc(&cat.fmt(
            "page-valid",
            &[
                ("from", &cat.local_time(w.valid.from, zone)),
                ("until", &cat.local_time(w.valid.until, zone)),
            ]
        )),
    );
    s
}

/// The form for the link's purpose. `error` (already translated) is shown above it.
fn form(cat: &Catalogue, purpose: LinkPurpose, error: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(e) = error {
        let _ = writeln!(s, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    s.push_str("<form method=\"post\" class=\"act\">\n");
    match purpose {
        LinkPurpose::Acknowledge => {
            let _ = writeln!(
                s,
                "<button type=\"submit\" name=\"action\" value=\"acknowledge\">{}</button>",
                esc(cat.get("form-acknowledge"))
            );
        }
        LinkPurpose::Posture => {
            let _ = writeln!(
                s,
                "<fieldset>\n<legend>{}</legend>",
                esc(cat.get("form-measures"))
            );
            for (value, key) in MEASURES {
                let _ = writeln!(
                    s,
                    "<div class=\"check\"><input type=\"checkbox\" id=\"m-{value}\" name=\"measures\" value=\"{value}\"><label for=\"m-{value}\">{}</label></div>",
                    esc(cat.get(key))
                );
            }
            let _ = writeln!(
                s,
                "</fieldset>\n<label for=\"other\">{}</label>\n<input type=\"text\" id=\"other\" name=\"other\" maxlength=\"200\" dir=\"auto\">\n\
<label for=\"note\">{}</label>\n<textarea id=\"note\" name=\"note\" rows=\"3\" maxlength=\"2000\" dir=\"auto\"></textarea>\n\
<button type=\"submit\" name=\"action\" value=\"posture\">{}</button>",
                esc(cat.get("form-other")),
                esc(cat.get("form-note")),
                esc(cat.get("form-report")),
            );
        }
        LinkPurpose::Feedback => {
            let _ = writeln!(
                s,
                "<input type=\"hidden\" name=\"kind\" value=\"too_general\">\n<label for=\"text\">{}</label>\n\
<textarea id=\"text\" name=\"text\" rows=\"4\" maxlength=\"4000\" dir=\"auto\"></textarea>\n\
<button type=\"submit\" name=\"action\" value=\"feedback\">{}</button>",
                esc(cat.get("form-feedback-text")),
                esc(cat.get("form-too-general")),
            );
        }
    }
    s.push_str("</form>\n");
    s
}

/// What the recipient sees for a usable link (and again, with `error`, after a refused form).
pub struct LinkPage<'a> {
    pub cat: &'a Catalogue,
    pub zone: Tz,
    pub purpose: LinkPurpose,
    pub warning: &'a Warning,
    pub expires: Timestamp,
    pub error: Option<String>,
}

impl LinkPage<'_> {
    pub fn render(&self) -> String {
        let cat = self.cat;
        let (title, intro) = title_key(self.purpose);
        let mut body = format!(
            "<h1>{}</h1>\n<p class=\"intro\">{}</p>\n",
            esc(cat.get(title)),
            esc(cat.get(intro))
        );
        body.push_str(&form(cat, self.purpose, self.error.as_deref()));
        body.push_str(&warning_section(cat, self.warning, self.zone));
        let _ = writeln!(
            body,
            "<p class=\"expires\">{}</p>",
            esc(&cat.fmt(
                "page-expires",
                &[("when", &cat.local_time(self.expires, self.zone))]
            ))
        );
        frame(cat, cat.get(title), &body)
    }
}

/// What was recorded, after a form was used.
pub struct Recorded<'a> {
    pub cat: &'a Catalogue,
    pub zone: Tz,
    pub warning: &'a str,
    /// `acknowledgement`, `posture_report` or `feedback` (the engine's `recorded`).
    pub recorded: &'a str,
    pub measures: &'a [Measure],
    pub note: &'a str,
    pub next_posture_due: Option<Timestamp>,
    /// The path of the next posture link (`/r/…`), when there is one.
    pub next_posture_path: Option<&'a str>,
}

impl Recorded<'_> {
    pub fn render(&self) -> String {
        let cat = self.cat;
        let key = match self.recorded {
            "acknowledgement" => "done-acknowledgement",
            "posture_report" => "done-posture",
            _ => "done-feedback",
        };
        let mut body = format!(
            "<h1>{}</h1>\n<p class=\"done\" role=\"status\">{}</p>\n",
            esc(cat.get("done-title")),
            esc(&cat.fmt(key, &[("warning", self.warning)]))
        );
        if !self.measures.is_empty() {
            let _ = writeln!(
                body,
                "<h2>{}</h2>\n<ul class=\"measures\">",
                esc(cat.get("done-measures"))
            );
            for m in self.measures {
                let label = MEASURES
                    .iter()
                    .find(|(v, _)| {
                        serde_json::to_value(m)
                            .ok()
                            .as_ref()
                            .and_then(|x| x.as_str())
                            == Some(*v)
                    })
                    .map(|(_, k)| cat.get(k).to_owned())
                    .unwrap_or_else(|| m.label());
                let _ = writeln!(body, "<li dir=\"auto\">{}</li>", esc(&label));
            }
            body.push_str("</ul>\n");
        }
        if !self.note.trim().is_empty() {
            let _ = writeln!(
                body,
                "<h2>{}</h2>\n<p class=\"note\" dir=\"auto\">{}</p>",
                esc(cat.get("done-note")),
                esc(self.note)
            );
        }
        if self.recorded != "feedback" {
            match (self.next_posture_due, self.next_posture_path) {
                (Some(due), Some(path)) => {
                    let _ = writeln!(
                        body,
                        "<p class=\"next\">{}</p>\n<p><a class=\"button\" href=\"{}\">{}</a></p>",
                        esc(&cat.fmt("done-next", &[("due", &cat.local_time(due, self.zone))])),
                        esc(path),
                        esc(cat.get("done-next-link"))
                    );
                }
                (None, Some(path)) => {
                    let _ = writeln!(
                        body,
                        "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                        esc(path),
                        esc(cat.get("done-next-link"))
                    );
                }
                _ => {
                    let _ = writeln!(
                        body,
                        "<p class=\"next\">{}</p>",
                        esc(cat.get("done-no-next"))
                    );
                }
            }
        }
        frame(cat, cat.get("done-title"), &body)
    }
}

/// Why a link cannot be used, as a page.
pub enum Refused {
    Forged,
    Expired(Timestamp),
    Spent,
    /// The lifecycle refused (not delivered yet, cancelled): the link was not spent.
    Conflict,
}

impl Refused {
    pub fn status(&self) -> StatusCode {
        match self {
            Refused::Forged => StatusCode::FORBIDDEN,
            Refused::Expired(_) | Refused::Spent => StatusCode::GONE,
            Refused::Conflict => StatusCode::CONFLICT,
        }
    }

    pub fn render(&self, cat: &Catalogue, zone: Tz) -> String {
        let text = match self {
            Refused::Forged => cat.get("refused-forged").to_owned(),
            Refused::Expired(t) => {
                cat.fmt("refused-expired", &[("when", &cat.local_time(*t, zone))])
            }
            Refused::Spent => cat.get("refused-spent").to_owned(),
            Refused::Conflict => cat.get("refused-conflict").to_owned(),
        };
        let body = format!(
            "<h1>{}</h1>\n<p class=\"refused\" role=\"alert\">{}</p>\n",
            esc(cat.get("refused-title")),
            esc(&text)
        );
        frame(cat, cat.get("refused-title"), &body)
    }
}

/// The pairs of an `application/x-www-form-urlencoded` body, decoded; the error names the byte
/// offset of what could not be read.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let decode = |part: &[u8], at: usize| -> Result<String, String> {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = part
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| format!("bad percent-escape at byte {}", at + i))?;
                    out.push(hex);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| format!("the field at byte {at} is not UTF-8"))
    };
    let mut pairs = Vec::new();
    let mut at = 0;
    for part in body.split(|b| *b == b'&') {
        if !part.is_empty() {
            let (k, v) = match part.iter().position(|b| *b == b'=') {
                Some(eq) => (&part[..eq], &part[eq + 1..]),
                None => (part, &b""[..]),
            };
            pairs.push((decode(k, at)?, decode(v, at + k.len() + 1)?));
        }
        at += part.len() + 1;
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&HeaderMap::new()));
        assert!(!wants_html(&accept("application/json, text/html")));
        assert!(wants_html(&accept("application/json;q=0.5, text/html")));
        assert!(!wants_html(&accept("text/html;q=0")));
    }

    #[test]
    fn forms_decode_and_bad_escapes_are_located() {
        let p =
            parse_form(b"measures=extra_screening&measures=staff_briefed&note=dogs+at+gate%21&x")
                .unwrap();
        assert_eq!(
            p,
            [
                ("measures".into(), "extra_screening".into()),
                ("measures".into(), "staff_briefed".into()),
                ("note".into(), "dogs at gate!".into()),
                ("x".into(), String::new()),
            ]
        );
        let p = parse_form("note=%D0%B4%D0%B0".as_bytes()).unwrap();
        assert_eq!(p[0].1, "да");
        let e = parse_form(b"a=1&note=%G1").unwrap_err();
        assert!(e.contains("byte 9"), "{e}");
        let e = parse_form(b"note=%FF").unwrap_err();
        assert!(e.contains("not UTF-8"), "{e}");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
