//! The README's walk-through with the routes of the original service, and
//! the listing and deletion that follow from it.

use std::time::Duration;

use serde_json::Value;
use stowage_e2e::{
    fixture, percent_encode, Client, Database, Stack, ADMIN_PASSWORD, ADMIN_USERNAME,
};

const READY_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn readme_walkthrough_works() {
    let stack = Stack::shared();
    let client = stack.client();
    let path = fixture("notes.txt");
    let bytes = std::fs::read(&path).unwrap();

    let login = client.login(ADMIN_USERNAME, ADMIN_PASSWORD);
    assert_eq!(
        login["user"]["username"], ADMIN_USERNAME,
        "login body: {login}"
    );
    assert_eq!(
        login["user"]["org_name"], "Acme Corp",
        "login body: {login}"
    );

    let upload = client.upload_multipart("notes.txt", &bytes);
    assert_eq!(upload.status, 202, "upload failed: {}", upload.text());
    let uploaded = upload.json();
    let id = uploaded["id"]
        .as_str()
        .expect("the upload response has an id");
    assert_eq!(
        upload.header("location"),
        Some(format!("/files/{id}").as_str()),
        "Location of the upload"
    );
    for field in [
        "id",
        "filename",
        "status",
        "size",
        "mime_type",
        "sha256",
        "created_at",
        "processed_at",
    ] {
        assert!(
            uploaded.get(field).is_some(),
            "the upload response lacks the field {field}: {uploaded}"
        );
    }

    let listing = client.get_json("/files");
    let listed = listing["files"]
        .as_array()
        .unwrap_or_else(|| panic!("GET /files has no files array: {listing}"));
    assert!(
        listed.iter().any(|file| file["id"] == id),
        "GET /files does not list the upload {id}: {listing}"
    );
    assert!(
        listing.get("next_cursor").is_some(),
        "GET /files lacks next_cursor: {listing}"
    );

    let details = client.get_json(&format!("/files/{id}"));
    assert_eq!(details["id"], id, "GET /files/{id}: {details}");
    assert_eq!(
        details["filename"], "notes.txt",
        "GET /files/{id}: {details}"
    );

    let ready = client.wait_until_ready(id, READY_TIMEOUT);
    assert_eq!(
        ready["size"].as_u64(),
        Some(bytes.len() as u64),
        "size of notes.txt: {ready}"
    );
}

#[test]
fn listing_pages_newest_first() {
    let stack = Stack::shared();
    let client = stack.admin();
    let bytes = std::fs::read(fixture("notes.txt")).unwrap();
    let uploaded: Vec<String> = (1..=3)
        .map(|n| upload_id(client, &format!("page-{n}.txt"), &bytes))
        .collect();

    let (listed, largest_page) = all_listed_ids(client, 2);

    assert!(
        largest_page <= 2,
        "a page with limit=2 held {largest_page} files"
    );
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), listed.len(), "pages repeat files: {listed:?}");
    let positions: Vec<usize> = uploaded
        .iter()
        .map(|id| {
            listed
                .iter()
                .position(|listed_id| listed_id == id)
                .unwrap_or_else(|| panic!("file {id} is missing from the pages: {listed:?}"))
        })
        .collect();
    assert!(
        positions[0] > positions[1] && positions[1] > positions[2],
        "expected the newest upload first, got positions {positions:?} for uploads in order"
    );
}

#[test]
fn deleted_file_is_gone() {
    let stack = Stack::shared();
    let client = stack.admin();
    let bytes = std::fs::read(fixture("notes.txt")).unwrap();
    let id = upload_id(client, "to-delete.txt", &bytes);
    client.wait_until_ready(&id, READY_TIMEOUT);

    let response = client.delete(&format!("/files/{id}"));

    assert_eq!(response.status, 204, "DELETE failed: {}", response.text());
    client
        .get(&format!("/files/{id}"))
        .expect_error(404, "GET of a deleted file");
    client
        .get(&format!("/files/{id}/content"))
        .expect_error(404, "download of a deleted file");
    let (listed, _) = all_listed_ids(client, 100);
    assert!(
        !listed.contains(&id),
        "the listing still has the deleted file {id}"
    );
    let database = Database::open_read_only(&stack.stowage.database_path());
    assert_eq!(
        database.chunk_rows_of(&id),
        0,
        "the deleted file {id} left chunk rows"
    );
}

fn upload_id(client: &Client, filename: &str, bytes: &[u8]) -> String {
    let response = client.upload_multipart(filename, bytes);
    assert_eq!(
        response.status,
        202,
        "upload of {filename} failed: {}",
        response.text()
    );
    response.json()["id"].as_str().unwrap().to_owned()
}

/// Collects every listed file id, following `next_cursor` with pages of `limit`,
/// and the size of the largest page.
fn all_listed_ids(client: &Client, limit: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut largest_page = 0;
    let mut path = format!("/files?limit={limit}");
    loop {
        let page = client.get_json(&path);
        let files = page["files"]
            .as_array()
            .unwrap_or_else(|| panic!("GET {path} has no files array: {page}"));
        largest_page = largest_page.max(files.len());
        ids.extend(
            files
                .iter()
                .filter_map(|file| file["id"].as_str().map(String::from)),
        );
        match &page["next_cursor"] {
            Value::String(cursor) => {
                path = format!("/files?limit={limit}&cursor={}", percent_encode(cursor))
            }
            _ => return (ids, largest_page),
        }
    }
}
