//! Loading an application: manifest, variables, stores, components and
//! triggers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use wasmtime::component::Component;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::app_variables::AppVariables;
use crate::http_limits::HttpLimits;
use crate::http_trigger::{HttpComponent, HttpTrigger};
use crate::manifest::{HttpRoute, Manifest};
use crate::outbound::{redact_url, AllowedHost, OutboundPolicy};
use crate::redis_trigger::RedisSubscription;
use crate::routes::Router;
use crate::runtime_config::RuntimeConfig;
use crate::spin::inbound_redis::RedisTriggerPre;
use crate::spin::key_value::KeyValueFile;
use crate::spin::redis::RedisConnections;
use crate::spin::{self, wasmtime_error};
use crate::state::{AppState, ComponentContext};

/// Redis messages handled at once, across all Redis triggers. These
/// instances are reserved: HTTP requests never use them, so a flood of
/// HTTP requests cannot stop upload processing.
pub const REDIS_INSTANCES: usize = 100;
/// The most HTTP requests that may run instances at once: the rest of the
/// instance pool.
pub const MAX_HTTP_INSTANCES: usize = crate::engine::POOL_INSTANCES as usize - REDIS_INSTANCES;

/// Settings from the command line that shape how the application loads.
pub struct LoadOptions {
    pub manifest_path: PathBuf,
    pub runtime_config_file: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub cli_variables: HashMap<String, String>,
    pub pooling: bool,
    pub http_limits: HttpLimits,
}

/// A loaded application, ready to serve.
pub struct LoadedApp {
    pub runtime_config: RuntimeConfig,
    pub http: Option<HttpTrigger>,
    pub redis: Vec<RedisSubscription>,
}

pub fn load(options: &LoadOptions) -> Result<LoadedApp> {
    let manifest = Manifest::load(&options.manifest_path)?;
    let manifest_dir = options
        .manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    tracing::info!(
        manifest = %options.manifest_path.display(),
        application = %manifest.application.name,
        "loaded manifest"
    );

    let variables = AppVariables::resolve(&manifest.variables, &options.cli_variables, |name| {
        std::env::var(name).ok()
    })?;
    let runtime_config =
        RuntimeConfig::load(options.runtime_config_file.as_deref(), &options.state_dir)?;
    let app = Arc::new(open_stores(&runtime_config)?);

    let contexts = component_contexts(&manifest, &variables, &runtime_config)?;

    let engine = crate::engine::create_engine(options.pooling)?;
    let base_linker = spin::create_linker(&engine)?;

    // Load only the components some trigger uses, once each.
    let mut used: Vec<&str> = Vec::new();
    for id in manifest
        .trigger
        .http
        .iter()
        .map(|t| t.component.as_str())
        .chain(manifest.trigger.redis.iter().map(|t| t.component.as_str()))
    {
        if !used.contains(&id) {
            used.push(id);
        }
    }
    let mut components: HashMap<String, Component> = HashMap::new();
    for id in used {
        let decl = &manifest.component[id];
        let source = decl.source_path(id, &manifest_dir)?;
        let component = crate::engine::load_component(&engine, id, &source, &options.cache_dir)?;
        components.insert(id.to_string(), component);
    }

    let http = build_http_trigger(
        &manifest,
        &engine,
        &base_linker,
        &components,
        &contexts,
        &app,
        &options.http_limits,
    )?;
    let redis = build_redis_subscriptions(
        &manifest,
        &variables,
        &engine,
        &base_linker,
        &components,
        &contexts,
        &app,
    )?;

    Ok(LoadedApp {
        runtime_config,
        http,
        redis,
    })
}

/// Opens every configured key-value store file, sharing one connection
/// between labels that name the same file.
fn open_stores(runtime_config: &RuntimeConfig) -> Result<AppState> {
    let mut files: HashMap<PathBuf, Arc<KeyValueFile>> = HashMap::new();
    let mut key_value_stores = HashMap::new();
    for (label, path) in &runtime_config.key_value_stores {
        let file = match files.get(path) {
            Some(file) => file.clone(),
            None => {
                let file = Arc::new(
                    KeyValueFile::open(path)
                        .with_context(|| format!("failed to open key-value store {label:?}"))?,
                );
                files.insert(path.clone(), file.clone());
                file
            }
        };
        tracing::info!(label = %label, path = %file.path().display(), "key-value store");
        key_value_stores.insert(label.clone(), file);
    }
    let mut sqlite_databases = HashMap::new();
    for (label, path) in &runtime_config.sqlite_databases {
        spin::sqlite::enable_wal(path)
            .with_context(|| format!("failed to open SQLite database {label:?}"))?;
        tracing::info!(label = %label, path = %path.display(), "SQLite database");
        let pool = spin::sqlite::ConnectionPool::with_checkpoints(path.clone());
        sqlite_databases.insert(label.clone(), pool);
    }
    Ok(AppState {
        key_value_stores,
        sqlite_databases,
        redis_connections: RedisConnections::default(),
    })
}

