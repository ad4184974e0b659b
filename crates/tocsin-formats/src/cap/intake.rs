//! Reading other authorities' alerts as they really are: bytes in any declared encoding, areas
//! given by geometry, geocodes or free text, several `<info>` blocks (one per language), and
//! `Update`/`Cancel` chains. [`read_alert`] says what the alert does to the store ([`CapAction`])
//! and lists everything read loosely in `notes`, so an alert is refused only when nothing in it can
//! be used.

use super::{Alert, CapError, Certainty, Info, MsgType, Scope, Status};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use tocsin_core::entity::Footprint;
use tocsin_core::threat::{Area, Credibility, Portion};
use tocsin_core::{PortionMark, TargetSpec, Threat, ThreatId, ThreatWindow, TlpLevel};

use super::read::CapIntakeOptions;

fn err(path: impl Into<String>, message: impl Into<String>) -> CapError {
    CapError {
        path: path.into(),
        message: message.into(),
    }
}

/// The `encoding="…"` of an XML declaration read as ASCII (every encoding the declaration may
/// name without a byte-order mark is ASCII-compatible up to that point).
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_owned())
}

/// Decode an XML document's bytes into text: a byte-order mark wins (UTF-8, UTF-16 LE/BE), then
/// the declaration's `encoding` (any WHATWG label: ISO-8859-x, windows-125x, KOI8-R, Shift_JIS…),
/// else UTF-8. Bytes that are invalid in the chosen encoding are an error naming their offset,
/// never replaced silently.
pub fn decode_xml(bytes: &[u8]) -> Result<String, CapError> {
    let (encoding, body) = if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        (enc, &bytes[bom..])
    } else if bytes.len() >= 2 && bytes[0] == b'<' && bytes[1] == 0 {
        // UTF-16 without a mark still starts with `<`.
        (UTF_16LE, bytes)
    } else if bytes.len() >= 2 && bytes[0] == 0 && bytes[1] == b'<' {
        (UTF_16BE, bytes)
    } else {
        match declared_encoding(bytes) {
            Some(label) => {
                let enc = Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                    err(
                        "(document)",
                        format!("the XML declaration names an unknown encoding {label:?}"),
                    )
                })?;
                // A declaration saying UTF-16 on bytes without a mark or zero bytes is wrong;
                // the bytes are ASCII-compatible, so they are read as UTF-8.
                let enc = if enc == UTF_16LE || enc == UTF_16BE {
                    UTF_8
                } else {
                    enc
                };
                (enc, bytes)
            }
            None => (UTF_8, bytes),
        }
    };
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    if had_errors {
        let valid = if encoding == UTF_8 {
            std::str::from_utf8(body)
                .err()
                .map_or(0, |e| e.valid_up_to())
        } else {
            0
        };
        return Err(err(
            "(document)",
            if encoding == UTF_8 {
                format!("not valid UTF-8 (invalid byte at offset {valid}) and no other encoding is declared")
            } else {
                format!("bytes that are not valid {}", encoding.name())
            },
        ));
    }
    Ok(text.into_owned())
}

/// Parse a CAP document from its bytes, honouring the declared encoding ([`decode_xml`]).
pub fn parse_alert_bytes(bytes: &[u8]) -> Result<Alert, CapError> {
    super::parse_alert(&decode_xml(bytes)?)
}

/// The threat id an alert's identifier opens: `cap-` and the identifier with every character
/// other than ASCII letters, digits, `-`, `.` and `_` replaced by `-`.
pub fn threat_id_for(identifier: &str) -> ThreatId {
    let id: String = identifier
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Threat ids are at most `THREAT_ID_MAX` characters (docs/formats.md, "Identifiers"): a long
    // identifier keeps its start and gains a hash of the whole, so distinct alerts stay distinct.
    let max = tocsin_core::ids::THREAT_ID_MAX - "cap-".len();
    if id.len() > max {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a, 64 bits
        for b in identifier.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let keep = max - 17;
        return ThreatId::new(format!("cap-{}-{h:016x}", &id[..keep]));
    }
    ThreatId::new(format!("cap-{id}"))
}

