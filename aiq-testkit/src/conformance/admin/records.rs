//! `AdminStore`: test sessions, the overview's counts, the dashboard's
//! login sessions and the audit log.

use std::sync::Arc;

use aiq_core::questions::{Difficulty, Domain};
use aiq_core::storage::{
    AdminSession, GUEST_USER_ID, InventoryCell, NewAuditEntry, OverviewCounts, PageRequest,
    PageStart, QualityFlag, SessionQuery, SessionStatus, Storage, Total, ValidityOverride,
};
use time::Duration;
use time::macros::{date, datetime};

use super::walk_both_ways;
use crate::conformance::cases;
use crate::fixtures::admin::{at, bank, complete, finished, start, user};

cases!(
    sessions_are_filtered_by_status_user_and_date,
    deleting_a_session_removes_its_responses_and_result_only,
    validity_overrides_round_trip,
    overview_counts_users_sessions_and_questions,
    iq_scores_are_counted_per_score,
    completions_are_counted_per_utc_day,
    inventory_counts_each_domain_and_difficulty,
    admin_sessions_expire_and_are_revoked,
    audit_log_is_newest_first_and_paged,
    session_pages_seek_past_deleted_rows_and_count_to_a_limit,
);

async fn session_ids(store: &Arc<dyn Storage>, query: SessionQuery) -> Vec<i64> {
    let page = store
        .list_sessions(&query, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.total, Total::Exact(page.items.len() as u64));
    page.items.iter().map(|row| row.session.id).collect()
}

