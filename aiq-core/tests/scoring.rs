//! Scoring (spec §3.5–§3.8 and the reliability rules of §3.6).

use std::collections::HashMap;

use aiq_core::questions::{Difficulty, Domain};
use aiq_core::scoring::{
    AlphaUnavailable, ItemStatistics, PopulationStats, ScoredItem, ScoringMethod, ValidityFlagType,
    ValidityStatus, alpha_from_matrix, confidence_interval, cronbach_alpha, ctt_iq, domain_scores,
    model_scores, percentile, point_biserial, response_time_flags, round_dp, should_flag,
    strongest_weakest, validity_analysis, weighted_iq,
};
use serde_json::json;

fn item(domain: Domain, difficulty: Difficulty, is_correct: bool) -> ScoredItem {
    ScoredItem::new(domain, difficulty, is_correct)
}

fn timed(difficulty: Difficulty, is_correct: bool, seconds: i32) -> ScoredItem {
    let mut item = item(Domain::Math, difficulty, is_correct);
    item.time_spent_seconds = Some(seconds);
    item
}

#[test]
fn ctt_examples() {
    assert_eq!(ctt_iq(0, 25), 85);
    assert_eq!(ctt_iq(10, 20), 100);
    assert_eq!(ctt_iq(25, 25), 115);
    // 100 + (0.75 − 0.5) × 30 = 107.5 → 108; 100 + (0.25 − 0.5) × 30 = 92.5 → 92.
    assert_eq!(ctt_iq(3, 4), 108);
    assert_eq!(ctt_iq(1, 4), 92);
    // 25 items: round(85 + 1.2c); c = 5 → 91, c = 20 → 109.
    assert_eq!(ctt_iq(5, 25), 91);
    assert_eq!(ctt_iq(20, 25), 109);
}

#[test]
fn percentile_examples() {
    assert_eq!(percentile(115), 84.1);
    assert_eq!(percentile(85), 15.9);
    assert_eq!(percentile(100), 50.0);
    assert_eq!(percentile(130), 97.7);
    assert_eq!(round_dp(0.05, 1), 0.1); // 0.05 is 0.05000000000000000277 in binary
}

#[test]
fn weighted_variant() {
    let scores = domain_scores(&[
        item(Domain::Pattern, Difficulty::Easy, true),
        item(Domain::Pattern, Difficulty::Easy, true),
        item(Domain::Logic, Difficulty::Easy, false),
        item(Domain::Logic, Difficulty::Easy, false),
    ]);
    // Unanswered domains do not count, whatever their weight.
    let weights = HashMap::from([
        (Domain::Pattern, 0.2),
        (Domain::Logic, 0.2),
        (Domain::Memory, 5.0),
    ]);
    assert_eq!(weighted_iq(&scores, &weights), 100);
    // Logic missing → weight 0: pattern alone, 100 % → 115.
    assert_eq!(
        weighted_iq(&scores, &HashMap::from([(Domain::Pattern, 0.5)])),
        115
    );
    // All zero → equal weights.
    assert_eq!(
        weighted_iq(&scores, &HashMap::from([(Domain::Pattern, 0.0)])),
        100
    );
    // 0.9 × 1 + 0.1 × 0 = 0.9 → 112.
    assert_eq!(
        weighted_iq(
            &scores,
            &HashMap::from([(Domain::Pattern, 0.9), (Domain::Logic, 0.1)])
        ),
        112
    );
    // Nothing answered → 100.
    assert_eq!(weighted_iq(&domain_scores(&[]), &weights), 100);
}

#[test]
fn confidence_interval_needs_alpha_060() {
    assert_eq!(confidence_interval(100, 0.5999), None);
    let ci = confidence_interval(100, 0.60).unwrap();
    assert_eq!(ci.standard_error, 9.49); // 15 × √0.4 = 9.4868…
    assert_eq!((ci.lower, ci.upper), (81, 119)); // 100 ∓ 18.6
    assert_eq!(
        serde_json::to_value(ci).unwrap(),
        json!({"lower": 81, "upper": 119, "confidence_level": 0.95, "standard_error": 9.49})
    );
    let high = confidence_interval(155, 0.75).unwrap(); // SEM 7.5, margin 14.7
    assert_eq!((high.lower, high.upper), (140, 160));
    let low = confidence_interval(45, 0.75).unwrap();
    assert_eq!((low.lower, low.upper), (40, 60));
    assert_eq!(
        serde_json::to_value(ScoringMethod::Ctt).unwrap(),
        json!("ctt")
    );
}

