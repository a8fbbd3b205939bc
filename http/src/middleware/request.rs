//! The middleware every request passes first: it assigns the request id (or keeps a sane
//! one the client sent), fills it into error envelopes with their message in the request's
//! language (`Accept-Language`), answers actix's own errors in the envelope too, adds the security headers, and counts the request by route template (never
//! the raw path) and method (one of a closed set), so no input can add a series.

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use std::time::Instant;

/// The request's id, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic());
    sane.then(|| v.to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let lang = Lang::of_request(req.headers());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = method_label(req.method());
    let authenticated = req
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION);
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // Only a caught panic (and actix-cors refusing a preflight) arrive here: the request
        // is gone, so the route is unknown; the error renders its own answer.
        Err(e) => {
            if let Some(metrics) = metrics {
                let status = e.as_response_error().status_code().as_u16().to_string();
                metrics
                    .requests
                    .with_label_values(&["unknown", method, &status])
                    .inc();
            }
            return Err(e);
        }
    };
    let res = enveloped(res);
    let error = res.response().extensions().get::<ApiError>().cloned();
    let mut res = match error {
        // Errors are rendered without the request; the envelope gets its id and its
        // message in the request's language here.
        Some(error) => {
            let mut res = res.map_body(|_, _| BoxBody::new(error.body(&id, lang).to_string()));
            said_in(res.headers_mut(), lang);
            res
        }
        None => res,
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    secure(res.headers_mut(), authenticated);
    if let Some(metrics) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        let status = res.status().as_u16().to_string();
        metrics
            .requests
            .with_label_values(&[&route, method, &status])
            .inc();
        metrics
            .duration
            .with_label_values(&[&route, method])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// An error actix-web answered itself (plain text) is answered again in the envelope, so
/// every error leaves in one shape whichever layer raised it.
fn enveloped(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    if res.response().extensions().get::<ApiError>().is_some() {
        return res;
    }
    let Some(error) = res.response().error().map(ApiError::framework) else {
        return res;
    };
    res.into_response(actix_web::ResponseError::error_response(&error))
}

/// An envelope's language, and that the answer depends on `Accept-Language` (for caches).
pub(crate) fn said_in(headers: &mut actix_web::http::header::HeaderMap, lang: Lang) {
    use actix_web::http::header;
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    headers.append(header::VARY, HeaderValue::from_static("accept-language"));
}

/// The `method` label: the standard methods by name, any other (a client may send any
/// token as a method) as `other`, so each one sent does not become a series of its own.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Headers every response carries: no MIME sniffing, no referrer leaking ids to other
/// sites, and nothing personal kept in a shared cache.
pub(crate) fn secure(headers: &mut actix_web::http::header::HeaderMap, authenticated: bool) {
    use actix_web::http::header;
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
