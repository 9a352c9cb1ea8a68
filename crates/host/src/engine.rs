//! The wasmtime engine and the compiled-component cache.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Maximum concurrent component instances with the pooling allocator. Each
/// HTTP request and Redis message uses one instance while it runs.
pub const POOL_INSTANCES: u32 = 1_000;
/// Maximum linear memory of one instance. Spin 3's default limit is larger;
/// Stowage components stream uploads and need a few MiB.
const POOL_MAX_MEMORY_BYTES: usize = 1 << 30;
/// Linear memory and table bytes a pool slot keeps mapped when its
/// instance ends. Wasmtime zeroes the pages an instance touched in place
/// (found with Linux's PAGEMAP_SCAN where the kernel has it) instead of
/// unmapping them, so the next instance in the slot takes no page faults
/// for them. An HTTP request of a Stowage component touches 1–2 MiB; the
/// cost is that much resident memory per warm slot.
const POOL_KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Creates the engine with the component model and the pooling allocator unless `pooling` is false or the system refuses its
/// reservation, in which case instances are allocated on demand.
pub fn create_engine(pooling: bool) -> Result<Engine> {
    let mut config = base_config();
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 4)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES * 4)
            .max_component_instance_size(1 << 20)
            .max_core_instances_per_component(64)
            .max_memories_per_component(16)
            .max_tables_per_component(32)
            .table_elements(100_000)
            .max_memory_size(POOL_MAX_MEMORY_BYTES)
            .linear_memory_keep_resident(POOL_KEEP_RESIDENT_BYTES)
            .table_keep_resident(POOL_KEEP_RESIDENT_BYTES)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&config) {
            Ok(engine) => return Ok(engine),
            Err(err) => tracing::warn!(
                error = %err,
                "pooling allocator unavailable; allocating instances on demand"
            ),
        }
        config = base_config();
    }
    Engine::new(&config).map_err(|e| anyhow::anyhow!("failed to create wasmtime engine: {e}"))
}

/// Environment variable that selects a wasmtime profiling agent:
/// `perfmap` writes `/tmp/perf-<pid>.map`, so that `perf report` names the
/// functions of compiled components.
const PROFILER_VARIABLE: &str = "STOWAGE_HOST_PROFILER";

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    match std::env::var(PROFILER_VARIABLE).as_deref() {
        Ok("perfmap") => {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Ok(other) => tracing::warn!(
            value = other,
            "ignoring {PROFILER_VARIABLE}: the supported value is perfmap"
        ),
        Err(_) => {}
    }
    config
}

/// Compiles `wasm_path`, or loads its compiled form from `cache_dir` when a
/// previous run stored one for the same wasm bytes, wasmtime version and
/// engine configuration.
pub fn load_component(
    engine: &Engine,
    component_id: &str,
    wasm_path: &Path,
    cache_dir: &Path,
) -> Result<Component> {
    let started = Instant::now();
    let wasm = std::fs::read(wasm_path).with_context(|| {
        format!(
            "failed to read component source {} for component {component_id}",
            wasm_path.display()
        )
    })?;
    let cache_path = cache_path(engine, &wasm, cache_dir);

    if cache_path.exists() {
        // SAFETY: `Engine::precompile_component` of this program wrote the file
        // with the same engine configuration, because the cache key covers it.
        // Wasmtime still checks its header and version.
        match unsafe { Component::deserialize_file(engine, &cache_path) } {
            Ok(component) => {
                tracing::info!(
                    component = component_id,
                    cache = %cache_path.display(),
                    elapsed_ms = %format!("{:.2}", started.elapsed().as_secs_f64() * 1e3),
                    "loaded compiled component from cache"
                );
                return Ok(component);
            }
            Err(err) => tracing::warn!(
                component = component_id,
                cache = %cache_path.display(),
                error = %err,
                "cached component is unusable; compiling again"
            ),
        }
    }

    let compiled = engine.precompile_component(&wasm).map_err(|e| {
        anyhow::anyhow!(
            "failed to compile component {component_id} from {}: {e:?}",
            wasm_path.display()
        )
    })?;
    let compile_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1e3);
    if let Err(err) = write_cache(&cache_path, &compiled) {
        tracing::warn!(
            component = component_id,
            cache = %cache_path.display(),
            error = %format!("{err:#}"),
            "failed to store compiled component in cache"
        );
    }
    // SAFETY: `compiled` was produced just now by this engine.
    let component = unsafe { Component::deserialize(engine, &compiled) }
        .map_err(|e| anyhow::anyhow!("failed to load compiled component {component_id}: {e}"))?;
    tracing::info!(
        component = component_id,
        source = %wasm_path.display(),
        elapsed_ms = %compile_ms,
        "compiled component"
    );
    Ok(component)
}

/// Returns the cache file for `wasm`: a SHA-256 over the wasm bytes, the
/// wasmtime version and the engine's compatibility hash.
fn cache_path(engine: &Engine, wasm: &[u8], cache_dir: &Path) -> PathBuf {
    let mut engine_hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hasher);

    let mut digest = Sha256::new();
    digest.update(wasm);
    digest.update(env!("CARGO_PKG_VERSION").as_bytes());
    digest.update(wasmtime_version().as_bytes());
    digest.update(engine_hasher.finish().to_le_bytes());
    let hash = digest.finalize();
    let name: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    cache_dir.join(format!("{name}.cwasm"))
}

fn wasmtime_version() -> &'static str {
    // The dependency is pinned in Cargo.toml; keep this in step with it.
    "wasmtime-48.0.8"
}

/// Writes the cache file through a temporary file and a rename, so a crash
/// never leaves a truncated entry.
fn write_cache(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("cache path has no parent folder")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create cache folder {}", dir.display()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("failed to write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("failed to rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
