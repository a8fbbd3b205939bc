//! Admin catalog: categories, products and stock. Staff and admins may change the catalog;
//! every change is audited in the transaction that makes it.

use super::{multiline_text, request_id, text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{path_id, IdempotencyKey, Json, Staff};
use crate::i18n::Msg;
use crate::idempotency::{once, Answer};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use souk_actors::domain::changes::ProductPatch;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::ids::{CategoryId, ProductId};
use souk_actors::domain::model::{ProductKind, VariantOptions};
use souk_actors::domain::money::Money;
use souk_actors::domain::stars::Stars;
use souk_actors::domain::stock::{CodeBatch, StockDelta};
use souk_actors::entity::product::{AddCodes, AdjustStock, UpdateProduct};
use souk_actors::store::{self, NewProduct};

pub const PRICE_MAX_MINOR: i64 = 100_000_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/categories", web::post().to(create_category))
        .route("/admin/products", web::post().to(create_product))
        .route(
            "/admin/products/{product_id}",
            web::patch().to(update_product),
        )
        .route(
            "/admin/products/{product_id}/stock",
            web::post().to(add_stock),
        );
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewCategoryBody {
    #[schema(schema_with = crate::schema::field::line_1_200)]
    name: String,
    #[schema(minimum = 1)]
    parent_id: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/v1/admin/categories",
    summary = "Create a category (staff)",
    tag = "admin catalog",
    request_body = NewCategoryBody,
    responses((status = 201, body = souk_actors::domain::model::Category)),
    security(("bearer" = []))
)]
async fn create_category(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    body: Json<NewCategoryBody>,
) -> ApiResult<HttpResponse> {
    let name = text("name", &body.value.name, 1, 200)?;
    let parent = body
        .value
        .parent_id
        .map(|p| {
            CategoryId::new(p)
                .ok_or_else(|| ApiError::invalid("parent_id", super::positive_id("parent_id")))
        })
        .transpose()?;
    let entry = super::audit(&req, &caller, "category.create", "category:new".into());
    let category = state
        .bounded(store::create_category(&state.pool, &name, parent, entry))
        .await?;
    Ok(HttpResponse::Created().json(category))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewProductBody {
    #[schema(minimum = 1)]
    category_id: i64,
    #[schema(schema_with = crate::schema::field::line_1_200)]
    name: String,
    #[schema(schema_with = crate::schema::field::lines_0_5000_or_null)]
    description: Option<String>,
    #[schema(value_type = souk_actors::domain::model::ProductKind)]
    kind: String,
    #[schema(minimum = 1, maximum = 100_000_000)]
    price_minor: i64,
    /// Its price in Telegram Stars (whole, 1..=100000), for payment in Stars.
    #[schema(minimum = 1, maximum = 100_000)]
    price_stars: Option<i64>,
    #[schema(schema_with = crate::schema::field::image_url_or_null)]
    image_url: Option<String>,
    #[schema(minimum = 1)]
    group_id: Option<i64>,
    #[schema(schema_with = crate::schema::field::options_or_null)]
    options: Option<VariantOptions>,
}

/// Variant options: at most 10 pairs, short one-line keys and values.
fn options(raw: VariantOptions) -> Result<VariantOptions, ApiError> {
    if raw.len() > 10 {
        return Err(ApiError::invalid(
            "options",
            Msg::new("error-options-count").arg("max", 10),
        ));
    }
    raw.into_iter()
        .map(|(k, v)| Ok((text("options", &k, 1, 40)?, text("options", &v, 1, 100)?)))
        .collect()
}

fn group_id(raw: i64) -> Result<i64, ApiError> {
    if raw >= 1 {
        Ok(raw)
    } else {
        Err(ApiError::invalid(
            "group_id",
            super::positive_id("group_id"),
        ))
    }
}

fn price(raw: i64) -> Result<Money, ApiError> {
    if (1..=PRICE_MAX_MINOR).contains(&raw) {
        Ok(Money::from_minor(raw))
    } else {
        Err(ApiError::invalid(
            "price_minor",
            Msg::new("error-field-range")
                .arg("field", "price_minor")
                .arg("min", 1)
                .arg("max", PRICE_MAX_MINOR),
        ))
    }
}

fn stars(raw: i64) -> Result<Stars, ApiError> {
    Stars::new(raw).ok_or_else(|| {
        ApiError::invalid(
            "price_stars",
            Msg::new("error-price-stars-range").arg("max", Stars::MAX),
        )
    })
}

fn image_url(raw: &str) -> Result<String, ApiError> {
    let url = text("image_url", raw, 1, 2000)?;
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        return Err(ApiError::invalid("image_url", Msg::new("error-image-url")));
    }
    Ok(url)
}

