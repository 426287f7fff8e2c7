//! Placeholder, replaced by the composition module.
use crate::questions::{Difficulty, Domain};
/// An eligible item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Id.
    pub id: i64,
    /// Domain.
    pub domain: Domain,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// Discrimination.
    pub discrimination: Option<f64>,
    /// Anchor.
    pub is_anchor: bool,
}
