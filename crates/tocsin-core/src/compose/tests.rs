use super::*;
use crate::country::CountryCode;
use crate::ids::{AudienceId, ThreatId};
use crate::marking::parse_mark;
use crate::threat::{Area, Credibility, Harm};
use chrono::{TimeZone, Utc};

fn m(s: &str) -> PortionMark {
    parse_mark(s).unwrap()
}

fn portion(mark: &str, text: &str, line: usize) -> Portion {
    Portion {
        mark: m(mark),
        text: text.into(),
        tearline: false,
        lang: None,
        line,
    }
}

fn tearline(mark: &str, text: &str, line: usize) -> Portion {
    Portion {
        tearline: true,
        lang: None,
        ..portion(mark, text, line)
    }
}

fn target(label: &str, mark: &str, name: Option<&str>) -> TargetSpec {
    TargetSpec {
        label: label.into(),
        mark: m(mark),
        name: name.map(Into::into),
        categories: vec![
            crate::entity::Category::parse("venue/entertainment/concert_hall").unwrap(),
        ],
        min_size: None,
        area: Some(Area::Named {
            name: "Moscow".into(),
        }),
        window: None,
        footprint: Default::default(),
    }
}

/// The reference case's report (examples/moscow-2024/report.txt), built by hand.
fn moscow() -> Threat {
    let t0 = Utc.with_ymd_and_hms(2024, 3, 6, 8, 0, 0).unwrap();
    Threat {
        id: ThreatId::new("moscow-2024-03"),
        title: "ISIS-K plans attacks on large gatherings in Moscow".into(),
        originator: CountryCode::parse("USA").unwrap(),
        received: t0,
        actor: Some("ISIS-K".into()),
        actor_mark: m("(S//REL TO USA, RUS)"),
        harms: vec![Harm::Killing, Harm::SeriousInjury, Harm::HostageTaking, Harm::ArsonBombing],
        credibility: Credibility::Probable,
        window: ThreatWindow::imminent(t0, 30 * 24),
        public_advice_hours: 48,
        targets: vec![
            TargetSpec { categories: vec![], area: None, ..target("Crocus City Hall (concert venue, Krasnogorsk, at the Moscow Ring Road)", "(S//REL TO USA, RUS)", Some("Crocus City Hall")) },
            target("a synagogue in Moscow", "(S//REL TO USA, RUS)", None),
            target("large gatherings in Moscow, including concerts", "(U)", None),
        ],
        portions: vec![
            portion("(S//NF)", "A sensitive human source, CARDINAL SPARROW, with direct access to the external operations planning of ISIS-K reports that a cell of Central Asian operatives has been tasked to mount a mass-casualty attack in the Moscow region before the end of March.", 30),
            portion("(TS//SI//NF)", "Communications of the Herat facilitation network collected through LANTERN GLASS show the operatives discussing the seating plan and the emergency exits of a large concert hall at the ring road.", 31),
            portion("(S//REL TO USA, RUS)", "ISIS-K operatives in Russia plan an armed attack on Crocus City Hall, a concert venue in Krasnogorsk at the Moscow Ring Road, possibly during a sold-out concert, using firearms and incendiary devices.", 32),
            portion("(S//REL TO USA, RUS)", "A separate ISIS-K cell plans an attack on a synagogue in Moscow in the same period.", 33),
            tearline("(U)", "Extremists have imminent plans to target large gatherings in Moscow, to include concerts.", 34),
        ],
        restricted_terms: vec!["CARDINAL SPARROW".into(), "LANTERN GLASS".into(), "Herat facilitation network".into()],
        tlp: None,
        measures: vec![
            "Screen every visitor and bag at all entrances, including staff and service entrances".into(),
            "Report reconnaissance (filming of entrances, questions about guard rotations) to the police".into(),
        ],
    }
}

fn aud(kind: AudienceKind, country: &str, clearance: Classification, tlp: TlpLevel) -> Audience {
    Audience {
        id: AudienceId::new(format!("{}-{country}", kind.as_str())),
        name: format!("{} {country}", kind.as_str()),
        kind,
        country: Some(CountryCode::parse(country).unwrap()),
        clearance,
        tlp_ceiling: tlp,
        orcon_approved: false,
        channels: vec![],
        escalation_contact: Some("the duty officer".into()),
        language: "en".into(),
        posture_interval_hours: Some(24),
        timezone: None,
    }
}

