//! CI's smoke of `souk bench`: both engines, a second each, the report's shape and zero
//! oversells. Speed is not checked here; the benchmark itself prints it.

use crate::common::*;
use souk::bench::{self, BenchOptions, EngineChoice, Workload};
use std::time::Duration;

async fn smoke(workload: Workload, concurrency: usize) -> serde_json::Value {
    smoke_on(workload, concurrency, EngineChoice::Both, 1).await
}

async fn smoke_on(
    workload: Workload,
    concurrency: usize,
    engine: EngineChoice,
    nodes: usize,
) -> serde_json::Value {
    let (url, _) = fresh_database().await;
    let mut settings = test_settings(&url);
    // The suite's 2 s bounds make outages quick to see; here they would turn the baseline's
    // queue of row-lock waiters (150 buyers of one row, on a machine busy with the rest of
    // the suite) into 503s, and these tests count answers, not speed.
    settings.database.timeout_ms = 15_000;
    settings.persistence.write_timeout_ms = 15_000;
    let options = BenchOptions {
        workload,
        engine,
        duration: Duration::from_secs(1),
        warmup: Duration::ZERO,
        concurrency,
        products: 50,
        json: None,
        nodes,
        load_bin: env!("CARGO_BIN_EXE_souk").into(),
        webhook: (workload == Workload::Hot)
            .then(|| souk::bench::webhook_events("all").expect("every event")),
    };
    bench::run(settings, options).await.expect("bench runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_reports_both_engines_and_never_oversells() {
    let report = smoke(Workload::Hot, 8).await;
    assert_eq!(report["workload"], "hot");
    for engine in ["souk", "baseline"] {
        let e = &report["engines"][engine];
        for field in [
            "checkouts_per_s",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "mean_batch",
            "max_batch",
            "rss_mb",
        ] {
            assert!(e[field].is_number(), "{engine}.{field} missing: {report}");
        }
        assert!(e["errors"].is_object(), "{report}");
        // The load runs in its own process, so each process's CPU is known apart; the
        // test's Postgres runs on this machine, so its processes are found in /proc.
        let cpu = &e["cpu_ms_per_checkout"];
        for process in ["souk", "postgres", "load"] {
            assert!(cpu[process].is_number(), "{engine}.cpu.{process}: {report}");
        }
        assert!(
            cpu["souk"].as_f64().unwrap_or(0.0) + cpu["postgres"].as_f64().unwrap_or(0.0) > 0.0,
            "{engine}: a checkout costs the server nothing? {report}"
        );
        assert_eq!(e["oversells"], 0, "{engine} oversold: {report}");
        assert!(
            e["checkouts"].as_u64().unwrap_or(0) > 0,
            "{engine} sold nothing: {report}"
        );
        // `--webhook`: the receiver in the load process got the window's events.
        assert!(
            e["webhook_deliveries_per_s"].as_f64().unwrap_or(0.0) > 0.0
                && e["webhook_p99_ms"].is_number(),
            "{engine}: no webhook deliveries: {report}"
        );
    }
    assert!(report["ratio_checkouts_per_s"].is_number(), "{report}");
    assert!(
        report["ceilings"]["http_rps"].is_number() && report["ceilings"]["commit_rps"].is_number(),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_sale_sells_exactly_its_hundred_units_on_both_engines() {
    let report = smoke(Workload::Flash, 150).await;
    for engine in ["souk", "baseline"] {
        let e = &report["engines"][engine];
        assert_eq!(e["sold"], 100, "{engine}: {report}");
        assert_eq!(e["oversells"], 0, "{engine}: {report}");
        assert_eq!(e["errors"]["out_of_stock"], 50, "{engine}: {report}");
    }
}

/// `--nodes 3`: Souk's engine as a cluster of three nodes (on an etcd member the bench
/// starts) sells the flash sale's hundred units exactly, whichever node each buyer reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_souk_as_a_cluster_and_it_sells_exactly_the_stock() {
    let report = smoke_on(Workload::Flash, 150, EngineChoice::Souk, 3).await;
    assert_eq!(report["nodes"], 3, "{report}");
    let e = &report["engines"]["souk"];
    assert_eq!(e["sold"], 100, "{report}");
    assert_eq!(e["oversells"], 0, "{report}");
}
