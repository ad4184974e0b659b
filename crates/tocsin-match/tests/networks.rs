//! Network and organisation descriptors: IP prefixes (containment both ways, longest prefix
//! first), ASNs, domains (label-suffix, public-suffix aware), organisations by name and sector.

mod common;
use common::*;
use tocsin_core::entity::{DomainName, Footprint, IpNet};
use tocsin_core::{Entity, EntityKind, TargetSpec};

fn org(
    id: &str,
    name: &str,
    nets: &[&str],
    domains: &[&str],
    asns: &[u32],
    sectors: &[&str],
) -> Entity {
    Entity {
        footprint: Footprint {
            networks: nets.iter().map(|n| IpNet::parse(n).unwrap()).collect(),
            asns: asns.to_vec(),
            domains: domains
                .iter()
                .map(|d| DomainName::parse(d).unwrap())
                .collect(),
            sectors: sectors.iter().map(|s| (*s).to_owned()).collect(),
        },
        ..entity(id, EntityKind::Organisation, name, "organisation/company")
    }
}

fn registry() -> Vec<Entity> {
    vec![
        org(
            "corp",
            "Corp Holdings",
            &["10.0.0.0/8"],
            &["corp.example"],
            &[64500],
            &["finance"],
        ),
        org(
            "lab",
            "Corp Lab",
            &["10.1.2.0/24"],
            &["lab.corp.example"],
            &[],
            &["research"],
        ),
        org(
            "branch",
            "Corp Branch",
            &["10.1.0.0/16", "2001:db8:1::/48"],
            &[],
            &[64501],
            &[],
        ),
        org(
            "grid",
            "Северная Энергосеть",
            &["192.0.2.0/24"],
            &["grid.co.uk"],
            &[64502],
            &["Energy"],
        ),
        Entity {
            aliases: vec!["Northern Grid".into()],
            ..org(
                "grid2",
                "Northern Power Grid",
                &[],
                &["mail.northern.example.co.uk"],
                &[],
                &["energy", "water"],
            )
        },
        org(
            "bad",
            "Badcorp",
            &["11.0.0.0/8"],
            &["badcorp.example"],
            &[],
            &[],
        ),
    ]
}

fn spec_with(f: Footprint) -> TargetSpec {
    TargetSpec {
        footprint: f,
        ..spec("network target")
    }
}

fn nets(n: &[&str]) -> TargetSpec {
    spec_with(Footprint {
        networks: n.iter().map(|n| IpNet::parse(n).unwrap()).collect(),
        ..Default::default()
    })
}

fn domains(d: &[&str]) -> TargetSpec {
    spec_with(Footprint {
        domains: d.iter().map(|d| DomainName::parse(d).unwrap()).collect(),
        ..Default::default()
    })
}

fn ids(targets: Vec<TargetSpec>) -> Vec<String> {
    let reg = registry();
    both(&reg, &threat(targets))
        .unwrap()
        .iter()
        .map(|m| m.entity_id.to_string())
        .collect()
}

#[test]
fn a_wide_prefix_hits_the_networks_inside_it_longest_first() {
    assert_eq!(ids(vec![nets(&["10.0.0.0/8"])]), ["lab", "branch", "corp"]);
    let reg = registry();
    let m = both(&reg, &threat(vec![nets(&["10.0.0.0/8"])])).unwrap();
    let why = m
        .iter()
        .map(|m| m.reasons[0].detail.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        why[0],
        "network 10.1.2.0/24 lies within the targeted 10.0.0.0/8"
    );
    assert_eq!(why[2], "network 10.0.0.0/8 is the targeted one");
    assert!(m[0].score > m[1].score && m[1].score > m[2].score);
}

#[test]
fn an_address_hits_every_owner_of_a_prefix_holding_it() {
    assert_eq!(ids(vec![nets(&["10.1.2.3"])]), ["lab", "branch", "corp"]);
    let reg = registry();
    let m = both(&reg, &threat(vec![nets(&["10.1.2.3"])])).unwrap();
    assert_eq!(
        m[1].reasons[0].detail,
        "the targeted address 10.1.2.3 lies within 10.1.0.0/16"
    );
    assert_eq!(ids(vec![nets(&["10.1.9.9"])]), ["branch", "corp"]);
    assert_eq!(ids(vec![nets(&["2001:db8:1::7"])]), ["branch"]);
    assert!(ids(vec![nets(&["12.0.0.1", "2001:db8:2::1"])]).is_empty());
    // The whole IPv4 space holds every IPv4 network and no IPv6 one.
    assert_eq!(ids(vec![nets(&["0.0.0.0/0"])]).len(), 5);
}

