//! The storage conformance suite: every test runs against the in-memory store and against
//! PostgreSQL (a fresh database per test), and both must behave the same.

mod support;

use std::sync::Arc;

use aiq_core::storage::{Conflict, EducationLevel, GUEST_USER_ID, NewUser, Storage, StorageError};
use time::macros::datetime;

/// Declares each listed `async fn(Arc<dyn Storage>)` as a test for both backends.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(std::sync::Arc::new(aiq_core::storage::MemoryStore::new())).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _db) = crate::support::pg_store().await;
                    super::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
    };
}

conformance!(
    ping_answers,
    guest_sentinel_is_seeded,
    created_user_reads_back_identically,
    duplicate_email_is_a_conflict_and_writes_nothing,
    concurrent_registrations_of_one_email_create_one_user,
    ids_are_distinct_and_positive,
    deleting_a_user_frees_the_email,
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
