//! 2PL item calibration by marginal maximum likelihood (Bock–Aitkin EM), and the prior
//! parameters of items not yet calibrated.
//!
//! The calibration job (spec ops §8.4) hands over every response of completed fixed-form
//! sessions as sparse triples ([`ItemResponse`]); each person answers only some items. The
//! population is N(0, 1) on a quadrature grid, which also fixes the θ scale. Each EM iteration:
//!
//! - **E-step**: for each person, the posterior over the grid given the current parameters;
//!   the expected number of attempts `n_jq` and correct answers `r_jq` of each item at each
//!   node accumulate from it. The log-probabilities of every item at every node are computed
//!   once per iteration, so a person costs `answered items × nodes` additions.
//! - **M-step**: for each item, damped Newton–Raphson on the slope–intercept form
//!   `logit P = a·θ + c` (with `c = −a·b`), step halving whenever the expected log-likelihood
//!   would drop, then projection onto the bounds `a ∈ [0.2, 4]`, `b ∈ [−5, 5]`.
//!
//! Standard errors come from the inverse of the expected information of `(a, c)` at the final
//! expected counts, with the delta method for `b = −c/a`. Results that did not converge must not
//! be published: [`CalibrationReport::publishable`], [`CalibrationReport::into_publishable`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::irt::{ItemParams, log_sigmoid, sigmoid};
use crate::questions::Difficulty;

/// The calibration cron runs only with at least this many new responses (`MIN_NEW_RESPONSES`).
pub const MIN_NEW_RESPONSES: usize = 100;
/// Discrimination bounds of the M-step.
const A_BOUNDS: (f64, f64) = (0.2, 4.0);
/// Difficulty bounds of the M-step.
const B_BOUNDS: (f64, f64) = (-5.0, 5.0);

/// The 2PL parameters an item is served with before it has been calibrated: `a = 1` and
/// `b = −1, 0, 1` for easy, medium and hard items (the intended difficulty read as one SD of
/// ability below, at, or above the mean).
///
/// ```
/// use aiq_core::cat::prior_params;
/// use aiq_core::questions::Difficulty;
/// assert_eq!(prior_params(Difficulty::Hard).b, 1.0);
/// assert_eq!(prior_params(Difficulty::Easy).a, 1.0);
/// ```
pub fn prior_params(difficulty: Difficulty) -> ItemParams {
    let b = match difficulty {
        Difficulty::Easy => -1.0,
        Difficulty::Medium => 0.0,
        Difficulty::Hard => 1.0,
    };
    ItemParams { a: 1.0, b }
}

/// One answer: who answered which item, and whether correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResponse {
    /// The person (or session) id.
    pub person: i64,
    /// The item id.
    pub item: i64,
    /// Whether the answer was correct.
    pub correct: bool,
}

/// Settings of a calibration run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationOptions {
    /// Items with fewer responses are skipped.
    pub min_responses: usize,
    /// EM iterations before giving up (the report is then not publishable).
    pub max_iterations: usize,
    /// Converged once no parameter moved more than this in an iteration.
    pub tolerance: f64,
    /// Quadrature nodes on [−4, 4] for the N(0, 1) population.
    pub quadrature_points: usize,
}

impl Default for CalibrationOptions {
    /// 30 responses, 500 iterations, tolerance 1e-4, 41 nodes.
    fn default() -> Self {
        Self {
            min_responses: 30,
            max_iterations: 500,
            tolerance: 1e-4,
            quadrature_points: 41,
        }
    }
}

/// Why an item got no parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// Fewer than `min_responses` responses.
    TooFewResponses {
        /// Responses it has.
        n: usize,
        /// Responses required.
        min: usize,
    },
    /// Everyone answered it correctly, or everyone wrongly: its difficulty is not identified.
    NoVariance {
        /// Responses it has.
        n: usize,
        /// Correct responses among them.
        correct: usize,
    },
}

