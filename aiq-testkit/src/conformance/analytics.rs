//! `AnalyticsStore`: client events, feedback, accuracy per vendor, benchmark runs and item
//! statistics.

use std::sync::Arc;

use aiq_core::storage::{
    AccuracyScope, FeedbackCategory, ModelAccuracy, NewClientEvent, NewFeedback, NewLlmRun,
    NewUser, Storage,
};
use serde_json::json;
use time::macros::datetime;

use super::cases;
use crate::fixtures::bank::{import, question, take_test};

cases!(
    event_batches_round_trip_and_survive_their_user,
    feedback_round_trips_and_survives_its_user,
    accuracy_is_counted_per_vendor_and_model,
    only_clean_completed_llm_runs_count,
    question_statistics_are_listed_most_answered_first,
    source_llm_round_trips,
);

async fn user(store: &Arc<dyn Storage>, email: &str) -> i64 {
    store
        .create_user(NewUser::with_password(email, "h"))
        .await
        .unwrap()
        .id
}

fn event(
    name: &str,
    user_id: Option<i64>,
    properties: Option<serde_json::Value>,
) -> NewClientEvent {
    NewClientEvent {
        event_name: name.to_owned(),
        client_timestamp: datetime!(2025-01-02 03:04:05.123456 UTC),
        received_at: datetime!(2025-01-02 03:04:06 UTC),
        user_id,
        properties,
        client_platform: "ios".to_owned(),
        app_version: "1.2.3".to_owned(),
        device_id: user_id.map(|_| "device-1".to_owned()),
    }
}

async fn event_batches_round_trip_and_survive_their_user(store: Arc<dyn Storage>) {
    let ada = user(&store, "ada@example.com").await;
    let batch = vec![
        event(
            "user.login",
            Some(ada),
            Some(json!({"method": "apple", "n": [1, 2]})),
        ),
        event("test.started", None, None),
    ];
    assert_eq!(store.insert_client_events(&batch).await.unwrap(), 2);
    assert_eq!(store.insert_client_events(&[]).await.unwrap(), 0);
    let stored = store.recent_client_events(10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored[0].id > stored[1].id, "newest first");
    assert_eq!(stored[1].event, batch[0]);
    assert_eq!(stored[0].event, batch[1]);
    assert_eq!(store.recent_client_events(1).await.unwrap().len(), 1);

    store.delete_user(ada).await.unwrap();
    let stored = store.recent_client_events(10).await.unwrap();
    assert_eq!(stored.len(), 2, "events outlive the account");
    assert!(stored.iter().all(|e| e.event.user_id.is_none()));
}

fn feedback(user_id: Option<i64>) -> NewFeedback {
    NewFeedback {
        user_id,
        name: "Ada O'Brien".to_owned(),
        email: "ada@example.com".to_owned(),
        category: FeedbackCategory::BugReport,
        description: "delete from users; -- it crashed".to_owned(),
        app_version: Some("1.2.3".to_owned()),
        ios_version: Some("iOS 18.1".to_owned()),
        device_id: None,
        created_at: datetime!(2025-01-02 03:04:05.5 UTC),
    }
}

