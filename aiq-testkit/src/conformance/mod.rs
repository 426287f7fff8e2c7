//! The storage conformance suite: what every [`Storage`] backend must do the same way, as cases
//! that run against any backend.
//!
//! aiq-core's own stores (the in-memory store and PostgreSQL) run it in
//! `aiq-core/tests/storage_conformance.rs`; a third-party backend runs it with one call to
//! [`storage_conformance`], handing in a factory that makes a fresh, empty store. Each case gets
//! a store of its own, runs on its own task (a panic fails that case only, and every other case
//! still runs), and prints one line when it ends, so the granularity of the old
//! one-test-per-case layout stays visible although one `#[test]` runs the whole suite.
//!
//! The cases are grouped by what they hold, and a case's name starts with its group: `users`
//! (accounts, logins, OAuth), `credentials` (reset tokens, revocations), `bank` (the item bank),
//! `sessions`, `records` (claims, statistics, configuration, deletion), `adaptive`,
//! `analytics`, `groups`, `reminders` and `calibration` (the daily jobs over their store
//! queries), and `admin::{lists, records, exports}`. States that only a particular backend can
//! set up (rows written behind the trait's back) are no part of it: aiq-core tests those on
//! PostgreSQL itself.

mod adaptive;
mod admin;
mod analytics;
mod bank;
mod calibration;
mod common;
mod credentials;
mod groups;
mod records;
mod reliability;
mod reminders;
mod sessions;
mod users;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiq_core::storage::Storage;
use tokio::task::{JoinError, JoinHandle, JoinSet};

/// What a case returns to the runner.
type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One case of the suite: a plain `async fn(Arc<dyn Storage>)` that panics when the store
/// misbehaves.
pub(crate) struct Case {
    /// The module that holds it (`aiq_testkit::conformance::groups`).
    pub(crate) module: &'static str,
    /// The function's name.
    pub(crate) name: &'static str,
    /// Runs the case on a fresh store.
    pub(crate) run: fn(Arc<dyn Storage>) -> CaseFuture,
}

impl Case {
    /// `groups::join_outcomes_follow_the_code_and_the_seats`.
    fn full_name(&self) -> String {
        let group = self
            .module
            .strip_prefix(concat!(module_path!(), "::"))
            .unwrap_or(self.module);
        format!("{group}::{}", self.name)
    }
}

/// Declares the module's `CASES` from the names of its case functions.
macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        pub(crate) const CASES: &[$crate::conformance::Case] = &[$(
            $crate::conformance::Case {
                module: module_path!(),
                name: stringify!($name),
                run: |store| Box::pin($name(store)),
            },
        )*];
    };
}
use cases;

/// Every case, in the order they are started.
const SUITE: &[&[Case]] = &[
    users::CASES,
    credentials::CASES,
    bank::CASES,
    sessions::CASES,
    records::CASES,
    reliability::CASES,
    adaptive::CASES,
    analytics::CASES,
    groups::CASES,
    reminders::CASES,
    calibration::CASES,
    admin::lists::CASES,
    admin::records::CASES,
    admin::exports::CASES,
];

fn suite() -> impl Iterator<Item = &'static Case> {
    SUITE.iter().flat_map(|cases| cases.iter())
}

/// The names of every case of the suite (`users::ping_answers`, ...), in the order they start.
pub fn case_names() -> Vec<String> {
    suite().map(Case::full_name).collect()
}

/// What a store factory returns: a fresh store, and whatever must live as long as it does.
///
/// Every [`Storage`] is one (with nothing to keep alive); wrap a store whose database must be
/// dropped after it in [`Guarded`].
pub trait FreshStore: Send + 'static {
    /// The store, and a guard dropped after the case is done with the store.
    fn into_parts(self) -> (Arc<dyn Storage>, Box<dyn Any + Send>);
}

impl<S: Storage> FreshStore for S {
    fn into_parts(self) -> (Arc<dyn Storage>, Box<dyn Any + Send>) {
        (Arc::new(self), Box::new(()))
    }
}

