//! The steps that give money back: an admin's refund, full or partial, and a cancel by
//! the customer or by staff, whose refund is checked against max(0, paid − refunded − kept).

use super::model::Expect;
use super::world::World;
use reqwest::Method;
use serde_json::json;

pub async fn refund(w: &mut World, i: usize, amount: Option<i64>) {
    let expect = w.model.refund(i, amount);
    let path = format!("/v1/admin/orders/{}/refunds", w.model.orders[i].id);
    let mut body = json!({ "reason": "model refund" });
    if let Some(a) = amount {
        body["amount_minor"] = json!(a);
    }
    let (s, b) = w
        .call(Method::POST, &path, &w.app().admin(), Some(body))
        .await;
    let what = format!("refund of order {}", w.model.orders[i].id);
    if w.answered(&what, expect, s, &b) {
        let want = amount.unwrap_or_else(|| w.model.remaining(i));
        let got = b["amount_minor"].as_i64().unwrap_or(0);
        if got != want {
            w.finding(
                "refund amount",
                format!("the refund row says {got}; the model says {want}"),
            );
        }
        w.model.commit_refund(i, want);
    }
}

pub async fn cancel(w: &mut World, i: usize, staff: bool) {
    let expect = w.model.cancel(i, staff);
    let o = &w.model.orders[i];
    let terms = Terms {
        id: o.id,
        paid: o.paid,
        refunded: o.refunded,
        kept: w.model.kept(o),
        want: if expect == Expect::Ok {
            w.model.cancel_refund(i)
        } else {
            0
        },
    };
    let before = refunded(w, terms.id).await;
    let (s, b) = if staff {
        let path = format!("/v1/admin/orders/{}/transitions", terms.id);
        let body = json!({ "to": "cancelled", "note": "model" });
        w.call(Method::POST, &path, &w.staff(), Some(body)).await
    } else {
        let path = format!("/v1/me/orders/{}/cancel", terms.id);
        let token = w.model.users[o.user].token.clone();
        w.call(Method::POST, &path, &token, None).await
    };
    let what = format!("cancel of order {}", terms.id);
    if w.answered(&what, expect, s, &b) {
        w.model.commit_cancel(i);
    }
    if s.is_success() {
        let given = refunded(w, terms.id).await - before;
        check_cancel_refund(w, i, expect, &terms, given);
    }
}

/// An order's terms when a cancel was asked for.
struct Terms {
    id: i64,
    paid: i64,
    refunded: i64,
    kept: i64,
    /// What the rules give back.
    want: i64,
}

async fn refunded(w: &World, order: i64) -> i64 {
    w.db.query_one(
        "SELECT coalesce(sum(amount_minor), 0)::bigint FROM wallet_transactions
         WHERE order_id = $1 AND kind = 'refund'",
        &[&order],
    )
    .await
    .expect("refunds of an order")
    .get(0)
}

/// What a cancel gave back, against max(0, paid − refunded − kept), with the terms, so a
/// finding says which rule broke. The order's refunds are then taken as Souk holds them.
fn check_cancel_refund(w: &mut World, i: usize, expect: Expect, t: &Terms, given: i64) {
    if given == t.want {
        return;
    }
    let (id, paid, refunded, kept) = (t.id, t.paid, t.refunded, t.kept);
    let rule = if expect == Expect::NothingToCancel {
        format!("every line is a delivered key the customer keeps, so nothing may go back (paid {paid}, refunded {refunded}, kept {kept})")
    } else {
        format!(
            "the rules give back max(0, paid {paid} − refunded {refunded} − kept {kept}) = {}",
            t.want
        )
    };
    let total = refunded + given;
    let (what, over) = if total > paid {
        (
            "cancel refund exceeds paid",
            format!("; its refunds now total {total}, more than the {paid} paid"),
        )
    } else {
        ("cancel refund", String::new())
    };
    w.finding(
        what,
        format!("cancelling order {id} gave back {given}; {rule}{over}"),
    );
    w.model.orders[i].refunded = total;
}
