//! Uploads of real files go through the files component, Redis and the
//! processor, and come back with the size, type and SHA-256 that
//! independent tools give for the same bytes.
//!
//! The tests share one stack and make 9 uploads, below the upload rate
//! limit of 10 per minute.

use std::time::Duration;

use stowage_e2e::{
    check_download, check_metadata, fixture, random_file, sha256sum, upload_and_wait, Stack,
    UploadKind, EMPTY_SHA256, MAX_UPLOAD_BYTES,
};

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

    let file = upload_and_wait(stack.admin(), &path, UploadKind::Multipart, SMALL_FILE_TIMEOUT);

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

    let file = upload_and_wait(stack.admin(), &path, UploadKind::Raw, SMALL_FILE_TIMEOUT);

    check_metadata(&file, &path, "image/png");
    check_download(stack.admin(), &file, &path, "image/png");
}

#[test]
fn file_of_exactly_50_mib_is_processed() {
    let stack = Stack::shared();
    let dir = tempfile::tempdir().expect("failed to create a temporary folder");
    let path = random_file(dir.path(), "random-50mib.bin", MAX_UPLOAD_BYTES, 50);

    let file = upload_and_wait(stack.admin(), &path, UploadKind::Multipart, LARGE_FILE_TIMEOUT);

    check_metadata(&file, &path, "application/octet-stream");
    check_download(stack.admin(), &file, &path, "application/octet-stream");
}

/// Uploads one fixture as the sample admin and checks every reported fact
/// against the file on disk, `sha256sum` and the expected type, and the
/// download against the file and the Content-Type it is served with.
fn check_fixture(name: &str, mime_type: &str, served_type: &str) {
    let stack = Stack::shared();
    let path = fixture(name);

    let file = upload_and_wait(stack.admin(), &path, UploadKind::Multipart, SMALL_FILE_TIMEOUT);

    check_metadata(&file, &path, mime_type);
    check_download(stack.admin(), &file, &path, served_type);
}
