//! P15, P16, P18: the served OpenAPI document lists exactly the routes the app mounts, and
//! walking it proves one authorization mechanism guards every `/v1/admin/*` and `/v1/me/*`
//! operation.
//!
//! "Mounted" is checked from both sides: every documented operation is probed and must be
//! matched by the running app (its request is counted under the documented route template
//! in `souk_http_requests_total`, never as `unmatched`); and every `.route(..)` registered in
//! `http/src/**/*.rs` must be documented, so a route added without docs fails here.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

type Operation = (String, String);

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp) -> Value {
    let (status, doc) = app.get("/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    doc
}

/// (METHOD, path template) of every documented operation.
fn documented(doc: &Value) -> BTreeSet<Operation> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

/// The documented path with every `{param}` set to 1.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push('1');
            }
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// Sends `{}` (for writes) and a dummy Idempotency-Key, as a client that knows only the
/// document would.
async fn probe(
    app: &TestApp,
    (method, path): &Operation,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let body = (method != Method::GET).then(|| json!({}));
    app.call(method, &concrete(path), token, Some("openapi-walk"), body)
        .await
}

/// Every `.route("<path>", web::<method>()` in the HTTP crate's sources; `/metrics` is the
/// one operation mounted outside the `/v1` scope (the Mini App's `/app/` pages are none).
/// A `.route(` this cannot read, or a route registered another way, fails the test, so the
/// scan never silently misses one.
fn registered_in_source() -> BTreeSet<Operation> {
    let mut files = Vec::new();
    let mut dirs = vec![workspace_root().join("http/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("source dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        let squeezed: String = text.split_whitespace().collect();
        let calls = squeezed.matches(".route(\"").count();
        let mut found = 0;
        for chunk in squeezed.split(".route(\"").skip(1) {
            let Some((path, rest)) = chunk.split_once("\",web::") else {
                continue;
            };
            let Some((method, _)) = rest.split_once("()") else {
                continue;
            };
            found += 1;
            // The Mini App's page and files (`mini_app.rs`) are a web page beside the API,
            // not operations of it: read, and left out of the document.
            if path.starts_with("/app") {
                continue;
            }
            let prefix = if path == "/metrics" { "" } else { "/v1" };
            out.insert((method.to_uppercase(), format!("{prefix}{path}")));
        }
        assert_eq!(found, calls, "unreadable .route( in {}", file.display());
        // Routes registered any other way would escape the scan.
        for other in [
            "web::resource(",
            "#[get(",
            "#[post(",
            "#[put(",
            "#[patch(",
            "#[delete(",
        ] {
            assert!(
                !text.contains(other),
                "{} registers a route with {other}; use .route(..)",
                file.display()
            );
        }
    }
    out
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_and_lists_exactly_the_mounted_routes() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let ops = documented(&doc);
    let source = registered_in_source();
    let undocumented: Vec<_> = source.difference(&ops).collect();
    assert!(
        undocumented.is_empty(),
        "mounted but not documented: {undocumented:?}"
    );
    let admin = app.admin();
    for op in &ops {
        let (status, body) = probe(&app, op, Some(&admin)).await;
        assert!(status.as_u16() < 500, "{op:?} answered {status}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with("no route for"),
            "{op:?} is documented but not mounted: {body}"
        );
    }
    // The app's own view: each probe was counted under the route template it matched.
    let metrics = app.metrics().await;
    for (method, path) in &ops {
        let series = format!("method=\"{method}\",route=\"{path}\"");
        let counted = metrics
            .lines()
            .any(|l| l.starts_with("souk_http_requests_total{") && l.contains(&series));
        assert!(
            counted || path == "/metrics",
            "{method} {path} matched no route: {metrics}"
        );
    }
    // And nothing is documented that the sources do not register.
    assert_eq!(ops, source);
}

#[tokio::test]
async fn the_document_names_the_bearer_scheme_the_idempotency_key_and_the_error_envelope() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());
    let admin = app.admin();
    for op in documented(&doc) {
        let entry = &doc["paths"][&op.1][op.0.to_lowercase()];
        assert!(
            entry["responses"]["default"].is_object(),
            "{op:?} has no error response"
        );
        let secured = entry["security"].as_array().is_some_and(|s| !s.is_empty());
        let protected = op.1.starts_with("/v1/me/") || op.1.starts_with("/v1/admin/");
        assert_eq!(secured, protected, "{op:?}: security {}", entry["security"]);
        if op.0 == "GET" {
            continue;
        }
        // The app says which writes need a key: without one they answer 400 before anything else.
        let method = Method::from_bytes(op.0.as_bytes()).expect("method");
        let (status, body) = app
            .call(
                method,
                &concrete(&op.1),
                Some(&admin),
                None,
                Some(json!({})),
            )
            .await;
        let needs_key = status == StatusCode::BAD_REQUEST
            && body["error"]["code"] == "idempotency_key_required";
        let documents_key = entry["parameters"].as_array().is_some_and(|ps| {
            ps.iter().any(|p| {
                p["name"] == "Idempotency-Key" && p["in"] == "header" && p["required"] == true
            })
        });
        assert_eq!(needs_key, documents_key, "{op:?}: {body}");
    }
}

