//! Graceful shutdown under load: the real `souk` binary gets SIGTERM while 16 customers
//! check out. Requests in flight finish with their 2xx or fail at the transport level, never
//! with a 5xx; the persistence queue is flushed, so every acknowledged order is stored; the
//! process exits 0 within the shutdown timeout; `souk check` passes.

use crate::common::*;
use crate::external::*;
use crate::fake_bot_api::{FakeBotApi, Mode};
use crate::load::*;
use crate::telegram_harness::{BOT_TOKEN, WEBHOOK_SECRET};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_finishes_in_flight_checkouts_and_exits_zero() {
    let (db_url, _) = fresh_database().await;
    let keys = TestKeys::new();
    let mut souk = Souk::start(&db_url, free_port()).await;
    let customers: Vec<(i64, String)> = (400..416).map(|u| (u, keys.customer(u))).collect();
    let http = reqwest::Client::new();
    let shop = Shop::open(&http, &souk.base, &keys.admin, customers, 1_000).await;
    let (base, log) = (souk.base.clone(), souk.log.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let load = run_load(&http, &base, &shop, "term", stop.clone(), true);
    let (sent, (signalled, exit)) = tokio::join!(load, async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let signalled = Instant::now();
        souk.sigterm();
        let exit = souk.exit_within(Duration::from_secs(35)).await;
        stop.store(true, Ordering::Relaxed);
        (signalled, exit.map(|status| (status, signalled.elapsed())))
    });
    let log = log.display();
    let (status, exited_after) =
        exit.unwrap_or_else(|| panic!("souk still runs 35 s after SIGTERM; see {log}"));
    assert_eq!(status.code(), Some(0), "exit after SIGTERM; see {log}");

    // Every answer is a 2xx: nothing in flight was refused or failed by the server.
    let refused: Vec<String> = sent
        .iter()
        .filter_map(|s| {
            let r = s.reply.as_ref().filter(|r| !r.status.is_success())?;
            let when = if s.started + s.took > signalled {
                "after"
            } else {
                "before"
            };
            Some(format!(
                "{:?} → {} {} (answered {when} SIGTERM)",
                s.kind, r.status, r.body
            ))
        })
        .collect();
    assert!(
        refused.is_empty(),
        "non-2xx answers; see {log}:\n{}",
        refused.join("\n")
    );
    let in_flight: Vec<_> = sent
        .iter()
        .filter(|s| s.started < signalled && s.started + s.took > signalled)
        .collect();
    let finished = in_flight.iter().filter(|s| s.reply.is_some()).count();

    // The queue was flushed: every acknowledged checkout is stored, once.
    let mut ledger = Ledger::default();
    ledger.record(&sent);
    assert!(
        ledger.acked.len() > 10,
        "only {} orders before SIGTERM",
        ledger.acked.len()
    );
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let answers = verify_stored(&db, &ledger).await;
    let orders = answers.values().filter(|a| a.0 == 201).count();
    // A request the server ran to the end was answered: no checkout committed unseen.
    let unseen: Vec<&String> = sent
        .iter()
        .filter_map(|s| match (&s.kind, &s.reply) {
            (Kind::Checkout(key), None) => Some(key),
            _ => None,
        })
        .filter(|key| answers.keys().any(|(_, k)| k == *key))
        .collect();
    assert!(
        unseen.is_empty(),
        "checkouts that committed but whose answer was cut by the shutdown: {unseen:?}"
    );
    assert_eq!(orders, ledger.acked.len(), "orders nobody was told about");
    println!(
        "shutdown: exit 0 after {exited_after:?}; {} in flight at SIGTERM ({finished} answered 2xx, \
         the rest cut at the transport level); {} acknowledged, {orders} orders in db",
        in_flight.len(),
        ledger.acked.len()
    );
}

