//! The admin dashboard in a real browser: headless Chromium, driven through chromedriver over
//! WebDriver, works through the operator's day on the `aiq-server` binary with a PostgreSQL
//! store: log in, read the overview (and save a screenshot of it), find a user and let them skip
//! the cooldown, deactivate a question, export the users as CSV, read the audit log, log out.
//!
//! Needs `chromedriver` and `chromium` on the machine (Debian: `chromium chromium-driver`;
//! `.ci/run` installs them). Without them the test fails, saying so: it is never skipped.

#[path = "admin_browser/driver.rs"]
mod driver;
#[path = "admin_browser/page.rs"]
mod page;
mod support;
#[path = "admin_browser/world.rs"]
mod world;

use std::io::ErrorKind;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aiq_testkit::TestDb;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::json;
use support::{BIN, PATIENCE, Server, call_json, client, command};

use driver::*;
use page::*;
use world::*;

const STARTER_BANK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../aiq-core/data/starter-bank.jsonl"
);
const STARTER_BANK_SIZE: u64 = 990;

const ADMIN_USERNAME: &str = "operator";
const ADMIN_PASSWORD: &str = "a long operator password, 42";
const SESSION_COOKIE: &str = "aiq_admin_session";
/// The first name one user registers with: the pages must show it as text, never run it.
const SCRIPT_NAME: &str = "<script>alert(1)</script>";

