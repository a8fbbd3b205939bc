//! Schemas for fields whose rule a derive cannot spell. Each mirrors one check exactly, so a
//! value is schema-valid if and only if the handler accepts it (schemathesis checks both
//! ways). Text is checked after trimming Unicode white space (`str::trim`), and control
//! characters are refused only inside what remains; a pattern can say that where
//! `minLength`/`maxLength` (which count the untrimmed text) cannot.

use utoipa::openapi::schema::{
    AdditionalProperties, AnyOf, ArrayBuilder, Object, ObjectBuilder, OneOf, Schema, SchemaType,
    Type,
};

/// White space as `char::is_whitespace` reads it.
const SPACE: &str = r"[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Neither white space nor a control character: what trimmed text starts and ends with.
const EDGE: &str =
    r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Anything but a control character (`routes::text`).
const LINE: &str = r"[^\u0000-\u001f\u007f-\u009f]";
/// Anything but a control character other than tab and line breaks (`multiline_text`).
const LINES: &str = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]";

/// Text whose trimmed form is `min`(0 or 1)..=`max` characters of `inner`.
fn trimmed(inner: &str, min: usize, max: usize) -> String {
    let text = format!("{EDGE}(?:{inner}{{0,{}}}{EDGE})?", max.saturating_sub(2));
    let text = if min == 0 {
        format!("(?:{text})?")
    } else {
        text
    };
    format!("^{SPACE}*{text}{SPACE}*$")
}

fn string(pattern: String, nullable: bool, description: String) -> Object {
    let ty = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(ty)
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

fn line(min: usize, max: usize, nullable: bool) -> Object {
    let what = format!("{min}..={max} characters once trimmed, on one line, no control characters");
    string(trimmed(LINE, min, max), nullable, what)
}

fn lines(min: usize, max: usize, nullable: bool) -> Object {
    let what = format!("{min}..={max} characters once trimmed; line breaks and tabs allowed, no other control characters");
    string(trimmed(LINES, min, max), nullable, what)
}

pub fn line_1_20() -> Object {
    line(1, 20, false)
}
pub fn line_1_100() -> Object {
    line(1, 100, false)
}
pub fn line_1_200() -> Object {
    line(1, 200, false)
}
pub fn line_1_200_or_null() -> Object {
    line(1, 200, true)
}
pub fn line_1_500() -> Object {
    line(1, 500, false)
}
pub fn line_1_500_or_null() -> Object {
    line(1, 500, true)
}
pub fn lines_0_5000_or_null() -> Object {
    lines(0, 5000, true)
}
pub fn lines_1_1000() -> Object {
    lines(1, 1000, false)
}
pub fn lines_1_1000_or_null() -> Object {
    lines(1, 1000, true)
}

/// `PromoCode::parse`: trimmed, any case, 3..=32 letters, digits, `_` or `-`.
pub fn promo_code() -> Object {
    let pattern = format!("^{SPACE}*[A-Za-z0-9_-]{{3,32}}{SPACE}*$");
    string(
        pattern,
        false,
        "3..=32 letters, digits, `_` or `-`; any case".into(),
    )
}
pub fn promo_code_or_null() -> Object {
    let mut code = promo_code();
    code.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    code
}

/// `ShippingAddress::parse`: an ISO 3166-1 alpha-2 shape, any case.
pub fn country() -> Object {
    let pattern = format!("^{SPACE}*[A-Za-z]{{2}}{SPACE}*$");
    string(
        pattern,
        false,
        "ISO 3166-1 alpha-2, e.g. DE; any case".into(),
    )
}

/// `admin_catalog::image_url`: an http(s) URL of at most 2000 characters, no white space.
pub fn image_url_or_null() -> Object {
    let pattern = format!("^{SPACE}*(?:http://{EDGE}{{0,1993}}|https://{EDGE}{{0,1992}}){SPACE}*$");
    string(
        pattern,
        true,
        "an http(s) URL, at most 2000 characters; `null` clears it".into(),
    )
}

/// `admin_catalog::options`: at most 10 pairs; keys 1..=40, values 1..=100 characters.
pub fn options_or_null() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(10))
        .property_names(Some(Schema::Object(line(1, 40, false))))
        .additional_properties(Some(Schema::Object(line(1, 100, false))))
        .description(Some("Variant options such as {\"size\": \"M\"}"))
        .build()
}

/// `StockDelta::new`: a non-zero change within a million either way.
pub fn stock_delta() -> AnyOf {
    let range = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .minimum(Some(min))
            .maximum(Some(max))
    };
    AnyOf::builder()
        .item(range(-1_000_000, -1))
        .item(range(1, 1_000_000))
        .build()
}

/// `POST /v1/admin/products/{id}/stock`: exactly one of `quantity_delta` (physical) and
/// `codes` (digital), `null` counting as absent. Each code is checked on its own and a bad
/// one is named in the answer's `rejected`, so any string is a code here.
pub fn stock_change() -> Schema {
    let null = || ObjectBuilder::new().schema_type(SchemaType::new(Type::Null));
    let codes = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(SchemaType::new(Type::String)))
        .min_items(Some(1))
        .max_items(Some(1000));
    let one = |name: &str, schema: Schema, other: &str| {
        ObjectBuilder::new()
            .property(name, schema)
            .property(other, null())
            .required(name)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .build()
    };
    Schema::OneOf(
        OneOf::builder()
            .item(one("quantity_delta", Schema::AnyOf(stock_delta()), "codes"))
            .item(one("codes", Schema::Array(codes.build()), "quantity_delta"))
            .description(Some(
                "Exactly one of quantity_delta (physical: a non-zero change within a million \
                 either way) or codes (digital: 1..=1000 codes)",
            ))
            .build(),
    )
}

/// `webhooks::target::check`: an http(s) URL of the shape `URL_PATTERN` states, at most
/// 2048 bytes. In production, plain http and private addresses are refused on top (unless
/// the shop allows them), which a pattern cannot say.
pub fn webhook_url() -> Object {
    webhook_url_of(false)
}
pub fn webhook_url_or_null() -> Object {
    webhook_url_of(true)
}

fn webhook_url_of(nullable: bool) -> Object {
    let mut url = string(
        crate::webhooks::target::URL_PATTERN.to_string(),
        nullable,
        "Where deliveries are POSTed: http(s), a host name or IPv4 address, optional port, \
         path and query. In production only https to a public address, unless \
         SOUK__WEBHOOKS__ALLOW_PRIVATE is set"
            .into(),
    );
    url.max_length = Some(crate::webhooks::target::URL_MAX);
    url
}

/// `routes::webhooks::events`: at least one event type, each one Souk tells.
pub fn webhook_events() -> utoipa::openapi::schema::Array {
    webhook_events_of(false)
}
pub fn webhook_events_or_null() -> utoipa::openapi::schema::Array {
    webhook_events_of(true)
}

fn webhook_events_of(nullable: bool) -> utoipa::openapi::schema::Array {
    let kinds: Vec<&str> = souk_actors::domain::events::EventType::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    let ty = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(ty)
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .enum_values(Some(kinds)),
        )
        .min_items(Some(1))
        .description(Some(
            "Event types to receive, e.g. [\"order.created\", \"order.paid\"]",
        ))
        .build()
}

pub fn line_0_500_or_null() -> Object {
    line(0, 500, true)
}
