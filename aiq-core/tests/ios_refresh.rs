//! Refresh as the shipped iOS app uses it (`ios-client.md`): it refreshes with the keychain's
//! older refresh token at every launch, throws away the answer of some refreshes, and sends two
//! refreshes with one token at once. With the default settings none of this may sign a user
//! out; the opt-in rotation modes still do what they say; logout, logout-all, password reset
//! and account deletion still end refresh tokens.
//!
//! Every case runs on the four deployments: the in-memory store or PostgreSQL, with revocations
//! in the store or in a real Redis (`AIQ_TEST_REDIS_URL`, each test under its own key prefix).

mod support;

use std::sync::Arc;

use aiq_core::config::RefreshRotation;
use aiq_core::storage::{MemoryStore, RedisRevocations, Storage};
use aiq_core::{Aiq, AiqService, Config};
use aiq_testkit::TestDb;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{
    RecordingMailer, Reply, authed, detail, json as json_request, login, profile, register, send,
};

/// Relaunches, throw-aways and concurrent pairs per test.
const ROUNDS: usize = 100;

const PASSWORD: &str = "correct horse 9";

fn redis_url() -> String {
    std::env::var("AIQ_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// One deployment: a service, what it stores into, and its mail.
struct World {
    service: AiqService,
    inbox: tokio::sync::mpsc::UnboundedReceiver<aiq_core::mail::Message>,
    _db: Option<TestDb>,
    redis_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Store {
    Memory,
    Postgres,
}

#[derive(Debug, Clone, Copy)]
enum Revocations {
    InStore,
    Redis,
}

impl World {
    /// A deployment with the default settings (`rotation` `None`: whatever the default mode is,
    /// which is what the app meets) or the given rotation mode.
    async fn new(
        store: Store,
        revocations: Revocations,
        rotation: Option<RefreshRotation>,
    ) -> Self {
        let mut config = Config::default();
        config.security.jwt_secret_key =
            "ios-refresh-tests-signing-key-0123456789".to_owned().into();
        config.security.password_reset_url_base = "https://app.example/reset?token=".into();
        if let Some(rotation) = rotation {
            config.security.refresh_token_rotation = rotation;
        }
        // 100 rounds refresh far more often than the refresh limit (10 a minute) allows; the
        // limiter has its own tests, and the 429 body is checked in too_many_requests.rs.
        config.rate_limit.enabled = false;
        let (storage, db): (Arc<dyn Storage>, _) = match store {
            Store::Memory => (Arc::new(MemoryStore::new()), None),
            Store::Postgres => {
                let (store, db) = support::pg_store().await;
                (Arc::new(store), Some(db))
            }
        };
        let (mailer, inbox) = RecordingMailer::new();
        let mut builder = Aiq::builder(config).storage(storage).mailer(mailer);
        let mut redis_prefix = None;
        if let Revocations::Redis = revocations {
            let prefix = format!("aiq-test:{}:", uuid::Uuid::new_v4().simple());
            let redis = RedisRevocations::new(&redis_url(), &prefix).unwrap();
            builder = builder.revocations(Arc::new(redis));
            redis_prefix = Some(prefix);
        }
        Self {
            service: builder.build().unwrap(),
            inbox,
            _db: db,
            redis_prefix,
        }
    }

    /// Deletes this test's Redis keys (after checking that revocations really went there).
    async fn finish(self, expect_redis_keys: bool) {
        let Some(prefix) = self.redis_prefix else {
            return;
        };
        let mut connection = redis::Client::open(redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("Redis is required for these tests (.ci/run starts it)");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        if expect_redis_keys {
            assert!(!keys.is_empty(), "revocations were written to Redis");
        }
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut connection)
                .await
                .unwrap();
        }
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        send(
            &self.service,
            authed(Method::POST, "/v1/auth/refresh", refresh_token),
        )
        .await
    }

    /// Refreshes and expects a new pair.
    async fn refreshed(&self, refresh_token: &str, context: &str) -> Pair {
        let reply = self.refresh(refresh_token).await;
        assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text());
        Pair::of(&reply.json())
    }

    /// Asserts that both tokens of `pair` work: the access token reads the profile, the refresh
    /// token refreshes. Returns the pair that last refresh gave.
    async fn works(&self, pair: &Pair, context: &str) -> Pair {
        let reply = profile(&self.service, &pair.access).await;
        assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text());
        self.refreshed(&pair.refresh, context).await
    }

    async fn refused(&self, refresh_token: &str, context: &str) {
        let reply = self.refresh(refresh_token).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{context}: {}",
            reply.text()
        );
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer"),
            "{context}"
        );
    }
}

/// An access token and a refresh token from one answer.
#[derive(Debug, Clone)]
struct Pair {
    access: String,
    refresh: String,
}