/// A store with a guard that must outlive it, such as the [`TestDb`](crate::TestDb) it lives in.
///
/// ```no_run
/// use aiq_core::Config;
/// use aiq_core::storage::PgStore;
/// use aiq_testkit::TestDb;
/// use aiq_testkit::conformance::{Guarded, storage_conformance};
///
/// # async fn test() {
/// storage_conformance(|| async {
///     let db = TestDb::create().await;
///     let mut config = Config::default();
///     config.database.url = Some(db.url().to_owned().into());
///     let store = PgStore::connect(&config.database).unwrap();
///     store.migrate().await.unwrap();
///     Guarded::new(store, db) // the database is dropped after the case
/// })
/// .await;
/// # }
/// ```
#[derive(Debug)]
pub struct Guarded<S, G> {
    store: S,
    guard: G,
}

impl<S, G> Guarded<S, G> {
    /// `store`, with `guard` dropped only once the case is done with the store.
    pub fn new(store: S, guard: G) -> Self {
        Self { store, guard }
    }
}

impl<S: Storage, G: Send + 'static> FreshStore for Guarded<S, G> {
    fn into_parts(self) -> (Arc<dyn Storage>, Box<dyn Any + Send>) {
        (Arc::new(self.store), Box::new(self.guard))
    }
}

/// Runs every case of the suite, each on a fresh store from `make`, and panics naming every
/// case that failed; returns the report when all passed.
///
/// `make` is called once per case; the store it makes must be empty (as after migrations: the
/// guest sentinel user is there, nothing else). Cases run a few at a time
/// ([`Conformance::DEFAULT_CONCURRENCY`]) on tasks of the current tokio runtime, so call it from
/// a multi-threaded runtime. Each case prints one line to stderr as it ends (not captured by
/// the test harness). Set `AIQ_CONFORMANCE_FILTER` to a part of a case's name to run only the
/// cases whose names contain it, and `AIQ_CONFORMANCE_CONCURRENCY` to change how many run at
/// once. [`Conformance`] sets the same in code, and the timeout.
///
/// ```no_run
/// use aiq_core::storage::MemoryStore;
/// use aiq_testkit::conformance::storage_conformance;
///
/// #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn my_store_conforms() {
///     // Replace `MemoryStore::new()` with your own backend, fresh and empty.
///     storage_conformance(|| async { MemoryStore::new() }).await;
/// }
/// ```
pub async fn storage_conformance<F, Fut>(make: F) -> Report
where
    F: FnMut() -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: FreshStore,
{
    Conformance::from_env().run(make).await.assert_passed()
}

/// How the suite is run: how many cases at a time, which cases, and how long one may take.
#[derive(Debug, Clone)]
pub struct Conformance {
    concurrency: usize,
    filter: Option<String>,
    timeout: Duration,
    /// Whether each case prints its line (off in the runner's own tests, whose failures are
    /// deliberate and would read as real ones in a passing run's output).
    print_lines: bool,
}

impl Default for Conformance {
    fn default() -> Self {
        Self {
            concurrency: Self::DEFAULT_CONCURRENCY,
            filter: None,
            timeout: Self::DEFAULT_TIMEOUT,
            print_lines: true,
        }
    }
}

impl Conformance {
    /// Cases in flight at once. They mostly wait on their store (PostgreSQL creates, migrates
    /// and drops a database per case): on two busy cores, the whole suite on PostgreSQL took
    /// 25-40 s four at a time, 15-20 s eight at a time, and no less sixteen at a time.
    pub const DEFAULT_CONCURRENCY: usize = 8;

    /// How long one case may take before it fails as hung (not a performance target).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// Every case, [`DEFAULT_CONCURRENCY`](Self::DEFAULT_CONCURRENCY) at a time.
    pub fn new() -> Self {
        Self::default()
    }

    /// [`new`](Self::new), with the filter taken from `AIQ_CONFORMANCE_FILTER` and the
    /// concurrency from `AIQ_CONFORMANCE_CONCURRENCY` when they are set.
    pub fn from_env() -> Self {
        let mut conformance = Self::new();
        if let Ok(filter) = std::env::var("AIQ_CONFORMANCE_FILTER")
            && !filter.is_empty()
        {
            conformance = conformance.filter(filter);
        }
        if let Some(n) = std::env::var("AIQ_CONFORMANCE_CONCURRENCY")
            .ok()
            .and_then(|n| n.parse().ok())
        {
            conformance = conformance.concurrency(n);
        }
        conformance
    }

    /// Runs `n` cases at a time (at least one).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Runs only the cases whose names (`groups::...`) contain `part`.
    pub fn filter(mut self, part: impl Into<String>) -> Self {
        self.filter = Some(part.into());
        self
    }

