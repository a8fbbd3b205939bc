//! `souk check` on a database: silent and 0 when the invariants hold, non-zero and naming
//! each violation when they do not.

use crate::common::*;
use std::process::Command;

pub(crate) fn souk_check(db_url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_souk"))
        .arg("check")
        .env("SOUK__DATABASE__URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("souk check runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn souk_check_passes_a_sound_shop_and_names_every_broken_invariant() {
    let app = TestApp::spawn().await;
    let product = app.physical(500, 10).await;
    let key = app.digital(300, &codes("CHK", 3)).await;
    let token = app.customer(2, 5_000).await;
    app.put_cart(&token, product, 2).await;
    app.put_cart(&token, key, 1).await;
    app.create_promo(serde_json::json!({ "code": "CHECKED", "kind": "fixed", "value": 1 }))
        .await;
    let (s, b) = app.apply_promo(&token, "checked").await;
    assert_eq!(s.as_u16(), 200, "{b}");
    assert_eq!(app.checkout(&token, "sound").await.0.as_u16(), 201);
    let (code, out) = souk_check(&app.db_url);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok"), "{out}");

    // Break each invariant behind Souk's back, as a buggy script or a manual edit would.
    let db = app.db().await;
    db.batch_execute(&format!(
        "UPDATE products SET stock_on_hand = stock_on_hand + 5 WHERE id = {product};
         UPDATE users SET balance_minor = balance_minor + 100 WHERE id = 2;
         UPDATE digital_items SET order_id = NULL, delivered_at = NULL
             WHERE id = (SELECT min(id) FROM digital_items WHERE order_id IS NOT NULL);
         UPDATE orders SET status = 'delivered';
         INSERT INTO wallet_transactions (user_id, kind, amount_minor, order_id, reason)
             SELECT user_id, 'refund', total_minor + 1, id, 'too generous' FROM orders;
         UPDATE promos SET redemptions = 0;
         DELETE FROM events WHERE type = 'order.created';"
    ))
    .await
    .expect("corrupt");
    let (code, out) = souk_check(&app.db_url);
    assert_ne!(code, 0, "{out}");
    for invariant in [
        "I1: product",
        "I2: user 2",
        "I5: order",
        "I6: order",
        "was refunded for it",
        "P6: promo CHECKED",
        "E1: order",
    ] {
        assert!(out.contains(invariant), "missing {invariant}:\n{out}");
    }
}