#[test]
fn domain_scores_shape_and_rounding() {
    let mut items = vec![
        item(Domain::Verbal, Difficulty::Easy, true),
        item(Domain::Verbal, Difficulty::Easy, true),
        item(Domain::Verbal, Difficulty::Hard, false),
        item(Domain::Pattern, Difficulty::Medium, true),
        item(Domain::Pattern, Difficulty::Medium, false),
        item(Domain::Pattern, Difficulty::Medium, false),
    ];
    items.extend((0..7).map(|i| item(Domain::Math, Difficulty::Medium, i < 1)));
    let scores = domain_scores(&items);
    let value = serde_json::to_value(&scores).unwrap();
    assert_eq!(
        value["verbal"],
        json!({"correct": 2, "total": 3, "pct": 66.7})
    );
    assert_eq!(
        value["pattern"],
        json!({"correct": 1, "total": 3, "pct": 33.3})
    );
    assert_eq!(
        value["math"],
        json!({"correct": 1, "total": 7, "pct": 14.3})
    );
    assert_eq!(
        value["memory"],
        json!({"correct": 0, "total": 0, "pct": null})
    );
    let text = serde_json::to_string(&scores).unwrap();
    let keys: Vec<usize> = ["pattern", "logic", "spatial", "math", "verbal", "memory"]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert_eq!(
        strongest_weakest(&scores),
        (Some(Domain::Verbal), Some(Domain::Math))
    );
}

#[test]
fn strongest_and_weakest_ties_go_to_the_first_domain() {
    let scores = domain_scores(&[
        item(Domain::Memory, Difficulty::Easy, true),
        item(Domain::Logic, Difficulty::Easy, true),
        item(Domain::Verbal, Difficulty::Easy, false),
        item(Domain::Spatial, Difficulty::Easy, false),
    ]);
    assert_eq!(
        strongest_weakest(&scores),
        (Some(Domain::Logic), Some(Domain::Spatial))
    );
    // A single answered domain is both.
    let one = domain_scores(&[item(Domain::Math, Difficulty::Easy, true)]);
    assert_eq!(
        strongest_weakest(&one),
        (Some(Domain::Math), Some(Domain::Math))
    );
    assert_eq!(strongest_weakest(&domain_scores(&[])), (None, None));
}

#[test]
fn domain_percentiles() {
    let mut scores = domain_scores(&[
        item(Domain::Pattern, Difficulty::Easy, true),
        item(Domain::Pattern, Difficulty::Easy, false),
        item(Domain::Logic, Difficulty::Easy, true),
        item(Domain::Spatial, Difficulty::Easy, true),
    ]);
    let stats = HashMap::from([
        // pct 50 → z = (0.5 − 0.65)/0.15 = −1 → 15.9.
        (
            Domain::Pattern,
            PopulationStats {
                mean_accuracy: 0.65,
                sd_accuracy: 0.15,
            },
        ),
        // sd 0 → null.
        (
            Domain::Logic,
            PopulationStats {
                mean_accuracy: 0.5,
                sd_accuracy: 0.0,
            },
        ),
        // Unanswered → null.
        (
            Domain::Memory,
            PopulationStats {
                mean_accuracy: 0.5,
                sd_accuracy: 0.2,
            },
        ),
    ]);
    scores.add_percentiles(&stats);
    let value = serde_json::to_value(&scores).unwrap();
    assert_eq!(value["pattern"]["percentile"], json!(15.9));
    assert_eq!(value["logic"]["percentile"], json!(null));
    assert_eq!(value["spatial"]["percentile"], json!(null)); // no stats
    assert_eq!(value["memory"]["percentile"], json!(null));
    assert!(
        value["math"]
            .as_object()
            .unwrap()
            .contains_key("percentile")
    );
    // Without stats the key is absent.
    let plain = serde_json::to_value(domain_scores(&[])).unwrap();
    assert!(
        !plain["math"]
            .as_object()
            .unwrap()
            .contains_key("percentile")
    );
}