    /// Fails a case that has not ended after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the selected cases, each on a fresh store from `make`, and reports how each ended;
    /// it never panics because a case failed (see [`Report::assert_passed`]).
    #[must_use = "the report is the only sign that a case failed"]
    pub async fn run<F, Fut>(&self, make: F) -> Report
    where
        F: FnMut() -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: FreshStore,
    {
        let selected = suite()
            .filter(|case| {
                self.filter
                    .as_deref()
                    .is_none_or(|part| case.full_name().contains(part))
            })
            .collect();
        let mut report = self.run_cases(selected, make).await;
        report.suite_size = suite().count();
        report
    }

    /// Runs `cases`, [`concurrency`](Self::concurrency) at a time, and reports them in the
    /// order given.
    async fn run_cases<F, Fut>(&self, cases: Vec<&'static Case>, mut make: F) -> Report
    where
        F: FnMut() -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: FreshStore,
    {
        let suite_size = cases.len();
        let mut queue = cases.into_iter().enumerate();
        let mut running = JoinSet::new();
        let mut outcomes = Vec::new();
        loop {
            while running.len() < self.concurrency {
                let Some((index, case)) = queue.next() else {
                    break;
                };
                let fresh = make();
                running.spawn(run_case(index, case, fresh, self.timeout));
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            // `run_case` catches what the case and the factory do; only a bug of its own gets here.
            let (index, outcome) = joined.expect("the conformance runner itself panicked");
            if self.print_lines {
                print_line(&outcome);
            }
            outcomes.push((index, outcome));
        }
        outcomes.sort_by_key(|(index, _)| *index);
        Report {
            filter: self.filter.clone(),
            suite_size,
            outcomes: outcomes.into_iter().map(|(_, outcome)| outcome).collect(),
        }
    }
}

/// Makes the store, runs `case` on it, then drops the store and its guard. Making the store and
/// running the case each get `timeout`; a panic in either fails this case only.
async fn run_case<Fut>(
    index: usize,
    case: &'static Case,
    fresh: Fut,
    timeout: Duration,
) -> (usize, CaseOutcome)
where
    Fut: Future + Send + 'static,
    Fut::Output: FreshStore,
{
    let started = Instant::now();
    let mut backend = None;
    let made = within(
        timeout,
        tokio::spawn(async move { fresh.await.into_parts() }),
    )
    .await;
    let failure = match made {
        Err(failure) => Some(format!("making its store failed: {failure}")),
        Ok((store, guard)) => {
            backend = Some(store.backend());
            let failure = within(timeout, tokio::spawn((case.run)(store))).await.err();
            // Dropping a test database waits for the server: off the async workers.
            let _ = tokio::task::spawn_blocking(move || drop(guard)).await;
            failure
        }
    };
    let outcome = CaseOutcome {
        name: case.full_name(),
        backend,
        elapsed: started.elapsed(),
        failure,
    };
    (index, outcome)
}

/// What `task` returned, or how it failed: its panic message, or that it took longer than
/// `timeout` (it is then aborted, and gone when this returns).
async fn within<T>(timeout: Duration, mut task: JoinHandle<T>) -> Result<T, String> {
    match tokio::time::timeout(timeout, &mut task).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(failed)) => Err(panic_message(failed)),
        Err(_) => {
            task.abort();
            let _ = task.await;
            Err(format!("did not end within {timeout:?}"))
        }
    }
}

/// What a failed task panicked with.
fn panic_message(error: JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panicked with a non-string payload".to_owned()),
        Err(error) => format!("was cancelled: {error}"),
    }
}

