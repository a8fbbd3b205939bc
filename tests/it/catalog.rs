//! The public catalog (categories and products, filters and paging) and category creation.

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn new_category(app: &TestApp, body: Value) -> Reply {
    app.req(Method::POST, "/v1/admin/categories")
        .token(&app.admin())
        .json(body)
        .send()
        .await
}

async fn new_product(app: &TestApp, category: i64, name: &str) -> i64 {
    let body =
        json!({ "category_id": category, "name": name, "kind": "physical", "price_minor": 500 });
    let r = app
        .req(Method::POST, "/v1/admin/products")
        .token(&app.admin())
        .json(body)
        .send()
        .await;
    r.ok(201)["id"].as_i64().unwrap()
}

/// Follows `next_cursor` from the first page to the last; returns every id seen.
async fn walk(app: &TestApp, path: &str, limit: usize) -> Vec<i64> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = app.req(Method::GET, url).send().await;
        let items = ids(page.ok(200));
        assert!(items.len() <= limit, "{}", page.text);
        seen.extend(items);
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(page.body["next_cursor"].is_null(), "{}", page.text);
                return seen;
            }
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn categories_are_created_with_parents_and_listed() {
    let app = TestApp::spawn().await;
    let games = new_category(&app, json!({ "name": "  Games  " })).await;
    let games = games.ok(201).clone();
    assert_eq!(games["name"], "Games", "names are trimmed");
    assert!(games["parent_id"].is_null());
    let rpg = new_category(&app, json!({ "name": "RPG", "parent_id": games["id"] })).await;
    assert_eq!(rpg.ok(201)["parent_id"], games["id"]);

    let list = app.req(Method::GET, "/v1/categories").send().await;
    let list = list.ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0], games);
    assert_eq!(list["items"][1], rpg.body);
    assert!(list["next_cursor"].is_null());
}

#[tokio::test]
async fn categories_are_paged_with_next_cursor() {
    let app = TestApp::spawn().await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(app.category(&format!("C{i}")).await);
    }
    assert_eq!(walk(&app, "/v1/categories", 2).await, made);
    assert_eq!(walk(&app, "/v1/categories", 100).await, made);
}

#[tokio::test]
async fn a_category_needs_a_printable_name_of_1_to_200_chars_and_an_existing_parent() {
    let app = TestApp::spawn().await;
    let parent = app.category("Parent").await;
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "   " }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "name": "bell\u{7}" }), "name"),
        (json!({ "name": "nul\u{0}" }), "name"),
        (json!({ "name": 5 }), "name"),
        (json!({ "name": null }), "name"),
        (json!({}), "name"),
        (json!({ "name": "A", "parent_id": 0 }), "parent_id"),
        (json!({ "name": "A", "parent_id": -1 }), "parent_id"),
        (json!({ "name": "A", "parent_id": 999_999 }), "parent_id"),
        (json!({ "name": "A", "parent_id": "1" }), "parent_id"),
        (json!({ "name": "A", "parent_id": 1e20 }), "parent_id"),
        (json!({ "name": "A", "slug": "a" }), "slug"),
    ] {
        new_category(&app, body).await.invalid(field);
    }
    new_category(
        &app,
        json!({ "name": "x".repeat(200), "parent_id": parent }),
    )
    .await
    .ok(201);
    assert_eq!(app.scalar("SELECT count(*) FROM categories").await, 2);
}

#[tokio::test]
async fn products_are_read_back_with_every_documented_field() {
    let app = TestApp::spawn().await;
    let cat = app.category("Keys").await;
    let body = json!({
        "category_id": cat, "name": "Game key", "description": "Works worldwide",
        "kind": "digital", "price_minor": 1999, "image_url": "https://img.example/k.png"
    });
    let created = app
        .req(Method::POST, "/v1/admin/products")
        .token(&app.admin())
        .json(body)
        .send()
        .await;
    let created = created.ok(201).clone();
    let id = created["id"].as_i64().unwrap();
    let read = app
        .req(Method::GET, format!("/v1/products/{id}"))
        .send()
        .await;
    let mut page = read.ok(200).clone();
    // The page adds the product's variant siblings to the product itself.
    assert_eq!(page["siblings"], serde_json::json!([]));
    page.as_object_mut().unwrap().remove("siblings");
    let p = &page;
    assert_eq!(p, &created);
    let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "active",
            "category_id",
            "created_at",
            "currency",
            "description",
            "group_id",
            "id",
            "image_url",
            "kind",
            "name",
            "options",
            "price_minor",
            "price_stars",
            "stock_available",
            "updated_at"
        ]
    );
    assert_eq!(p["category_id"], cat);
    assert_eq!(p["name"], "Game key");
    assert_eq!(p["description"], "Works worldwide");
    assert_eq!(p["kind"], "digital");
    assert_eq!(p["price_minor"], 1999);
    assert_eq!(p["currency"], "USD");
    assert_eq!(p["stock_available"], 0);
    assert_eq!(p["active"], true);
    assert_eq!(p["image_url"], "https://img.example/k.png");
    for ts in ["created_at", "updated_at"] {
        let t = p[ts].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok(), "{ts}: {t}");
        assert!(t.ends_with('Z'), "{ts} is not UTC: {t}");
    }
}