async fn sessions_are_filtered_by_status_user_and_date(store: Arc<dyn Storage>) {
    let q = bank(&store, 8).await;
    let ada = user(&store, "ada@example.com", None).await;
    let bob = user(&store, "bob@example.com", None).await;
    let done = finished(&store, ada, 0, &q[0..2], 104).await;
    let dropped = start(&store, ada, at(24), &q[2..4]).await;
    store.abandon_session(dropped, at(25)).await.unwrap();
    let open = start(&store, ada, at(48), &q[4..6]).await;
    let bobs = finished(&store, bob, 24, &q[0..3], 121).await;
    let guest = finished(&store, GUEST_USER_ID, 30, &q[0..1], 90).await;

    let all = store
        .list_sessions(&SessionQuery::default(), PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(all.total, Total::Exact(5));
    assert_eq!(
        session_ids(&store, SessionQuery::default()).await,
        [open, guest, bobs, dropped, done],
        "newest first, ties broken by id"
    );
    let rows = store
        .list_sessions(&SessionQuery::default(), PageRequest::first(100))
        .await
        .unwrap()
        .items;
    let row = |id| rows.iter().find(|r| r.session.id == id).unwrap();
    assert_eq!(row(bobs).user_email.as_deref(), Some("bob@example.com"));
    assert_eq!(row(guest).user_email, None, "guest sessions have no email");
    assert_eq!(
        (row(bobs).response_count, row(bobs).iq_score),
        (3, Some(121))
    );
    assert_eq!(row(bobs).validity_status.as_deref(), Some("valid"));
    assert_eq!((row(open).response_count, row(open).iq_score), (0, None));
    assert_eq!(row(open).validity_status, None);

    let status = |status| SessionQuery {
        status: Some(status),
        ..SessionQuery::default()
    };
    assert_eq!(
        session_ids(&store, status(SessionStatus::Completed)).await,
        [guest, bobs, done]
    );
    assert_eq!(
        session_ids(&store, status(SessionStatus::Abandoned)).await,
        [dropped]
    );
    assert_eq!(
        session_ids(&store, status(SessionStatus::InProgress)).await,
        [open]
    );
    let of_ada = SessionQuery {
        user_id: Some(ada),
        ..SessionQuery::default()
    };
    assert_eq!(session_ids(&store, of_ada).await, [open, dropped, done]);
    let window = SessionQuery {
        started_from: Some(at(24)),
        started_before: Some(at(48)),
        ..SessionQuery::default()
    };
    assert_eq!(
        session_ids(&store, window).await,
        [guest, bobs, dropped],
        "from is inclusive, before exclusive"
    );
    let combined = SessionQuery {
        status: Some(SessionStatus::Completed),
        user_id: Some(ada),
        started_from: Some(at(1)),
        started_before: None,
    };
    assert!(session_ids(&store, combined).await.is_empty());
}

async fn deleting_a_session_removes_its_responses_and_result_only(store: Arc<dyn Storage>) {
    let q = bank(&store, 6).await;
    let ada = user(&store, "ada@example.com", None).await;
    let bob = user(&store, "bob@example.com", None).await;
    let first = finished(&store, ada, 0, &q[0..3], 100).await;
    let second = finished(&store, ada, 24, &q[3..6], 110).await;
    let others = finished(&store, bob, 0, &q[0..3], 95).await;

    assert!(store.delete_session(first).await.unwrap());
    assert_eq!(store.session(first).await.unwrap(), None);
    assert!(store.session_responses(first).await.unwrap().is_empty());
    assert_eq!(store.result_for_session(first).await.unwrap(), None);
    assert_eq!(store.validity(first).await.unwrap(), None);
    assert!(store.session_question_ids(first).await.unwrap().is_empty());
    let seen = store.seen_since(ada, at(-100)).await.unwrap();
    assert_eq!(
        seen,
        q[3..6],
        "its questions are no longer seen by its owner"
    );

    assert_eq!(store.session_responses(second).await.unwrap().len(), 3);
    assert!(store.result_for_session(second).await.unwrap().is_some());
    assert_eq!(store.session_responses(others).await.unwrap().len(), 3);
    assert_eq!(store.seen_since(bob, at(-100)).await.unwrap(), q[0..3]);
    assert_eq!(
        store.result_history(ada, 10, 0).await.unwrap().total_count,
        1
    );
    assert_eq!(store.item_appearances(10).await.unwrap().sessions, 2);

    assert!(!store.delete_session(first).await.unwrap());
    assert!(!store.delete_session(others + 100).await.unwrap());
    let open = start(&store, ada, at(48), &q[0..2]).await;
    assert!(store.delete_session(open).await.unwrap());
    assert_eq!(store.active_session_count().await.unwrap(), 0);
}

async fn validity_overrides_round_trip(store: Arc<dyn Storage>) {
    let q = bank(&store, 2).await;
    let ada = user(&store, "ada@example.com", None).await;
    let done = finished(&store, ada, 0, &q, 100).await;
    let automatic = store.validity(done).await.unwrap().unwrap();
    assert_eq!(automatic.session_id, done);
    assert_eq!(automatic.validity_status, "valid");
    assert_eq!(
        automatic.validity_flags,
        Some(serde_json::json!({"flags": []}))
    );
    assert_eq!(automatic.validity_checked_at, Some(at(1)));
    assert_eq!(
        (automatic.override_reason, automatic.overridden_at),
        (None, None)
    );

    let verdict = ValidityOverride {
        status: "invalid".to_owned(),
        reason: "answers shared online".to_owned(),
        at: at(5),
    };
    let changed = store
        .override_validity(done, &verdict)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.validity_status, "invalid");
    assert_eq!(
        changed.override_reason.as_deref(),
        Some("answers shared online")
    );
    assert_eq!(changed.overridden_at, Some(at(5)));
    assert_eq!(
        changed.validity_flags, automatic.validity_flags,
        "the findings stay"
    );
    assert_eq!(store.validity(done).await.unwrap(), Some(changed));
    let result = store.result_for_session(done).await.unwrap().unwrap();
    assert_eq!(result.scores.validity_status, "invalid");

    let open = start(&store, GUEST_USER_ID, at(9), &q).await;
    assert_eq!(store.validity(open).await.unwrap(), None);
    assert_eq!(store.override_validity(open, &verdict).await.unwrap(), None);
    assert_eq!(
        store.override_validity(done + 100, &verdict).await.unwrap(),
        None
    );
}

async fn overview_counts_users_sessions_and_questions(store: Arc<dyn Storage>) {
    assert_eq!(
        store.overview_counts().await.unwrap(),
        OverviewCounts::default(),
        "the guest sentinel is no user"
    );
    let q = bank(&store, 5).await;
    store.set_question_active(q[0], false).await.unwrap();
    store
        .set_quality_flag(q[1], QualityFlag::UnderReview, None, at(0))
        .await
        .unwrap();
    let ada = user(&store, "ada@example.com", None).await;
    let bob = user(&store, "bob@example.com", None).await;
    finished(&store, ada, 0, &q[2..3], 100).await;
    finished(&store, GUEST_USER_ID, 0, &q[2..3], 100).await;
    let dropped = start(&store, ada, at(5), &q[3..4]).await;
    store.abandon_session(dropped, at(6)).await.unwrap();
    start(&store, bob, at(5), &q[4..5]).await;
    start(&store, GUEST_USER_ID, at(5), &q[4..5]).await;
    assert_eq!(
        store.overview_counts().await.unwrap(),
        OverviewCounts {
            users: 2,
            in_progress: 2,
            completed: 2,
            abandoned: 1,
            questions: 5,
            selectable_questions: 3,
            estimated: false,
        }
    );
}

