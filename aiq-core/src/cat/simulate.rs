//! The simulation study behind the adaptive design (`docs/adaptive-testing.md`): the fixed
//! 25-item form against the adaptive test on one simulated population, and the recovery of known
//! item parameters by [`calibrate`].

use std::collections::{HashMap, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::calibration::{CalibrationOptions, ItemResponse, calibrate};
use super::eap::{Prior, eap};
use super::irt::ItemParams;
use super::select::{PoolItem, select_next_item};
use super::session::{AdministeredItem, CatSession, Response, StepOutcome};
use super::stopping::{MAX_ITEMS, StopReason};
use crate::questions::{Difficulty, Domain};
use crate::scoring::ctt_iq;
use crate::selection::{Candidate, DOMAIN_WEIGHTS, allocate, compose};

/// A standard normal draw (Box–Muller; one of the pair is used).
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let draws: Vec<f64> = (0..10_000).map(|_| aiq_core::cat::standard_normal(&mut rng)).collect();
/// let mean = draws.iter().sum::<f64>() / 1e4;
/// assert!(mean.abs() < 0.05);
/// ```
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 − U lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A lognormal(0, 0.3) discrimination clipped to [0.5, 2.5].
fn draw_a<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (0.3 * standard_normal(rng)).exp().clamp(0.5, 2.5)
}

/// A simulated item pool of `size` items: `a ~ lognormal(0, 0.3)` clipped to [0.5, 2.5],
/// `b ~ N(0, 1)`; domains in the proportions of the fixed form's domain weights; difficulty
/// labels by `b` tercile (lowest third easy, highest third hard). Ids are `0..size`.
///
/// ```
/// use rand::SeedableRng;
/// let pool = aiq_core::cat::simulated_pool(300, &mut rand::rngs::StdRng::seed_from_u64(1));
/// assert_eq!(pool.len(), 300);
/// ```
pub fn simulated_pool<R: Rng + ?Sized>(size: usize, rng: &mut R) -> Vec<PoolItem> {
    let domains: Vec<Domain> = allocate(size, &DOMAIN_WEIGHTS)
        .into_iter()
        .flat_map(|(d, n)| std::iter::repeat_n(d, n))
        .collect();
    let params: Vec<ItemParams> = (0..size)
        .map(|_| {
            let a = draw_a(rng);
            ItemParams {
                a,
                b: standard_normal(rng),
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..size).collect();
    order.sort_by(|&x, &y| params[x].b.total_cmp(&params[y].b));
    let mut difficulty = vec![Difficulty::Medium; size];
    for (rank, &i) in order.iter().enumerate() {
        difficulty[i] = Difficulty::ALL[(rank * 3 / size.max(1)).min(2)];
    }
    (0..size)
        .map(|i| PoolItem {
            id: i as i64,
            domain: domains[i],
            difficulty: difficulty[i],
            params: params[i],
        })
        .collect()
}

/// The settings of [`run_study`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Simulated examinees, θ ~ N(0, 1).
    pub examinees: usize,
    /// Items in the simulated pool.
    pub pool_size: usize,
    /// Length of the fixed form.
    pub fixed_length: usize,
    /// The seed of everything random.
    pub seed: u64,
}

impl Default for StudyConfig {
    /// 2,000 examinees, a pool of 300, the 25-item form, seed 20_240_601.
    fn default() -> Self {
        Self {
            examinees: 2000,
            pool_size: 300,
            fixed_length: 25,
            seed: 20_240_601,
        }
    }
}

/// Accuracy of one design's θ estimates against the true θ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DesignSummary {
    /// Mean of `θ̂ − θ`.
    pub bias: f64,
    /// Root mean square of `θ̂ − θ`.
    pub rmse: f64,
    /// Mean number of items given.
    pub mean_length: f64,
    /// Mean reported standard error (NaN for the classical score, which reports none).
    pub mean_se: f64,
}

/// The figures of [`run_study`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// The settings used.
    pub config: StudyConfig,
    /// The fixed form (composed by [`compose`] for every examinee, scored by EAP).
    pub fixed: DesignSummary,
    /// The fixed form scored by the classical IQ, read back as `θ = (iq − 100)/15`.
    pub fixed_ctt: DesignSummary,
    /// The adaptive test as the engine runs it ([`CatSession`], all stopping rules).
    pub adaptive: DesignSummary,
    /// How often each stopping rule ended the adaptive test.
    pub stop_reasons: Vec<(StopReason, usize)>,
    /// The largest share of examinees any one item was shown to (adaptive test).
    pub max_exposure: f64,
    /// The mean exposure rate over the whole pool (mean length / pool size).
    pub mean_exposure: f64,
    /// Pool items the adaptive test never used.
    pub unused_items: usize,
    /// RMSE of θ after 1, 2, …, 15 items of an adaptive test run to 15 items without early
    /// stopping (index `k` is after `k + 1` items).
    pub rmse_by_length: Vec<f64>,
    /// Bias after 1..15 items, as [`rmse_by_length`](Self::rmse_by_length).
    pub bias_by_length: Vec<f64>,
}

