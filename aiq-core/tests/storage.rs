//! The storage conformance suite: every test runs against the in-memory store and against
//! PostgreSQL (a fresh database per test), and both must behave the same.
//!
//! Users, logins, profiles and OAuth identities here, with the helpers the other parts share;
//! the rest in `storage/`: credentials (reset tokens, revocations), the item bank, test
//! sessions, records (claims, statistics, configuration, deletion), and PostgreSQL-only states.

mod support;

use std::sync::Arc;

use aiq_core::questions::{Difficulty, Domain, NewQuestion, starter_bank};
use aiq_core::storage::{
    ClaimOutcome, Completion, Conflict, EducationLevel, GUEST_USER_ID, NewPasswordReset,
    NewResponse, NewResult, NewSession, NewUser, PasswordChange, ProfileUpdate, QualityFlag,
    QuestionId, Revocation, SessionId, SessionStatus, Storage, StorageError, TestResult,
    TestSession, UserId,
};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// Reset tokens, revocations.
#[path = "storage/credentials.rs"]
mod credentials;

// Imports, unseen questions, selection candidates.
#[path = "storage/bank.rs"]
mod bank;

// Starting, completing, abandoning, history.
#[path = "storage/sessions.rs"]
mod sessions;

// Claims, statistics, devices, configuration, deletion.
#[path = "storage/records.rs"]
mod records;

// States only PostgreSQL can set up.
#[path = "storage/postgres_only.rs"]
mod postgres_only;

conformance!(
    ping_answers,
    guest_sentinel_is_seeded,
    created_user_reads_back_identically,
    duplicate_email_is_a_conflict_and_writes_nothing,
    concurrent_registrations_of_one_email_create_one_user,
    ids_are_distinct_and_positive,
    deleting_a_user_frees_the_email,
    a_login_is_recorded_and_can_upgrade_the_hash,
    profile_updates_change_only_what_is_given,
    revoking_all_tokens_bumps_the_generation,
    oauth_users_are_created_with_their_identity_atomically,
    an_identity_links_once,
);

fn full_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        first_name: Some("Ada".to_owned()),
        last_name: Some("Lovelace 2nd".to_owned()),
        birth_year: Some(1990),
        education_level: Some(EducationLevel::Masters),
        country: Some("GB".to_owned()),
        region: Some("London".to_owned()),
        password_login_enabled: true,
        created_at: datetime!(2024-01-02 03:04:05.123456 UTC),
    }
}

async fn ping_answers(store: Arc<dyn Storage>) {
    store.ping().await.unwrap();
}

async fn guest_sentinel_is_seeded(store: Arc<dyn Storage>) {
    let guest = store.user_by_id(GUEST_USER_ID).await.unwrap().unwrap();
    assert_eq!(guest.email, "guest@aiq.internal");
    assert!(guest.bypass_cooldown);
    assert!(!guest.notification_enabled);
    assert!(!guest.password_login_enabled);
    assert!(store.user_by_id(1).await.unwrap().is_none());
}

async fn created_user_reads_back_identically(store: Arc<dyn Storage>) {
    let created = store
        .create_user(full_user("ada@example.com"))
        .await
        .unwrap();
    assert!(created.id > 0);
    assert_eq!(created.email, "ada@example.com");
    assert_eq!(
        created.created_at,
        datetime!(2024-01-02 03:04:05.123456 UTC)
    );
    assert_eq!(created.education_level, Some(EducationLevel::Masters));
    assert!(created.notification_enabled);
    assert!(!created.is_admin && !created.bypass_cooldown);
    assert_eq!(created.last_login_at, None);

    let by_id = store.user_by_id(created.id).await.unwrap().unwrap();
    let by_email = store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id, created);
    assert_eq!(by_email, created);
    assert!(
        store
            .user_by_email("ADA@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

async fn duplicate_email_is_a_conflict_and_writes_nothing(store: Arc<dyn Storage>) {
    let first = store
        .create_user(full_user("dup@example.com"))
        .await
        .unwrap();
    let mut second = full_user("dup@example.com");
    second.first_name = Some("Other".to_owned());
    let err = store.create_user(second).await.unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(Conflict::UserEmail)),
        "{err:?}"
    );
    let stored = store
        .user_by_email("dup@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, first);
    // The failed insert did not consume the next user's place in a visible way either.
    let next = store
        .create_user(full_user("next@example.com"))
        .await
        .unwrap();
    assert!(next.id > first.id);
}

async fn concurrent_registrations_of_one_email_create_one_user(store: Arc<dyn Storage>) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let mut user = full_user("race@example.com");
            user.first_name = Some(format!("racer {i}"));
            store.create_user(user).await
        });
    }
    let (mut created, mut conflicts) = (Vec::new(), 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(user) => created.push(user),
            Err(StorageError::Conflict(Conflict::UserEmail)) => conflicts += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one creation wins");
    assert_eq!(conflicts, 19);
    let stored = store
        .user_by_email("race@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, created[0]);
}

async fn ids_are_distinct_and_positive(store: Arc<dyn Storage>) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let user = store
            .create_user(NewUser::with_password(format!("u{i}@example.com"), "h"))
            .await
            .unwrap();
        ids.push(user.id);
    }
    assert!(ids.iter().all(|id| *id > 0));
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