#[utoipa::path(
    post,
    path = "/v1/admin/products",
    summary = "Create a product (staff)",
    tag = "admin catalog",
    request_body = NewProductBody,
    responses((status = 201, body = souk_actors::domain::model::Product)),
    security(("bearer" = []))
)]
async fn create_product(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    body: Json<NewProductBody>,
) -> ApiResult<HttpResponse> {
    let b = body.value;
    let new = NewProduct {
        category: CategoryId::new(b.category_id)
            .ok_or_else(|| ApiError::invalid("category_id", super::positive_id("category_id")))?,
        name: text("name", &b.name, 1, 200)?,
        description: match &b.description {
            Some(d) => multiline_text("description", d, 0, 5000)?,
            None => String::new(),
        },
        kind: ProductKind::parse(&b.kind).ok_or_else(|| {
            ApiError::invalid(
                "kind",
                Msg::new("error-field-one-of")
                    .arg("field", "kind")
                    .arg("allowed", "digital, physical"),
            )
        })?,
        price: price(b.price_minor)?,
        price_stars: b.price_stars.map(stars).transpose()?,
        image_url: b.image_url.as_deref().map(image_url).transpose()?,
        group_id: b.group_id.map(group_id).transpose()?,
        options: b.options.map(options).transpose()?.unwrap_or_default(),
    };
    let entry = super::audit(&req, &caller, "product.create", "product:new".into());
    let product = state
        .bounded(store::create_product(
            &state.pool,
            &new,
            &state.currency,
            entry,
        ))
        .await?;
    Ok(HttpResponse::Created().json(product))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchProductBody {
    #[schema(schema_with = crate::schema::field::line_1_200_or_null)]
    name: Option<String>,
    #[schema(schema_with = crate::schema::field::lines_0_5000_or_null)]
    description: Option<String>,
    #[schema(minimum = 1, maximum = 100_000_000)]
    price_minor: Option<i64>,
    /// `null` takes the Stars price away; absent leaves it.
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(minimum = 1, maximum = 100_000)]
    price_stars: Option<Option<i64>>,
    active: Option<bool>,
    /// `null` clears the image; absent leaves it.
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(schema_with = crate::schema::field::image_url_or_null)]
    image_url: Option<Option<String>>,
    /// `null` takes the product out of its group; absent leaves it.
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(minimum = 1)]
    group_id: Option<Option<i64>>,
    #[schema(schema_with = crate::schema::field::options_or_null)]
    options: Option<VariantOptions>,
}