fn summary(errors: &[f64], lengths: &[usize], ses: &[f64]) -> DesignSummary {
    let n = errors.len().max(1) as f64;
    DesignSummary {
        bias: errors.iter().sum::<f64>() / n,
        rmse: (errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt(),
        mean_length: lengths.iter().sum::<usize>() as f64 / n,
        mean_se: ses.iter().sum::<f64>() / n,
    }
}

/// Runs the comparison of the fixed form and the adaptive test on one simulated population
/// (see `docs/adaptive-testing.md` for the method). Deterministic for a given config.
///
/// ```
/// use aiq_core::cat::{StudyConfig, run_study};
/// let report = run_study(&StudyConfig { examinees: 50, ..StudyConfig::default() });
/// assert_eq!(report.rmse_by_length.len(), 15);
/// assert!(report.adaptive.mean_length >= 8.0 && report.adaptive.mean_length <= 15.0);
/// ```
pub fn run_study(config: &StudyConfig) -> StudyReport {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let pool = simulated_pool(config.pool_size, &mut rng);
    let thetas: Vec<f64> = (0..config.examinees)
        .map(|_| standard_normal(&mut rng))
        .collect();
    let by_id: HashMap<i64, &PoolItem> = pool.iter().map(|i| (i.id, i)).collect();
    let none = HashSet::new();

    // (i) The fixed form: composed per examinee like a real test, answers simulated, scored.
    let candidates: Vec<Candidate> = pool
        .iter()
        .map(|i| Candidate {
            id: i.id,
            domain: i.domain,
            difficulty: i.difficulty,
            discrimination: None,
            is_anchor: false,
        })
        .collect();
    let mut fixed_rng = StdRng::seed_from_u64(config.seed.wrapping_add(1));
    let (mut fixed_err, mut ctt_err, mut fixed_len, mut fixed_se) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &theta in &thetas {
        let form = compose(&candidates, config.fixed_length, false, &mut fixed_rng);
        let answers: Vec<(ItemParams, bool)> = form
            .question_ids
            .iter()
            .filter_map(|id| by_id.get(id))
            .map(|i| {
                (
                    i.params,
                    fixed_rng.random::<f64>() < i.params.probability(theta),
                )
            })
            .collect();
        let estimate = eap(&answers, Prior::default());
        fixed_err.push(estimate.theta - theta);
        fixed_se.push(estimate.se);
        fixed_len.push(answers.len());
        let correct = answers.iter().filter(|(_, c)| *c).count();
        ctt_err.push(f64::from(ctt_iq(correct, answers.len()) - 100) / 15.0 - theta);
    }

    // (ii) The adaptive test through the engine itself.
    let mut cat_rng = StdRng::seed_from_u64(config.seed.wrapping_add(2));
    let (mut cat_err, mut cat_len, mut cat_se) = (Vec::new(), Vec::new(), Vec::new());
    let mut exposure: HashMap<i64, usize> = HashMap::new();
    let mut reasons: HashMap<StopReason, usize> = HashMap::new();
    for &theta in &thetas {
        let Ok((mut session, mut item)) = CatSession::start(0.0, &pool, &none, &mut cat_rng) else {
            break;
        };
        let result = loop {
            *exposure.entry(item.id).or_default() += 1;
            let correct = cat_rng.random::<f64>() < item.params.probability(theta);
            let response = Response {
                item_id: item.id,
                correct,
            };
            match session.step(response, &pool, &none, &mut cat_rng) {
                Ok(StepOutcome::NextItem(next)) => item = next,
                Ok(StepOutcome::Finished(result)) => break Some(result),
                Err(_) => break None,
            }
        };
        if let Some(result) = result {
            cat_err.push(result.theta - theta);
            cat_len.push(result.total_questions);
            cat_se.push(result.theta_se);
            *reasons.entry(result.stopping_reason).or_default() += 1;
        }
    }

    // (iii) The adaptive selection run to 15 items, recording θ̂ after every item.
    let mut full_rng = StdRng::seed_from_u64(config.seed.wrapping_add(3));
    let mut sq = [0.0; MAX_ITEMS];
    let mut sum = [0.0; MAX_ITEMS];
    for &theta in &thetas {
        let mut given: Vec<AdministeredItem> = Vec::new();
        let mut answers = Vec::new();
        let mut estimate = eap(&[], Prior::default());
        for k in 0..MAX_ITEMS {
            let Some(item) = select_next_item(&pool, estimate.theta, &given, &none, &mut full_rng)
            else {
                break;
            };
            let correct = full_rng.random::<f64>() < item.params.probability(theta);
            given.push(AdministeredItem {
                id: item.id,
                domain: item.domain,
                difficulty: item.difficulty,
                params: item.params,
                correct,
            });
            answers.push((item.params, correct));
            estimate = eap(&answers, Prior::default());
            let e = estimate.theta - theta;
            sq[k] += e * e;
            sum[k] += e;
        }
    }
    let n = thetas.len().max(1) as f64;
    let examinees = cat_len.len().max(1) as f64;
    let adaptive = summary(&cat_err, &cat_len, &cat_se);
    let mut stop_reasons: Vec<(StopReason, usize)> = reasons.into_iter().collect();
    stop_reasons.sort_by_key(|(r, _)| r.as_str());
    StudyReport {
        config: *config,
        fixed: summary(&fixed_err, &fixed_len, &fixed_se),
        fixed_ctt: DesignSummary {
            mean_se: f64::NAN,
            ..summary(&ctt_err, &fixed_len, &[])
        },
        adaptive,
        stop_reasons,
        max_exposure: exposure.values().copied().max().unwrap_or(0) as f64 / examinees,
        mean_exposure: adaptive.mean_length / config.pool_size.max(1) as f64,
        unused_items: config.pool_size - exposure.len().min(config.pool_size),
        rmse_by_length: sq.iter().map(|s| (s / n).sqrt()).collect(),
        bias_by_length: sum.iter().map(|s| s / n).collect(),
    }
}

/// The settings of [`run_recovery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryConfig {
    /// Simulated examinees, θ ~ N(0, 1).
    pub examinees: usize,
    /// Items with known parameters (`a ~ lognormal(0, 0.3)` clipped to [0.5, 2.5],
    /// `b ~ N(0, 1)`).
    pub items: usize,
    /// Items each examinee answers, drawn at random (equal to `items` for a complete design).
    pub items_per_person: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for RecoveryConfig {
    /// 2,000 examinees answering all of 40 items, seed 20_240_602.
    fn default() -> Self {
        Self {
            examinees: 2000,
            items: 40,
            items_per_person: 40,
            seed: 20_240_602,
        }
    }
}

/// The figures of [`run_recovery`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// The settings used.
    pub config: RecoveryConfig,
    /// Pearson correlation of true and estimated `b`.
    pub corr_b: f64,
    /// Pearson correlation of true and estimated `a`.
    pub corr_a: f64,
    /// RMSE of the estimated `b`.
    pub rmse_b: f64,
    /// RMSE of the estimated `a`.
    pub rmse_a: f64,
    /// Mean reported standard error of `b`.
    pub mean_se_b: f64,
    /// Mean reported standard error of `a`.
    pub mean_se_a: f64,
    /// EM iterations.
    pub iterations: usize,
    /// Whether EM converged.
    pub converged: bool,
    /// Items calibrated (all of them unless some were skipped).
    pub calibrated: usize,
}