/// An item's estimated parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibratedItem {
    /// The item id.
    pub id: i64,
    /// Discrimination.
    pub a: f64,
    /// Difficulty.
    pub b: f64,
    /// Standard error of `a` (NaN when the information matrix is singular).
    pub se_a: f64,
    /// Standard error of `b` (NaN when the information matrix is singular).
    pub se_b: f64,
    /// Responses used.
    pub n: usize,
}

impl CalibratedItem {
    /// The estimate as [`ItemParams`].
    pub fn params(&self) -> ItemParams {
        ItemParams {
            a: self.a,
            b: self.b,
        }
    }
}

/// What a calibration run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// The calibrated items, by id.
    pub items: Vec<CalibratedItem>,
    /// The items left out, by id, with the reason.
    pub skipped: Vec<(i64, SkipReason)>,
    /// EM iterations run.
    pub iterations: usize,
    /// Whether the largest parameter change fell below the tolerance.
    pub converged: bool,
    /// The largest parameter change of the last iteration.
    pub max_change: f64,
}

/// Why a calibration produced nothing to publish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// The options cannot work (no iterations, a tolerance that is not positive, too few nodes).
    #[error("invalid calibration options: {0}")]
    InvalidOptions(&'static str),
    /// No item had enough responses with some variance.
    #[error("no item can be calibrated ({skipped} skipped)")]
    NoCalibratableItems {
        /// Items skipped.
        skipped: usize,
    },
    /// EM stopped before converging; such parameters must not be published.
    #[error("calibration did not converge in {iterations} iterations (last change {max_change})")]
    NotConverged {
        /// Iterations run.
        iterations: usize,
        /// The last largest change.
        max_change: f64,
    },
}

impl CalibrationReport {
    /// Whether the parameters may be written to the item bank: EM converged and at least one
    /// item was calibrated.
    pub fn publishable(&self) -> bool {
        self.converged && !self.items.is_empty()
    }

    /// The report if [`publishable`](Self::publishable), else [`CalibrationError::NotConverged`].
    pub fn into_publishable(self) -> Result<Self, CalibrationError> {
        if self.publishable() {
            Ok(self)
        } else {
            Err(CalibrationError::NotConverged {
                iterations: self.iterations,
                max_change: self.max_change,
            })
        }
    }

    /// The mean `b` of the calibrated items (`mean_difficulty` of the run record); NaN if none.
    pub fn mean_difficulty(&self) -> f64 {
        self.items.iter().map(|i| i.b).sum::<f64>() / self.items.len() as f64
    }

    /// The mean `a` of the calibrated items (`mean_discrimination`); NaN if none.
    pub fn mean_discrimination(&self) -> f64 {
        self.items.iter().map(|i| i.a).sum::<f64>() / self.items.len() as f64
    }
}

/// Responses gathered for a calibration, 4 bytes per answer: the job reads the store page by
/// page into one of these instead of holding [`ItemResponse`] triples (24 bytes each) or rows.
///
/// Answers are pushed grouped by person (consecutive answers of one person form their row);
/// each (person, item) pair should come once, as the store's unique responses do.
///
/// ```
/// use aiq_core::cat::{CalibrationData, ItemResponse};
/// let mut data = CalibrationData::default();
/// data.push(ItemResponse { person: 7, item: 100, correct: true });
/// data.push(ItemResponse { person: 7, item: 101, correct: false });
/// data.push(ItemResponse { person: 3, item: 100, correct: false });
/// assert_eq!((data.people(), data.responses()), (2, 3));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CalibrationData {
    /// Item ids by dense index.
    items: Vec<i64>,
    /// Dense index by item id.
    index: std::collections::HashMap<i64, u32>,
    /// Person `p`'s answers are `answers[starts[p]..starts[p + 1]]` (the last row ends at the end).
    starts: Vec<u32>,
    /// `dense item index << 1 | correct`.
    answers: Vec<u32>,
    last_person: Option<i64>,
}

