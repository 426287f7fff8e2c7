//! `AdminStore`: the exports' keyset walks (`export_*` with `Seek`).

use std::sync::Arc;

use aiq_core::questions::Domain;
use aiq_core::storage::{
    AuditEntry, GUEST_USER_ID, MAX_PAGE_SIZE, NewAuditEntry, PageRequest, QualityFlag,
    QuestionQuery, QuestionSort, Seek, SessionQuery, SessionStatus, Storage, StorageError,
    UserQuery, UserSort,
};

use crate::conformance::cases;
use crate::fixtures::admin::{at, bank, finished, start, user};
use crate::fixtures::bank::{import, question};

cases!(
    user_exports_walk_every_matching_row_once_in_id_order,
    question_exports_walk_every_matching_row_once_in_id_order,
    session_exports_walk_every_matching_row_once_in_id_order,
    audit_exports_walk_oldest_first,
    rows_deleted_or_inserted_between_steps_shift_no_other_row,
    export_limits_are_clamped,
);

/// The ids of `rows`.
fn ids_of<T>(rows: &[T], id: fn(&T) -> i64) -> Vec<i64> {
    rows.iter().map(id).collect()
}

/// Walks an export from `seek` until a step comes back short, checking that each step holds at
/// most its limit of rows, all past `after` in ascending id order (so a store that ignored
/// `after` fails here rather than walking forever).
async fn walk_from<T, F, Fut>(mut seek: Seek, step: F, id: fn(&T) -> i64) -> Vec<T>
where
    F: Fn(Seek) -> Fut,
    Fut: Future<Output = Result<Vec<T>, StorageError>>,
{
    let mut rows = Vec::new();
    loop {
        let got = step(seek).await.unwrap();
        let limit = seek.clamped_limit() as usize;
        assert!(
            got.len() <= limit,
            "{} rows in a step of {limit}",
            got.len()
        );
        let ids = ids_of(&got, id);
        let mut previous = seek.after;
        for &next in &ids {
            assert!(previous.is_none_or(|p| p < next), "{ids:?} after {seek:?}");
            previous = Some(next);
        }
        let full = got.len() == limit;
        if let Some(last) = got.last() {
            seek = seek.after(id(last));
        }
        rows.extend(got);
        if !full {
            return rows;
        }
    }
}

/// Walks a whole export in steps of two.
async fn walk<T, F, Fut>(step: F, id: fn(&T) -> i64) -> Vec<T>
where
    F: Fn(Seek) -> Fut,
    Fut: Future<Output = Result<Vec<T>, StorageError>>,
{
    walk_from(Seek::first(2), step, id).await
}

async fn user_exports_walk_every_matching_row_once_in_id_order(store: Arc<dyn Storage>) {
    let q = bank(&store, 2).await;
    let mut ids = Vec::new();
    for (k, email) in ["zed", "amy", "max", "bea", "kim"].into_iter().enumerate() {
        let first = (k % 2 == 0).then_some("Matched");
        ids.push(user(&store, &format!("{email}@example.com"), first).await);
    }
    // A user sees a question once: each of their tests has its own.
    finished(&store, ids[2], 0, &q[..1], 100).await;
    finished(&store, ids[2], 5, &q[1..], 100).await;
    finished(&store, GUEST_USER_ID, 0, &q, 100).await;

    // The sort is ignored: emails descending would put `zed` first and `amy` last.
    let all = UserQuery {
        search: None,
        sort: UserSort::Email,
        descending: true,
    };
    let rows = walk(|seek| store.export_users(&all, seek), |r| r.user.id).await;
    assert_eq!(
        ids_of(&rows, |r| r.user.id),
        ids,
        "every user once, by id, never the guest sentinel"
    );
    let mut listed = store
        .list_users(&all, PageRequest::first(100))
        .await
        .unwrap()
        .items;
    listed.sort_by_key(|r| r.user.id);
    assert_eq!(
        rows, listed,
        "the same rows as the list, completed tests included"
    );
    assert_eq!(rows[2].completed_tests, 2);

    let matched = UserQuery {
        search: Some("MATCH".to_owned()),
        ..UserQuery::default()
    };
    let rows = walk(|seek| store.export_users(&matched, seek), |r| r.user.id).await;
    assert_eq!(ids_of(&rows, |r| r.user.id), [ids[0], ids[2], ids[4]]);
}

