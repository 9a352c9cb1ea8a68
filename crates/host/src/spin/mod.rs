//! Host implementations of the `fermyon:spin@2.0.0` interfaces, and the
//! linker that combines them with WASI 0.2 and wasi:http.

pub mod key_value;
pub mod redis;
pub mod sqlite;
pub mod variables;

use anyhow::{bail, Result};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::Engine;

use crate::state::HostState;

/// Bindings for the versioned `fermyon:spin@2.0.0` package.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/spin@2.0.0",
        world: "host",
        imports: {
            "fermyon:spin/redis": async | trappable,
            default: trappable,
        },
        with: {
            "fermyon:spin/key-value.store": crate::spin::key_value::KeyValueHandle,
            "fermyon:spin/sqlite.connection": crate::spin::sqlite::SqliteConnection,
            "fermyon:spin/redis.connection": crate::spin::redis::RedisConnection,
        },
    });
}

/// Bindings for the unversioned `fermyon:spin` package: the Redis trigger's
/// export.
pub mod inbound_redis {
    wasmtime::component::bindgen!({
        path: "../../wit/spin-unversioned",
        world: "redis-trigger",
        exports: { default: async },
    });
}

/// `fermyon:spin@2.0.0` interfaces that spin-sdk 5.2 may import but the
/// local host does not implement. Their functions trap when called.
const STUBBED_INTERFACES: &[&str] = &[
    "fermyon:spin/llm@2.0.0",
    "fermyon:spin/mqtt@2.0.0",
    "fermyon:spin/mysql@2.0.0",
    "fermyon:spin/postgres@2.0.0",
    "fermyon:spin/rdbms-types@2.0.0",
];

/// Creates a linker with WASI 0.2, wasi:http and the Spin interfaces.
pub fn create_linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wasmtime_error)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(wasmtime_error)?;

    use bindings::fermyon::spin as spin2;
    spin2::key_value::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(wasmtime_error)?;
    spin2::sqlite::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(wasmtime_error)?;
    spin2::variables::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(wasmtime_error)?;
    spin2::redis::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(wasmtime_error)?;
    // `redis-types` declares only types, so its instance has no functions.
    linker
        .instance("fermyon:spin/redis-types")
        .map_err(wasmtime_error)?;
    Ok(linker)
}

/// Returns the linker to instantiate `component` with: `base`, or a copy in
/// which the component's imports of [`STUBBED_INTERFACES`] trap. Any other
/// import the host does not provide is an error naming it, as in Spin.
pub fn linker_for(
    base: &Linker<HostState>,
    engine: &Engine,
    component_id: &str,
    component: &Component,
) -> Result<Linker<HostState>> {
    let mut stubbed = Vec::new();
    for (name, _) in component.component_type().imports(engine) {
        if STUBBED_INTERFACES.contains(&name) {
            stubbed.push(name.to_string());
        } else if !is_provided(name) {
            bail!(
                "component {component_id} imports {name}, which the local host does not provide"
            );
        }
    }
    let mut linker = base.clone();
    if !stubbed.is_empty() {
        tracing::warn!(
            component = component_id,
            interfaces = ?stubbed,
            "linking unimplemented Spin interfaces as traps"
        );
        linker
            .define_unknown_imports_as_traps(component)
            .map_err(wasmtime_error)?;
    }
    Ok(linker)
}

fn is_provided(import: &str) -> bool {
    import.starts_with("wasi:")
        || matches!(
            import,
            "fermyon:spin/key-value@2.0.0"
                | "fermyon:spin/sqlite@2.0.0"
                | "fermyon:spin/variables@2.0.0"
                | "fermyon:spin/redis@2.0.0"
                | "fermyon:spin/redis-types"
        )
}

/// Converts a `wasmtime::Error` into `anyhow::Error`, keeping its chain.
pub fn wasmtime_error(err: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{err:?}")
}
