//! The leak-proof property in the normal suite (a modest number of cases; the long run is
//! `tocsin bench leakproof --cases 1000000`). Generator and oracle: [`super::proof`]. Unit tests,
//! so the `proof` module needs no feature here.

use crate::compose::{leak_gate, proof};
use crate::fold;
use crate::marking::parse_mark;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Random reports × random audiences: every composed warning is free of restricted terms and
    /// withheld material (verbatim, normalised, or by distinctive n-grams) — or compose refused.
    #[test]
    fn composed_warnings_never_leak(seed in any::<u64>()) {
        let case = proof::gen_case(seed);
        if let Ok(c) = proof::compose_case(&case) {
            prop_assert_eq!(proof::violation(&case, c.fields()), None, "seed {}: {:#?}\n{}", seed, case.threat, c.text());
        }
    }

    /// The generator only produces marks the parser accepts, so the property covers real reports.
    #[test]
    fn generated_marks_are_valid_marks(seed in any::<u64>()) {
        let case = proof::gen_case(seed);
        let marks = case.threat.portions.iter().map(|p| &p.mark)
            .chain(case.threat.targets.iter().map(|t| &t.mark))
            .chain(std::iter::once(&case.threat.actor_mark));
        for mk in marks {
            let back = parse_mark(&mk.to_string());
            prop_assert_eq!(back.as_ref(), Ok(mk));
        }
    }

    /// The gate never panics and its spans always cut the text on character boundaries.
    #[test]
    fn leak_gate_spans_are_valid(seed in any::<u64>(), text in "\\PC{0,200}") {
        let case = proof::gen_case(seed);
        let mut text = text;
        if let Some(p) = case.threat.portions.first() {
            text.push_str(&p.text);
        }
        if let Err(e) = leak_gate(&text, &case.threat, &case.audience, &case.global_restricted, &[]) {
            prop_assert!(e.start < e.end && e.end <= text.len());
            prop_assert_eq!(text.get(e.start..e.end), Some(e.excerpt.as_str()));
        }
    }

    /// Folding never panics, and every span it reports cuts the original on char boundaries.
    #[test]
    fn fold_spans_are_valid(text in "\\PC{0,200}") {
        for w in fold::words(&text) {
            prop_assert!(w.start < w.end && text.get(w.start..w.end).is_some());
        }
        for (s, e) in fold::find_all(&text, ["a", "ss", "É", "Л"]) {
            prop_assert!(s < e && text.get(s..e).is_some());
        }
    }

    /// Every spelling the generator writes of a term is found where it is written, and the span
    /// covers it.
    #[test]
    fn every_spelling_of_a_term_is_found(seed in any::<u64>(), pick in 0usize..100, around in "[a-z ]{0,20}") {
        let mut rng = proof::Rng::new(seed);
        let term = proof::CODE_NAMES[pick % proof::CODE_NAMES.len()];
        let (class, v) = proof::spelling_variant(&mut rng, term);
        let text = format!("{around} {v} {around}");
        let spans = fold::find_all(&text, [term]);
        let at = around.len() + 1;
        prop_assert!(
            spans.iter().any(|&(s, e)| s <= at && e >= at + v.trim_end().len().min(1)),
            "{} variant {:?} of {:?} not found in {:?}: {:?}", class, v, term, text, spans
        );
    }

    /// Any code points — every script, combining marks, format and control characters, private
    /// use, unassigned — weighted towards the scripts and characters folding treats specially:
    /// folding never panics and is idempotent under each key (a folded text folds to itself), its
    /// words' spans cut the text on character boundaries, and the gate never panics on it.
    #[test]
    fn folding_any_text_is_idempotent_and_the_gate_never_panics(
        seed in any::<u64>(),
        cs in prop::collection::vec(prop_oneof![
            any::<char>(),
            prop::char::range('a', 'z'),
            prop::char::range('\u{300}', '\u{36F}'),
            prop::char::range('\u{370}', '\u{3FF}'),
            prop::char::range('\u{400}', '\u{4FF}'),
            prop::char::range('\u{600}', '\u{6FF}'),
            prop::char::range('\u{1E00}', '\u{1EFF}'),
            prop::char::range('\u{2000}', '\u{206F}'),
            prop::char::range('\u{FB00}', '\u{FFFF}'),
            prop::char::range('\u{1D400}', '\u{1D7FF}'),
            prop::char::range('\u{E0000}', '\u{E007F}'),
        ], 0..80),
    ) {
        let text: String = cs.into_iter().collect();
        for key in fold::KEYS {
            let once = fold::fold_str(&text, key);
            let twice = fold::fold_str(&once, key);
            prop_assert_eq!(&twice, &once, "{:?} under {:?}", text, key);
        }
        for w in fold::words(&text) {
            prop_assert!(w.start < w.end && text.get(w.start..w.end).is_some());
        }
        let case = proof::gen_case(seed);
        if let Err(e) = leak_gate(&text, &case.threat, &case.audience, &case.global_restricted, &[]) {
            prop_assert!(e.start < e.end && e.end <= text.len());
            prop_assert_eq!(text.get(e.start..e.end), Some(e.excerpt.as_str()));
        }
    }
}
