//! Cross-origin access: only origins on the configured allow-list (none by default) get CORS
//! headers, so a browser page elsewhere cannot read Souk's answers with a user's token. The
//! list is checked at start-up, so a typo refuses to start instead of failing every request.

use actix_cors::Cors;
use actix_web::http::{header, Method};

/// Parses `SOUK__HTTP__CORS_ORIGINS`: comma-separated `scheme://host[:port]`, no path.
pub fn parse_origins(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| format!("CORS origin {origin:?} must start with https:// or http://"))?;
            let sane = !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
            if sane {
                Ok(origin.to_string())
            } else {
                Err(format!(
                    "CORS origin {origin:?} must be scheme://host[:port], without a path or a wildcard"
                ))
            }
        })
        .collect()
}

/// The middleware for an allow-list parsed by `parse_origins`.
pub fn middleware(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
        ])
        .max_age(600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_origins_are_accepted() {
        assert_eq!(parse_origins("").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_origins("https://shop.example, http://localhost:3000").unwrap(),
            vec!["https://shop.example", "http://localhost:3000"]
        );
        for bad in [
            "*",
            "shop.example",
            "https://shop.example/path",
            "https://*.example",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
