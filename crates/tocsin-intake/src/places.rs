//! Named places the registry does not know: "Crocus City Hall", "Kerman Martyrs' Cemetery",
//! "Al-Shifa Hospital". A run of capitalised words ending in a head noun (hall, stadium, arena,
//! cathedral, mosque, synagogue, cemetery, hospital, airport…) is proposed as a named target,
//! marked `not in registry`, with the category its head noun implies, so that an analyst can add
//! it to the registry.

use regex::Regex;
use std::sync::OnceLock;
use tocsin_core::Category;

/// Head nouns and the category each implies.
pub const HEAD_NOUNS: &[(&str, &str)] = &[
    ("Hall", "venue/entertainment/concert_hall"),
    ("Theatre", "venue/entertainment/theatre"),
    ("Theater", "venue/entertainment/theatre"),
    ("Cinema", "venue/entertainment/cinema"),
    ("Arena", "venue/sports/arena"),
    ("Stadium", "venue/sports/stadium"),
    ("Cathedral", "place_of_worship/church"),
    ("Church", "place_of_worship/church"),
    ("Basilica", "place_of_worship/church"),
    ("Mosque", "place_of_worship/mosque"),
    ("Masjid", "place_of_worship/mosque"),
    ("Synagogue", "place_of_worship/synagogue"),
    ("Temple", "place_of_worship/temple"),
    ("Shrine", "place_of_worship/shrine"),
    ("Cemetery", "venue/cemetery"),
    ("Hospital", "venue/healthcare/hospital"),
    ("Clinic", "venue/healthcare/clinic"),
    ("Airport", "venue/transport/airport"),
    ("Station", "venue/transport/station"),
    ("Mall", "venue/shopping/mall"),
    ("Market", "venue/shopping/market"),
    ("Embassy", "organisation/government/embassy"),
    ("Consulate", "organisation/government/embassy"),
    ("University", "venue/education/university"),
    ("School", "venue/education/school"),
    ("Hotel", "venue/hospitality/hotel"),
];

/// Words that start a sentence or a phrase rather than a name.
const LEADING: &[&str] = &[
    "The",
    "A",
    "An",
    "At",
    "In",
    "On",
    "Near",
    "From",
    "To",
    "By",
    "Of",
    "And",
    "Or",
    "For",
    "With",
    "Inside",
    "Outside",
    "Around",
    "Against",
    "Targeting",
    "Target",
    "Both",
    "Either",
];

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let heads: Vec<&str> = HEAD_NOUNS.iter().map(|(h, _)| *h).collect();
        // Up to five capitalised words (letters, apostrophes, hyphens, an optional parenthesised
        // alternate) before the head noun.
        Regex::new(&format!(
            r"(?:\p{{Lu}}[\p{{L}}\p{{M}}'’\-]*\s+){{1,5}}(?:{})\b",
            heads.join("|")
        ))
        .expect("the named-place pattern compiles")
    })
}

/// A named place found in text: byte span, the name as written, its category and head noun.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPlace {
    pub start: usize,
    pub end: usize,
    pub name: String,
    pub head: &'static str,
    pub category: Option<Category>,
}

/// Every named place in `text` (leading function words dropped; a name needs a word besides its
/// head noun).
pub fn find_named_places(text: &str) -> Vec<NamedPlace> {
    let mut out = Vec::new();
    for m in pattern().find_iter(text) {
        let mut start = m.start();
        let s = m.as_str();
        // Drop leading function words ("At Crocus City Hall" → "Crocus City Hall").
        let mut rest = s;
        loop {
            let word = rest.split_whitespace().next().unwrap_or("");
            if LEADING.contains(&word) && rest.split_whitespace().count() > 2 {
                let skip = rest.find(word).unwrap_or(0) + word.len();
                let trimmed = rest[skip..].trim_start();
                start += rest.len() - trimmed.len();
                rest = trimmed;
            } else {
                break;
            }
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() < 2 || LEADING.contains(&words[0]) {
            continue;
        }
        let last = *words.last().expect("at least two words");
        let Some((head, cat)) = HEAD_NOUNS.iter().find(|(h, _)| *h == last) else {
            continue;
        };
        out.push(NamedPlace {
            start,
            end: m.end(),
            name: words.join(" "),
            head,
            category: Category::parse(cat).ok(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_head_nouns_are_found_with_their_category() {
        let t = "Crocus City Hall was named as a possible target. At Kerman Martyrs' Cemetery \
                 crowds gather; the Al-Shifa Hospital and Domodedovo Airport too.";
        let got = find_named_places(t);
        let names: Vec<&str> = got.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Crocus City Hall",
                "Kerman Martyrs' Cemetery",
                "Al-Shifa Hospital",
                "Domodedovo Airport"
            ]
        );
        for p in &got {
            assert_eq!(&t[p.start..p.end], p.name);
        }
        assert_eq!(
            got[1].category.as_ref().map(|c| c.as_str()),
            Some("venue/cemetery")
        );
        assert_eq!(got[0].head, "Hall");
    }

    #[test]
    fn a_head_noun_alone_or_lower_case_is_no_name() {
        assert!(find_named_places("The Hall was empty; a city hall; the hospital.").is_empty());
    }
}