/// One line per case, like the test harness's own, written past its output capture.
fn print_line(outcome: &CaseOutcome) {
    let verdict = if outcome.passed() { "ok" } else { "FAILED" };
    let line = format!(
        "conformance ({}) {} ... {verdict} ({} ms)\n",
        outcome.backend.unwrap_or("?"),
        outcome.name,
        outcome.elapsed.as_millis()
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// How one case ended.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The case's name (`groups::join_outcomes_follow_the_code_and_the_seats`).
    pub name: String,
    /// The store's [`backend`](Storage::backend) name; `None` when the factory failed.
    pub backend: Option<&'static str>,
    /// How long the case took, its store's creation included.
    pub elapsed: Duration,
    /// What went wrong (the panic message), or `None` when the case passed.
    pub failure: Option<String>,
}

impl CaseOutcome {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// How every case of a run ended, in the suite's order.
#[derive(Debug, Clone)]
pub struct Report {
    filter: Option<String>,
    suite_size: usize,
    outcomes: Vec<CaseOutcome>,
}

impl Report {
    /// Every case that ran.
    pub fn outcomes(&self) -> &[CaseOutcome] {
        &self.outcomes
    }

    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseOutcome> {
        self.outcomes.iter().filter(|outcome| !outcome.passed())
    }

    /// Whether every case that ran passed.
    pub fn all_passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Returns the report when every case passed; panics naming each failed case otherwise.
    #[track_caller]
    pub fn assert_passed(self) -> Self {
        assert!(self.all_passed(), "{self}");
        self
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        let backend = self
            .outcomes
            .iter()
            .find_map(|outcome| outcome.backend)
            .unwrap_or("?");
        write!(
            f,
            "storage conformance on {backend}: {} passed, {failed} failed",
            self.outcomes.len() - failed
        )?;
        if let Some(filter) = &self.filter {
            write!(
                f,
                " ({} of {} cases, filter {filter:?})",
                self.outcomes.len(),
                self.suite_size
            )?;
        }
        for outcome in self.failures() {
            let failure = outcome.failure.as_deref().unwrap_or_default();
            write!(
                f,
                "\n  {}: {}",
                outcome.name,
                failure.replace('\n', "\n    ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aiq_core::storage::MemoryStore;

    use super::*;

    async fn passes(store: Arc<dyn Storage>) {
        store.ping().await.unwrap();
    }

    async fn fails(_: Arc<dyn Storage>) {
        panic!("the store said no");
    }

    async fn hangs(_: Arc<dyn Storage>) {
        std::future::pending::<()>().await;
    }

    async fn fails_too(_: Arc<dyn Storage>) {
        panic!("{} went wrong", 2);
    }

    cases!(passes, fails, hangs, fails_too);

    /// Runs quietly: these failures are meant.
    fn quiet() -> Conformance {
        Conformance {
            print_lines: false,
            ..Conformance::new()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_case_runs_and_every_failure_is_named() {
        let made = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&made);
        let report = quiet()
            .concurrency(2)
            // Long enough for a panicking case to print its backtrace on a loaded machine
            // (CI sets RUST_BACKTRACE; resolving the first one took over 200 ms there).
            .timeout(Duration::from_secs(2))
            .run_cases(CASES.iter().collect(), move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { MemoryStore::new() }
            })
            .await;
        assert_eq!(made.load(Ordering::SeqCst), 4, "a fresh store per case");
        let outcomes: Vec<_> = report
            .outcomes()
            .iter()
            .map(|o| (o.name.as_str(), o.failure.as_deref()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("tests::passes", None),
                ("tests::fails", Some("the store said no")),
                ("tests::hangs", Some("did not end within 2s")),
                ("tests::fails_too", Some("2 went wrong")),
            ],
            "in the suite's order, whatever order they ended in"
        );
        assert!(!report.all_passed());
        let message = report.to_string();
        assert!(
            message.starts_with("storage conformance on memory: 1 passed, 3 failed"),
            "{message}"
        );
        for name in ["tests::fails:", "tests::hangs:", "tests::fails_too:"] {
            assert!(message.contains(name), "{message}");
        }
        let panicked = std::panic::catch_unwind(|| report.assert_passed());
        assert!(panicked.is_err(), "a failed run does not pass");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_factory_that_fails_fails_its_case_only() {
        let calls = AtomicUsize::new(0);
        let report = quiet()
            .run_cases(CASES[..1].iter().chain(&CASES[..1]).collect(), || {
                let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
                async move {
                    assert!(!first, "no database today");
                    MemoryStore::new()
                }
            })
            .await;
        let failures: Vec<_> = report
            .outcomes()
            .iter()
            .map(|o| o.failure.clone())
            .collect();
        assert_eq!(
            failures,
            [
                Some("making its store failed: no database today".to_owned()),
                None
            ]
        );
    }

    #[test]
    fn the_suite_names_each_case_once_by_group() {
        let names = case_names();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names.contains(&"users::ping_answers".to_owned()));
        assert!(names.contains(&"admin::exports::export_limits_are_clamped".to_owned()));
    }
}
