//! The RMSE-by-test-length chart of the simulation study, as hand-written SVG.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// An SVG line chart of θ's RMSE against adaptive test length (`rmse_by_length[k]` after `k + 1`
/// items, a solid line with points) with the fixed form's RMSE as a dashed horizontal line
/// labelled with `fixed_length` items. Non-finite values are left out.
///
/// ```
/// let svg = aiq_core::cat::rmse_chart_svg(&[0.8, 0.6, 0.5], 0.4, 25);
/// assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
/// assert!(svg.contains("<polyline"));
/// ```
pub fn rmse_chart_svg(rmse_by_length: &[f64], fixed_rmse: f64, fixed_length: usize) -> String {
    let finite_max = rmse_by_length
        .iter()
        .chain(std::iter::once(&fixed_rmse))
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    // The y axis runs from 0 to the next 0.1 above the largest value.
    let y_max = ((finite_max * 10.0).ceil() / 10.0).max(0.1);
    let n = rmse_by_length.len().max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |k: usize| LEFT + plot_w * (k as f64 - 1.0) / (n.max(2) - 1) as f64;
    let y = |v: f64| TOP + plot_h * (1.0 - v / y_max);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">RMSE of θ by test length</text>"#,
        WIDTH / 2.0
    );
    // Grid and y ticks every 0.1.
    let steps = (y_max * 10.0).round() as usize;
    for i in 0..=steps {
        let v = i as f64 / 10.0;
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e0e0e0"/>"##,
            WIDTH - RIGHT
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{v:.1}</text>"#,
            LEFT - 8.0,
            yy + 4.0
        );
    }
    // X ticks at every length.
    for k in 1..=n {
        let xx = x(k);
        let _ = writeln!(
            s,
            r#"<text x="{xx:.1}" y="{:.1}" text-anchor="middle">{k}</text>"#,
            HEIGHT - BOTTOM + 18.0
        );
    }
    // Axes.
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/>"##,
        HEIGHT - BOTTOM
    );
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#333"/>"##,
        HEIGHT - BOTTOM,
        WIDTH - RIGHT
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">Items administered (adaptive)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{0:.1}" text-anchor="middle" transform="rotate(-90 18 {0:.1})">RMSE of θ̂ (SD units)</text>"#,
        TOP + plot_h / 2.0
    );
    // The fixed form's reference line.
    if fixed_rmse.is_finite() {
        let yy = y(fixed_rmse);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>"##,
            WIDTH - RIGHT
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#d62728">fixed {fixed_length}-item form: {fixed_rmse:.3}</text>"##,
            WIDTH - RIGHT - 4.0,
            yy - 6.0
        );
    }
    // The adaptive curve.
    let points: Vec<(f64, f64)> = rmse_by_length
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, &v)| (x(k + 1), y(v)))
        .collect();
    let list: Vec<String> = points
        .iter()
        .map(|(px, py)| format!("{px:.1},{py:.1}"))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2.5"/>"##,
        list.join(" ")
    );
    for (px, py) in &points {
        let _ = writeln!(
            s,
            r##"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="#1f77b4"/>"##
        );
    }
    if let Some(&(px, py)) = points.last() {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1f77b4">adaptive: {:.3}</text>"##,
            px,
            py + 18.0,
            rmse_by_length.last().copied().unwrap_or(f64::NAN)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_are_left_out() {
        let svg = rmse_chart_svg(&[0.5, f64::NAN, 0.3], f64::INFINITY, 25);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(!svg.contains("fixed 25-item form"));
        let empty = rmse_chart_svg(&[], 0.4, 25);
        assert!(empty.contains("fixed 25-item form: 0.400"));
    }
}