async fn deleting_a_user_frees_the_email(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("gone@example.com"))
        .await
        .unwrap();
    assert!(store.delete_user(user.id).await.unwrap());
    assert!(
        !store.delete_user(user.id).await.unwrap(),
        "second delete finds nothing"
    );
    assert!(store.user_by_id(user.id).await.unwrap().is_none());
    assert!(
        store
            .user_by_email("gone@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let again = store
        .create_user(full_user("gone@example.com"))
        .await
        .unwrap();
    assert_ne!(again.id, user.id);
}

fn at(seconds: i64) -> OffsetDateTime {
    datetime!(2025-06-01 12:00:00 UTC) + Duration::seconds(seconds)
}

async fn a_login_is_recorded_and_can_upgrade_the_hash(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("login@example.com"))
        .await
        .unwrap();
    let after = store
        .record_login(user.id, at(5), &user.password_hash, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.last_login_at, Some(at(5)));
    assert_eq!(after.password_hash, user.password_hash);
    let upgraded = store
        .record_login(
            user.id,
            at(9),
            &user.password_hash,
            Some("$argon2id$new".to_owned()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(upgraded.password_hash, "$argon2id$new");
    assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap(), upgraded);
    assert!(
        store
            .record_login(9999, at(1), "x", None)
            .await
            .unwrap()
            .is_none()
    );
}

async fn profile_updates_change_only_what_is_given(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("profile@example.com"))
        .await
        .unwrap();
    let unchanged = store
        .update_profile(user.id, ProfileUpdate::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, user);
    let update = ProfileUpdate {
        first_name: Some(Some("Grace".to_owned())),
        last_name: Some(None),
        notification_enabled: Some(false),
    };
    let changed = store
        .update_profile(user.id, update)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.first_name.as_deref(), Some("Grace"));
    assert_eq!(changed.last_name, None);
    assert!(!changed.notification_enabled);
    assert_eq!(changed.country, user.country);
    assert!(
        store
            .update_profile(9999, ProfileUpdate::default())
            .await
            .unwrap()
            .is_none()
    );
}

