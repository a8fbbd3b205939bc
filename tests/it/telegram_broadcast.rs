//! `/broadcast`: an admin composes, previews and confirms a message to every bot user; it
//! goes out within Telegram's limits, at most once per user even across a SIGKILL, skips
//! and counts users who blocked the bot, and ends with a report to the admin.

use crate::common::*;
use crate::external::{free_port, Souk};
use crate::fake_bot_api::{Call, FakeBotApi, Mode};
use crate::telegram_harness::{
    find_button, message, texts, Shop, ADMIN, BOT_TOKEN, WEBHOOK_SECRET,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const TEXT: &str = "Spring sale: every key 20% off until Sunday!";
/// Telegram ids of the generated bot users: FIRST_USER, FIRST_USER + 1, …
const FIRST_USER: i64 = 100_000;

/// Sends of `text` by chat.
fn sends_of(calls: &[Call], text: &str) -> HashMap<i64, usize> {
    let mut by_chat = HashMap::new();
    for c in calls
        .iter()
        .filter(|c| c.method == "sendMessage" && c.text() == text)
    {
        *by_chat
            .entry(c.body["chat_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    by_chat
}

fn reports(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.body["chat_id"] == ADMIN && c.text().starts_with("📣 Broadcast #"))
        .map(Call::text)
        .filter(|t| t.contains("finished"))
        .collect()
}

/// The most messages that arrived within any one second.
fn busiest_second(calls: &[&Call]) -> usize {
    let mut most = 0;
    for (i, first) in calls.iter().enumerate() {
        let within = calls[i..]
            .iter()
            .take_while(|c| c.at.duration_since(first.at) < Duration::from_secs(1))
            .count();
        most = most.max(within);
    }
    most
}

#[tokio::test]
async fn an_admin_previews_cancels_and_confirms_and_a_second_press_sends_nothing_more() {
    let shop = Shop::open().await;
    for buyer in [31, 32, 33] {
        shop.say(buyer, "/start").await;
    }
    // Not an admin: refused, and nothing is kept.
    let said = shop.say(31, "/broadcast").await;
    assert!(texts(&said).contains("Not allowed"), "{}", texts(&said));

    let said = shop.say(ADMIN, "/broadcast").await;
    assert!(
        texts(&said).contains("up to 4096 characters"),
        "{}",
        texts(&said)
    );
    let said = shop.say(ADMIN, &"x".repeat(4097)).await;
    assert!(
        texts(&said).contains("at most 4096 characters") && texts(&said).contains("4097"),
        "{}",
        texts(&said)
    );
    // Still waiting for the text: the next message is the broadcast.
    let said = shop.say(ADMIN, "First draft").await;
    assert_eq!(said[0].text(), "First draft", "shown as users will read it");
    let (question, cancel) = find_button(&said, "Cancel");
    assert!(
        question.text().contains("Send it to 4 bot users"),
        "three buyers and the admin: {}",
        question.text()
    );
    let (_, send) = find_button(&said, "Send to 4");
    let said = shop.press(ADMIN, &cancel, &question).await;
    assert!(texts(&said).contains("cancelled"), "{}", texts(&said));
    // The stale "Send" of a cancelled draft sends nothing.
    let said = shop.press(ADMIN, &send, &question).await;
    assert!(
        texts(&said).contains("already cancelled"),
        "{}",
        texts(&said)
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        sends_of(&shop.api.calls(), "First draft").len() <= 1,
        "only the preview"
    );

    // A buyer's forwarded "Send" button is refused like any admin step.
    shop.say(ADMIN, "/broadcast").await;
    let said = shop.say(ADMIN, TEXT).await;
    let (question, send) = find_button(&said, "Send to 4");
    let said = shop.press(32, &send, &question).await;
    assert!(texts(&said).contains("Not allowed"), "{}", texts(&said));

    // Pressed twice, and the second press redelivered: one message per user.
    let said = shop.press(ADMIN, &send, &question).await;
    assert!(
        texts(&said).contains("is going out to 4 users"),
        "{}",
        texts(&said)
    );
    let update = shop.press_update(ADMIN, &send, question.message_id, false);
    assert_eq!(shop.post(&update).await, StatusCode::OK);
    assert_eq!(shop.post(&update).await, StatusCode::OK);
    shop.api
        .wait_for("the report", Duration::from_secs(15), |c| {
            !reports(c).is_empty()
        })
        .await;
    let calls = shop.api.calls();
    let sent = sends_of(&calls, TEXT);
    for buyer in [31, 32, 33] {
        assert_eq!(sent.get(&buyer), Some(&1), "buyer {buyer}: {sent:?}");
    }
    // The admin saw the preview and got the broadcast itself.
    assert_eq!(sent.get(&ADMIN), Some(&2), "{sent:?}");
    assert_eq!(
        reports(&calls),
        vec!["📣 Broadcast #2 finished: 4 sent, 0 failed.".to_string()]
    );
    assert!(
        texts(&calls).contains("Broadcast #2 is already sending"),
        "the second press: {}",
        texts(&calls)
    );
    let metrics = shop.app.metrics().await;
    assert!(
        metrics.contains(
            "souk_telegram_notifications_total{kind=\"telegram.broadcast\",outcome=\"sent\"} 4"
        ),
        "{metrics}"
    );
}

/// Posts a Telegram update to a Souk process.
async fn post(souk: &Souk, update: &Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/v1/telegram/webhook", souk.base))
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .json(update)
        .send()
        .await
        .expect("webhook");
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_broadcast_to_500_users_killed_midway_reaches_each_once_and_counts_the_blocked() {
    let (db_url, _) = fresh_database().await;
    let api = FakeBotApi::start();
    let port = free_port();
    let admin = ADMIN.to_string();
    let env = [
        ("SOUK__TELEGRAM__BOT_TOKEN", BOT_TOKEN),
        ("SOUK__TELEGRAM__WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("SOUK__TELEGRAM__API_BASE", api.base.as_str()),
        ("SOUK__TELEGRAM__ADMIN_IDS", admin.as_str()),
    ];
    let mut souk = Souk::start_with(&db_url, port, &env).await;
    let db = souk::db::connect_one(&db_url).await.expect("db connection");
    db.batch_execute(&format!(
        "INSERT INTO users (telegram_id, display_name)
         SELECT {FIRST_USER} + g, 'User ' || g FROM generate_series(0, 499) g"
    ))
    .await
    .expect("500 bot users");
    // One blocked the bot earlier (Souk knows: skipped), one blocks it now (answers 403).
    let known_blocked = FIRST_USER + 7;
    let blocks_now = FIRST_USER + 400;
    db.execute(
        "UPDATE users SET telegram_blocked_at = now() WHERE telegram_id = $1",
        &[&known_blocked],
    )
    .await
    .expect("blocked");
    api.block(blocks_now);

    post(&souk, &message(1, 1, ADMIN, "/broadcast")).await;
    post(&souk, &message(2, 2, ADMIN, TEXT)).await;
    api.wait_for("the preview", Duration::from_secs(5), |c| {
        c.iter().any(|c| !c.buttons().is_empty())
    })
    .await;
    let (question, send) = find_button(&api.calls(), "Send to 500");
    assert!(
        question
            .text()
            .contains("1 more blocked the bot and are skipped"),
        "{}",
        question.text()
    );
    let press = json!({
        "update_id": 3,
        "callback_query": {
            "id": "q1", "chat_instance": "c", "data": send,
            "from": { "id": ADMIN, "is_bot": false, "first_name": "Admin" },
            "message": { "message_id": question.message_id, "chat": { "id": ADMIN, "type": "private" }, "date": 0, "text": "…" },
        }
    });
    post(&souk, &press).await;

    // Midway: Telegram stops answering (it takes each message and hangs), and Souk is
    // killed with sends in flight.
    api.wait_for("150 sends", Duration::from_secs(30), |c| {
        sends_of(c, TEXT).len() >= 150
    })
    .await;
    api.set_mode(Mode::Slow(Duration::from_secs(3600)));
    let mut seen = api.count();
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        if api.count() == seen {
            break;
        }
        seen = api.count();
    }
    let before_kill = sends_of(&api.calls(), TEXT).len();
    souk.sigkill();
    api.set_mode(Mode::Ok);
    let _souk = Souk::start_with(&db_url, port, &env).await;

    api.wait_for("the report", Duration::from_secs(60), |c| {
        !reports(c).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let calls = api.calls();
    let sent = sends_of(&calls, TEXT);
    assert!((150..500).contains(&before_kill), "{before_kill}");
    for n in 0..500 {
        let chat = FIRST_USER + n;
        let expected = usize::from(chat != known_blocked);
        assert_eq!(
            sent.get(&chat).copied().unwrap_or(0),
            expected,
            "user {chat}: each gets it once (the one who blocked the bot now was tried once)"
        );
    }
    // The admin got the preview and the broadcast.
    assert_eq!(sent.get(&ADMIN), Some(&2));

    let count = |state: &'static str| {
        let db = &db;
        async move {
            db.query_one(
                "SELECT count(*) FROM telegram_notifications n JOIN events e ON e.seq = n.event_seq
                 WHERE e.type = 'telegram.broadcast' AND n.state = $1",
                &[&state],
            )
            .await
            .expect("count")
            .get::<_, i64>(0)
        }
    };
    let (delivered, unknown) = (count("sent").await, count("unknown").await);
    assert_eq!(count("failed").await, 2, "the two who blocked the bot");
    assert_eq!(delivered + unknown, 499, "everyone else, each once");
    assert!(
        (1..=3).contains(&unknown),
        "the sends cut off by the kill ({unknown}) are not sent again"
    );
    let report = reports(&calls);
    assert_eq!(report.len(), 1, "one report: {report:?}");
    assert!(
        report[0].starts_with(&format!(
            "📣 Broadcast #1 finished: {delivered} sent, 2 failed (2 blocked the bot), {unknown} unknown"
        )),
        "{}",
        report[0]
    );

    // About 30 messages a second, never a burst: none of the broadcast's seconds carried
    // more than Telegram's limit and one tick's worth.
    let broadcast: Vec<&Call> = calls
        .iter()
        .filter(|c| c.method == "sendMessage" && c.text() == TEXT)
        .collect();
    let most = busiest_second(&broadcast);
    assert!(most <= 33, "{most} messages in one second");
    let took = broadcast[broadcast.len() - 1]
        .at
        .duration_since(broadcast[0].at);
    assert!(took > Duration::from_secs(14), "500 messages in {took:?}");
}
