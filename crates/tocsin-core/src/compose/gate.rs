//! The leak gate: the last check of every composed text (see [`leak_gate`]), and the only
//! maker of [`Composed`], the proof that a warning passed it.

use super::*;

/// A warning's fields as a template (or an author) wrote them, before the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarningFields {
    pub tlp: TlpLevel,
    pub banner: String,
    pub specificity: Specificity,
    pub headline: String,
    pub text: String,
    pub measures: Vec<String>,
    pub valid: ThreatWindow,
    /// How many report portions were withheld from this audience: not releasable to it, or naming
    /// a restricted term (such a portion is never copied, whatever its mark).
    pub withheld_portions: usize,
    /// How many releasable portions were left out because a releasable tearline summarises them
    /// (non-cleared audiences only).
    pub summarised_portions: usize,
    /// Labels of the target specs this audience may be told about.
    pub targets: Vec<String>,
    /// The catalogue language `headline` and `text` are written in.
    #[serde(skip_serializing_if = "crate::tracking::is_english")]
    pub language: String,
    /// Other language versions; the gate checks each as it checks `headline` and `text`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<crate::tracking::Translation>,
}

/// A warning that passed the leak gate: the gate's proof value. Its fields are private and it
/// has no `Deserialize`; the only ways to get one are [`compose`] and [`pass_gate`], both of
/// which return it only when every field passed. A sendable warning is made from one
/// ([`crate::tracking::Warning::from_composed`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Composed {
    fields: WarningFields,
}

impl Composed {
    pub fn tlp(&self) -> TlpLevel {
        self.fields.tlp
    }
    pub fn banner(&self) -> &str {
        &self.fields.banner
    }
    pub fn specificity(&self) -> Specificity {
        self.fields.specificity
    }
    pub fn headline(&self) -> &str {
        &self.fields.headline
    }
    pub fn text(&self) -> &str {
        &self.fields.text
    }
    pub fn measures(&self) -> &[String] {
        &self.fields.measures
    }
    pub fn valid(&self) -> ThreatWindow {
        self.fields.valid
    }
    pub fn withheld_portions(&self) -> usize {
        self.fields.withheld_portions
    }
    pub fn summarised_portions(&self) -> usize {
        self.fields.summarised_portions
    }
    pub fn targets(&self) -> &[String] {
        &self.fields.targets
    }
    /// All fields, read-only.
    pub fn fields(&self) -> &WarningFields {
        &self.fields
    }
    /// The fields, giving up the proof (an edited copy must pass the gate again).
    pub fn into_fields(self) -> WarningFields {
        self.fields
    }
}

/// [`pass_gate`] for a warning that carries recipient-owned data (a feed notification's CSV of the
/// recipient's own hosts and events): the gate checks every field, then `attachment` is appended
/// to the text unread. The data is the recipient's by definition, and no report text enters it;
/// what the notification says about it (headline, summary, measures) is checked like any text.
pub fn pass_gate_with_attachment(
    fields: WarningFields,
    attachment: &str,
    threat: &Threat,
    audience: &Audience,
    global_restricted: &[String],
    allowed_phrases: &[&str],
) -> Result<Composed, LeakError> {
    let mut c = pass_gate(fields, threat, audience, global_restricted, allowed_phrases)?;
    c.fields.text.push_str(attachment);
    Ok(c)
}

/// Run the leak gate on every field of a warning written outside the templates (feed
/// notifications, edits): `Ok` with the proof only when every field passes. `allowed_phrases`
/// are releasable sources as in [`leak_gate`].
pub fn pass_gate(
    fields: WarningFields,
    threat: &Threat,
    audience: &Audience,
    global_restricted: &[String],
    allowed_phrases: &[&str],
) -> Result<Composed, LeakError> {
    Gate::new(threat, audience, global_restricted, allowed_phrases).pass(fields)
}