fn fsb() -> Audience {
    aud(
        AudienceKind::PartnerService,
        "RUS",
        Classification::S,
        TlpLevel::Red,
    )
}
fn operator() -> Audience {
    aud(
        AudienceKind::Operator,
        "RUS",
        Classification::U,
        TlpLevel::Amber,
    )
}
fn public() -> Audience {
    aud(
        AudienceKind::Public,
        "RUS",
        Classification::U,
        TlpLevel::Clear,
    )
}

/// Compose, and give up the proof: the tests read and edit the fields.
fn run(threat: &Threat, a: &Audience) -> Result<WarningFields, ComposeError> {
    compose(&ComposeInput {
        threat,
        audience: a,
        entities: &[],
        global_restricted: &[],
        now: threat.received,
        posture_interval_hours: 24,
        ack_instructions: "Quote the reference.",
        translations: &[],
    })
    .map(Composed::into_fields)
}

fn leak<T: std::fmt::Debug>(r: Result<T, ComposeError>) -> LeakError {
    match r {
        Err(ComposeError::Leak(l)) => l,
        other => panic!("expected a leak error, got {other:?}"),
    }
}

#[test]
fn stemmer_maps_inflections_together() {
    for (a, b) in [
        ("attacks", "attack"),
        ("attacked", "attack"),
        ("attacking", "attack"),
        ("planned", "plan"),
        ("plans", "plan"),
        ("cities", "city"),
        ("gatherings", "gathering"),
        ("churches", "church"),
        ("operatives", "operative"),
    ] {
        assert_eq!(stem(a), stem(b), "{a} vs {b}");
    }
    assert_eq!(stem("hall"), "hall");
    assert_eq!(stem("installed"), "install");
    assert_eq!(stem("was"), "was");
    assert_eq!(stem("гостиницы"), "гостиницы");
    let ws = normalized_words("ISIS-K, Attacks!");
    assert_eq!(
        ws.iter().map(|w| w.norm.as_str()).collect::<Vec<_>>(),
        ["isis", "k", "attack"]
    );
    assert_eq!((ws[2].start, ws[2].end), (8, 15));
}

#[test]
fn reference_case_composes_for_all_three_kinds() {
    let t = moscow();
    let p = run(&t, &fsb()).unwrap();
    assert_eq!(p.specificity, Specificity::NamedTarget);
    assert_eq!(p.banner, "SECRET//REL TO USA, RUS");
    assert_eq!(p.withheld_portions, 2);
    assert!(
        p.text.contains("Crocus City Hall") && p.text.contains("ISIS-K"),
        "{}",
        p.text
    );
    assert!(!p.text.contains("CARDINAL") && !p.text.contains("seating plan"));

    let o = run(&t, &operator()).unwrap();
    assert_eq!(
        (o.tlp, o.specificity, o.withheld_portions),
        (TlpLevel::Amber, Specificity::CategoryAndArea, 4)
    );
    for needle in ["What to check:", "Where to take people:", "Whom to call: in an emergency 112; to report suspicious activity or ask for support, the duty officer."] {
        assert!(o.text.contains(needle), "{needle} missing from {}", o.text);
    }
    assert!(
        !o.text.contains("ISIS-K") && !o.text.contains("Crocus"),
        "{}",
        o.text
    );

    let u = run(&t, &public()).unwrap();
    assert_eq!(
        (u.tlp, u.specificity),
        (TlpLevel::Clear, Specificity::CategoryAndArea)
    );
    assert!(
        u.text.contains(
            "Avoid large gatherings in Moscow, including concerts, over the next 48 hours."
        ),
        "{}",
        u.text
    );
    assert!(
        !u.text.contains("until"),
        "the end time is fixed at release, not in the text: {}",
        u.text
    );
    assert!(u.text.contains("Updates: Quote the reference."));
    assert!(
        u.measures.is_empty(),
        "the public gets no operator measures"
    );
}