#[test]
fn model_scores_group_by_source_model() {
    let mut items = vec![item(Domain::Math, Difficulty::Easy, true); 3];
    items[0].source_model = Some("b-model".into());
    items[1].source_model = Some("a-model".into());
    items[2].source_model = Some("a-model".into());
    items[2].is_correct = false;
    let scores = model_scores(
        items
            .iter()
            .map(|item| (item.source_model.as_deref(), item.is_correct)),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&scores).unwrap(),
        json!({"a-model": {"correct": 1, "total": 2, "pct": 50.0}, "b-model": {"correct": 1, "total": 1, "pct": 100.0}})
    );
}

#[test]
fn response_time_flags_without_times() {
    let items = vec![item(Domain::Math, Difficulty::Easy, true); 25];
    assert_eq!(
        serde_json::to_value(response_time_flags(&items)).unwrap(),
        json!({"rapid_responses": 0, "extended_times": 0, "rushed_session": false,
               "validity_concern": false, "mean_time": null, "flags": ["no_time_data"]})
    );
    assert_eq!(response_time_flags(&[]).flags, ["no_responses"]);
}

#[test]
fn response_time_thresholds() {
    // 10 timed: 2 s → too fast; 4 s on hard → too fast (hard); 4 s on easy → fine;
    // 301 s → extended; 300 s → fine.
    let mut items = vec![
        timed(Difficulty::Easy, true, 2),
        timed(Difficulty::Hard, true, 4),
        timed(Difficulty::Easy, true, 4),
        timed(Difficulty::Medium, true, 301),
        timed(Difficulty::Medium, true, 300),
    ];
    items.extend((0..5).map(|_| timed(Difficulty::Medium, true, 30)));
    let flags = response_time_flags(&items);
    assert_eq!((flags.rapid_responses, flags.extended_times), (2, 1));
    // 2 rapid of 10 is not more than 20 %; 1 extended of 10 is not more than 10 %.
    assert_eq!(flags.flags, Vec::<String>::new());
    assert!(!flags.validity_concern);
    assert_eq!(flags.mean_time, Some(76.1)); // 761 / 10

    // A rushed session, mostly rapid, half the times missing and more.
    let mut rushed = vec![
        timed(Difficulty::Easy, true, 1),
        timed(Difficulty::Easy, true, 2),
        timed(Difficulty::Easy, true, 10),
    ];
    rushed.extend((0..4).map(|_| item(Domain::Logic, Difficulty::Easy, true)));
    let flags = response_time_flags(&rushed);
    assert_eq!(
        flags.flags,
        [
            "rushed_session",
            "multiple_rapid_responses",
            "incomplete_time_data"
        ]
    );
    assert!(flags.rushed_session && flags.validity_concern);
    assert_eq!(flags.mean_time, Some(4.33));

    // Four extended answers: a concern by count alone.
    let slow: Vec<_> = (0..10)
        .map(|i| timed(Difficulty::Medium, true, if i < 4 { 400 } else { 60 }))
        .collect();
    let flags = response_time_flags(&slow);
    assert_eq!(flags.flags, ["multiple_extended_times"]);
    assert!(flags.validity_concern);
}

