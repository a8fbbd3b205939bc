//! Attacks on the running shop through the bot's doors: crafted admin buttons.

use crate::telegram_harness::*;
use reqwest::Method;
use serde_json::json;
use souk_actors::ids::ProductId;
use souk_http::telegram::callback::Action;

#[tokio::test]
async fn the_bots_stock_button_is_held_to_the_same_bound_as_the_http_api() {
    let shop = Shop::open().await;
    let id = shop.app.physical(100, 3).await;
    let calls = shop.say(ADMIN, "/admin").await;
    let (menu, data) = find_button(&calls, "Adjust stock");
    let calls = shop.press(ADMIN, &data, &menu).await;
    let (list, data) = find_button(&calls, "Shirt");
    let calls = shop.press(ADMIN, &data, &list).await;
    let (card, _) = find_button(&calls, "+10");
    let product = ProductId::new(id).unwrap();
    let crafted = |delta: i64| Action::AdminAdjust { id: product, delta }.encode();
    let on_hand = format!("SELECT stock_on_hand FROM products WHERE id = {id}");
    let huge = [
        1_000_000_000_000,
        1_000_001,
        -1_000_001,
        -1_000_000_000_000,
        i64::MAX,
        i64::MIN,
    ];
    for delta in huge {
        // A crafted button pressed again and again is refused every time.
        for _ in 0..2 {
            let calls = shop.press(ADMIN, &crafted(delta), &card).await;
            let alert = &answers(&calls)[0].body;
            assert_eq!(alert["show_alert"], true, "{delta}: {alert}");
            let text = alert["text"].as_str().unwrap_or("");
            assert!(text.contains("at most ±1000000"), "{delta}: {alert}");
        }
    }
    assert_eq!(shop.app.scalar(&on_hand).await, 3);
    // At the bound both doors accept, and one past it both refuse in the same words.
    let calls = shop.press(ADMIN, &crafted(1_000_000), &card).await;
    assert_eq!(answers(&calls)[0].body["text"], "Stock +1000000");
    assert_eq!(shop.app.scalar(&on_hand).await, 1_000_003);
    let key = uuid::Uuid::new_v4().to_string();
    let (s, body) = shop
        .app
        .call(
            Method::POST,
            &format!("/v1/admin/products/{id}/stock"),
            Some(&shop.app.admin()),
            Some(&key),
            Some(json!({ "quantity_delta": 1_000_001 })),
        )
        .await;
    assert_eq!(s.as_u16(), 422, "{body}");
    assert_eq!(body["error"]["details"]["field"], "quantity_delta");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("at most ±1000000")));
    shop.app.assert_invariants().await;
}
