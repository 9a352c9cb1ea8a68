//! Uploads over 50 MiB are rejected with 413 and leave nothing behind:
//! no listed file, no file row and no chunk rows.

use std::time::Duration;

use serde_json::Value;
use stowage_e2e::{poll_until, Client, Database, Response, Stack, MAX_UPLOAD_BYTES};

/// How long the host may take to delete the rows of a rejected upload.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn multipart_upload_over_50_mib_is_rejected() {
    check_rejected_upload(|client, bytes| client.upload_multipart("too-large.bin", bytes));
}

#[test]
fn raw_upload_over_50_mib_is_rejected() {
    check_rejected_upload(|client, bytes| client.upload_raw("too-large.bin", bytes));
}

/// Uploads too many bytes and checks that nothing remains. Each test runs
/// its own stack, so that the row counts before and after
/// are not disturbed by another test's upload.
fn check_rejected_upload(upload: impl Fn(&Client, &[u8]) -> Response) {
    let stack = Stack::start();
    let client = stack.admin();
    let listing_before = listed_ids(client);
    let database = Database::open_read_only(&stack.stowage.database_path());
    let file_rows_before = database.file_rows();
    let chunk_rows_before = database.chunk_rows();
    let bytes = vec![0x5a; MAX_UPLOAD_BYTES + 1];

    let response = upload(client, &bytes);

    response.expect_error(413, "upload of 52,428,801 bytes");
    assert_eq!(
        listed_ids(client),
        listing_before,
        "the listing changed after a rejected upload"
    );
    let cleaned = poll_until(CLEANUP_TIMEOUT, || {
        let counts = (database.file_rows(), database.chunk_rows());
        (counts == (file_rows_before, chunk_rows_before)).then_some(())
    });
    assert!(
        cleaned.is_some(),
        "a rejected upload left rows behind after {CLEANUP_TIMEOUT:?}: files {} -> {}, \
         file_chunks {} -> {}",
        file_rows_before,
        database.file_rows(),
        chunk_rows_before,
        database.chunk_rows()
    );
}

fn listed_ids(client: &Client) -> Vec<Value> {
    let listing = client.get_json("/files?limit=100");
    listing["files"]
        .as_array()
        .unwrap_or_else(|| panic!("GET /files has no files array: {listing}"))
        .iter()
        .map(|file| file["id"].clone())
        .collect()
}