async fn revoking_all_tokens_bumps_the_generation(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("all@example.com"))
        .await
        .unwrap();
    assert_eq!(user.token_generation, 0);
    let once = store
        .revoke_all_tokens(user.id, at(1))
        .await
        .unwrap()
        .unwrap();
    let twice = store
        .revoke_all_tokens(user.id, at(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((once.token_generation, twice.token_generation), (1, 2));
    assert_eq!(twice.token_revoked_before, Some(at(2)));
}

async fn oauth_users_are_created_with_their_identity_atomically(store: Arc<dyn Storage>) {
    let mut new = NewUser::with_password("sso@example.com", "random");
    new.password_login_enabled = false;
    let user = store
        .create_oauth_user(new, "apple", "sub-1")
        .await
        .unwrap();
    assert!(!user.password_login_enabled);
    let found = store
        .user_by_oauth_identity("apple", "sub-1")
        .await
        .unwrap();
    assert_eq!(found, Some(user.clone()));
    assert!(
        store
            .user_by_oauth_identity("google", "sub-1")
            .await
            .unwrap()
            .is_none()
    );

    // The email is taken: neither the user nor the identity is written.
    let err = store
        .create_oauth_user(
            NewUser::with_password("sso@example.com", "x"),
            "google",
            "sub-2",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(Conflict::UserEmail)),
        "{err:?}"
    );
    assert!(
        store
            .user_by_oauth_identity("google", "sub-2")
            .await
            .unwrap()
            .is_none()
    );

    // The identity is taken: no second user.
    let err = store
        .create_oauth_user(
            NewUser::with_password("other@example.com", "x"),
            "apple",
            "sub-1",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(Conflict::OAuthIdentity)),
        "{err:?}"
    );
    assert!(
        store
            .user_by_email("other@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

async fn an_identity_links_once(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("link@example.com"))
        .await
        .unwrap();
    store
        .link_oauth_identity(user.id, "google", "g-1", at(0))
        .await
        .unwrap();
    let err = store
        .link_oauth_identity(user.id, "google", "g-1", at(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(Conflict::OAuthIdentity)),
        "{err:?}"
    );
    assert_eq!(
        store
            .user_by_oauth_identity("google", "g-1")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );
}

// ---- The item bank and tests ----

/// A valid question, distinct per `n`, in domain `n % 6`.
fn question(n: usize) -> NewQuestion {
    let domain = Domain::ALL[n % Domain::ALL.len()];
    NewQuestion {
        question_text: format!("Question {n}: what is {n} + 1?"),
        question_type: domain,
        difficulty_level: Difficulty::ALL[n % 3],
        correct_answer: format!("{}", n + 1),
        answer_options: (0..4).map(|k| format!("{}", n + k)).collect(),
        explanation: n.is_multiple_of(2).then(|| "Add one.".to_owned()),
        stimulus: (domain == Domain::Memory).then(|| format!("Remember {n}")),
        sub_type: Some("addition".to_owned()),
        source_llm: n.is_multiple_of(3).then(|| format!("vendor-{}", n % 2)),
        source_model: n.is_multiple_of(2).then(|| format!("model-{}", n % 4)),
        is_anchor: n.is_multiple_of(5),
        metadata: json!({"n": n, "nested": {"list": [1, 2]}}),
    }
}

/// Imports `n` questions and returns their ids, ascending.
async fn bank(store: &Arc<dyn Storage>, n: usize) -> Vec<QuestionId> {
    let rows: Vec<NewQuestion> = (0..n).map(question).collect();
    assert!(
        store
            .import_questions(&rows)
            .await
            .unwrap()
            .iter()
            .all(|added| *added)
    );
    let mut ids: Vec<QuestionId> = store
        .selection_candidates(None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), n);
    ids
}

async fn user(store: &Arc<dyn Storage>, email: &str) -> UserId {
    store
        .create_user(NewUser::with_password(email, "h"))
        .await
        .unwrap()
        .id
}

fn new_session(user_id: UserId, question_ids: &[QuestionId], started: i64) -> NewSession {
    NewSession {
        user_id,
        started_at: at(started),
        question_ids: question_ids.to_vec(),
        composition_metadata: json!({"easy": 1, "domains": {"math": 2}}),
        is_adaptive: false,
        record_seen: user_id != GUEST_USER_ID,
    }
}

fn scores(total: usize, correct: i32) -> NewResult {
    NewResult {
        iq_score: 100 + correct,
        percentile_rank: Some(50.5),
        total_questions: i32::try_from(total).unwrap(),
        correct_answers: correct,
        completion_time_seconds: Some(600),
        standard_error: Some(4.5),
        ci_lower: Some(91),
        ci_upper: Some(109),
        response_time_flags: Some(json!({"rapid": 0})),
        validity_status: "valid".to_owned(),
        validity_flags: None,
        domain_scores: Some(json!({"math": {"correct": correct}})),
        scoring_method: "ctt".to_owned(),
    }
}

/// Completes `session` with these answers; the result's correct count is `total`.
fn completion(
    session: SessionId,
    answers: &[(QuestionId, bool)],
    total: i32,
    completed: i64,
) -> Completion {
    Completion {
        session_id: session,
        completed_at: at(completed),
        time_limit_exceeded: completed > 1800,
        responses: answers
            .iter()
            .enumerate()
            .map(|(i, (question_id, is_correct))| NewResponse {
                question_id: *question_id,
                user_answer: format!("answer {i}"),
                is_correct: *is_correct,
                time_spent_seconds: (i % 2 == 0).then_some(i32::try_from(i).unwrap() + 10),
            })
            .collect(),
        result: scores(answers.len(), total),
    }
}

/// Starts and completes one session for `owner` over `answers`.
async fn take_test(
    store: &Arc<dyn Storage>,
    owner: UserId,
    answers: &[(QuestionId, bool)],
    total: i32,
    started: i64,
) -> (TestSession, TestResult) {
    let ids: Vec<QuestionId> = answers.iter().map(|(id, _)| *id).collect();
    let session = store
        .start_session(new_session(owner, &ids, started))
        .await
        .unwrap();
    store
        .complete_session(completion(session.id, answers, total, started + 60))
        .await
        .unwrap()
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StorageError>, expected: Conflict) {
    match result {
        Err(StorageError::Conflict(conflict)) => assert_eq!(conflict, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}