#[tokio::test]
async fn products_are_read_by_id_and_bad_or_unknown_ids_are_400_or_404() {
    let app = TestApp::spawn().await;
    let id = app.physical(700, 4).await;
    let r = app
        .req(Method::GET, format!("/v1/products/{id}"))
        .send()
        .await;
    assert_eq!(r.ok(200)["stock_available"], 4);
    for bad in BAD_IDS {
        let r = app
            .req(Method::GET, format!("/v1/products/{bad}"))
            .send()
            .await;
        assert_eq!(r.err(400, "invalid_id")["field"], "product_id");
    }
    let r = app.req(Method::GET, "/v1/products/999999").send().await;
    r.err(404, "not_found");
}

#[tokio::test]
async fn the_product_list_filters_by_category_and_name_and_pages_with_next_cursor() {
    let app = TestApp::spawn().await;
    let (shirts, mugs) = (app.category("Shirts").await, app.category("Mugs").await);
    let red = new_product(&app, shirts, "Red shirt").await;
    let blue = new_product(&app, shirts, "Blue SHIRT").await;
    let mug = new_product(&app, mugs, "Coffee mug").await;
    let cotton = new_product(&app, shirts, "100% cotton tee").await;
    let under = new_product(&app, mugs, "snake_case mug").await;
    let all = vec![red, blue, mug, cotton, under];

    let list = app.req(Method::GET, "/v1/products").send().await;
    assert_eq!(ids(list.ok(200)), all);
    assert!(list.body["next_cursor"].is_null());
    assert_eq!(walk(&app, "/v1/products", 2).await, all);
    assert_eq!(walk(&app, "/v1/products", 1).await, all);

    let by = |query: String| {
        let app = &app;
        async move {
            ids(app
                .req(Method::GET, format!("/v1/products?{query}"))
                .send()
                .await
                .ok(200))
        }
    };
    assert_eq!(
        by(format!("category_id={shirts}")).await,
        [red, blue, cotton]
    );
    assert_eq!(by(format!("category_id={mugs}")).await, [mug, under]);
    assert_eq!(by("category_id=999999".into()).await, Vec::<i64>::new());
    assert_eq!(by("category_id=".into()).await, all);
    assert_eq!(by("q=shirt".into()).await, [red, blue], "case-insensitive");
    assert_eq!(by("q=%20%20mug%20".into()).await, [mug, under], "trimmed");
    assert_eq!(by("q=%25".into()).await, [cotton], "% matches literally");
    assert_eq!(by("q=_".into()).await, [under], "_ matches literally");
    assert_eq!(by("q=nothing-like-this".into()).await, Vec::<i64>::new());
    assert_eq!(by(format!("category_id={shirts}&q=RED")).await, [red]);
    assert_eq!(
        walk(&app, &format!("/v1/products?category_id={shirts}"), 2).await,
        [red, blue, cotton]
    );
}

