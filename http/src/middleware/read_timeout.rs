//! The request read timeout. actix-web bounds a request's headers (`client_request_timeout`,
//! set from the same setting) but never its body, so a client sending a byte a second holds
//! its connection as long as it likes. This middleware gives each body a deadline, counted
//! from the end of the headers: past it, the next read of the body fails as timed out, which
//! `ApiError::payload` answers with 408 `request_timeout`, and the unread rest of the body
//! makes actix-web close the connection after that answer.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use futures_util::Stream;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// How long a body may take to arrive after its headers (`SOUK__HTTP__REQUEST_READ_TIMEOUT_MS`).
#[derive(Debug, Clone, Copy)]
pub struct ReadTimeout(pub Duration);

/// The middleware: puts the body (if any) behind its deadline.
pub async fn bound(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(timeout) = req.app_data::<web::Data<ReadTimeout>>().map(|t| t.0) {
        let payload = req.take_payload();
        if matches!(payload, Payload::None) {
            req.set_payload(payload);
        } else {
            let bounded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                Box::pin(Deadline {
                    inner: payload,
                    timer: Box::pin(tokio::time::sleep(timeout)),
                    expired: false,
                });
            req.set_payload(Payload::from(bounded));
        }
    }
    next.call(req).await
}

/// A body stream that fails once its deadline has passed.
struct Deadline {
    inner: Payload,
    timer: Pin<Box<Sleep>>,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        // The deadline first: a client that keeps sending a byte now and then must not
        // keep the body "ready" forever.
        if self.timer.as_mut().poll(cx).is_ready() {
            self.expired = true;
            let late = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the body did not arrive within the read timeout",
            );
            return Poll::Ready(Some(Err(PayloadError::Io(late))));
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[actix_web::test]
    async fn a_body_that_never_ends_fails_as_timed_out_at_its_deadline() {
        let never: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(futures_util::stream::pending());
        let mut body = Deadline {
            inner: Payload::from(never),
            timer: Box::pin(tokio::time::sleep(Duration::from_millis(20))),
            expired: false,
        };
        let started = std::time::Instant::now();
        match body.next().await {
            Some(Err(PayloadError::Io(e))) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert!(body.next().await.is_none());
    }
}
