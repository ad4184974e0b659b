//! The examples in docs/formats.md must parse: the documentation is tested, not just written.

use tocsin_formats::{parse_audiences_toml, parse_events_csv, parse_report, parse_venues_csv};

const DOC: &str = include_str!("../../../docs/formats.md");

/// The fenced blocks of one language tag, in document order.
fn blocks(lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = DOC;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```").expect("unclosed fence in docs/formats.md");
        out.push(body[..end].to_owned());
        rest = &body[end..];
    }
    out
}

#[test]
fn report_example_parses() {
    let report = blocks("text")
        .into_iter()
        .find(|b| b.starts_with("+++"))
        .expect("a report example");
    let t = parse_report(&report).unwrap_or_else(|e| panic!("docs report example: {e}"));
    assert_eq!(t.targets.len(), 2);
    assert_eq!(t.portions.len(), 3);
    assert!(t.portions[2].tearline);
}

#[test]
fn registry_examples_parse() {
    let csv = blocks("csv");
    assert_eq!(csv.len(), 3);
    let venues = parse_venues_csv(&csv[0]).unwrap_or_else(|e| panic!("docs venues example: {e}"));
    let events =
        parse_events_csv(&csv[1], &venues).unwrap_or_else(|e| panic!("docs events example: {e}"));
    assert_eq!((venues.len(), events.len()), (2, 1));
    let own = parse_events_csv(&csv[2], &venues)
        .unwrap_or_else(|e| panic!("docs venue-less event example: {e}"));
    assert!(own[0].venue.is_none() && own[0].location.is_some());
    let toml = blocks("toml");
    assert_eq!(toml.len(), 1);
    let audiences =
        parse_audiences_toml(&toml[0]).unwrap_or_else(|e| panic!("docs audiences example: {e}"));
    assert_eq!(audiences.len(), 2);
}
