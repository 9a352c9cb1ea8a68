//! HTTP behaviour shared by every route: HEAD wherever GET works, and the
//! JSON 404 for paths outside the service's routes.

use std::time::Duration;

use stowage_e2e::{fixture, RawRequest, Stack};

const READY_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn head_matches_get_without_body() {
    let stack = Stack::shared();
    let client = stack.admin();
    let bytes = std::fs::read(fixture("notes.txt")).unwrap();
    let upload = client.upload_multipart("notes.txt", &bytes);
    assert_eq!(upload.status, 202, "upload failed: {}", upload.text());
    let id = upload.json()["id"].as_str().unwrap().to_owned();
    client.wait_until_ready(&id, READY_TIMEOUT);

    for path in [
        "/files".to_owned(),
        format!("/files/{id}"),
        format!("/files/{id}/content"),
        "/auth/me".to_owned(),
    ] {
        let get = client.get(&path);
        let head = client.send("HEAD", &path, &[], &[]);

        assert_eq!(head.status, get.status, "HEAD {path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "Content-Type of HEAD {path}"
        );
        assert!(
            head.body.is_empty(),
            "HEAD {path} sent a body: {}",
            head.text()
        );
    }

    let head = client.send("HEAD", &format!("/files/{id}/content"), &[], &[]);
    let length = bytes.len().to_string();
    assert_eq!(head.header("content-length"), Some(length.as_str()));
    assert_eq!(
        head.header("content-disposition"),
        Some("attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt")
    );
    // The connection stays usable: a body sent after the head of a HEAD
    // response would be read as the start of the next response.
    let details = client.get_json(&format!("/files/{id}"));
    assert_eq!(details["id"], id.as_str());
}

#[test]
fn head_on_post_only_route_is_not_allowed() {
    let stack = Stack::shared();

    let response = stack.client().send("HEAD", "/auth/login", &[], &[]);

    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
}

#[test]
fn paths_outside_the_routes_get_json_not_found() {
    let stack = Stack::shared();

    for path in ["/", "/health", "//files", "/files2", "/auth2/login"] {
        let response = RawRequest::new("GET", path).send(stack.stowage.base_url(), REQUEST_TIMEOUT);

        let error = response.expect_error(404, &format!("GET {path}"));
        assert_eq!(error["code"], "not_found", "GET {path}");
        assert_eq!(
            error["message"],
            format!("no route for {path}"),
            "GET {path}"
        );
    }
}
