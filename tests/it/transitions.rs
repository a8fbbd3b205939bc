//! Every move of the transition table over HTTP (I6, P11): from each status an order can be
//! put in, to every status, staff get exactly what `OrderStatus::allowed_next` says.

use crate::common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk_actors::domain::status::OrderStatus;

/// Statuses reached through moves staff may make, from `paid`.
fn path_to(status: OrderStatus) -> &'static [&'static str] {
    match status {
        OrderStatus::Processing => &["processing"],
        OrderStatus::Shipped => &["shipped"],
        OrderStatus::Delivered => &["shipped", "delivered"],
        OrderStatus::ReturnRequested => &["shipped", "delivered"],
        _ => &[],
    }
}

async fn move_to(app: &TestApp, order: i64, to: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/v1/admin/orders/{order}/transitions"),
        Some(&app.admin()),
        None,
        Some(json!({ "to": to })),
    )
    .await
}

/// A fresh order in `status`.
async fn order_in(app: &TestApp, token: &str, product: i64, status: OrderStatus) -> i64 {
    app.put_cart(token, product, 1).await;
    let key = uuid::Uuid::new_v4().to_string();
    let (s, order) = if status == OrderStatus::PendingPayment {
        app.external_checkout(token, &key).await
    } else {
        app.checkout(token, &key).await
    };
    assert_eq!(s, StatusCode::CREATED, "{order}");
    let id = order["id"].as_i64().unwrap();
    for step in path_to(status) {
        let (s, b) = move_to(app, id, step).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    if status == OrderStatus::ReturnRequested {
        let body =
            json!({ "lines": [{ "product_id": product, "quantity": 1 }], "reason": "too small" });
        let (s, b) = app
            .call(
                Method::POST,
                &format!("/v1/me/orders/{id}/returns"),
                Some(token),
                None,
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    if status == OrderStatus::Cancelled {
        let (s, b) = app
            .call(
                Method::POST,
                &format!("/v1/me/orders/{id}/cancel"),
                Some(token),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    id
}

#[tokio::test]
async fn every_move_of_the_table_is_allowed_or_refused_with_the_allowed_set() {
    // One order awaits payment for each move tried from `pending_payment`, all by one buyer.
    let app = TestApp::spawn_with(|s| s.checkout.unpaid_orders_max = 20).await;
    let shirt = app.physical(100, 1_000).await;
    let c = app.customer(2, 1_000_000).await;
    let froms = [
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::Processing,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::ReturnRequested,
        OrderStatus::Cancelled,
    ];
    let mut checked = 0;
    for from in froms {
        for to in OrderStatus::ALL {
            let id = order_in(&app, &c, shirt, from).await;
            let (s, b) = move_to(&app, id, to.as_str()).await;
            let allowed = from.can_move_to(to);
            // Staff cancel through this endpoint too (the cancel flow gives money and stock
            // back); payments, returns and refunds have their own endpoints, and an order
            // with an open return moves only through the returns flow.
            let own_flow = from == OrderStatus::ReturnRequested
                || matches!(
                    to,
                    OrderStatus::Paid
                        | OrderStatus::ReturnRequested
                        | OrderStatus::Refunded
                        | OrderStatus::Returned
                );
            let case = format!("{from} -> {to}: {b}");
            if allowed && !own_flow {
                assert_eq!(s, StatusCode::OK, "{case}");
                assert_eq!(b["status"], to.as_str(), "{case}");
            } else {
                assert_eq!(s, StatusCode::CONFLICT, "{case}");
                assert_eq!(b["error"]["code"], "invalid_transition", "{case}");
                if !allowed {
                    let want: Vec<&str> = from.allowed_next().iter().map(|s| s.as_str()).collect();
                    assert_eq!(b["error"]["details"]["allowed"], json!(want), "{case}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 63);
    app.assert_invariants().await;
}