async fn feedback_round_trips_and_survives_its_user(store: Arc<dyn Storage>) {
    let ada = user(&store, "ada@example.com").await;
    let first = store.create_feedback(feedback(Some(ada))).await.unwrap();
    let second = store.create_feedback(feedback(None)).await.unwrap();
    assert!(second.id > first.id && first.id > 0);
    assert_eq!(first.status, "pending");
    assert_eq!(first.feedback, feedback(Some(ada)));
    assert_eq!(store.feedback(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.feedback(second.id + 100).await.unwrap(), None);

    store.delete_user(ada).await.unwrap();
    let kept = store.feedback(first.id).await.unwrap().unwrap();
    assert_eq!(kept.feedback.user_id, None);
    assert_eq!(
        kept.feedback.description,
        "delete from users; -- it crashed"
    );
}

async fn accuracy_is_counted_per_vendor_and_model(store: Arc<dyn Storage>) {
    let ids = import(
        &store,
        &[
            question(1, Some("openai"), Some("gpt-5")),
            question(2, Some("anthropic"), Some("claude-opus-4-7")),
            question(3, Some("anthropic"), None),
            question(4, None, Some("aiq-generator/1")),
            question(5, Some("anthropic"), Some("claude-opus-4-7")),
        ],
    )
    .await;
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let first = take_test(
        &store,
        ada,
        &[
            (ids[0], true),
            (ids[1], true),
            (ids[2], false),
            (ids[3], true),
        ],
        true,
    )
    .await;
    let _open = take_test(&store, ada, &[(ids[4], true)], false).await;
    take_test(&store, bob, &[(ids[4], false)], true).await;

    let expected = vec![
        ModelAccuracy {
            vendor: "anthropic".into(),
            model: None,
            correct: 0,
            total: 1,
        },
        ModelAccuracy {
            vendor: "anthropic".into(),
            model: Some("claude-opus-4-7".into()),
            correct: 1,
            total: 1,
        },
        ModelAccuracy {
            vendor: "openai".into(),
            model: Some("gpt-5".into()),
            correct: 1,
            total: 1,
        },
    ];
    let mine = store
        .model_accuracy(AccuracyScope::User(ada))
        .await
        .unwrap();
    assert_eq!(
        mine, expected,
        "completed sessions only, vendors without a name left out"
    );
    let session = store
        .model_accuracy(AccuracyScope::Session(first))
        .await
        .unwrap();
    assert_eq!(session, expected);
    let bobs = store
        .model_accuracy(AccuracyScope::User(bob))
        .await
        .unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!((bobs[0].correct, bobs[0].total), (0, 1));
}

fn llm_run(model: &str, status: &str, iq: Option<i32>, errors: Vec<Option<String>>) -> NewLlmRun {
    NewLlmRun {
        vendor: "anthropic".to_owned(),
        model_id: model.to_owned(),
        status: status.to_owned(),
        iq_score: iq,
        total_questions: 20,
        correct_answers: 15,
        domain_scores: Some(json!({"math": {"correct": 7, "total": 10}})),
        response_errors: errors,
    }
}

async fn only_clean_completed_llm_runs_count(store: Arc<dyn Storage>) {
    let clean = llm_run(
        "good",
        "completed",
        Some(120),
        vec![None, Some(String::new())],
    );
    store.record_llm_run(clean.clone()).await.unwrap();
    store
        .record_llm_run(llm_run(
            "errored",
            "completed",
            Some(130),
            vec![None, Some("timeout".into())],
        ))
        .await
        .unwrap();
    store
        .record_llm_run(llm_run("unscored", "completed", None, vec![]))
        .await
        .unwrap();
    store
        .record_llm_run(llm_run("running", "in_progress", Some(110), vec![]))
        .await
        .unwrap();
    let runs = store.llm_runs().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].model_id, "good");
    assert_eq!(runs[0].iq_score, 120);
    assert_eq!(runs[0].domain_scores, clean.domain_scores);
    assert_eq!((runs[0].correct_answers, runs[0].total_questions), (15, 20));
}

async fn question_statistics_are_listed_most_answered_first(store: Arc<dyn Storage>) {
    let ids = import(
        &store,
        &[
            question(1, None, None),
            question(2, None, None),
            question(3, None, None),
        ],
    )
    .await;
    for (n, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let owner = user(&store, email).await;
        let mut answers = vec![(ids[0], true), (ids[1], false)];
        if n == 0 {
            answers.push((ids[2], true));
        }
        take_test(&store, owner, &answers, true).await;
    }
    store
        .refresh_question_statistics(&ids, aiq_core::time::now(), 2_000)
        .await
        .unwrap();
    let all = store.question_statistics(0).await.unwrap();
    let order: Vec<i64> = all.iter().map(|s| s.question_id).collect();
    assert_eq!(order, [ids[0], ids[1], ids[2]]);
    assert_eq!(all[0].response_count, 3);
    assert_eq!(all[0].empirical_difficulty, Some(1.0));
    assert_eq!(all[1].empirical_difficulty, Some(0.0));
    assert!(all[0].is_active);
    let enough = store.question_statistics(2).await.unwrap();
    assert_eq!(enough.len(), 2);
}

async fn source_llm_round_trips(store: Arc<dyn Storage>) {
    let ids = import(
        &store,
        &[
            question(1, Some("openai"), Some("gpt-5")),
            question(2, None, None),
        ],
    )
    .await;
    let stored = store.questions_by_ids(&ids).await.unwrap();
    let vendors: Vec<Option<&str>> = stored
        .iter()
        .map(|q| q.content.source_llm.as_deref())
        .collect();
    assert_eq!(vendors, [Some("openai"), None]);
}
