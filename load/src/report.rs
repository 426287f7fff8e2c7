//! The table the harness prints: one row per target, the median of its rounds.

use crate::drive::Sample;

/// One target's measurement in one round.
pub(crate) struct Row {
    pub(crate) target: &'static str,
    pub(crate) connections: usize,
    pub(crate) sample: Sample,
    /// Share of all cores busy during the run, in percent.
    pub(crate) cpu: f64,
    /// Lines the aiq server logged during the run.
    pub(crate) log_lines: usize,
}

/// Every round's rows, by target, in the order the targets first ran.
#[derive(Default)]
pub(crate) struct Table {
    targets: Vec<(&'static str, Vec<Row>)>,
}

impl Table {
    /// Adds one round's measurement of a target.
    pub(crate) fn add(&mut self, row: Row) {
        match self
            .targets
            .iter_mut()
            .find(|(name, _)| *name == row.target)
        {
            Some((_, rows)) => rows.push(row),
            None => self.targets.push((row.target, vec![row])),
        }
    }

    /// The round with the median rate of `target`.
    pub(crate) fn median(&self, target: &str) -> Option<&Row> {
        let (_, rows) = self.targets.iter().find(|(name, _)| *name == target)?;
        let mut sorted: Vec<&Row> = rows.iter().collect();
        sorted.sort_by(|a, b| a.sample.rate().total_cmp(&b.sample.rate()));
        sorted.get(sorted.len() / 2).copied()
    }

    /// Every failure seen, as `target: first error (count)`.
    pub(crate) fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for (name, rows) in &self.targets {
            for row in rows {
                if row.sample.errors > 0 {
                    failures.push(format!(
                        "{name}: {} errors, first: {}",
                        row.sample.errors,
                        row.sample.first_error.as_deref().unwrap_or("?")
                    ));
                } else if row.sample.micros.is_empty() {
                    failures.push(format!("{name}: no request completed"));
                }
            }
        }
        failures
    }

    /// The Markdown table of medians, with each row's ratio to its limit where it has one.
    pub(crate) fn markdown(&self, limits: &[(&str, &str, &str)]) -> String {
        let mut out = String::from(
            "| target | conns | req/s | p50 ms | p99 ms | CPU busy | log lines | vs limit |\n\
             |---|---:|---:|---:|---:|---:|---:|---|\n",
        );
        for (name, _) in &self.targets {
            let Some(row) = self.median(name) else {
                continue;
            };
            let versus = limits
                .iter()
                .find(|(target, _, _)| target == name)
                .and_then(|(_, limit, label)| {
                    let limit = self.median(limit)?;
                    Some(format!(
                        "{:.0} % of {label}",
                        100.0 * row.sample.rate() / limit.sample.rate().max(f64::EPSILON)
                    ))
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.0} % | {} | {versus} |\n",
                row.connections,
                row.sample.rate(),
                row.sample.quantile_ms(0.5),
                row.sample.quantile_ms(0.99),
                row.cpu,
                row.log_lines,
            ));
        }
        out
    }
}
