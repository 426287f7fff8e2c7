//! The Prometheus exposition as the deployment guide queries it: every series carries
//! `service_name`, every counter exists at 0 from start-up, and the guide's three PromQL queries,
//! verbatim, select series (label matching only: a tiny evaluator of the selectors, not of the
//! functions around them).

mod support;

use support::{Server, client};

/// The deployment guide's queries, verbatim (docs/observability.md repeats them).
const GUIDE_QUERIES: [&str; 3] = [
    r#"rate(http_server_requests_total{service_name="aiq-backend"}[5m])"#,
    r#"rate(app_errors_total{service_name="aiq-backend"}[5m])"#,
    "histogram_quantile(0.95, rate(http_server_request_duration_bucket[5m]))",
];

/// A series selector: a metric name and `label="value"` matchers.
#[derive(Debug)]
struct Selector {
    name: String,
    matchers: Vec<(String, String)>,
}

impl Selector {
    /// The selector inside a query: the identifier right before `{` or `[`.
    fn of_query(query: &str) -> Self {
        let end = query
            .find(['{', '['])
            .unwrap_or_else(|| panic!("a selector in {query}"));
        let name: String = query[..end]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let matchers = if query[end..].starts_with('{') {
            let close = end + query[end..].find('}').unwrap();
            labels(&query[end + 1..close])
        } else {
            Vec::new()
        };
        Self { name, matchers }
    }

    fn selects(&self, series: &Series) -> bool {
        series.name == self.name
            && self
                .matchers
                .iter()
                .all(|matcher| series.labels.contains(matcher))
    }
}

/// One line of the exposition.
#[derive(Debug)]
struct Series {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// `a="x",b="y"` (values without commas or escaped quotes, as ours are).
fn labels(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            (
                key.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            )
        })
        .collect()
}

fn exposition(text: &str) -> Vec<Series> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, self::labels(rest.trim_end_matches('}'))),
                None => (series, Vec::new()),
            };
            Series {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

async fn scrape(server: &Server) -> Vec<Series> {
    let response = client()
        .get(server.url("/v1/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    exposition(&response.text().await.unwrap())
}

#[tokio::test]
async fn the_guides_queries_find_series_scraped() {
    let server = Server::start(&[("PROMETHEUS_METRICS_ENABLED", "true")]);

    // Right after start, before any request: the error counter is there, at 0.
    let fresh = scrape(&server).await;
    let errors = Selector::of_query(GUIDE_QUERIES[1]);
    let zero: Vec<&Series> = fresh.iter().filter(|s| errors.selects(s)).collect();
    assert!(!zero.is_empty(), "app_errors_total at start-up");
    assert!(zero.iter().all(|series| series.value == 0.0), "{zero:?}");
    for series in &fresh {
        assert!(
            series
                .labels
                .contains(&("service_name".to_owned(), "aiq-backend".to_owned())),
            "every series is labelled: {series:?}"
        );
    }

    let health = client().get(server.url("/v1/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let series = scrape(&server).await;
    for query in GUIDE_QUERIES {
        let selector = Selector::of_query(query);
        assert!(
            series.iter().any(|s| selector.selects(s)),
            "{query} selects nothing ({selector:?})"
        );
    }
    // The first query sees the health request itself.
    let requests = Selector::of_query(GUIDE_QUERIES[0]);
    assert!(series.iter().any(|s| {
        requests.selects(s)
            && s.labels
                .contains(&("http_route".to_owned(), "/v1/health".to_owned()))
            && s.value >= 1.0
    }));
}

#[tokio::test]
async fn the_service_name_follows_otel_service_name() {
    let server = Server::start(&[
        ("PROMETHEUS_METRICS_ENABLED", "true"),
        ("OTEL_SERVICE_NAME", "aiq-staging"),
    ]);
    let series = scrape(&server).await;
    let errors = Selector::of_query(r#"app_errors_total{service_name="aiq-staging"}"#);
    assert!(series.iter().any(|s| errors.selects(s)), "{series:?}");
}

#[test]
fn the_selector_reader_reads_what_it_must() {
    let selector = Selector::of_query(GUIDE_QUERIES[0]);
    assert_eq!(selector.name, "http_server_requests_total");
    assert_eq!(
        selector.matchers,
        [("service_name".to_owned(), "aiq-backend".to_owned())]
    );
    let bare = Selector::of_query(GUIDE_QUERIES[2]);
    assert_eq!(bare.name, "http_server_request_duration_bucket");
    assert!(bare.matchers.is_empty());
    let other = exposition("app_errors_total{service_name=\"x\"} 0\n");
    assert!(!Selector::of_query(GUIDE_QUERIES[1]).selects(&other[0]));
}