impl CalibrationData {
    /// Adds an answer; a person other than the previous answer's starts a new row.
    pub fn push(&mut self, response: ItemResponse) {
        if self.last_person != Some(response.person) {
            self.last_person = Some(response.person);
            self.starts
                .push(u32::try_from(self.answers.len()).unwrap_or(u32::MAX));
        }
        let next = u32::try_from(self.items.len()).unwrap_or(u32::MAX);
        let dense = *self.index.entry(response.item).or_insert_with(|| {
            self.items.push(response.item);
            next
        });
        self.answers.push(dense << 1 | u32::from(response.correct));
    }

    /// Answers held.
    pub fn responses(&self) -> usize {
        self.answers.len()
    }

    /// People (rows) held.
    pub fn people(&self) -> usize {
        self.starts.len()
    }

    /// Each person's answers as (dense item index, correct).
    fn rows(&self) -> impl Iterator<Item = impl Iterator<Item = (usize, bool)> + '_> + '_ {
        let ends = self
            .starts
            .iter()
            .skip(1)
            .map(|&end| end as usize)
            .chain(std::iter::once(self.answers.len()));
        self.starts.iter().zip(ends).map(move |(&start, end)| {
            self.answers[start as usize..end]
                .iter()
                .map(|&packed| ((packed >> 1) as usize, packed & 1 == 1))
        })
    }
}

/// Sparse responses in compressed rows: person `p` answered `answers[starts[p]..starts[p + 1]]`.
struct Design {
    starts: Vec<usize>,
    answers: Vec<(usize, bool)>,
}

/// Calibrates the 2PL model on `responses` by marginal maximum likelihood (see the module
/// documentation). A repeated (person, item) pair keeps its last answer.
///
/// Returns a report even when EM did not converge (check [`CalibrationReport::publishable`]);
/// errors are for options that cannot work and data with nothing to calibrate.
///
/// ```
/// use aiq_core::cat::{CalibrationOptions, ItemParams, ItemResponse, calibrate};
///
/// use rand::{RngExt, SeedableRng};
///
/// // Three items of increasing difficulty, answered by 600 people spread over θ.
/// let items = [-1.0, 0.0, 1.0].map(|b| ItemParams { a: 1.0, b });
/// let mut rng = rand::rngs::StdRng::seed_from_u64(5);
/// let mut responses = Vec::new();
/// for person in 0..600 {
///     let theta = -3.0 + 6.0 * (person as f64 + 0.5) / 600.0;
///     for (id, item) in items.iter().enumerate() {
///         let correct = rng.random::<f64>() < item.probability(theta);
///         responses.push(ItemResponse { person, item: id as i64, correct });
///     }
/// }
/// let report = calibrate(&responses, &CalibrationOptions::default()).unwrap();
/// assert!(report.publishable());
/// let b: Vec<f64> = report.items.iter().map(|i| i.b).collect();
/// assert!(b[0] < b[1] && b[1] < b[2]);
/// ```
pub fn calibrate(
    responses: &[ItemResponse],
    options: &CalibrationOptions,
) -> Result<CalibrationReport, CalibrationError> {
    let mut answers: BTreeMap<(i64, i64), bool> = BTreeMap::new();
    for r in responses {
        answers.insert((r.person, r.item), r.correct);
    }
    let mut data = CalibrationData::default();
    for (&(person, item), &correct) in &answers {
        data.push(ItemResponse {
            person,
            item,
            correct,
        });
    }
    drop(answers);
    calibrate_data(&data, options)
}

