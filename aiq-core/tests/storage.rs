//! The storage conformance suite: every test runs against the in-memory store and against
//! PostgreSQL (a fresh database per test), and both must behave the same.

mod support;

use std::sync::Arc;

use aiq_core::storage::{
    Conflict, EducationLevel, GUEST_USER_ID, NewPasswordReset, NewUser, PasswordChange,
    ProfileUpdate, Storage, StorageError,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

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
    a_login_is_recorded_and_can_upgrade_the_hash,
    a_login_checked_against_a_replaced_hash_changes_nothing,
    profile_updates_change_only_what_is_given,
    revoking_all_tokens_bumps_the_generation,
    oauth_users_are_created_with_their_identity_atomically,
    an_identity_links_once,
    a_reset_token_is_redeemed_once_and_changes_the_password,
    a_new_reset_request_retires_the_older_links,
    expired_or_unknown_reset_tokens_change_nothing,
    active_reset_tokens_are_capped,
    concurrent_redemptions_of_one_token_succeed_once,
    deleting_a_user_removes_identities_and_reset_tokens,
    revocations_are_remembered_until_they_expire,
    concurrent_revocations_of_one_key_report_one_new,
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

fn reset(user_id: i64, hash: &str, created: i64) -> NewPasswordReset {
    NewPasswordReset {
        user_id,
        token_hash: format!("{hash:0>64}"),
        created_at: at(created),
        expires_at: at(created + 1800),
    }
}

fn change(hash: &str, seconds: i64) -> PasswordChange {
    PasswordChange {
        password_hash: hash.to_owned(),
        at: at(seconds),
    }
}

async fn a_reset_token_is_redeemed_once_and_changes_the_password(store: Arc<dyn Storage>) {
    let mut new = NewUser::with_password("reset@example.com", "old");
    new.password_login_enabled = false;
    let user = store.create_user(new).await.unwrap();
    assert!(
        store
            .create_password_reset(reset(user.id, "a1", 0), 10)
            .await
            .unwrap()
    );
    let hash = format!("{:0>64}", "a1");
    let changed = store
        .redeem_password_reset(&hash, change("new", 60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.id, user.id);
    assert_eq!(changed.password_hash, "new");
    assert!(changed.password_login_enabled);
    assert_eq!(changed.token_generation, user.token_generation + 1);
    assert_eq!(changed.token_revoked_before, Some(at(60)));
    assert!(
        store
            .redeem_password_reset(&hash, change("again", 61))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .user_by_id(user.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "new"
    );
}

async fn a_new_reset_request_retires_the_older_links(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("retire@example.com"))
        .await
        .unwrap();
    assert!(
        store
            .create_password_reset(reset(user.id, "b1", 0), 10)
            .await
            .unwrap()
    );
    assert!(
        store
            .create_password_reset(reset(user.id, "b2", 10), 10)
            .await
            .unwrap()
    );
    let old = format!("{:0>64}", "b1");
    let new = format!("{:0>64}", "b2");
    assert!(
        store
            .redeem_password_reset(&old, change("x", 20))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .redeem_password_reset(&new, change("y", 20))
            .await
            .unwrap()
            .is_some()
    );
}

async fn expired_or_unknown_reset_tokens_change_nothing(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("expired@example.com"))
        .await
        .unwrap();
    assert!(
        store
            .create_password_reset(reset(user.id, "c1", 0), 10)
            .await
            .unwrap()
    );
    let hash = format!("{:0>64}", "c1");
    assert!(
        store
            .redeem_password_reset(&hash, change("x", 1800))
            .await
            .unwrap()
            .is_none()
    );
    let unknown = format!("{:0>64}", "ffff");
    assert!(
        store
            .redeem_password_reset(&unknown, change("x", 1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap(), user);
}

async fn active_reset_tokens_are_capped(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("cap@example.com"))
        .await
        .unwrap();
    assert!(
        store
            .create_password_reset(reset(user.id, "d1", 0), 1)
            .await
            .unwrap()
    );
    // One active token already: with a cap of one, nothing is written.
    assert!(
        !store
            .create_password_reset(reset(user.id, "d2", 5), 1)
            .await
            .unwrap()
    );
    let first = format!("{:0>64}", "d1");
    let second = format!("{:0>64}", "d2");
    assert!(
        store
            .redeem_password_reset(&second, change("x", 6))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .redeem_password_reset(&first, change("x", 6))
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_redemptions_of_one_token_succeed_once(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("race-reset@example.com"))
        .await
        .unwrap();
    assert!(
        store
            .create_password_reset(reset(user.id, "e1", 0), 10)
            .await
            .unwrap()
    );
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let hash = format!("{:0>64}", "e1");
            store
                .redeem_password_reset(&hash, change(&format!("hash-{i}"), 30))
                .await
                .unwrap()
        });
    }
    let mut winners = Vec::new();
    while let Some(result) = tasks.join_next().await {
        if let Some(user) = result.unwrap() {
            winners.push(user);
        }
    }
    assert_eq!(winners.len(), 1);
    let stored = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, winners[0].password_hash);
    assert_eq!(stored.token_generation, 1);
}

