//! Token attacks and revocation: forged and stale tokens, the old backend's tokens, refresh
//! reuse and its grace period, revocations shared through PostgreSQL.

use super::*;

/// Signs arbitrary claims with HS256 and `key`.
fn forge(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key).unwrap(),
    )
    .unwrap()
}

/// A token with a hand-made header and no valid signature.
fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        signature
    )
}

#[tokio::test]
async fn forged_and_stale_tokens_are_rejected() {
    let service = memory_service();
    let registered = register(&service, "target@example.com").await;
    let id = registered["user"]["id"].as_i64().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |iat: i64, exp: i64| {
        json!({"user_id": id, "email": "target@example.com", "type": "access",
               "jti": uuid::Uuid::new_v4().to_string(), "iat": iat, "exp": exp})
    };
    // The key is right: this one must pass, or the rejections below prove nothing.
    assert_eq!(
        profile(&service, &forge(&claims(now, now + 60), SECRET.as_bytes()))
            .await
            .status,
        StatusCode::OK
    );

    let attacks = [
        (
            "another key",
            forge(&claims(now, now + 60), b"some-other-signing-key-0123456789"),
        ),
        (
            "alg none",
            unsigned(
                &json!({"alg": "none", "typ": "JWT"}),
                &claims(now, now + 60),
                "",
            ),
        ),
        ("RS256 header over an HMAC signature", {
            let hs = forge(&claims(now, now + 60), SECRET.as_bytes());
            let signature = hs.rsplit('.').next().unwrap().to_owned();
            unsigned(
                &json!({"alg": "RS256", "typ": "JWT"}),
                &claims(now, now + 60),
                &signature,
            )
        }),
        (
            "expired",
            forge(&claims(now - 3600, now - 60), SECRET.as_bytes()),
        ),
        (
            "issued in the future",
            forge(&claims(now + 600, now + 1200), SECRET.as_bytes()),
        ),
        ("not yet valid", {
            let mut c = claims(now, now + 600);
            c["nbf"] = json!(now + 300);
            forge(&c, SECRET.as_bytes())
        }),
        ("no jti", {
            let mut c = claims(now, now + 600);
            c.as_object_mut().unwrap().remove("jti");
            forge(&c, SECRET.as_bytes())
        }),
        ("no type", {
            let mut c = claims(now, now + 600);
            c.as_object_mut().unwrap().remove("type");
            forge(&c, SECRET.as_bytes())
        }),
        ("the guest placeholder user -1", {
            let mut c = claims(now, now + 600);
            c["user_id"] = json!(-1);
            forge(&c, SECRET.as_bytes())
        }),
        ("user 0", {
            let mut c = claims(now, now + 600);
            c["user_id"] = json!(0);
            forge(&c, SECRET.as_bytes())
        }),
        (
            "expires in ten years",
            forge(&claims(now, now + 10 * 365 * 24 * 3600), SECRET.as_bytes()),
        ),
    ];
    for (what, token) in attacks {
        let reply = profile(&service, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(detail(&reply), "Invalid authentication token.", "{what}");
    }

    let mut no_user = claims(now, now + 60);
    no_user.as_object_mut().unwrap().remove("user_id");
    assert_eq!(
        detail(&profile(&service, &forge(&no_user, SECRET.as_bytes())).await),
        "Invalid token payload."
    );
    let mut ghost = claims(now, now + 60);
    ghost["user_id"] = json!(987654);
    assert_eq!(
        detail(&profile(&service, &forge(&ghost, SECRET.as_bytes())).await),
        "User not found."
    );
}

#[tokio::test]
async fn old_backend_tokens_follow_the_timestamp_rule() {
    // Tokens signed by the old backend (same key) have no `gen`: logout-all revokes those issued
    // in earlier seconds, as it always did.
    let store = Arc::new(MemoryStore::new());
    let service = service_with(config(), store.clone());
    let registered = register(&service, "legacy-token@example.com").await;
    let id = registered["user"]["id"].as_i64().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let old = forge(
        &json!({"user_id": id, "email": "legacy-token@example.com", "type": "access",
                "jti": "legacy-1", "iat": now - 120, "exp": now + 600}),
        SECRET.as_bytes(),
    );
    assert_eq!(profile(&service, &old).await.status, StatusCode::OK);
    let reply = send(
        &service,
        authed(
            Method::POST,
            "/v1/auth/logout-all",
            &token(&registered, "access"),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        detail(&profile(&service, &old).await),
        "Token has been revoked."
    );
}

#[tokio::test]
async fn logout_ignores_a_refresh_token_that_is_not_the_callers() {
    let service = memory_service();
    let alice = register(&service, "alice@example.com").await;
    let bob = register(&service, "bob@example.com").await;
    let body = json!({"refresh_token": token(&bob, "refresh")});
    let reply = send(
        &service,
        json_request(
            Method::POST,
            "/v1/auth/logout",
            body,
            Some(&token(&alice, "access")),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        refresh(&service, &token(&bob, "refresh")).await.status,
        StatusCode::OK
    );

    let empty = json!({"refresh_token": ""});
    let other = login(&service, "alice@example.com", "correct horse 9")
        .await
        .json();
    let reply = send(
        &service,
        json_request(
            Method::POST,
            "/v1/auth/logout",
            empty,
            Some(&token(&other, "access")),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_refresh_retry_within_the_grace_period_is_not_reuse() {
    let mut config = config();
    config.security.refresh_token_rotation = RefreshRotation::RotateDetectReuse;
    config.security.refresh_reuse_grace = std::time::Duration::from_secs(30);
    let service = service_with(config, Arc::new(MemoryStore::new()));
    let registered = register(&service, "retry@example.com").await;
    let refresh_token = token(&registered, "refresh");
    let first = refresh(&service, &refresh_token).await;
    let retry = refresh(&service, &refresh_token).await;
    assert_eq!(
        (first.status, retry.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(
        profile(&service, &token(&first.json(), "access"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revocations_hold_across_instances_sharing_postgres() {
    let (store, _db) = support::pg_store().await;
    let store: Arc<dyn Storage> = Arc::new(store);
    let a = service_with(config(), store.clone());
    let b = service_with(config(), store.clone());
    let registered = register(&a, "shared@example.com").await;
    let access = token(&registered, "access");
    assert_eq!(profile(&b, &access).await.status, StatusCode::OK);
    assert_eq!(
        send(&a, authed(Method::POST, "/v1/auth/logout", &access))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        detail(&profile(&b, &access).await),
        "Token has been revoked."
    );
}

#[tokio::test]
async fn the_auth_endpoints_are_in_the_openapi_document() {
    let doc = send(&memory_service(), support::get("/v1/openapi.json"))
        .await
        .json();
    for (method, path, operation) in [
        (
            "post",
            "/v1/auth/register",
            "register_user_v1_auth_register_post",
        ),
        ("post", "/v1/auth/login", "login_user_v1_auth_login_post"),
        (
            "post",
            "/v1/auth/refresh",
            "refresh_access_token_v1_auth_refresh_post",
        ),
        ("post", "/v1/auth/logout", "logout_user_v1_auth_logout_post"),
        (
            "post",
            "/v1/auth/logout-all",
            "logout_all_devices_v1_auth_logout_all_post",
        ),
        (
            "get",
            "/v1/user/profile",
            "get_user_profile_v1_user_profile_get",
        ),
        (
            "put",
            "/v1/user/profile",
            "update_user_profile_v1_user_profile_put",
        ),
        (
            "delete",
            "/v1/user/delete-account",
            "delete_user_account_v1_user_delete_account_delete",
        ),
    ] {
        assert_eq!(
            doc["paths"][path][method]["operationId"], operation,
            "{method} {path}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Token"].is_object());
    assert!(doc["components"]["schemas"]["TokenRefresh"].is_object());
}

#[tokio::test]
async fn a_rotated_refresh_token_stays_revoked_inside_the_expiry_leeway() {
    let mut config = config();
    config.security.refresh_token_rotation = RefreshRotation::RotateDetectReuse;
    let service = service_with(config, Arc::new(MemoryStore::new()));
    let registered = register(&service, "leeway@example.com").await;
    let id = registered["user"]["id"].as_i64().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Just expired, but still accepted for a few seconds of clock leeway.
    let refresh_token = forge(
        &json!({"user_id": id, "type": "refresh", "jti": "leeway-1", "iat": now - 3600,
                "exp": now - 1, "sid": "leeway-session", "gen": 0}),
        SECRET.as_bytes(),
    );
    assert_eq!(
        refresh(&service, &refresh_token).await.status,
        StatusCode::OK
    );
    let replay = refresh(&service, &refresh_token).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "a replay inside the leeway is reuse"
    );
    assert_eq!(detail(&replay), "Token has been revoked.");
}
