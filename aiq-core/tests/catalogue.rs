//! Every user-facing path and method of the old API (original-api.md §1) is in our OpenAPI
//! document and served by the router (no route miss, no 405), under the same path spelling,
//! the trailing slash of `/v1/groups/` included; and the admin routes kept from the old
//! operator API (original-ops.md §6.4), under their old operation ids.

mod support;

use axum::body::Body;
use http::{Method, Request};
use support::{memory_service, send};

/// §1, in order: method and path (path parameters as in the OpenAPI document).
const CATALOGUE: &[(&str, &str)] = &[
    ("POST", "/v1/auth/register"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/oauth/apple"),
    ("POST", "/v1/auth/oauth/google"),
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/auth/logout-all"),
    ("POST", "/v1/auth/request-password-reset"),
    ("POST", "/v1/auth/reset-password"),
    ("GET", "/v1/user/profile"),
    ("PUT", "/v1/user/profile"),
    ("DELETE", "/v1/user/delete-account"),
    ("GET", "/v1/questions/unseen"),
    ("POST", "/v1/test/start"),
    ("POST", "/v1/test/next"),
    ("GET", "/v1/test/session/{session_id}"),
    ("GET", "/v1/test/active"),
    ("GET", "/v1/test/progress"),
    ("POST", "/v1/test/{session_id}/abandon"),
    ("POST", "/v1/test/submit"),
    ("GET", "/v1/test/results/{result_id}"),
    ("GET", "/v1/test/history"),
    ("POST", "/v1/test/guest/start"),
    ("POST", "/v1/test/guest/submit"),
    ("POST", "/v1/test/guest/claim"),
    ("POST", "/v1/notifications/register-device"),
    ("DELETE", "/v1/notifications/register-device"),
    ("GET", "/v1/notifications/preferences"),
    ("PUT", "/v1/notifications/preferences"),
    ("POST", "/v1/analytics/events"),
    ("GET", "/v1/analytics/model-performance"),
    ("GET", "/v1/analytics/questions/{question_id}/statistics"),
    ("GET", "/v1/analytics/questions/statistics"),
    ("GET", "/v1/analytics/questions/problematic"),
    ("GET", "/v1/benchmark/summary"),
    ("POST", "/v1/feedback/submit"),
    ("GET", "/v1/groups/"),
    ("POST", "/v1/groups/"),
    ("GET", "/v1/groups/{group_id}"),
    ("DELETE", "/v1/groups/{group_id}"),
    ("POST", "/v1/groups/{group_id}/invite"),
    ("POST", "/v1/groups/join"),
    ("GET", "/v1/groups/{group_id}/leaderboard"),
    ("DELETE", "/v1/groups/{group_id}/members/{user_id}"),
    ("PUT", "/v1/groups/{group_id}/transfer-ownership"),
    ("GET", "/v1/health"),
    ("GET", "/v1/ping"),
    ("GET", "/v1/metrics"),
];

/// Paths served on purpose outside the OpenAPI document.
const UNDOCUMENTED: &[&str] = &["/v1/metrics"];

#[tokio::test]
async fn every_catalogued_path_is_documented_and_routed() {
    let service = memory_service();
    let openapi = send(&service, support::get("/v1/openapi.json"))
        .await
        .json();
    let mut missing = Vec::new();
    for (method, path) in CATALOGUE {
        let documented = openapi["paths"][*path].get(method.to_lowercase()).is_some();
        if !documented && !UNDOCUMENTED.contains(path) {
            missing.push(format!("{method} {path}: not in openapi.json"));
        }
        let concrete = path
            .replace("{session_id}", "1")
            .replace("{result_id}", "1")
            .replace("{question_id}", "1")
            .replace("{group_id}", "1")
            .replace("{user_id}", "1");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&concrete)
            .body(Body::empty())
            .unwrap();
        let reply = send(&service, request).await;
        let route_miss = reply.status == 404 && reply.text().contains("\"Not Found\"");
        if route_miss || reply.status == 405 {
            missing.push(format!(
                "{method} {path}: {} {}",
                reply.status,
                reply.text()
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The old backend's `/v1/admin` routes this service keeps (original-ops.md §6.4), with their
/// operation ids, so that scripts generated from the old document still find them.
const ADMIN_CATALOGUE: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/v1/admin/user-flags/{user_id}/cooldown-bypass",
        "get_cooldown_bypass_v1_admin_user_flags__user_id__cooldown_bypass_get",
    ),
    (
        "PATCH",
        "/v1/admin/user-flags/{user_id}/cooldown-bypass",
        "set_cooldown_bypass_v1_admin_user_flags__user_id__cooldown_bypass_patch",
    ),
    (
        "PATCH",
        "/v1/admin/user-flags/by-email/cooldown-bypass",
        "set_cooldown_bypass_by_email_v1_admin_user_flags_by_email_cooldown_bypass_patch",
    ),
    (
        "GET",
        "/v1/admin/user-flags/{user_id}/admin-status",
        "get_admin_status_v1_admin_user_flags__user_id__admin_status_get",
    ),
    (
        "PATCH",
        "/v1/admin/user-flags/{user_id}/admin-status",
        "set_admin_status_v1_admin_user_flags__user_id__admin_status_patch",
    ),
    (
        "DELETE",
        "/v1/admin/sessions/{session_id}",
        "delete_session_v1_admin_sessions__session_id__delete",
    ),
    (
        "DELETE",
        "/v1/admin/sessions/by-email/{email}",
        "delete_sessions_by_email_v1_admin_sessions_by_email__email__delete",
    ),
    (
        "GET",
        "/v1/admin/sessions/{session_id}/validity",
        "get_session_validity_v1_admin_sessions__session_id__validity_get",
    ),
    (
        "PATCH",
        "/v1/admin/sessions/{session_id}/validity",
        "override_session_validity_v1_admin_sessions__session_id__validity_patch",
    ),
    (
        "PATCH",
        "/v1/admin/questions/{question_id}/quality-flag",
        "update_quality_flag_v1_admin_questions__question_id__quality_flag_patch",
    ),
    (
        "PATCH",
        "/v1/admin/questions/{question_id}/anchor",
        "toggle_anchor_v1_admin_questions__question_id__anchor_patch",
    ),
    (
        "GET",
        "/v1/admin/inventory-health",
        "get_inventory_health_v1_admin_inventory_health_get",
    ),
    (
        "GET",
        "/v1/admin/reliability",
        "get_reliability_report_endpoint_v1_admin_reliability_get",
    ),
    (
        "GET",
        "/v1/admin/config/weighted-scoring",
        "get_weighted_scoring_status_v1_admin_config_weighted_scoring_get",
    ),
    (
        "POST",
        "/v1/admin/config/weighted-scoring",
        "toggle_weighted_scoring_v1_admin_config_weighted_scoring_post",
    ),
    (
        "GET",
        "/v1/admin/config/domain-weights",
        "get_domain_weights_config_v1_admin_config_domain_weights_get",
    ),
    (
        "POST",
        "/v1/admin/config/domain-weights",
        "set_domain_weights_config_v1_admin_config_domain_weights_post",
    ),
];

#[tokio::test]
async fn admin_routes_are_documented_under_their_old_names_and_guarded() {
    // The default configuration has no ADMIN_TOKEN: every admin route answers 503 saying so.
    let service = memory_service();
    let openapi = send(&service, support::get("/v1/openapi.json"))
        .await
        .json();
    let mut problems = Vec::new();
    for (method, path, operation_id) in ADMIN_CATALOGUE {
        let operation = &openapi["paths"][*path][method.to_lowercase()];
        if operation["operationId"] != *operation_id
            || operation["tags"][0] != "admin"
            || operation["security"][0].get("AdminToken").is_none()
        {
            problems.push(format!("{method} {path}: documented as {operation}"));
        }
        let concrete = path
            .replace("{session_id}", "1")
            .replace("{question_id}", "1")
            .replace("{user_id}", "1")
            .replace("{email}", "ada@example.com");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&concrete)
            .body(Body::empty())
            .unwrap();
        let reply = send(&service, request).await;
        if reply.status != 503 {
            problems.push(format!(
                "{method} {path}: {} {}",
                reply.status,
                reply.text()
            ));
        }
    }
    let documented = openapi["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (path, m)))
        .filter(|(path, _)| path.starts_with("/v1/admin/"))
        .count();
    assert_eq!(
        documented,
        ADMIN_CATALOGUE.len(),
        "no admin route undocumented here"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every parameter is declared where it is read: a path parameter is in the path template (the
/// query structs were once all declared as path parameters), and the query parameters the old
/// contract has are query parameters, as in `original-openapi.json`.
#[tokio::test]
async fn parameters_are_declared_where_they_are_read() {
    let doc = send(&memory_service(), support::get("/v1/openapi.json"))
        .await
        .json();
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let declared = parameter["in"].as_str().unwrap();
                let templated = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    declared == "path",
                    templated,
                    "{method} {path}: {name} declared in {declared}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "parameters were checked: {checked}");
    for (path, method, name) in [
        ("/v1/questions/unseen", "get", "count"),
        ("/v1/test/history", "get", "limit"),
        ("/v1/test/start", "post", "question_count"),
        ("/v1/groups/{group_id}/leaderboard", "get", "days"),
    ] {
        let parameters = doc["paths"][path][method]["parameters"].as_array().unwrap();
        let parameter = parameters.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(parameter["in"], "query", "{method} {path} {name}");
    }
}
