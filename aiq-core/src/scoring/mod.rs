//! Placeholder, replaced by the scoring module.
/// Point-biserial.
pub fn point_biserial(pairs: &[(bool, f64)]) -> f64 {
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return 0.0;
    }
    let mx = pairs
        .iter()
        .map(|p| if p.0 { 1.0 } else { 0.0 })
        .sum::<f64>()
        / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        let x = if *x { 1.0 } else { 0.0 };
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}