const MISSING_DRIVER: &str = "install chromium and chromium-driver (Debian) — .ci/run does";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_through_the_dashboard_in_a_real_browser() {
    // The browser first: without one there is nothing to test, and the message says what to
    // install.
    let mut driver = ChromeDriver::start().await;

    let db = TestDb::create().await;
    let import = command(&[("DATABASE_URL", db.url())])
        .args(["questions", "import", STARTER_BANK])
        .output()
        .expect("run aiq-server questions import");
    let report = String::from_utf8_lossy(&import.stdout);
    assert!(
        import.status.success()
            && report.contains(&format!("added {STARTER_BANK_SIZE}, skipped 0, rejected 0")),
        "the starter bank imports: {report}{}",
        String::from_utf8_lossy(&import.stderr)
    );

    // A bcrypt hash made by another implementation than the dashboard's own hash-password.
    let hash = bcrypt::hash(ADMIN_PASSWORD, 10).expect("bcrypt hashes the password");
    assert!(hash.starts_with("$2"), "{hash}");
    let server = Server::start(&[
        ("DATABASE_URL", db.url()),
        ("ADMIN_ENABLED", "true"),
        ("ADMIN_USERNAME", ADMIN_USERNAME),
        ("ADMIN_PASSWORD_HASH", &hash),
    ]);

    let (pg, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    let people = register_people(&server, &pg).await;
    let iq_score = complete_a_test(&server, &people[0]).await;
    start_a_test(&server, &people[1]).await;
    drop(pg);

    let downloads = TempDir::new("admin-downloads");
    let world = World {
        base: server.url(""),
        db_url: db.url().to_owned(),
        downloads: downloads.0.clone(),
        screenshot: artifact_dir().join("admin-overview.png"),
        people,
        iq_score,
    };
    let browser = driver.session(&downloads.0).await;
    // The scenario runs as its own task so that, pass or fail, the browser session is closed
    // before the failure is reported.
    let outcome = tokio::spawn(scenario(browser.clone(), world)).await;
    let closed = browser.close().await;
    let shut_down = driver.shutdown().await;
    match outcome {
        Ok(()) => {}
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("the browser scenario did not finish: {error}"),
    }
    closed.expect("the browser session closes");
    shut_down.expect("chromedriver quits on /shutdown");
    drop(driver);
    drop(server);
    drop(db);
}

async fn scenario(browser: Client, world: World) {
    let page = Page { browser };
    let (pg, connection) = tokio_postgres::connect(&world.db_url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    let ada = world.person("ada.lovelace@example.com");
    let grace = world.person("grace.hopper@example.com");
    let mallory = world.person("mallory@example.com");

    // --- Login: a page behind the login leads to the form; a wrong password is refused.
    page.goto(&world.url("/admin/users")).await;
    page.wait_for_path("/admin/login").await;
    page.type_into("#username", ADMIN_USERNAME).await;
    page.type_into("#password", "not the password").await;
    page.click("#login").await;
    page.wait_for_text("p.error", "Wrong username or password.")
        .await;
    assert_eq!(page.path().await, "/admin/login");
    page.type_into("#username", ADMIN_USERNAME).await;
    page.type_into("#password", ADMIN_PASSWORD).await;
    page.click("#login").await;
    page.wait_for_path("/admin").await;
    assert_eq!(page.text("h1").await, "Overview");
    assert_eq!(page.text("header .who").await, ADMIN_USERNAME);

    // --- Overview: the counts are what was created, and each chart has that data.
    for (id, expected) in [
        ("count-users", 3),
        ("count-in-progress", 1),
        ("count-completed", 1),
        ("count-abandoned", 0),
        ("count-questions", STARTER_BANK_SIZE),
    ] {
        assert_eq!(
            page.text(&format!("#{id}")).await,
            expected.to_string(),
            "#{id} on the overview"
        );
    }
    let charts = page
        .browser
        .execute(
            "return Array.from(document.querySelectorAll('svg.chart')).map(svg => ({
                bars: Array.from(svg.querySelectorAll('rect.bar'))
                    .filter(bar => parseFloat(bar.getAttribute('height')) > 0)
                    .map(bar => bar.querySelector('title').textContent),
                cells: Array.from(svg.querySelectorAll('text.cell-label'))
                    .map(label => label.textContent),
                width: svg.getBoundingClientRect().width,
                height: svg.getBoundingClientRect().height,
            }));",
            vec![],
        )
        .await
        .expect("read the charts");
    let charts = charts.as_array().expect("a list of charts");
    assert_eq!(charts.len(), 3, "three charts: {charts:?}");
    for chart in charts {
        assert!(
            chart["width"].as_f64() > Some(300.0) && chart["height"].as_f64() > Some(100.0),
            "every chart is drawn at a readable size (is the stylesheet served?): {chart}"
        );
    }
    let bin = world.iq_score.div_euclid(5) * 5;
    assert_eq!(
        charts[0]["bars"],
        json!([format!("{bin}: 1")]),
        "the IQ distribution has one bar, for the one completed test (IQ {})",
        world.iq_score
    );
    let days = charts[1]["bars"].as_array().expect("bars");
    assert!(
        days.len() == 1 && days[0].as_str().is_some_and(|t| t.ends_with(": 1")),
        "one day with one completed test: {days:?}"
    );
    let cells: Vec<&str> = charts[2]["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(cells.len(), 18, "a heat map cell per domain and difficulty");
    let total: u64 = cells
        .iter()
        .map(|c| {
            let all = c.trim_end_matches(" !").split('/').nth(1).expect("n/m");
            all.parse::<u64>().expect("a count")
        })
        .sum();
    assert_eq!(
        total, STARTER_BANK_SIZE,
        "the heat map holds the bank: {cells:?}"
    );

    // The screenshot: the window made as tall as the page, so all three charts are in it.
    let height = page
        .browser
        .execute(
            "return document.documentElement.scrollHeight + (window.outerHeight - window.innerHeight);",
            vec![],
        )
        .await
        .expect("measure the page")
        .as_u64()
        .expect("a height");
    let height = u32::try_from(height).expect("a sane page height").max(1000);
    page.browser
        .set_window_size(1400, height)
        .await
        .expect("resize the window to the page");
    let png = page.browser.screenshot().await.expect("take a screenshot");
    page.browser
        .set_window_size(1400, 1000)
        .await
        .expect("restore the window size");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is a PNG"
    );
    let width = u32::from_be_bytes(png[16..20].try_into().expect("IHDR width"));
    let shot_height = u32::from_be_bytes(png[20..24].try_into().expect("IHDR height"));
    assert!(
        width >= 1000 && shot_height >= 900 && png.len() > 20_000,
        "a screenshot of a whole page: {width}x{shot_height}, {} bytes",
        png.len()
    );
    if let Some(dir) = world.screenshot.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("create the artifact directory {}: {e}", dir.display()));
    }
    std::fs::write(&world.screenshot, &png)
        .unwrap_or_else(|e| panic!("write {}: {e}", world.screenshot.display()));
    let written = std::fs::metadata(&world.screenshot).expect("the screenshot file exists");
    assert_eq!(written.len(), png.len() as u64);
    println!(
        "overview screenshot ({width}x{shot_height}, {} bytes): {}",
        png.len(),
        world.screenshot.display()
    );

    // --- Users: the list shows the user named <script> as text, and nothing ran.
    page.click("header nav a[href='/admin/users']").await;
    page.wait_for_path("/admin/users").await;
    page.wait_for_text("h1", "Users").await;
    let rows = page.table().await;
    assert_eq!(rows.len(), 3, "three users: {rows:?}");
    let expected_name = format!("{SCRIPT_NAME} {}", mallory.last_name);
    assert!(
        rows.iter()
            .any(|row| row[1] == mallory.email && row[2] == expected_name),
        "the name is shown literally: {rows:?}"
    );
    assert!(
        page.body_text().await.contains(SCRIPT_NAME),
        "the page text holds the name as typed"
    );
    assert_eq!(
        page.script_count().await,
        0,
        "no script element on the page"
    );
    page.assert_no_dialog().await;
    page.goto(&world.url(&format!("/admin/users/{}", mallory.id)))
        .await;
    assert_eq!(
        page.text("dl.fields dd").await,
        expected_name,
        "the detail page shows the name literally"
    );
    assert_eq!(
        page.script_count().await,
        0,
        "no script element on the page"
    );
    page.assert_no_dialog().await;

    // Search by part of an email, open the one match, let them skip the cooldown.
    page.goto(&world.url("/admin/users")).await;
    page.type_into("#user-search", "hopper").await;
    page.click("#user-search-submit").await;
    let searching = &page;
    eventually("the search to be applied", || async move {
        let page = searching;
        let path = page.path().await;
        if path.starts_with("/admin/users?") && path.contains("q=hopper") {
            Ok(())
        } else {
            Err(path)
        }
    })
    .await;
    let rows = page.table().await;
    assert_eq!(rows.len(), 1, "one user matches 'hopper': {rows:?}");
    assert_eq!(rows[0][1], grace.email);
    assert_eq!(
        rows[0][2],
        format!("{} {}", grace.first_name, grace.last_name)
    );
    page.click(&format!("table tbody a[href='/admin/users/{}']", grace.id))
        .await;
    page.wait_for_path(&format!("/admin/users/{}", grace.id))
        .await;
    assert_eq!(
        page.text("h1").await,
        format!("User {}: {}", grace.id, grace.email)
    );
    assert_eq!(page.text("#bypass-state").await, "off");
    page.click("#toggle-bypass").await;
    page.wait_for_path(&format!("/admin/users/{}?done=bypass-on", grace.id))
        .await;
    page.wait_for_text("#bypass-state", "on").await;
    assert_eq!(
        page.text("p.notice").await,
        "Cooldown bypass is on for this user."
    );
    assert_eq!(page.text("#toggle-bypass").await, "Clear cooldown bypass");
    let bypass: bool = pg
        .query_one(
            "SELECT bypass_cooldown FROM users WHERE id = $1",
            &[&grace.id],
        )
        .await
        .expect("read the user's flag")
        .get(0);
    assert!(bypass, "the bypass is stored");
    let others: i64 = pg
        .query_one(
            "SELECT count(*) FROM users WHERE bypass_cooldown AND id > 0",
            &[],
        )
        .await
        .expect("count bypassing users")
        .get(0);
    assert_eq!(others, 1, "only the chosen user bypasses the cooldown");

    // --- Questions: open one and deactivate it.
    page.click("header nav a[href='/admin/questions']").await;
    page.wait_for_path("/admin/questions").await;
    page.wait_for_text("h1", "Questions").await;
    let first = page.find("table tbody tr td a").await;
    let question_id: i64 = first
        .text()
        .await
        .expect("read the question's id")
        .parse()
        .expect("the first cell is the question's id");
    first.click().await.expect("open the question");
    page.wait_for_path(&format!("/admin/questions/{question_id}"))
        .await;
    assert!(
        page.text("h1")
            .await
            .starts_with(&format!("Question {question_id}")),
        "the question's page"
    );
    assert_eq!(page.text("#active-state").await, "yes");
    page.click("#toggle-active").await;
    page.wait_for_path(&format!("/admin/questions/{question_id}?done=deactivated"))
        .await;
    page.wait_for_text("#active-state", "no").await;
    assert_eq!(
        page.text("p.notice").await,
        "The question is inactive: tests no longer select it."
    );
    let active: bool = pg
        .query_one(
            "SELECT is_active FROM questions WHERE id = $1",
            &[&question_id],
        )
        .await
        .expect("read the question")
        .get(0);
    assert!(!active, "the deactivation is stored");

    // --- Export the users list as CSV, through the browser's download.
    page.goto(&world.url("/admin/users")).await;
    let href = page
        .find("#export-users")
        .await
        .attr("href")
        .await
        .expect("read the export link");
    assert!(
        href.as_deref()
            .is_some_and(|h| h.starts_with("/admin/users.csv")),
        "{href:?}"
    );
    page.click("#export-users").await;
    let downloads = world.downloads.as_path();
    let csv_path = downloads.join("users.csv");
    let csv_path = csv_path.as_path();
    let rows: Vec<csv::StringRecord> = eventually("users.csv to be downloaded", || async move {
        let listing: Vec<String> = std::fs::read_dir(downloads)
            .map_err(|e| e.to_string())?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        // Chromium writes into `.crdownload` and renames when the download is complete.
        if !listing.iter().any(|name| name == "users.csv") {
            return Err(format!("the download directory holds {listing:?}"));
        }
        csv::Reader::from_path(csv_path)
            .and_then(|mut reader| {
                let mut rows = vec![reader.headers()?.clone()];
                for row in reader.records() {
                    rows.push(row?);
                }
                Ok(rows)
            })
            .map_err(|e| e.to_string())
    })
    .await;
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        [
            "id",
            "email",
            "first_name",
            "last_name",
            "created_at",
            "last_login_at",
            "completed_tests",
            "notification_enabled",
            "bypass_cooldown",
            "is_admin",
        ],
        "the CSV header"
    );
    let users = &rows[1..];
    assert_eq!(users.len(), 3, "a row per user: {users:?}");
    for person in &world.people {
        let row = users
            .iter()
            .find(|row| &row[1] == person.email)
            .unwrap_or_else(|| panic!("{} is in the export: {users:?}", person.email));
        assert_eq!(&row[0], person.id.to_string(), "{row:?}");
        assert_eq!(&row[2], person.first_name, "{row:?}");
        assert_eq!(&row[3], person.last_name, "{row:?}");
        let completed = if person.email == ada.email { "1" } else { "0" };
        assert_eq!(&row[6], completed, "completed tests: {row:?}");
        let bypass = if person.email == grace.email {
            "true"
        } else {
            "false"
        };
        assert_eq!(&row[8], bypass, "cooldown bypass: {row:?}");
        assert_eq!(&row[9], "false", "admin: {row:?}");
    }

    // --- The audit log lists every action, with who did it and to what.
    page.click("header nav a[href='/admin/audit']").await;
    page.wait_for_path("/admin/audit").await;
    page.wait_for_text("h1", "Audit log").await;
    let log = page.table().await;
    let entry = |action: &str| {
        log.iter()
            .find(|row| row.get(2).map(String::as_str) == Some(action))
            .unwrap_or_else(|| panic!("{action} is in the audit log: {log:?}"))
            .clone()
    };
    for action in ["login", "export.users"] {
        assert_eq!(entry(action)[1], ADMIN_USERNAME, "who did {action}");
    }
    // A failed login keeps no typed username (it may be a misplaced password).
    assert_eq!(entry("login.failed")[1], "(failed login)");
    let bypass = entry("user.bypass_cooldown.set");
    assert_eq!(
        bypass[1..5],
        [
            ADMIN_USERNAME.to_owned(),
            "user.bypass_cooldown.set".to_owned(),
            format!("user:{}", grace.id),
            "bypass_cooldown=true".to_owned()
        ]
    );
    let deactivated = entry("question.active.set");
    assert_eq!(
        deactivated[1..5],
        [
            ADMIN_USERNAME.to_owned(),
            "question.active.set".to_owned(),
            format!("question:{question_id}"),
            "is_active=false".to_owned()
        ]
    );

    // --- Logout revokes the session on the server, not only in the browser.
    let cookie = page
        .browser
        .get_named_cookie(SESSION_COOKIE)
        .await
        .expect("the browser holds the session cookie");
    let old_cookie = format!("{SESSION_COOKIE}={}", cookie.value());
    let users_url = world.url("/admin/users");
    let (status, path, body) = get_with_cookie(&users_url, &old_cookie).await;
    assert_eq!(
        (status.as_u16(), path.as_str()),
        (200, "/admin/users"),
        "the cookie works while logged in"
    );
    assert!(body.contains(grace.email), "{body}");
    let sessions: i64 = pg
        .query_one("SELECT count(*) FROM admin_sessions", &[])
        .await
        .expect("count admin sessions")
        .get(0);
    assert_eq!(sessions, 1, "one login session is stored");

    page.click("#logout").await;
    page.wait_for_path("/admin/login").await;
    assert!(
        page.browser.get_named_cookie(SESSION_COOKIE).await.is_err(),
        "logout removes the cookie from the browser"
    );
    page.goto(&world.url("/admin/users")).await;
    page.wait_for_path("/admin/login").await;
    page.find("#login").await;

    let (status, path, body) = get_with_cookie(&users_url, &old_cookie).await;
    assert_eq!(
        (status.as_u16(), path.as_str()),
        (200, "/admin/login"),
        "the old cookie leads to the login form"
    );
    assert!(
        !body.contains(grace.email),
        "no user data with a revoked cookie"
    );
    let sessions: i64 = pg
        .query_one("SELECT count(*) FROM admin_sessions", &[])
        .await
        .expect("count admin sessions")
        .get(0);
    assert_eq!(sessions, 0, "logout deleted the stored session");
    // Even put back into the browser, the old cookie no longer opens a page.
    page.browser
        .add_cookie(cookie)
        .await
        .expect("put the old cookie back");
    page.goto(&world.url("/admin/users")).await;
    page.wait_for_path("/admin/login").await;
    let logouts: i64 = pg
        .query_one(
            "SELECT count(*) FROM admin_audit_log WHERE action = 'logout' AND actor = $1",
            &[&ADMIN_USERNAME],
        )
        .await
        .expect("count logouts")
        .get(0);
    assert_eq!(logouts, 1, "the logout is in the audit log");
}

/// `GET url` with only `cookie`, following redirects: the status, the final path and the body.
async fn get_with_cookie(url: &str, cookie: &str) -> (reqwest::StatusCode, String, String) {
    let response = client()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    let path = response.url().path().to_owned();
    (status, path, response.text().await.expect("a body"))
}
