//! `AdminStore`: the operator's lists of users and questions, with their search, sorting and
//! paging, and the flags set on them.

use std::cmp::Ordering;
use std::sync::Arc;

use aiq_core::questions::{Difficulty, Domain};
use aiq_core::storage::{
    Cursor, GUEST_USER_ID, NewUser, PageRequest, PageStart, QualityFlag, Question, QuestionId,
    QuestionQuery, QuestionSort, Storage, Total, UserId, UserQuery, UserRow, UserSort,
};

use super::walk_both_ways;
use crate::conformance::cases;
use crate::fixtures::admin::{at, bank, complete, finished, start, user};
use crate::fixtures::bank::{import, question};

cases!(
    users_are_searched_ignoring_case_with_literal_wildcards,
    user_pages_cover_every_row_once_in_order,
    user_flags_are_set_and_missing_users_reported,
    questions_are_filtered_by_each_field,
    question_pages_cover_every_row_once_in_order,
    setting_a_quality_flag_returns_the_previous_one,
    anchors_are_set_and_cleared,
);

fn emails(rows: &[UserRow]) -> Vec<&str> {
    rows.iter().map(|r| r.user.email.as_str()).collect()
}

async fn search_users(store: &Arc<dyn Storage>, search: &str) -> Vec<String> {
    let query = UserQuery {
        search: Some(search.to_owned()),
        sort: UserSort::Email,
        descending: false,
    };
    let page = store
        .list_users(&query, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(page.total, Total::Exact(page.items.len() as u64));
    emails(&page.items).into_iter().map(str::to_owned).collect()
}

async fn users_are_searched_ignoring_case_with_literal_wildcards(store: Arc<dyn Storage>) {
    user(&store, "ada@example.com", Some("Ada")).await;
    user(&store, "bob_smith@example.com", None).await;
    user(&store, "carol%x@example.org", None).await;
    user(&store, "bobbsmith@example.org", Some("Danielle")).await;
    assert_eq!(search_users(&store, "ADA").await, ["ada@example.com"]);
    assert_eq!(
        search_users(&store, "daNIE").await,
        ["bobbsmith@example.org"]
    );
    assert_eq!(
        search_users(&store, "lovelace").await,
        ["ada@example.com", "bobbsmith@example.org"],
        "the last name is searched"
    );
    assert_eq!(search_users(&store, "b_s").await, ["bob_smith@example.com"]);
    assert_eq!(search_users(&store, "%").await, ["carol%x@example.org"]);
    assert_eq!(search_users(&store, "example.org").await.len(), 2);
    assert!(search_users(&store, "guest").await.is_empty());

    let all = store
        .list_users(&UserQuery::default(), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        all.total,
        Total::Exact(4),
        "the guest sentinel is never listed"
    );
    assert!(all.items.iter().all(|r| r.user.id != GUEST_USER_ID));
}

async fn user_pages_cover_every_row_once_in_order(store: Arc<dyn Storage>) {
    let questions = bank(&store, 4).await;
    let mut ids = Vec::new();
    for k in 0..7_i64 {
        let mut new = NewUser::with_password(format!("user{}@example.com", (k * 3) % 7), "h");
        // Pairs share a creation time, so the id must break the tie.
        new.created_at = at(k / 2);
        let id = store.create_user(new).await.unwrap().id;
        if k % 3 != 0 {
            store
                .record_login(id, at(10 - k % 2), "h", None)
                .await
                .unwrap()
                .unwrap();
        }
        ids.push(id);
    }
    finished(&store, ids[1], 20, &questions[..2], 100).await;
    finished(&store, ids[1], 30, &questions[2..], 100).await;
    start(&store, ids[2], at(40), &questions[..1]).await;

    for sort in [
        UserSort::Id,
        UserSort::Email,
        UserSort::CreatedAt,
        UserSort::LastLoginAt,
    ] {
        for descending in [false, true] {
            let query = UserQuery {
                search: None,
                sort,
                descending,
            };
            let rows = walk_both_ways(|page| store.list_users(&query, page), 3, 7).await;
            let mut seen: Vec<UserId> = rows.iter().map(|r| r.user.id).collect();
            seen.sort_unstable();
            assert_eq!(seen, ids, "{sort:?} {descending}: every row exactly once");
            for pair in rows.windows(2) {
                let (a, b) = (&pair[0].user, &pair[1].user);
                let key = match sort {
                    UserSort::Id => Ordering::Equal,
                    UserSort::Email => a.email.cmp(&b.email),
                    UserSort::CreatedAt => a.created_at.cmp(&b.created_at),
                    UserSort::LastLoginAt => a.last_login_at.cmp(&b.last_login_at),
                };
                let order = key.then(a.id.cmp(&b.id));
                let expected = if descending {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                assert_eq!(order, expected, "{sort:?} {descending}: {a:?} then {b:?}");
            }
            let counted = |id| {
                rows.iter()
                    .find(|r| r.user.id == id)
                    .unwrap()
                    .completed_tests
            };
            assert_eq!((counted(ids[1]), counted(ids[2])), (2, 0));
        }
    }
}

async fn user_flags_are_set_and_missing_users_reported(store: Arc<dyn Storage>) {
    let ada = user(&store, "ada@example.com", None).await;
    assert!(store.set_bypass_cooldown(ada, true).await.unwrap());
    assert!(store.set_admin(ada, true).await.unwrap());
    let stored = store.user_by_id(ada).await.unwrap().unwrap();
    assert!(stored.bypass_cooldown && stored.is_admin);
    assert!(store.set_bypass_cooldown(ada, false).await.unwrap());
    let stored = store.user_by_id(ada).await.unwrap().unwrap();
    assert!(!stored.bypass_cooldown && stored.is_admin);

    assert!(!store.set_bypass_cooldown(ada + 100, true).await.unwrap());
    assert!(!store.set_admin(ada + 100, true).await.unwrap());
    assert!(!store.set_admin(GUEST_USER_ID, true).await.unwrap());
    assert!(
        !store
            .set_bypass_cooldown(GUEST_USER_ID, false)
            .await
            .unwrap()
    );
    let guest = store.user_by_id(GUEST_USER_ID).await.unwrap().unwrap();
    assert!(
        guest.bypass_cooldown && !guest.is_admin,
        "the sentinel is left alone"
    );
}

async fn question_ids(store: &Arc<dyn Storage>, query: QuestionQuery) -> Vec<QuestionId> {
    let page = store
        .list_questions(&query, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.total, Total::Exact(page.items.len() as u64));
    page.items.iter().map(|q| q.id).collect()
}

async fn questions_are_filtered_by_each_field(store: Arc<dyn Storage>) {
    let mut rows: Vec<_> = (0..12).map(|k| question(k, None, None)).collect();
    rows[7].question_text = "Is 100% of_this TRUE?".to_owned();
    let ids = import(&store, &rows).await;
    assert!(store.set_question_active(ids[1], false).await.unwrap());
    assert!(
        !store
            .set_question_active(ids[11] + 100, false)
            .await
            .unwrap()
    );
    let under_review = QualityFlag::UnderReview;
    store
        .set_quality_flag(ids[2], under_review, Some("odd"), at(0))
        .await
        .unwrap();
    store.set_anchor(ids[3], true, at(0)).await.unwrap();

    let all = question_ids(&store, QuestionQuery::default()).await;
    assert_eq!(all, ids);
    let by = |query: QuestionQuery| question_ids(&store, query);
    let memory = Domain::ALL[5];
    assert_eq!(
        by(QuestionQuery {
            domain: Some(memory),
            ..QuestionQuery::default()
        })
        .await,
        [ids[5], ids[11]]
    );
    let hard: Vec<_> = ids.iter().copied().skip(2).step_by(3).collect();
    assert_eq!(
        by(QuestionQuery {
            difficulty: Some(Difficulty::Hard),
            ..QuestionQuery::default()
        })
        .await,
        hard
    );
    assert_eq!(
        by(QuestionQuery {
            active: Some(false),
            ..QuestionQuery::default()
        })
        .await,
        [ids[1]]
    );
    assert_eq!(
        by(QuestionQuery {
            active: Some(true),
            ..QuestionQuery::default()
        })
        .await
        .len(),
        11
    );
    assert_eq!(
        by(QuestionQuery {
            quality_flag: Some(under_review),
            ..QuestionQuery::default()
        })
        .await,
        [ids[2]]
    );
    assert_eq!(
        by(QuestionQuery {
            anchor: Some(true),
            ..QuestionQuery::default()
        })
        .await,
        [ids[3]]
    );
    for (search, expected) in [
        ("100%", vec![ids[7]]),
        ("F_T", vec![ids[7]]),
        ("true", vec![ids[7]]),
    ] {
        let query = QuestionQuery {
            search: Some(search.to_owned()),
            ..QuestionQuery::default()
        };
        assert_eq!(by(query).await, expected, "{search}");
    }
    let none = QuestionQuery {
        search: Some("0_".to_owned()),
        ..QuestionQuery::default()
    };
    assert!(by(none).await.is_empty(), "`_` is no wildcard");
    let combined = QuestionQuery {
        domain: Some(Domain::ALL[2]),
        difficulty: Some(Difficulty::ALL[2]),
        anchor: Some(false),
        quality_flag: Some(QualityFlag::Normal),
        ..QuestionQuery::default()
    };
    assert_eq!(
        by(combined).await,
        [ids[8]],
        "items 2 and 8 share the cell; 2 is flagged"
    );
}

fn question_key(sort: QuestionSort, a: &Question, b: &Question) -> Ordering {
    let optional = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    };
    match sort {
        QuestionSort::Id => Ordering::Equal,
        QuestionSort::ResponseCount => a.response_count.cmp(&b.response_count),
        QuestionSort::EmpiricalDifficulty => {
            optional(a.empirical_difficulty, b.empirical_difficulty)
        }
        QuestionSort::Discrimination => optional(a.discrimination, b.discrimination),
    }
}

async fn question_pages_cover_every_row_once_in_order(store: Arc<dyn Storage>) {
    let ids = bank(&store, 9).await;
    // Statistics for the first five items only (the rest stay unknown), with ties.
    for (k, owner) in ["a", "b", "c"].into_iter().enumerate() {
        let owner = user(&store, &format!("{owner}@example.com"), None).await;
        let answered = &ids[..3 + k];
        let session = start(&store, owner, at(0), answered).await;
        let answers: Vec<_> = answered
            .iter()
            .enumerate()
            .map(|(n, id)| (*id, n <= k))
            .collect();
        complete(&store, session, at(1), &answers, 100).await;
    }
    store
        .refresh_question_statistics(&ids[..5], at(2), 2_000)
        .await
        .unwrap();

    for sort in [
        QuestionSort::Id,
        QuestionSort::ResponseCount,
        QuestionSort::EmpiricalDifficulty,
        QuestionSort::Discrimination,
    ] {
        for descending in [false, true] {
            let query = QuestionQuery {
                sort,
                descending,
                ..QuestionQuery::default()
            };
            let rows = walk_both_ways(|page| store.list_questions(&query, page), 2, 9).await;
            let mut seen: Vec<QuestionId> = rows.iter().map(|q| q.id).collect();
            seen.sort_unstable();
            assert_eq!(seen, ids, "{sort:?} {descending}: every row exactly once");
            let expected = if descending {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            for pair in rows.windows(2) {
                let order =
                    question_key(sort, &pair[0], &pair[1]).then(pair[0].id.cmp(&pair[1].id));
                assert_eq!(
                    order, expected,
                    "{sort:?} {descending}: {} then {}",
                    pair[0].id, pair[1].id
                );
            }
        }
    }
    let last = Cursor {
        key: None,
        id: *ids.iter().max().unwrap(),
    };
    let past_the_end = store
        .list_questions(
            &QuestionQuery::default(),
            PageRequest::first(10).starting(PageStart::After(last)),
        )
        .await
        .unwrap();
    assert!(past_the_end.items.is_empty());
    assert_eq!(
        past_the_end.total,
        Total::Exact(9),
        "an empty page still tells the total"
    );
    assert_eq!((past_the_end.previous, past_the_end.next), (None, None));
}

async fn setting_a_quality_flag_returns_the_previous_one(store: Arc<dyn Storage>) {
    let ids = bank(&store, 2).await;
    let flag = |flag, reason| store.set_quality_flag(ids[0], flag, reason, at(0));
    assert_eq!(
        flag(QualityFlag::UnderReview, Some("too easy"))
            .await
            .unwrap(),
        Some(QualityFlag::Normal)
    );
    let stored = &store.questions_by_ids(&ids[..1]).await.unwrap()[0];
    assert_eq!(stored.quality_flag, QualityFlag::UnderReview);
    assert_eq!(stored.quality_flag_reason.as_deref(), Some("too easy"));
    assert_eq!(
        flag(QualityFlag::Deactivated, None).await.unwrap(),
        Some(QualityFlag::UnderReview)
    );
    let stored = &store.questions_by_ids(&ids[..1]).await.unwrap()[0];
    assert_eq!(stored.quality_flag, QualityFlag::Deactivated);
    assert_eq!(stored.quality_flag_reason, None);
    let candidates = store.selection_candidates(None).await.unwrap();
    assert_eq!(candidates.len(), 1, "a flagged item is not selected");
    assert_eq!(
        store
            .set_quality_flag(ids[1] + 100, QualityFlag::Normal, None, at(0))
            .await
            .unwrap(),
        None
    );
}

async fn anchors_are_set_and_cleared(store: Arc<dyn Storage>) {
    let ids = bank(&store, 3).await;
    assert!(store.set_anchor(ids[1], true, at(0)).await.unwrap());
    let anchors = |store: Arc<dyn Storage>| async move {
        let mut ids: Vec<_> = store
            .selection_candidates(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.is_anchor)
            .map(|c| c.id)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(anchors(store.clone()).await, [ids[1]]);
    assert!(store.questions_by_ids(&ids[1..2]).await.unwrap()[0].is_anchor());
    assert!(store.set_anchor(ids[2], true, at(0)).await.unwrap());
    assert!(store.set_anchor(ids[1], false, at(1)).await.unwrap());
    assert_eq!(anchors(store.clone()).await, [ids[2]]);
    assert!(!store.set_anchor(ids[2] + 100, true, at(0)).await.unwrap());
}
