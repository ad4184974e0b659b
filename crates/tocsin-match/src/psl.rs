//! Public suffixes (`com`, `co.uk`, `github.io`): domains under which anyone may register names.
//! A threat to a public suffix names nobody in particular, so the matcher never lets one stand
//! for the domains below it.
//!
//! The rules are the Public Suffix List (<https://publicsuffix.org/>, Mozilla Public License 2.0),
//! ICANN and private sections, shipped in `data/public_suffix_list.txt` (comments stripped;
//! regenerate with `data/make_psl.sh`) and compiled into the binary: nothing is fetched at run
//! time. The algorithm is the list's own: a domain is a public suffix when a rule names it, or a
//! wildcard rule `*.parent` covers it and no exception rule `!domain` excludes it; any single
//! label (a top-level domain) is one by the implicit rule `*`.

use std::collections::HashSet;
use std::sync::OnceLock;
use tocsin_core::entity::DomainName;

const LIST: &str = include_str!("../data/public_suffix_list.txt");

/// The compiled rule set.
#[derive(Debug)]
pub struct PublicSuffixList {
    rules: HashSet<&'static str>,
    wildcards: HashSet<&'static str>,
    exceptions: HashSet<&'static str>,
}

impl PublicSuffixList {
    /// The list shipped with Tocsin (parsed once).
    pub fn builtin() -> &'static PublicSuffixList {
        static PSL: OnceLock<PublicSuffixList> = OnceLock::new();
        PSL.get_or_init(|| Self::parse(LIST))
    }

    /// Parse rules in the list's format (one per line, `//` comments, `*.` wildcards, `!`
    /// exceptions). Rules are expected in lower case; internationalised rules stay in Unicode.
    pub fn parse(text: &'static str) -> Self {
        let mut psl = Self {
            rules: HashSet::new(),
            wildcards: HashSet::new(),
            exceptions: HashSet::new(),
        };
        for line in text.lines() {
            let rule = line.split_whitespace().next().unwrap_or("");
            if rule.is_empty() || rule.starts_with("//") {
                continue;
            }
            if let Some(parent) = rule.strip_prefix("*.") {
                psl.wildcards.insert(parent);
            } else if let Some(exc) = rule.strip_prefix('!') {
                psl.exceptions.insert(exc);
            } else {
                psl.rules.insert(rule);
            }
        }
        psl
    }

    /// Number of rules of every kind.
    pub fn len(&self) -> usize {
        self.rules.len() + self.wildcards.len() + self.exceptions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Is `domain` (lower case, no trailing dot) a public suffix?
    pub fn is_public_suffix_str(&self, domain: &str) -> bool {
        if domain.is_empty() {
            return true;
        }
        if self.exceptions.contains(domain) {
            return false;
        }
        if self.rules.contains(domain) {
            return true;
        }
        match domain.split_once('.') {
            None => true,
            Some((_, parent)) => self.wildcards.contains(parent),
        }
    }

    pub fn is_public_suffix(&self, domain: &DomainName) -> bool {
        self.is_public_suffix_str(domain.as_str())
    }

    /// The public suffix of `domain`: its longest suffix (label-wise) that is a public suffix.
    pub fn public_suffix<'a>(&self, domain: &'a str) -> &'a str {
        let mut rest = domain;
        loop {
            if self.is_public_suffix_str(rest) {
                return rest;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return rest,
            }
        }
    }

    /// The registrable domain ("eTLD+1"): the public suffix and one label more, `None` when the
    /// domain is itself a public suffix. `mail.example.co.uk` → `example.co.uk`.
    pub fn registrable<'a>(&self, domain: &'a str) -> Option<&'a str> {
        let suffix = self.public_suffix(domain);
        if suffix.len() == domain.len() {
            return None;
        }
        let head = &domain[..domain.len() - suffix.len() - 1];
        let start = head.rfind('.').map_or(0, |i| i + 1);
        Some(&domain[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_of_the_shipped_list() {
        let p = PublicSuffixList::builtin();
        assert!(p.len() > 9000, "{}", p.len());
        for ps in [
            "com",
            "uk",
            "co.uk",
            "github.io",
            "zzz-unknown-tld",
            "anything.ck",
        ] {
            assert!(p.is_public_suffix_str(ps), "{ps}");
        }
        for not in ["example.com", "example.co.uk", "www.ck", "bbc.co.uk"] {
            assert!(!p.is_public_suffix_str(not), "{not}");
        }
        assert_eq!(p.public_suffix("mail.example.co.uk"), "co.uk");
        assert_eq!(p.registrable("mail.example.co.uk"), Some("example.co.uk"));
        assert_eq!(p.registrable("example.com"), Some("example.com"));
        assert_eq!(p.registrable("co.uk"), None);
        assert_eq!(p.registrable("a.b.anything.ck"), Some("b.anything.ck"));
        assert_eq!(p.registrable("www.ck"), Some("www.ck"));
    }
}
