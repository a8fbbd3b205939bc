//! `POST /v1/admin/users`, and users created by a token's first request.

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn create(app: &TestApp, body: Value) -> Reply {
    app.req(Method::POST, "/v1/admin/users")
        .token(&app.admin())
        .json(body)
        .send()
        .await
}

#[tokio::test]
async fn an_admin_creates_users_with_an_optional_name_and_telegram_id() {
    let app = TestApp::spawn().await;
    let bare = create(&app, json!({})).await.ok(201).clone();
    assert!(bare["display_name"].is_null());
    assert!(bare["telegram_id"].is_null());
    assert!(chrono::DateTime::parse_from_rfc3339(bare["created_at"].as_str().unwrap()).is_ok());
    let body = json!({ "display_name": " Ann ", "telegram_id": 123_456_789 });
    let ann = create(&app, body).await.ok(201).clone();
    assert_eq!(ann["display_name"], "Ann");
    assert_eq!(ann["telegram_id"], 123_456_789);
    let (bare_id, ann_id) = (bare["id"].as_i64().unwrap(), ann["id"].as_i64().unwrap());
    assert!(bare_id > 0 && ann_id > bare_id, "{bare_id} {ann_id}");
    let mut keys: Vec<&String> = ann.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "display_name", "id", "telegram_id"]);
    // Each creation is audited with who did it and what was created.
    let audited = format!(
        "SELECT count(*) FROM audit_log WHERE action = 'user.create' AND actor = 'user:1:admin' AND target IN ('user:{bare_id}', 'user:{ann_id}')"
    );
    assert_eq!(app.scalar(&audited).await, 2);

    // The new user is real: it can be credited and spends with its own token.
    let path = format!("/v1/admin/users/{ann_id}/wallet/credits");
    let credit = app.req(Method::POST, path).token(&app.admin()).fresh_key();
    credit
        .json(json!({ "amount_minor": 50, "reason": "hi" }))
        .send()
        .await
        .ok(201);
    let token = app.token(ann_id, "customer");
    let wallet = app
        .req(Method::GET, "/v1/me/wallet")
        .token(&token)
        .send()
        .await;
    assert_eq!(wallet.ok(200)["balance_minor"], 50);
}

#[tokio::test]
async fn user_fields_are_checked_and_a_telegram_id_is_used_once() {
    let app = TestApp::spawn().await;
    create(&app, json!({ "telegram_id": 42 })).await.ok(201);
    for (body, field) in [
        (json!({ "telegram_id": 42 }), "telegram_id"),
        (json!({ "telegram_id": 0 }), "telegram_id"),
        (json!({ "telegram_id": -7 }), "telegram_id"),
        (json!({ "telegram_id": "42" }), "telegram_id"),
        (json!({ "telegram_id": 1e20 }), "telegram_id"),
        (json!({ "display_name": "" }), "display_name"),
        (json!({ "display_name": "  " }), "display_name"),
        (json!({ "display_name": "n".repeat(201) }), "display_name"),
        (json!({ "display_name": "a\u{0}b" }), "display_name"),
        (json!({ "display_name": 5 }), "display_name"),
        (json!({ "role": "admin" }), "role"),
        (json!({ "balance_minor": 100 }), "balance_minor"),
    ] {
        create(&app, body).await.invalid(field);
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id <> 1").await,
        1
    );
    create(&app, json!({ "display_name": "n".repeat(200) }))
        .await
        .ok(201);
}

#[tokio::test]
async fn a_tokens_first_request_creates_its_user_and_new_users_step_over_its_id() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id IN (2, 3, 40)")
            .await,
        0
    );
    for id in [2, 3, 40] {
        let c = app.token(id, "customer");
        let wallet = app.req(Method::GET, "/v1/me/wallet").token(&c).send().await;
        assert_eq!(wallet.ok(200)["balance_minor"], 0);
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id IN (2, 3, 40)")
            .await,
        3
    );
    // Ids 1 (the admin's token), 2 and 3 are taken: the sequence steps over them, and the
    // token for 40 did not move it.
    let mut created = Vec::new();
    for _ in 0..2 {
        created.push(
            create(&app, json!({})).await.ok(201)["id"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(created, [4, 5]);
}

#[tokio::test]
async fn a_token_naming_an_id_beyond_json_safe_integers_is_refused_and_ids_keep_flowing() {
    let app = TestApp::spawn().await;
    let huge = app.token(i64::MAX, "customer");
    app.req(Method::GET, "/v1/me/wallet")
        .token(&huge)
        .send()
        .await
        .err(401, "unauthorized");
    let largest = app.token(9_007_199_254_740_991, "customer");
    app.req(Method::GET, "/v1/me/wallet")
        .token(&largest)
        .send()
        .await
        .ok(200);
    create(&app, json!({})).await.ok(201);
}

#[tokio::test]
async fn two_hundred_first_time_users_at_once_are_all_created_without_starving_the_pool() {
    let app = TestApp::spawn().await;
    let answers = futures_util::future::join_all((1_000..1_200).map(|id| {
        let token = app.token(id, "customer");
        let app = &app;
        async move { app.get("/v1/me/wallet", Some(&token)).await.0 }
    }))
    .await;
    assert!(answers.iter().all(|s| s.as_u16() == 200), "{answers:?}");
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id BETWEEN 1000 AND 1199")
            .await,
        200
    );
}