#[test]
fn tearline_replaces_its_section_for_non_cleared_audiences_only() {
    let mut t = moscow();
    t.portions = vec![
        portion(
            "(U//FOUO)",
            "Stewards saw two men filming the north gate on Friday.",
            10,
        ),
        portion(
            "(S//REL TO USA, RUS)",
            "A cell plans an armed attack on the venue.",
            11,
        ),
        tearline(
            "(U)",
            "Extremists may target large gatherings in Moscow.",
            12,
        ),
        portion(
            "(U)",
            "Police presence will be increased at weekend events.",
            13,
        ),
    ];
    let o = run(&t, &operator()).unwrap();
    // The FOUO detail is releasable to the operator, but its tearline summarises it.
    assert_eq!((o.summarised_portions, o.withheld_portions), (1, 1));
    assert!(!o.text.contains("north gate"), "{}", o.text);
    assert!(
        o.text.contains("Extremists may target") && o.text.contains("Police presence"),
        "{}",
        o.text
    );
    // A cleared partner gets the tearline first, then every releasable detail.
    let p = run(&t, &fsb()).unwrap();
    assert_eq!(p.summarised_portions, 0);
    let (a, b) = (
        p.text.find("Extremists may target").unwrap(),
        p.text.find("armed attack on the venue").unwrap(),
    );
    assert!(a < b, "{}", p.text);
    // Without a releasable tearline, the operator gets the detail it may read.
    t.portions[2].mark = m("(S//REL TO USA, RUS)");
    let u = run(&t, &public()).unwrap();
    assert!(!u.text.contains("north gate") && !u.text.contains("Extremists may"));
    assert!(run(&t, &operator()).unwrap().text.contains("north gate"));
}

#[test]
fn restricted_term_inside_releasable_text_is_never_sent() {
    // In a releasable portion: the portion is dropped (sanitize first), the rest goes out.
    let mut t = moscow();
    t.portions[4].text =
        "Extremists, per cardinal-sparrows, plan to target large gatherings in Moscow.".into();
    let u = run(&t, &public()).unwrap();
    assert_eq!(u.withheld_portions, 5);
    assert!(!u.text.to_lowercase().contains("sparrow"), "{}", u.text);
    // In a releasable target label, which the template must print: blocked, with the span.
    t.targets[2].label = "large gatherings in Moscow, including CARDINAL-SPARROWS concerts".into();
    let l = leak(run(&t, &public()));
    assert_eq!(
        l.rule,
        LeakRule::RestrictedTerm {
            term: "CARDINAL SPARROW".into()
        }
    );
    assert_eq!(l.field, "text");
    assert_eq!(l.excerpt, "CARDINAL-SPARROWS");
    assert_eq!(l.end - l.start, "CARDINAL-SPARROWS".len());
    assert!(l.to_string().contains("rule restricted_term"), "{l}");
}

#[test]
fn global_restricted_terms_are_blocked() {
    let t = moscow();
    let a = public();
    let global = vec!["gatherings in Moscow".to_owned()];
    let r = compose(&ComposeInput {
        threat: &t,
        audience: &a,
        entities: &[],
        global_restricted: &global,
        now: t.received,
        posture_interval_hours: 24,
        ack_instructions: "",
        translations: &[],
    });
    assert_eq!(leak(r).rule.name(), "restricted_term");
}

#[test]
fn withheld_portion_copied_verbatim_into_measures_is_blocked() {
    let mut t = moscow();
    t.measures.push(
        "A separate ISIS-K cell plans an attack on a synagogue in Moscow in the same period."
            .into(),
    );
    let l = leak(run(&t, &operator()));
    assert_eq!(
        l.rule,
        LeakRule::VerbatimPortion {
            line: 33,
            mark: "(S//REL TO USA, RUS)".into()
        }
    );
    assert_eq!(
        l.excerpt,
        "A separate ISIS-K cell plans an attack on a synagogue in Moscow in the same period"
    );
    // The partner may read that portion: no leak there.
    assert!(run(&t, &fsb()).is_ok());
}

#[test]
fn light_rewording_of_a_withheld_portion_is_blocked() {
    let mut t = moscow();
    t.measures.push(
        "Operatives were seen DISCUSSING seating plans and emergency-exits of the hall.".into(),
    );
    let l = leak(run(&t, &fsb()));
    assert!(
        matches!(l.rule, LeakRule::PortionNgrams { line: 31, .. }),
        "{l}"
    );
    assert_eq!(l.field, "text");
    assert_eq!(l.excerpt, "DISCUSSING seating plans");
    assert!(
        l.to_string()
            .contains("non-releasable portion (TS//SI//NF) on report line 31"),
        "{l}"
    );
}

#[test]
fn grams_the_audience_may_read_anyway_are_not_leaks() {
    // "large gatherings in Moscow" is in the withheld (S//NF) text and in the tearline.
    let mut t = moscow();
    t.portions[0]
        .text
        .push_str(" The target is large gatherings in Moscow.");
    assert!(run(&t, &public()).is_ok());
}