/// Why the leak gate blocked a text. `start..end` are byte offsets into the named `field` of the
/// composed warning (`text`, `headline`, `measures[i]`, `targets[i]`); `excerpt` is that span.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("leak gate blocked the warning for {audience}: {rule} in {field} at bytes {start}..{end} ({excerpt:?})")]
pub struct LeakError {
    pub audience: String,
    pub rule: LeakRule,
    pub field: String,
    pub start: usize,
    pub end: usize,
    pub excerpt: String,
}

/// The rule a blocked text broke. "Withheld" material is every marked fact not releasable to the
/// audience: report portions, target specs (label and name) and the actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum LeakRule {
    /// A restricted term (per report or global), matched as a normalised word sequence.
    RestrictedTerm { term: String },
    /// The whole text of a withheld portion (normalised words, stop words included).
    VerbatimPortion { line: usize, mark: String },
    /// Distinctive word n-grams of a withheld portion: light rewording does not hide them.
    PortionNgrams {
        line: usize,
        mark: String,
        shared: usize,
    },
    /// A withheld target spec's label or name, whole or by distinctive n-grams.
    WithheldTarget { label: String, mark: String },
    /// The actor, whose identity is not releasable to the audience.
    WithheldActor { mark: String },
}

impl LeakRule {
    pub fn name(&self) -> &'static str {
        match self {
            LeakRule::RestrictedTerm { .. } => "restricted_term",
            LeakRule::VerbatimPortion { .. } => "verbatim_portion",
            LeakRule::PortionNgrams { .. } => "portion_ngrams",
            LeakRule::WithheldTarget { .. } => "withheld_target",
            LeakRule::WithheldActor { .. } => "withheld_actor",
        }
    }
}

impl std::fmt::Display for LeakRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeakRule::RestrictedTerm { term } => write!(f, "rule restricted_term: restricted term {term:?}"),
            LeakRule::VerbatimPortion { line, mark } => {
                write!(f, "rule verbatim_portion: copy of the non-releasable portion {mark} on report line {line}")
            }
            LeakRule::PortionNgrams { line, mark, shared } => write!(
                f,
                "rule portion_ngrams: {shared} distinctive word sequence(s) of the non-releasable portion {mark} on report line {line}"
            ),
            LeakRule::WithheldTarget { label, mark } => {
                write!(f, "rule withheld_target: the non-releasable target {label:?} {mark}")
            }
            LeakRule::WithheldActor { mark } => write!(f, "rule withheld_actor: the non-releasable actor {mark}"),
        }
    }
}

/// A normalised word of a text and its byte span there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Folded under [`Key::Spelling`](crate::fold::Key) and stemmed ([`stem`]).
    pub norm: String,
    /// Folded under [`Key::LookAlike`](crate::fold::Key) and stemmed.
    pub alt: String,
    pub start: usize,
    pub end: usize,
}

impl Word {
    /// The same word under either key.
    pub fn same(&self, other: &Word) -> bool {
        self.norm == other.norm
            || self.alt == other.alt
            || self.norm == other.alt
            || self.alt == other.norm
    }
}

/// Split a text into words ([`crate::fold::words`]: runs of letters and digits, folded across
/// scripts and spellings) and stem each. "Attacks," "ATTACK" and "attacked" all become `attack`,
/// "ISIS-K" becomes `isis k`, and `CANOPÉE`, `Canopee` and `Сanopee` (Cyrillic С) meet, so
/// punctuation, case, inflection and spelling do not hide a copy. Spans are in `text`.
pub fn normalized_words(text: &str) -> Vec<Word> {
    crate::fold::words(text)
        .into_iter()
        .map(|w| {
            let norm = stem(&w.spelling);
            let alt = if w.look_alike == w.spelling {
                norm.clone()
            } else {
                stem(&w.look_alike)
            };
            Word {
                norm,
                alt,
                start: w.start,
                end: w.end,
            }
        })
        .collect()
}

