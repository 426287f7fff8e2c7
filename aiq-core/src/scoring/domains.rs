//! Per-domain scores, the strongest and weakest domain, and per-model scores (spec §3.5).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::iq::normal_cdf;
use super::round_dp;
use crate::questions::{Difficulty, Domain};

/// One answered item, with what the scoring and analysis functions need to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredItem {
    /// The question's domain.
    pub domain: Domain,
    /// The question's intended difficulty.
    pub difficulty: Difficulty,
    /// Whether the answer matched.
    pub is_correct: bool,
    /// The time the client reported for the item (iOS never sends one).
    pub time_spent_seconds: Option<i32>,
    /// The model that generated the question, if recorded.
    pub source_model: Option<String>,
    /// The question's observed proportion correct (`questions.empirical_difficulty`), if known.
    pub empirical_difficulty: Option<f64>,
}

impl ScoredItem {
    /// An item with no time, no source model and no empirical difficulty.
    ///
    /// ```
    /// use aiq_core::questions::{Difficulty, Domain};
    /// use aiq_core::scoring::ScoredItem;
    /// let item = ScoredItem::new(Domain::Logic, Difficulty::Hard, true);
    /// assert_eq!(item.time_spent_seconds, None);
    /// ```
    pub fn new(domain: Domain, difficulty: Difficulty, is_correct: bool) -> Self {
        Self {
            domain,
            difficulty,
            is_correct,
            time_spent_seconds: None,
            source_model: None,
            empirical_difficulty: None,
        }
    }
}

/// One domain's entry of `domain_scores`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DomainScore {
    /// Correct answers in the domain.
    pub correct: i32,
    /// Answers in the domain.
    pub total: i32,
    /// `round(correct/total × 100, 1)`, `None` when `total` is 0.
    pub pct: Option<f64>,
    /// The population percentile. The outer `None` leaves the key out (no population statistics
    /// configured); `Some(None)` writes `"percentile": null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_percentile"
    )]
    pub percentile: Option<Option<f64>>,
}

/// A `percentile` key that is present (possibly `null`) deserialises to `Some(_)`.
fn present_percentile<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

/// The mean and standard deviation of a domain's accuracy (0–1) in the population, from
/// `system_config.domain_population_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PopulationStats {
    /// Mean accuracy, 0–1.
    pub mean_accuracy: f64,
    /// Standard deviation of the accuracy.
    pub sd_accuracy: f64,
}

/// `domain_scores` of a fixed-form result: all six domains, written as a JSON object whose keys
/// follow the domain order `pattern, logic, spatial, math, verbal, memory`.
///
/// Deserialising accepts the keys in any order; a missing domain reads as no answers, an
/// unknown or repeated key is an error.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DomainScores {
    scores: [DomainScore; 6],
}

/// Why a stored `domain_scores` object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainScoresError {
    /// A key that is not a domain.
    #[error("unknown domain `{0}`")]
    UnknownDomain(String),
    /// A domain written twice.
    #[error("domain `{0}` appears twice")]
    Duplicate(&'static str),
}

fn index(domain: Domain) -> usize {
    Domain::ALL
        .iter()
        .position(|d| *d == domain)
        .unwrap_or_default()
}

impl DomainScores {
    /// The entry of one domain.
    pub fn get(&self, domain: Domain) -> &DomainScore {
        &self.scores[index(domain)]
    }

    /// Every domain with its entry, in domain order.
    pub fn iter(&self) -> impl Iterator<Item = (Domain, &DomainScore)> {
        Domain::ALL.into_iter().zip(self.scores.iter())
    }

