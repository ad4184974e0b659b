//! The leak-proof property, shared by the property tests (`compose/props.rs`)
//! and `tocsin bench leakproof`: a deterministic generator of random (threat, audience) cases from a
//! seed, and an oracle that checks what [`compose`] produced.
//!
//! The property: for every case, `compose` either refuses (an error) or returns a warning none of
//! whose fields (text, headline, measures, target labels, banner) contains a restricted term, or
//! a withheld fact (portion, target label/name, actor not releasable to the audience) whole or by
//! a distinctive n-gram, or — checked on the raw text, without the stemmer — a withheld portion
//! verbatim; whose TLP is within the audience's ceiling (CLEAR for the public). "Distinctive" and
//! "releasable source" mean what they mean in [`leak_gate`]; the oracle re-implements the check by
//! brute-force string search rather than the gate's tables.
// `Seeded::pick` is generic: without the explicit deref, `cc(rng.pick(..))` infers `T = str`.
#![allow(clippy::explicit_auto_deref)]

use super::*;
use crate::country::CountryCode;
use crate::entity::{Category, EntityKind};
use crate::ids::{AudienceId, EntityId, ThreatId};
use crate::marking::SciControl;
use crate::threat::Area;
use crate::threat::{Credibility, Harm};
use chrono::{Duration, TimeZone, Utc};

/// The seeded source of every case (one shared implementation for all generators).
pub use crate::seeded::SplitMix64 as Rng;

/// The seed of case `i` of a run seeded with `seed`: cases are independent of each other.
pub fn case_seed(seed: u64, i: u64) -> u64 {
    Rng::new(seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

const VOCAB: &[&str] = &[
    "operatives",
    "cell",
    "attack",
    "attacks",
    "concert",
    "hall",
    "stadium",
    "network",
    "courier",
    "safehouse",
    "explosives",
    "rifles",
    "weapons",
    "plan",
    "planned",
    "planning",
    "target",
    "gatherings",
    "crowd",
    "venue",
    "station",
    "metro",
    "airport",
    "market",
    "school",
    "embassy",
    "hotel",
    "bridge",
    "convoy",
    "border",
    "transfer",
    "money",
    "phones",
    "meeting",
    "reconnaissance",
    "drone",
    "vehicle",
    "truck",
    "team",
    "leader",
    "recruits",
    "training",
    "camp",
    "video",
    "photos",
    "entrance",
    "exits",
    "seating",
    "guards",
    "police",
    "checkpoint",
    "synagogue",
    "church",
    "festival",
    "parade",
    "square",
    "district",
    "city",
    "region",
    "river",
    "night",
    "weekend",
    "march",
    "friday",
    "evening",
    "large",
    "armed",
    "sold-out",
    "imminent",
    "several",
    "three",
    "foreign",
    "local",
    "suspected",
    "credible",
    "sensitive",
    "human",
    "source",
    "liaison",
    "signals",
    "Moscow",
    "Krasnogorsk",
    "Kerman",
    "ring",
    "road",
    "mass-casualty",
    "incendiary",
    "devices",
    "tasked",
    "discussing",
    "access",
    "external",
    "operations",
    "Zürich",
    "Straße",
    "Москва",
    "вокзал",
    "Αθήνα",
    "πλατεία",
    "القاهرة",
    "Kraków",
    "Ærø",
];
const STOPS: &[&str] = &["the", "a", "of", "in", "to", "and", "with", "at", "by"];
/// Restricted terms of the generated cases, in several scripts and spellings.
pub const CODE_NAMES: &[&str] = &[
    "CARDINAL SPARROW",
    "LANTERN GLASS",
    "Herat facilitation network",
    "BLUE HERON",
    "KESTREL",
    "ORCHID",
    "IRON VEIL",
    "SILVER FERN",
    "CANOPÉE",
    "Zürich Relay",
    "ЛАНТЕРН",
    "Kraków Line",
    "SØNDERBORG",
    "Straße Sieben",
    "ΑΘΗΝΑ ΝΥΧΤΑ",
    "الصقر الأزرق",
    "Łódź Gate",
    "Ærøskøbing Watch",
];
const COUNTRIES: &[&str] = &["USA", "RUS", "GBR", "IRN", "AUS", "CAN", "NZL"];

fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).expect("static alpha-3 code")
}