/// What an alert does to the store.
#[derive(Debug, Clone, PartialEq)]
pub enum CapAction {
    /// A new threat.
    Open,
    /// A new version of the first of these threats that is stored (the alerts it references,
    /// latest first); a new threat when none is.
    Update { references: Vec<ThreatId> },
    /// Close these threats (the alerts it references); unknown ones are a note.
    Cancel { references: Vec<ThreatId> },
}

/// An alert read for intake.
#[derive(Debug, Clone, PartialEq)]
pub struct CapReading {
    pub action: CapAction,
    /// The threat the alert opens or updates; for a Cancel, what it says (its areas may be empty).
    pub threat: Threat,
    /// No area could be resolved at all: stored anyway, and an analyst must give the area.
    pub needs_area: bool,
    /// What was read loosely or left out, for the analyst.
    pub notes: Vec<String>,
}

/// Geocode schemes whose values are looked up in the gazetteer as `SCHEME VALUE` (the
/// gazetteer's counties carry `SAME 006037`, `FIPS 06037`, `UGC CAC037`; countries and divisions
/// their ISO 3166 codes).
fn geocode_key(name: &str, value: &str) -> Option<String> {
    let scheme = name.trim().to_ascii_uppercase();
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match scheme.as_str() {
        "SAME" => Some(format!("SAME {v}")),
        "FIPS6" | "FIPS" => {
            let digits = v.trim_start_matches('0');
            Some(format!("FIPS {digits:0>5}"))
        }
        "UGC" => Some(format!("UGC {}", v.to_ascii_uppercase())),
        "ISO3166" | "ISO3166-1" | "ISO 3166-1" | "ISO3166-2" | "ISO 3166-2" | "ISO" => {
            Some(v.to_ascii_uppercase())
        }
        _ => None,
    }
}

/// `areaDesc` parts: the whole text if it resolves, else its comma/semicolon-separated parts.
fn desc_parts(desc: &str, resolves: &dyn Fn(&str) -> bool) -> (Vec<String>, Vec<String>) {
    let whole = desc.trim();
    if whole.is_empty() {
        return (vec![], vec![]);
    }
    if resolves(whole) {
        return (vec![whole.to_owned()], vec![]);
    }
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for part in whole
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if resolves(part) {
            ok.push(part.to_owned());
            continue;
        }
        // A place with a qualifier: "São Paulo/SP" (Brazil's city/state), "Tel Aviv - Yafo",
        // "רמת גן - מערב" (Israel's city - district), "Cavite - ETA 03:10". The pieces that
        // resolve are used; the part is noted when none does.
        let pieces: Vec<&str> = part
            .split('/')
            .flat_map(|p| p.split(" - "))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let known: Vec<&str> = if pieces.len() > 1 {
            pieces.into_iter().filter(|p| resolves(p)).collect()
        } else {
            vec![]
        };
        if known.is_empty() {
            bad.push(part.to_owned());
        } else {
            ok.extend(known.into_iter().map(str::to_owned));
        }
    }
    (ok, bad)
}

fn push_unique(areas: &mut Vec<(String, Area)>, label: String, area: Area) {
    if !areas.iter().any(|(_, a)| *a == area) {
        areas.push((label, area));
    }
}

