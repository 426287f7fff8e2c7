//! The item bank: imports, unseen questions, selection candidates.

use std::sync::Arc;

use aiq_core::questions::{NewQuestion, starter_bank};
use aiq_core::storage::{GUEST_USER_ID, QualityFlag, QuestionId, Storage};

use super::cases;
use super::common::{at, bank, new_session, question, take_test, user};

cases!(
    importing_is_idempotent_and_reports_each_row,
    importing_a_thousand_rows_twice_adds_them_once,
    unseen_questions_skip_what_the_user_saw,
    candidates_exclude_seen_flagged_and_negative_items,
);

async fn importing_is_idempotent_and_reports_each_row(store: Arc<dyn Storage>) {
    let (a, b, c) = (question(1), question(2), question(3));
    let added = store
        .import_questions(&[a.clone(), b.clone(), a.clone()])
        .await
        .unwrap();
    assert_eq!(
        added,
        vec![true, true, false],
        "the repeat within one import"
    );
    assert_eq!(store.question_count().await.unwrap(), 2);
    let mut changed_text_only_in_whitespace = b.clone();
    changed_text_only_in_whitespace.question_text = format!("  {}  ", b.question_text);
    let added = store
        .import_questions(&[a.clone(), changed_text_only_in_whitespace, c.clone()])
        .await
        .unwrap();
    assert_eq!(added, vec![false, false, true]);
    assert_eq!(store.question_count().await.unwrap(), 3);
    assert!(store.import_questions(&[]).await.unwrap().is_empty());

    // Ids are the store's (PostgreSQL spends sequence values on skipped rows).
    let mut ids: Vec<QuestionId> = store
        .selection_candidates(None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    ids.push(ids.iter().max().unwrap() + 100);
    let mut stored = store.questions_by_ids(&ids).await.unwrap();
    stored.sort_by_key(|q| q.id);
    assert_eq!(stored.len(), 3);
    let contents: Vec<&NewQuestion> = stored.iter().map(|q| &q.content).collect();
    assert_eq!(
        contents,
        vec![&a, &b, &c],
        "every field reads back as imported"
    );
    for q in &stored {
        assert!(q.is_active);
        assert_eq!(q.quality_flag, QualityFlag::Normal);
        assert_eq!(q.quality_flag_reason, None);
        assert_eq!((q.empirical_difficulty, q.discrimination), (None, None));
        assert_eq!(q.response_count, 0);
        assert_eq!(q.created_at.nanosecond() % 1_000, 0);
    }
}

async fn importing_a_thousand_rows_twice_adds_them_once(store: Arc<dyn Storage>) {
    let mut rows: Vec<NewQuestion> = (0..1000).map(question).collect();
    rows.extend(starter_bank());
    let added = store.import_questions(&rows).await.unwrap();
    assert_eq!(added.len(), rows.len());
    assert!(added[..1000].iter().all(|added| *added));
    let new = added.iter().filter(|added| **added).count();
    assert_eq!(store.question_count().await.unwrap(), new as u64);
    let again = store.import_questions(&rows).await.unwrap();
    assert!(again.iter().all(|added| !added));
    assert_eq!(store.question_count().await.unwrap(), new as u64);
}

async fn unseen_questions_skip_what_the_user_saw(store: Arc<dyn Storage>) {
    let ids = bank(&store, 6).await;
    let ada = user(&store, "unseen@example.com").await;
    store
        .start_session(new_session(ada, &[ids[1], ids[3]], 0))
        .await
        .unwrap();
    let unseen: Vec<QuestionId> = store
        .unseen_questions(ada, 3)
        .await
        .unwrap()
        .iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(unseen, vec![ids[0], ids[2], ids[4]], "in id order, limited");
    let other = store.unseen_questions(ada + 1, 100).await.unwrap();
    assert_eq!(other.len(), 6);
}

async fn candidates_exclude_seen_flagged_and_negative_items(store: Arc<dyn Storage>) {
    let ids = bank(&store, 4).await;
    let (good, negative, seen, fresh) = (ids[0], ids[1], ids[2], ids[3]);
    // Four completed guest sessions: `negative` is answered right exactly by the weaker two.
    for (i, total) in [3, 2, 1, 0].into_iter().enumerate() {
        let answers = [(good, i < 2), (negative, i >= 2)];
        take_test(&store, GUEST_USER_ID, &answers, total, i as i64 * 100).await;
    }
    store
        .refresh_question_statistics(&[good, negative], at(1000), 2_000)
        .await
        .unwrap();
    let ada = user(&store, "candidates@example.com").await;
    store
        .start_session(new_session(ada, &[seen], 2000))
        .await
        .unwrap();

    let for_anyone = store.selection_candidates(None).await.unwrap();
    let mut anyone: Vec<QuestionId> = for_anyone.iter().map(|c| c.id).collect();
    anyone.sort_unstable();
    assert_eq!(anyone, vec![good, seen, fresh]);
    let mut for_ada: Vec<QuestionId> = store
        .selection_candidates(Some(ada))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    for_ada.sort_unstable();
    assert_eq!(for_ada, vec![good, fresh]);

    let candidate = for_anyone.iter().find(|c| c.id == good).unwrap();
    let expected = question(0);
    assert_eq!(candidate.domain, expected.question_type);
    assert_eq!(candidate.difficulty, expected.difficulty_level);
    assert_eq!(candidate.is_anchor, expected.is_anchor);
    assert!(candidate.discrimination.unwrap() > 0.5);
    let untouched = for_anyone.iter().find(|c| c.id == fresh).unwrap();
    assert_eq!(untouched.discrimination, None);
}