#[test]
fn withheld_actor_and_target_are_blocked() {
    let mut t = moscow();
    t.measures.push("Watch for isis-k sympathisers.".into());
    assert_eq!(
        leak(run(&t, &operator())).rule,
        LeakRule::WithheldActor {
            mark: "(S//REL TO USA, RUS)".into()
        }
    );
    let mut t = moscow();
    t.measures
        .push("Extra patrols around Crocus City Hall.".into());
    let l = leak(run(&t, &operator()));
    assert!(matches!(l.rule, LeakRule::WithheldTarget { .. }), "{l}");
    assert_eq!(l.excerpt, "Crocus City Hall");
    // The audience's own name may carry it: the audience knows its own name.
    let mut a = operator();
    a.name = "Crocus Group security (Crocus City Hall)".into();
    assert!(run(&moscow(), &a).is_ok());
}

#[test]
fn nothing_actionable_is_refused() {
    let mut t = moscow();
    t.targets.truncate(2);
    let e = run(&t, &public()).unwrap_err();
    assert_eq!(e.reason(), "nothing_actionable");
    assert!(
        e.to_string().contains("none of the 2 target spec(s)"),
        "{e}"
    );
    assert!(run(&t, &fsb()).is_ok());
}

#[test]
fn warning_tlp_stays_within_the_ceiling() {
    let t = moscow();
    let mut a = operator();
    a.tlp_ceiling = TlpLevel::Green;
    assert_eq!(run(&t, &a).unwrap().tlp, TlpLevel::Green);
    let mut t = moscow();
    t.portions[4].mark = m("(TLP:AMBER+STRICT)");
    a.tlp_ceiling = TlpLevel::Red;
    assert_eq!(run(&t, &a).unwrap().tlp, TlpLevel::AmberStrict);
}

#[test]
fn the_proof_generator_is_deterministic_and_finds_every_outcome() {
    assert_eq!(proof::gen_case(7).threat, proof::gen_case(7).threat);
    let mut reasons = BTreeSet::new();
    let mut composed = 0;
    for i in 0..3000 {
        match proof::run_case(proof::case_seed(1, i)) {
            proof::Outcome::Composed => composed += 1,
            proof::Outcome::Refused(r) => {
                reasons.insert(r);
            }
            proof::Outcome::Violation(v) => panic!("case {i}: {v}"),
        }
    }
    assert!(composed > 300, "{composed}");
    for r in [
        "nothing_actionable",
        "restricted_term",
        "portion_ngrams",
        "verbatim_portion",
    ] {
        assert!(reasons.contains(r), "{r} never happened: {reasons:?}");
    }
}

#[test]
fn every_spelling_variant_is_blocked_by_the_gate_and_seen_by_the_oracle() {
    let mut rng = proof::Rng::new(21);
    let mut blocked = 0;
    for term in proof::CODE_NAMES {
        for class in proof::VARIANT_CLASSES {
            for _ in 0..4 {
                let v = proof::variant_of(&mut rng, class, term);
                let mut t = moscow();
                t.restricted_terms = vec![(*term).to_owned()];
                t.portions[4].text =
                    format!("Per operation {v}, extremists may target large gatherings in Moscow.");
                t.targets[2].label = format!("large gatherings in Moscow near {v}");
                let l = leak(run(&t, &public()));
                assert_eq!(l.rule.name(), "restricted_term", "{class}: {v:?}");
                assert!(
                    crate::fold::contains(&l.excerpt, term),
                    "{class}: {v:?} → excerpt {:?}",
                    l.excerpt
                );
                // The oracle sees the same variant in a warning without the gate's help.
                let case = proof::Case {
                    threat: t.clone(),
                    audience: public(),
                    entities: vec![],
                    global_restricted: vec![],
                };
                let mut c = run(&moscow(), &public()).unwrap();
                c.text.push_str(&format!("Per {v} now\n"));
                assert!(
                    proof::violation(&case, &c).is_some_and(|x| x.contains("restricted term")),
                    "oracle missed {class}: {v:?}"
                );
                blocked += 1;
            }
        }
    }
    assert_eq!(
        blocked,
        proof::CODE_NAMES.len() * proof::VARIANT_CLASSES.len() * 4
    );
}