/// [`calibrate`] on responses already gathered in a [`CalibrationData`] (what the calibration
/// job does, to keep its memory to 4 bytes per answer).
///
/// ```
/// use aiq_core::cat::{CalibrationData, CalibrationOptions, ItemResponse, calibrate_data};
/// let data = CalibrationData::default();
/// assert!(calibrate_data(&data, &CalibrationOptions::default()).is_err());
/// ```
pub fn calibrate_data(
    data: &CalibrationData,
    options: &CalibrationOptions,
) -> Result<CalibrationReport, CalibrationError> {
    validate(options)?;
    let mut per_dense: Vec<(usize, usize)> = vec![(0, 0); data.items.len()];
    for &packed in &data.answers {
        let entry = &mut per_dense[(packed >> 1) as usize];
        entry.0 += 1;
        entry.1 += (packed & 1) as usize;
    }
    let per_item: BTreeMap<i64, (usize, usize)> = data
        .items
        .iter()
        .copied()
        .zip(per_dense.iter().copied())
        .collect();
    let mut kept: Vec<(i64, usize, usize)> = Vec::new();
    let mut skipped = Vec::new();
    for (&id, &(n, correct)) in &per_item {
        if n < options.min_responses {
            skipped.push((
                id,
                SkipReason::TooFewResponses {
                    n,
                    min: options.min_responses,
                },
            ));
        } else if correct == 0 || correct == n {
            skipped.push((id, SkipReason::NoVariance { n, correct }));
        } else {
            kept.push((id, n, correct));
        }
    }
    if kept.is_empty() {
        return Err(CalibrationError::NoCalibratableItems {
            skipped: skipped.len(),
        });
    }
    // Dense item index -> position among the kept items (in id order).
    let position: BTreeMap<i64, usize> = kept.iter().enumerate().map(|(j, k)| (k.0, j)).collect();
    let kept_of_dense: Vec<Option<usize>> = data
        .items
        .iter()
        .map(|id| position.get(id).copied())
        .collect();
    let mut design = Design {
        starts: Vec::with_capacity(data.people() + 1),
        answers: Vec::with_capacity(data.responses()),
    };
    for row in data.rows() {
        let start = design.answers.len();
        design
            .answers
            .extend(row.filter_map(|(dense, correct)| kept_of_dense[dense].map(|j| (j, correct))));
        // A person who answered none of the kept items is left out.
        if design.answers.len() > start {
            design.starts.push(start);
        }
    }
    design.starts.push(design.answers.len());

    let q = options.quadrature_points;
    let nodes: Vec<f64> = (0..q)
        .map(|i| -4.0 + 8.0 * i as f64 / (q - 1) as f64)
        .collect();
    let log_weights: Vec<f64> = {
        let raw: Vec<f64> = nodes.iter().map(|x| -0.5 * x * x).collect();
        let total: f64 = raw.iter().map(|l| l.exp()).sum();
        raw.iter().map(|l| l - total.ln()).collect()
    };

    // Slope–intercept parameters, started at a = 1 and the intercept matching the p-value.
    let mut params: Vec<(f64, f64)> = kept
        .iter()
        .map(|&(_, n, correct)| {
            let p = (correct as f64 + 0.5) / (n as f64 + 1.0);
            let b = (-1.2 * (p / (1.0 - p)).ln()).clamp(B_BOUNDS.0, B_BOUNDS.1);
            (1.0, -b)
        })
        .collect();

    let j_count = kept.len();
    let mut expected_n = vec![0.0; j_count * q];
    let mut expected_r = vec![0.0; j_count * q];
    let mut iterations = 0;
    let mut max_change = f64::INFINITY;
    let mut converged = false;
    while iterations < options.max_iterations {
        iterations += 1;
        e_step(
            &design,
            &params,
            &nodes,
            &log_weights,
            &mut expected_n,
            &mut expected_r,
        );
        max_change = 0.0_f64;
        for (j, p) in params.iter_mut().enumerate() {
            let range = j * q..(j + 1) * q;
            let new = m_step(*p, &nodes, &expected_n[range.clone()], &expected_r[range]);
            let change = (new.0 - p.0).abs().max((-new.1 / new.0 + p.1 / p.0).abs());
            max_change = max_change.max(change);
            *p = new;
        }
        if max_change < options.tolerance {
            converged = true;
            break;
        }
    }
    // Expected counts at the final parameters, for the standard errors.
    e_step(
        &design,
        &params,
        &nodes,
        &log_weights,
        &mut expected_n,
        &mut expected_r,
    );

    let items = kept
        .iter()
        .zip(&params)
        .enumerate()
        .map(|(j, (&(id, n, _), &(a, c)))| {
            let (se_a, se_b) = standard_errors(a, c, &nodes, &expected_n[j * q..(j + 1) * q]);
            CalibratedItem {
                id,
                a,
                b: -c / a,
                se_a,
                se_b,
                n,
            }
        })
        .collect();
    Ok(CalibrationReport {
        items,
        skipped,
        iterations,
        converged,
        max_change,
    })
}

