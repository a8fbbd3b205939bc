//! No panic reaches a client as a dropped connection: a panic in a handler (or in the
//! middleware inside this one) becomes a 500 `internal` in the error envelope, carrying the
//! request id the outer middleware assigned, and is logged once (by the panic hook below,
//! which knows the request id and the panic's location).
//! Catching is sound enough for Souk: handlers share state only through actors, atomics and
//! `DashMap`s, none of which a half-run handler leaves locked; a panic is still a bug, which
//! is why it is logged at error level and counted in `souk_http_panics_total`.

use crate::error::ApiError;
use crate::middleware::request::RequestId;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_util::FutureExt;
use std::any::Any;
use std::panic::AssertUnwindSafe;

tokio::task_local! {
    /// The request id while a request's handlers run, for the panic hook to log with.
    static SERVING: String;
}

/// Makes a panic inside a request log once, through `tracing`, with its request id and
/// where it happened; any other panic (an actor's, a test's) goes to the hook it replaces.
/// Called once at start-up; later calls do nothing.
pub fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            match SERVING.try_with(|id| id.clone()) {
                Ok(id) => tracing::error!(
                    request_id = %id,
                    location = %info.location().map(|l| l.to_string()).unwrap_or_default(),
                    panic = %message(info.payload()),
                    "a handler panicked; answered 500"
                ),
                Err(_) => previous(info),
            }
        }));
    });
}

pub async fn catch(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Only the id is copied out: cloning the request itself would stop the router from
    // matching it (actix needs the one reference to fill in the path).
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let lang = crate::i18n::Lang::of_request(req.headers());
    let counter = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.panics.clone());
    // The call itself sits inside the future, so a panic while building it is caught too.
    let serve = SERVING.scope(id.clone(), async move { next.call(req).await });
    match AssertUnwindSafe(serve).catch_unwind().await {
        Ok(result) => result.map(|res| res.map_into_boxed_body()),
        Err(_) => {
            // The hook has logged it, with the id and the location.
            if let Some(counter) = counter {
                counter.inc();
            }
            // The request went down with the handler, so the answer leaves as an error that
            // actix renders; it carries the request id itself.
            Err(Panicked {
                request_id: id,
                lang,
            }
            .into())
        }
    }
}

/// The 500 a panic becomes: the envelope with its request id and the usual headers.
#[derive(Debug)]
struct Panicked {
    request_id: String,
    lang: crate::i18n::Lang,
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a handler panicked (request {})", self.request_id)
    }
}

impl ResponseError for Panicked {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::InternalServerError();
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            builder.insert_header((HeaderName::from_static("x-request-id"), id));
        }
        let mut response = builder.json(ApiError::internal().body(&self.request_id, self.lang));
        crate::middleware::request::secure(response.headers_mut(), true);
        crate::middleware::request::said_in(response.headers_mut(), self.lang);
        response
    }
}

/// The panic's message when it is a string, as `panic!` and `expect` make it.
fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}
