//! Limits that keep slow or numerous HTTP clients from holding every
//! component instance: timeouts on request heads and bodies, caps on open
//! connections, and the `503 overloaded` response sent when a cap is hit.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The HTTP trigger's limits, set from the command line.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Time allowed to receive a request's header section. The same timer
    /// closes a keep-alive connection that stays idle this long between
    /// requests.
    pub header_timeout: Duration,
    /// Maximum wait for the next bytes of a request body while the
    /// component is reading it.
    pub body_timeout: Duration,
    /// Open connections across all clients.
    pub max_connections: usize,
    /// Open connections from one client IP address.
    pub max_connections_per_client: usize,
    /// Component instances serving HTTP requests at once. Kept below the
    /// instance pool's size so that the Redis trigger always finds free
    /// instances.
    pub max_instances: usize,
}

/// Wraps a request body so that a read fails with
/// `connection-read-timeout` when no bytes arrive for `timeout` while the
/// component waits for them. Time the component spends not reading does
/// not count.
pub struct TimeoutBody<B> {
    inner: B,
    timeout: Duration,
    /// Set while a read waits; cleared whenever a frame arrives.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<B> TimeoutBody<B> {
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            deadline: None,
        }
    }
}

impl<B> Body for TimeoutBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.deadline = None;
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let timeout = this.timeout;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.deadline = None;
                Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection cap that rejected a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionLimit {
    Total,
    PerClient,
}

impl ConnectionLimit {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionLimit::Total => "max-connections",
            ConnectionLimit::PerClient => "max-connections-per-client",
        }
    }
}

/// Counts open connections, in total and per client IP address.
#[derive(Debug)]
pub struct ConnectionCounter {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<OpenConnections>,
}

#[derive(Debug, Default)]
struct OpenConnections {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

impl ConnectionCounter {
    pub fn new(max_total: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_client,
            open: Mutex::default(),
        })
    }

    /// Counts a new connection from `client`, or returns the cap it would
    /// exceed. The connection counts until the returned guard drops.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Result<ConnectionGuard, ConnectionLimit> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(ConnectionLimit::Total);
        }
        let from_client = open.per_client.entry(client).or_default();
        if *from_client >= self.max_per_client {
            return Err(ConnectionLimit::PerClient);
        }
        *from_client += 1;
        open.total += 1;
        Ok(ConnectionGuard {
            counter: self.clone(),
            client,
        })
    }

    fn release(&self, client: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total -= 1;
        if let Some(from_client) = open.per_client.get_mut(&client) {
            *from_client -= 1;
            if *from_client == 0 {
                open.per_client.remove(&client);
            }
        }
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnectionGuard {
    counter: Arc<ConnectionCounter>,
    client: IpAddr,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.counter.release(self.client);
    }
}

/// Lets a repeated warning through at most once per `interval` and counts
/// the occurrences in between, so a flood of rejections does not flood
/// the log.
#[derive(Debug)]
pub struct RateLimitedWarning {
    interval: Duration,
    last_logged: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimitedWarning {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_logged: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Returns `Some(n)` when the caller should log now, where `n` is the
    /// number of occurrences not logged since the last time, and `None`
    /// when this occurrence is only counted.
    pub fn check(&self) -> Option<u64> {
        let mut last = self
            .last_logged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|last| now.duration_since(last) < self.interval) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// Seconds a client should wait before retrying after a `503 overloaded`.
const RETRY_AFTER_SECS: &str = "1";

/// Builds the `503 Service Unavailable` response for a request the host
/// turns away because a limit is reached, with the service's JSON error
/// body and `Retry-After`.
pub fn overloaded_response() -> Response<HyperOutgoingBody> {
    let body = serde_json::json!({
        "error": {
            "code": "overloaded",
            "message": "the server is handling too many requests; retry in a moment",
        }
    });
    let body = Full::new(Bytes::from(body.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn connection_counter_caps_one_client() {
        let counter = ConnectionCounter::new(10, 2);
        let _first = counter.admit(ip("127.0.0.2")).unwrap();
        let _second = counter.admit(ip("127.0.0.2")).unwrap();

        let third = counter.admit(ip("127.0.0.2"));
        let other_client = counter.admit(ip("127.0.0.1"));

        assert_eq!(third.unwrap_err(), ConnectionLimit::PerClient);
        assert!(other_client.is_ok());
    }

    #[test]
    fn connection_counter_caps_total() {
        let counter = ConnectionCounter::new(2, 5);
        let _first = counter.admit(ip("10.0.0.1")).unwrap();
        let _second = counter.admit(ip("10.0.0.2")).unwrap();

        assert_eq!(
            counter.admit(ip("10.0.0.3")).unwrap_err(),
            ConnectionLimit::Total
        );
    }

    #[test]
    fn connection_counter_frees_place_on_drop() {
        let counter = ConnectionCounter::new(1, 1);
        let first = counter.admit(ip("::1")).unwrap();
        assert!(counter.admit(ip("::1")).is_err());

        drop(first);

        let second = counter.admit(ip("::1"));
        assert!(second.is_ok());
        assert_eq!(counter.open.lock().unwrap().total, 1);
    }

    #[test]
    fn connection_counter_forgets_clients_without_connections() {
        let counter = ConnectionCounter::new(10, 10);
        drop(counter.admit(ip("10.0.0.1")).unwrap());

        let open = counter.open.lock().unwrap();
        assert_eq!(open.total, 0);
        assert!(open.per_client.is_empty());
    }

    #[test]
    fn rate_limited_warning_counts_suppressed() {
        let warning = RateLimitedWarning::new(Duration::from_secs(3600));

        assert_eq!(warning.check(), Some(0));
        assert_eq!(warning.check(), None);
        assert_eq!(warning.check(), None);
        assert_eq!(warning.suppressed.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn rate_limited_warning_reports_suppressed_after_interval() {
        let warning = RateLimitedWarning::new(Duration::ZERO);
        warning.suppressed.store(5, Ordering::Relaxed);

        assert_eq!(warning.check(), Some(5));
        assert_eq!(warning.check(), Some(0));
    }

    #[test]
    fn overloaded_response_is_json_503_with_retry_after() {
        let response = overloaded_response();

        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(response.headers()["content-type"], "application/json");
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_body_fails_when_no_bytes_arrive() {
        let (_sender, stalled) = http_body_util::channel::Channel::<Bytes, hyper::Error>::new(1);
        let mut body = TimeoutBody::new(stalled, Duration::from_secs(30));

        let started = tokio::time::Instant::now();
        let frame = body.frame().await;

        assert!(matches!(
            frame,
            Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout))
        ));
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_body_restarts_timer_after_each_frame() {
        let (mut sender, body) = http_body_util::channel::Channel::<Bytes, hyper::Error>::new(1);
        let mut body = TimeoutBody::new(body, Duration::from_secs(30));
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                sender.send_data(Bytes::from_static(b"x")).await.unwrap();
            }
        });

        for _ in 0..3 {
            let frame = body.frame().await.expect("a frame arrives");
            assert!(frame.is_ok(), "a frame every 20 s stays within 30 s");
        }
        assert!(
            body.frame().await.is_none(),
            "the body ends when the sender drops"
        );
    }
}