fn words(rng: &mut Rng, min: usize, max: usize) -> String {
    let n = min + rng.index(max - min + 1);
    let mut out: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let mut w = if rng.percent(15) {
            (*rng.pick(STOPS)).to_owned()
        } else {
            (*rng.pick(VOCAB)).to_owned()
        };
        if i == 0 || rng.percent(5) {
            w = capitalise(&w);
        }
        if i + 1 < n && rng.percent(8) {
            w.push(',');
        }
        out.push(w);
    }
    out.join(" ")
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn sentence(rng: &mut Rng) -> String {
    words(rng, 2, 14) + "."
}

fn gen_tlp(rng: &mut Rng) -> TlpLevel {
    *rng.pick(&[
        TlpLevel::Clear,
        TlpLevel::Green,
        TlpLevel::Amber,
        TlpLevel::AmberStrict,
        TlpLevel::Red,
    ])
}

fn gen_rel_to(rng: &mut Rng) -> BTreeSet<CountryCode> {
    let mut set: BTreeSet<CountryCode> = BTreeSet::new();
    if rng.percent(20) {
        set.extend(["USA", "AUS", "CAN", "GBR", "NZL"].iter().map(|c| cc(c)));
    }
    for _ in 0..1 + rng.index(3) {
        set.insert(cc(*rng.pick(COUNTRIES)));
    }
    set
}

/// A random mark the parser would accept (checked by the property tests' round trip).
pub fn gen_mark(rng: &mut Rng, tearline: bool) -> PortionMark {
    let mut m = PortionMark::unclassified();
    let roll = rng.index(100);
    let public_bias = if tearline { 60 } else { 25 };
    if roll < public_bias {
        if rng.percent(20) {
            m.tlp = Some(TlpLevel::Clear);
        }
        return m;
    }
    if roll < public_bias + 10 {
        if rng.percent(50) {
            m.fouo = true;
        } else {
            m.cui = true;
        }
        if rng.percent(30) {
            m.tlp = Some(gen_tlp(rng));
        }
        if rng.percent(15) {
            m.rel_to = Some(gen_rel_to(rng));
        }
        return m;
    }
    if roll < public_bias + 20 {
        m.tlp = Some(gen_tlp(rng));
        return m;
    }
    m.classification = *rng.pick(&[
        Classification::U,
        Classification::C,
        Classification::S,
        Classification::S,
        Classification::TS,
    ]);
    if m.classification >= Classification::S && rng.percent(25) {
        m.sci
            .insert(*rng.pick(&[SciControl::SI, SciControl::TK, SciControl::HCS]));
        if rng.percent(30) {
            m.sci
                .insert(*rng.pick(&[SciControl::SI, SciControl::TK, SciControl::HCS]));
        }
    }
    match rng.index(10) {
        0..=2 => m.noforn = true,
        3..=7 => m.rel_to = Some(gen_rel_to(rng)),
        _ => {}
    }
    m.orcon = rng.percent(15);
    if rng.percent(15) {
        m.tlp = Some(gen_tlp(rng));
    }
    m
}

/// A variant of a restricted term as an author might slip it in: other case, hyphenated,
/// plural, or another spelling ([`spelling_variant`]).
fn term_variant(rng: &mut Rng, term: &str) -> String {
    match rng.index(8) {
        0 => term.to_lowercase(),
        1 => term.to_uppercase(),
        2 => term.replace(' ', "-"),
        3 => format!("{term}s"),
        4 => term.to_owned(),
        _ => spelling_variant(rng, term).1,
    }
}

/// The spelling variant classes the gate folds (docs/formats.md, "The leak gate").
pub const VARIANT_CLASSES: &[&str] = &[
    "case",
    "accents_removed",
    "accents_added",
    "nfd",
    "look_alikes",
    "invisible",
    "fullwidth",
    "expansions",
    "transliterated",
];

/// Latin letters and their Cyrillic and Greek look-alikes (UTS #39 confusables).
const LOOK_ALIKES: &[(char, char)] = &[
    ('A', 'А'),
    ('A', 'Α'),
    ('B', 'В'),
    ('B', 'Β'),
    ('C', 'С'),
    ('E', 'Е'),
    ('E', 'Ε'),
    ('H', 'Н'),
    ('H', 'Η'),
    ('I', 'Ι'),
    ('K', 'К'),
    ('K', 'Κ'),
    ('M', 'М'),
    ('M', 'Μ'),
    ('N', 'Ν'),
    ('O', 'О'),
    ('O', 'Ο'),
    ('P', 'Р'),
    ('P', 'Ρ'),
    ('T', 'Т'),
    ('T', 'Τ'),
    ('X', 'Х'),
    ('X', 'Χ'),
    ('Y', 'У'),
    ('Y', 'Υ'),
    ('Z', 'Ζ'),
    ('a', 'а'),
    ('c', 'с'),
    ('e', 'е'),
    ('o', 'о'),
    ('o', 'ο'),
    ('p', 'р'),
    ('x', 'х'),
    ('y', 'у'),
    ('i', 'і'),
    ('i', 'ι'),
    ('j', 'ј'),
    ('s', 'ѕ'),
    ('v', 'ν'),
    ('u', 'υ'),
];