/// Read an alert for intake. `resolves` says whether the gazetteer knows a place name (or a
/// geocode key such as `SAME 006037`). Areas come from every `<info>` (languages repeat them;
/// duplicates are dropped): circles, polygons and resolvable geocodes first; an area without any
/// of them falls back to its `areaDesc`, whole or split at commas, each part resolved. Text comes
/// from the English `<info>` (else the first).
///
/// Refused (an error naming the element) only when nothing can be used: a test, exercise or
/// draft, an `Ack`/`Error`, an alert without `<info>`.
pub fn read_alert(
    a: &Alert,
    opts: &CapIntakeOptions,
    resolves: &dyn Fn(&str) -> bool,
) -> Result<CapReading, CapError> {
    if a.status != Status::Actual {
        return Err(err(
            "alert/status",
            format!(
                "{} {} message opens no threat (only Actual alerts do)",
                article(a.status.as_str()),
                a.status.as_str()
            ),
        ));
    }
    let references: Vec<ThreatId> = a
        .references
        .iter()
        .rev()
        .map(|r| threat_id_for(&r.identifier))
        .collect();
    let action = match a.msg_type {
        MsgType::Alert => CapAction::Open,
        MsgType::Update => CapAction::Update { references },
        MsgType::Cancel => CapAction::Cancel { references },
        other => {
            return Err(err(
                "alert/msgType",
                format!(
                    "{} {} message opens no threat (it answers another message; only Alert, Update and Cancel act on threats)",
                    article(other.as_str()),
                    other.as_str()
                ),
            ))
        }
    };
    let mut notes = Vec::new();
    if let CapAction::Update { references } | CapAction::Cancel { references } = &action {
        if references.is_empty() {
            notes.push(format!(
                "a {} without <references>: it refers to no earlier alert",
                a.msg_type.as_str()
            ));
        }
    }
    let (idx, info) = a
        .infos
        .iter()
        .enumerate()
        .find(|(_, i)| i.language.to_ascii_lowercase().starts_with("en"))
        .or_else(|| a.infos.iter().enumerate().next())
        .ok_or_else(|| {
            err(
                "alert/info",
                "the alert has no info block: nothing to act on",
            )
        })?;
    if a.infos.len() > 1 {
        let langs: Vec<&str> = a.infos.iter().map(|i| i.language.as_str()).collect();
        notes.push(format!(
            "{} info blocks ({}) read as one threat; text from info[{idx}] ({})",
            a.infos.len(),
            langs.join(", "),
            info.language
        ));
    }
    let mark = match a.scope {
        Scope::Public => PortionMark {
            tlp: Some(TlpLevel::Clear),
            ..PortionMark::unclassified()
        },
        // Restricted and private alerts are not for the public: at least TLP:AMBER here.
        _ => PortionMark {
            tlp: Some(TlpLevel::Amber),
            ..PortionMark::unclassified()
        },
    };

    let mut areas: Vec<(String, Area)> = Vec::new();
    for (i, inf) in a.infos.iter().enumerate() {
        for (j, area) in inf.areas.iter().enumerate() {
            let path = format!("alert/info[{i}]/area[{j}]");
            let label = if area.desc.trim().is_empty() {
                format!("area {}", j + 1)
            } else {
                area.desc.trim().to_owned()
            };
            let before = areas.len();
            let mut geometry = false;
            for (c, r) in &area.circles {
                geometry = true;
                push_unique(
                    &mut areas,
                    label.clone(),
                    Area::Circle {
                        center: *c,
                        radius_km: r.max(0.1),
                    },
                );
            }
            for ring in &area.polygons {
                geometry = true;
                push_unique(
                    &mut areas,
                    label.clone(),
                    Area::Polygon { ring: ring.clone() },
                );
            }
            let mut unknown_codes = Vec::new();
            for (name, value) in &area.geocodes {
                match geocode_key(name, value) {
                    Some(key) if resolves(&key) => {
                        geometry = true;
                        push_unique(&mut areas, key.clone(), Area::Named { name: key });
                    }
                    _ => unknown_codes.push(format!("{name}={value}")),
                }
            }
            if !unknown_codes.is_empty() && i == idx {
                notes.push(format!(
                    "{path}/geocode: {} not in the gazetteer ({}{})",
                    if unknown_codes.len() == 1 {
                        "1 code is"
                    } else {
                        "codes are"
                    },
                    unknown_codes
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unknown_codes.len() > 5 {
                        format!(" and {} more", unknown_codes.len() - 5)
                    } else {
                        String::new()
                    }
                ));
            }
            let (ok, bad) = desc_parts(&area.desc, resolves);
            if !geometry && area.desc.trim().is_empty() && unknown_codes.is_empty() && i == idx {
                notes.push(format!(
                    "{path}: empty (no areaDesc, polygon, circle or geocode); ignored"
                ));
            }
            if geometry {
                if !bad.is_empty() && i == idx {
                    notes.push(format!(
                        "{path}/areaDesc: {} not in the gazetteer; the area's geometry and geocodes are used",
                        quote_list(&bad)
                    ));
                }
                continue;
            }
            for part in ok {
                push_unique(&mut areas, part.clone(), Area::Named { name: part });
            }
            if !bad.is_empty() && i == idx {
                notes.push(format!(
                    "{path}/areaDesc: {} not in the gazetteer{}",
                    quote_list(&bad),
                    if areas.len() > before {
                        "; the parts it knows are used"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    let needs_area = areas.is_empty() && !matches!(action, CapAction::Cancel { .. });
    if needs_area {
        notes.push(
            "needs_area: no area of the alert could be resolved; stored without one until an analyst gives it"
                .into(),
        );
    }
    let targets = areas
        .into_iter()
        .map(|(label, shape)| TargetSpec {
            label,
            mark: mark.clone(),
            name: None,
            categories: vec![],
            min_size: None,
            area: Some(shape),
            window: None,
            footprint: Footprint::EMPTY,
        })
        .collect();

    let window = alert_window(a, opts);
    let mut portions = Vec::new();
    for text in [&info.description, &info.instruction].into_iter().flatten() {
        portions.push(Portion {
            mark: mark.clone(),
            text: text.clone(),
            tearline: false,
            lang: None,
            line: 0,
        });
    }
    let harm_text: String = a
        .infos
        .iter()
        .map(|i: &Info| {
            format!(
                "{} {} {} ",
                i.event,
                i.headline.as_deref().unwrap_or(""),
                i.description.as_deref().unwrap_or("")
            )
        })
        .collect();
    let harms = crate::stix::harms_from_text(&harm_text);
    let threat = Threat {
        id: threat_id_for(&a.identifier),
        title: info.headline.clone().unwrap_or_else(|| info.event.clone()),
        originator: opts.originator,
        received: a.sent,
        actor: None,
        actor_mark: PortionMark::unclassified(),
        harms,
        credibility: match info.certainty {
            Certainty::Observed => Credibility::Confirmed,
            Certainty::Likely => Credibility::Probable,
            _ => Credibility::Possible,
        },
        window,
        public_advice_hours: (window.until - window.from).num_hours().max(1),
        targets,
        portions,
        restricted_terms: Vec::new(),
        tlp: mark.tlp,
        measures: info
            .instruction
            .iter()
            .flat_map(|i| i.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    Ok(CapReading {
        action,
        threat,
        needs_area,
        notes,
    })
}

/// From the earliest onset/effective (else `sent`) to the latest `expires` over every info
/// (else `default_window_hours`).
fn alert_window(a: &Alert, opts: &CapIntakeOptions) -> ThreatWindow {
    let from = a
        .infos
        .iter()
        .filter_map(|i| i.onset.or(i.effective))
        .min()
        .unwrap_or(a.sent);
    a.infos
        .iter()
        .filter_map(|i| i.expires)
        .max()
        .and_then(|u| ThreatWindow::new(from, u).ok())
        .unwrap_or_else(|| ThreatWindow::imminent(from, opts.default_window_hours))
}

/// "a" or "an" before a CAP value ("an Exercise", "an Ack", "a Test").
fn article(word: &str) -> &'static str {
    if word.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn quote_list(parts: &[String]) -> String {
    let shown: Vec<String> = parts.iter().take(5).map(|p| format!("{p:?}")).collect();
    if parts.len() > 5 {
        format!("{} and {} more", shown.join(", "), parts.len() - 5)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<alert><identifier>x</identifier><note>Bodø Førde Zürich</note></alert>";

    #[test]
    fn latin1_windows1252_and_utf16_are_decoded() {
        let latin1: Vec<u8> = DOC.chars().map(|c| c as u32 as u8).collect();
        assert!(std::str::from_utf8(&latin1).is_err());
        assert_eq!(decode_xml(&latin1).unwrap(), DOC);

        let cp = DOC
            .replace("ISO-8859-1", "windows-1252")
            .replace("Zürich", "“Zürich”");
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&cp);
        assert_eq!(decode_xml(&bytes).unwrap(), cp);

        let u16 = DOC.replace("ISO-8859-1", "UTF-16");
        let mut le = vec![0xFF, 0xFE];
        le.extend(u16.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode_xml(&le).unwrap(), u16);
        let mut be = vec![0xFE, 0xFF];
        be.extend(u16.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode_xml(&be).unwrap(), u16);
    }

    #[test]
    fn bad_bytes_and_unknown_encodings_are_errors() {
        let e = decode_xml(b"<alert>\xff</alert>").unwrap_err();
        assert!(e.message.contains("offset 7"), "{e}");
        let e = decode_xml(b"<?xml version='1.0' encoding='klingon'?><alert/>").unwrap_err();
        assert!(e.message.contains("klingon"), "{e}");
    }

    #[test]
    fn qualified_area_names_resolve_by_their_known_pieces() {
        let known = ["São Paulo", "Tel Aviv", "Guarulhos"];
        let resolves = |p: &str| known.contains(&p);
        let (ok, bad) = desc_parts("São Paulo/SP, Guarulhos", &resolves);
        assert_eq!(ok, ["São Paulo", "Guarulhos"]);
        assert!(bad.is_empty());
        let (ok, bad) = desc_parts("Tel Aviv - Yafo; Ramat Gan - West", &resolves);
        assert_eq!(ok, ["Tel Aviv"]);
        assert_eq!(bad, ["Ramat Gan - West"]);
        // A hyphen inside a name is not a separator.
        let (ok, bad) = desc_parts("Amsterdam-Westpoort", &resolves);
        assert!(ok.is_empty());
        assert_eq!(bad, ["Amsterdam-Westpoort"]);
    }

    fn read(xml: &str) -> Result<CapReading, CapError> {
        let a = super::super::parse_alert(xml).unwrap();
        let opts = CapIntakeOptions {
            originator: tocsin_core::CountryCode::parse("USA").unwrap(),
            default_window_hours: 48,
        };
        read_alert(&a, &opts, &|p: &str| p == "Myanmar")
    }

    const EMPTY_AREA: &str = "<alert><identifier>g1</identifier><sender>s</sender><sent>2025-03-28T06:40:00+00:00</sent><status>Actual</status><msgType>Alert</msgType><info><language>en</language><event>Earthquake</event><urgency>Past</urgency><severity>Severe</severity><certainty>Observed</certainty><area><areaDesc></areaDesc></area><area><areaDesc>Myanmar</areaDesc></area></info></alert>";

    #[test]
    fn an_empty_area_is_noted_and_ignored() {
        let r = read(EMPTY_AREA).unwrap();
        assert!(!r.needs_area);
        assert_eq!(r.threat.targets.len(), 1);
        assert!(
            r.notes
                .iter()
                .any(|n| n == "alert/info[0]/area[0]: empty (no areaDesc, polygon, circle or geocode); ignored"),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn acks_errors_tests_and_exercises_are_refused_naming_why() {
        let ack = EMPTY_AREA.replace("<msgType>Alert", "<msgType>Ack");
        let e = read(&ack).unwrap_err();
        assert_eq!(e.path, "alert/msgType");
        assert!(
            e.message.starts_with("an Ack message opens no threat"),
            "{e}"
        );
        let ex = EMPTY_AREA.replace("<status>Actual", "<status>Exercise");
        let e = read(&ex).unwrap_err();
        assert_eq!(e.path, "alert/status");
        assert!(e.message.starts_with("an Exercise message"), "{e}");
    }

    #[test]
    fn articles() {
        assert_eq!(article("Ack"), "an");
        assert_eq!(article("Exercise"), "an");
        assert_eq!(article("Test"), "a");
    }

    #[test]
    fn geocode_keys() {
        assert_eq!(
            geocode_key("SAME", "006037").as_deref(),
            Some("SAME 006037")
        );
        assert_eq!(
            geocode_key("FIPS6", "006037").as_deref(),
            Some("FIPS 06037")
        );
        assert_eq!(geocode_key("UGC", "cac037").as_deref(), Some("UGC CAC037"));
        assert_eq!(geocode_key("EMMA_ID", "FR431"), None);
    }
}