#[tokio::test]
async fn bad_list_parameters_are_refused_naming_the_parameter() {
    let app = TestApp::spawn().await;
    app.physical(100, 0).await;
    for path in ["/v1/products", "/v1/categories"] {
        for limit in ["0", "101", "-1", "abc", "", "1.5", "99999999999999999999"] {
            let r = app
                .req(Method::GET, format!("{path}?limit={limit}"))
                .send()
                .await;
            r.invalid("limit");
        }
        for cursor in ["abc", "0", "-5", "1.5", "99999999999999999999"] {
            let r = app
                .req(Method::GET, format!("{path}?cursor={cursor}"))
                .send()
                .await;
            r.invalid("cursor");
        }
        for ok in [
            "limit=1",
            "limit=100",
            "cursor=",
            "cursor=9223372036854775807",
        ] {
            app.req(Method::GET, format!("{path}?{ok}"))
                .send()
                .await
                .ok(200);
        }
    }
    for bad in ["abc", "0", "-1", "99999999999999999999", "1.5"] {
        let r = app
            .req(Method::GET, format!("/v1/products?category_id={bad}"))
            .send()
            .await;
        assert_eq!(r.err(400, "invalid_id")["field"], "category_id");
    }
    let long = "q".repeat(201);
    let r = app
        .req(Method::GET, format!("/v1/products?q={long}"))
        .send()
        .await;
    r.invalid("q");
    for q in ["%00", "a%00b", "%07", "%0A"] {
        let r = app
            .req(Method::GET, format!("/v1/products?q={q}"))
            .send()
            .await;
        r.invalid("q");
    }
    let ok = "q".repeat(200);
    app.req(Method::GET, format!("/v1/products?q={ok}"))
        .send()
        .await
        .ok(200);
}

#[tokio::test]
async fn a_cached_product_page_shows_every_committed_change_at_once() {
    let app = TestApp::spawn().await;
    let p = app.physical(700, 5).await;
    let page = format!("/v1/products/{p}");
    let stock = |v: &Value| v["stock_available"].as_i64();
    let (_, first) = app.get(&page, None).await;
    assert_eq!(stock(&first), Some(5));
    let (_, cached) = app.get(&page, None).await;
    assert_eq!(cached, first, "a second read serves the same page");

    let c = app.customer(2, 10_000).await;
    app.put_cart(&c, p, 2).await;
    assert_eq!(app.checkout(&c, "buy-2").await.0.as_u16(), 201);
    assert_eq!(
        stock(&app.get(&page, None).await.1),
        Some(3),
        "sale not shown"
    );

    app.add_stock(p, json!({ "quantity_delta": 10 })).await;
    assert_eq!(
        stock(&app.get(&page, None).await.1),
        Some(13),
        "restock not shown"
    );

    let admin = app.admin();
    let patch = json!({ "price_minor": 650, "name": "Shirt v2" });
    let path = format!("/v1/admin/products/{p}");
    let (s, _) = app
        .call(Method::PATCH, &path, Some(&admin), None, Some(patch))
        .await;
    assert_eq!(s.as_u16(), 200);
    let (_, after) = app.get(&page, None).await;
    assert_eq!(
        (after["price_minor"].as_i64(), after["name"].as_str()),
        (Some(650), Some("Shirt v2"))
    );
}

/// A sale refreshes a cached page in place rather than dropping it (so busy pages stay in
/// memory); the refreshed page must be exactly what a fresh process reads from Postgres,
/// `updated_at` included, for goods and for keys, sold or held for an unpaid order.
#[tokio::test]
async fn a_sale_refreshes_a_cached_page_to_exactly_what_postgres_holds() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(700, 5).await;
    let key = app.digital(300, &codes("page", 4)).await;
    let pages = [
        format!("/v1/products/{shirt}"),
        format!("/v1/products/{key}"),
    ];
    for page in &pages {
        assert_eq!(app.get(page, None).await.0.as_u16(), 200);
    }

    let paying = app.customer(2, 100_000).await;
    app.put_cart(&paying, shirt, 2).await;
    app.put_cart(&paying, key, 1).await;
    assert_eq!(app.checkout(&paying, "wallet").await.0.as_u16(), 201);
    let waiting = app.customer(3, 0).await;
    app.put_cart(&waiting, key, 1).await;
    let (s, order) = app
        .call(
            Method::POST,
            "/v1/me/checkout",
            Some(&waiting),
            Some("external"),
            Some(json!({ "payment": "external" })),
        )
        .await;
    assert_eq!(
        (s.as_u16(), order["status"].as_str()),
        (201, Some("pending_payment"))
    );

    let mut served = Vec::new();
    for page in &pages {
        served.push(app.get(page, None).await.1);
    }
    let stock: Vec<_> = served
        .iter()
        .map(|p| p["stock_available"].as_i64())
        .collect();
    assert_eq!(
        stock,
        [Some(3), Some(2)],
        "sold and held units are off sale"
    );

    let fresh = TestApp::spawn_on(app.db_url.clone(), app.db_name.clone(), |_| {}).await;
    for (page, cached) in pages.iter().zip(&served) {
        assert_eq!(
            &fresh.get(page, None).await.1,
            cached,
            "{page}: the page refreshed in memory differs from Postgres"
        );
    }
}