async fn question_exports_walk_every_matching_row_once_in_id_order(store: Arc<dyn Storage>) {
    let mut rows: Vec<_> = (0..13).map(|k| question(k, None, None)).collect();
    rows[4].question_text = "Is 50% of_it here?".to_owned();
    let ids = import(&store, &rows).await;
    store.set_question_active(ids[6], false).await.unwrap();
    store
        .set_quality_flag(ids[5], QualityFlag::UnderReview, None, at(0))
        .await
        .unwrap();
    store.set_anchor(ids[11], true, at(0)).await.unwrap();

    let memory = Domain::ALL[5];
    let queries = [
        (QuestionQuery::default(), ids.clone()),
        (
            QuestionQuery {
                domain: Some(memory),
                ..QuestionQuery::default()
            },
            vec![ids[5], ids[11]],
        ),
        (
            QuestionQuery {
                domain: Some(memory),
                quality_flag: Some(QualityFlag::Normal),
                ..QuestionQuery::default()
            },
            vec![ids[11]],
        ),
        (
            QuestionQuery {
                active: Some(false),
                ..QuestionQuery::default()
            },
            vec![ids[6]],
        ),
        (
            QuestionQuery {
                anchor: Some(false),
                active: Some(true),
                ..QuestionQuery::default()
            },
            [&ids[..6], &ids[7..11], &ids[12..]].concat(),
        ),
        (
            QuestionQuery {
                search: Some("% OF_".to_owned()),
                ..QuestionQuery::default()
            },
            vec![ids[4]],
        ),
    ];
    for (query, expected) in queries {
        // The sort is ignored: descending ids would reverse the walk.
        let query = QuestionQuery {
            sort: QuestionSort::Id,
            descending: true,
            ..query
        };
        let walked = walk(|seek| store.export_questions(&query, seek), |q| q.id).await;
        assert_eq!(ids_of(&walked, |q| q.id), expected, "{query:?}");
        let mut listed = store
            .list_questions(&query, PageRequest::first(100))
            .await
            .unwrap()
            .items;
        listed.sort_by_key(|q| q.id);
        assert_eq!(walked, listed, "{query:?}: the same rows as the list");
    }
}

async fn session_exports_walk_every_matching_row_once_in_id_order(store: Arc<dyn Storage>) {
    let q = bank(&store, 6).await;
    let ada = user(&store, "ada@example.com", None).await;
    let bob = user(&store, "bob@example.com", None).await;
    // Started out of id order, so the list's newest first differs from id order.
    let late = finished(&store, ada, 48, &q[..2], 110).await;
    let early = finished(&store, bob, 0, &q[..3], 95).await;
    let guest = finished(&store, GUEST_USER_ID, 24, &q[..1], 100).await;
    let dropped = start(&store, ada, at(30), &q[2..4]).await;
    store.abandon_session(dropped, at(31)).await.unwrap();
    let open = start(&store, bob, at(12), &q[3..5]).await;

    let export = |query: SessionQuery| {
        let store = &store;
        async move {
            let rows = walk(|seek| store.export_sessions(&query, seek), |r| r.session.id).await;
            let mut listed = store
                .list_sessions(&query, PageRequest::first(100))
                .await
                .unwrap()
                .items;
            listed.sort_by_key(|r| r.session.id);
            assert_eq!(rows, listed, "{query:?}: the same rows as the list");
            ids_of(&rows, |r| r.session.id)
        }
    };
    assert_eq!(
        export(SessionQuery::default()).await,
        [late, early, guest, dropped, open],
        "by id, not newest first"
    );
    let completed = SessionQuery {
        status: Some(SessionStatus::Completed),
        ..SessionQuery::default()
    };
    assert_eq!(export(completed).await, [late, early, guest]);
    let of_bob = SessionQuery {
        user_id: Some(bob),
        ..SessionQuery::default()
    };
    assert_eq!(export(of_bob).await, [early, open]);
    let window = SessionQuery {
        started_from: Some(at(12)),
        started_before: Some(at(48)),
        ..SessionQuery::default()
    };
    assert_eq!(export(window).await, [guest, dropped, open]);
}