impl Pair {
    fn of(body: &Value) -> Self {
        Self {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }
}

async fn signed_up(world: &World, email: &str) -> Pair {
    Pair::of(&register(&world.service, email).await)
}

async fn logged_in(world: &World, email: &str) -> Pair {
    let reply = login(&world.service, email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    Pair::of(&reply.json())
}

/// Declares each `async fn(Store, Revocations)` as four tests, one per deployment.
macro_rules! every_deployment {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::{Revocations, Store};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$name(Store::Memory, Revocations::InStore).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory_with_redis_revocations() {
                    super::$name(Store::Memory, Revocations::Redis).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(Store::Postgres, Revocations::InStore).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_with_redis_revocations() {
                    super::$name(Store::Postgres, Revocations::Redis).await;
                }
            }
        )*
    };
}

every_deployment!(
    relaunch_refreshes_with_the_keychains_older_token,
    a_thrown_away_refresh_leaves_the_token_usable,
    two_refreshes_with_one_token_at_once_both_succeed,
    rotate_revokes_the_used_token_but_not_the_login,
    reuse_detection_revokes_the_whole_login,
    logout_ends_every_refresh_token_of_the_login,
    logout_all_password_reset_and_deletion_end_every_refresh_token,
);

/// Pattern 1: login stores RT1 in the keychain; during the session the app refreshes in memory
/// (RT1 -> RT2 -> ...); at the next launch it refreshes with RT1 again. 100 launches.
async fn relaunch_refreshes_with_the_keychains_older_token(store: Store, revocations: Revocations) {
    let world = World::new(store, revocations, None).await;
    let keychain = signed_up(&world, "relaunch@example.com").await;
    for round in 0..ROUNDS {
        let context = format!("launch {round}");
        // Launch: refresh with the keychain's token, then work with the new pair.
        let launched = world.refreshed(&keychain.refresh, &context).await;
        // A silent refresh during the session (its result kept in memory only)...
        let in_memory = world.works(&launched, &context).await;
        // ...and that newer pair works too, as does the keychain's access token's successor.
        world.works(&in_memory, &context).await;
    }
    // The keychain's own pair still works after 100 launches.
    world.works(&keychain, "after the launches").await;
    world.finish(false).await;
}

/// Pattern 2: `getActiveTest()` refreshes and throws the answer away; the next request refreshes
/// with the same token.
async fn a_thrown_away_refresh_leaves_the_token_usable(store: Store, revocations: Revocations) {
    let world = World::new(store, revocations, None).await;
    let held = signed_up(&world, "throwaway@example.com").await;
    for round in 0..ROUNDS {
        let context = format!("round {round}");
        let _thrown_away = world.refreshed(&held.refresh, &context).await;
        let kept = world.refreshed(&held.refresh, &context).await;
        let reply = profile(&world.service, &kept.access).await;
        assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text());
    }
    world.works(&held, "after the rounds").await;
    world.finish(false).await;
}

/// Pattern 3: the dashboard loads two screens at once, each refreshing with the same token.
async fn two_refreshes_with_one_token_at_once_both_succeed(store: Store, revocations: Revocations) {
    let world = World::new(store, revocations, None).await;
    let held = signed_up(&world, "parallel@example.com").await;
    for round in 0..ROUNDS {
        let context = format!("round {round}");
        let (first, second) =
            tokio::join!(world.refresh(&held.refresh), world.refresh(&held.refresh));
        for reply in [&first, &second] {
            assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text());
        }
        // All four tokens work.
        for reply in [&first, &second] {
            world.works(&Pair::of(&reply.json()), &context).await;
        }
    }
    world.finish(false).await;
}

/// `rotate`: the used token is refused afterwards, and nothing else is revoked.
async fn rotate_revokes_the_used_token_but_not_the_login(store: Store, revocations: Revocations) {
    let world = World::new(store, revocations, Some(RefreshRotation::Rotate)).await;
    let first = signed_up(&world, "rotate@example.com").await;
    let second = world.refreshed(&first.refresh, "rotation").await;
    world.refused(&first.refresh, "the used token").await;
    // The login goes on with the new pair, again and again.
    let third = world.works(&second, "after the refusal").await;
    world.works(&third, "the next rotation").await;
    world
        .refused(&second.refresh, "the second used token")
        .await;
    world.finish(true).await;
}

/// `rotate_detect_reuse`: presenting a used token again revokes the whole login.
async fn reuse_detection_revokes_the_whole_login(store: Store, revocations: Revocations) {
    let world = World::new(store, revocations, Some(RefreshRotation::RotateDetectReuse)).await;
    let first = signed_up(&world, "reuse@example.com").await;
    let second = world.refreshed(&first.refresh, "rotation").await;
    let reuse = world.refresh(&first.refresh).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED, "{}", reuse.text());
    assert_eq!(detail(&reuse), "Token has been revoked.");
    world
        .refused(&second.refresh, "the login's newest token")
        .await;
    assert_eq!(
        profile(&world.service, &second.access).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Another login of the same user is not affected.
    let other = logged_in(&world, "reuse@example.com").await;
    world.works(&other, "another login").await;
    world.finish(true).await;
}