    /// Adds `percentile` to every entry (spec §3.5): `round(Φ((pct/100 − mean)/sd) × 100, 1)`,
    /// or `null` when the domain has no answers, has no statistics, or its `sd` is not positive.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use aiq_core::questions::{Difficulty, Domain};
    /// use aiq_core::scoring::{PopulationStats, ScoredItem, domain_scores};
    ///
    /// let mut scores = domain_scores(&[ScoredItem::new(Domain::Math, Difficulty::Easy, true)]);
    /// let stats = HashMap::from([(Domain::Math, PopulationStats { mean_accuracy: 0.85, sd_accuracy: 0.15 })]);
    /// scores.add_percentiles(&stats);
    /// assert_eq!(scores.get(Domain::Math).percentile, Some(Some(84.1)));
    /// assert_eq!(scores.get(Domain::Logic).percentile, Some(None));
    /// ```
    pub fn add_percentiles(&mut self, stats: &HashMap<Domain, PopulationStats>) {
        for (domain, score) in Domain::ALL.into_iter().zip(self.scores.iter_mut()) {
            let value = match (score.pct, stats.get(&domain)) {
                (Some(pct), Some(s)) if score.total > 0 && s.sd_accuracy > 0.0 => {
                    let z = (pct / 100.0 - s.mean_accuracy) / s.sd_accuracy;
                    Some(round_dp(normal_cdf(z) * 100.0, 1))
                }
                _ => None,
            };
            score.percentile = Some(value);
        }
    }
}

impl Serialize for DomainScores {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Domain::ALL.len()))?;
        for (domain, score) in self.iter() {
            map.serialize_entry(domain.as_str(), score)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for DomainScores {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScoresVisitor;

        impl<'de> Visitor<'de> for ScoresVisitor {
            type Value = DomainScores;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object keyed by domain")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut scores = DomainScores::default();
                let mut seen = [false; 6];
                while let Some(key) = map.next_key::<String>()? {
                    let domain = Domain::parse(&key)
                        .ok_or_else(|| de::Error::custom(DomainScoresError::UnknownDomain(key)))?;
                    let i = index(domain);
                    if std::mem::replace(&mut seen[i], true) {
                        return Err(de::Error::custom(DomainScoresError::Duplicate(
                            domain.as_str(),
                        )));
                    }
                    scores.scores[i] = map.next_value()?;
                }
                Ok(scores)
            }
        }

        deserializer.deserialize_map(ScoresVisitor)
    }
}

/// Percentage correct rounded to one decimal, as the API reports it.
fn pct(correct: i32, total: i32) -> f64 {
    round_dp(f64::from(correct) / f64::from(total) * 100.0, 1)
}

/// Counts the answers per domain (spec §3.5); every domain is present.
///
/// ```
/// use aiq_core::questions::{Difficulty, Domain};
/// use aiq_core::scoring::{ScoredItem, domain_scores};
///
/// let items = [
///     ScoredItem::new(Domain::Logic, Difficulty::Easy, true),
///     ScoredItem::new(Domain::Logic, Difficulty::Hard, false),
///     ScoredItem::new(Domain::Logic, Difficulty::Hard, false),
/// ];
/// let scores = domain_scores(&items);
/// assert_eq!(scores.get(Domain::Logic).pct, Some(33.3));
/// assert_eq!(scores.get(Domain::Math).pct, None);
/// let json = serde_json::to_string(&scores).unwrap();
/// assert!(json.starts_with(r#"{"pattern":{"correct":0,"total":0,"pct":null},"logic":"#));
/// ```
pub fn domain_scores(items: &[ScoredItem]) -> DomainScores {
    let mut scores = DomainScores::default();
    for item in items {
        let score = &mut scores.scores[index(item.domain)];
        score.total += 1;
        score.correct += i32::from(item.is_correct);
    }
    for score in &mut scores.scores {
        score.pct = (score.total > 0).then(|| pct(score.correct, score.total));
    }
    scores
}

