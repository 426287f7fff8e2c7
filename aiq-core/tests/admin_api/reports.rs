//! `/v1/admin/*`, continued: inventory health, reliability, the scoring configuration, and the
//! client address in the audit log.

use std::sync::Arc;

use aiq_core::AiqService;
use aiq_core::storage::{
    DOMAIN_WEIGHTS, GUEST_USER_ID, QualityFlag, Storage, USE_WEIGHTED_SCORING,
};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{ADMIN_TOKEN, admin, audit, request};
use crate::support::send;
use aiq_testkit::fixtures::admin::{at, bank, complete, start, user};

crate::both_stores!(
    inventory_health_rates_every_stratum,
    reliability_needs_enough_sessions,
    scoring_configuration_round_trips,
    the_audit_log_records_the_client_address,
);

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    super::service_for(store)
}

/// Valid domain weights.
pub(super) fn weights() -> Value {
    json!({"pattern": 0.2, "logic": 0.2, "spatial": 0.15, "math": 0.15, "verbal": 0.15,
           "memory": 0.15})
}

async fn inventory_health_rates_every_stratum(service: AiqService, store: Arc<dyn Storage>) {
    // Item k: domain k % 6 and difficulty k % 3, so six strata hold six items each and the
    // other twelve none.
    let q = bank(&store, 36).await;
    // pattern/easy (items 0, 6, ...) keeps 5 selectable; logic/medium (1, 7, ...) keeps 4.
    store.set_question_active(q[0], false).await.unwrap();
    store.set_question_active(q[1], false).await.unwrap();
    store
        .set_quality_flag(q[7], QualityFlag::UnderReview, None, at(0))
        .await
        .unwrap();
    let uri = "/v1/admin/inventory-health?healthy_min=6&warning_min=5";
    let reply = admin(&service, Method::GET, uri, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    let strata = body["strata"].as_array().unwrap();
    assert_eq!(strata.len(), 18, "every stratum, empty ones included");
    let stratum = |question_type, difficulty, count, status| {
        json!({"question_type": question_type, "difficulty": difficulty, "count": count,
               "status": status})
    };
    assert_eq!(strata[0], stratum("pattern", "easy", 5, "warning"));
    assert_eq!(strata[1], stratum("pattern", "medium", 0, "critical"));
    assert_eq!(strata[4], stratum("logic", "medium", 4, "critical"));
    assert_eq!(strata[8], stratum("spatial", "hard", 6, "healthy"));
    assert_eq!(body["total_active_questions"], 5 + 4 + 6 * 4);
    assert_eq!(
        body["summary"],
        json!({"healthy": 4, "warning": 1, "critical": 13})
    );
    assert_eq!(
        body["thresholds"],
        json!({"healthy_min": 6, "warning_min": 5})
    );
    let alerts = body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 14);
    assert_eq!(
        (&alerts[0]["severity"], &alerts[0]["threshold"]),
        (&json!("critical"), &json!(5)),
        "most critical first"
    );
    assert_eq!(
        alerts[13],
        json!({"question_type": "pattern", "difficulty": "easy", "count": 5, "threshold": 6,
               "severity": "warning",
               "message": "pattern easy: 5 selectable questions, below the healthy minimum of 6"})
    );

    let defaults = admin(&service, Method::GET, "/v1/admin/inventory-health", None)
        .await
        .json();
    assert_eq!(
        defaults["thresholds"],
        json!({"healthy_min": 50, "warning_min": 20})
    );
    assert_eq!(defaults["summary"]["critical"], 18);
    assert_eq!(defaults["alerts"].as_array().unwrap().len(), 18);
    for query in [
        "healthy_min=-1",
        "healthy_min=10&warning_min=11",
        "warning_min=x",
    ] {
        let uri = format!("/v1/admin/inventory-health?{query}");
        let reply = admin(&service, Method::GET, &uri, None).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
}

async fn reliability_needs_enough_sessions(service: AiqService, store: Arc<dyn Storage>) {
    let q = bank(&store, 4).await;
    let empty = admin(&service, Method::GET, "/v1/admin/reliability", None).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
    let body = empty.json();
    assert_eq!(body["overall_status"], "insufficient_data");
    assert_eq!(body["internal_consistency"]["cronbachs_alpha"], Value::Null);
    assert_eq!(
        body["internal_consistency"]["reason"],
        "0 completed sessions, 100 needed"
    );
    assert_eq!(body["test_retest"]["correlation"], Value::Null);
    assert!(body["test_retest"]["reason"].is_string());
    assert_eq!(body["recommendations"][0]["category"], "data_collection");

    // Twelve guest tests over the same four items, a Guttman scale: session k answers item i
    // right when k >= 2 + 3i (alpha 0.717, split-half 0.713 corrected to 0.832).
    for k in 0..12_i64 {
        let session = start(&store, GUEST_USER_ID, at(0), &q).await;
        let answers: Vec<_> = (0..4_i64)
            .map(|i| (q[i as usize], k >= 2 + 3 * i))
            .collect();
        complete(&store, session, at(1), &answers, 100).await;
    }
    let few = admin(&service, Method::GET, "/v1/admin/reliability", None)
        .await
        .json();
    assert_eq!(few["internal_consistency"]["num_sessions"], 12);
    assert_eq!(few["split_half"]["spearman_brown"], Value::Null);

    let report = admin(
        &service,
        Method::GET,
        "/v1/admin/reliability?min_sessions=10",
        None,
    )
    .await
    .json();
    let alpha = &report["internal_consistency"];
    assert_eq!(alpha["cronbachs_alpha"], 0.717, "{report}");
    assert_eq!(
        (&alpha["interpretation"], &alpha["meets_threshold"]),
        (&json!("acceptable"), &json!(true))
    );
    assert_eq!(
        (&alpha["num_sessions"], &alpha["num_items"]),
        (&json!(12), &json!(4))
    );
    assert_eq!(alpha["reason"], Value::Null);
    let split = &report["split_half"];
    assert_eq!(
        (&split["raw_correlation"], &split["spearman_brown"]),
        (&json!(0.713), &json!(0.8325))
    );
    assert_eq!(
        (&split["num_sessions"], &split["meets_threshold"]),
        (&json!(12), &json!(true))
    );
    assert_eq!(report["overall_status"], "acceptable");
    assert_eq!(report["recommendations"], json!([]));

    for query in ["min_sessions=9", "min_sessions=many"] {
        let uri = format!("/v1/admin/reliability?{query}");
        let reply = admin(&service, Method::GET, &uri, None).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
}

async fn scoring_configuration_round_trips(service: AiqService, store: Arc<dyn Storage>) {
    let scoring = "/v1/admin/config/weighted-scoring";
    let domain_weights = "/v1/admin/config/domain-weights";
    let off = admin(&service, Method::GET, scoring, None).await.json();
    assert_eq!(
        off,
        json!({"enabled": false, "domain_weights": null, "updated_at": null})
    );
    assert_eq!(
        admin(&service, Method::GET, domain_weights, None)
            .await
            .json(),
        Value::Null
    );

    let on = admin(
        &service,
        Method::POST,
        scoring,
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text());
    let on = on.json();
    assert_eq!(on["enabled"], true);
    let stored = store
        .system_config(USE_WEIGHTED_SCORING)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored["enabled"], true);

    for bad in [
        json!({"weights": {"pattern": 1.0}}),
        json!({"weights": {"pattern": 0.2, "logic": 0.2, "spatial": 0.15, "math": 0.15,
                           "verbal": 0.15, "memory": 0.0}}),
        json!({"weights": {"pattern": 0.2, "logic": -0.2, "spatial": 0.15, "math": 0.15,
                           "verbal": 0.15, "memory": 0.15}}),
        json!({"weights": {"pattern": 0.2, "logic": 0.2, "spatial": 0.15, "math": 0.15,
                           "verbal": 0.15, "memory": 0.15, "music": 0.1}}),
        json!({"weights": {"pattern": "a lot"}}),
        json!({}),
    ] {
        let reply = admin(&service, Method::POST, domain_weights, Some(bad.clone())).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(store.system_config(DOMAIN_WEIGHTS).await.unwrap(), None);

    let set = admin(
        &service,
        Method::POST,
        domain_weights,
        Some(json!({"weights": weights()})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    assert_eq!(set.json()["weights"], weights());
    assert_eq!(
        store.system_config(DOMAIN_WEIGHTS).await.unwrap(),
        Some(weights())
    );
    let read = admin(&service, Method::GET, domain_weights, None)
        .await
        .json();
    assert_eq!(read["weights"], weights());
    let status = admin(&service, Method::GET, scoring, None).await.json();
    assert_eq!(
        (
            &status["enabled"],
            &status["domain_weights"],
            &status["updated_at"]
        ),
        (&json!(true), &weights(), &on["updated_at"])
    );

    let off = admin(
        &service,
        Method::POST,
        scoring,
        Some(json!({"enabled": false})),
    )
    .await
    .json();
    assert_eq!(off["enabled"], false);
    assert_eq!(
        admin(&service, Method::GET, scoring, None).await.json()["enabled"],
        false
    );
    let actions: Vec<String> = audit(&store)
        .await
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(
        actions,
        [
            "config.weighted_scoring.set",
            "config.domain_weights.set",
            "config.weighted_scoring.set"
        ]
    );
}

async fn the_audit_log_records_the_client_address(service: AiqService, store: Arc<dyn Storage>) {
    let ada = user(&store, "ada@example.com", None).await;
    let uri = format!("/v1/admin/user-flags/{ada}/admin-status");
    let body = json!({"is_admin": true});
    let mut proxied = request(&Method::PATCH, &uri, Some(ADMIN_TOKEN), Some(&body));
    proxied
        .headers_mut()
        .insert("x-envoy-external-address", "203.0.113.9".parse().unwrap());
    assert_eq!(send(&service, proxied).await.status, StatusCode::OK);
    let direct = admin(
        &service,
        Method::PATCH,
        &uri,
        Some(json!({"is_admin": false})),
    )
    .await;
    assert_eq!(direct.status, StatusCode::OK);
    let entries = audit(&store).await;
    assert_eq!(entries[0].entry.ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(
        entries[1].entry.ip, None,
        "in-process calls have no peer address"
    );
    assert!(entries[0].id < entries[1].id);
    assert!(entries[0].entry.at <= entries[1].entry.at);
}