/// Latin letters written one for one in Cyrillic and in Greek (and back by [`TRANSLIT`]).
const LATIN_TO_CYRILLIC: &[(char, char)] = &[
    ('a', 'а'),
    ('b', 'б'),
    ('v', 'в'),
    ('g', 'г'),
    ('d', 'д'),
    ('e', 'е'),
    ('z', 'з'),
    ('i', 'и'),
    ('k', 'к'),
    ('l', 'л'),
    ('m', 'м'),
    ('n', 'н'),
    ('o', 'о'),
    ('p', 'п'),
    ('r', 'р'),
    ('s', 'с'),
    ('t', 'т'),
    ('u', 'у'),
    ('f', 'ф'),
];
const LATIN_TO_GREEK: &[(char, char)] = &[
    ('a', 'α'),
    ('v', 'β'),
    ('g', 'γ'),
    ('d', 'δ'),
    ('e', 'ε'),
    ('z', 'ζ'),
    ('i', 'ι'),
    ('k', 'κ'),
    ('l', 'λ'),
    ('m', 'μ'),
    ('n', 'ν'),
    ('x', 'ξ'),
    ('o', 'ο'),
    ('p', 'π'),
    ('r', 'ρ'),
    ('s', 'σ'),
    ('t', 'τ'),
    ('y', 'υ'),
    ('f', 'φ'),
];

/// Lower-case letters and their Latin spelling, for the oracle's own folding and the
/// generator's transliterations: Cyrillic, Greek and Arabic letter by letter (Arabic alef
/// and the unwritten short vowels give nothing), and the letters that expand.
const TRANSLIT: &[(char, &str)] = &[
    ('а', "a"),
    ('б', "b"),
    ('в', "v"),
    ('г', "g"),
    ('д', "d"),
    ('е', "e"),
    ('ё', "e"),
    ('ж', "zh"),
    ('з', "z"),
    ('и', "i"),
    ('й', "y"),
    ('к', "k"),
    ('л', "l"),
    ('м', "m"),
    ('н', "n"),
    ('о', "o"),
    ('п', "p"),
    ('р', "r"),
    ('с', "s"),
    ('т', "t"),
    ('у', "u"),
    ('ф', "f"),
    ('х', "kh"),
    ('ц', "ts"),
    ('ч', "ch"),
    ('ш', "sh"),
    ('щ', "shch"),
    ('ъ', ""),
    ('ы', "y"),
    ('ь', ""),
    ('э', "e"),
    ('ю', "yu"),
    ('я', "ya"),
    ('і', "i"),
    ('ј', "j"),
    ('ѕ', "dz"),
    ('α', "a"),
    ('β', "v"),
    ('γ', "g"),
    ('δ', "d"),
    ('ε', "e"),
    ('ζ', "z"),
    ('η', "i"),
    ('θ', "th"),
    ('ι', "i"),
    ('κ', "k"),
    ('λ', "l"),
    ('μ', "m"),
    ('ν', "n"),
    ('ξ', "x"),
    ('ο', "o"),
    ('π', "p"),
    ('ρ', "r"),
    ('σ', "s"),
    ('ς', "s"),
    ('τ', "t"),
    ('υ', "y"),
    ('φ', "f"),
    ('χ', "ch"),
    ('ψ', "ps"),
    ('ω', "o"),
    ('ا', ""),
    ('ب', "b"),
    ('ت', "t"),
    ('د', "d"),
    ('ر', "r"),
    ('ز', "z"),
    ('س', "s"),
    ('ص', "s"),
    ('ق', "q"),
    ('ك', "k"),
    ('ل', "l"),
    ('م', "m"),
    ('ن', "n"),
    ('ه', "h"),
    ('و', "w"),
    ('ي', "y"),
    // Teh marbuta, the feminine ending (`القاهرة`, al-Qāhirah): `h`, as ALA-LC romanises it
    // in pause form (`Madīnah`).
    ('ة', "h"),
    ('ث', "th"),
    ('ج', "j"),
    ('ح', "h"),
    ('خ', "kh"),
    ('ذ', "dh"),
    ('ش', "sh"),
    ('ض', "d"),
    ('ط', "t"),
    ('غ', "gh"),
    ('ف', "f"),
    ('ß', "ss"),
    ('æ', "ae"),
    ('œ', "oe"),
    ('ø', "o"),
    ('ł', "l"),
    ('đ', "d"),
    ('þ', "th"),
    ('ı', "i"),
];