/// The background loops (payment-expiry sweep, rate-limit sweeper) obey the shutdown signal:
/// an idle server exits promptly after SIGTERM, well before the bound start-up gives the
/// loops to finish their current item, which it would wait out if they missed the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_background_loops_at_once() {
    let (db_url, _) = fresh_database().await;
    let mut souk = Souk::start(&db_url, free_port()).await;
    // Let the expiry sweep and the rate-limit sweeper start their loops.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let signalled = Instant::now();
    souk.sigterm();
    let log = souk.log.display().to_string();
    let status = souk
        .exit_within(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("souk still runs 5 s after SIGTERM; see {log}"));
    assert_eq!(status.code(), Some(0), "exit after SIGTERM; see {log}");
    let took = signalled.elapsed();
    assert!(
        took < souk::shutdown::LOOPS_FINISH_MAX / 2,
        "exit took {took:?}: a loop missed the shutdown signal; see {log}"
    );
}

/// A Telegram update goes on applying and answering after its webhook call was answered;
/// the shutdown waits for it (it no longer dies with the HTTP worker that took it), and the
/// signal makes its answer give up waiting out the Bot API's retry_after.
/// Far longer than a prompt exit takes, far shorter than the waits it must cut: the Bot API's
/// `retry_after` below and the server's 30 s shutdown timeout.
const PROMPT_EXIT: Duration = Duration::from_secs(8);
const _: () = assert!(PROMPT_EXIT.as_secs() < souk::shutdown::LOOPS_FINISH_MAX.as_secs());
const RETRY_AFTER_SECS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_every_background_loop_at_once_even_with_a_bot_answer_waiting_to_retry() {
    let (db_url, _) = fresh_database().await;
    let bot_api = FakeBotApi::start();
    // Every Bot API call is refused with a 20 s retry_after, which the bot would wait out.
    bot_api.set_mode(Mode::RateLimited {
        retry_after: RETRY_AFTER_SECS,
        times: 1_000,
    });
    let port = free_port();
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("souk-loops-{port}.log"));
    let stderr = std::fs::File::create(&log).expect("log file");
    let mut souk = Command::new(env!("CARGO_BIN_EXE_souk"))
        .env("SOUK__DATABASE__URL", &db_url)
        .env("SOUK__HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("SOUK__AUTH__JWT_SECRET", SECRET)
        .env("SOUK__SHOP__DEMO_SEED", "false")
        .env("SOUK__TELEGRAM__BOT_TOKEN", BOT_TOKEN)
        .env("SOUK__TELEGRAM__WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("SOUK__TELEGRAM__API_BASE", &bot_api.base)
        // The payment-expiry sweep runs every 50 ms, so it is likely mid-round at SIGTERM.
        .env("SOUK__CHECKOUT__EXPIRY_SWEEP_MS", "50")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("souk binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/v1/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "souk not ready; see {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let update_id = 97_001_i64;
    let update = crate::telegram_harness::message(update_id, 1, 9701, "/start");
    let answered = http
        .post(format!("{base}/v1/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .json(&update)
        .send()
        .await
        .expect("webhook");
    assert_eq!(answered.status(), reqwest::StatusCode::OK);
    // The update's answer has been refused once and now waits out its retry_after.
    bot_api
        .wait_for("a refused Bot API call", Duration::from_secs(10), |calls| {
            !calls.is_empty()
        })
        .await;

    let signalled = Instant::now();
    kill(Pid::from_raw(souk.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let status = loop {
        if let Some(status) = souk.try_wait().expect("try_wait") {
            break Some(status);
        }
        if signalled.elapsed() > PROMPT_EXIT {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = signalled.elapsed();
    let _ = souk.kill();
    let _ = souk.wait();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let status = status
        .unwrap_or_else(|| panic!("souk still runs {PROMPT_EXIT:?} after SIGTERM; log:\n{logged}"));
    assert_eq!(status.code(), Some(0), "exit after SIGTERM; log:\n{logged}");
    assert!(
        bot_api.calls().len() < 3,
        "the bot went on calling after the shutdown signal: {:?}",
        bot_api.calls()
    );
    // The update was applied (recorded once) even though its answer never got through.
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let recorded: i64 = db
        .query_one(
            "SELECT count(*) FROM telegram_updates WHERE update_id = $1",
            &[&update_id],
        )
        .await
        .expect("telegram_updates")
        .get(0);
    assert_eq!(recorded, 1, "the update in hand was finished");
    println!(
        "shutdown with a bot answer waiting {RETRY_AFTER_SECS} s to retry: exit 0 after {took:?}"
    );
}
