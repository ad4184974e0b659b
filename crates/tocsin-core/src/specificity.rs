//! How specific a target spec is: the one definition the duty threshold ("specific") and the
//! composer (what a warning may say) share.

use crate::threat::TargetSpec;
use crate::tracking::Specificity;

/// A name, a network, an ASN or a domain names a target (a network or domain identifies an
/// organisation's systems as precisely as a venue name identifies a building); a category or
/// sector within an area is a kind of target in a place; anything else is an area only.
pub fn specificity(t: &TargetSpec) -> Specificity {
    let fp = &t.footprint;
    if t.name.is_some() || !fp.networks.is_empty() || !fp.asns.is_empty() || !fp.domains.is_empty()
    {
        Specificity::NamedTarget
    } else if (!t.categories.is_empty() || !fp.sectors.is_empty()) && t.area.is_some() {
        Specificity::CategoryAndArea
    } else {
        Specificity::AreaOnly
    }
}

/// Whether a spec meets the duty threshold's "specific": it names a target, or a category or
/// sector in an area.
pub fn is_specific(t: &TargetSpec) -> bool {
    specificity(t) > Specificity::AreaOnly
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{DomainName, Footprint, IpNet};
    use crate::threat::Area;
    use crate::{Category, PortionMark};

    fn spec() -> TargetSpec {
        TargetSpec {
            label: "t".into(),
            mark: PortionMark::unclassified(),
            name: None,
            categories: vec![],
            min_size: None,
            area: None,
            window: None,
            footprint: Footprint::EMPTY,
        }
    }

    #[test]
    fn names_networks_asns_and_domains_name_a_target() {
        assert_eq!(specificity(&spec()), Specificity::AreaOnly);
        let mut s = spec();
        s.name = Some("Crocus City Hall".into());
        assert_eq!(specificity(&s), Specificity::NamedTarget);
        let mut s = spec();
        s.footprint
            .networks
            .push(IpNet::parse("198.51.100.0/24").unwrap());
        assert_eq!(specificity(&s), Specificity::NamedTarget);
        let mut s = spec();
        s.footprint.asns.push(64500);
        assert_eq!(specificity(&s), Specificity::NamedTarget);
        let mut s = spec();
        s.footprint
            .domains
            .push(DomainName::parse("hospital.example").unwrap());
        assert_eq!(specificity(&s), Specificity::NamedTarget);
        assert!(is_specific(&s));
    }

    #[test]
    fn a_category_or_sector_needs_an_area() {
        let mut s = spec();
        s.categories
            .push(Category::parse("venue/healthcare").unwrap());
        assert_eq!(specificity(&s), Specificity::AreaOnly);
        assert!(!is_specific(&s));
        s.area = Some(Area::Named {
            name: "Moscow".into(),
        });
        assert_eq!(specificity(&s), Specificity::CategoryAndArea);
        let mut s = spec();
        s.footprint.sectors.push("energy".into());
        s.area = Some(Area::Named {
            name: "Ohio".into(),
        });
        assert_eq!(specificity(&s), Specificity::CategoryAndArea);
        assert!(is_specific(&s));
    }
}
