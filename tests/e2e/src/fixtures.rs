//! Test files: the committed fixtures, generated random files, and the
//! `sha256sum` program as the independent reference for their hashes.

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The largest upload Stowage accepts: 50 MiB of file content.
pub const MAX_UPLOAD_BYTES: usize = 50 * 1024 * 1024;

/// The SHA-256 of zero bytes.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Returns the path of the committed fixture `name` in tests/e2e/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    assert!(path.is_file(), "missing fixture {}", path.display());
    path
}

/// Writes `len` bytes from a ChaCha-based RNG seeded with `seed` to
/// `dir/name` and returns the path. The same seed gives the same bytes.
pub fn random_file(dir: &Path, name: &str, len: usize, seed: u64) -> PathBuf {
    let mut bytes = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);

    let path = dir.join(name);
    std::fs::write(&path, &bytes)
        .unwrap_or_else(|error| panic!("failed to write {}: {error}", path.display()));
    path
}

/// Runs the `sha256sum` program on `path` and returns the hex digest.
pub fn sha256sum(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap_or_else(|error| panic!("failed to run sha256sum (GNU coreutils): {error}"));
    assert!(
        output.status.success(),
        "sha256sum {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );

    let stdout = String::from_utf8(output.stdout).expect("sha256sum prints ASCII");
    let digest = stdout.split_whitespace().next().unwrap_or_default();
    assert_eq!(
        digest.len(),
        64,
        "unexpected sha256sum output for {}: {stdout:?}",
        path.display()
    );
    digest.to_owned()
}