#[tokio::test]
async fn every_admin_route_refuses_anonymous_and_customer_callers_and_every_me_route_anonymous_ones(
) {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let customer = app.customer(2, 0).await;
    let (mut admin_ops, mut me_ops) = (0, 0);
    for op in documented(&doc) {
        if op.1.starts_with("/v1/admin/") {
            admin_ops += 1;
            let (status, body) = probe(&app, &op, None).await;
            assert_error(status, &body, 401, "unauthorized");
            let (status, body) = probe(&app, &op, Some(&customer)).await;
            assert_error(status, &body, 403, "forbidden");
        } else if op.1.starts_with("/v1/me/") {
            me_ops += 1;
            let (status, body) = probe(&app, &op, None).await;
            assert_error(status, &body, 401, "unauthorized");
        }
    }
    // The walk is only as good as the document: it covered every registered route of both kinds.
    let source = registered_in_source();
    let registered = |prefix: &str| source.iter().filter(|op| op.1.starts_with(prefix)).count();
    assert_eq!(admin_ops, registered("/v1/admin/"));
    assert_eq!(me_ops, registered("/v1/me/"));
}

#[tokio::test]
async fn every_link_names_a_documented_operation_and_only_its_path_parameters() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    // operationId -> the names of its path parameters.
    let mut by_id = std::collections::BTreeMap::new();
    for (method, path) in documented(&doc) {
        let entry = &doc["paths"][&path][method.to_lowercase()];
        let params: BTreeSet<String> = entry["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect();
        let id = entry["operationId"].as_str().expect("operationId");
        assert!(by_id.insert(id.to_string(), params).is_none(), "{id} twice");
    }
    let mut links = 0;
    for (method, path) in documented(&doc) {
        let responses = &doc["paths"][&path][method.to_lowercase()]["responses"];
        for (status, response) in responses.as_object().expect("responses") {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                links += 1;
                let what = format!("{method} {path} {status} {name}");
                let target = link["operationId"].as_str().expect("operationId");
                let params = by_id
                    .get(target)
                    .unwrap_or_else(|| panic!("{what}: no operation {target}"));
                let given: BTreeSet<String> = link["parameters"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone())
                    .collect();
                assert_eq!(&given, params, "{what}");
            }
        }
    }
    // Checkout's order feeds the order routes; a return feeds the staff steps; and so on.
    assert!(links >= 20, "only {links} links");
    let checkout = &doc["paths"]["/v1/me/checkout"]["post"]["responses"]["201"]["links"];
    assert!(
        checkout.as_object().is_some_and(|l| l.len() >= 5),
        "{checkout}"
    );
}