/// A small suffix-stripping stemmer for English (a subset of Porter's step 1): plural `-s`/`-es`/
/// `-ies`, `-ed`, `-ing`, with a doubled final consonant undone ("planned" → "plan"). Words of
/// three characters or fewer and non-ASCII words are returned unchanged. It only has to map the
/// inflections a light rewording produces onto one form, consistently; it is not a dictionary.
pub fn stem(w: &str) -> String {
    if w.len() <= 3 || !w.is_ascii() {
        return w.to_owned();
    }
    // Step 1a: plurals. Step 1b then runs on the result, so "gatherings" and "gathering" meet.
    let w = if let Some(b) = w.strip_suffix("ies") {
        format!("{b}y")
    } else if let Some(b) = w.strip_suffix("sses") {
        format!("{b}ss")
    } else if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        w.to_owned()
    } else if ["xes", "ches", "shes", "zes"]
        .iter()
        .any(|es| w.ends_with(es))
    {
        w[..w.len() - 2].to_owned()
    } else if let Some(b) = w.strip_suffix('s') {
        b.to_owned()
    } else {
        w.to_owned()
    };
    for suf in ["ing", "ed"] {
        if let Some(b) = w.strip_suffix(suf) {
            if b.len() >= 3 && b.bytes().any(|c| b"aeiouy".contains(&c)) {
                let bytes = b.as_bytes();
                let n = bytes.len();
                if bytes[n - 1] == bytes[n - 2] && !b"aeioulsz".contains(&bytes[n - 1]) {
                    return b[..n - 1].to_owned();
                }
                return b.to_owned();
            }
        }
    }
    w
}

/// Function words carry no information about a source; leaving them out of the n-grams makes the
/// check survive light rewording ("the source in the city" → "a source in that city").
pub const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "with", "by", "from", "is",
    "are", "was", "were", "be", "been", "that", "this", "these", "those", "it", "its", "as",
    "into", "has", "have", "had", "which", "will", "would", "there", "their", "who", "whom",
    "also", "about", "than", "then", "such",
];

/// A stop word under either key: `bу` with a Cyrillic `у` reads as "by" and is skipped like it,
/// so it cannot break up a gram of the words around it ("Planned seating bу the Road").
fn is_stopword(w: &Word) -> bool {
    STOPWORDS.contains(&w.norm.as_str()) || STOPWORDS.contains(&w.alt.as_str())
}

/// The content words (normalised, stop words removed) of a text.
pub fn content_words(text: &str) -> Vec<Word> {
    normalized_words(text)
        .into_iter()
        .filter(|w| !is_stopword(w))
        .collect()
}

/// The n-gram length of the gate: three content words are distinctive enough that an ordinary
/// sentence rarely repeats them by chance, short enough that rewording one clause leaves some.
pub const NGRAM: usize = 3;

/// The distinctive-gram length for a withheld text of `n` content words: [`NGRAM`], or the whole
/// text when it is shorter (a two-word code name is itself distinctive).
pub fn gram_len(n: usize) -> usize {
    n.min(NGRAM)
}

/// The gram of `ws` with each word under either key: every mix, not only all-spelling and
/// all-look-alike, because one copied phrase may spell one word in look-alikes of another script
/// and transliterate the next ("Ηοtelѕ AΘΉNA"). Words whose keys agree add no variant, so a gram
/// has one form in the ordinary case and at most 2^NGRAM.
fn grams_of(ws: &[Word]) -> impl Iterator<Item = String> {
    let mut out: Vec<String> = vec![String::new()];
    for (i, w) in ws.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        if w.norm == w.alt {
            for g in &mut out {
                g.push_str(sep);
                g.push_str(&w.norm);
            }
        } else {
            let mut next = Vec::with_capacity(out.len() * 2);
            for g in &out {
                next.push(format!("{g}{sep}{}", w.norm));
                next.push(format!("{g}{sep}{}", w.alt));
            }
            out = next;
        }
    }
    out.into_iter()
}

/// Where `seq` occurs in `tw` as consecutive words (each the same under either key).
fn find_seq(tw: &[Word], seq: &[Word]) -> Option<(usize, usize)> {
    if seq.is_empty() {
        return None;
    }
    tw.windows(seq.len())
        .find(|w| w.iter().zip(seq).all(|(a, b)| a.same(b)))
        .map(|w| (w[0].start, w[w.len() - 1].end))
}

