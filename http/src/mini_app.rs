//! The Telegram Mini App storefront at `/app/`: one page, one script and one style sheet,
//! built into the binary, so serving or testing Souk needs no Node and no files beside it.
//! The page speaks only the public `/v1` API, as any client does; this module only serves
//! it. Each asset is gzipped once, carries a strong ETag (its SHA-256), and the page names
//! the script and style sheet by that hash, so they are cached for a year and a new build
//! is fetched at once. These are pages, not API operations: the OpenAPI document leaves
//! them out.

use crate::error::ApiError;
use crate::i18n::Msg;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::LazyLock;

/// Where the page lives; `set-menu-button --url https://HOST/app/` points Telegram here.
pub const PATH: &str = "/app/";

/// Only Telegram's own script is loaded from elsewhere (and only inside Telegram); product
/// images may come from any https host. The API is same-origin. Telegram Web shows a Mini
/// App in a frame; no other site may.
const CSP: &str = "default-src 'none'; script-src 'self' https://telegram.org; \
    style-src 'self'; img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'self' https://web.telegram.org";

/// The page revalidates every time (a 304 costs a round trip, not the page); the hashed
/// script and style sheet never change under their URL.
const REVALIDATE: &str = "no-cache";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/app", web::get().to(to_page))
        .route("/app/", web::get().to(page))
        .route("/app/{asset}", web::get().to(asset));
}

/// One asset as served: both encodings, prepared once.
struct Asset {
    content_type: &'static str,
    plain: Vec<u8>,
    gzip: Vec<u8>,
    /// The first 16 hex digits of the SHA-256 of `plain`: the ETag and the `?v=` version.
    version: String,
}

impl Asset {
    fn new(content_type: &'static str, plain: Vec<u8>) -> Asset {
        let version = hex::encode(Sha256::digest(&plain))[..16].to_string();
        Asset {
            content_type,
            gzip: gzip(&plain).unwrap_or_default(),
            plain,
            version,
        }
    }
}

/// Compressed once at first use; a failure only means the asset is served uncompressed.
fn gzip(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(plain)?;
    encoder.finish()
}

static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    let js = include_str!("../app/app.js");
    Asset::new("text/javascript; charset=utf-8", js.as_bytes().to_vec())
});

static STYLE: LazyLock<Asset> = LazyLock::new(|| {
    let css = include_str!("../app/app.css");
    Asset::new("text/css; charset=utf-8", css.as_bytes().to_vec())
});

/// The page, with the script and style sheet named by their versions.
static PAGE: LazyLock<Asset> = LazyLock::new(|| {
    let html = include_str!("../app/index.html")
        .replace("{{app.js}}", &format!("app.js?v={}", SCRIPT.version))
        .replace("{{app.css}}", &format!("app.css?v={}", STYLE.version));
    Asset::new("text/html; charset=utf-8", html.into_bytes())
});

/// `/app` → `/app/`, so the page's relative asset URLs resolve under `/app/`.
async fn to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, PATH))
        .finish()
}

async fn page(req: HttpRequest) -> HttpResponse {
    serve(&req, &PAGE, REVALIDATE)
}

async fn asset(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let asset: &'static Asset = match req.match_info().get("asset") {
        Some("app.js") => &SCRIPT,
        Some("app.css") => &STYLE,
        _ => {
            return Err(ApiError::not_found(
                Msg::new("error-mini-app-no-file").arg("path", req.path()),
            ))
        }
    };
    // Immutable only under the URL of this very content; an old or missing `v` revalidates.
    let versioned = req
        .query_string()
        .split('&')
        .any(|pair| pair.strip_prefix("v=") == Some(asset.version.as_str()));
    Ok(serve(
        &req,
        asset,
        if versioned { IMMUTABLE } else { REVALIDATE },
    ))
}

/// Answers with `asset` (static, so its bytes are sent without a copy) or a 304.
fn serve(req: &HttpRequest, asset: &'static Asset, cache: &'static str) -> HttpResponse {
    let gzipped = accepts_gzip(req.headers()) && !asset.gzip.is_empty();
    // Each encoding is its own representation, so each has its own strong validator.
    let etag = if gzipped {
        format!("\"{}-gz\"", asset.version)
    } else {
        format!("\"{}\"", asset.version)
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = HttpResponse::build(if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    res.insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        res.insert_header((header::ETAG, etag));
    }
    if fresh {
        return res.finish();
    }
    res.insert_header((header::CONTENT_TYPE, asset.content_type));
    if gzipped {
        res.insert_header((header::CONTENT_ENCODING, "gzip"));
        res.body(asset.gzip.as_slice())
    } else {
        res.body(asset.plain.as_slice())
    }
}

/// Whether `Accept-Encoding` takes gzip (listed, and not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| matches!(p, "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(value).unwrap();
        headers.insert(HeaderName::from_static("accept-encoding"), value);
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        assert!(accepts_gzip(&with("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&with("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0, br")));
        assert!(!accepts_gzip(&with("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_page_names_its_script_and_style_sheet_by_their_content() {
        let page = String::from_utf8(PAGE.plain.clone()).unwrap();
        assert!(page.contains(&format!("app.js?v={}", SCRIPT.version)));
        assert!(page.contains(&format!("app.css?v={}", STYLE.version)));
        assert!(!page.contains("{{"), "a placeholder was left: {page}");
        assert!(!SCRIPT.gzip.is_empty() && SCRIPT.gzip.len() < SCRIPT.plain.len());
    }
}
