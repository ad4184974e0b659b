//! Text normalisation: case, accents, script and spelling variants.
//!
//! Two levels, both applied to names in the registry and to names in threats:
//!
//! 1. [`normalize`]: lower case, Cyrillic transliterated to Latin (own table, close to the
//!    "simple" BGN/passport style, except `х` → `h`: `Крокус Сити Холл` → `krokus siti holl`),
//!    Unicode NFKD with combining marks stripped (`Café` → `cafe`), a few letters without a
//!    decomposition spelled out (`ß` → `ss`, `ø` → `o`, …), apostrophes dropped, anything else that
//!    is not a letter or digit is a word break. Equal normalised token sequences are an *exact*
//!    match.
//! 2. [`fold_token`]: a spelling-variant key over one normalised token, so that transliterations
//!    and Latin spellings meet (`crocus` → `krokus`, `city` → `siti`, `kharkiv` → `harkiv`). Folded
//!    tokens are what the fuzzy comparison and the indexes work on.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Transliteration of one lower-case Cyrillic letter, `None` when `c` is not in the table.
pub fn cyrillic_to_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "h",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' => "",
        'ы' => "y",
        'ь' => "",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        // Ukrainian, Belarusian, Serbian/Macedonian letters.
        'і' => "i",
        'ї' => "yi",
        'є' => "ye",
        'ґ' => "g",
        'ў' => "u",
        'ђ' => "dj",
        'ј' => "j",
        'љ' => "lj",
        'њ' => "nj",
        'ћ' => "c",
        'џ' => "dz",
        'ѓ' => "gj",
        'ќ' => "kj",
        'ѕ' => "dz",
        _ => return None,
    })
}

/// Latin letters that NFKD does not decompose into a base letter plus marks.
pub fn latin_special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'đ' => "d",
        'ð' => "d",
        'ł' => "l",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        _ => return None,
    })
}

/// Apostrophes do not break a word ("O'Brien" → "obrien").
pub fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}'
    )
}

/// Normalised tokens of a free-text name: see the module docs. Never contains empty tokens.
pub fn normalize(s: &str) -> Vec<String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_apostrophe(c) {
            continue;
        }
        for lc in c.to_lowercase() {
            if let Some(t) = cyrillic_to_latin(lc) {
                out.push_str(t);
                continue;
            }
            decompose_compatible(lc, |d| {
                if is_combining_mark(d) {
                    return;
                }
                for dl in d.to_lowercase() {
                    if let Some(t) = latin_special(dl).or_else(|| cyrillic_to_latin(dl)) {
                        out.push_str(t);
                    } else if dl.is_alphanumeric() {
                        out.push(dl);
                    } else {
                        out.push(' ');
                    }
                }
            });
        }
    }
    out.split_whitespace().map(str::to_owned).collect()
}

