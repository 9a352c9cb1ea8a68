//! The checks of an upload's way through processing: upload, wait until
//! `ready`, then compare what Stowage reports and serves with the file on
//! disk and `sha256sum`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::client::Client;
use crate::fixtures::sha256sum;

/// How a test sends a file.
pub enum UploadKind {
    /// As the multipart form field `file`.
    Multipart,
    /// As the raw request body, named by `?filename=`.
    Raw,
}

/// Uploads the file at `path`, checks the 202 response and returns the file
/// once it is `ready`.
pub fn upload_and_wait(client: &Client, path: &Path, upload: UploadKind, timeout: Duration) -> Value {
    let name = path.file_name().unwrap().to_str().unwrap();
    let bytes = std::fs::read(path).expect("the file to upload is readable");

    let response = match upload {
        UploadKind::Multipart => client.upload_multipart(name, &bytes),
        UploadKind::Raw => client.upload_raw(name, &bytes),
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

pub fn check_metadata(file: &Value, path: &Path, mime_type: &str) {
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
pub fn check_download(client: &Client, file: &Value, path: &Path, served_type: &str) {
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
