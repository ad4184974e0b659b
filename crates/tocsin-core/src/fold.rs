//! Text folding: the one way Tocsin decides that two spellings are the same text, for every
//! comparison the leak gate makes, the need-to-know filter's term redaction and search.
//!
//! A character is folded in this order (documented for users in docs/formats.md, "The leak gate"):
//! 1. Default-ignorable code points (zero-width space, joiners, soft hyphen, bidi controls,
//!    variation selectors, word joiner, BOM…) as UTS #39 defines them, and the Arabic tatweel,
//!    are removed: they join, they never separate.
//! 2. Compatibility decomposition (the NFKD half of NFKC: fullwidth, ligatures, superscripts,
//!    mathematical letters, Arabic presentation forms), then every combining mark is removed, so
//!    `CANOPÉE`, `Canopee` and `Canope\u{301}e` meet.
//! 3. Each remaining letter or digit is reduced to ASCII under one of two [`Key`]s:
//!    - [`Key::Spelling`]: transliteration (`any_ascii`): `ß`→`ss`, `æ`→`ae`, `ø`→`o`, `ł`→`l`,
//!      `þ`→`th`, `ı`→`i`; Cyrillic, Greek and Arabic letter by letter (`ЛАНТЕРН`→`lantern`).
//!    - [`Key::LookAlike`]: the UTS #39 confusable prototype where it is ASCII (Cyrillic `С`,
//!      Greek `Ρ` → `C`, `P`), else the transliteration. A Cyrillic word written with Latin
//!      look-alikes, or the reverse, meets its original here.
//! 4. Lower case.
//!
//! Two texts are "the same" when they agree under either key. Both keys are needed: `РОСА` is
//! `rosa` to a reader of Russian and `poca` to the eye.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// How letters outside ASCII are reduced (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Spelling,
    LookAlike,
}

/// Both keys, for callers that compare under each.
pub const KEYS: [Key; 2] = [Key::Spelling, Key::LookAlike];

/// Removed by folding: default-ignorable code points, and the tatweel (a stretch of the
/// baseline that Arabic text may carry anywhere inside a word).
pub fn is_ignorable(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    if c == '\u{640}' {
        return true;
    }
    // UTS #39's skeleton drops exactly the default-ignorable code points and maps every other
    // character to a non-empty prototype; asking it keeps one source for that property.
    let mut buf = [0u8; 4];
    let ignorable = unicode_security::skeleton(c.encode_utf8(&mut buf))
        .next()
        .is_none();
    ignorable
}

/// Letters from a script whose transliteration writes no vowel carrier (Arabic alef):
/// `any_ascii` gives them nothing, and nothing is what they contribute.
fn is_arabic(c: char) -> bool {
    matches!(c as u32, 0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF)
}

/// The UTS #39 prototype of `c` in lower-case ASCII, when it is ASCII letters and digits only.
/// A prototype carrying a mark is not a look-alike of the bare letter: `Θ` is `O` with a bar
/// (`O̵`), and a reader takes it for a theta (spelt `th`), not for an `O`. (Accented letters still
/// meet their base letter: they decompose, and the marks are removed, before this is asked.)
fn look_alike(c: char, out: &mut String) -> bool {
    let mut buf = [0u8; 4];
    let mut proto = String::new();
    for p in unicode_security::skeleton(c.encode_utf8(&mut buf)) {
        if !p.is_ascii_alphanumeric() {
            return false;
        }
        proto.push(p);
    }
    if proto.is_empty() {
        return false;
    }
    // The prototype of capital I and its look-alikes is `l`; an upper-case letter that looks
    // like `l` is an I.
    if proto == "l" && c.is_uppercase() {
        out.push('i');
    } else {
        out.extend(proto.chars().map(|p| p.to_ascii_lowercase()));
    }
    true
}

/// Push the transliteration of one letter or digit `d` (already decomposed, not a mark).
fn push_letter(d: char, key: Key, out: &mut String) {
    if key == Key::LookAlike && look_alike(d, out) {
        return;
    }
    let t = any_ascii::any_ascii_char(d);
    if t.is_empty() {
        if !is_arabic(d) {
            // A letter the transliteration does not know is compared as itself (fail closed).
            out.extend(d.to_lowercase());
        }
        return;
    }
    out.extend(
        t.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|p| p.to_ascii_lowercase()),
    );
}