#[test]
fn validity_combines_to_valid_suspect_invalid() {
    // Ordinary: 15 of 25, 60 s each.
    let ordinary: Vec<_> = (0..25)
        .map(|i| timed(Difficulty::ALL[i % 3], i % 5 < 3, 60))
        .collect();
    let report = validity_analysis(&ordinary, Some(1500));
    assert_eq!(report.status, ValidityStatus::Valid);
    assert_eq!(report.stored_flags(), None);

    // An extended pause alone is medium severity: still valid, but flagged.
    let mut paused = ordinary.clone();
    paused[0].time_spent_seconds = Some(400);
    let report = validity_analysis(&paused, None);
    assert_eq!(report.status, ValidityStatus::Valid);
    assert_eq!(report.flags[0].kind, ValidityFlagType::ExtendedPauses);
    assert_eq!(
        serde_json::to_value(&report.flags[0]).unwrap(),
        json!({"type": "extended_pauses", "severity": "medium", "source": "time_check",
               "details": "1 response(s) took over 5 minutes, possibly indicating answer lookup or distraction.",
               "count": 1})
    );

    // Whole test in 25 × 10 s = 250 s: one high flag → suspect.
    let quick: Vec<_> = (0..25)
        .map(|i| timed(Difficulty::ALL[i % 3], i % 5 < 3, 10))
        .collect();
    let report = validity_analysis(&quick, Some(10_000));
    assert_eq!(report.status, ValidityStatus::Suspect);
    assert_eq!(report.flags.len(), 1);
    assert_eq!(report.flags[0].kind, ValidityFlagType::TotalTimeTooFast);

    // Rapid clicking (25 × 1 s) and fast correct hard answers: three high flags → invalid.
    let clicked: Vec<_> = (0..25)
        .map(|i| timed(Difficulty::ALL[i % 3], i % 5 < 3, 1))
        .collect();
    let report = validity_analysis(&clicked, None);
    assert_eq!(report.status, ValidityStatus::Invalid);
    let kinds: Vec<_> = report.flags.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            ValidityFlagType::MultipleRapidResponses,
            ValidityFlagType::SuspiciouslyFastOnHard,
            ValidityFlagType::TotalTimeTooFast
        ]
    );

    // Guttman: easy items (high p) missed, hard ones right, no times → high errors (2) plus
    // the aberrant person fit (2) → invalid; error_rate is stored.
    let mut reversed = Vec::new();
    for k in 0..10 {
        let mut it = item(Domain::Logic, Difficulty::Easy, false);
        it.empirical_difficulty = Some(0.9 - f64::from(k) * 0.01);
        reversed.push(it);
        let mut it = item(Domain::Logic, Difficulty::Hard, true);
        it.empirical_difficulty = Some(0.3 - f64::from(k) * 0.01);
        reversed.push(it);
    }
    let report = validity_analysis(&reversed, None);
    assert_eq!(report.status, ValidityStatus::Invalid);
    let guttman = report
        .flags
        .iter()
        .find(|f| f.kind == ValidityFlagType::HighGuttmanErrors)
        .unwrap();
    assert_eq!(guttman.error_rate, Some(1.0));
    let value = serde_json::to_value(guttman).unwrap();
    assert_eq!(value["source"], json!("guttman_check"));
    assert!(value.get("count").is_none());

    // iOS sends no times: the server's completion time drives the total-time checks.
    let untimed = vec![item(Domain::Math, Difficulty::Medium, true); 25];
    assert_eq!(
        validity_analysis(&untimed, None).status,
        ValidityStatus::Valid
    );
    assert_eq!(
        validity_analysis(&untimed, Some(200)).status,
        ValidityStatus::Suspect
    );
    let slow = validity_analysis(&untimed, Some(8000));
    assert_eq!(slow.status, ValidityStatus::Valid);
    assert_eq!(slow.flags[0].kind, ValidityFlagType::TotalTimeExcessive);
    assert_eq!(validity_analysis(&[], None).status, ValidityStatus::Valid);
}

#[test]
fn cronbach_alpha_on_a_hand_computed_matrix() {
    // Items: [1,1,0,0,1], [1,0,0,0,1], [1,1,1,0,0]; variances .3, .3, .3 (sum .9).
    // Totals 3, 2, 1, 0, 2: mean 1.6, variance (1.96 + .16 + .36 + 2.56 + .16)/4 = 1.3.
    // α = 3/2 × (1 − .9/1.3) = 0.4615…
    let rows = vec![
        vec![true, true, true],
        vec![true, false, true],
        vec![false, false, true],
        vec![false, false, false],
        vec![true, true, false],
    ];
    assert_eq!(alpha_from_matrix(&rows), Ok(0.4615));
    // Perfectly consistent items → 1.
    let parallel = vec![vec![true, true], vec![false, false], vec![true, true]];
    assert_eq!(alpha_from_matrix(&parallel), Ok(1.0));
    // Opposite items: the clamp to −1 does not apply, but the totals have no variance.
    let opposite = vec![vec![true, false], vec![false, true]];
    assert_eq!(
        alpha_from_matrix(&opposite),
        Err(AlphaUnavailable::ZeroTotalVariance)
    );
    assert_eq!(
        alpha_from_matrix(&[vec![true, false], vec![true]]),
        Err(AlphaUnavailable::RaggedMatrix)
    );
}