fn audit_entry(k: i64) -> NewAuditEntry {
    NewAuditEntry {
        actor: "ops".to_owned(),
        action: format!("export.users.{k}"),
        target: (k % 2 == 0).then(|| format!("user:{k}")),
        detail: (k == 1).then(|| "q=a'; --".to_owned()),
        ip: (k != 2).then(|| "203.0.113.7".to_owned()),
        at: at(k),
    }
}

async fn audit_exports_walk_oldest_first(store: Arc<dyn Storage>) {
    let step = |seek| store.export_audit(seek);
    assert!(walk(step, |e: &AuditEntry| e.id).await.is_empty());
    for k in 0..5 {
        store.record_audit(&audit_entry(k)).await.unwrap();
    }
    let walked = walk(step, |e| e.id).await;
    let written: Vec<_> = walked.iter().map(|e| e.entry.clone()).collect();
    assert_eq!(written, (0..5).map(audit_entry).collect::<Vec<_>>());
    let mut listed = store
        .audit_log(PageRequest::first(100))
        .await
        .unwrap()
        .items;
    listed.reverse();
    assert_eq!(walked, listed, "the log's entries, oldest first");
    let past_the_end = Seek::first(2).after(walked[4].id);
    assert!(store.export_audit(past_the_end).await.unwrap().is_empty());
}

/// Asserts that `walked` holds `expected` in order, plus (at most once, at the end) `inserted`,
/// which was created mid-walk and so may or may not appear.
fn assert_walked(walked: &[i64], expected: &[i64], inserted: i64) {
    let (before, after) = walked.split_at(expected.len().min(walked.len()));
    assert_eq!(before, expected, "{walked:?}");
    assert!(after.is_empty() || after == [inserted], "{walked:?}");
}

