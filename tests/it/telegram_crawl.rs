//! A crawler presses every button reachable from /start, breadth first (P21, P22): every
//! `callback_data` fits 64 bytes, every press is answered exactly once, every product is
//! reachable through the pages, no keyboard is over 100 buttons, and nothing fails. It runs
//! as a customer and as an admin (whose menu adds the admin screens).

use crate::fake_bot_api::Call;
use crate::telegram_harness::*;
use serde_json::json;
use souk_http::telegram::callback::{decode, Action};
use std::collections::{HashSet, VecDeque};

const PRESSES_MAX: usize = 400;

/// A shop with 30 physical products in one category; returns their ids.
pub async fn thirty_products(shop: &Shop) -> HashSet<i64> {
    let cat = shop.app.category("Everything").await;
    let mut products = HashSet::new();
    for i in 0..30 {
        let body = json!({ "category_id": cat, "name": format!("Item {i:02}"), "kind": "physical", "price_minor": 100 + i });
        let b = shop.app.create_product(body).await;
        products.insert(b["id"].as_i64().unwrap());
    }
    products
}

/// Presses everything reachable from /start as `user`; returns the number of presses and
/// every action seen on a button.
async fn crawl(shop: &Shop, user: i64) -> (usize, Vec<Action>) {
    crawl_checking(shop, user, |_| {}).await
}

/// `crawl`, with `check` run on every call the bot makes. Choosing a language is not
/// pressed, so the whole crawl is in the language the user started in.
pub async fn crawl_checking(shop: &Shop, user: i64, check: impl Fn(&Call)) -> (usize, Vec<Action>) {
    let start = shop.say(user, "/start").await;
    start.iter().for_each(&check);
    let mut queue: VecDeque<(String, Call)> = VecDeque::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut actions = Vec::new();
    let mut enqueue = |calls: &[Call], queue: &mut VecDeque<(String, Call)>| {
        for call in calls {
            let buttons = call.buttons();
            assert!(buttons.len() <= 100, "{} buttons", buttons.len());
            for (label, data) in buttons {
                assert!(!data.is_empty() && data.len() <= 64, "{label}: {data}");
                let action = decode(&data).expect("every button decodes");
                let switches = matches!(action, Action::Language { .. });
                actions.push(action);
                if !switches && seen.insert(data.clone()) {
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
        calls.iter().for_each(&check);
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
    let metrics = shop.app.metrics().await;
    assert_eq!(updates_with(&metrics, "error"), 0, "no update failed");
    (presses, actions)
}

#[tokio::test]
async fn a_customer_crawler_reaches_every_product_and_every_press_is_answered_once() {
    let shop = Shop::open().await;
    let products = thirty_products(&shop).await;
    shop.say(9001, "/start").await;
    shop.app.credit(shop.user_of(9001).await, 100_000).await;
    let (presses, actions) = crawl(&shop, 9001).await;
    let reached: HashSet<i64> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Product { id, .. } => Some(id.get()),
            _ => None,
        })
        .collect();
    let missing: Vec<_> = products.difference(&reached).collect();
    assert!(missing.is_empty(), "unreachable products: {missing:?}");
    assert!(presses > 40, "only {presses} presses");
    assert!(
        !actions.contains(&Action::Admin),
        "no admin button for a customer"
    );
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn an_admin_crawler_reaches_every_product_through_the_admin_pages_too() {
    let shop = Shop::open().await;
    let products = thirty_products(&shop).await;
    shop.app
        .digital(100, &crate::common::codes("CRAWL", 2))
        .await;
    let (presses, actions) = crawl(&shop, ADMIN).await;
    let stocked: HashSet<i64> = actions
        .iter()
        .filter_map(|a| match a {
            Action::AdminStock { id } => Some(id.get()),
            _ => None,
        })
        .collect();
    let missing: Vec<_> = products.difference(&stocked).collect();
    assert!(
        missing.is_empty(),
        "not on the admin stock pages: {missing:?}"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::AdminCodes { .. })));
    assert!(presses > 60, "only {presses} presses");
    shop.app.assert_invariants().await;
}