/// `n` sessions over items 1..=k, session `s` answering item `i` correctly when `i ≤ s % (k+1)`.
fn guttman_sessions(n: usize, k: i64) -> Vec<HashMap<i64, bool>> {
    (0..n)
        .map(|s| (1..=k).map(|i| (i, i <= (s as i64) % (k + 1))).collect())
        .collect()
}

#[test]
fn cronbach_alpha_requirements() {
    assert_eq!(
        cronbach_alpha(&guttman_sessions(99, 5)),
        Err(AlphaUnavailable::TooFewSessions {
            found: 99,
            required: 100
        })
    );
    let report = cronbach_alpha(&guttman_sessions(120, 5)).unwrap();
    assert_eq!((report.items, report.sessions), (5, 120));
    assert!(report.alpha > 0.8, "{report:?}");

    // 200 sessions, each answering a different single item: none appears in 60 sessions.
    let scattered: Vec<HashMap<i64, bool>> = (0..200)
        .map(|s| HashMap::from([(s as i64, true)]))
        .collect();
    assert_eq!(
        cronbach_alpha(&scattered),
        Err(AlphaUnavailable::TooFewItems {
            found: 0,
            min_appearances: 60
        })
    );

    // 150 sessions: items 1–5 in every session but 60 of them skip two of the five (60 %
    // answered < 80 %): 90 complete sessions, 90 with ≥ int(0.8 × 5) = 4 → too few.
    let mut sessions = guttman_sessions(150, 5);
    for s in sessions.iter_mut().take(60) {
        s.remove(&1);
        s.remove(&2);
    }
    assert_eq!(
        cronbach_alpha(&sessions),
        Err(AlphaUnavailable::TooFewCompleteSessions {
            found: 90,
            required: 100
        })
    );
    // Skipping only one of five (80 %) qualifies through the fallback, the gap scored 0.
    let mut sessions = guttman_sessions(150, 5);
    for s in sessions.iter_mut().take(60) {
        s.remove(&1);
    }
    let report = cronbach_alpha(&sessions).unwrap();
    assert_eq!((report.items, report.sessions), (5, 150));
}

#[test]
fn point_biserial_and_item_statistics() {
    // x = 1,1,1,0,0 against totals 10, 8, 6, 6, 0: mean x .6, mean y 6.
    // Σdxdy = .4·4 + .4·2 + .4·0 − .6·0 − .6·(−6) = 6; Σdx² = 1.2; Σdy² = 16+4+0+0+36 = 56.
    // r = 6 / √(1.2 × 56) = 0.7319…
    let pairs = [
        (true, 10.0),
        (true, 8.0),
        (true, 6.0),
        (false, 6.0),
        (false, 0.0),
    ];
    let r = point_biserial(&pairs);
    assert!((r - 6.0 / (1.2f64 * 56.0).sqrt()).abs() < 1e-12, "{r}");
    assert!((r - 0.7319).abs() < 1e-4);
    assert_eq!(point_biserial(&[(true, 1.0)]), 0.0);
    assert_eq!(point_biserial(&[(true, 1.0), (true, 5.0)]), 0.0); // no variance in x
    assert_eq!(point_biserial(&[(true, 3.0), (false, 3.0)]), 0.0); // none in y
    let stats = ItemStatistics::from_responses(&pairs).unwrap();
    assert_eq!((stats.empirical_difficulty, stats.response_count), (0.6, 5));
    assert_eq!(ItemStatistics::from_responses(&[]), None);
    assert!(should_flag(50, -0.001));
    assert!(!should_flag(50, 0.0));
    assert!(!should_flag(49, -1.0));
}