/// Invisible characters an author or a tool may leave inside a word.
const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{AD}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{200E}', '\u{FE0F}',
    '\u{202C}',
];

fn strip_marks(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .nfc()
        .collect()
}

fn case_like(c: char, like: char) -> String {
    if like.is_uppercase() {
        c.to_uppercase().collect()
    } else {
        c.to_string()
    }
}

/// `text` in a spelling of one of [`VARIANT_CLASSES`] (chosen at random; the class is
/// returned too). Every class is one the gate folds: the result means the same text.
pub fn spelling_variant(rng: &mut Rng, text: &str) -> (&'static str, String) {
    let class = *rng.pick(VARIANT_CLASSES);
    (class, variant_of(rng, class, text))
}

/// `text` spelt as the variant class `class` ([`VARIANT_CLASSES`]) has it.
pub fn variant_of(rng: &mut Rng, class: &str, text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    match class {
        "case" => match rng.index(3) {
            0 => text.to_uppercase(),
            1 => text.to_lowercase(),
            _ => text
                .split(' ')
                .map(|w| capitalise(&w.to_lowercase()))
                .collect::<Vec<_>>()
                .join(" "),
        },
        "accents_removed" => strip_marks(text),
        "accents_added" => {
            // Diacritics on Latin vowels, harakat on Arabic letters: marks the gate drops.
            let mut out = String::new();
            for c in text.chars() {
                out.push(c);
                if "aeiouAEIOU".contains(c) && rng.percent(50) {
                    out.push(*rng.pick(&['\u{301}', '\u{300}', '\u{308}', '\u{302}']));
                } else if ('\u{620}'..='\u{64A}').contains(&c) && rng.percent(50) {
                    out.push(*rng.pick(&['\u{64E}', '\u{650}', '\u{651}', '\u{652}']));
                }
            }
            out.nfc().collect()
        }
        "nfd" => text.nfd().collect(),
        "look_alikes" => text
            .chars()
            .map(|c| {
                let pairs: Vec<char> = LOOK_ALIKES
                    .iter()
                    .filter_map(|&(l, o)| {
                        if l == c {
                            Some(o)
                        } else if o == c {
                            Some(l)
                        } else {
                            None
                        }
                    })
                    .collect();
                if pairs.is_empty() || rng.percent(30) {
                    c
                } else {
                    *rng.pick(&pairs)
                }
            })
            .collect(),
        "invisible" => {
            let chars: Vec<char> = text.chars().collect();
            let mut out = String::new();
            for (i, &c) in chars.iter().enumerate() {
                out.push(c);
                let inside =
                    c.is_alphanumeric() && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                if inside && rng.percent(30) {
                    // Arabic is stretched with the tatweel; any script may carry the rest.
                    if ('\u{620}'..='\u{64A}').contains(&c) && rng.percent(50) {
                        out.push('\u{640}');
                    } else {
                        out.push(*rng.pick(INVISIBLE));
                    }
                }
            }
            out
        }
        "fullwidth" => text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect(),
        "expansions" => {
            let had_sharp_s = text.contains('ß');
            let mut out = String::new();
            for c in text.chars() {
                match c {
                    'ß' => out.push_str("ss"),
                    'Ø' => out.push('O'),
                    'ø' => out.push('o'),
                    'Æ' => out.push_str("AE"),
                    'æ' => out.push_str("ae"),
                    'Ł' => out.push('L'),
                    'ł' => out.push('l'),
                    'o' if rng.percent(30) => out.push('ø'),
                    'O' if rng.percent(30) => out.push('Ø'),
                    'l' if rng.percent(30) => out.push('ł'),
                    _ => out.push(c),
                }
            }
            if had_sharp_s {
                out
            } else {
                out.replace("ss", "ß")
            }
        }
        _ => {
            // Transliterated: Latin letters into Cyrillic or Greek where one letter stands
            // for one; Cyrillic, Greek and Arabic letters into Latin.
            let to = if rng.percent(50) {
                LATIN_TO_CYRILLIC
            } else {
                LATIN_TO_GREEK
            };
            let mut out = String::new();
            for c in text.chars() {
                let lower = c.to_lowercase().next().unwrap_or(c);
                if let Some(&(_, o)) = to.iter().find(|(l, _)| *l == lower) {
                    out.push_str(&case_like(o, c));
                } else if let Some(&(_, l)) = TRANSLIT.iter().find(|(o, _)| *o == lower) {
                    if c.is_uppercase() {
                        out.push_str(&l.to_uppercase());
                    } else {
                        out.push_str(l);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// A light rewording of `text`: case changes, stop words dropped or added, plurals, punctuation,
/// or just a run of its words.
fn reword(rng: &mut Rng, text: &str) -> String {
    let ws: Vec<&str> = text.split_whitespace().collect();
    if ws.is_empty() {
        return text.to_owned();
    }
    let (a, b) = if rng.percent(40) && ws.len() > 3 {
        let a = rng.index(ws.len() - 3);
        (a, (a + 3 + rng.index(ws.len() - a - 2)).min(ws.len()))
    } else {
        (0, ws.len())
    };
    let mut out = Vec::new();
    for w in &ws[a..b] {
        let bare = w.trim_matches(|c: char| !c.is_alphanumeric());
        if STOPS.contains(&bare.to_lowercase().as_str()) && rng.percent(50) {
            continue;
        }
        let mut w = match rng.index(6) {
            0 => bare.to_uppercase(),
            1 => bare.to_lowercase(),
            2 => format!("{bare}s"),
            3 => format!("{bare};"),
            _ => bare.to_owned(),
        };
        if rng.percent(10) {
            w = format!("the {w}");
        }
        out.push(w);
    }
    out.join(" ")
}

/// One generated case: what `compose` is given.
#[derive(Debug, Clone)]
pub struct Case {
    pub threat: Threat,
    pub audience: Audience,
    pub entities: Vec<Entity>,
    pub global_restricted: Vec<String>,
}

/// Build the case of `seed`: random portions (random marks incl. REL TO lists, NOFORN, ORCON,
/// SCI, FOUO/CUI, TLP; tearlines), targets, actor, measures, restricted terms planted anywhere
/// (also inside releasable text), copies and light rewordings of marked text planted into
/// other fields, and a random audience of any kind, country, clearance and TLP ceiling.
pub fn gen_case(seed: u64) -> Case {
    let rng = &mut Rng::new(seed);
    let base = Utc
        .with_ymd_and_hms(2024, 3, 6, 8, 0, 0)
        .single()
        .expect("valid date");
    let originator = cc(*rng.pick(&["USA", "USA", "GBR", "RUS"]));
    let portions: Vec<Portion> = (0..1 + rng.index(7))
        .map(|i| {
            let tearline = rng.percent(20);
            Portion {
                mark: gen_mark(rng, tearline),
                text: sentence(rng),
                tearline,
                lang: None,
                line: 20 + i,
            }
        })
        .collect();
    // Mostly at least one target (no target is only ever NothingActionable).
    let targets: Vec<TargetSpec> = (0..(rng.index(10) > 0) as usize + rng.index(3))
        .map(|_| {
            let window = rng
                .percent(20)
                .then(|| ThreatWindow::imminent(base + Duration::hours(rng.index(200) as i64), 48));
            TargetSpec {
                label: words(rng, 1, 6),
                mark: {
                    let public_bias = rng.percent(40);
                    gen_mark(rng, public_bias)
                },
                name: rng
                    .percent(35)
                    .then(|| capitalise(*rng.pick(VOCAB)) + " " + &capitalise(*rng.pick(VOCAB))),
                categories: if rng.percent(50) {
                    vec![Category::parse("venue/entertainment/concert_hall").expect("static")]
                } else {
                    vec![]
                },
                min_size: None,
                area: rng.percent(50).then(|| Area::Named {
                    name: "Moscow".into(),
                }),
                window,
                footprint: Default::default(),
            }
        })
        .collect();
    let actor = rng.percent(75).then(|| {
        if rng.percent(50) {
            "ISIS-K".to_owned()
        } else {
            words(rng, 1, 4)
        }
    });
    let mut restricted: Vec<String> = (0..rng.index(4))
        .map(|_| (*rng.pick(CODE_NAMES)).to_owned())
        .collect();
    let global: Vec<String> = (0..rng.index(3))
        .map(|_| (*rng.pick(CODE_NAMES)).to_owned())
        .collect();
    if rng.percent(10) {
        restricted.push(words(rng, 1, 2));
    }
    let kind = *rng.pick(&[
        AudienceKind::PartnerService,
        AudienceKind::DomesticAgency,
        AudienceKind::Operator,
        AudienceKind::Public,
    ]);
    let clearance = match kind {
        // Mostly as a registry would have them; sometimes misconfigured, which releasability must survive.
        AudienceKind::Operator | AudienceKind::Public if rng.percent(80) => Classification::U,
        _ => *rng.pick(&[
            Classification::U,
            Classification::C,
            Classification::S,
            Classification::TS,
        ]),
    };
    let audience = Audience {
        id: AudienceId::new(format!("aud-{}", rng.index(1000))),
        name: words(rng, 1, 4),
        kind,
        country: rng.percent(85).then(|| cc(*rng.pick(COUNTRIES))),
        clearance,
        tlp_ceiling: gen_tlp(rng),
        orcon_approved: rng.percent(30),
        channels: vec![],
        escalation_contact: rng.percent(70).then(|| words(rng, 1, 5)),
        language: "en".into(),
        posture_interval_hours: Some(24),
        timezone: None,
    };
    let entities: Vec<Entity> = if kind == AudienceKind::Operator {
        (0..rng.index(3))
            .map(|i| Entity {
                id: EntityId::new(format!("e{i}")),
                kind: EntityKind::Venue,
                name: format!("{} Arena", capitalise(*rng.pick(VOCAB))),
                aliases: vec![],
                category: Category::parse("venue/entertainment/concert_hall").expect("static"),
                location: None,
                capacity: None,
                span: None,
                venue: None,
                city: None,
                country: None,
                audiences: vec![audience.id.clone()],
                footprint: Default::default(),
            })
            .collect()
    } else {
        vec![]
    };
    let threat = Threat {
        id: ThreatId::new(format!("case-{seed:016x}")),
        title: "generated".into(),
        originator,
        received: base,
        actor,
        actor_mark: gen_mark(rng, false),
        harms: [
            Harm::Killing,
            Harm::SeriousInjury,
            Harm::Kidnapping,
            Harm::ArsonBombing,
        ]
        .into_iter()
        .filter(|_| rng.percent(50))
        .collect(),
        credibility: *rng.pick(&[
            Credibility::Possible,
            Credibility::Probable,
            Credibility::Confirmed,
        ]),
        window: ThreatWindow::imminent(base, 24 * (1 + rng.index(30) as i64)),
        public_advice_hours: *rng.pick(&[24, 48, 72]),
        targets,
        portions,
        restricted_terms: restricted,
        tlp: None,
        measures: (0..rng.index(4)).map(|_| sentence(rng)).collect(),
    };
    let mut case = Case {
        threat,
        audience,
        entities,
        global_restricted: global,
    };
    // Plant restricted terms (possibly altered) anywhere, also inside releasable text.
    let terms: Vec<String> = case
        .threat
        .restricted_terms
        .iter()
        .chain(&case.global_restricted)
        .cloned()
        .collect();
    for _ in 0..rng.index(3) {
        if let Some(t) = (!terms.is_empty()).then(|| rng.pick(&terms).clone()) {
            let v = term_variant(rng, &t);
            plant(rng, &mut case, &v);
        }
    }
    // Plant copies and rewordings of marked facts into other fields.
    for _ in 0..rng.index(3) {
        let src = match rng.index(3) {
            0 if !case.threat.targets.is_empty() => {
                let t = rng.pick(&case.threat.targets);
                t.name.clone().unwrap_or_else(|| t.label.clone())
            }
            1 if case.threat.actor.is_some() => case.threat.actor.clone().unwrap_or_default(),
            _ => rng.pick(&case.threat.portions).text.clone(),
        };
        let copy = if rng.percent(40) {
            src
        } else {
            reword(rng, &src)
        };
        let copy = if rng.percent(40) {
            spelling_variant(rng, &copy).1
        } else {
            copy
        };
        plant(rng, &mut case, &copy);
    }
    case
}

/// Insert `s` into a random field of the case: a portion, target label, actor, measure,
/// audience name or escalation contact.
fn plant(rng: &mut Rng, case: &mut Case, s: &str) {
    let into = |rng: &mut Rng, dst: &mut String| {
        let ws: Vec<&str> = dst.split(' ').collect();
        let at = rng.index(ws.len() + 1);
        let mut out: Vec<&str> = ws[..at].to_vec();
        out.push(s);
        out.extend(&ws[at..]);
        *dst = out.join(" ");
    };
    match rng.index(6) {
        0 if !case.threat.targets.is_empty() => {
            let i = rng.index(case.threat.targets.len());
            into(rng, &mut case.threat.targets[i].label);
        }
        1 => match case.threat.actor.as_mut() {
            Some(a) => into(rng, a),
            None => case.threat.actor = Some(s.to_owned()),
        },
        2 => case.threat.measures.push(s.to_owned()),
        3 => into(rng, &mut case.audience.name),
        4 => match case.audience.escalation_contact.as_mut() {
            Some(c) => into(rng, c),
            None => case.audience.escalation_contact = Some(s.to_owned()),
        },
        _ => {
            let i = rng.index(case.threat.portions.len());
            into(rng, &mut case.threat.portions[i].text);
        }
    }
}

/// Compose the case as the engine would (fixed `now`, posture interval and instructions).
pub fn compose_case(case: &Case) -> Result<Composed, ComposeError> {
    let own: Vec<&Entity> = case.entities.iter().collect();
    compose(&ComposeInput {
        threat: &case.threat,
        audience: &case.audience,
        entities: &own,
        global_restricted: &case.global_restricted,
        now: case.threat.received,
        posture_interval_hours: 24,
        ack_instructions: "Acknowledge quoting the reference.",
        translations: &[],
    })
}

/// The oracle's own folding, written apart from [`crate::fold`] so that a bug there cannot
/// hide a leak here: the words of `s` under the spelling key and under the look-alike key.
/// Invisible characters are dropped, look-alikes replaced by their Latin letter (look-alike
/// key only), then compatibility decomposition, marks dropped, lower case, and the letters
/// of [`TRANSLIT`] spelt in Latin.
pub fn oracle_words(s: &str) -> [Vec<String>; 2] {
    use unicode_normalization::UnicodeNormalization;
    let invisible = |c: char| {
        matches!(c as u32, 0xAD | 0x34F | 0x61C | 0x640 | 0x115F | 0x1160 | 0x17B4 | 0x17B5
            | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
            | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xE0000..=0xE0FFF)
    };
    let visible: String = s.chars().filter(|c| !invisible(*c)).collect();
    let mut out: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (k, slot) in out.iter_mut().enumerate() {
        let text: String = if k == 1 {
            visible
                .chars()
                .map(|c| {
                    LOOK_ALIKES
                        .iter()
                        .find(|(_, o)| *o == c)
                        .map(|(l, _)| *l)
                        .unwrap_or(c)
                })
                .collect()
        } else {
            visible.clone()
        };
        let mut latin = String::new();
        for c in text
            .nfkd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .flat_map(char::to_lowercase)
        {
            match TRANSLIT.iter().find(|(o, _)| *o == c) {
                Some((_, l)) => latin.push_str(l),
                None => latin.push(c),
            }
        }
        *slot = latin
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
    }
    out
}

/// `s` under each key as `" w1 w2 … "`: words stemmed (`stem`), optionally without stop
/// words, or raw (no stemmer, so a bug there cannot hide a verbatim copy).
fn seqs(s: &str, how: Seq) -> [String; 2] {
    oracle_words(s).map(|ws| {
        let ws: Vec<String> = ws
            .into_iter()
            .map(|w| if how == Seq::Raw { w } else { stem(&w) })
            .filter(|w| how != Seq::Content || !STOPWORDS.contains(&w.as_str()))
            .collect();
        format!(" {} ", ws.join(" "))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Seq {
    Norm,
    Content,
    Raw,
}

/// Does any of `hay` (each under both keys) contain `needle` under either key?
fn any_contains(hay: &[[String; 2]], needle: &[String; 2]) -> bool {
    hay.iter().any(|h| {
        h.iter()
            .any(|h| needle.iter().any(|n| h.contains(n.as_str())))
    })
}

fn is_blank(s: &[String; 2]) -> bool {
    s.iter().all(|x| x.trim().is_empty())
}

/// The oracle: `Some(description)` if the composed warning breaks the property.
pub fn violation(case: &Case, c: &WarningFields) -> Option<String> {
    let (t, a) = (&case.threat, &case.audience);
    if c.tlp > a.tlp_ceiling || (a.kind == AudienceKind::Public && c.tlp != TlpLevel::Clear) {
        return Some(format!(
            "warning is {} but the audience accepts at most {}",
            c.tlp, a.tlp_ceiling
        ));
    }
    let rel = |m: &PortionMark| releasable_to(m, a, t.originator).is_ok();
    let mut fields: Vec<&str> = vec![&c.text, &c.headline, &c.banner];
    fields.extend(c.measures.iter().map(String::as_str));
    fields.extend(c.targets.iter().map(String::as_str));
    let norm: Vec<[String; 2]> = fields.iter().map(|f| seqs(f, Seq::Norm)).collect();
    let content: Vec<[String; 2]> = fields.iter().map(|f| seqs(f, Seq::Content)).collect();
    let raw: Vec<[String; 2]> = fields.iter().map(|f| seqs(f, Seq::Raw)).collect();

    for term in t.restricted_terms.iter().chain(&case.global_restricted) {
        let tn = seqs(term, Seq::Norm);
        if is_blank(&tn) {
            continue;
        }
        if any_contains(&norm, &tn) || any_contains(&raw, &seqs(term, Seq::Raw)) {
            return Some(format!("restricted term {term:?} in the warning"));
        }
    }

    let mut sources: Vec<&str> = Vec::new();
    let mut withheld: Vec<(String, &str)> = Vec::new();
    for p in &t.portions {
        if rel(&p.mark) {
            sources.push(&p.text);
        } else {
            withheld.push((format!("portion {} on line {}", p.mark, p.line), &p.text));
        }
    }
    for tg in &t.targets {
        for x in std::iter::once(tg.label.as_str()).chain(tg.name.as_deref()) {
            if rel(&tg.mark) {
                sources.push(x);
            } else {
                withheld.push((format!("target {:?} {}", tg.label, tg.mark), x));
            }
        }
    }
    if let Some(actor) = &t.actor {
        if rel(&t.actor_mark) {
            sources.push(actor);
        } else {
            withheld.push((format!("actor {}", t.actor_mark), actor));
        }
    }
    for e in &case.entities {
        sources.push(&e.name);
        sources.extend(e.aliases.iter().map(String::as_str));
    }
    sources.push(&a.name);
    sources.extend(a.escalation_contact.as_deref());
    let src_norm: Vec<[String; 2]> = sources.iter().map(|s| seqs(s, Seq::Norm)).collect();
    let src_content: Vec<[String; 2]> = sources.iter().map(|s| seqs(s, Seq::Content)).collect();
    let src_raw: Vec<[String; 2]> = sources.iter().map(|s| seqs(s, Seq::Raw)).collect();

    for (what, text) in withheld {
        let wn = seqs(text, Seq::Norm);
        let wr = seqs(text, Seq::Raw);
        if is_blank(&wr) || any_contains(&src_norm, &wn) {
            continue;
        }
        if !any_contains(&src_raw, &wr) && any_contains(&raw, &wr) {
            return Some(format!("{what} verbatim in the warning: {text:?}"));
        }
        if is_blank(&wn) {
            continue;
        }
        if any_contains(&norm, &wn) {
            return Some(format!("{what} (normalised) in the warning: {text:?}"));
        }
        let cw = oracle_words(text).map(|ws| {
            ws.into_iter()
                .map(|w| stem(&w))
                .filter(|w| !STOPWORDS.contains(&w.as_str()))
                .collect::<Vec<_>>()
        });
        let k = gram_len(cw[0].len().min(cw[1].len()));
        if k == 0 || cw[0].len() != cw[1].len() {
            continue;
        }
        for i in 0..=cw[0].len() - k {
            let g = [
                format!(" {} ", cw[0][i..i + k].join(" ")),
                format!(" {} ", cw[1][i..i + k].join(" ")),
            ];
            if !any_contains(&src_content, &g) && any_contains(&content, &g) {
                return Some(format!(
                    "distinctive n-gram {:?} of {what} in the warning",
                    g[0].trim()
                ));
            }
        }
    }
    None
}

/// What one case came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Composed,
    /// Refused, with [`ComposeError::reason`].
    Refused(&'static str),
    /// The property failed: a leak got through. Never expected.
    Violation(String),
}

/// Generate, compose and check the case of `seed`.
pub fn run_case(seed: u64) -> Outcome {
    let case = gen_case(seed);
    match compose_case(&case) {
        Ok(c) => match violation(&case, c.fields()) {
            Some(v) => Outcome::Violation(v),
            None => Outcome::Composed,
        },
        Err(e) => Outcome::Refused(e.reason()),
    }
}