async fn rows_deleted_or_inserted_between_steps_shift_no_other_row(store: Arc<dyn Storage>) {
    let q = bank(&store, 4).await;
    let mut users = Vec::new();
    for k in 0..6 {
        users.push(user(&store, &format!("u{k}@example.com"), None).await);
    }
    let mut sessions = Vec::new();
    for (k, owner) in users.iter().enumerate() {
        sessions.push(finished(&store, *owner, k as i64, &q[..2], 100).await);
    }
    for k in 0..6 {
        store.record_audit(&audit_entry(k)).await.unwrap();
    }

    // Sessions: after the first step, its last row (the cursor) and an unseen row are
    // deleted, and a session is created.
    let query = SessionQuery::default();
    let step = |seek| store.export_sessions(&query, seek);
    let first = step(Seek::first(2)).await.unwrap();
    assert_eq!(ids_of(&first, |r| r.session.id), sessions[..2]);
    assert!(store.delete_session(sessions[1]).await.unwrap());
    assert!(store.delete_session(sessions[3]).await.unwrap());
    let inserted = finished(&store, users[0], 50, &q[2..], 90).await;
    let rest = walk_from(Seek::first(2).after(sessions[1]), step, |r| r.session.id).await;
    let walked = [
        ids_of(&first, |r| r.session.id),
        ids_of(&rest, |r| r.session.id),
    ]
    .concat();
    assert_walked(
        &walked,
        &[
            sessions[0],
            sessions[1],
            sessions[2],
            sessions[4],
            sessions[5],
        ],
        inserted,
    );

    // Users: the same, with users (and their sessions).
    let query = UserQuery::default();
    let step = |seek| store.export_users(&query, seek);
    let first = step(Seek::first(2)).await.unwrap();
    assert_eq!(ids_of(&first, |r| r.user.id), users[..2]);
    assert!(store.delete_user(users[1]).await.unwrap());
    assert!(store.delete_user(users[4]).await.unwrap());
    let inserted = user(&store, "new@example.com", None).await;
    let rest = walk_from(Seek::first(2).after(users[1]), step, |r| r.user.id).await;
    let walked = [ids_of(&first, |r| r.user.id), ids_of(&rest, |r| r.user.id)].concat();
    assert_walked(
        &walked,
        &[users[0], users[1], users[2], users[3], users[5]],
        inserted,
    );

    // Questions and the audit log: rows inserted mid-walk.
    let query = QuestionQuery::default();
    let step = |seek| store.export_questions(&query, seek);
    let first = step(Seek::first(1)).await.unwrap();
    assert_eq!(ids_of(&first, |q| q.id), q[..1]);
    let inserted = import(&store, &[question(7, None, None)]).await;
    let inserted = *inserted.iter().find(|id| !q.contains(id)).unwrap();
    let rest = walk_from(Seek::first(1).after(q[0]), step, |q| q.id).await;
    let walked = [ids_of(&first, |q| q.id), ids_of(&rest, |q| q.id)].concat();
    assert_walked(&walked, &q, inserted);

    let first = store.export_audit(Seek::first(3)).await.unwrap();
    assert_eq!(first.len(), 3);
    store.record_audit(&audit_entry(9)).await.unwrap();
    let rest = walk_from(
        Seek::first(3).after(first[2].id),
        |seek| store.export_audit(seek),
        |e| e.id,
    )
    .await;
    let actions: Vec<_> = first
        .iter()
        .chain(&rest)
        .map(|e| e.entry.action.as_str())
        .collect();
    let expected: Vec<_> = (0..6).map(|k| format!("export.users.{k}")).collect();
    assert_eq!(actions[..6], expected, "every entry once, oldest first");
    assert!(
        actions[6..].is_empty() || actions[6..] == ["export.users.9"],
        "{actions:?}"
    );
}

async fn export_limits_are_clamped(store: Arc<dyn Storage>) {
    let q = bank(&store, 3).await;
    let ada = user(&store, "ada@example.com", None).await;
    user(&store, "bob@example.com", None).await;
    finished(&store, ada, 0, &q[..1], 100).await;
    finished(&store, ada, 5, &q[1..], 100).await;
    let none = Seek::first(0);
    let users = store.export_users(&UserQuery::default(), none).await;
    assert_eq!(users.unwrap().len(), 1, "a limit of 0 is 1");
    let questions = store
        .export_questions(&QuestionQuery::default(), none)
        .await;
    assert_eq!(questions.unwrap().len(), 1);
    let sessions = store.export_sessions(&SessionQuery::default(), none).await;
    assert_eq!(sessions.unwrap().len(), 1);

    // One more row than a step may hold, in the bank (one import) and in the audit log.
    let more: Vec<_> = (3..=MAX_PAGE_SIZE as usize + 3)
        .map(|k| question(k, None, None))
        .collect();
    import(&store, &more).await;
    let step = store
        .export_questions(&QuestionQuery::default(), Seek::first(u32::MAX))
        .await;
    assert_eq!(step.unwrap().len(), MAX_PAGE_SIZE as usize);
    for k in 0..=i64::from(MAX_PAGE_SIZE) {
        store.record_audit(&audit_entry(k)).await.unwrap();
    }
    assert_eq!(store.export_audit(none).await.unwrap().len(), 1);
    let most = store.export_audit(Seek::first(u32::MAX)).await.unwrap();
    assert_eq!(most.len(), MAX_PAGE_SIZE as usize, "at most MAX_PAGE_SIZE");
    let rest = store
        .export_audit(Seek::first(u32::MAX).after(most[most.len() - 1].id))
        .await
        .unwrap();
    assert_eq!(rest.len(), 1, "the one entry past the first step");
}
