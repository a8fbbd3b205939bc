//! How the Mini App is served (types, validators, caching, CSP, gzip) and what its first
//! load costs: bytes transferred and time to interactive in headless Chromium, printed
//! (never asserted: a timing on a shared machine is a measurement, not a test).
//! `cargo test -p souk --test it mini_app_weight -- --nocapture` shows them.

use crate::browser::Browser;
use crate::mini_app_harness::{init_data, stand_in};
use crate::telegram_harness::Shop;
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use serde_json::json;

async fn fetch(
    shop: &Shop,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    // reqwest here neither asks for nor decodes gzip: the bytes are the bytes on the wire.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut req = http.get(format!("{}{path}", shop.app.base));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("request");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.expect("body").to_vec())
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_mini_app_is_served_with_its_type_a_strong_etag_caching_and_a_csp() {
    let shop = Shop::open().await;
    let (s, headers, _) = fetch(&shop, "/app", &[]).await;
    assert_eq!(
        (s, header(&headers, header::LOCATION)),
        (StatusCode::PERMANENT_REDIRECT, "/app/")
    );

    let (s, headers, page) = fetch(&shop, "/app/", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        header(&headers, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
    let csp = header(&headers, header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("script-src 'self' https://telegram.org;"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self';") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let etag = header(&headers, header::ETAG).to_string();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    let (s, _, body) = fetch(&shop, "/app/", &[("if-none-match", &etag)]).await;
    assert_eq!((s, body.len()), (StatusCode::NOT_MODIFIED, 0));

    let page = String::from_utf8(page).expect("utf-8");
    let script = page
        .split('"')
        .find(|part| part.starts_with("app.js?v="))
        .expect("the script's versioned URL");
    let (s, headers, _) = fetch(&shop, &format!("/app/{script}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        header(&headers, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        header(&headers, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let (_, headers, _) = fetch(&shop, "/app/app.js?v=0000", &[]).await;
    assert_eq!(
        header(&headers, header::CACHE_CONTROL),
        "no-cache",
        "not this version"
    );
    let (_, headers, _) = fetch(&shop, "/app/app.css", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "gzip");
    assert!(header(&headers, header::ETAG).ends_with("-gz\""));

    let (s, _, body) = fetch(&shop, "/app/secrets.txt", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&body).expect("the envelope");
    assert_eq!(
        (s, &body["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
}

#[tokio::test]
async fn the_mini_app_page_weight_and_time_to_interactive_are_printed() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let games = app.category("Games").await;
    app.category("Gift cards").await;
    for n in 1..=12 {
        let body = json!({ "category_id": games, "name": format!("Game {n:02}"),
                           "kind": "digital", "price_minor": 999 });
        let id = app.create_product(body).await["id"].as_i64().expect("id");
        let codes = crate::common::codes(&format!("G{n}"), 2);
        app.add_stock(id, json!({ "codes": codes })).await;
    }
    let stand_in = stand_in(&init_data(6010, "Mia", "en"), "en");
    let browser = Browser::start(&stand_in).await;
    browser.goto(&format!("{}/app/", app.base)).await;
    browser
        .until(
            "interactive",
            "document.documentElement.dataset.ready === '1'",
        )
        .await;
    let measured = browser
        .js(
            "const nav = performance.getEntriesByType('navigation')[0];
             const all = [nav, ...performance.getEntriesByType('resource')];
             return { ready: performance.getEntriesByName('souk-ready')[0].startTime,
                      loaded: nav.domContentLoadedEventEnd,
                      entries: all.map((e) => ({ name: new URL(e.name).pathname + new URL(e.name).search,
                        transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize })) };",
            vec![],
        )
        .await;
    browser.close().await;

    let entries = measured["entries"].as_array().cloned().unwrap_or_default();
    let sum = |field: &str, page: bool| -> i64 {
        entries
            .iter()
            .filter(|e| e["name"].as_str().unwrap_or_default().starts_with("/app/") == page)
            .map(|e| e[field].as_i64().unwrap_or(0))
            .sum()
    };
    eprintln!("Mini App first load in headless Chromium (one signed-in buyer, 12 products):");
    for e in &entries {
        eprintln!(
            "  {:<48} transfer {:>6} B  body {:>6} B  decoded {:>6} B",
            e["name"].as_str().unwrap_or_default(),
            e["transfer"].as_i64().unwrap_or(0),
            e["encoded"].as_i64().unwrap_or(0),
            e["decoded"].as_i64().unwrap_or(0)
        );
    }
    eprintln!(
        "  page weight: {} B transferred in all ({} B the page's three files, {} B the API's answers)",
        sum("transfer", true) + sum("transfer", false),
        sum("transfer", true),
        sum("transfer", false)
    );
    for path in ["/app/", "/app/app.js", "/app/app.css"] {
        let (_, _, plain) = fetch(&shop, path, &[]).await;
        let (_, _, gzipped) = fetch(&shop, path, &[("accept-encoding", "gzip")]).await;
        eprintln!(
            "  {path:<12} {:>6} B raw, {:>6} B gzipped",
            plain.len(),
            gzipped.len()
        );
    }
    eprintln!(
        "  time to interactive: {:.0} ms (DOMContentLoaded {:.0} ms; ready = signed in and the first product list shown)",
        measured["ready"].as_f64().unwrap_or(f64::NAN),
        measured["loaded"].as_f64().unwrap_or(f64::NAN)
    );
}
