//! Markings: CAPCO-style portion marks (a documented subset), banner roll-up, TLP 2.0, and the
//! releasability of a portion to an audience (DESIGN §4).

use crate::audience::{Audience, AudienceKind};
use crate::country::{expand_tetragraph, CountryCode};
use crate::threat::Portion;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use thiserror::Error;

/// Classification levels, ordered U < C < S < TS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
pub struct PortionMark {
    pub classification: Classification,
    pub sci: BTreeSet<SciControl>,
    /// FOUO or CUI: unclassified but not for public release.
    pub fouo: bool,
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
            noforn: false,
            orcon: false,
            rel_to: None,
            tlp: None,
        }
    }

    /// Unclassified with no control at all: the only thing the public may receive.
    pub fn is_public(&self) -> bool {
        self.classification == Classification::U
            && self.sci.is_empty()
            && !self.fouo
            && !self.noforn
            && !self.orcon
            && matches!(self.tlp, None | Some(TlpLevel::Clear))
    }
}

/// TLP 2.0 (FIRST), ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    Expected { expected: &'static str, found: String },
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
        MarkError { column: self.column(start), problem: MarkProblem::Expected { expected, found: self.found(start, end) } }
    }

    fn problem(&self, at: usize, problem: MarkProblem) -> MarkError {
        MarkError { column: self.column(at), problem }
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
        let end = s.find(|c: char| c.is_whitespace()).unwrap_or(s.len()).min(16);
        let end = (0..=end).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
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
                let expected = if i == 1 { EXPECT_SCI_OR_DISSEM } else { EXPECT_DISSEM };
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

fn parse_sci_token(cur: &Cursor<'_>, mark: &mut PortionMark, at: usize, tok: &str) -> Result<(), MarkError> {
    let Some(sys) = sci_system(tok) else {
        return Err(cur.expected(at, at + tok.len(), EXPECT_SCI));
    };
    if mark.classification == Classification::U {
        return Err(cur.problem(at, MarkProblem::SciOnUnclassified { control: sys }));
    }
    if !mark.sci.insert(sys) {
        return Err(cur.problem(at, MarkProblem::Duplicate { control: sys.as_str() }));
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
                return Err(cur.problem(at, MarkProblem::FouoOnClassified { classification: mark.classification }));
            }
            if std::mem::replace(&mut mark.fouo, true) {
                return Err(cur.problem(at, MarkProblem::Duplicate { control: "FOUO/CUI" }));
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
fn parse_rel_to_list(cur: &Cursor<'_>, start: usize, end: usize) -> Result<BTreeSet<CountryCode>, MarkError> {
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
            return Err(cur.expected(code_at, code_at, "a country code (USA, RUS) or tetragraph (FVEY) in REL TO"));
        } else if code.len() == 3 && all_upper {
            let c = CountryCode::parse(code)
                .map_err(|_| cur.problem(code_at, MarkProblem::BadCountry { found: code.to_owned() }))?;
            out.insert(c);
        } else if let (4, true, Some(members)) = (code.len(), all_upper, expand_tetragraph(code)) {
            for m in members {
                // The tetragraph table is static data of three-letter codes.
                if let Ok(c) = CountryCode::parse(m) {
                    out.insert(c);
                }
            }
        } else {
            return Err(cur.problem(code_at, MarkProblem::BadCountry { found: code.to_owned() }));
        }
    }
    Ok(out)
}

/// REL TO lists are written USA first, then alphabetically (CAPCO convention).
fn rel_to_list(list: &BTreeSet<CountryCode>) -> String {
    let usa = list.iter().filter(|c| c.as_str() == "USA");
    let rest = list.iter().filter(|c| c.as_str() != "USA");
    usa.chain(rest).map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for PortionMark {
    /// The canonical portion mark: `(S//OC/NF)`, `(U//FOUO)`, `(TLP:AMBER)`. `parse_mark` reads it
    /// back to an equal mark (CUI is written FOUO: the two are one flag).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let only_tlp = self.classification == Classification::U
            && self.sci.is_empty()
            && !self.fouo
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
        let err = |column: usize, message: String| ReportError { line: line_no, column, message };

        if body.is_empty() {
            close_portion(&mut open, &mut portions)?;
            continue;
        }

        let started = if body.starts_with('(') {
            let (mark, rest) = mark_prefix(body).map_err(|(col, msg)| err(indent + col, msg))?;
            Some(Portion { mark, text: rest.trim().to_owned(), tearline: false, line: line_no })
        } else if let Some(after) = body.strip_prefix("TEARLINE") {
            let (mark, rest) = tearline(after).map_err(|(col, msg)| err(indent + "TEARLINE".len() + col, msg))?;
            Some(Portion { mark, text: rest.trim().to_owned(), tearline: true, line: line_no })
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

fn close_portion(open: &mut Option<Portion>, portions: &mut Vec<Portion>) -> Result<(), ReportError> {
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

/// Parse what follows `TEARLINE`: ` (mark): text`.
fn tearline(after: &str) -> Result<(PortionMark, &str), (usize, String)> {
    const FORM: &str = "expected a tearline of the form \"TEARLINE (U): text\"";
    let trimmed = after.trim_start();
    let gap = after.chars().count() - trimmed.chars().count();
    if !trimmed.starts_with('(') {
        return Err((gap + 1, FORM.to_owned()));
    }
    let (mark, rest) = mark_prefix(trimmed).map_err(|(col, msg)| (gap + col, msg))?;
    match rest.strip_prefix(':') {
        Some(text) => Ok((mark, text)),
        None => {
            let col = gap + trimmed.chars().count() - rest.chars().count() + 1;
            Err((col, format!("{FORM}: a \":\" must follow the mark")))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Banner roll-up
// ---------------------------------------------------------------------------------------------

/// The overall marking of a set of portions (DESIGN §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banner {
    pub classification: Classification,
    pub sci: BTreeSet<SciControl>,
    pub noforn: bool,
    pub orcon: bool,
    /// FOUO/CUI: only shown on an unclassified banner (a classified banner already restricts more).
    pub fouo: bool,
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
    let classification = marks.iter().map(|m| m.classification).max().unwrap_or(Classification::U);
    let sci = marks.iter().flat_map(|m| m.sci.iter().copied()).collect();
    let orcon = marks.iter().any(|m| m.orcon);
    let tlp = marks.iter().filter_map(|m| m.tlp).max();
    let fouo = classification == Classification::U && marks.iter().any(|m| m.fouo);

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
    Banner { classification, sci, noforn, orcon, fouo, rel_to: if noforn { None } else { rel_to }, tlp }
}

impl Banner {
    /// The banner as a portion mark, so that [`releasable_to`] can judge a whole document.
    pub fn to_mark(&self) -> PortionMark {
        PortionMark {
            classification: self.classification,
            sci: self.sci.clone(),
            fouo: self.fouo,
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
        if self.orcon {
            dissem.push("ORCON".to_owned());
        }
        if self.noforn {
            dissem.push("NOFORN".to_owned());
        }
        if let Some(list) = &self.rel_to {
            dissem.push(format!("REL TO {}", rel_to_list(list)));
        }
        if let (Classification::U, true, true, Some(tlp)) =
            (self.classification, self.sci.is_empty(), dissem.is_empty(), self.tlp)
        {
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
    ClassificationAboveClearance { classification: Classification, clearance: Classification },
    /// Kept simple on purpose: any SCI control needs a TOP SECRET clearance (no per-system
    /// accesses are modelled).
    #[error("the portion carries SCI controls, which go only to audiences cleared TOP SECRET; the audience is cleared to {clearance}")]
    SciNeedsTopSecret { clearance: Classification },
    #[error("the portion is NOFORN and the audience is foreign")]
    Noforn,
    #[error("the portion is REL TO {} and the audience's country {} is not listed", rel_to_list(.rel_to), .country.map_or("(none)".to_owned(), |c| c.to_string()))]
    NotInRelTo { country: Option<CountryCode>, rel_to: BTreeSet<CountryCode> },
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
pub fn releasable_to(mark: &PortionMark, audience: &Audience, originator: CountryCode) -> Result<(), Denial> {
    if mark.classification > audience.clearance {
        return Err(Denial::ClassificationAboveClearance {
            classification: mark.classification,
            clearance: audience.clearance,
        });
    }
    if !mark.sci.is_empty() && audience.clearance < Classification::TS {
        return Err(Denial::SciNeedsTopSecret { clearance: audience.clearance });
    }
    if is_foreign(audience, originator) {
        if mark.noforn {
            return Err(Denial::Noforn);
        }
        match &mark.rel_to {
            Some(list) => {
                if !audience.country.is_some_and(|c| list.contains(&c)) {
                    return Err(Denial::NotInRelTo { country: audience.country, rel_to: list.clone() });
                }
            }
            None if mark.classification > Classification::U => {
                return Err(Denial::NoForeignDisclosure { classification: mark.classification });
            }
            None => {}
        }
    }
    if mark.orcon && !audience.orcon_approved {
        return Err(Denial::Orcon);
    }
    if let Some(tlp) = mark.tlp {
        if tlp > audience.tlp_ceiling {
            return Err(Denial::TlpAboveCeiling { tlp, ceiling: audience.tlp_ceiling });
        }
    }
    if audience.kind == AudienceKind::Public {
        if mark.fouo {
            return Err(Denial::FouoToPublic);
        }
        if !mark.is_public() {
            return Err(Denial::NotPublic);
        }
    }
    Ok(())
}
