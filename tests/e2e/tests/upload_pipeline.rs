//! Uploads of real files go through the files component, Redis and the
//! processor, and come back with the size, type and SHA-256 that
//! independent tools give for the same bytes.
//!
//! The tests share one stack and make 9 uploads, below the upload rate
//! limit of 10 per minute.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use stowage_e2e::{fixture, random_file, sha256sum, Client, Stack, EMPTY_SHA256, MAX_UPLOAD_BYTES};

/// How long a small file may take from upload to `ready`.
const SMALL_FILE_TIMEOUT: Duration = Duration::from_secs(5);

/// Hashing and sniffing 50 MiB through SQLite chunks in a wasm guest takes
/// longer than a small file.
const LARGE_FILE_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn png_is_processed() {
    check_fixture("image.png", "image/png", "image/png");
}

#[test]
fn jpeg_is_processed() {
    check_fixture("photo.jpg", "image/jpeg", "image/jpeg");
}

#[test]
fn pdf_is_processed() {
    check_fixture("document.pdf", "application/pdf", "application/pdf");
}

#[test]
fn zip_is_processed() {
    check_fixture("archive.zip", "application/zip", "application/zip");
}

#[test]
fn gzip_is_processed() {
    check_fixture("notes.txt.gz", "application/gzip", "application/gzip");
}

#[test]
fn plain_text_is_processed() {
    check_fixture("notes.txt", "text/plain", "text/plain; charset=utf-8");
}

#[test]
fn empty_file_is_processed() {
    let stack = Stack::shared();
    let path = fixture("empty.txt");

    let file = upload_and_wait(stack.admin(), &path, Upload::Multipart, SMALL_FILE_TIMEOUT);

    assert_eq!(file["size"], 0, "size of the empty file: {file}");
    assert_eq!(
        sha256sum(&path),
        EMPTY_SHA256,
        "sha256sum disagrees with the known digest of zero bytes"
    );
    assert_eq!(
        file["sha256"], EMPTY_SHA256,
        "SHA-256 of the empty file: {file}"
    );
    assert_eq!(
        file["mime_type"], "application/x-empty",
        "MIME type of the empty file: {file}"
    );
    check_download(stack.admin(), &file, &path, "application/octet-stream");
}

#[test]
fn raw_body_upload_is_processed() {
    let stack = Stack::shared();
    let path = fixture("image.png");

    let file = upload_and_wait(stack.admin(), &path, Upload::Raw, SMALL_FILE_TIMEOUT);

    check_metadata(&file, &path, "image/png");
    check_download(stack.admin(), &file, &path, "image/png");
}

#[test]
fn file_of_exactly_50_mib_is_processed() {
    let stack = Stack::shared();
    let dir = tempfile::tempdir().expect("failed to create a temporary folder");
    let path = random_file(dir.path(), "random-50mib.bin", MAX_UPLOAD_BYTES, 50);

    let file = upload_and_wait(stack.admin(), &path, Upload::Multipart, LARGE_FILE_TIMEOUT);

    check_metadata(&file, &path, "application/octet-stream");
    check_download(stack.admin(), &file, &path, "application/octet-stream");
}

enum Upload {
    Multipart,
    Raw,
}

/// Uploads one fixture as the sample admin and checks every reported fact
/// against the file on disk, `sha256sum` and the expected type, and the
/// download against the file and the Content-Type it is served with.
fn check_fixture(name: &str, mime_type: &str, served_type: &str) {
    let stack = Stack::shared();
    let path = fixture(name);

    let file = upload_and_wait(stack.admin(), &path, Upload::Multipart, SMALL_FILE_TIMEOUT);

    check_metadata(&file, &path, mime_type);
    check_download(stack.admin(), &file, &path, served_type);
}

/// Uploads the file at `path`, checks the 202 response and returns the file
/// once it is `ready`.
fn upload_and_wait(client: &Client, path: &Path, upload: Upload, timeout: Duration) -> Value {
    let name = path.file_name().unwrap().to_str().unwrap();
    let bytes = std::fs::read(path).expect("the file to upload is readable");

    let response = match upload {
        Upload::Multipart => client.upload_multipart(name, &bytes),
        Upload::Raw => client.upload_raw(name, &bytes),
    };

    assert_eq!(
        response.status,
        202,
        "upload of {name}: expected 202 Accepted, got body {}",
        response.text()
    );
    let file = response.json();
    let id = file["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload of {name}: the response has no id: {file}"));
    assert_eq!(
        response.header("location"),
        Some(format!("/files/{id}").as_str()),
        "upload of {name}: Location header"
    );
    assert_eq!(
        file["filename"], name,
        "upload of {name}: filename in {file}"
    );
    client.wait_until_ready(id, timeout)
}

fn check_metadata(file: &Value, path: &Path, mime_type: &str) {
    let length = std::fs::metadata(path)
        .expect("the uploaded file exists")
        .len();
    assert_eq!(
        file["size"].as_u64(),
        Some(length),
        "size of {}: expected the length on disk, got {file}",
        path.display()
    );
    assert_eq!(
        file["sha256"].as_str(),
        Some(sha256sum(path).as_str()),
        "SHA-256 of {}: expected the sha256sum output, got {file}",
        path.display()
    );
    assert_eq!(
        file["mime_type"],
        mime_type,
        "MIME type of {}: {file}",
        path.display()
    );
    assert!(
        file["processed_at"].is_number() || file["processed_at"].is_string(),
        "a ready file has processed_at: {file}"
    );
}

/// Downloads the file and compares the bytes with the file on disk. Only
/// passive types are served as themselves: others, such as the empty
/// file's `application/x-empty`, are sent as `application/octet-stream`.
fn check_download(client: &Client, file: &Value, path: &Path, served_type: &str) {
    let id = file["id"].as_str().unwrap();
    let expected = std::fs::read(path).expect("the uploaded file is readable");

    let response = client.get(&format!("/files/{id}/content"));

    assert_eq!(
        response.status,
        200,
        "download of {id}: expected 200, got body {}",
        response.text()
    );
    assert_eq!(
        response.body.len(),
        expected.len(),
        "download of {id}: length differs from {}",
        path.display()
    );
    assert!(
        response.body == expected,
        "download of {id}: bytes differ from {}",
        path.display()
    );
    assert_eq!(
        response.header("content-type"),
        Some(served_type),
        "download of {id}: Content-Type"
    );
    let disposition = response.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment;"),
        "download of {id}: expected Content-Disposition attachment, got {disposition:?}"
    );
    let filename = path.file_name().unwrap().to_str().unwrap();
    assert!(
        disposition.contains(&format!("filename=\"{filename}\"")),
        "download of {id}: expected filename=\"{filename}\" in {disposition:?}"
    );
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "download of {id}: X-Content-Type-Options"
    );
}
