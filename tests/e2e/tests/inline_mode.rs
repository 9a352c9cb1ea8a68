//! With spin.cloud.toml, the manifest for hosts without a Redis trigger
//! (`processing_mode` "inline", no processor component), and no Redis
//! server at all, the host starts and serves. The files component processes each upload
//! before it responds, and real files come back with the size, type and
//! SHA-256 that independent tools give, as in the Redis flow.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use stowage_e2e::{
    check_download, check_metadata, fixture, random_file, sha256sum, upload_and_wait, Client,
    Stowage, StowageOptions, UploadKind, ADMIN_PASSWORD, ADMIN_USERNAME, EMPTY_SHA256,
    MAX_UPLOAD_BYTES,
};

/// The file is processed before the upload responds, so it is `ready` at
/// the first poll; the timeout only bounds a broken run.
const SMALL_FILE_TIMEOUT: Duration = Duration::from_secs(5);

/// Hashing and sniffing 50 MiB through SQLite chunks in a wasm guest.
const LARGE_FILE_TIMEOUT: Duration = Duration::from_secs(60);

/// An inline host and its signed-in admin.
struct InlineHost {
    stowage: Stowage,
    admin: Client,
}

/// Returns the host the running tests of this binary share, starting one
/// when none is running. It stops when the last test holding it ends,
/// because a static would never drop it and the process would outlive
/// the tests.
fn inline_host() -> Arc<InlineHost> {
    static SHARED: Mutex<Weak<InlineHost>> = Mutex::new(Weak::new());

    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(host) = shared.upgrade() {
        return host;
    }
    let options = StowageOptions::new(&unused_redis_url()).with_manifest("spin.cloud.toml");
    let stowage = Stowage::start(options);
    let admin = stowage.client();
    admin.login(ADMIN_USERNAME, ADMIN_PASSWORD);

    let host = Arc::new(InlineHost { stowage, admin });
    *shared = Arc::downgrade(&host);
    host
}

/// Returns a Redis URL on a loopback port where nothing listens, so any
/// connection to it would be refused. spin.cloud.toml declares no Redis
/// address, so the options drop it.
fn unused_redis_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("failed to find a free port on 127.0.0.1");
    format!("redis://127.0.0.1:{port}")
}

#[test]
fn host_serves_without_redis() {
    let host = inline_host();

    let me = host.admin.get("/auth/me");

    assert_eq!(me.status, 200, "GET /auth/me: {}", me.text());
    let log = host.stowage.log();
    assert!(
        !log.contains("Redis"),
        "spin.cloud.toml has no Redis trigger and no Redis access; log:\n{log}"
    );
}

#[test]
fn upload_responds_with_processed_file() {
    let host = inline_host();
    let bytes = std::fs::read(fixture("image.png")).unwrap();

    let response = host.admin.upload_multipart("image.png", &bytes);

    assert_eq!(response.status, 202, "upload: {}", response.text());
    let file = response.json();
    assert_eq!(file["status"], "ready", "{file}");
    assert_eq!(file["attempts"], 1, "{file}");
    assert_eq!(file["mime_type"], "image/png", "{file}");
}

#[test]
fn png_is_processed_inline() {
    check_fixture("image.png", "image/png", "image/png");
}

#[test]
fn jpeg_is_processed_inline() {
    check_fixture("photo.jpg", "image/jpeg", "image/jpeg");
}

#[test]
fn pdf_is_processed_inline() {
    check_fixture("document.pdf", "application/pdf", "application/pdf");
}

#[test]
fn zip_is_processed_inline() {
    check_fixture("archive.zip", "application/zip", "application/zip");
}

#[test]
fn gzip_is_processed_inline() {
    check_fixture("notes.txt.gz", "application/gzip", "application/gzip");
}

#[test]
fn plain_text_is_processed_inline() {
    check_fixture("notes.txt", "text/plain", "text/plain; charset=utf-8");
}

#[test]
fn empty_file_is_processed_inline() {
    let host = inline_host();
    let path = fixture("empty.txt");

    let file = upload_and_wait(
        &host.admin,
        &path,
        UploadKind::Multipart,
        SMALL_FILE_TIMEOUT,
    );

    assert_eq!(file["size"], 0, "size of the empty file: {file}");
    assert_eq!(
        sha256sum(&path),
        EMPTY_SHA256,
        "sha256sum disagrees with the known digest of zero bytes"
    );
    assert_eq!(file["sha256"], EMPTY_SHA256, "{file}");
    assert_eq!(file["mime_type"], "application/x-empty", "{file}");
    check_download(&host.admin, &file, &path, "application/octet-stream");
}

#[test]
fn raw_body_upload_is_processed_inline() {
    let host = inline_host();
    let path = fixture("image.png");

    let file = upload_and_wait(&host.admin, &path, UploadKind::Raw, SMALL_FILE_TIMEOUT);

    check_metadata(&file, &path, "image/png");
    check_download(&host.admin, &file, &path, "image/png");
}

#[test]
fn file_of_exactly_50_mib_is_processed_inline() {
    let host = inline_host();
    let dir = tempfile::tempdir().expect("failed to create a temporary folder");
    let path = random_file(dir.path(), "random-50mib.bin", MAX_UPLOAD_BYTES, 51);

    let file = upload_and_wait(
        &host.admin,
        &path,
        UploadKind::Multipart,
        LARGE_FILE_TIMEOUT,
    );

    check_metadata(&file, &path, "application/octet-stream");
    check_download(&host.admin, &file, &path, "application/octet-stream");
}

/// Uploads one fixture and checks the reported facts against the file,
/// `sha256sum` and the expected type, and the download against the file.
fn check_fixture(name: &str, mime_type: &str, served_type: &str) {
    let host = inline_host();
    let path: &Path = &fixture(name);

    let file = upload_and_wait(&host.admin, path, UploadKind::Multipart, SMALL_FILE_TIMEOUT);

    check_metadata(&file, path, mime_type);
    check_download(&host.admin, &file, path, served_type);
}