/// Fold one character into `out` (nothing for ignorable characters and marks). Letters and
/// digits become lower-case ASCII (rarely a letter kept as itself); other characters are kept
/// as they are after decomposition.
pub fn fold_char(c: char, key: Key, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    if is_ignorable(c) || is_combining_mark(c) {
        return;
    }
    // Look-alikes first, on the character as written: compatibility decomposition turns some
    // of them into letters of their own script (lunate sigma `Ϲ` → `Σ`), losing the resemblance.
    if key == Key::LookAlike && c.is_alphanumeric() && look_alike(c, out) {
        return;
    }
    decompose_compatible(c, |d| {
        if d.is_ascii() {
            out.push(d.to_ascii_lowercase());
        } else if is_combining_mark(d) || is_ignorable(d) {
        } else if d.is_alphanumeric() {
            push_letter(d, key, out);
        } else {
            out.push(d);
        }
    });
}

/// A folded text with, for each of its bytes, the span of the original character it came from.
#[derive(Debug, Clone)]
pub struct Folded {
    text: String,
    /// `None` when the original was ASCII: folded byte `i` is original byte `i`.
    origin: Option<Vec<(usize, usize)>>,
}

impl Folded {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The byte span in the original text of the folded bytes `start..end` (`start < end`).
    /// It covers whole characters, and the ignorable characters and marks that follow the last.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        match &self.origin {
            None => (start, end),
            Some(o) => (o[start].0, o[end - 1].1),
        }
    }
}

