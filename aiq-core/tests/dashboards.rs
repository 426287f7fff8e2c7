//! The Grafana dashboard and the Prometheus alert rules in `deploy/` query only metrics the
//! service exports, under their exposition names (`telemetry::exposition_names`: dots become
//! underscores, counters end in `_total`, histograms expose `_bucket`, `_sum`, `_count`).

use std::collections::BTreeSet;

use aiq_core::telemetry::{self, METRICS};

fn deploy(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../deploy/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The names Prometheus shows for what the service records.
fn exported() -> BTreeSet<String> {
    METRICS
        .iter()
        .flat_map(|(name, kind)| telemetry::exposition_names(name, *kind))
        .collect()
}

/// Metric selectors of a PromQL expression: identifiers followed by `{` or `[` (the files
/// write every selector with braces, so a bare name cannot slip past this check).
fn selectors(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_alphabetic() || chars[i] == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            if matches!(chars.get(i), Some('{') | Some('[')) {
                found.push(chars[start..i].iter().collect());
            }
            // Skip a label matcher block: its names are labels, not metrics.
            if chars.get(i) == Some(&'{') {
                while i < chars.len() && chars[i] != '}' {
                    i += 1;
                }
            }
        } else {
            i += 1;
        }
    }
    found
}

#[test]
fn the_dashboard_queries_only_exported_metrics() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&deploy("grafana/aiq-dashboard.json")).unwrap();
    let exported = exported();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names = selectors(expr);
            assert!(!names.is_empty(), "no metric in {expr}");
            for name in names {
                assert!(
                    exported.contains(&name),
                    "{name} (panel {}) is not exported",
                    panel["title"]
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 8, "the dashboard has its panels");
}

#[test]
fn the_alert_rules_query_only_exported_metrics() {
    let rules = deploy("prometheus/alerts.yml");
    let exported = exported();
    let expressions: Vec<&str> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr:"))
        .collect();
    assert!(expressions.len() >= 4, "the rules are there");
    for expr in expressions {
        let names = selectors(expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            assert!(
                exported.contains(&name),
                "{name} in `{expr}` is not exported"
            );
        }
    }
}

#[test]
fn the_selector_scan_finds_names_and_skips_labels() {
    assert_eq!(
        selectors(r#"sum by (le) (rate(a_b_bucket{route="x", le=~"1"}[5m])) / c{}"#),
        ["a_b_bucket", "c"]
    );
}

#[test]
fn every_histogram_has_its_buckets_and_every_bucket_list_a_histogram() {
    let histograms: BTreeSet<&str> = METRICS
        .iter()
        .filter(|(_, kind)| *kind == telemetry::Kind::Histogram)
        .map(|(name, _)| *name)
        .collect();
    let bucketed: BTreeSet<&str> = telemetry::HISTOGRAMS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    // Without its buckets a histogram would be exposed as a summary, under other names.
    assert_eq!(histograms, bucketed);
}