/// Spelling-variant key of one normalised token. Rules, applied left to right:
/// `kh` → `h`, `ck` → `k`, `ph` → `f`, `ch` stays, `c` before `e`/`i`/`y` → `s`, other `c` → `k`,
/// `q` → `k`, `x` → `ks`, `w` → `v`, `y` → `i`. Characters outside ASCII are kept.
pub fn fold_token(t: &str) -> String {
    let b: Vec<char> = t.chars().collect();
    let mut out = String::with_capacity(t.len() + 2);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match (c, next) {
            ('k', Some('h')) => {
                out.push('h');
                i += 2;
                continue;
            }
            ('c', Some('k')) => {
                out.push('k');
                i += 2;
                continue;
            }
            ('p', Some('h')) => {
                out.push('f');
                i += 2;
                continue;
            }
            ('c', Some('h')) => {
                out.push_str("ch");
                i += 2;
                continue;
            }
            ('c', Some('e' | 'i' | 'y')) => out.push('s'),
            ('c', _) => out.push('k'),
            ('q', _) => out.push('k'),
            ('x', _) => out.push_str("ks"),
            ('w', _) => out.push('v'),
            ('y', _) => out.push('i'),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// A name prepared for comparison: its normalised and folded tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameKey {
    pub norm: Vec<String>,
    pub folded: Vec<String>,
}

/// Particles that transliterations write or omit at will: the Persian ezafe (`Golzar-e
/// Shohada`, `Golzar Shohada`, `Golzar-i-Shohada`), `ye` after a vowel, and the Arabic article (`al-Aqsa`,
/// `el-Aqsa`, `Aqsa`). Dropped from the folded tokens (never from a name made only of them).
pub const NAME_PARTICLES: &[&str] = &["e", "i", "ye", "al", "el", "ul", "ol"];

/// The names a written name stands for: itself, and when it carries a parenthesised alternate
/// (`Kerman Martyrs' Cemetery (Golzar-e Shohada)`), the part outside and each part inside the
/// parentheses. Names without parentheses give just themselves.
pub fn name_variants(s: &str) -> Vec<String> {
    let mut out = vec![s.to_owned()];
    if !s.contains('(') {
        return out;
    }
    let mut outside = String::new();
    let mut inside = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                if depth == 1 {
                    cur.clear();
                    outside.push(' ');
                    continue;
                }
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    inside.push(std::mem::take(&mut cur));
                    continue;
                }
            }
            _ => {}
        }
        if depth > 0 {
            cur.push(c);
        } else {
            outside.push(c);
        }
    }
    for v in std::iter::once(outside).chain(inside) {
        let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
        if !normalize(&v).is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

impl NameKey {
    pub fn new(s: &str) -> Self {
        let norm = normalize(s);
        let mut folded: Vec<String> = norm
            .iter()
            .filter(|t| !NAME_PARTICLES.contains(&t.as_str()))
            .map(|t| fold_token(t))
            .collect();
        if folded.is_empty() {
            folded = norm.iter().map(|t| fold_token(t)).collect();
        }
        Self { norm, folded }
    }

    pub fn is_empty(&self) -> bool {
        self.norm.is_empty()
    }
}

/// Key for place and city names: folded tokens joined by single spaces (`"Москва"` and
/// `"moskva"` give `"moskva"`; `"St. Petersburg"` and `"st petersburg"` give `"st petersburg"`).
pub fn place_key(s: &str) -> String {
    normalize(s)
        .iter()
        .map(|t| fold_token(t))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_is_transliterated() {
        assert_eq!(normalize("Крокус Сити Холл"), ["krokus", "siti", "holl"]);
        assert_eq!(normalize("Санкт-Петербург"), ["sankt", "peterburg"]);
        assert_eq!(normalize("Казань"), ["kazan"]);
        assert_eq!(normalize("ЁЛКА Йошкар"), ["elka", "yoshkar"]);
    }

    #[test]
    fn case_accents_punctuation() {
        assert_eq!(
            normalize("  Café  Müller-Straße "),
            ["cafe", "muller", "strasse"]
        );
        assert_eq!(normalize("O'Brien's Pub"), ["obriens", "pub"]);
        assert_eq!(normalize("ＦＵＬＬ width №1"), ["full", "width", "no1"]);
        assert!(normalize(" -- ").is_empty());
    }

    #[test]
    fn folding_meets_transliteration() {
        let latin = NameKey::new("Crocus City Hall");
        let cyr = NameKey::new("Крокус Сити Холл");
        assert_eq!(latin.folded, ["krokus", "siti", "hall"]);
        assert_eq!(cyr.folded, ["krokus", "siti", "holl"]);
        assert_eq!(fold_token("kharkiv"), "harkiv");
        assert_eq!(fold_token("chekhov"), "chehov");
        assert_eq!(fold_token("back"), "bak");
        assert_eq!(place_key("St. Petersburg"), place_key("st  petersburg"));
        assert_eq!(place_key("Москва"), place_key("Moskva"));
    }
}
