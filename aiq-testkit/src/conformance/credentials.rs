//! Password reset tokens, token revocations and logins against a replaced hash.

use std::sync::Arc;

use aiq_core::storage::{NewPasswordReset, NewUser, PasswordChange, Revocation, Storage};

use super::cases;
use super::common::{at, full_user};

cases!(
    a_reset_token_is_redeemed_once_and_changes_the_password,
    a_new_reset_request_retires_the_older_links,
    expired_or_unknown_reset_tokens_change_nothing,
    active_reset_tokens_are_capped,
    concurrent_redemptions_of_one_token_succeed_once,
    deleting_a_user_removes_identities_and_reset_tokens,
    revocations_are_remembered_until_they_expire,
    a_user_is_read_with_the_revocations_of_its_token,
    concurrent_revocations_of_one_key_report_one_new,
    live_revocations_are_listed_page_by_page_in_key_order,
    a_login_checked_against_a_replaced_hash_changes_nothing,
);

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

async fn a_user_is_read_with_the_revocations_of_its_token(store: Arc<dyn Storage>) {
    let user = store
        .create_user(NewUser::with_password("checked@example.com", "x"))
        .await
        .unwrap();
    let keys = ["jti:live", "sid:gone", "jti:clean"];
    assert!(store.revoke("sid:gone", at(10), at(50)).await.unwrap());
    assert!(store.revoke("jti:live", at(20), at(500)).await.unwrap());

    let (found, revoked) = store
        .user_with_revocations(user.id, &keys, at(30))
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.email), Some(user.email.clone()));
    assert_eq!(revoked, vec![Some(at(20)), Some(at(10)), None]);
    // The same answers as the two reads it replaces.
    assert_eq!(revoked, store.revoked_at(&keys, at(30)).await.unwrap());

    // An expired revocation no longer counts; an unknown user still gets the revocations.
    let (missing, revoked) = store
        .user_with_revocations(user.id + 1000, &keys, at(60))
        .await
        .unwrap();
    assert!(missing.is_none());
    assert_eq!(revoked, vec![Some(at(20)), None, None]);
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

async fn live_revocations_are_listed_page_by_page_in_key_order(store: Arc<dyn Storage>) {
    // Revoked in an order that is not the key order; one has expired by the listing time.
    store.revoke("sid:b", at(0), at(100)).await.unwrap();
    store.revoke("jti:c", at(1), at(100)).await.unwrap();
    store.revoke("jti:a", at(2), at(100)).await.unwrap();
    store.revoke("jti:gone", at(0), at(10)).await.unwrap();
    store.revoke("jti:b", at(3), at(200)).await.unwrap();

    let first = store.live_revocations(None, 2, at(50)).await.unwrap();
    assert_eq!(
        first,
        vec![
            Revocation {
                key: "jti:a".to_owned(),
                revoked_at: at(2),
                expires_at: at(100),
            },
            Revocation {
                key: "jti:b".to_owned(),
                revoked_at: at(3),
                expires_at: at(200),
            },
        ]
    );
    let second = store
        .live_revocations(Some("jti:b"), 2, at(50))
        .await
        .unwrap();
    let keys: Vec<&str> = second.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["jti:c", "sid:b"], "jti:gone has expired");
    let last = store
        .live_revocations(Some("sid:b"), 2, at(50))
        .await
        .unwrap();
    assert!(last.is_empty());
    assert_eq!(
        store
            .live_revocations(None, 10, at(150))
            .await
            .unwrap()
            .len(),
        1
    );
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