async fn iq_scores_are_counted_per_score(store: Arc<dyn Storage>) {
    assert!(store.iq_score_counts().await.unwrap().is_empty());
    let q = bank(&store, 1).await;
    for (k, iq) in [115, 100, 100, 87].into_iter().enumerate() {
        let owner = user(&store, &format!("u{k}@example.com"), None).await;
        finished(&store, owner, 0, &q, iq).await;
    }
    let owner = user(&store, "open@example.com", None).await;
    start(&store, owner, at(0), &q).await;
    assert_eq!(
        store.iq_score_counts().await.unwrap(),
        [(87, 1), (100, 2), (115, 1)]
    );
}

async fn completions_are_counted_per_utc_day(store: Arc<dyn Storage>) {
    let q = bank(&store, 1).await;
    let first_day = date!(2025 - 03 - 01);
    // Completed at 23:30 UTC on the first day, written in UTC+02:00 (01:30 on the next day).
    let late = datetime!(2025-03-02 01:30 +02:00);
    for (k, completed_at) in [
        at(-2),
        at(2),
        late,
        datetime!(2025-03-02 00:00 UTC),
        at(24 + 23),
    ]
    .into_iter()
    .enumerate()
    {
        let session = start(&store, GUEST_USER_ID, completed_at - Duration::hours(1), &q).await;
        complete(&store, session, completed_at, &[(q[0], k % 2 == 0)], 100).await;
    }
    let ada = user(&store, "ada@example.com", None).await;
    let dropped = start(&store, ada, at(3), &q).await;
    store.abandon_session(dropped, at(4)).await.unwrap();
    start(&store, GUEST_USER_ID, at(5), &q).await;

    assert_eq!(
        store.completions_per_day(first_day).await.unwrap(),
        [(first_day, 2), (date!(2025 - 03 - 02), 2)],
        "abandoned, in-progress and earlier sessions are left out"
    );
    assert_eq!(
        store
            .completions_per_day(date!(2025 - 03 - 02))
            .await
            .unwrap(),
        [(date!(2025 - 03 - 02), 2)]
    );
    assert!(
        store
            .completions_per_day(date!(2025 - 03 - 03))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn inventory_counts_each_domain_and_difficulty(store: Arc<dyn Storage>) {
    assert!(store.inventory().await.unwrap().is_empty());
    // Domain k % 6 and difficulty k % 3: items 0, 6 and 12 share a cell, as do 3, 9 and 15.
    let q = bank(&store, 18).await;
    store.set_question_active(q[6], false).await.unwrap();
    store
        .set_quality_flag(q[12], QualityFlag::Deactivated, None, at(0))
        .await
        .unwrap();
    let cells = store.inventory().await.unwrap();
    assert_eq!(cells.len(), 6, "only the cells that hold items");
    let cell = |k: usize| {
        let (domain, difficulty) = (Domain::ALL[k % 6], Difficulty::ALL[k % 3]);
        cells
            .iter()
            .find(|c| c.domain == domain && c.difficulty == difficulty)
            .copied()
    };
    let expected = |k: usize, selectable, total| InventoryCell {
        domain: Domain::ALL[k % 6],
        difficulty: Difficulty::ALL[k % 3],
        selectable,
        total,
    };
    assert_eq!(cell(0), Some(expected(0, 1, 3)));
    assert_eq!(cell(3), Some(expected(3, 3, 3)));
    assert_eq!(cell(1), Some(expected(1, 3, 3)));
    assert_eq!(cells.iter().map(|c| c.total).sum::<u64>(), 18);
    assert_eq!(cells.iter().map(|c| c.selectable).sum::<u64>(), 16);
    assert!(
        cells
            .windows(2)
            .all(|w| (w[0].domain, w[0].difficulty) < (w[1].domain, w[1].difficulty)),
        "in domain then difficulty order"
    );
}

async fn admin_sessions_expire_and_are_revoked(store: Arc<dyn Storage>) {
    let session = |hash: char, created: i64, hours: i64| AdminSession {
        id_hash: hash.to_string().repeat(64),
        username: "ops".to_owned(),
        created_at: at(created),
        expires_at: at(created + hours),
    };
    let old = session('a', 0, 4);
    store.create_admin_session(&old).await.unwrap();
    assert_eq!(
        store.admin_session(&old.id_hash, at(3)).await.unwrap(),
        Some(old.clone())
    );
    assert_eq!(
        store.admin_session(&old.id_hash, at(4)).await.unwrap(),
        None
    );
    assert_eq!(
        store.admin_session(&"f".repeat(64), at(1)).await.unwrap(),
        None
    );

    let new = session('b', 5, 4);
    store.create_admin_session(&new).await.unwrap();
    assert!(
        !store.revoke_admin_session(&old.id_hash).await.unwrap(),
        "creating a session swept the expired one"
    );
    assert!(
        store
            .admin_session(&new.id_hash, at(6))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.revoke_admin_session(&new.id_hash).await.unwrap());
    assert_eq!(
        store.admin_session(&new.id_hash, at(6)).await.unwrap(),
        None
    );
    assert!(!store.revoke_admin_session(&new.id_hash).await.unwrap());
}

async fn audit_log_is_newest_first_and_paged(store: Arc<dyn Storage>) {
    let empty = store.audit_log(PageRequest::first(10)).await.unwrap();
    assert!(empty.items.is_empty() && empty.total == Total::Exact(0));
    let entry = |k: i64| NewAuditEntry {
        actor: "ops".to_owned(),
        action: format!("question.deactivate.{k}"),
        target: (k % 2 == 0).then(|| format!("question:{k}")),
        detail: (k == 3).then(|| "reason: 'x'; --".to_owned()),
        ip: (k != 4).then(|| "203.0.113.7".to_owned()),
        at: at(k),
    };
    for k in 0..5 {
        store.record_audit(&entry(k)).await.unwrap();
    }
    let walked = walk_both_ways(|page| store.audit_log(page), 2, 5).await;
    let written: Vec<_> = walked.iter().map(|e| e.entry.clone()).collect();
    assert_eq!(written, (0..5).rev().map(entry).collect::<Vec<_>>());
    assert!(walked.windows(2).all(|w| w[0].id > w[1].id));
}

async fn session_pages_seek_past_deleted_rows_and_count_to_a_limit(store: Arc<dyn Storage>) {
    let q = bank(&store, 2).await;
    let mut ids = Vec::new();
    for k in 0..7 {
        let owner = user(&store, &format!("u{k}@example.com"), None).await;
        // Pairs share a start, so the id breaks the tie.
        ids.push(finished(&store, owner, k / 2 * 24, &q, 100).await);
    }
    let newest_first = |ids: &[i64]| {
        let mut sorted = ids.to_vec();
        sorted.sort_by_key(|id| std::cmp::Reverse(*id));
        sorted
    };
    let all = SessionQuery::default();
    let walked = walk_both_ways(|page| store.list_sessions(&all, page), 3, 7).await;
    let walked: Vec<i64> = walked.iter().map(|row| row.session.id).collect();
    assert_eq!(walked, newest_first(&ids));

    let first = store
        .list_sessions(&all, PageRequest::first(3))
        .await
        .unwrap();
    let next = PageRequest::first(3).starting(PageStart::After(first.next.clone().unwrap()));
    // The page's last row goes away before the next page is asked for: nothing shifts.
    assert!(store.delete_session(walked[2]).await.unwrap());
    let second = store.list_sessions(&all, next).await.unwrap();
    let second: Vec<i64> = second.items.iter().map(|row| row.session.id).collect();
    assert_eq!(
        second,
        walked[3..6],
        "the page after a deleted row starts where it stood"
    );

    let capped = store
        .list_sessions(
            &all,
            PageRequest {
                count_limit: 4,
                ..PageRequest::first(2)
            },
        )
        .await
        .unwrap();
    assert_eq!(capped.total, Total::AtLeast(4), "6 rows, counted up to 4");
    assert_eq!(capped.items.len(), 2);
    let exact = PageRequest {
        count_limit: 6,
        ..PageRequest::first(2)
    };
    let exact = store.list_sessions(&all, exact).await.unwrap();
    assert_eq!(
        exact.total,
        Total::Exact(6),
        "exactly at the limit is exact"
    );
}