/// Fold a whole text under `key`, keeping the map back to the original.
pub fn fold(text: &str, key: Key) -> Folded {
    if text.is_ascii() {
        return Folded {
            text: text.to_ascii_lowercase(),
            origin: None,
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut origin: Vec<(usize, usize)> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        let before = out.len();
        fold_char(c, key, &mut out);
        if out.len() > before {
            origin.resize(out.len(), (i, end));
        } else if let Some(last) = origin.last_mut() {
            last.1 = end;
        }
    }
    Folded {
        text: out,
        origin: Some(origin),
    }
}

/// The folded text under `key`, without the map.
pub fn fold_str(text: &str, key: Key) -> String {
    fold(text, key).text
}

/// Does `haystack` contain `needle` once both are folded (under either key)? An empty needle
/// is contained everywhere.
pub fn contains(haystack: &str, needle: &str) -> bool {
    KEYS.iter()
        .any(|&k| fold_str(haystack, k).contains(&fold_str(needle, k)))
}

/// Every span of the original `text` where one of `needles` occurs once folded (under either
/// key), sorted and with overlapping spans merged. Needles that fold to nothing are ignored.
pub fn find_all<'a>(
    text: &str,
    needles: impl IntoIterator<Item = &'a str> + Clone,
) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for key in KEYS {
        let hay = fold(text, key);
        for n in needles.clone() {
            let n = fold_str(n, key);
            let n = n.trim();
            if n.is_empty() {
                continue;
            }
            for (at, m) in hay.as_str().match_indices(n) {
                spans.push(hay.original_span(at, at + m.len()));
            }
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s < last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// A word of a text folded under both keys, with its byte span in the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedWord {
    pub spelling: String,
    pub look_alike: String,
    pub start: usize,
    pub end: usize,
}

/// Split `text` into words (runs of letters and digits; ignorable characters and marks inside a
/// word do not split it; anything else does) and fold each under both keys.
pub fn words(text: &str) -> Vec<FoldedWord> {
    let mut out = Vec::new();
    let mut cur: Option<FoldedWord> = None;
    let finish = |w: FoldedWord, out: &mut Vec<FoldedWord>| {
        let mut w = w;
        if w.spelling.is_empty() && w.look_alike.is_empty() {
            // Nothing to compare by: compare the word as written, lower case (fail closed).
            w.spelling = text[w.start..w.end].to_lowercase();
        }
        if w.spelling.is_empty() {
            w.spelling = w.look_alike.clone();
        }
        if w.look_alike.is_empty() {
            w.look_alike = w.spelling.clone();
        }
        out.push(w);
    };
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                let w = cur.get_or_insert_with(|| FoldedWord {
                    spelling: String::new(),
                    look_alike: String::new(),
                    start: i,
                    end,
                });
                let l = c.to_ascii_lowercase();
                w.spelling.push(l);
                w.look_alike.push(l);
                w.end = end;
            } else if let Some(w) = cur.take() {
                finish(w, &mut out);
            }
            continue;
        }
        if is_ignorable(c) || is_combining_mark(c) {
            if let Some(w) = cur.as_mut() {
                w.end = end;
            }
            continue;
        }
        if !c.is_alphanumeric() {
            if let Some(w) = cur.take() {
                finish(w, &mut out);
            }
            continue;
        }
        let w = cur.get_or_insert_with(|| FoldedWord {
            spelling: String::new(),
            look_alike: String::new(),
            start: i,
            end,
        });
        let mut buf = String::new();
        for (key, dst) in [
            (Key::Spelling, &mut w.spelling),
            (Key::LookAlike, &mut w.look_alike),
        ] {
            buf.clear();
            fold_char(c, key, &mut buf);
            dst.extend(buf.chars().filter(|x| x.is_alphanumeric()));
        }
        w.end = end;
    }
    if let Some(w) = cur.take() {
        finish(w, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &str) -> Vec<(String, String)> {
        words(s)
            .into_iter()
            .map(|w| (w.spelling, w.look_alike))
            .collect()
    }

    fn same(a: &str, b: &str) -> bool {
        let (a, b) = (keys(a), keys(b));
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x.0 == y.0 || x.1 == y.1 || x.0 == y.1 || x.1 == y.0)
    }

    #[test]
    fn variants_fold_together() {
        for (a, b) in [
            ("CANOPÉE", "Canopee"),
            ("CANOPÉE", "Canope\u{301}e"),
            ("Canopée", "CANOPEE"),
            ("Zürich Relay", "Zurich Relay"),
            ("Canopee", "Cano\u{200B}pee"),
            ("Canopee", "Cano\u{AD}pee"),
            ("Canopee", "Can\u{200D}o\u{200C}pee\u{FE0F}"),
            ("Canopee", "\u{202E}Canopee\u{202C}"),
            ("Canopee", "Ｃａｎｏｐｅｅ"),
            ("Canopee", "Сanоpee"),
            ("Canopee", "ϹΑΝΟΡΕΕ"),
            ("Straße Sieben", "STRASSE SIEBEN"),
            ("SØNDERBORG", "Sonderborg"),
            ("Kraków Line", "Krakow Line"),
            ("Łódź", "Lodz"),
            ("Ærø", "aero"),
            ("ЛАНТЕРН", "Lantern"),
            ("LANTERN", "лантерн"),
            ("ΑΘΗΝΑ", "Athina"),
            ("ΑΘΗΝΑ", "αθhνá"),
            ("Ѳеодор", "Feodor"),
            ("IRON", "ΙRΟΝ"),
            ("РОСА", "rosa"),
            ("РОСА", "POCA"),
            ("الصقر", "الصَّقْر"),
            ("الصقر", "الصـــقر"),
            ("الصقر", "ﺍﻟﺼﻘﺮ"),
        ] {
            assert!(same(a, b), "{a:?} and {b:?} should fold together");
        }
        for (a, b) in [("Canopee", "Canopy"), ("rat", "pat"), ("Krakow", "Krak ow")] {
            assert!(!same(a, b), "{a:?} and {b:?} should differ");
        }
    }

    #[test]
    fn spans_are_in_the_original() {
        let t = "Per Cano\u{AD}pe\u{301}e, go";
        let w = words(t);
        assert_eq!(w.len(), 3);
        assert_eq!(&t[w[1].start..w[1].end], "Cano\u{AD}pe\u{301}e");
        assert_eq!(w[1].spelling, "canopee");
        let spans = find_all("x ＣＡＮＯＰÉＥ y Canopee", ["CANOPÉE"]);
        assert_eq!(spans.len(), 2);
        assert_eq!(
            &"x ＣＡＮＯＰÉＥ y Canopee"[spans[0].0..spans[0].1],
            "ＣＡＮＯＰÉＥ"
        );
    }

    #[test]
    fn unknown_letters_fail_closed() {
        // A word with nothing to transliterate is still a word, compared as written.
        let w = words("ـــ");
        assert!(w.is_empty() || !w[0].spelling.is_empty());
        assert!(contains("Operation CANOPÉE", "canopee"));
        assert!(!contains("Operation Canopy", "canopee"));
    }
}
