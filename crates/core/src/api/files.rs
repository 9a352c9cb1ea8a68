//! Routes of the files component: `/files/...`.
//!
//! | method | path                  | handler                    |
//! |--------|-----------------------|----------------------------|
//! | GET    | `/files`              | [`files::list`]            |
//! | POST   | `/files`              | [`files::upload`]          |
//! | GET    | `/files/{id}`         | [`files::details`]         |
//! | DELETE | `/files/{id}`         | [`files::delete`]          |
//! | GET    | `/files/{id}/content` | [`files::download`]        |
//!
//! Every route requires authentication. A trailing slash is ignored. HEAD
//! is served wherever GET is, with the GET response's status and headers
//! and no body; HEAD on the content route reads no file bytes.

use super::{no_route, not_allowed};
use crate::auth;
use crate::error::ApiError;
use crate::files;
use crate::http::{BodyReader, Method, Request, Response};
use crate::services::Services;

/// Handles one request to the files component and turns every error into
/// its JSON response. A HEAD request gets the GET response without its
/// body.
pub fn handle(services: &Services, request: &Request, body: &mut dyn BodyReader) -> Response {
    super::finish(request, route(services, request, body))
}

fn route(
    services: &Services,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    crate::startup::prepare(services)?;
    let principal = auth::authenticate(services, request)?;

    let db = services.db;
    let method = &request.method;
    match request.path_segments().as_slice() {
        ["files"] => match method {
            Method::Get | Method::Head => files::list(services, &principal, request),
            Method::Post => files::upload(services, &principal, request, body),
            _ => Err(not_allowed(method, "GET, HEAD, POST")),
        },
        ["files", id] => match method {
            Method::Get | Method::Head => files::details(services, &principal, id),
            Method::Delete => files::delete(db, &principal, id),
            _ => Err(not_allowed(method, "GET, HEAD, DELETE")),
        },
        ["files", id, "content"] => match method {
            Method::Get | Method::Head => files::download(db, &principal, id),
            _ => Err(not_allowed(method, "GET, HEAD")),
        },
        _ => Err(no_route(request)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::session;
    use crate::files::test_support::{insert_file, insert_principal};
    use crate::files::FileStatus;
    use crate::http::{BytesBody, Method};
    use crate::storage::Database;
    use crate::testing::TestEnv;

    /// Signs `principal` in and returns the `Cookie` header value.
    fn session_cookie(env: &TestEnv, user_id: &str, org_id: &str) -> String {
        let session = session::create(&env.services(), user_id, org_id).unwrap();
        let name = crate::auth::cookie::cookie_name(&env.config);
        format!("{name}={}", session.token.expose())
    }

    fn send(env: &TestEnv, cookie: &str, method: Method, path: &str) -> Response {
        let request = Request::new(method, path).with_header("cookie", cookie);
        handle(&env.services(), &request, &mut BytesBody::empty())
    }

    fn error_code(response: &Response) -> String {
        let body: serde_json::Value = serde_json::from_slice(response.body_bytes()).unwrap();
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn request_without_session_is_unauthorized() {
        let env = TestEnv::new();
        let request = Request::new(Method::Get, "/files");

        let response = handle(&env.services(), &request, &mut BytesBody::empty());

        assert_eq!(response.status, 401);
    }

    #[test]
    fn upload_then_details_and_list() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);
        let request = Request::new(Method::Post, "/files?filename=a.txt")
            .with_header("cookie", cookie.as_str())
            .with_header("content-type", "text/plain");

        let uploaded = handle(
            &env.services(),
            &request,
            &mut BytesBody::new(b"hi".to_vec()),
        );
        assert_eq!(uploaded.status, 202);
        let location = uploaded.header("location").unwrap().to_owned();

        let details = send(&env, &cookie, Method::Get, &location);
        assert_eq!(details.status, 200);
        let listing = send(&env, &cookie, Method::Get, "/files/");
        assert_eq!(listing.status, 200);
        let body: serde_json::Value = serde_json::from_slice(listing.body_bytes()).unwrap();
        assert_eq!(body["files"].as_array().unwrap().len(), 1);
        assert_eq!(body["next_cursor"], serde_json::Value::Null);
    }

    #[test]
    fn other_organization_gets_not_found_everywhere() {
        let env = TestEnv::new();
        let owner = insert_principal(&env, "acme");
        let stranger = insert_principal(&env, "globex");
        let id = insert_file(&env, &owner, FileStatus::Ready, 1);
        let cookie = session_cookie(&env, &stranger.user_id, &stranger.org_id);

        for (method, path) in [
            (Method::Get, format!("/files/{id}")),
            (Method::Get, format!("/files/{id}/content")),
            (Method::Delete, format!("/files/{id}")),
        ] {
            let response = send(&env, &cookie, method.clone(), &path);
            assert_eq!(response.status, 404, "{method:?} {path}");
            assert_eq!(error_code(&response), "not_found", "{method:?} {path}");
        }
        let listing = send(&env, &cookie, Method::Get, "/files");
        assert!(!String::from_utf8_lossy(listing.body_bytes()).contains(&id));
        assert_eq!(crate::files::test_support::count_rows(&env, "files"), 1);
    }

    #[test]
    fn uploading_file_is_not_found() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Uploading, 1);
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        assert_eq!(
            send(&env, &cookie, Method::Get, &format!("/files/{id}")).status,
            404
        );
        assert_eq!(
            send(&env, &cookie, Method::Delete, &format!("/files/{id}")).status,
            404
        );
    }

    #[test]
    fn malformed_id_is_not_found() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        for path in ["/files/123", "/files/'%20OR%201=1", "/files/x/content"] {
            let response = send(&env, &cookie, Method::Get, path);
            assert_eq!(response.status, 404, "{path}");
        }
    }

    #[test]
    fn delete_removes_row_and_chunks() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Ready, 1);
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        let response = send(&env, &cookie, Method::Delete, &format!("/files/{id}"));

        assert_eq!(response.status, 204);
        assert_eq!(crate::files::test_support::count_rows(&env, "files"), 0);
        assert_eq!(
            crate::files::test_support::count_rows(&env, "file_chunks"),
            0
        );
        let again = send(&env, &cookie, Method::Delete, &format!("/files/{id}"));
        assert_eq!(again.status, 404);
    }

    #[test]
    fn download_of_pending_file_is_conflict() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Pending, 1);
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        let response = send(&env, &cookie, Method::Get, &format!("/files/{id}/content"));

        assert_eq!(response.status, 409);
        assert_eq!(error_code(&response), "file_not_ready");
    }

    #[test]
    fn wrong_method_lists_allowed_methods() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Ready, 1);
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        for (method, path, allowed) in [
            (Method::Put, "/files".to_owned(), "GET, HEAD, POST"),
            (Method::Post, format!("/files/{id}"), "GET, HEAD, DELETE"),
            (Method::Delete, format!("/files/{id}/content"), "GET, HEAD"),
        ] {
            let response = send(&env, &cookie, method, &path);
            assert_eq!(response.status, 405, "{path}");
            assert_eq!(response.header("allow"), Some(allowed), "{path}");
        }
    }

    #[test]
    fn head_returns_get_status_and_headers_without_body() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let ready = insert_file(&env, &principal, FileStatus::Ready, 1);
        let pending = insert_file(&env, &principal, FileStatus::Pending, 1);
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        for path in [
            "/files".to_owned(),
            format!("/files/{ready}"),
            format!("/files/{ready}/content"),
            format!("/files/{pending}/content"),
            "/files/a/b/c".to_owned(),
        ] {
            let get = send(&env, &cookie, Method::Get, &path);
            let head = send(&env, &cookie, Method::Head, &path);

            assert_eq!(head.status, get.status, "{path}");
            assert_eq!(head.headers, get.headers, "{path}");
            assert_eq!(head.body, crate::http::Body::Omitted, "{path}");
        }
    }

    #[test]
    fn head_of_content_keeps_length_of_download() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Ready, 1);
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        let head = send(&env, &cookie, Method::Head, &format!("/files/{id}/content"));

        assert_eq!(head.status, 200);
        // The stored bytes, not the `size` column the header is built from.
        let size: i64 = env
            .db
            .execute(
                "SELECT SUM(length(data)) FROM file_chunks WHERE file_id = ?",
                &[id.as_str().into()],
            )
            .unwrap()
            .rows[0][0]
            .as_i64()
            .unwrap();
        assert_eq!(
            head.header("content-length"),
            Some(size.to_string().as_str())
        );
    }

    #[test]
    fn unknown_path_is_not_found() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let cookie = session_cookie(&env, &principal.user_id, &principal.org_id);

        let response = send(&env, &cookie, Method::Get, "/files/a/b/c");

        assert_eq!(response.status, 404);
        assert_eq!(error_code(&response), "not_found");
    }
}