/// The domains with the highest and lowest `pct`, skipping domains without one; ties go to the
/// first domain in domain order. `(None, None)` when no domain has a `pct`.
///
/// ```
/// use aiq_core::questions::{Difficulty, Domain};
/// use aiq_core::scoring::{ScoredItem, domain_scores, strongest_weakest};
///
/// let scores = domain_scores(&[
///     ScoredItem::new(Domain::Verbal, Difficulty::Easy, true),
///     ScoredItem::new(Domain::Math, Difficulty::Easy, false),
/// ]);
/// assert_eq!(strongest_weakest(&scores), (Some(Domain::Verbal), Some(Domain::Math)));
/// ```
pub fn strongest_weakest(scores: &DomainScores) -> (Option<Domain>, Option<Domain>) {
    let mut strongest: Option<(Domain, f64)> = None;
    let mut weakest: Option<(Domain, f64)> = None;
    for (domain, score) in scores.iter() {
        let Some(pct) = score.pct else { continue };
        if strongest.is_none_or(|(_, best)| pct > best) {
            strongest = Some((domain, pct));
        }
        if weakest.is_none_or(|(_, worst)| pct < worst) {
            weakest = Some((domain, pct));
        }
    }
    (strongest.map(|(d, _)| d), weakest.map(|(d, _)| d))
}

/// One generator model's entry of `model_scores`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// Correct answers to the model's questions.
    pub correct: i32,
    /// Answers to the model's questions (at least 1).
    pub total: i32,
    /// `round(correct/total × 100, 1)`.
    pub pct: f64,
}

/// Answers grouped by the question's `source_model` (answers without one are skipped), or `None`
/// when no answer has a model. Keys are sorted by name. Takes (model, correct) pairs so that
/// scored items and stored responses both fit:
///
/// ```
/// use aiq_core::scoring::model_scores;
///
/// assert_eq!(model_scores([(None, true)]), None);
/// let scores = model_scores([(Some("gpt"), true), (Some("gpt"), false)]).unwrap();
/// assert_eq!(scores["gpt"].pct, 50.0);
/// ```
pub fn model_scores<'a>(
    answers: impl IntoIterator<Item = (Option<&'a str>, bool)>,
) -> Option<BTreeMap<String, ModelScore>> {
    let mut counts: BTreeMap<String, (i32, i32)> = BTreeMap::new();
    for (model, is_correct) in answers {
        if let Some(model) = model {
            let (correct, total) = counts.entry(model.to_owned()).or_default();
            *total += 1;
            *correct += i32::from(is_correct);
        }
    }
    if counts.is_empty() {
        return None;
    }
    Some(
        counts
            .into_iter()
            .map(|(model, (correct, total))| {
                let score = ModelScore {
                    correct,
                    total,
                    pct: pct(correct, total),
                };
                (model, score)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_percentiles() {
        let mut scores = domain_scores(&[ScoredItem::new(Domain::Memory, Difficulty::Easy, true)]);
        let back: DomainScores =
            serde_json::from_str(&serde_json::to_string(&scores).unwrap()).unwrap();
        assert_eq!(back, scores);
        scores.add_percentiles(&HashMap::new());
        let text = serde_json::to_string(&scores).unwrap();
        assert!(text.contains(r#""pct":null,"percentile":null"#), "{text}");
        let back: DomainScores = serde_json::from_str(&text).unwrap();
        assert_eq!(back, scores);
    }

    #[test]
    fn rejects_unknown_and_repeated_keys() {
        let entry = r#"{"correct":0,"total":0,"pct":null}"#;
        let unknown = format!(r#"{{"music":{entry}}}"#);
        assert!(serde_json::from_str::<DomainScores>(&unknown).is_err());
        let twice = format!(r#"{{"math":{entry},"math":{entry}}}"#);
        assert!(serde_json::from_str::<DomainScores>(&twice).is_err());
        let partial = format!(r#"{{"math":{entry}}}"#);
        assert_eq!(
            serde_json::from_str::<DomainScores>(&partial).unwrap(),
            DomainScores::default()
        );
    }
}