/// One withheld, marked fact the gate watches for.
struct Withheld {
    rule: LeakRule,
    /// Rule reported for n-gram (not whole) matches of a portion.
    ngram_rule: Option<(usize, String)>,
    /// All normalised words, stop words included: the verbatim form.
    words: Vec<Word>,
    /// Content-word grams (under each key) that no releasable source contains.
    distinctive: Vec<String>,
}

/// The leak gate with its per-threat, per-audience tables built once.
/// A withheld fact to look for: the rule it breaks, its optional (line, mark) and its text.
type WithheldItem<'t> = (LeakRule, Option<(usize, String)>, &'t str);

pub(super) struct Gate {
    audience: String,
    restricted: Vec<(String, Vec<Word>)>,
    withheld: Vec<Withheld>,
}

impl Gate {
    pub(super) fn new(
        threat: &Threat,
        audience: &Audience,
        global_restricted: &[String],
        allowed_phrases: &[&str],
    ) -> Gate {
        let is_rel = |m: &PortionMark| releasable_to(m, audience, threat.originator).is_ok();
        let restricted = threat
            .restricted_terms
            .iter()
            .chain(global_restricted)
            .map(|t| (t.clone(), normalized_words(t)))
            .filter(|(_, ws)| !ws.is_empty())
            .collect();

        // Releasable sources: what the audience may be told anyway. A gram they contain is not
        // evidence of a leak, and neither is a withheld text they contain whole.
        let mut sources: Vec<&str> = Vec::new();
        let mut items: Vec<WithheldItem<'_>> = Vec::new();
        for p in &threat.portions {
            if is_rel(&p.mark) {
                sources.push(&p.text);
            } else {
                let mark = p.mark.to_string();
                items.push((
                    LeakRule::VerbatimPortion {
                        line: p.line,
                        mark: mark.clone(),
                    },
                    Some((p.line, mark)),
                    &p.text,
                ));
            }
        }
        for t in &threat.targets {
            let texts = std::iter::once(t.label.as_str()).chain(t.name.as_deref());
            if is_rel(&t.mark) {
                sources.extend(texts);
            } else {
                for x in texts {
                    items.push((
                        LeakRule::WithheldTarget {
                            label: t.label.clone(),
                            mark: t.mark.to_string(),
                        },
                        None,
                        x,
                    ));
                }
            }
        }
        if let Some(actor) = &threat.actor {
            if is_rel(&threat.actor_mark) {
                sources.push(actor);
            } else {
                items.push((
                    LeakRule::WithheldActor {
                        mark: threat.actor_mark.to_string(),
                    },
                    None,
                    actor,
                ));
            }
        }
        sources.extend(allowed_phrases.iter().copied());

        let mut allowed_grams: HashSet<String> = HashSet::new();
        let mut source_words: Vec<Vec<Word>> = Vec::new();
        for s in &sources {
            let cw = content_words(s);
            for k in 1..=NGRAM {
                for win in cw.windows(k) {
                    allowed_grams.extend(grams_of(win));
                }
            }
            source_words.push(normalized_words(s));
        }
        let withheld = items
            .into_iter()
            .filter_map(|(rule, ngram_rule, text)| {
                let words = normalized_words(text);
                if words.is_empty() {
                    return None;
                }
                if source_words.iter().any(|s| find_seq(s, &words).is_some()) {
                    // Released whole elsewhere in the report: nothing of it is secret from this audience.
                    return None;
                }
                let cw = content_words(text);
                let k = gram_len(cw.len());
                let mut distinctive: Vec<String> = Vec::new();
                if k > 0 {
                    for win in cw.windows(k) {
                        for g in grams_of(win) {
                            if !allowed_grams.contains(&g) && !distinctive.contains(&g) {
                                distinctive.push(g);
                            }
                        }
                    }
                }
                Some(Withheld {
                    rule,
                    ngram_rule,
                    words,
                    distinctive,
                })
            })
            .collect();
        Gate {
            audience: audience.id.to_string(),
            restricted,
            withheld,
        }
    }

