//! The Bot API down, slow or rate limiting (P23, P24): the webhook still answers 200 within
//! its bound, orders commit once, failures are counted, and keys are re-sent on request.

use crate::common::codes;
use crate::fake_bot_api::Mode;
use crate::telegram_harness::*;
use souk_actors::domain::ids::ProductId;
use souk_http::telegram::callback::Action;
use std::time::{Duration, Instant};

/// The webhook's bound on answering, and that plus slack for a loaded machine.
const REPLY_WITHIN_MS: u64 = 600;
const BOUND: Duration = Duration::from_millis(REPLY_WITHIN_MS + 1000);

#[tokio::test]
async fn with_the_bot_api_down_or_slow_the_webhook_answers_in_time_and_orders_commit_once() {
    let shop = Shop::open_with(|s| s.telegram.reply_within_ms = REPLY_WITHIN_MS).await;
    let id = ProductId::new(shop.app.digital(500, &codes("OUT", 3)).await).unwrap();
    shop.say(9501, "/start").await;
    shop.app.credit(shop.user_of(9501).await, 5_000).await;
    let add = shop.press_update(9501, &Action::Add { id, qty: 1 }.encode(), 1, false);
    let pay = shop.press_update(9501, &Action::Pay { confirmation: 5 }.encode(), 1, false);
    for mode in [Mode::Down, Mode::Slow(Duration::from_secs(5))] {
        shop.api.set_mode(mode);
        for update in [&shop.message(9501, "/catalog"), &add, &pay] {
            let started = Instant::now();
            assert_eq!(shop.post(update).await.as_u16(), 200);
            assert!(
                started.elapsed() < BOUND,
                "{mode:?}: {:?}",
                started.elapsed()
            );
        }
    }
    shop.api.set_mode(Mode::Ok);
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 1);
    let metrics = shop.app.metrics().await;
    let failed = |method: &str, outcome: &str| {
        let series =
            format!("souk_telegram_api_calls_total{{method=\"{method}\",outcome=\"{outcome}\"}}");
        sample(&metrics, &series)
    };
    assert!(
        failed("answerCallbackQuery", "error") >= 1,
        "down: {metrics}"
    );
    assert!(failed("sendMessage", "timeout") >= 1, "slow: {metrics}");
    // The order stands; once Telegram is back, /orders re-sends its key.
    let calls = shop.say(9501, "/orders").await;
    let (list, data) = find_button(&calls, "Keys of #");
    let calls = shop.press(9501, &data, &list).await;
    assert!(texts(&calls).contains("OUT-"), "{}", texts(&calls));
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_and_counted() {
    let shop = Shop::open().await;
    shop.api.set_mode(Mode::RateLimited {
        retry_after: 1,
        times: 1,
    });
    let started = Instant::now();
    let calls = shop.say(9601, "/help").await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry_after was honoured"
    );
    let sends: Vec<_> = calls.iter().filter(|c| c.method == "sendMessage").collect();
    assert_eq!(sends.len(), 2, "one refused, one delivered");
    assert!(sends[1].text().contains("/catalog"));
    assert!(shop.app.metrics().await.contains(
        "souk_telegram_api_calls_total{method=\"sendMessage\",outcome=\"rate_limited\"} 1"
    ));
}
