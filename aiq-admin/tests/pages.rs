//! Every page and action of the dashboard, through the real router over an in-memory store.

mod support;

use aiq_core::storage::{PageRequest, QualityFlag, SessionStatus};
use http::StatusCode;
use support::{Harness, complete, now, question_ids, start, user};
use time::Duration;

async fn audit_actions(harness: &Harness) -> Vec<String> {
    harness
        .store
        .audit_log(PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|line| line.entry.action)
        .collect()
}

#[tokio::test]
async fn every_page_needs_a_session() {
    let harness = Harness::new();
    for path in [
        "/admin",
        "/admin/",
        "/admin/users",
        "/admin/users/1",
        "/admin/users.csv",
        "/admin/questions",
        "/admin/questions/1",
        "/admin/questions/import",
        "/admin/questions.csv",
        "/admin/sessions",
        "/admin/sessions/1",
        "/admin/sessions.csv",
        "/admin/reliability",
        "/admin/audit",
        "/admin/audit.csv",
    ] {
        let page = harness.get(path, None).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/admin/login", "{path}");
    }
    let css = harness.get("/admin/static/admin.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.body.contains("svg.chart"));
}

#[tokio::test]
async fn the_overview_counts_and_draws_three_charts() {
    let harness = Harness::new();
    let store = &harness.store;
    let ada = user(store, "ada@example.com", Some("Ada")).await;
    let bob = user(store, "bob@example.com", None).await;
    let questions = question_ids(store, 3).await;
    let done = start(store, ada, now() - Duration::days(2), &questions).await;
    let answers: Vec<_> = questions.iter().map(|q| (*q, true)).collect();
    complete(store, done, now() - Duration::days(2), &answers, 112).await;
    start(store, bob, now() - Duration::hours(1), &questions).await;

    let session = harness.login().await;
    let page = harness.get("/admin/", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"id="count-users">2<"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"id="count-in-progress">1<"#));
    assert!(page.body.contains(r#"id="count-completed">1<"#));
    assert!(page.body.contains(r#"id="count-abandoned">0<"#));
    assert!(page.body.contains(r#"id="count-questions">990<"#));
    assert_eq!(page.body.matches("<svg").count(), 3);
    // The score lands in its bin, the completion on its day.
    assert!(page.body.contains("<title>110: 1</title>"));
    let day = now() - Duration::days(2);
    assert!(page.body.contains(&format!(
        "<title>{:02}-{:02}: 1</title>",
        day.month() as u8,
        day.day()
    )));
    // The starter bank has 55 items per cell: no cell is below the healthy minimum.
    assert!(page.body.contains("0 of 18 cells"));
    // Pages are not cached and cannot be framed or run scripts.
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'none'")
    );
}

#[tokio::test]
async fn users_are_searched_sorted_and_paged() {
    let harness = Harness::new();
    for n in 0..60 {
        user(&harness.store, &format!("user{n:02}@example.com"), None).await;
    }
    user(&harness.store, "findme@example.org", Some("Grace")).await;
    let session = harness.login().await;

    let first = harness
        .get("/admin/users?sort=email&dir=asc", Some(&session))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("61 in all"));
    assert!(first.body.find("findme@example.org").unwrap() < first.body.find("user00@").unwrap());
    assert_eq!(pager_link(&first.body, "prev"), None);
    // The page after the 50th row: findme, then user00 to user48.
    let next = pager_link(&first.body, "next").unwrap();
    assert!(
        next.starts_with("/admin/users?sort=email&dir=asc&after=")
            && next.ends_with(".tuser48%40example.com"),
        "{next}"
    );
    let second = harness.get(&next, Some(&session)).await;
    assert!(second.body.contains("user49@example.com"));
    assert!(second.body.contains("user59@example.com"));
    assert!(!second.body.contains("user48@example.com"));
    assert_eq!(pager_link(&second.body, "next"), None);
    assert_eq!(
        pager_link(&second.body, "first").as_deref(),
        Some("/admin/users?sort=email&dir=asc")
    );
    let back = harness
        .get(&pager_link(&second.body, "prev").unwrap(), Some(&session))
        .await;
    assert!(back.body.contains("findme@example.org") && back.body.contains("user48@example.com"));
    assert!(!back.body.contains("user49@example.com"));
    assert_eq!(pager_link(&back.body, "prev"), None, "back at the start");
    let broken = harness.get("/admin/users?after=7.x", Some(&session)).await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(broken.body.contains("first page"));

    for query in ["FINDME", "grace", "example.org"] {
        let found = harness
            .get(&format!("/admin/users?q={query}"), Some(&session))
            .await;
        assert!(found.body.contains("findme@example.org"), "{query}");
        assert!(found.body.contains("1 in all"), "{query}");
    }
    let bad = harness
        .get("/admin/users?sort=password_hash", Some(&session))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn user_provided_text_renders_inert() {
    let harness = Harness::new();
    let id = user(
        &harness.store,
        "x@example.com",
        Some("<script>alert(1)</script>"),
    )
    .await;
    let session = harness.login().await;
    for path in ["/admin/users".to_owned(), format!("/admin/users/{id}")] {
        let page = harness.get(&path, Some(&session)).await;
        assert!(!page.body.contains("<script>"), "{path}");
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn user_detail_flags_and_deletion() {
    let harness = Harness::new();
    let store = &harness.store;
    let id = user(store, "ada@example.com", Some("Ada")).await;
    let questions = question_ids(store, 2).await;
    let session_id = start(store, id, now() - Duration::days(1), &questions).await;
    complete(
        store,
        session_id,
        now(),
        &[(questions[0], true), (questions[1], false)],
        104,
    )
    .await;
    let session = harness.login().await;

    let page = harness
        .get(&format!("/admin/users/{id}"), Some(&session))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ada@example.com"));
    assert!(page.body.contains(&format!("/admin/sessions/{session_id}")));
    assert!(page.body.contains(">104<"));
    assert!(page.body.contains(r#"id="bypass-state">off<"#));

    // Without the form's token nothing changes.
    let forged = harness
        .post(
            &format!("/admin/users/{id}/bypass-cooldown"),
            &session,
            &[("value", "true")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!store.user_by_id(id).await.unwrap().unwrap().bypass_cooldown);
    let wrong_token = harness
        .post(
            &format!("/admin/users/{id}/bypass-cooldown"),
            &session,
            &[("csrf", "not-the-token"), ("value", "true")],
        )
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);

    let on = harness
        .act(
            &format!("/admin/users/{id}/bypass-cooldown"),
            &session,
            &[("value", "true")],
        )
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    assert_eq!(on.location(), format!("/admin/users/{id}?done=bypass-on"));
    assert!(store.user_by_id(id).await.unwrap().unwrap().bypass_cooldown);
    let page = harness.get(on.location(), Some(&session)).await;
    assert!(page.body.contains(r#"id="bypass-state">on<"#));
    assert!(page.body.contains("Cooldown bypass is on"));

    harness
        .act(
            &format!("/admin/users/{id}/admin"),
            &session,
            &[("value", "true")],
        )
        .await;
    assert!(store.user_by_id(id).await.unwrap().unwrap().is_admin);
    harness
        .act(
            &format!("/admin/users/{id}/admin"),
            &session,
            &[("value", "false")],
        )
        .await;
    assert!(!store.user_by_id(id).await.unwrap().unwrap().is_admin);

    let bad_value = harness
        .act(
            &format!("/admin/users/{id}/admin"),
            &session,
            &[("value", "maybe")],
        )
        .await;
    assert_eq!(bad_value.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = harness
        .act(
            "/admin/users/999999/bypass-cooldown",
            &session,
            &[("value", "true")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let confirm = harness
        .get(&format!("/admin/users/{id}/delete"), Some(&session))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("cannot be undone"));
    let deleted = harness
        .act(&format!("/admin/users/{id}/delete"), &session, &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(store.user_by_id(id).await.unwrap().is_none());
    assert!(store.session(session_id).await.unwrap().is_none());

    let actions = audit_actions(&harness).await;
    assert_eq!(
        actions[..4],
        [
            "user.delete",
            "user.admin.set",
            "user.admin.set",
            "user.bypass_cooldown.set"
        ]
    );
}

#[tokio::test]
async fn unknown_records_are_not_found_pages() {
    let harness = Harness::new();
    let session = harness.login().await;
    for path in [
        "/admin/users/424242",
        "/admin/users/abc",
        "/admin/users/-1",
        "/admin/questions/424242",
        "/admin/sessions/424242",
        "/admin/users/424242/delete",
    ] {
        let page = harness.get(path, Some(&session)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(page.body.contains("not found"), "{path}");
    }
}

#[tokio::test]
async fn questions_are_filtered_badged_and_changed() {
    let harness = Harness::new();
    let store = &harness.store;
    let session = harness.login().await;

    let logic = harness
        .get(
            "/admin/questions?domain=logic&difficulty=hard",
            Some(&session),
        )
        .await;
    assert_eq!(logic.status, StatusCode::OK);
    assert!(logic.body.contains("55 in all"), "{}", logic.body);
    assert!(!logic.body.contains("<td>pattern</td>"));
    assert!(logic.body.contains("Pending (0 responses)"));
    for bad in [
        "domain=astrology",
        "active=perhaps",
        "flag=gone",
        "sort=text",
    ] {
        let page = harness
            .get(&format!("/admin/questions?{bad}"), Some(&session))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    let candidates = store
        .questions_by_ids(&question_ids(store, 50).await)
        .await
        .unwrap();
    let question = candidates.into_iter().find(|q| !q.is_anchor()).unwrap();
    let id = question.id;
    let detail = harness
        .get(&format!("/admin/questions/{id}"), Some(&session))
        .await;
    assert!(detail.body.contains("IRT: b (difficulty)"));
    assert!(detail.body.contains(&format!(
        "<dt>correct answer</dt><dd>{}</dd>",
        question.content.correct_answer
    )));

    let off = harness
        .act(
            &format!("/admin/questions/{id}/active"),
            &session,
            &[("value", "false")],
        )
        .await;
    assert_eq!(
        off.location(),
        format!("/admin/questions/{id}?done=deactivated")
    );
    assert!(!store.questions_by_ids(&[id]).await.unwrap()[0].is_active);
    let inactive = harness
        .get("/admin/questions?active=no", Some(&session))
        .await;
    assert!(inactive.body.contains("1 in all"));

    let flagged = harness
        .act(
            &format!("/admin/questions/{id}/quality-flag"),
            &session,
            &[("flag", "under_review"), ("reason", "ambiguous wording")],
        )
        .await;
    assert_eq!(flagged.status, StatusCode::SEE_OTHER);
    let stored = store.questions_by_ids(&[id]).await.unwrap().remove(0);
    assert_eq!(stored.quality_flag, QualityFlag::UnderReview);
    assert_eq!(
        stored.quality_flag_reason.as_deref(),
        Some("ambiguous wording")
    );
    let long = "x".repeat(256);
    let too_long = harness
        .act(
            &format!("/admin/questions/{id}/quality-flag"),
            &session,
            &[("flag", "normal"), ("reason", &long)],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = harness
        .act(
            &format!("/admin/questions/{id}/quality-flag"),
            &session,
            &[("flag", "great")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The starter bank designates 30 anchors; this one is not among them.
    let anchors = harness
        .get("/admin/questions?anchor=yes", Some(&session))
        .await;
    assert!(anchors.body.contains("30 in all"));
    harness
        .act(
            &format!("/admin/questions/{id}/anchor"),
            &session,
            &[("value", "true")],
        )
        .await;
    assert!(store.questions_by_ids(&[id]).await.unwrap()[0].is_anchor());
    let anchors = harness
        .get("/admin/questions?anchor=yes", Some(&session))
        .await;
    assert!(anchors.body.contains("31 in all"));

    let actions = audit_actions(&harness).await;
    assert_eq!(
        actions[..3],
        [
            "question.anchor.set",
            "question.quality_flag.set",
            "question.active.set"
        ]
    );
}

#[tokio::test]
async fn sessions_are_filtered_shown_overridden_and_deleted() {
    let harness = Harness::new();
    let store = &harness.store;
    let ada = user(store, "ada@example.com", None).await;
    let bob = user(store, "bob@example.com", None).await;
    let questions = question_ids(store, 2).await;
    let finished = start(store, ada, now() - Duration::days(3), &questions).await;
    complete(
        store,
        finished,
        now() - Duration::days(3),
        &[(questions[0], true), (questions[1], false)],
        97,
    )
    .await;
    let open = start(store, bob, now() - Duration::hours(2), &questions).await;
    let session = harness.login().await;

    let completed = harness
        .get("/admin/sessions?status=completed", Some(&session))
        .await;
    assert!(
        completed
            .body
            .contains(&format!("/admin/sessions/{finished}\""))
    );
    assert!(
        !completed
            .body
            .contains(&format!("/admin/sessions/{open}\""))
    );
    let by_user = harness
        .get(&format!("/admin/sessions?user={bob}"), Some(&session))
        .await;
    assert!(by_user.body.contains("1 in all"));
    let day = (now() - Duration::days(3)).date();
    let by_date = harness
        .get(
            &format!("/admin/sessions?from={day}&to={day}"),
            Some(&session),
        )
        .await;
    assert!(by_date.body.contains("1 in all"), "{}", by_date.body);
    let bad = harness
        .get("/admin/sessions?from=yesterday", Some(&session))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let detail = harness
        .get(&format!("/admin/sessions/{finished}"), Some(&session))
        .await;
    assert!(detail.body.contains(&format!("answer {}", questions[0])));
    assert!(detail.body.contains("Responses (2)"));
    assert!(detail.body.contains(r#"id="validity-state">valid<"#));

    let no_reason = harness
        .act(
            &format!("/admin/sessions/{finished}/validity"),
            &session,
            &[("status", "invalid")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let short_reason = harness
        .act(
            &format!("/admin/sessions/{finished}/validity"),
            &session,
            &[("status", "invalid"), ("reason", "cheated")],
        )
        .await;
    assert_eq!(short_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let overridden = harness
        .act(
            &format!("/admin/sessions/{finished}/validity"),
            &session,
            &[("status", "invalid"), ("reason", "answers shared online")],
        )
        .await;
    assert_eq!(overridden.status, StatusCode::SEE_OTHER);
    let record = store.validity(finished).await.unwrap().unwrap();
    assert_eq!(record.validity_status, "invalid");
    assert_eq!(
        record.override_reason.as_deref(),
        Some("answers shared online")
    );
    let no_result = harness
        .act(
            &format!("/admin/sessions/{open}/validity"),
            &session,
            &[("status", "invalid"), ("reason", "no result to judge yet")],
        )
        .await;
    assert_eq!(no_result.status, StatusCode::NOT_FOUND);

    let confirm = harness
        .get(&format!("/admin/sessions/{open}/delete"), Some(&session))
        .await;
    assert!(confirm.body.contains("in_progress"));
    harness
        .act(&format!("/admin/sessions/{open}/delete"), &session, &[])
        .await;
    assert!(store.session(open).await.unwrap().is_none());
    assert_eq!(store.active_session_count().await.unwrap(), 0);
    assert_eq!(
        store.session(finished).await.unwrap().unwrap().status,
        SessionStatus::Completed
    );
    assert_eq!(
        audit_actions(&harness).await[..2],
        ["session.delete", "session.validity.override"]
    );
}

#[tokio::test]
async fn exports_stream_every_row_once_with_the_lists_filters() {
    let harness = Harness::new();
    for n in 0..620 {
        user(&harness.store, &format!("u{n:03}@example.com"), None).await;
    }
    user(
        &harness.store,
        "=cmd@example.com",
        Some("=HYPERLINK(\"x\")"),
    )
    .await;
    let session = harness.login().await;

    let csv = harness
        .get("/admin/users.csv?sort=email&dir=asc", Some(&session))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("users.csv")
    );
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    assert_eq!(&reader.headers().unwrap()[1], "email");
    let emails: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_owned()).collect();
    assert_eq!(emails.len(), 621);
    let unique: std::collections::HashSet<_> = emails.iter().collect();
    assert_eq!(unique.len(), 621);
    // Cells a spreadsheet would run as formulas are defused.
    assert!(emails.contains(&"'=cmd@example.com".to_owned()));

    let filtered = harness.get("/admin/users.csv?q=u61", Some(&session)).await;
    assert_eq!(filtered.body.lines().count(), 1 + 10);

    let questions = harness
        .get("/admin/questions.csv?domain=memory", Some(&session))
        .await;
    assert_eq!(questions.body.lines().count(), 1 + 165);
    let sessions = harness.get("/admin/sessions.csv", Some(&session)).await;
    assert_eq!(sessions.body.lines().count(), 1);
    let audit = harness.get("/admin/audit.csv", Some(&session)).await;
    assert!(audit.body.contains("export.users"));

    let bad = harness
        .get("/admin/sessions.csv?status=done", Some(&session))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The pager's link with this `rel`, unescaped.
fn pager_link(body: &str, rel: &str) -> Option<String> {
    let end = body.find(&format!("\" rel=\"{rel}\""))?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(body[start..end].replace("&#38;", "&"))
}