/// Logout by session ends every refresh token the login ever had; logout with a refresh token
/// in the body ends that one too, even from another login.
async fn logout_ends_every_refresh_token_of_the_login(store: Store, revocations: Revocations) {
    let world = World::new(store, revocations, None).await;
    let keychain = signed_up(&world, "logout@example.com").await;
    let launched = world.refreshed(&keychain.refresh, "launch").await;
    let in_memory = world.refreshed(&launched.refresh, "silent refresh").await;
    let other_login = logged_in(&world, "logout@example.com").await;

    let reply = send(
        &world.service,
        authed(Method::POST, "/v1/auth/logout", &in_memory.access),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    for (name, token) in [
        ("keychain", &keychain.refresh),
        ("launched", &launched.refresh),
        ("in memory", &in_memory.refresh),
    ] {
        world.refused(token, name).await;
    }
    // The other login goes on...
    let other_refreshed = world.works(&other_login, "the other login").await;
    // ...until it logs out naming its keychain token in the body, from its newest access token.
    let reply = send(
        &world.service,
        json_request(
            Method::POST,
            "/v1/auth/logout",
            json!({"refresh_token": other_login.refresh}),
            Some(&other_refreshed.access),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    world
        .refused(&other_login.refresh, "the token in the body")
        .await;
    world
        .refused(&other_refreshed.refresh, "the other login's newest")
        .await;
    world.finish(true).await;
}

/// Logout-all, a password reset and account deletion end every refresh token of the user,
/// used ones and fresh ones, of every login.
async fn logout_all_password_reset_and_deletion_end_every_refresh_token(
    store: Store,
    revocations: Revocations,
) {
    let mut world = World::new(store, revocations, None).await;

    // Logout-all.
    let first = signed_up(&world, "everything@example.com").await;
    let used = world.refreshed(&first.refresh, "before logout-all").await;
    let second = logged_in(&world, "everything@example.com").await;
    let reply = send(
        &world.service,
        authed(Method::POST, "/v1/auth/logout-all", &second.access),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    for (name, token) in [
        ("first", &first.refresh),
        ("used", &used.refresh),
        ("second", &second.refresh),
    ] {
        world
            .refused(token, &format!("after logout-all: {name}"))
            .await;
    }

    // Password reset.
    let before_reset = logged_in(&world, "everything@example.com").await;
    let refreshed = world.refreshed(&before_reset.refresh, "before reset").await;
    let reply = send(
        &world.service,
        json_request(
            Method::POST,
            "/v1/auth/request-password-reset",
            json!({"email": "everything@example.com"}),
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let mail = tokio::time::timeout(support::PATIENCE, world.inbox.recv())
        .await
        .expect("a reset mail is sent")
        .unwrap();
    let reset_token = mail
        .text_body
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the mail holds the reset link")
        .to_owned();
    let reply = send(
        &world.service,
        json_request(
            Method::POST,
            "/v1/auth/reset-password",
            json!({"token": reset_token, "new_password": "another horse 7"}),
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    world
        .refused(&before_reset.refresh, "after reset: the login's")
        .await;
    world
        .refused(&refreshed.refresh, "after reset: the refreshed")
        .await;

    // Account deletion.
    let reply = login(&world.service, "everything@example.com", "another horse 7").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let last = Pair::of(&reply.json());
    let last_refreshed = world.refreshed(&last.refresh, "before deletion").await;
    let reply = send(
        &world.service,
        authed(Method::DELETE, "/v1/user/delete-account", &last.access),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    world.refused(&last.refresh, "after deletion").await;
    world
        .refused(&last_refreshed.refresh, "after deletion: refreshed")
        .await;
    world.finish(false).await;
}

/// A refresh token from before this change (the old backend's, without `sid` and `gen`) may be
/// used again and again too, and a logout from a pair refreshed from it revokes it.
#[tokio::test]
async fn the_old_backends_refresh_tokens_can_be_reused() {
    let world = World::new(Store::Memory, Revocations::InStore, None).await;
    let registered = register(&world.service, "legacy-rt@example.com").await;
    let id = registered["user"]["id"].as_i64().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let legacy = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"user_id": id, "type": "refresh", "jti": uuid::Uuid::new_v4().to_string(),
                "iat": now - 60, "exp": now + 3600}),
        &jsonwebtoken::EncodingKey::from_secret(b"ios-refresh-tests-signing-key-0123456789")
            .unwrap(),
    )
    .unwrap();
    let mut last = None;
    for round in 0..5 {
        let pair = world.refreshed(&legacy, &format!("round {round}")).await;
        world.works(&pair, &format!("round {round}")).await;
        last = Some(pair);
    }
    // The pairs refreshed from it share its session: logging out from one ends the old token.
    let last = last.unwrap();
    let reply = send(
        &world.service,
        authed(Method::POST, "/v1/auth/logout", &last.access),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    world.refused(&legacy, "the old token after logout").await;
}
