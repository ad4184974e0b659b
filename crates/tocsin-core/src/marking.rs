//! Markings: CAPCO-style portion marks (a documented subset), banner roll-up, TLP 2.0, and the
//! releasability of a portion to an audience (docs/domain.md, "Markings").

use crate::audience::{Audience, AudienceKind};
use crate::country::{expand_tetragraph, CountryCode};
use crate::threat::Portion;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use thiserror::Error;

/// Classification levels, ordered U < C < S < TS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Classification {
    U,
    C,
    S,
    TS,
}

impl Classification {
    /// The portion-mark abbreviation: `U`, `C`, `S`, `TS`.
    pub fn abbrev(&self) -> &'static str {
        match self {
            Classification::U => "U",
            Classification::C => "C",
            Classification::S => "S",
            Classification::TS => "TS",
        }
    }

    /// The banner spelling: `UNCLASSIFIED`, `CONFIDENTIAL`, `SECRET`, `TOP SECRET`.
    pub fn name(&self) -> &'static str {
        match self {
            Classification::U => "UNCLASSIFIED",
            Classification::C => "CONFIDENTIAL",
            Classification::S => "SECRET",
            Classification::TS => "TOP SECRET",
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SCI control systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SciControl {
    SI,
    TK,
    HCS,
}

impl SciControl {
    pub fn as_str(&self) -> &'static str {
        match self {
            SciControl::SI => "SI",
            SciControl::TK => "TK",
            SciControl::HCS => "HCS",
        }
    }
}

