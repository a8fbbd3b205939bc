use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn a_customer_buys_a_key_and_a_shirt_from_the_wallet() {
    let app = TestApp::spawn().await;
    let key = app.digital(1999, &codes("KEY", 3)).await;
    let shirt = app.physical(2500, 5).await;
    let c = app.customer(2, 10_000).await;
    assert_eq!(app.put_cart(&c, key, 2).await.0, StatusCode::OK);
    assert_eq!(app.put_cart(&c, shirt, 1).await.0, StatusCode::OK);
    let (s, order) = app.checkout(&c, "order-1").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["total_minor"], 6498);
    assert_eq!(
        order["lines"][0]["delivered_items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let (_, wallet) = app.get("/v1/me/wallet", Some(&c)).await;
    assert_eq!(wallet["balance_minor"], 10_000 - 6498);
    let (_, product) = app.get(&format!("/v1/products/{shirt}"), None).await;
    assert_eq!(product["stock_available"], 4);
}
