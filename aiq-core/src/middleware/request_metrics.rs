//! `http.server.requests` and `http.server.request.duration`, one series per method, route
//! template and status, each registered with the recorder once.
//!
//! Recording through the `metrics` macros registers the series again on every call: the key is
//! built and hashed, every recorder behind a fan-out looks it up, and the OpenTelemetry one
//! converts the labels. A request pays that twice (counter and histogram), which was about a
//! tenth of the instrumented request path (`benches/overhead.rs`). The handles are kept here
//! instead, per recorder: when the current recorder changes (one installed after the first
//! request, or a test's local recorder) the kept handles are dropped and registered anew.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use axum::http::Method;
use metrics::{Counter, Histogram, Label};

/// The route label of a path no route knows.
pub(super) const UNMATCHED: &str = "unmatched";

/// Series kept at most; past it (an unusual spread of methods or statuses) records are still
/// made, through the macros.
const MAX_SERIES: usize = 4096;

/// The kept handles, shared by every request through one stack.
#[derive(Default)]
pub(super) struct RequestMetrics {
    kept: RwLock<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The recorder the handles belong to (its address).
    recorder: usize,
    /// By route template, then by method and status (a handful per route).
    routes: HashMap<Box<str>, Vec<(Method, u16, Series)>>,
    len: usize,
}

#[derive(Clone)]
struct Series {
    requests: Counter,
    duration: Histogram,
}

impl Series {
    fn record(&self, elapsed: Duration) {
        self.requests.increment(1);
        self.duration.record(elapsed.as_secs_f64());
    }
}

impl RequestMetrics {
    /// Counts one answered request and records how long it took.
    pub(super) fn record(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let recorder = current_recorder();
        let full = {
            let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
            if kept.recorder == recorder {
                if let Some(series) = kept.find(method, route, status) {
                    series.record(elapsed);
                    return;
                }
                kept.len >= MAX_SERIES
            } else {
                false
            }
        };
        let series = register(method, route, status);
        series.record(elapsed);
        if full {
            return;
        }
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if kept.recorder != recorder {
            *kept = Kept {
                recorder,
                ..Kept::default()
            };
        }
        if kept.len < MAX_SERIES && kept.find(method, route, status).is_none() {
            kept.len += 1;
            kept.routes
                .entry(route.into())
                .or_default()
                .push((method.clone(), status, series));
        }
    }
}

impl Kept {
    fn find(&self, method: &Method, route: &str, status: u16) -> Option<&Series> {
        self.routes
            .get(route)?
            .iter()
            .find(|(m, s, _)| *s == status && m == method)
            .map(|(_, _, series)| series)
    }
}

/// The address of the recorder the `metrics` macros would use here and now.
fn current_recorder() -> usize {
    metrics::with_recorder(|recorder| std::ptr::from_ref(recorder).cast::<()>() as usize)
}

/// Registers a series (once per series and recorder, so its label values may allocate).
fn register(method: &Method, route: &str, status: u16) -> Series {
    let labels = || {
        vec![
            Label::new("http.method", method.as_str().to_owned()),
            Label::new("http.route", route.to_owned()),
            Label::new("http.status_code", status.to_string()),
        ]
    };
    Series {
        requests: metrics::counter!(crate::telemetry::HTTP_REQUESTS, labels()),
        duration: metrics::histogram!(crate::telemetry::HTTP_REQUEST_DURATION, labels()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use metrics::{CounterFn, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};

    use super::*;

    /// Counts registrations and records.
    #[derive(Default)]
    struct Counting {
        registrations: AtomicUsize,
        records: Arc<AtomicUsize>,
    }

    struct Tally(Arc<AtomicUsize>);

    impl CounterFn for Tally {
        fn increment(&self, _: u64) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn absolute(&self, _: u64) {}
    }

    impl HistogramFn for Tally {
        fn record(&self, _: f64) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl Recorder for Counting {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            self.registrations.fetch_add(1, Ordering::Relaxed);
            Counter::from_arc(Arc::new(Tally(self.records.clone())))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            self.registrations.fetch_add(1, Ordering::Relaxed);
            Histogram::from_arc(Arc::new(Tally(self.records.clone())))
        }
    }

    #[test]
    fn a_series_is_registered_once_per_recorder_and_every_request_is_recorded() {
        let metrics = RequestMetrics::default();
        let first = Counting::default();
        metrics::with_local_recorder(&first, || {
            for _ in 0..3 {
                metrics.record(&Method::GET, "/v1/ping", 200, Duration::from_millis(1));
            }
            metrics.record(&Method::GET, "/v1/ping", 404, Duration::from_millis(1));
            metrics.record(&Method::POST, "/v1/ping", 200, Duration::from_millis(1));
        });
        // Three series, a counter and a histogram each; five requests, two records each.
        assert_eq!(first.registrations.load(Ordering::Relaxed), 6);
        assert_eq!(first.records.load(Ordering::Relaxed), 10);

        // Another recorder gets its own handles, not the first one's.
        let second = Counting::default();
        metrics::with_local_recorder(&second, || {
            metrics.record(&Method::GET, "/v1/ping", 200, Duration::from_millis(1));
        });
        assert_eq!(second.registrations.load(Ordering::Relaxed), 2);
        assert_eq!(second.records.load(Ordering::Relaxed), 2);
        assert_eq!(first.records.load(Ordering::Relaxed), 10);
    }
}