impl fmt::Display for SciControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed portion mark such as `(S//REL TO USA, RUS)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PortionMark {
    pub classification: Classification,
    pub sci: BTreeSet<SciControl>,
    /// FOUO: unclassified but not for public release (the legacy control).
    pub fouo: bool,
    /// CUI: unclassified but controlled (the successor of FOUO). Kept apart from `fouo` so a mark
    /// prints back as written; releasability treats the two alike. A mark carries at most one.
    #[serde(default)]
    pub cui: bool,
    pub noforn: bool,
    pub orcon: bool,
    /// `Some(list)` for REL TO (tetragraphs already expanded); `None` when absent.
    pub rel_to: Option<BTreeSet<CountryCode>>,
    /// A TLP 2.0 designation on the portion (for text shared with non-government audiences).
    pub tlp: Option<TlpLevel>,
}

impl PortionMark {
    pub fn unclassified() -> Self {
        Self {
            classification: Classification::U,
            sci: BTreeSet::new(),
            fouo: false,
            cui: false,
            noforn: false,
            orcon: false,
            rel_to: None,
            tlp: None,
        }
    }

    /// FOUO or CUI: unclassified information that is not for public release.
    pub fn controlled_unclassified(&self) -> bool {
        self.fouo || self.cui
    }

    /// Unclassified with no control at all: the only thing the public may receive.
    pub fn is_public(&self) -> bool {
        self.classification == Classification::U
            && self.sci.is_empty()
            && !self.controlled_unclassified()
            && !self.noforn
            && !self.orcon
            && matches!(self.tlp, None | Some(TlpLevel::Clear))
    }
}

/// TLP 2.0 (FIRST), ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TlpLevel {
    #[serde(rename = "CLEAR")]
    Clear,
    #[serde(rename = "GREEN")]
    Green,
    #[serde(rename = "AMBER")]
    Amber,
    #[serde(rename = "AMBER+STRICT")]
    AmberStrict,
    #[serde(rename = "RED")]
    Red,
}

impl TlpLevel {
    pub fn label(&self) -> &'static str {
        match self {
            TlpLevel::Clear => "TLP:CLEAR",
            TlpLevel::Green => "TLP:GREEN",
            TlpLevel::Amber => "TLP:AMBER",
            TlpLevel::AmberStrict => "TLP:AMBER+STRICT",
            TlpLevel::Red => "TLP:RED",
        }
    }
}

impl fmt::Display for TlpLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl TlpLevel {
    /// The level without the `TLP:` prefix, as written in front matter and after `TLP:` in a mark.
    pub fn level_name(&self) -> &'static str {
        &self.label()[4..]
    }

    /// Parse a level name (`CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT`, `RED`), upper case only.
    pub fn from_level_name(s: &str) -> Option<Self> {
        match s {
            "CLEAR" => Some(TlpLevel::Clear),
            "GREEN" => Some(TlpLevel::Green),
            "AMBER" => Some(TlpLevel::Amber),
            "AMBER+STRICT" => Some(TlpLevel::AmberStrict),
            "RED" => Some(TlpLevel::Red),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Portion-mark parser
// ---------------------------------------------------------------------------------------------
//
// Grammar (see docs/formats.md for the prose version):
//
//   mark      = "(" ( tlp | capco ) ")"
//   capco     = class [ "//" sci ] { "//" dissem } [ "//" tlp ]
//   class     = "U" | "C" | "S" | "TS"
//   sci       = sys { "/" sys }                    sys = "SI" | "TK" | "HCS"
//   dissem    = ctl { "/" ctl }
//   ctl       = "FOUO" | "CUI" | "NF" | "NOFORN" | "OC" | "ORCON" | "REL TO " country { "," country }
//   country   = alpha-3 | tetragraph                (spaces around "," are ignored)
//   tlp       = "TLP:" ( "CLEAR" | "GREEN" | "AMBER" | "AMBER+STRICT" | "RED" )
//
// The parser is strict (upper case, no stray spaces) because a mark that is almost right is
// exactly the kind of input that must not be guessed at: guessing could downgrade a portion.

/// Where a portion mark went wrong and why. `column` is a 1-based character offset into the text
/// that was given to [`parse_mark`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("column {column}: {problem}")]
pub struct MarkError {
    pub column: usize,
    pub problem: MarkProblem,
}

/// What was wrong with a portion mark.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarkProblem {
    /// The grammar wanted one thing and the text had another.
    #[error("expected {expected} but found {found}")]
    Expected {
        expected: &'static str,
        found: String,
    },
    #[error(
        "NOFORN cannot be combined with REL TO: a portion is either not releasable to any foreign \
         audience or releasable to the listed countries"
    )]
    NofornWithRelTo,
    #[error("{control} is given twice")]
    Duplicate { control: &'static str },
    #[error(
        "FOUO/CUI marks unclassified information only, but this portion is {classification}; \
         expected U//FOUO"
    )]
    FouoOnClassified { classification: Classification },
    #[error("SCI control {control} needs a classified portion (C, S or TS), not U")]
    SciOnUnclassified { control: SciControl },
    #[error(
        "expected an ISO 3166-1 alpha-3 country code (USA, RUS, GBR) or a tetragraph (FVEY, ACGU, \
         NATO) in REL TO but found {found:?}"
    )]
    BadCountry { found: String },
}

const EXPECT_OPEN: &str = "\"(\" opening the portion mark";
const EXPECT_CLOSE: &str = "\")\" closing the portion mark";
const EXPECT_END: &str = "the end of the portion mark after \")\"";
const EXPECT_CLASS: &str = "a classification (U, C, S, TS) or TLP:<level>";
const EXPECT_SCI_OR_DISSEM: &str =
    "an SCI control system (SI, TK, HCS) or a dissemination control (NF, OC, REL TO, FOUO)";
const EXPECT_SCI: &str = "an SCI control system (SI, TK, HCS)";
const EXPECT_DISSEM: &str = "a dissemination control (NF, OC, REL TO, FOUO)";
const EXPECT_TLP: &str = "a TLP 2.0 level (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)";
const EXPECT_TLP_LAST: &str = "the TLP designation to be the last category of the mark";
const EXPECT_REL_LIST: &str = "a country list after \"REL TO \" (e.g. REL TO USA, GBR)";

/// The text and its character columns, so that every error points at a character, not a byte.
struct Cursor<'a> {
    s: &'a str,
}

impl Cursor<'_> {
    /// 1-based character column of a byte offset. Offsets are always at ASCII delimiters or at the
    /// ends of the text, hence on char boundaries; `get` keeps this panic-free regardless.
    fn column(&self, byte: usize) -> usize {
        self.s.get(..byte).map_or(byte, |p| p.chars().count()) + 1
    }

    /// Describe what sits at `[start, end)`; an empty token is described by the next character.
    fn found(&self, start: usize, end: usize) -> String {
        let tok = self.s.get(start..end).unwrap_or("");
        if !tok.is_empty() {
            return format!("{tok:?}");
        }
        match self.s.get(start..).and_then(|r| r.chars().next()) {
            Some(c) => format!("{:?}", c.to_string()),
            None => "the end of the text".to_owned(),
        }
    }

    fn expected(&self, start: usize, end: usize, expected: &'static str) -> MarkError {
        MarkError {
            column: self.column(start),
            problem: MarkProblem::Expected {
                expected,
                found: self.found(start, end),
            },
        }
    }

    fn problem(&self, at: usize, problem: MarkProblem) -> MarkError {
        MarkError {
            column: self.column(at),
            problem,
        }
    }
}

/// Split `[start, end)` of `s` on `sep`, returning each piece with its byte offset in `s`.
fn split_at<'a>(s: &'a str, start: usize, end: usize, sep: &str) -> Vec<(usize, &'a str)> {
    let region = s.get(start..end).unwrap_or("");
    let mut out = Vec::new();
    let mut off = 0;
    while let Some(i) = region[off..].find(sep) {
        out.push((start + off, &region[off..off + i]));
        off += i + sep.len();
    }
    out.push((start + off, &region[off..]));
    out
}

/// Parse one portion mark, parentheses included: `(U)`, `(U//FOUO)`, `(S//REL TO USA, FVEY)`,
/// `(TS//SI/TK//NF)`, `(S//ORCON/NF)`, `(TLP:AMBER+STRICT)`. See the grammar above and
/// docs/formats.md. Tetragraphs in REL TO lists are expanded; the listed countries are kept exactly
/// (nothing, not even USA, is added implicitly).
pub fn parse_mark(s: &str) -> Result<PortionMark, MarkError> {
    let cur = Cursor { s };
    if !s.starts_with('(') {
        let end = s
            .find(|c: char| c.is_whitespace())
            .unwrap_or(s.len())
            .min(16);
        let end = (0..=end)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        return Err(cur.expected(0, end, EXPECT_OPEN));
    }
    let Some(close) = s.find(')') else {
        return Err(cur.expected(s.len(), s.len(), EXPECT_CLOSE));
    };
    if close + 1 != s.len() {
        return Err(cur.expected(close + 1, s.len(), EXPECT_END));
    }

    let mut mark = PortionMark::unclassified();
    let cats = split_at(s, 1, close, "//");

    // A TLP-only portion mark: `(TLP:AMBER)`.
    let (first_at, first) = cats[0];
    if let Some(level) = first.strip_prefix("TLP:") {
        mark.tlp = Some(parse_tlp(&cur, first_at + 4, level)?);
        if let Some(&(next_at, _)) = cats.get(1) {
            // Point at the "//" that should not be there.
            return Err(cur.expected(next_at - 2, close, EXPECT_CLOSE));
        }
        return Ok(mark);
    }

    mark.classification = match first {
        "U" => Classification::U,
        "C" => Classification::C,
        "S" => Classification::S,
        "TS" => Classification::TS,
        _ => return Err(cur.expected(first_at, first_at + first.len(), EXPECT_CLASS)),
    };

    for (i, &(cat_at, cat)) in cats.iter().enumerate().skip(1) {
        if let Some(level) = cat.strip_prefix("TLP:") {
            if i + 1 != cats.len() {
                return Err(cur.expected(cat_at, cat_at + cat.len(), EXPECT_TLP_LAST));
            }
            mark.tlp = Some(parse_tlp(&cur, cat_at + 4, level)?);
            continue;
        }
        let tokens = split_at(s, cat_at, cat_at + cat.len(), "/");
        // SCI, if present, is the category right after the classification.
        let is_sci = i == 1 && sci_system(tokens[0].1).is_some();
        for &(tok_at, tok) in &tokens {
            if is_sci {
                parse_sci_token(&cur, &mut mark, tok_at, tok)?;
            } else {
                let expected = if i == 1 {
                    EXPECT_SCI_OR_DISSEM
                } else {
                    EXPECT_DISSEM
                };
                parse_dissem_token(&cur, &mut mark, tok_at, tok, expected)?;
            }
        }
    }
    Ok(mark)
}

fn parse_tlp(cur: &Cursor<'_>, at: usize, level: &str) -> Result<TlpLevel, MarkError> {
    TlpLevel::from_level_name(level).ok_or_else(|| cur.expected(at, at + level.len(), EXPECT_TLP))
}

fn sci_system(tok: &str) -> Option<SciControl> {
    match tok {
        "SI" => Some(SciControl::SI),
        "TK" => Some(SciControl::TK),
        "HCS" => Some(SciControl::HCS),
        _ => None,
    }
}

fn parse_sci_token(
    cur: &Cursor<'_>,
    mark: &mut PortionMark,
    at: usize,
    tok: &str,
) -> Result<(), MarkError> {
    let Some(sys) = sci_system(tok) else {
        return Err(cur.expected(at, at + tok.len(), EXPECT_SCI));
    };
    if mark.classification == Classification::U {
        return Err(cur.problem(at, MarkProblem::SciOnUnclassified { control: sys }));
    }
    if !mark.sci.insert(sys) {
        return Err(cur.problem(
            at,
            MarkProblem::Duplicate {
                control: sys.as_str(),
            },
        ));
    }
    Ok(())
}

fn parse_dissem_token(
    cur: &Cursor<'_>,
    mark: &mut PortionMark,
    at: usize,
    tok: &str,
    expected: &'static str,
) -> Result<(), MarkError> {
    match tok {
        "FOUO" | "CUI" => {
            if mark.classification != Classification::U {
                return Err(cur.problem(
                    at,
                    MarkProblem::FouoOnClassified {
                        classification: mark.classification,
                    },
                ));
            }
            // FOUO and CUI say the same thing; both on one portion is a slip, like a repeat.
            if mark.controlled_unclassified() {
                return Err(cur.problem(
                    at,
                    MarkProblem::Duplicate {
                        control: "FOUO/CUI",
                    },
                ));
            }
            if tok == "FOUO" {
                mark.fouo = true;
            } else {
                mark.cui = true;
            }
        }
        "NF" | "NOFORN" => {
            if mark.rel_to.is_some() {
                return Err(cur.problem(at, MarkProblem::NofornWithRelTo));
            }
            if std::mem::replace(&mut mark.noforn, true) {
                return Err(cur.problem(at, MarkProblem::Duplicate { control: "NOFORN" }));
            }
        }
        "OC" | "ORCON" => {
            if std::mem::replace(&mut mark.orcon, true) {
                return Err(cur.problem(at, MarkProblem::Duplicate { control: "ORCON" }));
            }
        }
        _ if tok == "REL TO" || tok.starts_with("REL TO ") => {
            if mark.noforn {
                return Err(cur.problem(at, MarkProblem::NofornWithRelTo));
            }
            if mark.rel_to.is_some() {
                return Err(cur.problem(at, MarkProblem::Duplicate { control: "REL TO" }));
            }
            mark.rel_to = Some(parse_rel_to_list(cur, at + "REL TO".len(), at + tok.len())?);
        }
        _ => return Err(cur.expected(at, at + tok.len(), expected)),
    }
    Ok(())
}

/// The list after `REL TO`: comma-separated alpha-3 codes and tetragraphs, spaces ignored.
fn parse_rel_to_list(
    cur: &Cursor<'_>,
    start: usize,
    end: usize,
) -> Result<BTreeSet<CountryCode>, MarkError> {
    let mut out = BTreeSet::new();
    let list = cur.s.get(start..end).unwrap_or("");
    if list.trim().is_empty() {
        return Err(cur.expected(end, end, EXPECT_REL_LIST));
    }
    for (item_at, item) in split_at(cur.s, start, end, ",") {
        let lead = item.len() - item.trim_start_matches(' ').len();
        let code = item.trim_matches(' ');
        let code_at = item_at + lead;
        let all_upper = code.bytes().all(|b| b.is_ascii_uppercase());
        if code.is_empty() {
            return Err(cur.expected(
                code_at,
                code_at,
                "a country code (USA, RUS) or tetragraph (FVEY) in REL TO",
            ));
        } else if code.len() == 3 && all_upper {
            let c = CountryCode::parse(code).map_err(|_| {
                cur.problem(
                    code_at,
                    MarkProblem::BadCountry {
                        found: code.to_owned(),
                    },
                )
            })?;
            out.insert(c);
        } else if let (4, true, Some(members)) = (code.len(), all_upper, expand_tetragraph(code)) {
            for m in members {
                // The tetragraph table is static data of three-letter codes.
                if let Ok(c) = CountryCode::parse(m) {
                    out.insert(c);
                }
            }
        } else {
            return Err(cur.problem(
                code_at,
                MarkProblem::BadCountry {
                    found: code.to_owned(),
                },
            ));
        }
    }
    Ok(out)
}

/// REL TO lists are written USA first, then alphabetically (CAPCO convention).
fn rel_to_list(list: &BTreeSet<CountryCode>) -> String {
    let usa = list.iter().filter(|c| c.as_str() == "USA");
    let rest = list.iter().filter(|c| c.as_str() != "USA");
    usa.chain(rest)
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for PortionMark {
    /// The canonical portion mark: `(S//OC/NF)`, `(U//FOUO)`, `(TLP:AMBER)`. `parse_mark` reads it
    /// back to an equal mark (FOUO and CUI each print as written).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let only_tlp = self.classification == Classification::U
            && self.sci.is_empty()
            && !self.controlled_unclassified()
            && !self.noforn
            && !self.orcon
            && self.rel_to.is_none();
        if let (true, Some(tlp)) = (only_tlp, self.tlp) {
            return write!(f, "({tlp})");
        }
        write!(f, "({}", self.classification.abbrev())?;
        if !self.sci.is_empty() {
            let sci: Vec<_> = self.sci.iter().map(|s| s.as_str()).collect();
            write!(f, "//{}", sci.join("/"))?;
        }
        let mut dissem = Vec::new();
        if self.fouo {
            dissem.push("FOUO".to_owned());
        }
        if self.cui {
            dissem.push("CUI".to_owned());
        }
        if self.orcon {
            dissem.push("OC".to_owned());
        }
        if self.noforn {
            dissem.push("NF".to_owned());
        }
        if let Some(list) = &self.rel_to {
            dissem.push(format!("REL TO {}", rel_to_list(list)));
        }
        if !dissem.is_empty() {
            write!(f, "//{}", dissem.join("/"))?;
        }
        if let Some(tlp) = self.tlp {
            write!(f, "//{tlp}")?;
        }
        f.write_str(")")
    }
}

/// The canonical portion-mark text of `mark`, e.g. `(S//REL TO USA, RUS)`; same as its `Display`.
pub fn format_mark(mark: &PortionMark) -> String {
    mark.to_string()
}

// ---------------------------------------------------------------------------------------------
// Portion-marked report body
// ---------------------------------------------------------------------------------------------

/// An error in a portion-marked report body, located by file line and character column.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ReportError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse a portion-marked report body. Each portion begins at the start of a line with a portion
/// mark (`(S//NF) text`) or a tearline (`TEARLINE (U): text`) and runs on over the following lines
/// until the next mark or a blank line. Text outside any portion is an error: unmarked text must
/// never pass silently. `first_line` is the file line number of the first line of `text`, so
/// errors point into the file the body came from.
///
/// A line whose first non-blank character is `(` is always read as a mark, so a continuation line
/// cannot start with a parenthesis: a mark that fails to parse is an error, never prose.
pub fn parse_portions(text: &str, first_line: usize) -> Result<Vec<Portion>, ReportError> {
    let mut portions: Vec<Portion> = Vec::new();
    let mut open: Option<Portion> = None;

    for (i, raw) in text.split('\n').enumerate() {
        let line_no = first_line.saturating_add(i);
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim_end();
        let body = line.trim_start();
        let indent = line.chars().count() - body.chars().count();
        let err = |column: usize, message: String| ReportError {
            line: line_no,
            column,
            message,
        };

        if body.is_empty() {
            close_portion(&mut open, &mut portions)?;
            continue;
        }

        let started = if body.starts_with('(') {
            let (mark, rest) = mark_prefix(body).map_err(|(col, msg)| err(indent + col, msg))?;
            Some(Portion {
                mark,
                text: rest.trim().to_owned(),
                tearline: false,
                lang: None,
                line: line_no,
            })
        } else if let Some(after) = body.strip_prefix("TEARLINE") {
            let (mark, lang, rest) =
                tearline(after).map_err(|(col, msg)| err(indent + "TEARLINE".len() + col, msg))?;
            Some(Portion {
                mark,
                text: rest.trim().to_owned(),
                tearline: true,
                lang,
                line: line_no,
            })
        } else {
            None
        };

        match (started, open.as_mut()) {
            (Some(p), _) => {
                close_portion(&mut open, &mut portions)?;
                open = Some(p);
            }
            (None, Some(p)) => {
                if !p.text.is_empty() {
                    p.text.push('\n');
                }
                p.text.push_str(body);
            }
            (None, None) => {
                return Err(err(
                    indent + 1,
                    "unmarked text outside any portion: a portion must start at the beginning of a \
                     line with a portion mark such as (U) or (S//NF), or with TEARLINE (U):"
                        .to_owned(),
                ));
            }
        }
    }
    close_portion(&mut open, &mut portions)?;
    Ok(portions)
}

fn close_portion(
    open: &mut Option<Portion>,
    portions: &mut Vec<Portion>,
) -> Result<(), ReportError> {
    if let Some(p) = open.take() {
        if p.text.is_empty() {
            // A mark with nothing under it is most likely a slip; refusing it keeps the text and its
            // marking from drifting apart.
            return Err(ReportError {
                line: p.line,
                column: 1,
                message: format!("portion {} has no text", p.mark),
            });
        }
        portions.push(p);
    }
    Ok(())
}

/// Split `(mark) rest` into the parsed mark and the rest. Errors carry a 1-based column relative to
/// `s` and a message.
fn mark_prefix(s: &str) -> Result<(PortionMark, &str), (usize, String)> {
    let Some(close) = s.find(')') else {
        return Err((
            1,
            "a line starting with \"(\" must begin with a portion mark closed by \")\", such as (U) or \
             (S//NF)"
                .to_owned(),
        ));
    };
    let mark = parse_mark(&s[..=close]).map_err(|e| (e.column, e.problem.to_string()))?;
    Ok((mark, &s[close + 1..]))
}

/// Parse what follows `TEARLINE`: ` (mark): text`, or ` (mark) [lang]: text` for a tearline in
/// another language (ISO 639-1, two or three lowercase letters, optionally `-REGION`).
#[allow(clippy::type_complexity)]
fn tearline(after: &str) -> Result<(PortionMark, Option<String>, &str), (usize, String)> {
    const FORM: &str =
        "expected a tearline of the form \"TEARLINE (U): text\" or \"TEARLINE (U) [ru]: text\"";
    let trimmed = after.trim_start();
    let gap = after.chars().count() - trimmed.chars().count();
    if !trimmed.starts_with('(') {
        return Err((gap + 1, FORM.to_owned()));
    }
    let (mark, rest) = mark_prefix(trimmed).map_err(|(col, msg)| (gap + col, msg))?;
    // Column (1-based, relative to `after`) of a position in `rest`.
    let col_of = |r: &str| gap + trimmed.chars().count() - r.chars().count() + 1;
    let (lang, rest) = match rest.trim_start().strip_prefix('[') {
        Some(inner) => {
            let Some(close) = inner.find(']') else {
                return Err((
                    col_of(rest),
                    format!("{FORM}: the language tag needs a closing \"]\""),
                ));
            };
            let tag = &inner[..close];
            let (primary, region) = match tag.split_once('-') {
                Some((p, r)) => (p, Some(r)),
                None => (tag, None),
            };
            let ok = (2..=3).contains(&primary.len())
                && primary.chars().all(|c| c.is_ascii_lowercase())
                && region.is_none_or(|r| {
                    (2..=3).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric())
                });
            if !ok {
                return Err((
                    col_of(inner),
                    format!("{tag:?} is not a language tag such as ru, ar or pt-BR"),
                ));
            }
            (Some(tag.to_owned()), &inner[close + 1..])
        }
        None => (None, rest),
    };
    match rest.strip_prefix(':') {
        Some(text) => Ok((mark, lang, text)),
        None => Err((
            col_of(rest),
            format!("{FORM}: a \":\" must follow the mark"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Banner roll-up
// ---------------------------------------------------------------------------------------------

/// The overall marking of a set of portions (docs/domain.md, "Markings").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Banner {
    pub classification: Classification,
    pub sci: BTreeSet<SciControl>,
    pub noforn: bool,
    pub orcon: bool,
    /// FOUO / CUI: only shown on an unclassified banner (a classified banner already restricts
    /// more). When portions carry both, the banner shows CUI only (it supersedes FOUO).
    pub fouo: bool,
    #[serde(default)]
    pub cui: bool,
    pub rel_to: Option<BTreeSet<CountryCode>>,
    pub tlp: Option<TlpLevel>,
}

/// Roll portion marks up into a banner:
/// - the highest classification (UNCLASSIFIED for no portions);
/// - the union of SCI controls; ORCON if any portion is ORCON; the highest TLP;
/// - NOFORN if any portion is NOFORN, or if any classified portion has no foreign-disclosure
///   marking (fail closed), or if the REL TO lists have no country in common;
/// - otherwise REL TO the intersection of the lists. Every list counts, also one on an
///   unclassified portion: ignoring it would release that portion beyond its own list.
pub fn banner(marks: &[&PortionMark]) -> Banner {
    let classification = marks
        .iter()
        .map(|m| m.classification)
        .max()
        .unwrap_or(Classification::U);
    let sci = marks.iter().flat_map(|m| m.sci.iter().copied()).collect();
    let orcon = marks.iter().any(|m| m.orcon);
    let tlp = marks.iter().filter_map(|m| m.tlp).max();
    let cui = classification == Classification::U && marks.iter().any(|m| m.cui);
    let fouo = classification == Classification::U && !cui && marks.iter().any(|m| m.fouo);

    let no_fd_marking = marks
        .iter()
        .any(|m| m.classification > Classification::U && m.rel_to.is_none() && !m.noforn);
    let mut rel_to: Option<BTreeSet<CountryCode>> = None;
    for list in marks.iter().filter_map(|m| m.rel_to.as_ref()) {
        rel_to = Some(match rel_to {
            None => list.clone(),
            Some(acc) => acc.intersection(list).copied().collect(),
        });
    }
    let empty_rel_to = rel_to.as_ref().is_some_and(|l| l.is_empty());
    let noforn = marks.iter().any(|m| m.noforn) || no_fd_marking || empty_rel_to;
    Banner {
        classification,
        sci,
        noforn,
        orcon,
        fouo,
        cui,
        rel_to: if noforn { None } else { rel_to },
        tlp,
    }
}

impl Banner {
    /// The banner as a portion mark, so that [`releasable_to`] can judge a whole document.
    pub fn to_mark(&self) -> PortionMark {
        PortionMark {
            classification: self.classification,
            sci: self.sci.clone(),
            fouo: self.fouo,
            cui: self.cui,
            noforn: self.noforn,
            orcon: self.orcon,
            rel_to: self.rel_to.clone(),
            tlp: self.tlp,
        }
    }
}

impl fmt::Display for Banner {
    /// `SECRET//NOFORN`, `SECRET//REL TO USA, RUS`, `UNCLASSIFIED//FOUO`, `TOP SECRET//SI//NOFORN`,
    /// `SECRET//ORCON/NOFORN//TLP:AMBER`; an unclassified banner with only a TLP is `TLP:AMBER`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut dissem = Vec::new();
        if self.fouo {
            dissem.push("FOUO".to_owned());
        }
        if self.cui {
            dissem.push("CUI".to_owned());
        }
        if self.orcon {
            dissem.push("ORCON".to_owned());
        }
        if self.noforn {
            dissem.push("NOFORN".to_owned());
        }
        if let Some(list) = &self.rel_to {
            dissem.push(format!("REL TO {}", rel_to_list(list)));
        }
        if let (Classification::U, true, true, Some(tlp)) = (
            self.classification,
            self.sci.is_empty(),
            dissem.is_empty(),
            self.tlp,
        ) {
            return write!(f, "{tlp}");
        }
        f.write_str(self.classification.name())?;
        if !self.sci.is_empty() {
            let sci: Vec<_> = self.sci.iter().map(|s| s.as_str()).collect();
            write!(f, "//{}", sci.join("/"))?;
        }
        if !dissem.is_empty() {
            write!(f, "//{}", dissem.join("/"))?;
        }
        if let Some(tlp) = self.tlp {
            write!(f, "//{tlp}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Releasability
// ---------------------------------------------------------------------------------------------

/// Why a marked portion may not go to an audience: each variant names the rule that refused it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Denial {
    #[error("the portion is {classification} but the audience is cleared only to {clearance}")]
    ClassificationAboveClearance {
        classification: Classification,
        clearance: Classification,
    },
    /// Kept simple on purpose: any SCI control needs a TOP SECRET clearance (no per-system
    /// accesses are modelled).
    #[error("the portion carries SCI controls, which go only to audiences cleared TOP SECRET; the audience is cleared to {clearance}")]
    SciNeedsTopSecret { clearance: Classification },
    #[error("the portion is NOFORN and the audience is foreign")]
    Noforn,
    #[error("the portion is REL TO {} and the audience's country {} is not listed", rel_to_list(.rel_to), .country.map_or("(none)".to_owned(), |c| c.to_string()))]
    NotInRelTo {
        country: Option<CountryCode>,
        rel_to: BTreeSet<CountryCode>,
    },
    #[error("the portion is {classification} with no foreign-disclosure marking (neither REL TO nor NOFORN), so it may not go to a foreign audience")]
    NoForeignDisclosure { classification: Classification },
    #[error("the portion is ORCON and the audience has no originator approval")]
    Orcon,
    #[error("the portion is {tlp} but the audience accepts at most {ceiling}")]
    TlpAboveCeiling { tlp: TlpLevel, ceiling: TlpLevel },
    #[error("the portion is FOUO/CUI, which is not for public release")]
    FouoToPublic,
    #[error("a public audience receives only unclassified portions without controls (at most TLP:CLEAR)")]
    NotPublic,
}

/// True when `audience` is foreign to the `originator`: its country differs, or it has no country
/// and is not a domestic agency (unknown nationality counts as foreign: fail closed).
pub fn is_foreign(audience: &Audience, originator: CountryCode) -> bool {
    match audience.country {
        Some(c) => c != originator,
        None => audience.kind != AudienceKind::DomesticAgency,
    }
}

/// May a portion with this mark go to this audience? `Ok(())` or the first rule that refuses it.
/// Rules, in order: classification ≤ clearance; SCI only to TS-cleared audiences; for a foreign
/// audience NOFORN refuses, REL TO must list its country, and a classified portion with no
/// foreign-disclosure marking refuses (fail closed); ORCON needs `orcon_approved`; the portion's TLP
/// must not exceed the audience's ceiling; a public audience gets only `is_public()` marks.
pub fn releasable_to(
    mark: &PortionMark,
    audience: &Audience,
    originator: CountryCode,
) -> Result<(), Denial> {
    if mark.classification > audience.clearance {
        return Err(Denial::ClassificationAboveClearance {
            classification: mark.classification,
            clearance: audience.clearance,
        });
    }
    if !mark.sci.is_empty() && audience.clearance < Classification::TS {
        return Err(Denial::SciNeedsTopSecret {
            clearance: audience.clearance,
        });
    }
    if is_foreign(audience, originator) {
        if mark.noforn {
            return Err(Denial::Noforn);
        }
        match &mark.rel_to {
            Some(list) if !audience.country.is_some_and(|c| list.contains(&c)) => {
                return Err(Denial::NotInRelTo {
                    country: audience.country,
                    rel_to: list.clone(),
                });
            }
            None if mark.classification > Classification::U => {
                return Err(Denial::NoForeignDisclosure {
                    classification: mark.classification,
                });
            }
            _ => {}
        }
    }
    if mark.orcon && !audience.orcon_approved {
        return Err(Denial::Orcon);
    }
    if let Some(tlp) = mark.tlp {
        if tlp > audience.tlp_ceiling {
            return Err(Denial::TlpAboveCeiling {
                tlp,
                ceiling: audience.tlp_ceiling,
            });
        }
    }
    if audience.kind == AudienceKind::Public {
        if mark.controlled_unclassified() {
            return Err(Denial::FouoToPublic);
        }
        if !mark.is_public() {
            return Err(Denial::NotPublic);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::{Audience, AudienceKind};
    use crate::ids::AudienceId;
    use proptest::prelude::*;

    fn cc(s: &str) -> CountryCode {
        CountryCode::parse(s).unwrap()
    }

    fn set(codes: &[&str]) -> BTreeSet<CountryCode> {
        codes.iter().map(|c| cc(c)).collect()
    }

    fn m(s: &str) -> PortionMark {
        parse_mark(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match parse_mark(s) {
            Ok(m) => panic!("{s} parsed as {m:?}"),
            Err(e) => e.to_string(),
        }
    }

    // ---- parse_mark: accepted forms ----

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(m("(U)"), PortionMark::unclassified());
        assert!(m("(U//FOUO)").fouo && !m("(U//FOUO)").cui);
        assert!(m("(U//CUI)").cui && !m("(U//CUI)").fouo);
        assert!(err("(U//FOUO/CUI)").contains("FOUO/CUI is given twice"));
        assert_eq!(m("(C)").classification, Classification::C);

        let nf = m("(S//NF)");
        assert_eq!(nf.classification, Classification::S);
        assert!(nf.noforn && nf.rel_to.is_none());
        assert_eq!(m("(S//NOFORN)"), nf);

        assert_eq!(m("(S//REL TO USA, RUS)").rel_to, Some(set(&["USA", "RUS"])));
        assert_eq!(m("(S//REL TO USA,RUS)").rel_to, Some(set(&["USA", "RUS"])));
        assert_eq!(
            m("(S//REL TO USA, FVEY)").rel_to,
            Some(set(&["USA", "AUS", "CAN", "GBR", "NZL"]))
        );
        // Exactly the listed countries: USA is not added implicitly.
        assert_eq!(m("(S//REL TO GBR)").rel_to, Some(set(&["GBR"])));

        let ts = m("(TS//SI//NF)");
        assert_eq!(ts.classification, Classification::TS);
        assert_eq!(ts.sci, [SciControl::SI].into());
        assert!(ts.noforn);
        assert_eq!(
            m("(TS//SI/TK//NF)").sci,
            [SciControl::SI, SciControl::TK].into()
        );
        assert_eq!(m("(S//SI//REL TO USA, GBR)").sci, [SciControl::SI].into());

        let oc = m("(S//OC//NF)");
        assert!(oc.orcon && oc.noforn);
        assert_eq!(m("(S//ORCON/NF)"), oc);
        assert_eq!(m("(S//ORCON/NOFORN)"), oc);
        assert!(m("(S//OC/REL TO USA, GBR)").orcon);
        // REL TO on unclassified without FOUO is allowed.
        assert_eq!(m("(U//REL TO USA, RUS)").rel_to, Some(set(&["USA", "RUS"])));
    }

    #[test]
    fn parses_tlp_only_marks() {
        for (s, t) in [
            ("(TLP:CLEAR)", TlpLevel::Clear),
            ("(TLP:GREEN)", TlpLevel::Green),
            ("(TLP:AMBER)", TlpLevel::Amber),
            ("(TLP:AMBER+STRICT)", TlpLevel::AmberStrict),
            ("(TLP:RED)", TlpLevel::Red),
        ] {
            let mk = m(s);
            assert_eq!(mk.classification, Classification::U);
            assert_eq!(mk.tlp, Some(t));
            assert_eq!(mk.to_string(), s);
        }
        assert_eq!(m("(U//FOUO//TLP:AMBER)").tlp, Some(TlpLevel::Amber));
    }

    // ---- parse_mark: refused forms, with columns ----

    #[test]
    fn unknown_dissemination_control_names_column_and_expectation() {
        assert_eq!(
            err("(TS//SI//XX)"),
            "column 10: expected a dissemination control (NF, OC, REL TO, FOUO) but found \"XX\""
        );
        assert_eq!(
            err("(S//XX)"),
            "column 5: expected an SCI control system (SI, TK, HCS) or a dissemination control (NF, OC, \
             REL TO, FOUO) but found \"XX\""
        );
        assert_eq!(
            err("(TS//SI/XX//NF)"),
            "column 9: expected an SCI control system (SI, TK, HCS) but found \"XX\""
        );
    }

    #[test]
    fn refuses_noforn_with_rel_to() {
        assert_eq!(
            parse_mark("(S//NF/REL TO USA, GBR)").unwrap_err(),
            MarkError {
                column: 8,
                problem: MarkProblem::NofornWithRelTo
            }
        );
        assert_eq!(parse_mark("(S//REL TO USA//NF)").unwrap_err().column, 17);
    }

    #[test]
    fn refuses_empty_categories() {
        assert_eq!(err("(S//)"), "column 5: expected an SCI control system (SI, TK, HCS) or a dissemination control (NF, OC, REL TO, FOUO) but found \")\"");
        assert_eq!(parse_mark("(S////NF)").unwrap_err().column, 5);
        assert_eq!(parse_mark("(S//NF/)").unwrap_err().column, 8);
        assert_eq!(parse_mark("(S///NF)").unwrap_err().column, 5);
        assert_eq!(
            err("()"),
            "column 2: expected a classification (U, C, S, TS) or TLP:<level> but found \")\""
        );
    }

    #[test]
    fn refuses_bad_countries() {
        assert_eq!(
            err("(S//REL TO USA, RU)"),
            "column 17: expected an ISO 3166-1 alpha-3 country code (USA, RUS, GBR) or a tetragraph \
             (FVEY, ACGU, NATO) in REL TO but found \"RU\""
        );
        assert_eq!(parse_mark("(S//REL TO XXXX)").unwrap_err().column, 12);
        assert_eq!(parse_mark("(S//REL TO usa)").unwrap_err().column, 12);
        assert_eq!(parse_mark("(S//REL TO USA, , GBR)").unwrap_err().column, 17);
        assert!(err("(S//REL TO)").contains("a country list after \"REL TO \""));
        assert!(err("(S//REL TO  )").contains("a country list"));
        assert!(err("(S//RELTO USA)").contains("found \"RELTO USA\""));
    }

    #[test]
    fn refuses_malformed_outer_shape() {
        assert_eq!(
            err(""),
            "column 1: expected \"(\" opening the portion mark but found the end of the text"
        );
        assert_eq!(
            err("S//NF"),
            "column 1: expected \"(\" opening the portion mark but found \"S//NF\""
        );
        assert_eq!(
            err("(S//NF"),
            "column 7: expected \")\" closing the portion mark but found the end of the text"
        );
        assert_eq!(
            err("(S//NF) x"),
            "column 8: expected the end of the portion mark after \")\" but found \" x\""
        );
        assert_eq!(parse_mark("(s//nf)").unwrap_err().column, 2);
        assert_eq!(parse_mark("(S // NF)").unwrap_err().column, 2);
    }

    #[test]
    fn refuses_misplaced_and_duplicate_controls() {
        assert!(err("(S//FOUO)").contains("FOUO/CUI marks unclassified information only"));
        assert!(err("(U//SI)").contains("SCI control SI needs a classified portion"));
        assert_eq!(
            parse_mark("(S//NF/NOFORN)").unwrap_err().problem,
            MarkProblem::Duplicate { control: "NOFORN" }
        );
        assert_eq!(parse_mark("(TS//SI/SI)").unwrap_err().column, 9);
        assert!(err("(S//REL TO USA//REL TO GBR)").contains("REL TO is given twice"));
        assert!(err("(TS//NF//SI)").contains("dissemination control"));
        assert!(err("(TLP:WHITE)").contains("expected a TLP 2.0 level"));
        assert_eq!(parse_mark("(TLP:AMBER//NF)").unwrap_err().column, 11);
        assert!(err("(S//TLP:AMBER//NF)").contains("TLP designation to be the last"));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // "Ж" is two bytes; the column of "XX" must still be the character count.
        assert_eq!(parse_mark("(S//REL TO Ж)").unwrap_err().column, 12);
        assert_eq!(parse_mark("(Ж//XX)").unwrap_err().column, 2);
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        assert_eq!(m("(S//NF)").to_string(), "(S//NF)");
        assert_eq!(m("(S//NOFORN//ORCON)").to_string(), "(S//OC/NF)");
        assert_eq!(
            m("(S//REL TO RUS, USA)").to_string(),
            "(S//REL TO USA, RUS)"
        );
        assert_eq!(m("(U//CUI)").to_string(), "(U//CUI)");
        assert_eq!(format_mark(&m("(TS//TK/SI//NF)")), "(TS//SI/TK//NF)");
    }

    // ---- parse_portions ----

    const BODY: &str = "(S//NF) Reporting from a sensitive source ...
continues on following lines until the next mark or a blank line.
(U) Extremists have imminent plans to target large gatherings in Moscow, to include concerts.

TEARLINE (U): text written for release ...
";

    #[test]
    fn portions_split_on_marks_and_blank_lines() {
        let ps = parse_portions(BODY, 10).unwrap();
        assert_eq!(ps.len(), 3);
        assert_eq!(ps[0].mark, m("(S//NF)"));
        assert_eq!(
            ps[0].text,
            "Reporting from a sensitive source ...\ncontinues on following lines until the next mark or a blank line."
        );
        assert_eq!(ps[0].line, 10);
        assert_eq!(ps[1].line, 12);
        assert!(!ps[1].tearline);
        assert!(ps[2].tearline);
        assert_eq!(ps[2].mark, PortionMark::unclassified());
        assert_eq!(ps[2].text, "text written for release ...");
        assert_eq!(ps[2].line, 14);
        assert_eq!(parse_portions("", 1).unwrap(), vec![]);
        assert_eq!(
            parse_portions("\r\n(U) a\r\nb\r\n", 1).unwrap()[0].text,
            "a\nb"
        );
    }

    #[test]
    fn tearlines_may_name_their_language() {
        let ps = parse_portions(
            "TEARLINE (U): Extremists plan attacks.\nTEARLINE (U) [ru]: Экстремисты планируют нападения.\nTEARLINE (U) [pt-BR]: x\n",
            1,
        )
        .unwrap();
        assert_eq!(ps.len(), 3);
        assert_eq!(ps[0].lang, None);
        assert_eq!(ps[1].lang.as_deref(), Some("ru"));
        assert_eq!(ps[1].text, "Экстремисты планируют нападения.");
        assert!(ps[1].tearline);
        assert_eq!(ps[2].lang.as_deref(), Some("pt-BR"));
        let e = parse_portions("TEARLINE (U) [Russian]: t\n", 4).unwrap_err();
        assert_eq!((e.line, e.column), (4, 15));
        assert!(
            e.message.contains("\"Russian\" is not a language tag"),
            "{e}"
        );
        let e = parse_portions("TEARLINE (U) [ru: t\n", 4).unwrap_err();
        assert!(e.message.contains("closing \"]\""), "{e}");
        let e = parse_portions("TEARLINE (U) [ru] t\n", 4).unwrap_err();
        assert!(e.message.contains("\":\" must follow"), "{e}");
    }

    #[test]
    fn unmarked_text_is_refused() {
        let e = parse_portions("(U) one\n\nloose text\n", 5).unwrap_err();
        assert_eq!((e.line, e.column), (7, 1));
        assert!(e.message.contains("unmarked text"), "{e}");
        let e = parse_portions("  loose", 1).unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
    }

    #[test]
    fn bad_marks_in_a_body_point_at_the_file() {
        let e = parse_portions("(U) a\n(S//XX) b\n", 20).unwrap_err();
        assert_eq!((e.line, e.column), (21, 5));
        assert!(
            e.to_string().starts_with("line 21, column 5: expected"),
            "{e}"
        );
        let e = parse_portions("(S//NF text without a closing paren\n", 1).unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        let e = parse_portions("TEARLINE (S//XX): t\n", 3).unwrap_err();
        assert_eq!((e.line, e.column), (3, 14));
        let e = parse_portions("TEARLINE (U) no colon\n", 3).unwrap_err();
        assert_eq!((e.line, e.column), (3, 13));
        assert!(e.message.contains("\":\" must follow"), "{e}");
        let e = parse_portions("TEARLINE: text\n", 3).unwrap_err();
        assert_eq!((e.line, e.column), (3, 9));
    }

    #[test]
    fn empty_portions_are_refused() {
        let e = parse_portions("(U)\n\n(S//NF) x", 1).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("(U) has no text"), "{e}");
        // Text may start on the line after the mark.
        assert_eq!(parse_portions("(S//NF)\ntext", 1).unwrap()[0].text, "text");
    }

    // ---- banner ----

    fn roll(marks: &[&str]) -> Banner {
        let ms: Vec<PortionMark> = marks.iter().map(|s| m(s)).collect();
        banner(&ms.iter().collect::<Vec<_>>())
    }

    #[test]
    fn banner_roll_up() {
        assert_eq!(roll(&[]).to_string(), "UNCLASSIFIED");
        assert_eq!(roll(&["(U)", "(S//NF)"]).to_string(), "SECRET//NOFORN");
        assert_eq!(
            roll(&["(U)", "(S//REL TO USA, RUS)"]).to_string(),
            "SECRET//REL TO USA, RUS"
        );
        assert_eq!(
            roll(&["(U)", "(U//FOUO)"]).to_string(),
            "UNCLASSIFIED//FOUO"
        );
        assert_eq!(
            roll(&["(U//FOUO)", "(S//REL TO USA)"]).to_string(),
            "SECRET//REL TO USA"
        );
        assert_eq!(roll(&["(U)", "(U//CUI)"]).to_string(), "UNCLASSIFIED//CUI");
        assert_eq!(
            roll(&["(U//FOUO)", "(U//CUI)"]).to_string(),
            "UNCLASSIFIED//CUI"
        );
        assert_eq!(
            roll(&["(TS//SI//NF)", "(U)"]).to_string(),
            "TOP SECRET//SI//NOFORN"
        );
        assert_eq!(
            roll(&["(S//REL TO USA, FVEY)", "(C//REL TO USA, GBR, RUS)"]).rel_to,
            Some(set(&["USA", "GBR"]))
        );
        // Any NOFORN portion wins over REL TO.
        assert_eq!(
            roll(&["(S//REL TO USA, GBR)", "(C//NF)"]).to_string(),
            "SECRET//NOFORN"
        );
        // A classified portion without foreign-disclosure marking: fail closed.
        assert_eq!(
            roll(&["(S//REL TO USA, GBR)", "(C)"]).to_string(),
            "SECRET//NOFORN"
        );
        // Disjoint lists leave no country: NOFORN.
        assert_eq!(
            roll(&["(S//REL TO GBR)", "(S//REL TO RUS)"]).to_string(),
            "SECRET//NOFORN"
        );
        assert_eq!(
            roll(&["(S//OC/REL TO USA)", "(U)"]).to_string(),
            "SECRET//ORCON/REL TO USA"
        );
        assert_eq!(
            roll(&["(TLP:GREEN)", "(TLP:AMBER)", "(U)"]).to_string(),
            "TLP:AMBER"
        );
        assert_eq!(
            roll(&["(TLP:RED)", "(S//NF)"]).to_string(),
            "SECRET//NOFORN//TLP:RED"
        );
        assert_eq!(roll(&["(S//NF)"]).to_mark(), m("(S//NF)"));
    }

    // ---- releasable_to ----

    fn aud(
        kind: AudienceKind,
        country: Option<&str>,
        clearance: Classification,
        tlp: TlpLevel,
    ) -> Audience {
        Audience {
            id: AudienceId::new("a"),
            name: "A".into(),
            kind,
            country: country.map(cc),
            clearance,
            tlp_ceiling: tlp,
            orcon_approved: false,
            channels: vec![],
            escalation_contact: None,
            language: "en".into(),
            posture_interval_hours: None,
            timezone: None,
        }
    }

    fn usa() -> CountryCode {
        cc("USA")
    }

    fn fsb() -> Audience {
        aud(
            AudienceKind::PartnerService,
            Some("RUS"),
            Classification::S,
            TlpLevel::Red,
        )
    }

    fn domestic() -> Audience {
        aud(
            AudienceKind::DomesticAgency,
            Some("USA"),
            Classification::TS,
            TlpLevel::Red,
        )
    }

    fn public() -> Audience {
        aud(
            AudienceKind::Public,
            None,
            Classification::U,
            TlpLevel::Clear,
        )
    }

    fn operator() -> Audience {
        aud(
            AudienceKind::Operator,
            Some("RUS"),
            Classification::U,
            TlpLevel::Amber,
        )
    }

    #[test]
    fn classification_above_clearance() {
        assert_eq!(
            releasable_to(&m("(TS//REL TO RUS)"), &fsb(), usa()),
            Err(Denial::ClassificationAboveClearance {
                classification: Classification::TS,
                clearance: Classification::S
            })
        );
        assert_eq!(
            releasable_to(&m("(S//REL TO USA, RUS)"), &fsb(), usa()),
            Ok(())
        );
    }

    #[test]
    fn sci_needs_top_secret() {
        let mut partner = fsb();
        assert_eq!(
            releasable_to(&m("(S//SI//REL TO RUS)"), &partner, usa()),
            Err(Denial::SciNeedsTopSecret {
                clearance: Classification::S
            })
        );
        partner.clearance = Classification::TS;
        assert_eq!(
            releasable_to(&m("(S//SI//REL TO RUS)"), &partner, usa()),
            Ok(())
        );
        assert_eq!(
            releasable_to(&m("(TS//SI//NF)"), &domestic(), usa()),
            Ok(())
        );
    }

    #[test]
    fn noforn_never_goes_abroad() {
        assert_eq!(
            releasable_to(&m("(S//NF)"), &fsb(), usa()),
            Err(Denial::Noforn)
        );
        assert_eq!(
            releasable_to(&m("(U//NF)"), &operator(), usa()),
            Err(Denial::Noforn)
        );
        assert_eq!(releasable_to(&m("(S//NF)"), &domestic(), usa()), Ok(()));
        // The same audience is domestic when it shares the originator's country.
        assert_eq!(releasable_to(&m("(S//NF)"), &fsb(), cc("RUS")), Ok(()));
    }

    #[test]
    fn rel_to_needs_the_audience_country() {
        let gbr = aud(
            AudienceKind::PartnerService,
            Some("GBR"),
            Classification::S,
            TlpLevel::Red,
        );
        assert_eq!(
            releasable_to(&m("(S//REL TO USA, RUS)"), &gbr, usa()),
            Err(Denial::NotInRelTo {
                country: Some(cc("GBR")),
                rel_to: set(&["USA", "RUS"])
            })
        );
        assert_eq!(releasable_to(&m("(S//REL TO FVEY)"), &gbr, usa()), Ok(()));
        // A foreign audience with no country cannot be in any list.
        let nowhere = aud(
            AudienceKind::Operator,
            None,
            Classification::S,
            TlpLevel::Red,
        );
        assert!(matches!(
            releasable_to(&m("(S//REL TO USA, RUS)"), &nowhere, usa()),
            Err(Denial::NotInRelTo { country: None, .. })
        ));
        assert!(Denial::NotInRelTo {
            country: Some(cc("GBR")),
            rel_to: set(&["RUS", "USA"])
        }
        .to_string()
        .contains("REL TO USA, RUS and the audience's country GBR is not listed"));
    }

    #[test]
    fn classified_without_foreign_disclosure_marking_stays_home() {
        assert_eq!(
            releasable_to(&m("(C)"), &fsb(), usa()),
            Err(Denial::NoForeignDisclosure {
                classification: Classification::C
            })
        );
        assert_eq!(releasable_to(&m("(C)"), &domestic(), usa()), Ok(()));
        // A domestic agency with no country counts as domestic; others without a country do not.
        let home = aud(
            AudienceKind::DomesticAgency,
            None,
            Classification::S,
            TlpLevel::Red,
        );
        assert_eq!(releasable_to(&m("(C)"), &home, usa()), Ok(()));
        assert!(is_foreign(
            &aud(
                AudienceKind::PartnerService,
                None,
                Classification::S,
                TlpLevel::Red
            ),
            usa()
        ));
        // Unclassified without controls may go abroad.
        assert_eq!(releasable_to(&m("(U)"), &fsb(), usa()), Ok(()));
    }

    #[test]
    fn orcon_needs_approval() {
        let mut partner = fsb();
        assert_eq!(
            releasable_to(&m("(S//OC/REL TO RUS)"), &partner, usa()),
            Err(Denial::Orcon)
        );
        assert_eq!(
            releasable_to(&m("(S//OC)"), &domestic(), usa()),
            Err(Denial::Orcon)
        );
        partner.orcon_approved = true;
        assert_eq!(
            releasable_to(&m("(S//OC/REL TO RUS)"), &partner, usa()),
            Ok(())
        );
    }

    #[test]
    fn tlp_above_ceiling() {
        assert_eq!(
            releasable_to(&m("(TLP:RED)"), &operator(), usa()),
            Err(Denial::TlpAboveCeiling {
                tlp: TlpLevel::Red,
                ceiling: TlpLevel::Amber
            })
        );
        assert_eq!(releasable_to(&m("(TLP:AMBER)"), &operator(), usa()), Ok(()));
        assert_eq!(
            releasable_to(&m("(TLP:GREEN)"), &public(), usa()),
            Err(Denial::TlpAboveCeiling {
                tlp: TlpLevel::Green,
                ceiling: TlpLevel::Clear
            })
        );
    }

    #[test]
    fn public_gets_only_public_marks() {
        assert_eq!(releasable_to(&m("(U)"), &public(), usa()), Ok(()));
        assert_eq!(releasable_to(&m("(TLP:CLEAR)"), &public(), usa()), Ok(()));
        assert_eq!(
            releasable_to(&m("(U//FOUO)"), &public(), usa()),
            Err(Denial::FouoToPublic)
        );
        assert_eq!(
            releasable_to(&m("(U//CUI)"), &public(), usa()),
            Err(Denial::FouoToPublic)
        );
        // A misconfigured public audience (too high a ceiling) still gets only public marks.
        let mut lax = public();
        lax.clearance = Classification::TS;
        lax.tlp_ceiling = TlpLevel::Red;
        lax.orcon_approved = true;
        lax.country = Some(usa());
        assert_eq!(
            releasable_to(&m("(TLP:AMBER)"), &lax, usa()),
            Err(Denial::NotPublic)
        );
        assert_eq!(
            releasable_to(&m("(U//NF)"), &lax, usa()),
            Err(Denial::NotPublic)
        );
        assert_eq!(
            releasable_to(&m("(S//REL TO USA)"), &lax, usa()),
            Err(Denial::NotPublic)
        );
        // FOUO to a non-public audience is fine.
        assert_eq!(releasable_to(&m("(U//FOUO)"), &operator(), usa()), Ok(()));
    }

    // ---- properties ----

    fn arb_class() -> impl Strategy<Value = Classification> {
        prop_oneof![
            Just(Classification::U),
            Just(Classification::C),
            Just(Classification::S),
            Just(Classification::TS)
        ]
    }

    fn arb_tlp() -> impl Strategy<Value = TlpLevel> {
        prop_oneof![
            Just(TlpLevel::Clear),
            Just(TlpLevel::Green),
            Just(TlpLevel::Amber),
            Just(TlpLevel::AmberStrict),
            Just(TlpLevel::Red)
        ]
    }

    fn arb_country() -> impl Strategy<Value = CountryCode> {
        prop_oneof![
            Just(cc("USA")),
            Just(cc("RUS")),
            Just(cc("GBR")),
            Just(cc("IRN"))
        ]
    }

    /// Any combination of fields, including ones the parser would refuse.
    fn arb_mark() -> impl Strategy<Value = PortionMark> {
        (
            arb_class(),
            proptest::collection::btree_set(
                prop_oneof![
                    Just(SciControl::SI),
                    Just(SciControl::TK),
                    Just(SciControl::HCS)
                ],
                0..3,
            ),
            (any::<bool>(), any::<bool>()),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(proptest::collection::btree_set(arb_country(), 0..4)),
            proptest::option::of(arb_tlp()),
        )
            .prop_map(
                |(classification, sci, (fouo, cui), noforn, orcon, rel_to, tlp)| PortionMark {
                    classification,
                    sci,
                    fouo,
                    cui,
                    noforn,
                    orcon,
                    rel_to,
                    tlp,
                },
            )
    }

    /// Marks the parser accepts: the grammar's constraints applied to arbitrary fields.
    fn arb_valid_mark() -> impl Strategy<Value = PortionMark> {
        arb_mark().prop_map(|mut mk| {
            if mk.classification == Classification::U {
                mk.sci.clear();
            } else {
                mk.fouo = false;
                mk.cui = false;
            }
            if mk.fouo {
                mk.cui = false;
            }
            if mk.noforn {
                mk.rel_to = None;
            }
            if mk.rel_to.as_ref().is_some_and(|l| l.is_empty()) {
                mk.rel_to = None;
            }
            mk
        })
    }

    proptest! {
        #[test]
        fn a_public_audience_never_gets_a_non_public_mark(
            mk in arb_mark(),
            clearance in arb_class(),
            ceiling in arb_tlp(),
            orcon in any::<bool>(),
            country in proptest::option::of(arb_country()),
            originator in arb_country(),
        ) {
            let mut a = public();
            a.clearance = clearance;
            a.tlp_ceiling = ceiling;
            a.orcon_approved = orcon;
            a.country = country;
            if releasable_to(&mk, &a, originator).is_ok() {
                prop_assert!(mk.is_public(), "{mk:?} went to {a:?}");
            }
        }

        #[test]
        fn display_round_trips(mk in arb_valid_mark()) {
            let text = mk.to_string();
            prop_assert_eq!(parse_mark(&text), Ok(mk), "{}", text);
        }

        #[test]
        fn parse_mark_never_panics(s in "\\PC{0,40}") {
            let _ = parse_mark(&s);
        }

        #[test]
        fn parse_mark_never_panics_on_near_misses(s in "\\((U|C|S|TS|TLP:)?(//?(SI|TK|NF|OC|FOUO|REL TO|USA|, |FVEY|Ж|XX)){0,6}\\)?") {
            if let Err(e) = parse_mark(&s) {
                prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1, "{} -> {}", s, e);
            }
        }

        #[test]
        fn banner_is_never_below_a_portion(marks in proptest::collection::vec(arb_valid_mark(), 0..5), aud_country in arb_country()) {
            // Whatever the whole document may go to, every portion may go to as well (for
            // clearance, foreign disclosure and ORCON): the roll-up never releases more.
            let refs: Vec<&PortionMark> = marks.iter().collect();
            let b = banner(&refs).to_mark();
            let mut a = aud(AudienceKind::PartnerService, Some(aud_country.as_str()), Classification::TS, TlpLevel::Red);
            a.orcon_approved = false;
            if releasable_to(&b, &a, cc("USA")).is_ok() {
                for mk in &marks {
                    prop_assert!(releasable_to(mk, &a, cc("USA")).is_ok(), "{} vs banner {:?}", mk, b);
                }
            }
        }
    }
}