#[utoipa::path(
    patch,
    path = "/v1/admin/products/{product_id}",
    summary = "Change a product; absent fields stay, null clears (staff)",
    tag = "admin catalog",
    params(("product_id" = i64, Path, minimum = 1)),
    request_body = PatchProductBody,
    responses((status = 200, body = souk_actors::domain::model::Product)),
    security(("bearer" = []))
)]
async fn update_product(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    body: Json<PatchProductBody>,
) -> ApiResult<HttpResponse> {
    let id: ProductId = path_id(&req, "product_id")?;
    let b = body.value;
    let patch = ProductPatch {
        name: b
            .name
            .as_deref()
            .map(|n| text("name", n, 1, 200))
            .transpose()?,
        description: b
            .description
            .as_deref()
            .map(|d| multiline_text("description", d, 0, 5000))
            .transpose()?,
        price: b.price_minor.map(price).transpose()?,
        price_stars: match b.price_stars {
            Some(Some(s)) => Some(Some(stars(s)?)),
            Some(None) => Some(None),
            None => None,
        },
        active: b.active,
        image_url: match b.image_url {
            Some(Some(url)) => Some(Some(image_url(&url)?)),
            other => other,
        },
        group_id: match b.group_id {
            Some(Some(g)) => Some(Some(group_id(g)?)),
            other => other,
        },
        options: b.options.map(options).transpose()?,
    };
    let before = state
        .bounded(store::get_product(&state.pool, id, &state.currency))
        .await?;
    let mut entry = super::audit(&req, &caller, "product.update", format!("product:{id}"));
    entry.before = serde_json::to_value(&before).ok();
    entry.after = serde_json::to_value(serde_json::json!({
        "name": patch.name, "description": patch.description, "price_minor": patch.price,
        "price_stars": patch.price_stars,
        "active": patch.active, "image_url": patch.image_url,
        "group_id": patch.group_id, "options": patch.options,
    }))
    .ok();
    let meta = WriteMeta {
        idempotency: None,
        audit: Some(entry),
    };
    state
        .registry
        .product_here(id, UpdateProduct { patch, meta })
        .await?;
    let product = state
        .bounded(store::get_product(&state.pool, id, &state.currency))
        .await?;
    Ok(HttpResponse::Ok().json(product))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockBody {
    quantity_delta: Option<i64>,
    codes: Option<Vec<String>>,
}

/// "Exactly one of" is no derive's shape; the schema is spelled out in `openapi::field`.
impl utoipa::PartialSchema for StockBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::RefOr::T(crate::schema::field::stock_change())
    }
}

impl utoipa::ToSchema for StockBody {}

#[utoipa::path(
    post,
    path = "/v1/admin/products/{product_id}/stock",
    summary = "Add or remove physical stock, or add digital codes (staff)",
    tag = "admin catalog",
    params(("product_id" = i64, Path, minimum = 1), crate::schema::IdempotencyKeyHeader),
    request_body = StockBody,
    responses((status = 200, body = souk_actors::domain::model::StockReport)),
    security(("bearer" = []))
)]
async fn add_stock(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<StockBody>,
) -> ApiResult<HttpResponse> {
    let id: ProductId = path_id(&req, "product_id")?;
    // The bounds are the domain's, the same for every front-end (the bot's buttons too).
    enum Change {
        Delta(StockDelta),
        Codes(CodeBatch),
    }
    let change = match (body.value.quantity_delta, body.value.codes) {
        (Some(delta), None) => Change::Delta(StockDelta::new(delta)?),
        (None, Some(codes)) => Change::Codes(CodeBatch::sort(codes)?),
        _ => return Err(ApiError::invalid("body", Msg::new("error-stock-body"))),
    };
    let rid = request_id(&req);
    let entry = super::audit(&req, &caller, "stock.change", format!("product:{id}"));
    let registry = state.registry.clone();
    let (response, _) = once(
        &state,
        caller,
        key,
        body.hash,
        &rid,
        crate::i18n::Lang::of_request(req.headers()),
        |draft| async move {
            let meta = WriteMeta {
                idempotency: Some(draft),
                audit: Some(entry),
            };
            let report = match change {
                Change::Delta(delta) => {
                    registry
                        .product_here(id, AdjustStock { delta, meta })
                        .await?
                }
                Change::Codes(codes) => registry.product_here(id, AddCodes { codes, meta }).await?,
            };
            Answer::new(StatusCode::OK, report)
        },
    )
    .await?;
    Ok(response)
}