/// Builds each component's grants, expanding templates and checking that
/// every granted store and database is configured, as `spin up` does.
fn component_contexts(
    manifest: &Manifest,
    variables: &AppVariables,
    runtime_config: &RuntimeConfig,
) -> Result<HashMap<String, Arc<ComponentContext>>> {
    let mut contexts = HashMap::new();
    for (id, decl) in &manifest.component {
        for label in &decl.key_value_stores {
            if !runtime_config.key_value_stores.contains_key(label) {
                bail!(
                    "component {id} uses key-value store {label:?}, which is not defined; \
                     add [key_value_store.{label}] to the runtime config file"
                );
            }
        }
        for label in &decl.sqlite_databases {
            if !runtime_config.sqlite_databases.contains_key(label) {
                bail!(
                    "component {id} uses SQLite database {label:?}, which is not defined; \
                     add [sqlite_database.{label}] to the runtime config file"
                );
            }
        }
        let mut allowed = Vec::new();
        for entry in &decl.allowed_outbound_hosts {
            let context = format!("allowed_outbound_hosts of component {id}");
            let expanded = variables.expand(entry, &context)?;
            let host = AllowedHost::parse(&expanded)
                .with_context(|| format!("in {context} (from {entry:?})"))?;
            allowed.push(host);
        }
        let mut component_variables = HashMap::new();
        for (name, template) in &decl.variables {
            let context = format!("variable {name} of component {id}");
            component_variables.insert(name.clone(), variables.expand(template, &context)?);
        }
        if !decl.files.is_empty() {
            tracing::warn!(component = %id, "component declares files; the local host mounts none");
        }
        let context = ComponentContext {
            id: Arc::from(id.as_str()),
            key_value_stores: decl
                .key_value_stores
                .iter()
                .cloned()
                .collect::<HashSet<_>>(),
            sqlite_databases: decl
                .sqlite_databases
                .iter()
                .cloned()
                .collect::<HashSet<_>>(),
            outbound: OutboundPolicy::new(allowed),
            variables: component_variables,
            environment: decl
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        contexts.insert(id.clone(), Arc::new(context));
    }
    Ok(contexts)
}

fn build_http_trigger(
    manifest: &Manifest,
    engine: &Engine,
    base_linker: &wasmtime::component::Linker<crate::state::HostState>,
    components: &HashMap<String, Component>,
    contexts: &HashMap<String, Arc<ComponentContext>>,
    app: &Arc<AppState>,
    limits: &HttpLimits,
) -> Result<Option<HttpTrigger>> {
    if manifest.trigger.http.is_empty() {
        return Ok(None);
    }
    let mut routes = Vec::new();
    let mut http_components = HashMap::new();
    for trigger in &manifest.trigger.http {
        let id = trigger.component.as_str();
        match &trigger.route {
            HttpRoute::Pattern(route) => routes.push((route.as_str(), id)),
            HttpRoute::Private { private: true } => {}
            HttpRoute::Private { private: false } => {
                bail!("route of component {id} must be a string pattern or {{ private = true }}")
            }
        }
        if http_components.contains_key(id) {
            continue;
        }
        let component = &components[id];
        let linker = spin::linker_for(base_linker, engine, id, component)?;
        let instance_pre = linker
            .instantiate_pre(component)
            .map_err(wasmtime_error)
            .with_context(|| format!("failed to link component {id}"))?;
        let pre = ProxyPre::new(instance_pre)
            .map_err(wasmtime_error)
            .with_context(|| {
                format!("component {id} does not export wasi:http/incoming-handler@0.2.x")
            })?;
        http_components.insert(
            id.to_string(),
            HttpComponent {
                pre,
                context: contexts[id].clone(),
            },
        );
    }
    let router = Router::build(routes)?;
    Ok(Some(HttpTrigger::new(
        router,
        http_components,
        app.clone(),
        limits.clone(),
    )))
}

fn build_redis_subscriptions(
    manifest: &Manifest,
    variables: &AppVariables,
    engine: &Engine,
    base_linker: &wasmtime::component::Linker<crate::state::HostState>,
    components: &HashMap<String, Component>,
    contexts: &HashMap<String, Arc<ComponentContext>>,
    app: &Arc<AppState>,
) -> Result<Vec<RedisSubscription>> {
    let default_address = manifest
        .application
        .trigger
        .redis
        .as_ref()
        .and_then(|r| r.address.clone());
    let instances = Arc::new(tokio::sync::Semaphore::new(REDIS_INSTANCES));
    let mut subscriptions = Vec::new();
    for trigger in &manifest.trigger.redis {
        let id = trigger.component.as_str();
        let context = format!("Redis trigger of component {id}");
        let address_template = trigger
            .address
            .clone()
            .or_else(|| default_address.clone())
            .with_context(|| {
                format!("{context} has no address and [application.trigger.redis] sets none")
            })?;
        let address = variables.expand(&address_template, &context)?;
        let channel = variables.expand(&trigger.channel, &context)?;
        let component = &components[id];
        let linker = spin::linker_for(base_linker, engine, id, component)?;
        let instance_pre = linker
            .instantiate_pre(component)
            .map_err(wasmtime_error)
            .with_context(|| format!("failed to link component {id}"))?;
        let pre = RedisTriggerPre::new(instance_pre)
            .map_err(wasmtime_error)
            .with_context(|| {
                format!("component {id} does not export fermyon:spin/inbound-redis")
            })?;
        tracing::info!(
            component = %id,
            address = %redact_url(&address),
            channel = %channel,
            "Redis trigger"
        );
        subscriptions.push(RedisSubscription {
            address,
            channel,
            pre,
            context: contexts[id].clone(),
            app: app.clone(),
            instances: instances.clone(),
        });
    }
    Ok(subscriptions)
}
