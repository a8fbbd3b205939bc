//! Many Telegram users at once: the actors and the one checkout decide (P1, P4, I5).

use crate::common::codes;
use crate::telegram_harness::*;
use souk_actors::domain::ids::ProductId;
use souk_http::telegram::callback::Action;
use std::collections::HashSet;

#[tokio::test]
async fn fifty_telegram_users_race_for_the_last_ten_keys_ten_win_and_forty_hear_sold_out() {
    let shop = Shop::open().await;
    let keys = codes("LAST", 10);
    let id = ProductId::new(shop.app.digital(500, &keys).await).unwrap();
    let users: Vec<i64> = (0..50).map(|i| 20_000 + i).collect();
    let add = Action::Add { id, qty: 1 }.encode();
    // Each user: /start, a wallet, one key in the cart.
    futures_util::future::join_all(users.iter().map(|u| async {
        let calls = shop.say(*u, "/start").await;
        shop.app.credit(shop.user_of(*u).await, 1_000).await;
        let (menu, _) = find_button(&calls, "Catalog");
        shop.press(*u, &add, &menu).await;
    }))
    .await;
    let presses: Vec<_> = users
        .iter()
        .map(|u| {
            let pay = Action::Pay {
                confirmation: 1_000 + u,
            }
            .encode();
            shop.press_update(*u, &pay, 1, false)
        })
        .collect();
    let before = shop.api.count();
    let statuses = futures_util::future::join_all(presses.iter().map(|p| shop.post(p))).await;
    assert!(statuses.iter().all(|s| s.as_u16() == 200), "{statuses:?}");
    let calls = shop.api.since(before);
    assert_eq!(answers(&calls).len(), 50);
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 10);
    let delivered: HashSet<String> = calls
        .iter()
        .flat_map(|c| {
            keys.iter()
                .filter(move |k| c.text().contains(k.as_str()))
                .cloned()
        })
        .collect();
    assert_eq!(delivered.len(), 10, "ten distinct keys reached ten chats");
    let sold_out = calls
        .iter()
        .filter(|c| {
            c.method == "answerCallbackQuery"
                && c.body["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("sold out"))
        })
        .count();
    assert_eq!(sold_out, 40);
    shop.app.assert_invariants().await;
}
