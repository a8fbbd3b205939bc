//! A crawler presses every button reachable from /start, breadth first (P21, P22): every
//! `callback_data` fits 64 bytes, every press is answered exactly once, every product is
//! reachable through the pages, no keyboard is over 100 buttons, and nothing fails.

use crate::fake_bot_api::Call;
use crate::telegram_harness::*;
use reqwest::Method;
use serde_json::json;
use souk_http::telegram::callback::{decode, Action};
use std::collections::{HashSet, VecDeque};

const PRESSES_MAX: usize = 300;

#[tokio::test]
async fn a_crawler_reaches_every_product_and_every_press_is_answered_once() {
    let shop = Shop::open().await;
    let cat = shop.app.category("Everything").await;
    let mut products = HashSet::new();
    for i in 0..30 {
        let body = json!({ "category_id": cat, "name": format!("Item {i:02}"), "kind": "physical", "price_minor": 100 + i });
        let (s, b) = shop
            .app
            .call(
                Method::POST,
                "/v1/admin/products",
                Some(&shop.app.admin()),
                None,
                Some(body),
            )
            .await;
        assert_eq!(s.as_u16(), 201, "{b}");
        products.insert(b["id"].as_i64().unwrap());
    }
    let user = 9001;
    let start = shop.say(user, "/start").await;
    shop.app.credit(shop.user_of(user).await, 100_000).await;
    let mut queue: VecDeque<(String, Call)> = VecDeque::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut reached = HashSet::new();
    let mut enqueue = |calls: &[Call], queue: &mut VecDeque<(String, Call)>| {
        for call in calls {
            let buttons = call.buttons();
            assert!(buttons.len() <= 100, "{} buttons", buttons.len());
            for (label, data) in buttons {
                assert!(!data.is_empty() && data.len() <= 64, "{label}: {data}");
                if let Some(Action::Product { id, .. }) = decode(&data) {
                    reached.insert(id.get());
                }
                if seen.insert(data.clone()) {
                    queue.push_back((data, call.clone()));
                }
            }
        }
    };
    enqueue(&start, &mut queue);
    let mut presses = 0;
    while let Some((data, on)) = queue.pop_front() {
        presses += 1;
        assert!(presses <= PRESSES_MAX, "the crawl did not end");
        let update = shop.press_update(user, &data, on.message_id, on.is_photo());
        let query = update["callback_query"]["id"].clone();
        let before = shop.api.count();
        assert_eq!(shop.post(&update).await.as_u16(), 200);
        let calls = shop.api.since(before);
        let answered: Vec<_> = answers(&calls)
            .into_iter()
            .filter(|c| c.body["callback_query_id"] == query)
            .collect();
        assert_eq!(answered.len(), 1, "{data}: {calls:?}");
        assert_ne!(
            answered[0].body["text"], STALE,
            "a live button is never stale: {data}"
        );
        enqueue(&calls, &mut queue);
    }
    let missing: Vec<_> = products.difference(&reached).collect();
    assert!(missing.is_empty(), "unreachable products: {missing:?}");
    assert!(presses > 40, "only {presses} presses");
    let metrics = shop.app.metrics().await;
    assert_eq!(updates_with(&metrics, "error"), 0, "no update failed");
    assert_eq!(updates_with(&metrics, "ok"), presses as u64 + 1);
    shop.app.assert_invariants().await;
}
