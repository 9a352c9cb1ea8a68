//! Per-application and per-instance host state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::metrics::MemoryPeak;
use crate::outbound::OutboundPolicy;
use crate::spin::key_value::KeyValueFile;
use crate::spin::redis::RedisConnections;
use crate::spin::sqlite::ConnectionPool;
use crate::stdio::ComponentOutput;

/// Resources shared by every instance of the application.
pub struct AppState {
    /// Key-value store label to its SQLite file.
    pub key_value_stores: HashMap<String, Arc<KeyValueFile>>,
    /// SQLite database label to the connections to its file.
    pub sqlite_databases: HashMap<String, Arc<ConnectionPool>>,
    /// Outbound Redis connections, shared by all instances.
    pub redis_connections: RedisConnections,
}

/// The grants of one component in spin.toml, with templates expanded.
#[derive(Debug)]
pub struct ComponentContext {
    pub id: Arc<str>,
    pub key_value_stores: HashSet<String>,
    pub sqlite_databases: HashSet<String>,
    pub outbound: OutboundPolicy,
    /// Component variables with their values resolved.
    pub variables: HashMap<String, String>,
    pub environment: Vec<(String, String)>,
}

/// The data of one `Store`: one component instance serving one request or
/// message.
pub struct HostState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub http_hooks: DenyOutboundHttp,
    pub app: Arc<AppState>,
    pub component: Arc<ComponentContext>,
    /// Number of key-value stores open in this instance.
    pub open_key_value_stores: usize,
    /// The largest linear memory of this instance, logged when it ends.
    pub memory_peak: MemoryPeak,
}

impl HostState {
    pub fn new(app: Arc<AppState>, component: Arc<ComponentContext>) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(ComponentOutput::stdout(component.id.clone()))
            .stderr(ComponentOutput::stderr(component.id.clone()))
            .envs(&component.environment)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Self {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            http_hooks: DenyOutboundHttp,
            app,
            component,
            open_key_value_stores: 0,
            memory_peak: MemoryPeak::default(),
        }
    }

    /// Creates the store for one instance, with the limiter that records
    /// its peak linear memory.
    pub fn into_store(self, engine: &Engine) -> Store<HostState> {
        let mut store = Store::new(engine, self);
        store.limiter(|state| &mut state.memory_peak);
        store
    }
}

/// The store, and with it the instance, is dropped when the request or
/// message has been handled and any response body has been written.
impl Drop for HostState {
    fn drop(&mut self) {
        crate::metrics::log_instance_peak(&self.component.id, &self.memory_peak);
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

/// wasi:http hooks that reject every outgoing request: no Stowage component
/// is granted outbound HTTP.
pub struct DenyOutboundHttp;

type SendRequestFuture = Box<
    dyn std::future::Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for DenyOutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendRequestFuture {
        tracing::warn!(uri = %request.uri().authority().map(|a| a.as_str()).unwrap_or(""), "outbound HTTP request denied");
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
