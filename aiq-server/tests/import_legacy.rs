//! `aiq-server import-legacy` seen by the users: after importing the legacy fixture (every quirk
//! of original-schema.md), the real server on the imported database answers each user what
//! the old database holds, and the old backend's tokens keep working or stay revoked.

mod support;

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use support::legacy::{OLD_SECRET, Switch, old_token};
use support::{Server, client};
use tokio_postgres::Client;

/// Starts aiq on the imported database with the old backend's signing key.
fn serve(switch: &Switch) -> Server {
    Server::start(&[
        ("DATABASE_URL", switch.new.url()),
        ("SEED_STARTER_BANK", "false"),
        ("JWT_SECRET_KEY", OLD_SECRET),
        ("RATE_LIMIT_ENABLED", "false"),
    ])
}

async fn get(server: &Server, path: &str, token: &str) -> (StatusCode, serde_json::Value) {
    let response = client()
        .request(Method::GET, server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

async fn login(server: &Server, email: &str, password: &str) -> (StatusCode, serde_json::Value) {
    let response = client()
        .post(server.url("/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The user's results in the old database, newest first: (id, iq_score, percentile).
async fn old_results(old: &Client, user: i32) -> Vec<(i64, i64, Option<f64>)> {
    old.query(
        "SELECT id::int8, iq_score::int8, percentile_rank FROM test_results \
         WHERE user_id = $1 ORDER BY completed_at DESC, id DESC",
        &[&user],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2)))
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_user_finds_their_account_history_and_groups() {
    let switch = Switch::with_quirks().await;
    let summary = switch.import_ok(&[]);
    assert_eq!(summary["refused"], 0, "{summary}");
    let old = switch.old_client().await;
    let server = serve(&switch);

    let mut checked_results = 0;
    let mut checked_groups = 0;
    for user in aiq_testkit::legacy::QUIRK_USERS {
        let (status, body) = login(&server, user.email, user.password).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{} ({}): {body}",
            user.email,
            user.quirk
        );
        let token = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(body["user"]["id"], i64::from(user.id));

        // Profile: the names as typed, not as the old backend escaped them.
        let row = old
            .query_one(
                "SELECT first_name, last_name, country, region, notification_enabled \
                 FROM users WHERE id = $1",
                &[&user.id],
            )
            .await
            .unwrap();
        let unescape = |text: Option<String>| {
            text.map(|t| {
                t.replace("&#x27;", "'")
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
        };
        let (status, profile) = get(&server, "/v1/user/profile", &token).await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        for (index, field) in ["first_name", "last_name", "country", "region"]
            .iter()
            .enumerate()
        {
            let expected = unescape(row.get(index));
            assert_eq!(
                profile[field].as_str(),
                expected.as_deref(),
                "{field} of {}",
                user.email
            );
        }

        // Notification preference.
        let (_, preferences) = get(&server, "/v1/notifications/preferences", &token).await;
        assert_eq!(preferences["notification_enabled"], row.get::<_, bool>(4));

        // History: the same results, newest first, with the stored scores.
        let expected = old_results(&old, user.id).await;
        let (status, history) = get(&server, "/v1/test/history?limit=100", &token).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        let got: Vec<(i64, i64)> = history["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_i64().unwrap(), r["iq_score"].as_i64().unwrap()))
            .collect();
        let want: Vec<(i64, i64)> = expected.iter().map(|(id, iq, _)| (*id, *iq)).collect();
        assert_eq!(got, want, "history of {} ({})", user.email, user.quirk);
        for (id, iq, percentile) in &expected {
            let (status, result) = get(&server, &format!("/v1/test/results/{id}"), &token).await;
            assert_eq!(status, StatusCode::OK, "{result}");
            assert_eq!(result["iq_score"].as_i64(), Some(*iq));
            assert_eq!(result["percentile_rank"].as_f64(), *percentile);
            checked_results += 1;
        }

        // Groups and their leaderboards: the members' best stored scores.
        let groups: Vec<i64> = old
            .query(
                "SELECT group_id::int8 FROM group_memberships WHERE user_id = $1 ORDER BY 1",
                &[&user.id],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let (_, listed) = get(&server, "/v1/groups/", &token).await;
        let mut listed: Vec<i64> = listed
            .as_array()
            .unwrap_or_else(|| panic!("{listed}"))
            .iter()
            .map(|g| g["id"].as_i64().unwrap())
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, groups, "groups of {}", user.email);
        for group in groups {
            let best: BTreeMap<i64, i64> = old
                .query(
                    "SELECT m.user_id::int8, COALESCE(max(r.iq_score), 0)::int8 \
                     FROM group_memberships m LEFT JOIN test_results r ON r.user_id = m.user_id \
                     WHERE m.group_id = $1 GROUP BY m.user_id",
                    &[&(group as i32)],
                )
                .await
                .unwrap()
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            let (status, board) =
                get(&server, &format!("/v1/groups/{group}/leaderboard"), &token).await;
            assert_eq!(status, StatusCode::OK, "{board}");
            let got: BTreeMap<i64, i64> = board["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["user_id"].as_i64().unwrap(),
                        e["best_score"].as_i64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, best, "leaderboard of group {group}");
            checked_groups += 1;
        }
    }
    assert!(
        checked_results >= 6,
        "the fixture's users have results: {checked_results}"
    );
    assert!(
        checked_groups >= 3,
        "the fixture's users are in groups: {checked_groups}"
    );

    // The OAuth-only account cannot log in with a password, and the sentinel never.
    let (status, _) = login(&server, "guest@aiq.internal", "XXXXXXXX").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_old_backends_tokens_keep_working_and_its_revocations_hold() {
    let switch = Switch::with_quirks().await;
    let old = switch.old_client().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let user = &aiq_testkit::legacy::QUIRK_USERS[0];
    // A user who pressed "log out everywhere" in the old backend: tokens issued before that.
    let revoked_user = old
        .query_one(
            "SELECT id, email FROM users WHERE token_revoked_before IS NOT NULL AND id > 0 \
             ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (revoked_id, revoked_email): (i32, String) = (revoked_user.get(0), revoked_user.get(1));
    assert_ne!(revoked_id, user.id);
    // Logged out everywhere just now, after the token below was issued.
    old.execute(
        "UPDATE users SET token_revoked_before = now() WHERE id = $1",
        &[&revoked_id],
    )
    .await
    .unwrap();

    // A plain logout in the old backend, kept only in its Redis.
    let redis = aiq_testkit::PrivateRedis::start(aiq_testkit::PrivateRedis::free_port()).await;
    let logged_out = old_token(
        user.id,
        user.email,
        "access",
        "old-logged-out",
        now - 60,
        now + 1700,
    );
    {
        let client = redis::Client::open(redis.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("SET")
            .arg("token_blacklist:old-logged-out")
            .arg(r#"{"revoked_at": "2026-12-01T10:00:00.123456+00:00"}"#)
            .arg("EX")
            .arg(1700)
            .query_async(&mut connection)
            .await
            .unwrap();
    }

    switch.import_ok(&[]);
    let output = switch
        .command(&[])
        .args(["--from-redis", &redis.url()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = support::legacy::summary(&output);
    assert_eq!(report["event"], "import-legacy-redis", "{report}");
    assert_eq!(report["keys"], 1);
    assert_eq!(report["revoked"], 1);

    let server = serve(&switch);
    let access = old_token(
        user.id,
        user.email,
        "access",
        "old-access",
        now - 60,
        now + 1700,
    );
    let refresh = old_token(
        user.id,
        user.email,
        "refresh",
        "old-refresh",
        now - 60,
        now + 86_400,
    );
    let (status, body) = get(&server, "/v1/user/profile", &access).await;
    assert_eq!(status, StatusCode::OK, "an old access token works: {body}");
    assert_eq!(body["id"], i64::from(user.id));

    let response = client()
        .post(server.url("/v1/auth/refresh"))
        .bearer_auth(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "an old refresh token works"
    );
    let pair: serde_json::Value = response.json().await.unwrap();
    let (status, _) = get(
        &server,
        "/v1/user/profile",
        pair["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = get(&server, "/v1/user/profile", &logged_out).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "logged out in the old backend: {body}"
    );

    let before_logout_all = old_token(
        revoked_id,
        &revoked_email,
        "access",
        "old-before-logout-all",
        now - 60,
        now + 1700,
    );
    let (status, body) = get(&server, "/v1/user/profile", &before_logout_all).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "revoked by logout-all: {body}"
    );
}

/// The user's token (logged in with the fixture's password).
async fn token_of(server: &Server, email: &str) -> String {
    let user = aiq_testkit::legacy::QUIRK_USERS
        .iter()
        .find(|u| u.email == email)
        .unwrap_or_else(|| panic!("{email} is a fixture user"));
    let (status, body) = login(server, user.email, user.password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_in_the_middle_of_a_test_at_the_switch_can_finish_it() {
    let switch = Switch::with_quirks().await;
    switch.import_ok(&[]);
    let old = switch.old_client().await;
    let server = serve(&switch);

    // A fixed-form test in progress: aiq serves its questions (from the seen rows, as the old
    // backend did) and scores its submission.
    let token = token_of(&server, "in-progress-fixed-form@example.com").await;
    let (status, active) = get(&server, "/v1/test/active", &token).await;
    assert_eq!(status, StatusCode::OK, "{active}");
    let session = active["session"]["id"].as_i64().unwrap();
    let served: Vec<(i64, String)> = old
        .query(
            "SELECT q.id::int8, q.correct_answer FROM user_questions uq \
             JOIN questions q ON q.id = uq.question_id \
             WHERE uq.test_session_id = $1 ORDER BY uq.id",
            &[&(session as i32)],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert!(!served.is_empty());
    let responses: Vec<serde_json::Value> = served
        .iter()
        .map(|(id, answer)| serde_json::json!({ "question_id": id, "user_answer": answer }))
        .collect();
    let response = client()
        .post(server.url("/v1/test/submit"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "session_id": session, "responses": responses }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["result"]["correct_answers"].as_u64(),
        Some(served.len() as u64),
        "{body}"
    );

    // An adaptive test in progress cannot be continued (the old backend kept no engine state),
    // but it does not lock the user out: it can be abandoned.
    let token = token_of(&server, "cat-in-progress@example.com").await;
    let (status, active) = get(&server, "/v1/test/active", &token).await;
    assert_eq!(status, StatusCode::OK, "{active}");
    let session = active["session"]["id"].as_i64().unwrap();
    let response = client()
        .post(server.url(&format!("/v1/test/{session}/abandon")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, active) = get(&server, "/v1/test/active", &token).await;
    assert!(active.is_null(), "{active}");
}
