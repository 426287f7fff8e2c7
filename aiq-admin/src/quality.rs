//! The question quality badges the old dashboard showed (`original-ops.md` §6.2), with the same
//! thresholds, so operators read the same verdicts.

use aiq_core::questions::Difficulty;
use aiq_core::storage::Question;

/// Responses below which no verdict is given.
const MIN_RESPONSES: i32 = 30;

/// A badge: its text, its colour class (`good`, `warn`, `bad`, `muted`) and a longer
/// explanation for the tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Badge {
    pub(crate) text: String,
    pub(crate) class: &'static str,
    pub(crate) title: String,
}

impl Badge {
    fn new(text: impl Into<String>, class: &'static str, title: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            class,
            title: title.into(),
        }
    }
}

/// The overall verdict: pending under 30 responses, else good or review needed with the issues.
pub(crate) fn quality(question: &Question) -> Badge {
    let n = question.response_count;
    if n < MIN_RESPONSES {
        return Badge::new(
            format!("Pending ({n} responses)"),
            "muted",
            format!("Verdicts start at {MIN_RESPONSES} responses"),
        );
    }
    let mut issues = Vec::new();
    if let Some(p) = question.empirical_difficulty {
        match question.difficulty() {
            Difficulty::Easy if p < 0.5 => issues.push(format!("too hard for easy (p = {p:.3})")),
            Difficulty::Medium if p < 0.3 => {
                issues.push(format!("too hard for medium (p = {p:.3})"));
            }
            Difficulty::Medium if p > 0.8 => {
                issues.push(format!("too easy for medium (p = {p:.3})"));
            }
            Difficulty::Hard if p > 0.6 => issues.push(format!("too easy for hard (p = {p:.3})")),
            _ => {}
        }
    }
    if let Some(d) = question.discrimination.filter(|d| *d < 0.2) {
        issues.push(format!("low discrimination ({d:.3})"));
    }
    if issues.is_empty() {
        Badge::new("✓ Good", "good", "No issues")
    } else {
        Badge::new("⚠ Review needed", "bad", issues.join("; "))
    }
}

/// The empirical p-value, coloured as easy (> 0.7), medium (> 0.4) or hard.
pub(crate) fn p_value(question: &Question) -> Badge {
    match question.empirical_difficulty {
        None => Badge::new("–", "muted", "No responses yet"),
        Some(p) if p > 0.7 => Badge::new(format!("{p:.3}"), "good", "Easy"),
        Some(p) if p > 0.4 => Badge::new(format!("{p:.3}"), "warn", "Medium"),
        Some(p) => Badge::new(format!("{p:.3}"), "bad", "Hard"),
    }
}

/// The discrimination: excellent (≥ 0.4), good (≥ 0.3), acceptable (≥ 0.2) or poor.
pub(crate) fn discrimination(question: &Question) -> Badge {
    match question.discrimination {
        None => Badge::new("–", "muted", "Not computed yet"),
        Some(d) if d >= 0.4 => Badge::new(format!("{d:.3} Excellent"), "good", "≥ 0.4"),
        Some(d) if d >= 0.3 => Badge::new(format!("{d:.3} Good"), "good", "≥ 0.3"),
        Some(d) if d >= 0.2 => Badge::new(format!("{d:.3} Acceptable"), "warn", "≥ 0.2"),
        Some(d) => Badge::new(format!("{d:.3} Poor"), "bad", "below 0.2"),
    }
}

/// The response count: reliable (≥ 100), marginal (≥ 30) or insufficient.
pub(crate) fn responses(question: &Question) -> Badge {
    let n = question.response_count;
    match n {
        100.. => Badge::new(format!("{n} reliable"), "good", "≥ 100 responses"),
        30..=99 => Badge::new(format!("{n} marginal"), "warn", "30 to 99 responses"),
        _ => Badge::new(
            format!("{n} insufficient"),
            "muted",
            "fewer than 30 responses",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiq_core::questions::starter_bank;
    use aiq_core::storage::QualityFlag;

    fn question(difficulty: Difficulty, p: Option<f64>, d: Option<f64>, n: i32) -> Question {
        let mut content = starter_bank()[0].clone();
        content.difficulty_level = difficulty;
        Question {
            id: 1,
            content,
            is_active: true,
            quality_flag: QualityFlag::Normal,
            quality_flag_reason: None,
            empirical_difficulty: p,
            discrimination: d,
            response_count: n,
            irt_difficulty: None,
            irt_discrimination: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn verdicts_follow_the_old_thresholds() {
        let pending = quality(&question(Difficulty::Easy, Some(0.1), Some(0.0), 29));
        assert_eq!(pending.text, "Pending (29 responses)");
        let good = quality(&question(Difficulty::Medium, Some(0.5), Some(0.35), 40));
        assert_eq!(good.class, "good");
        let hard_easy = quality(&question(Difficulty::Easy, Some(0.45), Some(0.35), 40));
        assert!(hard_easy.title.contains("too hard for easy"));
        let both = quality(&question(Difficulty::Hard, Some(0.65), Some(0.1), 40));
        assert!(
            both.title.contains("too easy for hard") && both.title.contains("low discrimination")
        );
        let medium_easy = quality(&question(Difficulty::Medium, Some(0.85), Some(0.3), 40));
        assert_eq!(medium_easy.class, "bad");
    }

    #[test]
    fn badges_colour_by_band() {
        assert_eq!(
            p_value(&question(Difficulty::Easy, Some(0.71), None, 0)).title,
            "Easy"
        );
        assert_eq!(
            p_value(&question(Difficulty::Easy, Some(0.41), None, 0)).title,
            "Medium"
        );
        assert_eq!(
            p_value(&question(Difficulty::Easy, Some(0.4), None, 0)).text,
            "0.400"
        );
        assert!(
            discrimination(&question(Difficulty::Easy, None, Some(0.4), 0))
                .text
                .ends_with("Excellent")
        );
        assert!(
            discrimination(&question(Difficulty::Easy, None, Some(0.19), 0))
                .text
                .ends_with("Poor")
        );
        assert_eq!(
            responses(&question(Difficulty::Easy, None, None, 100)).class,
            "good"
        );
        assert_eq!(
            responses(&question(Difficulty::Easy, None, None, 30)).class,
            "warn"
        );
        assert_eq!(
            responses(&question(Difficulty::Easy, None, None, 29)).class,
            "muted"
        );
    }
}
