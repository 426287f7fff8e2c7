//! Users with a device token, for the push tests.

use aiq_core::storage::{NewUser, Storage, UserId};

/// A user named Ada with push enabled (the default) and `token` registered.
pub async fn pushable_user(store: &dyn Storage, email: &str, token: &str) -> UserId {
    let mut new = NewUser::with_password(email, "hash");
    new.first_name = Some("Ada".into());
    let user = store.create_user(new).await.unwrap();
    assert!(store.set_device_token(user.id, Some(token)).await.unwrap());
    user.id
}

/// The device token stored for `user`.
pub async fn store_token(store: &dyn Storage, user: UserId) -> Option<String> {
    store
        .user_by_id(user)
        .await
        .unwrap()
        .unwrap()
        .apns_device_token
}
