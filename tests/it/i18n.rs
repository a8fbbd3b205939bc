//! Languages: the same refusal in English, Russian and German (by `Accept-Language`), with
//! the same code and details; actix's own errors too; and the user's chosen language kept.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk_actors::domain::ids::UserId;

/// Sends a request with an optional `Accept-Language`; the status, body and
/// `Content-Language` of the answer.
async fn ask(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&str>,
    accept_language: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(app.admin());
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    if let Some(lang) = accept_language {
        req = req.header("accept-language", lang);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let language = res
        .headers()
        .get("content-language")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = res.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value, language)
}

fn cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

#[actix_rt::test]
async fn a_refused_price_has_the_same_code_and_details_and_a_message_in_each_language() {
    let app = TestApp::spawn().await;
    let category = app.category("Games").await;
    let body =
        json!({ "category_id": category, "name": "Key", "kind": "digital", "price_minor": 0 })
            .to_string();
    let mut answers = Vec::new();
    for lang in [
        None,
        Some("ru"),
        Some("de-DE,de;q=0.9"),
        Some("fr-CH, fr;q=0.9"),
    ] {
        let (status, body, content_language) =
            ask(&app, Method::POST, "/v1/admin/products", Some(&body), lang).await;
        assert_error(status, &body, 422, "invalid_input");
        assert_eq!(
            body["error"]["details"],
            json!({ "field": "price_minor" }),
            "{body}"
        );
        answers.push((
            body["error"]["message"].as_str().unwrap().to_string(),
            content_language,
        ));
    }
    let [(en, en_lang), (ru, ru_lang), (de, de_lang), (fr, fr_lang)] = &answers[..] else {
        unreachable!()
    };
    assert_eq!(en, "price_minor must be 1..=100000000");
    assert!(cyrillic(ru) && ru.contains("price_minor"), "{ru}");
    assert!(
        de.contains("price_minor muss zwischen 1 und 100000000 liegen"),
        "{de}"
    );
    assert_eq!(
        fr, en,
        "a language Souk does not speak falls back to English"
    );
    let langs = [en_lang, ru_lang, de_lang, fr_lang].map(|l| l.as_deref());
    assert_eq!(langs, [Some("en"), Some("ru"), Some("de"), Some("en")]);
}

#[actix_rt::test]
async fn domain_refusals_are_translated_where_they_become_http() {
    let app = TestApp::spawn().await;
    let (status, body, lang) =
        ask(&app, Method::GET, "/v1/products/424242", None, Some("ru")).await;
    assert_error(status, &body, 404, "not_found");
    assert_eq!(
        body["error"]["details"],
        json!({ "entity": "product", "id": 424242 })
    );
    assert_eq!(body["error"]["message"], "Товар 424242 не найден");
    assert_eq!(lang.as_deref(), Some("ru"));
    let (_, body, _) = ask(&app, Method::GET, "/v1/products/424242", None, Some("de")).await;
    assert_eq!(body["error"]["message"], "Produkt 424242 nicht gefunden");
    let (_, body, _) = ask(&app, Method::GET, "/v1/products/424242", None, None).await;
    assert_eq!(body["error"]["message"], "product 424242 not found");
}

#[actix_rt::test]
async fn the_frameworks_own_errors_are_translated_too() {
    let app = TestApp::spawn().await;
    // Malformed JSON: the parser's detail stays, the sentence around it is translated.
    let (status, body, lang) = ask(
        &app,
        Method::POST,
        "/v1/admin/categories",
        Some("{\"name\": "),
        Some("de"),
    )
    .await;
    assert_error(status, &body, 400, "malformed_json");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("der Body ist kein gültiges JSON"),
        "{message}"
    );
    assert_eq!(lang.as_deref(), Some("de"));
    // No route at all.
    let (status, body, _) = ask(&app, Method::GET, "/v1/nowhere", None, Some("ru")).await;
    assert_error(status, &body, 404, "not_found");
    assert!(
        cyrillic(body["error"]["message"].as_str().unwrap()),
        "{body}"
    );
    // A route that does not serve the method: the Allow list is data, the sentence is not.
    let (status, body, _) = ask(
        &app,
        Method::DELETE,
        "/v1/health",
        None,
        Some("ru;q=0.5, de"),
    )
    .await;
    assert_error(status, &body, 405, "method_not_allowed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("DELETE ist hier nicht erlaubt"),
        "{message}"
    );
    // A body past the limit.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, body, _) = ask(
        &app,
        Method::POST,
        "/v1/admin/categories",
        Some(&big),
        Some("ru"),
    )
    .await;
    assert_error(status, &body, 413, "payload_too_large");
    assert!(
        cyrillic(body["error"]["message"].as_str().unwrap()),
        "{body}"
    );
}

#[actix_rt::test]
async fn a_refusal_kept_under_an_idempotency_key_replays_as_first_said() {
    let app = TestApp::spawn().await;
    let token = app.customer(71, 0).await;
    let send = |lang: &'static str| {
        app.http
            .post(format!("{}/v1/me/checkout", app.base))
            .bearer_auth(&token)
            .header("idempotency-key", "i18n-empty-cart")
            .header("accept-language", lang)
            .json(&wallet_checkout())
            .send()
    };
    let first = send("de").await.expect("first");
    assert_eq!(first.status().as_u16(), 409);
    let first: Value = first.json().await.expect("json");
    assert_eq!(first["error"]["code"], "cart_empty");
    assert_eq!(first["error"]["message"], "der Warenkorb ist leer");
    let again = send("ru").await.expect("replay");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again, first, "a replay is the first answer, word for word");
}

#[actix_rt::test]
async fn a_users_chosen_language_is_kept_and_only_known_ones_are() {
    let app = TestApp::spawn().await;
    app.customer(72, 0).await;
    let settings = test_settings(&app.db_url);
    let pool =
        souk::db::pool(settings.database.url.as_ref().expect("url"), &settings).expect("pool");
    let user = UserId::new(72).expect("id");
    use souk_actors::store::language::{set_user_language, user_language};
    assert_eq!(user_language(&pool, user).await.unwrap(), None);
    assert!(set_user_language(&pool, user, Some("ru")).await.unwrap());
    assert_eq!(
        user_language(&pool, user).await.unwrap().as_deref(),
        Some("ru")
    );
    let refused = set_user_language(&pool, user, Some("xx"))
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        souk_actors::DomainError::Invalid {
            field: "language",
            ..
        }
    ));
    assert!(set_user_language(&pool, user, None).await.unwrap());
    assert_eq!(user_language(&pool, user).await.unwrap(), None);
    let nobody = UserId::new(9_999_999).expect("id");
    assert!(!set_user_language(&pool, nobody, Some("de")).await.unwrap());
}