#[test]
fn the_oracle_catches_a_leak_the_gate_would_block() {
    // Feed the oracle a hand-made "composed" warning that copies a withheld portion.
    let t = moscow();
    let case = proof::Case {
        threat: t.clone(),
        audience: public(),
        entities: vec![],
        global_restricted: vec![],
    };
    let mut c = run(&t, &public()).unwrap();
    assert_eq!(proof::violation(&case, &c), None);
    c.text
        .push_str("the seating plan and the emergency exits\n");
    assert!(proof::violation(&case, &c)
        .unwrap()
        .contains("distinctive n-gram"));
    let mut c = run(&t, &public()).unwrap();
    c.headline.push_str(" lantern glass");
    assert!(proof::violation(&case, &c)
        .unwrap()
        .contains("restricted term"));
}

#[test]
fn prepared_warnings_pass_the_gate_field_by_field_and_attachments_unread() {
    let t = moscow();
    let ok = run(&t, &public()).unwrap();
    // A text written outside the templates gets the proof only when every field passes.
    let mut leaking = ok.clone();
    leaking.measures = vec!["Brief staff".into(), "Ask Lantern Glass".into()];
    let l = pass_gate(leaking, &t, &public(), &[], &[]).unwrap_err();
    assert_eq!(
        (l.rule.name(), l.field.as_str()),
        ("restricted_term", "measures[1]")
    );
    let c = pass_gate(ok.clone(), &t, &public(), &[], &[]).unwrap();
    assert_eq!(c.fields(), &ok);
    // Recipient-owned data is appended after the gate; the rest is still checked.
    let c = pass_gate_with_attachment(
        ok.clone(),
        "host,CARDINAL SPARROW\n",
        &t,
        &public(),
        &[],
        &[],
    )
    .unwrap();
    assert!(c.text().ends_with("host,CARDINAL SPARROW\n"));
    let mut leaking = ok;
    leaking.headline.push_str(" (cardinal sparrow)");
    assert!(pass_gate_with_attachment(leaking, "", &t, &public(), &[], &[]).is_err());
}

/// Case 42512 of seed 2024 spelt a withheld "Hotel, Αθήνα by airport." as "Ηοtelѕ AΘΉNA аіrроrts":
/// the first word in Greek/Cyrillic look-alikes, the second transliterated. The gate then
/// compared grams under one key at a time and let it through.
#[test]
fn a_gram_mixing_look_alikes_and_transliteration_is_caught() {
    use super::proof::{case_seed, run_case, Outcome};
    match run_case(case_seed(2024, 42512)) {
        Outcome::Violation(v) => panic!("leak: {v}"),
        Outcome::Composed | Outcome::Refused(_) => {}
    }
}

/// `bench leakproof` case 166785: "Planned seating by the Road" rewritten in look-alikes, with
/// `bу` (Cyrillic у) for "by". The gate skipped stop words by the spelling key only (`bu`), so
/// `bу` stood between "seating" and "Road" and the gram "plan seat road" never formed.
#[test]
fn a_stop_word_in_look_alikes_does_not_split_a_gram() {
    use super::proof::{case_seed, run_case, Outcome};
    let mut t = moscow();
    t.targets
        .push(target("Planned seating by the Road", "(S//NF)", None));
    t.measures.push("Ρlаnnеd ѕеаtιng; bу Rоаd".into());
    let l = leak(run(&t, &fsb()));
    assert_eq!(
        l.rule,
        LeakRule::WithheldTarget {
            label: "Planned seating by the Road".into(),
            mark: "(S//NF)".into()
        }
    );
    assert_eq!(l.excerpt, "Ρlаnnеd ѕеаtιng; bу Rоаd");
    // The same with a plain "by" was always caught; the partner may not read the target either way.
    t.measures.pop();
    t.measures.push("Planned seating; by Road".into());
    assert_eq!(leak(run(&t, &fsb())).excerpt, "Planned seating; by Road");
    assert!(matches!(
        run_case(case_seed(2024, 166785)),
        Outcome::Refused("withheld_target")
    ));
}

