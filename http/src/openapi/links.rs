//! OpenAPI links: which answer's field feeds which operation's parameter. They say how the
//! resources hang together (checkout makes an order, whose id the order, cancel, return and
//! refund routes take), and they drive schemathesis's stateful phase, which chains calls
//! along them instead of guessing ids.

use serde_json::{json, Value};

/// (method, path) of an operation.
type Op = (&'static str, &'static str);

/// One link: from an operation's answer (`status`) to another operation, whose one path
/// parameter (if it has one) is taken from the answer by a runtime expression.
struct Edge {
    from: Op,
    status: &'static str,
    to: Op,
    parameter: Option<(&'static str, &'static str)>,
}

const fn edge(
    from: Op,
    status: &'static str,
    to: Op,
    parameter: &'static str,
    value: &'static str,
) -> Edge {
    Edge {
        from,
        status,
        to,
        parameter: Some((parameter, value)),
    }
}

/// A link that passes nothing: what `to` needs is state `from` made (a cart to check out).
const fn then(from: Op, status: &'static str, to: Op) -> Edge {
    Edge {
        from,
        status,
        to,
        parameter: None,
    }
}

const CHECKOUT: Op = ("post", "/v1/me/checkout");
const NEW_PRODUCT: Op = ("post", "/v1/admin/products");
const NEW_RETURN: Op = ("post", "/v1/me/orders/{order_id}/returns");
const NEW_PROMO: Op = ("post", "/v1/admin/promos");
const ORDERS: Op = ("get", "/v1/admin/orders");
const RETURNS: Op = ("get", "/v1/admin/returns");
const PRODUCTS: Op = ("get", "/v1/products");
const ID: &str = "$response.body#/id";
const FIRST_ID: &str = "$response.body#/items/0/id";

const EDGES: &[Edge] = &[
    then(("put", "/v1/me/cart/items/{product_id}"), "200", CHECKOUT),
    edge(
        CHECKOUT,
        "201",
        ("get", "/v1/me/orders/{order_id}"),
        "order_id",
        ID,
    ),
    edge(
        CHECKOUT,
        "201",
        ("post", "/v1/me/orders/{order_id}/cancel"),
        "order_id",
        ID,
    ),
    edge(CHECKOUT, "201", NEW_RETURN, "order_id", ID),
    edge(
        CHECKOUT,
        "201",
        ("get", "/v1/me/orders/{order_id}/returns"),
        "order_id",
        ID,
    ),
    edge(
        CHECKOUT,
        "201",
        ("get", "/v1/admin/orders/{order_id}"),
        "order_id",
        ID,
    ),
    edge(
        CHECKOUT,
        "201",
        ("post", "/v1/admin/orders/{order_id}/transitions"),
        "order_id",
        ID,
    ),
    edge(
        CHECKOUT,
        "201",
        ("post", "/v1/admin/orders/{order_id}/refunds"),
        "order_id",
        ID,
    ),
    edge(
        ORDERS,
        "200",
        ("get", "/v1/admin/orders/{order_id}"),
        "order_id",
        FIRST_ID,
    ),
    edge(
        ORDERS,
        "200",
        ("post", "/v1/admin/orders/{order_id}/transitions"),
        "order_id",
        FIRST_ID,
    ),
    edge(
        ORDERS,
        "200",
        ("post", "/v1/admin/orders/{order_id}/refunds"),
        "order_id",
        FIRST_ID,
    ),
    edge(
        NEW_RETURN,
        "201",
        ("post", "/v1/admin/returns/{return_id}/approve"),
        "return_id",
        ID,
    ),
    edge(
        NEW_RETURN,
        "201",
        ("post", "/v1/admin/returns/{return_id}/reject"),
        "return_id",
        ID,
    ),
    edge(
        NEW_RETURN,
        "201",
        ("post", "/v1/admin/returns/{return_id}/receive"),
        "return_id",
        ID,
    ),
    edge(
        RETURNS,
        "200",
        ("post", "/v1/admin/returns/{return_id}/approve"),
        "return_id",
        FIRST_ID,
    ),
    edge(
        RETURNS,
        "200",
        ("post", "/v1/admin/returns/{return_id}/reject"),
        "return_id",
        FIRST_ID,
    ),
    edge(
        RETURNS,
        "200",
        ("post", "/v1/admin/returns/{return_id}/receive"),
        "return_id",
        FIRST_ID,
    ),
    edge(
        NEW_PRODUCT,
        "201",
        ("get", "/v1/products/{product_id}"),
        "product_id",
        ID,
    ),
    edge(
        NEW_PRODUCT,
        "201",
        ("patch", "/v1/admin/products/{product_id}"),
        "product_id",
        ID,
    ),
    edge(
        NEW_PRODUCT,
        "201",
        ("post", "/v1/admin/products/{product_id}/stock"),
        "product_id",
        ID,
    ),
    edge(
        NEW_PRODUCT,
        "201",
        ("put", "/v1/me/cart/items/{product_id}"),
        "product_id",
        ID,
    ),
    edge(
        PRODUCTS,
        "200",
        ("get", "/v1/products/{product_id}"),
        "product_id",
        FIRST_ID,
    ),
    edge(
        PRODUCTS,
        "200",
        ("put", "/v1/me/cart/items/{product_id}"),
        "product_id",
        FIRST_ID,
    ),
    edge(
        PRODUCTS,
        "200",
        ("delete", "/v1/me/cart/items/{product_id}"),
        "product_id",
        FIRST_ID,
    ),
    edge(
        NEW_PROMO,
        "201",
        ("get", "/v1/admin/promos/{code}"),
        "code",
        "$response.body#/code",
    ),
    edge(
        NEW_PROMO,
        "201",
        ("patch", "/v1/admin/promos/{code}"),
        "code",
        "$response.body#/code",
    ),
    edge(
        ("post", "/v1/admin/users"),
        "201",
        ("post", "/v1/admin/users/{user_id}/wallet/credits"),
        "user_id",
        ID,
    ),
];

/// Adds `EDGES` to the served document, as JSON: utoipa 5's `Link` serializes its fields in
/// snake case (`operation_id`), which no OpenAPI reader takes. An edge naming an operation
/// or answer the document lacks is skipped rather than served half-made; tests/it/openapi.rs
/// checks that every edge is there.
pub fn add(doc: &mut Value) {
    for e in EDGES {
        let Some(target) = doc
            .pointer(&pointer(e.to))
            .and_then(|op| op.get("operationId"))
            .cloned()
        else {
            continue;
        };
        let name = format!("{}{}", e.to.0, e.to.1.replace(['/', '{', '}'], "_"));
        let mut link = json!({ "operationId": target });
        if let Some((name, value)) = e.parameter {
            link["parameters"] = json!({ name: value });
        }
        let answer = format!("{}/responses/{}", pointer(e.from), e.status);
        if let Some(Value::Object(answer)) = doc.pointer_mut(&answer) {
            if let Value::Object(links) = answer.entry("links").or_insert_with(|| json!({})) {
                links.insert(name, link);
            }
        }
    }
}

/// The JSON pointer of an operation: `/paths/~1v1~1me~1checkout/post`.
fn pointer((method, path): Op) -> String {
    format!(
        "/paths/{}/{method}",
        path.replace('~', "~0").replace('/', "~1")
    )
}