async fn deleting_a_user_removes_identities_and_reset_tokens(store: Arc<dyn Storage>) {
    let user = store
        .create_oauth_user(
            NewUser::with_password("cascade@example.com", "x"),
            "apple",
            "c-1",
        )
        .await
        .unwrap();
    assert!(
        store
            .create_password_reset(reset(user.id, "f1", 0), 10)
            .await
            .unwrap()
    );
    assert!(store.delete_user(user.id).await.unwrap());
    assert!(
        store
            .user_by_oauth_identity("apple", "c-1")
            .await
            .unwrap()
            .is_none()
    );
    let hash = format!("{:0>64}", "f1");
    assert!(
        store
            .redeem_password_reset(&hash, change("x", 1))
            .await
            .unwrap()
            .is_none()
    );
    // The identity is free again.
    store
        .create_oauth_user(
            NewUser::with_password("cascade@example.com", "x"),
            "apple",
            "c-1",
        )
        .await
        .unwrap();
}

async fn revocations_are_remembered_until_they_expire(store: Arc<dyn Storage>) {
    assert!(store.revoke("jti:one", at(0), at(100)).await.unwrap());
    assert!(
        !store.revoke("jti:one", at(5), at(200)).await.unwrap(),
        "already revoked"
    );
    let seen = store
        .revoked_at(&["jti:one", "jti:two"], at(50))
        .await
        .unwrap();
    assert_eq!(seen, vec![Some(at(0)), None]);
    assert_eq!(
        store.revoked_at(&["jti:one"], at(100)).await.unwrap(),
        vec![None]
    );
    // Once expired, the key can be revoked anew.
    assert!(store.revoke("jti:one", at(150), at(300)).await.unwrap());
    assert_eq!(
        store.revoked_at(&["jti:one"], at(151)).await.unwrap(),
        vec![Some(at(150))]
    );
}

async fn concurrent_revocations_of_one_key_report_one_new(store: Arc<dyn Storage>) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        tasks.spawn(async move { store.revoke("sid:race", at(0), at(60)).await.unwrap() });
    }
    let mut new = 0;
    while let Some(result) = tasks.join_next().await {
        new += usize::from(result.unwrap());
    }
    assert_eq!(new, 1);
}

async fn a_login_checked_against_a_replaced_hash_changes_nothing(store: Arc<dyn Storage>) {
    let user = store
        .create_user(full_user("raced@example.com"))
        .await
        .unwrap();
    assert!(
        store
            .create_password_reset(reset(user.id, "r1", 0), 10)
            .await
            .unwrap()
    );
    let hash = format!("{:0>64}", "r1");
    store
        .redeem_password_reset(&hash, change("after-reset", 10))
        .await
        .unwrap()
        .unwrap();
    // A login verified against the old hash arrives after the reset.
    let late = store
        .record_login(
            user.id,
            at(11),
            &user.password_hash,
            Some("$argon2id$old-password".to_owned()),
        )
        .await
        .unwrap();
    assert!(late.is_none());
    let stored = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, "after-reset");
    assert_eq!(stored.last_login_at, None);
}
