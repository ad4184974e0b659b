//! The text as the lexicon sees it: normalised, folded tokens with their byte spans in the input.
//!
//! Normalisation is the matcher's ([`tocsin_match::normalize`]): lower case, Cyrillic
//! transliterated, accents stripped, apostrophes dropped, anything else that is not a letter or
//! digit a word break; then each token is folded into its spelling-variant key
//! ([`fold_token`]). The result is one string with the tokens separated by **two** spaces and
//! padded by one space at each end, so that a dictionary phrase `" a  b "` can only match whole
//! tokens and two adjacent phrases never compete for the same space.
//!
//! One pass over the input, three growing buffers per text; nothing is allocated per token.

use tocsin_match::normalize::{cyrillic_to_latin, fold_token};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// One token: where it is in the scanned string and in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok {
    /// Byte range of the token in [`Normalized::scan`].
    pub f_start: usize,
    pub f_end: usize,
    /// Byte range in the input text (always on char boundaries).
    pub start: usize,
    pub end: usize,
    /// The token was replaced by a dictionary word within edit distance (see [`crate::lexicon`]).
    pub corrected: bool,
}

/// Normalised text: the scan string and its tokens.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    pub scan: String,
    pub tokens: Vec<Tok>,
}

// The same letter tables as the matcher's normaliser, so intake and matching fold alike.
pub(crate) use tocsin_match::normalize::{is_apostrophe, latin_special};

/// Builds the normalised (unfolded) token stream: tokens separated by single spaces, with the
/// input span of each.
struct Builder {
    out: String,
    spans: Vec<(usize, usize)>,
    in_token: bool,
    cur_start: usize,
    cur_end: usize,
}

impl Builder {
    fn letter(&mut self, s: &str, at: usize, end: usize) {
        if !self.in_token {
            if !self.out.is_empty() {
                self.out.push(' ');
            }
            self.in_token = true;
            self.cur_start = at;
        }
        self.out.push_str(s);
        self.cur_end = end;
    }

    fn letter_char(&mut self, c: char, at: usize, end: usize) {
        let mut b = [0u8; 4];
        self.letter(c.encode_utf8(&mut b), at, end);
    }

    fn brk(&mut self) {
        if self.in_token {
            self.spans.push((self.cur_start, self.cur_end));
            self.in_token = false;
        }
    }
}

/// Normalise `text` into single-space separated tokens (exactly `normalize(text).join(" ")`) and
/// the input span of each token.
pub fn normalize_with_spans(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut b = Builder {
        out: String::with_capacity(text.len() + 16),
        spans: Vec::new(),
        in_token: false,
        cur_start: 0,
        cur_end: 0,
    };
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                b.letter_char(c.to_ascii_lowercase(), i, end);
            } else if is_apostrophe(c) {
                // Dropped without breaking the word.
            } else {
                b.brk();
            }
            continue;
        }
        if is_apostrophe(c) {
            continue;
        }
        for lc in c.to_lowercase() {
            if let Some(t) = cyrillic_to_latin(lc) {
                if !t.is_empty() {
                    b.letter(t, i, end);
                } else if b.in_token {
                    // Hard/soft signs vanish inside a word but still belong to its span.
                    b.cur_end = end;
                }
                continue;
            }
            decompose_compatible(lc, |d| {
                if is_combining_mark(d) {
                    return;
                }
                for dl in d.to_lowercase() {
                    if let Some(t) = latin_special(dl).or_else(|| cyrillic_to_latin(dl)) {
                        if !t.is_empty() {
                            b.letter(t, i, end);
                        }
                    } else if dl.is_alphanumeric() {
                        b.letter_char(dl, i, end);
                    } else {
                        b.brk();
                    }
                }
            });
        }
    }
    b.brk();
    (b.out, b.spans)
}

