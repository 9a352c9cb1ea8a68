//! The HTTP trigger: a hyper server that routes each request to a fresh
//! instance of the matching component's `wasi:http/incoming-handler`.

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
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use crate::routes::{RouteMatch, Router};
use crate::state::{AppState, ComponentContext, HostState};

/// How long shutdown waits for in-flight requests before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A component served by the HTTP trigger.
pub struct HttpComponent {
    pub pre: ProxyPre<HostState>,
    pub context: Arc<ComponentContext>,
}

pub struct HttpTrigger {
    router: Router,
    components: HashMap<String, HttpComponent>,
    app: Arc<AppState>,
}

impl HttpTrigger {
    pub fn new(
        router: Router,
        components: HashMap<String, HttpComponent>,
        app: Arc<AppState>,
    ) -> Self {
        Self {
            router,
            components,
            app,
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
                    let trigger = self.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let trigger = trigger.clone();
                        async move { Ok::<_, Infallible>(trigger.handle(req, peer).await) }
                    });
                    let connection = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::debug!(peer = %peer, error = %err, "HTTP connection ended with an error");
                        }
                    });
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
            Err(err) => {
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
    /// its own task after the response head is returned, streaming the body.
    async fn call_component(
        &self,
        component: &HttpComponent,
        req: Request<Incoming>,
    ) -> Result<Response<HyperOutgoingBody>> {
        let mut state = HostState::new(self.app.clone(), component.context.clone());
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = state
            .http()
            .new_incoming_request(Scheme::Http, req)
            .map_err(crate::spin::wasmtime_error)?;
        let outparam = state
            .http()
            .new_response_outparam(sender)
            .map_err(crate::spin::wasmtime_error)?;
        let mut store = state.into_store(component.pre.engine());
        let pre = component.pre.clone();
        let component_id = component.context.id.clone();

        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await
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
            Ok(Err(code)) => Err(anyhow!("component returned error code {code:?}")),
            Err(_) => match task.await {
                Ok(Ok(())) => Err(anyhow!(
                    "component returned without setting a response (response-outparam.set)"
                )),
                Ok(Err(err)) => Err(anyhow!("{err:?}")),
                Err(err) => Err(anyhow!("component task panicked: {err}")),
            },
        }
    }
}

/// Adds the `spin-*` headers that Spin passes to HTTP components, with the
/// values Spin 3 computes for the base path `/`.
fn set_spin_headers(req: &mut Request<Incoming>, route: &RouteMatch<'_>, peer: SocketAddr) -> Result<()> {
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
