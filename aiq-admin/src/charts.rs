//! The overview's charts, drawn on the server as inline SVG.
//!
//! Every text in a chart is a number, a date or the name of a domain or difficulty, never
//! anything a user typed, so the markup can be inserted into the page as it is. Colours are
//! presentation attributes and classes from the dashboard's stylesheet, so the strict
//! Content-Security-Policy (no inline styles) holds.

use std::fmt::Write as _;

use aiq_core::questions::{Difficulty, Domain};
use aiq_core::storage::InventoryCell;
use time::{Date, Duration};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// A bar chart of `bars` (label, value), with the value axis from 0 to the largest value
/// rounded up to an even number.
fn bar_chart(title: &str, bars: &[(String, u64)], label_every: usize) -> String {
    let mut svg = String::new();
    // The axis tops out at an even number, so its middle line is a whole number too.
    let tallest = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let max = tallest + tallest % 2;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / bars.len().max(1) as f64;
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}"><title>{title}</title>"#
    );
    // Value axis: 0, half and the top.
    for fraction in [0.0, 0.5, 1.0] {
        let y = TOP + plot_h * (1.0 - fraction);
        let value = (max as f64 * fraction).round();
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="axis value" x="{:.1}" y="{:.1}" text-anchor="end">{value}</text>"#,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for (index, (label, value)) in bars.iter().enumerate() {
        let h = plot_h * (*value as f64) / (max as f64);
        let x = LEFT + slot * index as f64;
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{label}: {value}</title></rect>"#,
            x + slot * 0.1,
            TOP + plot_h - h,
            (slot * 0.8).max(1.0)
        );
        let last = index + 1 == bars.len();
        if index % label_every.max(1) == 0 || last {
            // The last label ends at its bar, so it is not cut off at the edge.
            let (anchor, at) = if last {
                ("end", x + slot)
            } else {
                ("middle", x + slot / 2.0)
            };
            let _ = write!(
                svg,
                r#"<text class="axis" x="{at:.1}" y="{:.1}" text-anchor="{anchor}">{label}</text>"#,
                HEIGHT - 10.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The IQ score distribution: completed results in bins of 5 points, from at most 70 to at
/// least 130 (wider when scores fall outside).
pub(crate) fn iq_distribution(counts: &[(i32, u64)]) -> String {
    let low = counts.iter().map(|(s, _)| *s).min().unwrap_or(70).min(70);
    let high = counts.iter().map(|(s, _)| *s).max().unwrap_or(130).max(130);
    let first = low.div_euclid(5) * 5;
    let bins: Vec<(String, u64)> = (first..=high)
        .step_by(5)
        .map(|start| {
            let total = counts
                .iter()
                .filter(|(score, _)| (start..start + 5).contains(score))
                .map(|(_, n)| n)
                .sum();
            (start.to_string(), total)
        })
        .collect();
    bar_chart("IQ score distribution of completed tests", &bins, 2)
}

/// Completed tests per day for the `days` days that end with `today`, zero days included.
pub(crate) fn completions_per_day(counts: &[(Date, u64)], today: Date, days: u16) -> String {
    let start = today - Duration::days(i64::from(days) - 1);
    let bars: Vec<(String, u64)> = (0..i64::from(days))
        .map(|offset| {
            let day = start + Duration::days(offset);
            let count = counts
                .iter()
                .find(|(d, _)| *d == day)
                .map_or(0, |(_, n)| *n);
            (format!("{:02}-{:02}", day.month() as u8, day.day()), count)
        })
        .collect();
    bar_chart(
        &format!("Tests completed per day, last {days} days"),
        &bars,
        15,
    )
}

/// The item bank as a heat map: a row per domain, a column per difficulty, each cell shaded by
/// its selectable items; cells below `healthy_min` are outlined and marked.
pub(crate) fn inventory_heat_map(cells: &[InventoryCell], healthy_min: u64) -> String {
    const CELL_W: f64 = 150.0;
    const CELL_H: f64 = 34.0;
    const LABEL_W: f64 = 90.0;
    let width = LABEL_W + CELL_W * Difficulty::ALL.len() as f64;
    let height = 24.0 + CELL_H * Domain::ALL.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart heatmap" viewBox="0 0 {width} {height}" role="img" aria-label="Item bank inventory by domain and difficulty"><title>Item bank inventory by domain and difficulty</title>"#
    );
    for (col, difficulty) in Difficulty::ALL.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text class="axis" x="{:.1}" y="16" text-anchor="middle">{}</text>"#,
            LABEL_W + CELL_W * (col as f64 + 0.5),
            difficulty.as_str()
        );
    }
    for (row, domain) in Domain::ALL.iter().enumerate() {
        let y = 24.0 + CELL_H * row as f64;
        let _ = write!(
            svg,
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            y + CELL_H / 2.0 + 4.0,
            domain.as_str()
        );
        for (col, difficulty) in Difficulty::ALL.iter().enumerate() {
            let cell = cells
                .iter()
                .find(|c| c.domain == *domain && c.difficulty == *difficulty);
            let (selectable, total) = cell.map_or((0, 0), |c| (c.selectable, c.total));
            let low = selectable < healthy_min;
            // Shade from pale (empty) to full at twice the healthy minimum.
            let level = (selectable as f64 / (2 * healthy_min.max(1)) as f64).min(1.0);
            let class = if low { "cell low" } else { "cell" };
            let marker = if low { " !" } else { "" };
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill-opacity="{:.2}"><title>{} / {}: {selectable} selectable of {total}</title></rect><text class="cell-label" x="{:.1}" y="{:.1}" text-anchor="middle">{selectable}/{total}{marker}</text>"#,
                LABEL_W + CELL_W * col as f64 + 2.0,
                CELL_W - 4.0,
                CELL_H - 4.0,
                0.15 + 0.85 * level,
                domain.as_str(),
                difficulty.as_str(),
                LABEL_W + CELL_W * (col as f64 + 0.5),
                y + CELL_H / 2.0 + 3.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_distribution_bins_scores_by_five() {
        let svg = iq_distribution(&[(100, 2), (103, 1), (150, 4)]);
        assert!(svg.contains("<title>100: 3</title>"), "{svg}");
        assert!(svg.contains("<title>150: 4</title>"));
        // 70..=150 in steps of 5.
        assert_eq!(svg.matches("<rect").count(), 17);
    }

    #[test]
    fn the_value_axis_labels_each_line_with_its_own_value() {
        let axis = |svg: &str| -> Vec<String> {
            svg.split(r#"class="axis value""#)
                .skip(1)
                .map(|rest| {
                    let text = &rest[rest.find('>').unwrap() + 1..];
                    text.split('<').next().unwrap().to_owned()
                })
                .collect()
        };
        let one = bar_chart("t", &[("a".into(), 1), ("b".into(), 0)], 1);
        assert_eq!(axis(&one), ["0", "1", "2"]);
        let three = bar_chart("t", &[("a".into(), 3)], 1);
        assert_eq!(axis(&three), ["0", "2", "4"]);
        let ten = bar_chart("t", &[("a".into(), 10)], 1);
        assert_eq!(axis(&ten), ["0", "5", "10"]);
        let empty = bar_chart("t", &[("a".into(), 0)], 1);
        assert_eq!(axis(&empty), ["0", "1", "2"]);
    }

    #[test]
    fn every_day_gets_a_bar_and_missing_days_are_zero() {
        let today = date!(2026 - 11 - 30);
        let svg = completions_per_day(&[(today, 5), (date!(2026 - 11 - 01), 2)], today, 90);
        assert_eq!(svg.matches("<rect").count(), 90);
        assert!(svg.contains("<title>11-30: 5</title>"));
        assert!(svg.contains("<title>11-01: 2</title>"));
        assert!(svg.contains("<title>11-02: 0</title>"));
    }

    #[test]
    fn cells_below_the_minimum_are_marked() {
        let cells = [
            InventoryCell {
                domain: Domain::Pattern,
                difficulty: Difficulty::Easy,
                selectable: 60,
                total: 61,
            },
            InventoryCell {
                domain: Domain::Logic,
                difficulty: Difficulty::Hard,
                selectable: 3,
                total: 10,
            },
        ];
        let svg = inventory_heat_map(&cells, 50);
        assert_eq!(svg.matches("<rect").count(), 18);
        assert!(svg.contains("60/61<"));
        assert!(svg.contains("3/10 !"));
        // 17 of 18 cells are below the minimum (16 of them empty).
        assert_eq!(svg.matches(r#"class="cell low""#).count(), 17);
    }
}