/// Pearson's correlation of two equally long series; NaN when either has no variance.
///
/// ```
/// let r = aiq_core::cat::correlation(&[1.0, 2.0, 3.0], &[2.0, 4.0, 7.0]);
/// assert!(r > 0.98 && r < 1.0);
/// ```
pub fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n == 0 {
        return f64::NAN;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x[..n].iter().zip(&y[..n]) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Simulates responses from known parameters, calibrates them with the default
/// [`CalibrationOptions`] and compares. Deterministic for a given config.
///
/// ```
/// use aiq_core::cat::{RecoveryConfig, run_recovery};
/// let report = run_recovery(&RecoveryConfig { examinees: 300, items: 10, items_per_person: 10, seed: 1 });
/// assert!(report.corr_b > 0.9);
/// ```
pub fn run_recovery(config: &RecoveryConfig) -> RecoveryReport {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let truth: Vec<ItemParams> = (0..config.items)
        .map(|_| {
            let a = draw_a(&mut rng);
            ItemParams {
                a,
                b: standard_normal(&mut rng),
            }
        })
        .collect();
    let per_person = config.items_per_person.min(config.items);
    let mut responses = Vec::with_capacity(config.examinees * per_person);
    let mut order: Vec<usize> = (0..config.items).collect();
    for person in 0..config.examinees {
        let theta = standard_normal(&mut rng);
        // A partial Fisher–Yates shuffle picks this person's items.
        for k in 0..per_person {
            let swap = rng.random_range(k..config.items);
            order.swap(k, swap);
        }
        for &j in &order[..per_person] {
            responses.push(ItemResponse {
                person: person as i64,
                item: j as i64,
                correct: rng.random::<f64>() < truth[j].probability(theta),
            });
        }
    }
    let report = calibrate(&responses, &CalibrationOptions::default());
    let items = report.as_ref().map(|r| r.items.clone()).unwrap_or_default();
    let (mut tb, mut eb, mut ta, mut ea) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for item in &items {
        let t = truth[item.id as usize];
        tb.push(t.b);
        eb.push(item.b);
        ta.push(t.a);
        ea.push(item.a);
    }
    let rmse = |x: &[f64], y: &[f64]| {
        (x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / x.len().max(1) as f64)
            .sqrt()
    };
    let n = items.len().max(1) as f64;
    RecoveryReport {
        config: *config,
        corr_b: correlation(&tb, &eb),
        corr_a: correlation(&ta, &ea),
        rmse_b: rmse(&tb, &eb),
        rmse_a: rmse(&ta, &ea),
        mean_se_b: items.iter().map(|i| i.se_b).sum::<f64>() / n,
        mean_se_a: items.iter().map(|i| i.se_a).sum::<f64>() / n,
        iterations: report.as_ref().map_or(0, |r| r.iterations),
        converged: report.as_ref().is_ok_and(|r| r.converged),
        calibrated: items.len(),
    }
}
