//! Duty policy files (TOML): the threshold and the allowed waivers as data (docs/duty.md).

use tocsin_core::duty::DutyPolicy;

#[derive(Debug, thiserror::Error)]
#[error("policy file: {0}")]
pub struct PolicyError(String);

/// Parse a policy file; unknown or missing fields are errors naming the field.
pub fn parse_policy(text: &str) -> Result<DutyPolicy, PolicyError> {
    let de = toml::Deserializer::new(text);
    let policy: DutyPolicy = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = inner
            .span()
            .map(|s| line_of(text, s.start))
            .map(|l| format!("line {l}, "))
            .unwrap_or_default();
        PolicyError(format!("{at}field `{path}`: {}", inner.message()))
    })?;
    if policy.waivers.is_empty() {
        return Err(PolicyError("at least one [[waivers]] entry is needed (an empty list would make every waiver impossible to justify)".into()));
    }
    let mut codes: Vec<&str> = policy.waivers.iter().map(|w| w.code.as_str()).collect();
    codes.sort_unstable();
    if let Some(w) = codes.windows(2).find(|w| w[0] == w[1]) {
        return Err(PolicyError(format!("waiver code {:?} appears twice", w[0])));
    }
    if policy.delivery_sla_hours <= 0
        || policy.posture_interval_hours <= 0
        || policy.public_hold_hours < 0
    {
        return Err(PolicyError("delivery_sla_hours and posture_interval_hours must be positive, public_hold_hours not negative".into()));
    }
    Ok(policy)
}

fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_icd191_policy_equals_the_builtin_default() {
        let p = parse_policy(include_str!("../../../policy/icd191.toml")).unwrap();
        assert_eq!(p, DutyPolicy::icd191());
    }

    #[test]
    fn shipped_cert_policy_parses_with_cert_waivers() {
        let p = parse_policy(include_str!("../../../policy/cert.toml")).unwrap();
        assert!(p.network_harms_count);
        assert!(p.waiver("recipient_opted_out").is_some());
        assert!(p.waiver("already_aware").is_none());
    }

    #[test]
    fn the_release_rule_is_per_audience_kind_and_misspellings_are_errors() {
        let base = "name = \"p\"\nmin_credibility = \"probable\"\ndelivery_sla_hours = 24\npublic_hold_hours = 24\nposture_interval_hours = 24\n";
        let waiver = "[[waivers]]\ncode = \"x\"\ndescription = \"y\"\n";
        let p = parse_policy(&format!("{base}{waiver}")).unwrap();
        assert_eq!(
            p.release_requires_second_person,
            tocsin_core::duty::SecondPerson::default(),
            "absent: partners and the public"
        );
        let p = parse_policy(&format!(
            "{base}[release_requires_second_person]\noperator = true\n{waiver}"
        ))
        .unwrap();
        let r = p.release_requires_second_person;
        assert!(r.operator && !r.partner_service && !r.public);
        let e = parse_policy(&format!(
            "{base}[release_requires_second_person]\noprator = true\n{waiver}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("release_requires_second_person") && e.contains("oprator"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let text = include_str!("../../../policy/icd191.toml").replace(
            "min_credibility = \"probable\"",
            "min_credibility = \"likely\"",
        );
        let e = parse_policy(&text).unwrap_err().to_string();
        assert!(e.contains("min_credibility") && e.contains("line 5"), "{e}");
        let dup = format!(
            "{}\n[[waivers]]\ncode = \"already_aware\"\ndescription = \"x\"\n",
            include_str!("../../../policy/icd191.toml")
        );
        assert!(parse_policy(&dup)
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }
}