    /// Check every field; the proof only when all pass.
    pub(super) fn pass(&self, fields: WarningFields) -> Result<Composed, LeakError> {
        self.check("text", &fields.text)?;
        self.check("headline", &fields.headline)?;
        for (i, m) in fields.measures.iter().enumerate() {
            self.check(&format!("measures[{i}]"), m)?;
        }
        for (i, l) in fields.targets.iter().enumerate() {
            self.check(&format!("targets[{i}]"), l)?;
        }
        self.check("banner", &fields.banner)?;
        for (i, t) in fields.translations.iter().enumerate() {
            self.check(&format!("translations[{i}].text"), &t.text)?;
            self.check(&format!("translations[{i}].headline"), &t.headline)?;
        }
        Ok(Composed { fields })
    }

    pub(super) fn has_restricted(&self, text: &str) -> bool {
        let tw = normalized_words(text);
        self.restricted
            .iter()
            .any(|(_, seq)| find_seq(&tw, seq).is_some())
    }

    pub(super) fn check(&self, field: &str, text: &str) -> Result<(), LeakError> {
        let block = |rule: LeakRule, start: usize, end: usize| LeakError {
            audience: self.audience.clone(),
            rule,
            field: field.to_owned(),
            start,
            end,
            excerpt: text.get(start..end).unwrap_or("").to_owned(),
        };
        let tw = normalized_words(text);
        for (term, seq) in &self.restricted {
            if let Some((s, e)) = find_seq(&tw, seq) {
                return Err(block(LeakRule::RestrictedTerm { term: term.clone() }, s, e));
            }
        }
        if self.withheld.is_empty() {
            return Ok(());
        }
        for w in &self.withheld {
            if let Some((s, e)) = find_seq(&tw, &w.words) {
                return Err(block(w.rule.clone(), s, e));
            }
        }
        // Every gram of the text (lengths 1..=NGRAM, under each key), with the span of its
        // first occurrence.
        let cw: Vec<Word> = tw.into_iter().filter(|w| !is_stopword(w)).collect();
        let mut grams: HashMap<String, (usize, usize)> = HashMap::new();
        for k in 1..=NGRAM {
            for win in cw.windows(k) {
                for g in grams_of(win) {
                    grams.entry(g).or_insert((win[0].start, win[k - 1].end));
                }
            }
        }
        for w in &self.withheld {
            let hits: Vec<(usize, usize)> = w
                .distinctive
                .iter()
                .filter_map(|g| grams.get(g).copied())
                .collect();
            if let Some(&(s, e)) = hits.first() {
                let rule = match &w.ngram_rule {
                    Some((line, mark)) => LeakRule::PortionNgrams {
                        line: *line,
                        mark: mark.clone(),
                        shared: hits.len(),
                    },
                    None => w.rule.clone(),
                };
                return Err(block(rule, s, e));
            }
        }
        Ok(())
    }
}

/// Block `text` if it contains
/// 1. a restricted term (per report or in `global_restricted`), as a normalised word sequence
///    ([`normalized_words`]: case, punctuation and inflection do not matter) — rule `restricted_term`;
/// 2. a withheld fact — a portion, target spec (label or name) or actor whose mark is not
///    releasable to `audience` — whole, as a normalised word sequence — rules `verbatim_portion`,
///    `withheld_target`, `withheld_actor`;
/// 3. any *distinctive* n-gram of a withheld fact: a sequence of [`NGRAM`] content words (stop
///    words left out; the whole text if shorter) that no releasable source contains — rules
///    `portion_ngrams`, `withheld_target`, `withheld_actor`.
///
/// Releasable sources are the releasable portions, target labels/names and actor, and the
/// `allowed` phrases ([`compose`] passes the audience's own site names, its name and contact). A withheld fact that a releasable source
/// contains whole is not secret from this audience and is skipped. Unmarked report fields
/// (measures) are *not* sources: they are checked like any composed text.
pub fn leak_gate(
    text: &str,
    threat: &Threat,
    audience: &Audience,
    global_restricted: &[String],
    allowed_phrases: &[&str],
) -> Result<(), LeakError> {
    Gate::new(threat, audience, global_restricted, allowed_phrases).check("text", text)
}
