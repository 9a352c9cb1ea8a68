//! A user of one organization cannot see, download or delete another
//! organization's files: every such request is 404, as for a file that
//! does not exist.
//!
//! The tests share one stack. With the sample admin and one user per test
//! they make 4 logins, below the limit of 5 per minute from one address.

use std::time::Duration;

use serde_json::Value;
use stowage_e2e::{create_organization, fixture, percent_encode, Client, Stack, StackHandle};

const READY_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn other_org_cannot_read_file() {
    let stack = Stack::shared();
    let id = upload_ready_file(&stack);
    let outsider = sign_in_other_org(&stack, "Globex Readers", "globex-reader");

    for path in [format!("/files/{id}"), format!("/files/{id}/content")] {
        let response = outsider.get(&path);
        response.expect_error(404, &format!("GET {path} by another organization"));
    }
    let owner_view = stack.admin().get(&format!("/files/{id}"));
    assert_eq!(
        owner_view.status,
        200,
        "the owner lost the file: {}",
        owner_view.text()
    );
}

#[test]
fn other_org_cannot_delete_file() {
    let stack = Stack::shared();
    let id = upload_ready_file(&stack);
    let outsider = sign_in_other_org(&stack, "Globex Deleters", "globex-deleter");

    let response = outsider.delete(&format!("/files/{id}"));

    response.expect_error(404, "DELETE by another organization");
    let owner_view = stack.admin().get_json(&format!("/files/{id}"));
    assert_eq!(
        owner_view["status"], "ready",
        "the file changed: {owner_view}"
    );
    let download = stack.admin().get(&format!("/files/{id}/content"));
    let expected = std::fs::read(fixture("notes.txt")).unwrap();
    assert_eq!(
        download.status,
        200,
        "the owner cannot download: {}",
        download.text()
    );
    assert!(
        download.body == expected,
        "the owner's download differs from the upload"
    );
}

#[test]
fn other_org_listing_excludes_file() {
    let stack = Stack::shared();
    let id = upload_ready_file(&stack);
    let outsider = sign_in_other_org(&stack, "Globex Listers", "globex-lister");

    let outsider_ids = all_listed_ids(&outsider);
    let owner_ids = all_listed_ids(stack.admin());

    assert!(
        !outsider_ids.contains(&id),
        "another organization's listing contains file {id}: {outsider_ids:?}"
    );
    assert!(
        outsider_ids.is_empty(),
        "a new organization without uploads lists files: {outsider_ids:?}"
    );
    assert!(
        owner_ids.contains(&id),
        "the owner's listing lacks file {id}"
    );
}

#[test]
fn unknown_file_id_is_404() {
    let stack = Stack::shared();
    let id = uuid::Uuid::new_v4();

    let response = stack.admin().get(&format!("/files/{id}"));

    response.expect_error(404, "GET of a file id that was never issued");
}

/// Uploads notes.txt as the sample admin and returns its id once ready.
fn upload_ready_file(stack: &StackHandle) -> String {
    let bytes = std::fs::read(fixture("notes.txt")).unwrap();
    let response = stack.admin().upload_multipart("notes.txt", &bytes);
    assert_eq!(response.status, 202, "upload failed: {}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_owned();
    stack.admin().wait_until_ready(&id, READY_TIMEOUT);
    id
}

/// Creates organization `org` with user `username` and signs them in.
fn sign_in_other_org(stack: &StackHandle, org: &str, username: &str) -> Client {
    let password = "isolation-e2e-passphrase-8351";
    create_organization(&stack.stowage, org, username, password);
    let client = stack.client();
    client.login(username, password);
    client
}

/// Every file id the client's listing returns, following `next_cursor`.
fn all_listed_ids(client: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = "/files?limit=100".to_owned();
    loop {
        let page = client.get_json(&path);
        let files = page["files"]
            .as_array()
            .unwrap_or_else(|| panic!("GET {path} has no files array: {page}"));
        ids.extend(
            files
                .iter()
                .filter_map(|file| file["id"].as_str().map(String::from)),
        );
        match &page["next_cursor"] {
            Value::String(cursor) => {
                path = format!("/files?limit=100&cursor={}", percent_encode(cursor))
            }
            _ => return ids,
        }
    }
}
