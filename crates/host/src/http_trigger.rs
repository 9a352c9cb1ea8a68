//! The HTTP trigger: a hyper server that routes each request to a fresh
//! instance of the matching component's `wasi:http/incoming-handler`,
//! within the limits of [`HttpLimits`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::sync::{watch, Semaphore};
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::WasiHttpView;

use crate::http_limits::{
    overloaded_response, ConnectionCounter, ConnectionLimit, HttpLimits, RateLimitedWarning,
    TimeoutBody,
};
use crate::routes::{RouteMatch, Router};
use crate::state::{AppState, ComponentContext, HostState};

/// How long shutdown waits for in-flight requests before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Header timeout for a connection rejected by a connection cap, which
/// only waits for one request head to send the 503 response.
const REJECTED_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Maximum connections over a cap that wait for their 503 response at
/// once. Further ones are closed without a response, so that a flood of
/// connections cannot hold file descriptors for long.
const MAX_REJECTED_CONNECTIONS: usize = 64;
/// Minimum time between two warnings about the same limit.
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// A component served by the HTTP trigger.
pub struct HttpComponent {
    pub pre: ProxyPre<HostState>,
    pub context: Arc<ComponentContext>,
}

pub struct HttpTrigger {
    router: Router,
    components: HashMap<String, HttpComponent>,
    app: Arc<AppState>,
    limits: HttpLimits,
    connections: Arc<ConnectionCounter>,
    /// Connections over a cap that wait for their 503 response.
    rejections: Arc<Semaphore>,
    /// One permit per HTTP request whose component instance is running.
    instances: Arc<Semaphore>,
    connection_limit_warning: RateLimitedWarning,
    instance_limit_warning: RateLimitedWarning,
}

/// The reason a request got no response from its component.
enum CallError {
    /// No instance was free: the trigger's instance limit or the pooling
    /// allocator's was reached.
    Overloaded(String),
    Failed(anyhow::Error),
}

impl HttpTrigger {
    pub fn new(
        router: Router,
        components: HashMap<String, HttpComponent>,
        app: Arc<AppState>,
        limits: HttpLimits,
    ) -> Self {
        Self {
            router,
            components,
            app,
            connections: ConnectionCounter::new(
                limits.max_connections,
                limits.max_connections_per_client,
            ),
            rejections: Arc::new(Semaphore::new(MAX_REJECTED_CONNECTIONS)),
            instances: Arc::new(Semaphore::new(limits.max_instances)),
            limits,
            connection_limit_warning: RateLimitedWarning::new(LIMIT_WARNING_INTERVAL),
            instance_limit_warning: RateLimitedWarning::new(LIMIT_WARNING_INTERVAL),
        }
    }

    pub fn routes(&self) -> &[crate::routes::Route] {
        self.router.routes()
    }

