//! Log lines a client can cause, written at a bounded rate.
//!
//! A request that fails for the client's reasons (a 401, a 422, a 429, a failed login) costs
//! the client nothing, so a line per request lets anyone write as many lines as they can send
//! requests: a flood of 100,000 bad tokens would be 100,000 lines, more than a log pipeline
//! ingests (Railway takes a few hundred a second per replica). Each kind of such line has a
//! [`LogBudget`]: a few lines a second pass, the rest are counted, and the next line that
//! passes carries the count (`suppressed`) so that nothing goes unnoticed.

use std::sync::atomic::{AtomicU64, Ordering};

/// `limited!(BUDGET, warn, target: "security", event = "...", "message")`: the `tracing` event
/// at that level when [`LogBudget::admit`] lets it pass, with a `suppressed` field (lines held
/// back since the last one that passed). A line nobody listens to at that level does not
/// touch the budget.
macro_rules! limited {
    ($budget:expr, $level:ident, target: $target:expr, $($rest:tt)*) => {
        if tracing::enabled!(target: $target, $crate::log_budget::level!($level))
            && let Some(suppressed) = $budget.admit()
        {
            tracing::$level!(target: $target, suppressed, $($rest)*);
        }
    };
    ($budget:expr, $level:ident, $($rest:tt)*) => {
        if tracing::enabled!($crate::log_budget::level!($level))
            && let Some(suppressed) = $budget.admit()
        {
            tracing::$level!(suppressed, $($rest)*);
        }
    };
}

/// The `tracing::Level` of a level macro's name (`info` -> `Level::INFO`).
macro_rules! level {
    (trace) => {
        tracing::Level::TRACE
    };
    (debug) => {
        tracing::Level::DEBUG
    };
    (info) => {
        tracing::Level::INFO
    };
    (warn) => {
        tracing::Level::WARN
    };
    (error) => {
        tracing::Level::ERROR
    };
}
pub(crate) use level;
pub(crate) use limited;

/// Up to `per_second` lines of one kind per wall-clock second; see the module docs.
#[derive(Debug)]
pub(crate) struct LogBudget {
    per_second: u32,
    /// The current second (its low 32 bits) in the high half, the lines it let pass in the
    /// low half: one word, so that no two threads both take the last line of a second.
    state: AtomicU64,
    suppressed: AtomicU64,
}

impl LogBudget {
    pub(crate) const fn new(per_second: u32) -> Self {
        Self {
            per_second,
            state: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether a line may be written now: `Some(n)` with the lines held back since the last
    /// one that passed, `None` when this one is to be held back (and counted).
    pub(crate) fn admit(&self) -> Option<u64> {
        self.admit_at(time::OffsetDateTime::now_utc().unix_timestamp())
    }

    fn admit_at(&self, now: i64) -> Option<u64> {
        // Truncated to the low 32 bits: only equality with the stored second matters.
        let second = u64::from(now as u32);
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            let used = if state >> 32 == second {
                state & u64::from(u32::MAX)
            } else {
                0
            };
            if used >= u64::from(self.per_second) {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            let next = (second << 32) | (used + 1);
            match self.state.compare_exchange_weak(
                state,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(self.suppressed.swap(0, Ordering::Relaxed)),
                Err(current) => state = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogBudget;

    #[test]
    fn a_few_lines_a_second_pass_and_the_next_one_counts_the_rest() {
        let budget = LogBudget::new(2);
        assert_eq!(budget.admit_at(10), Some(0));
        assert_eq!(budget.admit_at(10), Some(0));
        for _ in 0..5 {
            assert_eq!(budget.admit_at(10), None);
        }
        // A new second: the first line reports the five held back, then the count starts over.
        assert_eq!(budget.admit_at(11), Some(5));
        assert_eq!(budget.admit_at(11), Some(0));
        assert_eq!(budget.admit_at(11), None);
        assert_eq!(budget.admit_at(13), Some(1));
    }

    #[test]
    fn lines_from_many_threads_stay_within_the_budget() {
        let budget = std::sync::Arc::new(LogBudget::new(3));
        let passed: u64 = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let budget = &budget;
                    scope.spawn(move || {
                        (0..1000).filter(|_| budget.admit_at(7).is_some()).count() as u64
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(passed, 3);
        assert_eq!(budget.admit_at(8), Some(3997));
    }

    #[test]
    fn a_line_nobody_listens_to_leaves_the_budget_alone() {
        static BUDGET: LogBudget = LogBudget::new(1);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..10 {
                limited!(BUDGET, info, "not written at WARN");
            }
        });
        // Had they counted, the one line of this second would be gone (None), or, a second
        // later, nine would be reported held back.
        assert_eq!(BUDGET.admit(), Some(0));
    }
}
