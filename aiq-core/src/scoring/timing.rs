//! Response-time analysis (spec §3.7), stored as `test_results.response_time_flags`.

use serde::{Deserialize, Serialize};

use super::domains::ScoredItem;
use super::round_dp;
use crate::questions::Difficulty;

/// Below this many seconds an answer is too fast to have been read.
const TOO_FAST_SECONDS: i32 = 3;
/// Below this many seconds a hard item is answered too fast.
const TOO_FAST_HARD_SECONDS: i32 = 5;
/// Above this many seconds an answer took too long (possible lookup).
const TOO_SLOW_SECONDS: i32 = 300;
/// A mean below this many seconds per item makes the session rushed.
const RUSHED_MEAN_SECONDS: f64 = 15.0;

/// The stored summary of a session's response times.
///
/// Serialises as `{"rapid_responses", "extended_times", "rushed_session", "validity_concern",
/// "mean_time", "flags"}`. `flags` holds, in this order, any of `rushed_session`,
/// `multiple_rapid_responses`, `multiple_extended_times`, `incomplete_time_data`; or only
/// `no_time_data` (no item has a time, which is every iOS session) or `no_responses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseTimeFlags {
    /// Items answered too fast (under 3 s, or a hard item under 5 s).
    pub rapid_responses: u32,
    /// Items that took over 300 s.
    pub extended_times: u32,
    /// The mean time is under 15 s.
    pub rushed_session: bool,
    /// Rushed, or more than 20 % rapid answers, or more than 3 extended ones.
    pub validity_concern: bool,
    /// The mean time of the timed items, rounded to 2 decimals; `None` without timed items.
    pub mean_time: Option<f64>,
    /// The summary flags.
    pub flags: Vec<String>,
}

impl ResponseTimeFlags {
    fn only(flag: &str) -> Self {
        Self {
            rapid_responses: 0,
            extended_times: 0,
            rushed_session: false,
            validity_concern: false,
            mean_time: None,
            flags: vec![flag.to_owned()],
        }
    }
}

/// Analyses the reported times of a session's answers (spec §3.7).
///
/// ```
/// use aiq_core::questions::{Difficulty, Domain};
/// use aiq_core::scoring::{ScoredItem, response_time_flags};
///
/// // iOS sends no times.
/// let items = vec![ScoredItem::new(Domain::Math, Difficulty::Easy, true); 25];
/// let flags = response_time_flags(&items);
/// assert_eq!(flags.flags, ["no_time_data"]);
/// assert_eq!(flags.mean_time, None);
/// ```
pub fn response_time_flags(items: &[ScoredItem]) -> ResponseTimeFlags {
    if items.is_empty() {
        return ResponseTimeFlags::only("no_responses");
    }
    let timed: Vec<(i32, Difficulty)> = items
        .iter()
        .filter_map(|item| item.time_spent_seconds.map(|t| (t, item.difficulty)))
        .collect();
    if timed.is_empty() {
        return ResponseTimeFlags::only("no_time_data");
    }
    let missing = items.len() - timed.len();

    let mut rapid = 0u32;
    let mut extended = 0u32;
    for &(seconds, difficulty) in &timed {
        if seconds < TOO_FAST_SECONDS
            || (difficulty == Difficulty::Hard && seconds < TOO_FAST_HARD_SECONDS)
        {
            rapid += 1;
        } else if seconds > TOO_SLOW_SECONDS {
            extended += 1;
        }
    }
    let mean = timed.iter().map(|&(t, _)| f64::from(t)).sum::<f64>() / timed.len() as f64;
    let timed_count = timed.len() as f64;

    let mut flags = Vec::new();
    let rushed = mean < RUSHED_MEAN_SECONDS;
    if rushed {
        flags.push("rushed_session");
    }
    let many_rapid = f64::from(rapid) > timed_count * 0.2;
    if many_rapid {
        flags.push("multiple_rapid_responses");
    }
    if f64::from(extended) > timed_count * 0.1 {
        flags.push("multiple_extended_times");
    }
    if missing as f64 > items.len() as f64 * 0.5 {
        flags.push("incomplete_time_data");
    }

    ResponseTimeFlags {
        rapid_responses: rapid,
        extended_times: extended,
        rushed_session: rushed,
        validity_concern: rushed || many_rapid || extended > 3,
        mean_time: Some(round_dp(mean, 2)),
        flags: flags.into_iter().map(str::to_owned).collect(),
    }
}
