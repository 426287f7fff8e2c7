//! Computerised adaptive testing (spec §3.4): the 2PL model, EAP ability estimates, item
//! selection under content constraints, the stopping rules, the session state the `/test/next`
//! endpoint steps through, 2PL calibration, and the simulation study behind the design.
//!
//! Everything here is pure and storage-free: callers load the item pool and the session state
//! and hand them over as plain values; randomness comes from an injected [`rand::Rng`].
//!
//! - [`ItemParams`]: 2PL probability and Fisher information;
//! - [`eap()`]: the posterior mean and SD of θ on 61 points over [−4, 4];
//! - [`select_next_item`]: content constraints, maximum information, randomesque top 5;
//! - [`check_stopping`] and [`StopReason`]: the stopping rules in priority order;
//! - [`CatSession`]: the storable session state, [`CatSession::step`] and the [`CatResult`];
//! - [`calibrate`]: marginal maximum likelihood (Bock–Aitkin EM) for the 2PL, and
//!   [`prior_params`] for items not yet calibrated;
//! - [`run_study`], [`run_recovery`]: the simulation study of `docs/adaptive-testing.md`.

mod calibration;
mod chart;
mod eap;
mod irt;
mod select;
mod session;
mod simulate;
mod stopping;

pub use self::calibration::{
    CalibratedItem, CalibrationData, CalibrationError, CalibrationOptions, CalibrationReport,
    ItemResponse, MIN_NEW_RESPONSES, SkipReason, calibrate, calibrate_data, prior_params,
};
pub use self::chart::rmse_chart_svg;
pub use self::eap::{
    Estimate, Prior, QUADRATURE_POINTS, THETA_MAX, THETA_MIN, eap, quadrature_point,
};
pub use self::irt::{ItemParams, log_sigmoid, sigmoid};
pub use self::select::{
    MIN_ITEMS_PER_DOMAIN, PoolItem, RANDOMESQUE_TOP, SOFT_TOLERANCE, select_next_item, target_share,
};
pub use self::session::{
    AdministeredItem, CatResult, CatSession, Response, StepOutcome, iq_from_theta,
};
pub use self::simulate::{
    DesignSummary, RecoveryConfig, RecoveryReport, StudyConfig, StudyReport, correlation,
    run_recovery, run_study, simulated_pool, standard_normal,
};
pub use self::stopping::{
    CONTENT_FALLBACK_DOMAINS, CONTENT_FALLBACK_ITEMS, MAX_ITEMS, MIN_ITEMS, SE_THRESHOLD,
    STABLE_SE_THRESHOLD, StopDecision, StopReason, THETA_STABILITY, check_stopping,
    content_requirement_met,
};

/// Why an adaptive-testing operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatError {
    /// Item parameters that are not finite or have `a ≤ 0`.
    #[error("invalid item parameters a = {a}, b = {b}")]
    InvalidParams {
        /// The discrimination given.
        a: f64,
        /// The difficulty given.
        b: f64,
    },
    /// A prior whose mean is not finite or whose SD is not a positive number.
    #[error("invalid prior N({mean}, {sd}²)")]
    InvalidPrior {
        /// The mean given.
        mean: f64,
        /// The SD given.
        sd: f64,
    },
    /// No eligible item to start a session with.
    #[error("no calibrated item is available")]
    EmptyPool,
    /// The session has already ended.
    #[error("the adaptive session has already ended")]
    SessionFinished,
    /// The session is not waiting for an answer.
    #[error("no item is waiting for an answer")]
    NoPendingItem,
    /// The answer is for another item than the one served.
    #[error("expected an answer to item {expected}, got one to {got}")]
    UnexpectedItem {
        /// The item served.
        expected: i64,
        /// The item answered.
        got: i64,
    },
}