/// Folded token stream ready for the lexicon. `correct` may replace a folded token by a
/// dictionary word (fuzzy matching); it gets the token and whether the word starts with a capital
/// in the input, writes into the provided buffer and returns true when it replaced the token.
pub fn normalize_and_fold(
    text: &str,
    mut correct: impl FnMut(&str, bool, &mut String) -> bool,
) -> Normalized {
    let (norm, spans) = normalize_with_spans(text);
    // Folding the whole single-spaced string at once equals folding each token: no folding rule
    // reads across a space, and spaces map to themselves (checked by a unit test).
    let folded = fold_token(&norm);
    let mut scan = String::with_capacity(folded.len() + spans.len() + 2);
    let mut tokens = Vec::with_capacity(spans.len());
    let mut fix = String::new();
    scan.push(' ');
    for (tok, &(start, end)) in folded
        .split(' ')
        .filter(|t| !t.is_empty())
        .zip(spans.iter())
    {
        if !tokens.is_empty() {
            scan.push_str("  ");
        }
        let f_start = scan.len();
        fix.clear();
        let capital = text[start..end]
            .chars()
            .next()
            .is_some_and(char::is_uppercase);
        let corrected = correct(tok, capital, &mut fix);
        scan.push_str(if corrected { &fix } else { tok });
        tokens.push(Tok {
            f_start,
            f_end: scan.len(),
            start,
            end,
            corrected,
        });
    }
    scan.push(' ');
    Normalized { scan, tokens }
}

impl Normalized {
    /// Index of the token starting at byte `f_start` of the scan string.
    pub fn token_at(&self, f_start: usize) -> Option<usize> {
        let i = self.tokens.partition_point(|t| t.f_start < f_start);
        (self.tokens.get(i)?.f_start == f_start).then_some(i)
    }

    /// Index of the token ending at byte `f_end` of the scan string.
    pub fn token_ending(&self, f_end: usize) -> Option<usize> {
        let i = self.tokens.partition_point(|t| t.f_end < f_end);
        (self.tokens.get(i)?.f_end == f_end).then_some(i)
    }

    /// The folded token `i` as scanned.
    pub fn token(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.scan[t.f_start..t.f_end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_match::normalize::{normalize, place_key};

    #[test]
    fn agrees_with_the_matcher() {
        for s in [
            "Crocus City Hall",
            "Крокус Сити Холл",
            "O'Brien's  Café-Müller ßtraße",
            "ＦＵＬＬ width №1",
            "Объект «Х»",
            " -- ",
            "ISIS-K, ISKP.",
            "подъезд",
        ] {
            let (norm, spans) = normalize_with_spans(s);
            assert_eq!(norm, normalize(s).join(" "), "{s}");
            assert_eq!(spans.len(), normalize(s).len(), "{s}");
            let n = normalize_and_fold(s, |_, _, _| false);
            let joined: Vec<&str> = (0..n.tokens.len()).map(|i| n.token(i)).collect();
            assert_eq!(joined.join(" "), place_key(s), "{s}");
        }
    }

    #[test]
    fn spans_point_into_the_input() {
        let s = "Moscow's «Крокус Сити Холл» — 8 March";
        let n = normalize_and_fold(s, |_, _, _| false);
        let words: Vec<&str> = n.tokens.iter().map(|t| &s[t.start..t.end]).collect();
        assert_eq!(words, ["Moscow's", "Крокус", "Сити", "Холл", "8", "March"]);
        assert_eq!(n.scan, " moskovs  krokus  siti  holl  8  march ");
        assert_eq!(n.token_at(n.tokens[1].f_start), Some(1));
        assert_eq!(n.token_ending(n.tokens[1].f_end), Some(1));
        assert_eq!(n.token_at(n.tokens[1].f_start + 1), None);
    }

    #[test]
    fn corrections_replace_tokens() {
        let n = normalize_and_fold("the synagouge", |t, _, out| {
            if t == "sinagouge" {
                out.push_str("sinagogue");
                true
            } else {
                false
            }
        });
        assert_eq!(n.scan, " the  sinagogue ");
        assert!(n.tokens[1].corrected && !n.tokens[0].corrected);
        assert_eq!((n.tokens[1].start, n.tokens[1].end), (4, 13));
    }
}
