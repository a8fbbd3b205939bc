//! P12: a shop backed up with `souk backup` and restored with `souk restore` into a fresh
//! database is the same shop: same orders, balances and stock, and `souk check` passes.

use crate::common::*;
use reqwest::StatusCode;
use std::process::Command;

fn souk(args: &[&str], db_url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_souk"))
        .args(args)
        .env("SOUK__DATABASE__URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("souk runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn figures(db_url: &str) -> Vec<i64> {
    let client = souk::db::connect_one(db_url).await.expect("db");
    let sql =
        "SELECT (SELECT count(*) FROM orders), (SELECT sum(balance_minor)::bigint FROM users),
                      (SELECT sum(stock_on_hand)::bigint FROM products),
                      (SELECT count(*) FROM digital_items WHERE order_id IS NOT NULL),
                      (SELECT count(*) FROM audit_log)";
    let row = client.query_one(sql, &[]).await.expect("figures");
    (0..5).map(|i| row.get::<_, i64>(i)).collect()
}

#[tokio::test]
async fn a_backup_restored_into_a_fresh_database_is_the_same_shop() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 9).await;
    let key = app.digital(300, &codes("BAK", 4)).await;
    for user in 2..5 {
        let token = app.customer(user, 10_000).await;
        app.put_cart(&token, shirt, 2).await;
        app.put_cart(&token, key, 1).await;
        assert_eq!(app.checkout(&token, "order").await.0, StatusCode::CREATED);
    }
    let file = std::env::temp_dir().join(format!("souk-backup-{}.dump", std::process::id()));
    let (ok, out) = souk(
        &["backup", "--to", file.to_str().expect("path")],
        &app.db_url,
    );
    assert!(ok, "{out}");

    let (fresh, _) = fresh_database().await;
    let (ok, out) = souk(&["restore", "--from", file.to_str().expect("path")], &fresh);
    assert!(ok, "{out}");
    assert_eq!(figures(&fresh).await, figures(&app.db_url).await);
    let (ok, out) = souk(&["check"], &fresh);
    assert!(ok, "{out}");
    // Restoring over a shop is refused rather than merged.
    let (ok, out) = souk(&["restore", "--from", file.to_str().expect("path")], &fresh);
    assert!(!ok && out.contains("empty database"), "{out}");
    let _ = std::fs::remove_file(file);
}