/// Options that cannot work are refused before any data is looked at.
fn validate(options: &CalibrationOptions) -> Result<(), CalibrationError> {
    if options.max_iterations == 0 {
        return Err(CalibrationError::InvalidOptions(
            "max_iterations must be positive",
        ));
    }
    if options.tolerance.is_nan() || options.tolerance <= 0.0 {
        return Err(CalibrationError::InvalidOptions(
            "tolerance must be positive",
        ));
    }
    if options.quadrature_points < 5 {
        return Err(CalibrationError::InvalidOptions(
            "at least 5 quadrature points",
        ));
    }
    Ok(())
}

/// Fills the expected attempts and correct answers per item and node.
fn e_step(
    design: &Design,
    params: &[(f64, f64)],
    nodes: &[f64],
    log_weights: &[f64],
    expected_n: &mut [f64],
    expected_r: &mut [f64],
) {
    let q = nodes.len();
    let mut log_right = vec![0.0; params.len() * q];
    let mut log_wrong = vec![0.0; params.len() * q];
    for (j, &(a, c)) in params.iter().enumerate() {
        for (k, &x) in nodes.iter().enumerate() {
            let z = a * x + c;
            log_right[j * q + k] = log_sigmoid(z);
            log_wrong[j * q + k] = log_sigmoid(-z);
        }
    }
    expected_n.fill(0.0);
    expected_r.fill(0.0);
    let mut post = vec![0.0; q];
    for w in design.starts.windows(2) {
        let answers = &design.answers[w[0]..w[1]];
        post.copy_from_slice(log_weights);
        for &(j, correct) in answers {
            let table = if correct { &log_right } else { &log_wrong };
            for (p, l) in post.iter_mut().zip(&table[j * q..(j + 1) * q]) {
                *p += l;
            }
        }
        let max = post.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for p in post.iter_mut() {
            *p = (*p - max).exp();
            total += *p;
        }
        for p in post.iter_mut() {
            *p /= total;
        }
        for &(j, correct) in answers {
            let range = j * q..(j + 1) * q;
            for (n, p) in expected_n[range.clone()].iter_mut().zip(&post) {
                *n += p;
            }
            if correct {
                for (r, p) in expected_r[range].iter_mut().zip(&post) {
                    *r += p;
                }
            }
        }
    }
}

/// The expected complete-data log-likelihood of one item at `(a, c)`.
fn item_log_likelihood(a: f64, c: f64, nodes: &[f64], n: &[f64], r: &[f64]) -> f64 {
    nodes
        .iter()
        .zip(n.iter().zip(r))
        .map(|(&x, (&n, &r))| {
            let z = a * x + c;
            r * log_sigmoid(z) + (n - r) * log_sigmoid(-z)
        })
        .sum()
}

/// Gradient and information matrix `[[Iaa, Iac], [Iac, Icc]]` of one item at `(a, c)`.
fn gradient_information(
    a: f64,
    c: f64,
    nodes: &[f64],
    n: &[f64],
    r: &[f64],
) -> ([f64; 2], [f64; 3]) {
    let (mut ga, mut gc, mut iaa, mut iac, mut icc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&x, (&n, &r)) in nodes.iter().zip(n.iter().zip(r)) {
        let p = sigmoid(a * x + c);
        let resid = r - n * p;
        ga += resid * x;
        gc += resid;
        let w = n * p * (1.0 - p);
        iaa += w * x * x;
        iac += w * x;
        icc += w;
    }
    ([ga, gc], [iaa, iac, icc])
}

/// Projects `(a, c)` onto the bounds on `a` and `b = −c/a`.
fn project(a: f64, c: f64) -> (f64, f64) {
    let a = if a.is_finite() {
        a.clamp(A_BOUNDS.0, A_BOUNDS.1)
    } else {
        1.0
    };
    let b = if c.is_finite() {
        (-c / a).clamp(B_BOUNDS.0, B_BOUNDS.1)
    } else {
        0.0
    };
    (a, -a * b)
}