/// `bench leakproof` cases 226063 and 269990: a withheld label with `القاهرة` (Cairo, ending in
/// teh marbuta `ة`) is also written, in the plural, in a releasable label, so it is not secret
/// from the audience and the gate rightly lets its copy through. The oracle did not spell `ة`
/// (it kept `lqhrة`, which its stemmer, ASCII only, left with its `s`) and so did not see the
/// releasable copy: the oracle was wrong, not the gate.
#[test]
fn a_withheld_label_released_in_the_plural_with_teh_marbuta_is_no_leak() {
    use super::proof::{case_seed, oracle_words, run_case, violation, Case, Outcome};
    assert_eq!(oracle_words("القاهرةs")[0], vec!["lqhrhs".to_owned()]);
    let withheld = "القاهرة with transfer tasked incendiary district";
    let mut t = moscow();
    t.targets.push(target(withheld, "(S//NF)", None));
    t.measures.push(withheld.into());
    // Not released anywhere: the copy is blocked, and the oracle sees it too.
    let l = leak(run(&t, &operator()));
    assert!(matches!(l.rule, LeakRule::WithheldTarget { .. }), "{l}");
    let case = |t: &Threat| Case {
        threat: t.clone(),
        audience: operator(),
        entities: vec![],
        global_restricted: vec![],
    };
    let mut c = run(&moscow(), &operator()).unwrap();
    c.text.push_str(withheld);
    assert!(violation(&case(&t), &c).is_some());
    // Released in a plural spelling: the audience may read it, and the oracle agrees.
    t.targets.push(target(
        "Guards القاهرةs WITH transfer tasked incendiarys districts",
        "(U)",
        None,
    ));
    let c = run(&t, &operator()).unwrap();
    assert!(c.text.contains(withheld));
    assert_eq!(violation(&case(&t), &c), None);
    for n in [226063, 269990] {
        assert!(
            !matches!(run_case(case_seed(2024, n)), Outcome::Violation(_)),
            "case {n}"
        );
    }
}

/// `bench leakproof` case 740106: the restricted term `ΑΘΗΝΑ ΝΥΧΤΑ` with Latin look-alikes put
/// in and then lower-cased (`αθhνá NYXTAs`). The look-alike key read `Θ` as `O` (its UTS #39
/// prototype `O̵` with the bar dropped), so the term was `aohna` there and met neither key of
/// the copy (`athhna`, spelt, with `θ` as `th`). `Θ` is a theta to a reader, not an `O`.
#[test]
fn a_greek_term_lower_cased_after_look_alikes_is_caught() {
    use super::proof::{case_seed, run_case, Outcome};
    let mut t = moscow();
    t.restricted_terms = vec!["ΑΘΗΝΑ ΝΥΧΤΑ".into()];
    t.targets[2].label = "large gatherings in Moscow near αθhνá NYXTAs".into();
    let l = leak(run(&t, &public()));
    assert_eq!(
        l.rule,
        LeakRule::RestrictedTerm {
            term: "ΑΘΗΝΑ ΝΥΧΤΑ".into()
        }
    );
    assert_eq!(l.excerpt, "αθhνá NYXTAs");
    assert!(matches!(
        run_case(case_seed(2024, 740106)),
        Outcome::Refused("restricted_term")
    ));
}

#[test]
fn every_kind_is_written_in_the_audience_language_and_time_zone() {
    let t = moscow();
    // English keeps its sentences; times are in the country's zone or UTC.
    let en = run(&t, &operator()).unwrap();
    assert!(en.text.contains(" UTC"), "{}", en.text);
    for (lang, needles, absent) in [
        (
            "ru",
            &[
                "КОМУ:",
                "Что проверить:",
                "Куда звонить: в экстренном случае 112",
                " MSK (",
            ][..],
            &["What to check", "Whom to call", "Expected harm"][..],
        ),
        (
            "de",
            &["Was zu prüfen ist:", "Wen anrufen:", " MSK ("][..],
            &["What to check"][..],
        ),
        (
            "ar",
            &["ما يجب فحصه:", " MSK ("][..],
            &["What to check"][..],
        ),
    ] {
        let mut a = operator();
        a.language = lang.into();
        a.timezone = Some("Europe/Moscow".into());
        let o = run(&t, &a).unwrap();
        for n in needles {
            assert!(o.text.contains(n), "{lang}: {n:?} missing from {}", o.text);
        }
        for n in absent {
            assert!(
                !o.text.contains(n),
                "{lang}: English {n:?} left in {}",
                o.text
            );
        }
        // The report's own words stay as written (the measures come from the report).
        assert!(o.text.contains(&t.measures[0]), "{}", o.text);
    }
    let mut p = fsb();
    p.language = "fr".into();
    p.timezone = Some("Europe/Moscow".into());
    let w = run(&t, &p).unwrap();
    assert!(
        w.headline.starts_with("Avertissement de menace"),
        "{}",
        w.headline
    );
    assert!(
        w.text.contains("2. Période : du ") && w.text.contains("MSK"),
        "{}",
        w.text
    );
    let mut u = public();
    u.language = "uk".into();
    let w = run(&t, &u).unwrap();
    assert!(
        w.headline.starts_with("Попередження про безпеку"),
        "{}",
        w.headline
    );
}

