//! Users: creation, uniqueness, deletion, logins, profiles, token generations and OAuth
//! identities.

use std::sync::Arc;

use aiq_core::storage::{
    Conflict, EducationLevel, GUEST_USER_ID, NewUser, ProfileUpdate, Storage, StorageError,
};
use time::macros::datetime;

use super::cases;
use super::common::{at, full_user};

cases!(
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