/// Damped Newton–Raphson for one item's `(a, c)` on its expected counts.
fn m_step(start: (f64, f64), nodes: &[f64], n: &[f64], r: &[f64]) -> (f64, f64) {
    let (mut a, mut c) = start;
    let mut ll = item_log_likelihood(a, c, nodes, n, r);
    for _ in 0..25 {
        let ([ga, gc], [iaa, iac, icc]) = gradient_information(a, c, nodes, n, r);
        let det = iaa * icc - iac * iac;
        if !(det.is_finite() && det > 1e-12) {
            break;
        }
        let mut da = (icc * ga - iac * gc) / det;
        let mut dc = (iaa * gc - iac * ga) / det;
        let norm = da.hypot(dc);
        if norm > 1.0 {
            da /= norm;
            dc /= norm;
        }
        let mut accepted = false;
        for _ in 0..20 {
            let (na, nc) = project(a + da, c + dc);
            let nll = item_log_likelihood(na, nc, nodes, n, r);
            if nll >= ll - 1e-12 {
                a = na;
                c = nc;
                ll = nll;
                accepted = true;
                break;
            }
            da *= 0.5;
            dc *= 0.5;
        }
        if !accepted || da.hypot(dc) < 1e-9 {
            break;
        }
    }
    (a, c)
}

/// Standard errors of `a` and `b = −c/a` from the inverse expected information.
fn standard_errors(a: f64, c: f64, nodes: &[f64], n: &[f64]) -> (f64, f64) {
    let zeros = vec![0.0; n.len()];
    let (_, [iaa, iac, icc]) = gradient_information(a, c, nodes, n, &zeros);
    let det = iaa * icc - iac * iac;
    if !(det.is_finite() && det > 0.0) {
        return (f64::NAN, f64::NAN);
    }
    let (vaa, vac, vcc) = (icc / det, -iac / det, iaa / det);
    // b = −c/a: ∂b/∂a = c/a², ∂b/∂c = −1/a.
    let (da, dc) = (c / (a * a), -1.0 / a);
    let vb = da * da * vaa + dc * dc * vcc + 2.0 * da * dc * vac;
    (vaa.sqrt(), vb.max(0.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_and_empty_data_are_errors() {
        let options = CalibrationOptions {
            max_iterations: 0,
            ..CalibrationOptions::default()
        };
        assert!(matches!(
            calibrate(&[], &options),
            Err(CalibrationError::InvalidOptions(_))
        ));
        let nan = CalibrationOptions {
            tolerance: f64::NAN,
            ..CalibrationOptions::default()
        };
        assert!(calibrate(&[], &nan).is_err());
        assert_eq!(
            calibrate(&[], &CalibrationOptions::default()),
            Err(CalibrationError::NoCalibratableItems { skipped: 0 })
        );
    }

    #[test]
    fn items_are_skipped_with_their_reason() {
        let mut responses = Vec::new();
        for person in 0..40 {
            responses.push(ItemResponse {
                person,
                item: 1,
                correct: person % 3 == 0,
            });
            responses.push(ItemResponse {
                person,
                item: 2,
                correct: true,
            });
            if person < 5 {
                responses.push(ItemResponse {
                    person,
                    item: 3,
                    correct: person % 2 == 0,
                });
            }
        }
        let report = calibrate(&responses, &CalibrationOptions::default()).unwrap();
        assert_eq!(report.items.len(), 1);
        assert_eq!(report.items[0].id, 1);
        assert_eq!(
            report.skipped,
            vec![
                (2, SkipReason::NoVariance { n: 40, correct: 40 }),
                (3, SkipReason::TooFewResponses { n: 5, min: 30 }),
            ]
        );
    }

    #[test]
    fn projection_keeps_parameters_in_bounds() {
        let (a, c) = project(10.0, 100.0);
        assert_eq!(a, 4.0);
        assert_eq!(-c / a, -5.0);
        assert_eq!(project(f64::NAN, f64::NAN), (1.0, 0.0));
    }
}