#[test]
fn domains_match_by_label_suffix_and_public_suffixes_hit_nobody() {
    assert_eq!(ids(vec![domains(&["corp.example"])]), ["corp", "lab"]);
    assert_eq!(
        ids(vec![domains(&["www.lab.corp.example"])]),
        ["lab", "corp"],
        "owners of parent domains, nearest first"
    );
    assert!(
        ids(vec![domains(&["orp.example"])]).is_empty(),
        "label-wise, not string suffix"
    );
    for public in ["co.uk", "uk", "example", "com"] {
        assert!(ids(vec![domains(&[public])]).is_empty(), "{public}");
    }
    assert_eq!(ids(vec![domains(&["grid.co.uk"])]), ["grid"]);
    assert_eq!(ids(vec![domains(&["northern.example.co.uk"])]), ["grid2"]);
    let reg = registry();
    let m = both(&reg, &threat(vec![domains(&["northern.example.co.uk"])])).unwrap();
    assert_eq!(
        m[0].reasons[0].detail,
        "domain mail.northern.example.co.uk lies within the targeted northern.example.co.uk"
    );
}

#[test]
fn asns_sectors_and_organisation_names() {
    let asn = spec_with(Footprint {
        asns: vec![64501, 64502],
        ..Default::default()
    });
    assert_eq!(ids(vec![asn]), ["branch", "grid"]);
    let energy = spec_with(Footprint {
        sectors: vec![" ENERGY ".into()],
        ..Default::default()
    });
    assert_eq!(ids(vec![energy.clone()]), ["grid", "grid2"]);
    // An organisation by a transliterated name, in a sector.
    let named = TargetSpec {
        name: Some("Severnaya Energoset".into()),
        ..energy.clone()
    };
    let reg = registry();
    let m = both(&reg, &threat(vec![named])).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].entity_id.as_str(), "grid");
    let kinds: Vec<&str> = m[0].reasons.iter().map(|r| r.descriptor.as_str()).collect();
    assert_eq!(kinds, ["name", "sector", "time"]);
    assert_eq!(
        ids(vec![TargetSpec {
            name: Some("Northern Grid".into()),
            ..energy
        }]),
        ["grid2"]
    );
    // Every stated descriptor must hold: the network and the sector.
    let both = spec_with(Footprint {
        networks: vec![IpNet::parse("10.0.0.0/8").unwrap()],
        sectors: vec!["research".into()],
        ..Default::default()
    });
    assert_eq!(ids(vec![both]), ["lab"]);
}

#[test]
fn updates_and_removals_reach_the_network_indexes() {
    let mut reg = tocsin_match::Registry::new(
        tocsin_match::MatchConfig::default(),
        tocsin_match::Gazetteer::builtin(),
    );
    for e in registry() {
        reg.upsert(e);
    }
    let th = threat(vec![nets(&["10.1.2.3"]), domains(&["lab.corp.example"])]);
    assert_eq!(reg.match_threat(&th).unwrap().len(), 5);
    reg.upsert(org("lab", "Corp Lab", &["172.16.0.0/12"], &[], &[], &[]));
    let now: Vec<String> = reg
        .match_threat(&th)
        .unwrap()
        .iter()
        .map(|m| format!("{}#{}", m.entity_id, m.target))
        .collect();
    assert_eq!(
        now,
        ["corp#1", "branch#0", "corp#0"],
        "domain one label apart (0.95) before a /16 (0.9) and a /8 (0.85)"
    );
    reg.remove(&"corp".into());
    assert_eq!(reg.match_threat(&th).unwrap().len(), 1);
    assert_eq!(reg.get(&"branch".into()).unwrap().footprint.asns, [64501]);
}
