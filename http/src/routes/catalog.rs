//! The public catalog: categories and products, read from committed state.

use super::ListBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_query, path_id};
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use souk_actors::domain::ids::{CategoryId, ProductId};
use souk_actors::domain::model::{Product, VariantOptions};
use souk_actors::domain::money::Money;
use souk_actors::store::{self, ProductFilter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/categories", web::get().to(categories))
        .route("/products", web::get().to(products))
        .route("/products/{product_id}", web::get().to(product));
}

#[utoipa::path(
    get,
    path = "/v1/categories",
    summary = "List categories",
    tag = "catalog",
    operation_id = "list_categories",
    params(crate::schema::PageParams),
    responses((status = 200, body = ListBody<souk_actors::domain::model::Category>))
)]
async fn categories(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let (_, page) = page_query(&req)?;
    let list = state
        .bounded(store::list_categories(&state.pool, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

#[utoipa::path(
    get,
    path = "/v1/products",
    summary = "List active products",
    tag = "catalog",
    operation_id = "list_products",
    params(
        crate::schema::PageParams,
        ("category_id" = Option<i64>, Query, minimum = 1),
        ("q" = Option<String>, Query, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{0,200}$",
            description = "Text the name contains, any case; at most 200 characters, no control characters")
    ),
    responses((status = 200, body = ListBody<Product>))
)]
async fn products(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let (q, page) = page_query(&req)?;
    let category = match q.get("category_id").map(String::as_str) {
        None | Some("") => None,
        Some(raw) => Some(
            raw.parse::<CategoryId>()
                .map_err(|()| ApiError::invalid_id("category_id"))?,
        ),
    };
    let query = match q.get("q") {
        Some(text) if text.chars().count() > 200 => {
            return Err(ApiError::invalid(
                "q",
                Msg::new("error-field-at-most-chars")
                    .arg("field", "q")
                    .arg("max", 200),
            ))
        }
        // Control characters are never a sensible search (NUL never gets this far).
        Some(text) if text.chars().any(char::is_control) => {
            return Err(ApiError::invalid(
                "q",
                Msg::new("error-field-control-chars").arg("field", "q"),
            ))
        }
        Some(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        _ => None,
    };
    let filter = ProductFilter {
        category,
        query,
        include_inactive: false,
    };
    let list = state
        .bounded(store::list_products(
            &state.pool,
            &filter,
            page,
            &state.currency,
        ))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

#[utoipa::path(
    get,
    path = "/v1/products/{product_id}",
    summary = "A product and the other SKUs of its group",
    tag = "catalog",
    operation_id = "get_product",
    params(("product_id" = i64, Path, minimum = 1)),
    responses((status = 200, body = ProductPage))
)]
async fn product(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let id: ProductId = path_id(&req, "product_id")?;
    let product = page(&state, id).await?;
    let siblings = match product.group_id {
        Some(group) => siblings(&state, group, id).await?,
        None => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(ProductPage {
        product: &product,
        siblings,
    }))
}

/// A product page: the product and the other SKUs of its group (sizes, colours), so a
/// storefront can offer "also in M / black" without a second request.
#[derive(Serialize, utoipa::ToSchema)]
struct ProductPage<'a> {
    #[serde(flatten)]
    product: &'a Product,
    siblings: Vec<Sibling>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Sibling {
    id: ProductId,
    name: String,
    #[schema(value_type = BTreeMap<String, String>)]
    options: VariantOptions,
    price_minor: Money,
    stock_available: i64,
}

async fn siblings(state: &AppState, group: i64, id: ProductId) -> ApiResult<Vec<Sibling>> {
    let ids = state
        .bounded(store::sibling_ids(&state.pool, group, id))
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for sibling in ids {
        let p = page(state, sibling).await?;
        out.push(Sibling {
            id: p.id,
            name: p.name.clone(),
            options: p.options.clone(),
            price_minor: p.price_minor,
            stock_available: p.stock_available,
        });
    }
    Ok(out)
}

/// A product as committed, as the shop serves its pages.
async fn page(state: &AppState, id: ProductId) -> ApiResult<std::sync::Arc<Product>> {
    state.bounded(state.shop.product(id)).await
}