    /// Accepts connections until `shutdown` turns true, then waits up to
    /// [`SHUTDOWN_GRACE`] for open connections to finish.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<()> {
        let graceful = GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            tracing::warn!(error = %err, "failed to accept connection");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    self.clone().spawn_connection(stream, peer, &graceful);
                }
                _ = shutdown.changed() => break,
            }
        }
        drop(listener);
        tracing::info!("HTTP trigger stopped accepting connections; waiting for open requests");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all HTTP connections closed"),
            () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(
                grace_secs = SHUTDOWN_GRACE.as_secs(),
                "HTTP connections still open after the grace period; closing them"
            ),
        }
        Ok(())
    }

    /// Serves one accepted connection in its own task, or rejects it with 503
    /// when a connection cap is reached.
    fn spawn_connection(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        graceful: &GracefulShutdown,
    ) {
        let admitted = match self.connections.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(limit) => return self.reject_connection(stream, peer, limit, graceful),
        };
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .keep_alive(true);
        let trigger = self.clone();
        let service = hyper::service::service_fn(move |req| {
            let trigger = trigger.clone();
            async move { Ok::<_, Infallible>(trigger.handle(req, peer).await) }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(peer = %peer, error = %err, "HTTP connection ended with an error");
            }
            drop(admitted);
        });
    }

    /// Responds to the first request of a connection over a cap with 503 and
    /// closes it, without starting a component. When too many rejected
    /// connections are open already, closes it at once.
    fn reject_connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        limit: ConnectionLimit,
        graceful: &GracefulShutdown,
    ) {
        let answering = self.rejections.clone().try_acquire_owned().ok();
        if let Some(suppressed) = self.connection_limit_warning.check() {
            tracing::warn!(
                client = %peer.ip(),
                limit = limit.as_str(),
                max_connections = self.limits.max_connections,
                max_connections_per_client = self.limits.max_connections_per_client,
                suppressed,
                "HTTP connection limit reached; sending 503"
            );
        }
        let Some(answering) = answering else {
            return;
        };
        let service = hyper::service::service_fn(|_req| async {
            let mut response = overloaded_response();
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            Ok::<_, Infallible>(response)
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout.min(REJECTED_HEADER_TIMEOUT))
            .keep_alive(false);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(answering);
        });
    }

    async fn handle(
        &self,
        mut req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();

        let Some(route) = self.router.route(&path) else {
            tracing::info!(method = %method, path = %path, status = 404, "no route matches");
            return plain_response(StatusCode::NOT_FOUND, "Not Found\n");
        };
        let component_id = route.component_id.to_string();
        let raw_route = route.raw_route.to_string();
        let Some(component) = self.components.get(&component_id) else {
            tracing::error!(component = %component_id, "route refers to a component that was not loaded");
            return plain_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n");
        };
        if let Err(err) = set_spin_headers(&mut req, &route, peer) {
            tracing::info!(method = %method, path = %path, error = %err, status = 400, "invalid request");
            return plain_response(StatusCode::BAD_REQUEST, "Bad Request\n");
        }

        let response = match self.call_component(component, req).await {
            Ok(response) => response,
            Err(CallError::Overloaded(reason)) => {
                if let Some(suppressed) = self.instance_limit_warning.check() {
                    tracing::warn!(
                        component = %component_id,
                        reason = %reason,
                        suppressed,
                        "no free component instance; sending 503"
                    );
                }
                overloaded_response()
            }
            Err(CallError::Failed(err)) => {
                tracing::error!(
                    component = %component_id,
                    method = %method,
                    path = %path,
                    error = %format!("{err:#}"),
                    "component failed to handle the request"
                );
                plain_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
            }
        };
        tracing::info!(
            component = %component_id,
            method = %method,
            route = %raw_route,
            path = %path,
            status = response.status().as_u16(),
            duration_ms = %format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
            "request"
        );
        response
    }

    /// Runs the request in a fresh instance. The instance keeps running in
    /// its own task after the response head is returned, streaming the body,
    /// and holds its instance permit until it ends.
    async fn call_component(
        &self,
        component: &HttpComponent,
        req: Request<Incoming>,
    ) -> Result<Response<HyperOutgoingBody>, CallError> {
        let Ok(permit) = self.instances.clone().try_acquire_owned() else {
            return Err(CallError::Overloaded(format!(
                "{} HTTP instances are running (max-http-instances)",
                self.limits.max_instances
            )));
        };
        let (mut store, incoming, outparam, receiver) = self
            .prepare_store(component, req)
            .map_err(CallError::Failed)?;
        let proxy = match component.pre.instantiate_async(&mut store).await {
            Ok(proxy) => proxy,
            Err(err) if err.is::<wasmtime::PoolConcurrencyLimitError>() => {
                return Err(CallError::Overloaded(err.to_string()))
            }
            Err(err) => return Err(CallError::Failed(anyhow!("failed to instantiate: {err:?}"))),
        };
        let component_id = component.context.id.clone();

        let task = tokio::spawn(async move {
            let result = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await;
            drop(permit);
            result
        });

        match receiver.await {
            Ok(Ok(response)) => {
                // The guest may still be writing the body; report a later trap.
                tokio::spawn(async move {
                    match task.await {
                        Ok(Ok(())) => {}
                        Ok(Err(err)) => tracing::error!(
                            component = %component_id,
                            error = ?err,
                            "component failed after sending the response head"
                        ),
                        Err(err) => tracing::error!(
                            component = %component_id,
                            error = %err,
                            "component task panicked"
                        ),
                    }
                });
                Ok(response)
            }
            Ok(Err(code)) => Err(CallError::Failed(anyhow!(
                "component returned error code {code:?}"
            ))),
            Err(_) => Err(CallError::Failed(match task.await {
                Ok(Ok(())) => {
                    anyhow!("component returned without setting a response (response-outparam.set)")
                }
                Ok(Err(err)) => anyhow!("{err:?}"),
                Err(err) => anyhow!("component task panicked: {err}"),
            })),
        }
    }

    /// Creates the store for one request, with the request (its body read
    /// under the body timeout) and the response slot in its table.
    #[allow(clippy::type_complexity)]
    fn prepare_store(
        &self,
        component: &HttpComponent,
        req: Request<Incoming>,
    ) -> Result<(
        wasmtime::Store<HostState>,
        wasmtime::component::Resource<HostIncomingRequest>,
        wasmtime::component::Resource<HostResponseOutparam>,
        oneshot::Receiver<Result<Response<HyperOutgoingBody>, ErrorCode>>,
    )> {
        let mut state = HostState::new(self.app.clone(), component.context.clone());
        let (sender, receiver) = oneshot::channel();
        let req = req.map(|body| TimeoutBody::new(body, self.limits.body_timeout));
        let incoming = state
            .http()
            .new_incoming_request(Scheme::Http, req)
            .map_err(crate::spin::wasmtime_error)?;
        let outparam = state
            .http()
            .new_response_outparam(sender)
            .map_err(crate::spin::wasmtime_error)?;
        Ok((
            state.into_store(component.pre.engine()),
            incoming,
            outparam,
            receiver,
        ))
    }
}

/// Adds the `spin-*` headers that Spin passes to HTTP components, with the
/// values Spin 3 computes for the base path `/`.
fn set_spin_headers(
    req: &mut Request<Incoming>,
    route: &RouteMatch<'_>,
    peer: SocketAddr,
) -> Result<()> {
    let host = match req.headers().get(http::header::HOST) {
        Some(host) => host.to_str()?.to_string(),
        None => "localhost".to_string(),
    };
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let full_url = format!("http://{host}{path_and_query}");
    let values = [
        ("spin-full-url", full_url),
        ("spin-path-info", route.path_info.clone()),
        ("spin-matched-route", route.raw_route.to_string()),
        ("spin-base-path", "/".to_string()),
        ("spin-raw-component-route", route.raw_route.to_string()),
        ("spin-component-route", route.component_route.to_string()),
        ("spin-client-addr", peer.to_string()),
    ];
    let headers = req.headers_mut();
    if !headers.contains_key(http::header::HOST) {
        // wasi:http needs an authority for the incoming request.
        headers.insert(http::header::HOST, HeaderValue::from_static("localhost"));
    }
    for (name, value) in values {
        headers.insert(name, HeaderValue::try_from(value)?);
    }
    Ok(())
}

fn plain_response(status: StatusCode, body: &'static str) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from_static(body.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
