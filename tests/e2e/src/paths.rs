//! Where the built artifacts the tests run are.

use std::path::{Path, PathBuf};

/// The wasm files spin.toml names, relative to the repository root.
const COMPONENT_FILES: [&str; 3] = [
    "target/wasm32-wasip2/release/stowage_auth.wasm",
    "target/wasm32-wasip2/release/stowage_files.wasm",
    "target/wasm32-wasip2/release/stowage_processor.wasm",
];

const HOST_BINARY: &str = "target/release/stowage-host";

/// Returns the repository root: this crate lives in `tests/e2e`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// Returns the path of the host binary after checking that it and every
/// component spin.toml names were built.
///
/// # Panics
///
/// When one of them is missing, with the command that builds them.
pub(crate) fn built_host_binary() -> PathBuf {
    let root = repo_root();
    let required = std::iter::once(HOST_BINARY).chain(COMPONENT_FILES);
    let missing: Vec<&str> = required
        .filter(|relative| !root.join(relative).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "missing build output under {}: {}. Run scripts/test, which builds the host \
         and the components before it runs the tests (or `source scripts/common.sh && \
         build_all` to build them only)",
        root.display(),
        missing.join(", ")
    );
    root.join(HOST_BINARY)
}