#[test]
fn tearlines_in_the_audience_language_are_preferred() {
    let mut t = moscow();
    let ru = "Экстремисты намерены в ближайшее время напасть на места массового скопления людей в Москве, включая концерты.";
    t.portions.push(Portion {
        lang: Some("ru".into()),
        ..tearline("(U)", ru, 35)
    });
    t.portions.push(Portion {
        lang: Some("de".into()),
        ..tearline("(U)", "Extremisten planen Anschläge.", 36)
    });
    let english = "Extremists have imminent plans";
    // English readers: the untagged tearline only.
    let en = run(&t, &operator()).unwrap();
    assert!(
        en.text.contains(english) && !en.text.contains(ru) && !en.text.contains("Extremisten"),
        "{}",
        en.text
    );
    // Russian readers (`ru-RU` too): the Russian version in its place.
    let mut op_ru = operator();
    op_ru.language = "ru-RU".into();
    let r = run(&t, &op_ru).unwrap();
    assert!(
        r.text.contains(ru) && !r.text.contains(english),
        "{}",
        r.text
    );
    assert_eq!(r.summarised_portions, en.summarised_portions);
    let mut pub_ru = public();
    pub_ru.language = "ru".into();
    assert!(run(&t, &pub_ru).unwrap().text.contains(ru));
    // A cleared partner reading Russian: the Russian tearline first, then the detail.
    let mut fsb_ru = fsb();
    fsb_ru.language = "ru".into();
    let p = run(&t, &fsb_ru).unwrap();
    let (a, b) = (
        p.text.find(ru).unwrap(),
        p.text.find("armed attack on Crocus").unwrap(),
    );
    assert!(a < b, "{}", p.text);
    // Every language version is checked like any portion: a Russian version naming a
    // restricted term is never used, and the untagged one stands instead.
    t.portions[5].text = format!("{ru} Источник: CARDINAL SPARROW.");
    let r = run(&t, &op_ru).unwrap();
    assert!(
        r.text.contains(english) && !r.text.contains("CARDINAL"),
        "{}",
        r.text
    );
    // A version marked above what the audience may read is not used either.
    t.portions[5].text = ru.into();
    t.portions[5].mark = m("(S//NF)");
    let r = run(&t, &op_ru).unwrap();
    assert!(
        r.text.contains(english) && !r.text.contains(ru),
        "{}",
        r.text
    );
}

#[test]
fn another_language_is_composed_beside_the_audience_own_and_gated_with_it() {
    let t = moscow();
    let mut reader = operator();
    reader.language = "ru".into();
    let c = compose(&ComposeInput {
        threat: &t,
        audience: &reader,
        entities: &[],
        global_restricted: &[],
        now: t.received,
        posture_interval_hours: 24,
        ack_instructions: "Номер W1.",
        translations: &[
            ("en", "Reference W1."),
            ("ru", "skipped: the audience's own"),
        ],
    })
    .unwrap()
    .into_fields();
    assert_eq!(c.language, "ru");
    assert!(
        c.text.contains("КОМУ:") && c.text.contains("Номер W1."),
        "{}",
        c.text
    );
    assert_eq!(c.translations.len(), 1, "{:?}", c.translations);
    let en = &c.translations[0];
    assert_eq!(en.language, "en");
    assert!(
        en.text.contains("TO:") && en.text.contains("Reference W1."),
        "{}",
        en.text
    );
    assert!(!en.text.contains("КОМУ"), "{}", en.text);
    // The gate reads every version: a leak in the English one blocks the whole warning.
    let mut leaking = c.clone();
    leaking.translations[0]
        .text
        .push_str("Ask Lantern Glass.\n");
    let l = pass_gate(leaking, &t, &reader, &[], &[]).unwrap_err();
    assert_eq!(
        (l.rule.name(), l.field.as_str()),
        ("restricted_term", "translations[0].text")
    );
    // An English reader gets nothing beside its text.
    let plain = run(&t, &operator()).unwrap();
    assert_eq!(plain.language, "en");
    assert!(plain.translations.is_empty());
}
