//! The adaptive-testing simulation study from the command line: the fixed 25-item form against
//! the adaptive test on one simulated population, and the calibration's parameter recovery.
//! `docs/adaptive-testing.md` explains the method and holds the figures of the default run.
//!
//! ```text
//! cargo run --release --example cat_study                     # the defaults (seeded)
//! cargo run --release --example cat_study -- 5000 42         # examinees, seed
//! ```

use aiq_core::cat::{RecoveryConfig, StudyConfig, run_recovery, run_study};

fn main() {
    let mut args = std::env::args().skip(1);
    let defaults = StudyConfig::default();
    let examinees = args.next().map_or(defaults.examinees, |n| {
        n.parse().expect("examinees: a whole number")
    });
    let seed = args
        .next()
        .map_or(defaults.seed, |n| n.parse().expect("seed: a whole number"));
    let study = run_study(&StudyConfig {
        examinees,
        seed,
        ..defaults
    });
    println!(
        "{examinees} simulated examinees, pool of {}, seed {seed}",
        study.config.pool_size
    );
    println!("design                      RMSE(θ)   bias     mean length");
    for (name, design) in [
        ("fixed 25-item form, EAP", study.fixed),
        ("fixed form, classical IQ", study.fixed_ctt),
        ("adaptive (all rules)", study.adaptive),
    ] {
        println!(
            "{name:<27} {:>7.3}  {:>+7.3}  {:>6.2}",
            design.rmse, design.bias, design.mean_length
        );
    }
    println!(
        "adaptive RMSE after 1..15 items: {}",
        study
            .rmse_by_length
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "item exposure: max {:.1}%, mean {:.1}%, {} items unused; stops: {:?}",
        study.max_exposure * 100.0,
        study.mean_exposure * 100.0,
        study.unused_items,
        study.stop_reasons
    );
    let recovery = run_recovery(&RecoveryConfig::default());
    println!(
        "calibration recovery ({} examinees x {} items): corr(b) {:.3}, corr(a) {:.3}, \
         RMSE(b) {:.3}, RMSE(a) {:.3}, {} EM iterations, converged: {}",
        recovery.config.examinees,
        recovery.config.items,
        recovery.corr_b,
        recovery.corr_a,
        recovery.rmse_b,
        recovery.rmse_a,
        recovery.iterations,
        recovery.converged
    );
}
