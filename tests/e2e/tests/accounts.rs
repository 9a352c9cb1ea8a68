//! Session and token rules with the real components: cookie attributes,
//! a fresh token per login, expiry, password change, disabling, the
//! Origin check and Bearer tokens; and that every route in docs/API.md
//! exists.
//!
//! Expiry is tested by moving a stored session's times back in the host's
//! key-value file, because the host's clock cannot be moved.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};
use serde_json::{json, Value};
use stowage_e2e::{login_with_retry, repo_root, Client, Response, Stack, StowageOptions};

const EVIL_ORIGIN: &str = "https://evil.example";

fn platform_token(stack: &Stack) -> String {
    stack
        .stowage
        .options()
        .variable_value("platform_token")
        .expect("the test stack sets a platform token")
        .to_owned()
}

/// Creates an organization whose admin is `{prefix}-admin` with a member
/// `{prefix}-member`, and returns both signed in.
fn org_with_member(stack: &Stack, prefix: &str) -> (Client, Client, String) {
    let body = json!({
        "name": format!("Accounts {prefix}"),
        "admin_username": format!("{prefix}-admin"),
        "admin_password": "accounts admin passphrase",
    });
    let authorization = format!("Bearer {}", platform_token(stack));
    let created = stack.client().send(
        "POST",
        "/orgs",
        &[
            ("content-type", "application/json"),
            ("authorization", &authorization),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(created.status, 201, "POST /orgs: {}", created.text());
    let admin = signed_in(
        stack,
        &format!("{prefix}-admin"),
        "accounts admin passphrase",
    );

    let member_name = format!("{prefix}-member");
    let body = json!({ "username": member_name, "password": "accounts member passphrase" });
    let created = admin.post_json("/users", &body);
    assert_eq!(created.status, 201, "POST /users: {}", created.text());
    let member_id = created.json()["user"]["id"].as_str().unwrap().to_owned();
    let member = signed_in(stack, &member_name, "accounts member passphrase");
    (admin, member, member_id)
}

fn signed_in(stack: &Stack, username: &str, password: &str) -> Client {
    let client = stack.client();
    let response = login_with_retry(&client, username, password);
    assert_eq!(
        response.status,
        200,
        "login as {username}: {}",
        response.text()
    );
    client
}

fn create_token(client: &Client, body: Value) -> Value {
    let created = client.post_json("/auth/tokens", &body);
    assert_eq!(created.status, 201, "POST /auth/tokens: {}", created.text());
    created.json()
}

fn with_bearer(stack: &Stack, method: &str, path: &str, token: &str) -> Response {
    let authorization = format!("Bearer {token}");
    stack
        .client()
        .send(method, path, &[("authorization", &authorization)], b"")
}

/// The session cookie's `name=value` as the client stores it.
fn session_cookie(client: &Client, name: &str) -> String {
    client
        .cookie(name)
        .unwrap_or_else(|| panic!("the client has no {name} cookie"))
}

fn replay(stack: &Stack, name: &str, value: &str) -> Client {
    let client = stack.client();
    client.set_cookie(name, value);
    client
}

#[test]
fn cookie_attributes_follow_cookie_secure() {
    for (secure, name) in [(true, "__Host-stowage_session"), (false, "stowage_session")] {
        let stack = Stack::start_with(|redis_url| {
            StowageOptions::new(redis_url).variable("cookie_secure", &secure.to_string())
        });
        let client = stack.client();

        let response = login_with_retry(&client, "admin", "password");

        assert_eq!(response.status, 200, "login: {}", response.text());
        let set_cookie = response.header("set-cookie").expect("a Set-Cookie header");
        let mut parts = set_cookie.split("; ");
        let (cookie_name, value) = parts.next().unwrap().split_once('=').unwrap();
        assert_eq!(cookie_name, name, "{set_cookie}");
        assert_eq!(
            value.len(),
            64,
            "the token is 256 bits in hex: {set_cookie}"
        );
        let attributes: Vec<&str> = parts.collect();
        let mut expected = vec!["Max-Age=86400", "Path=/", "HttpOnly", "SameSite=Lax"];
        if secure {
            expected.push("Secure");
        }
        assert_eq!(attributes, expected, "cookie_secure={secure}: {set_cookie}");
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(client.get("/auth/me").status, 200, "cookie_secure={secure}");

        let logout = client.post("/auth/logout", &[], b"");
        assert_eq!(logout.status, 204);
        let cleared = logout.header("set-cookie").unwrap();
        assert!(
            cleared.starts_with(&format!("{name}=; Max-Age=0; Path=/")),
            "{cleared}"
        );
        replay(&stack, name, value)
            .get("/auth/me")
            .expect_error(401, "a cookie after logout");
    }
}

#[test]
fn each_login_gets_fresh_token() {
    let stack = Stack::shared();
    let first = signed_in(&stack, "admin", "password");
    let second = signed_in(&stack, "admin", "password");

    let first_token = session_cookie(&first, "stowage_session");
    let second_token = session_cookie(&second, "stowage_session");

    assert_ne!(first_token, second_token);
    assert_eq!(first.get("/auth/me").status, 200, "the first session ended");
    assert_eq!(second.get("/auth/me").status, 200);
}

#[test]
fn idle_and_absolute_expiry_end_sessions() {
    let stack = Stack::start();
    let (_, idle, idle_id) = org_with_member(&stack, "idle");
    let (_, old, old_id) = org_with_member(&stack, "old");
    let (_, fresh, _) = org_with_member(&stack, "fresh");
    let now = now_millis();
    let hour = 60 * 60 * 1000;

    // Idle: signed in an hour ago, last seen 2 h ago (the default timeout).
    set_session_times(&stack, &idle_id, now - 3 * hour, now - 2 * hour);
    // Absolute: active a minute ago, but signed in 24 h ago.
    set_session_times(&stack, &old_id, now - 24 * hour, now - 60_000);

    idle.get("/files")
        .expect_error(401, "a session idle for 2 h");
    old.get("/files")
        .expect_error(401, "a session signed in 24 h ago");
    assert_eq!(
        fresh.get("/files").status,
        200,
        "an untouched session ended"
    );
    assert_eq!(
        session_entries(&stack, &idle_id) + session_entries(&stack, &old_id),
        0,
        "expired sessions stay in the key-value store"
    );
}

#[test]
fn password_change_rotates_and_revokes() {
    let stack = Stack::start();
    let (_, this_device, _) = org_with_member(&stack, "rotate");
    let other_device = signed_in(&stack, "rotate-member", "accounts member passphrase");
    let token = create_token(&this_device, json!({ "name": "script" }));
    let old_cookie = session_cookie(&this_device, "stowage_session");
    std::thread::sleep(Duration::from_millis(5));

    let body = json!({
        "current_password": "accounts member passphrase",
        "new_password": "a rotated member passphrase",
    });
    let response = this_device.post_json("/auth/password", &body);

    assert_eq!(response.status, 204, "password change: {}", response.text());
    let new_cookie = session_cookie(&this_device, "stowage_session");
    assert_ne!(new_cookie, old_cookie, "the session was not rotated");
    assert_eq!(this_device.get("/auth/me").status, 200, "the new session");
    replay(&stack, "stowage_session", &old_cookie)
        .get("/auth/me")
        .expect_error(401, "the session from before the change");
    other_device
        .get("/auth/me")
        .expect_error(401, "another session of the user");
    let token = token["token"].as_str().unwrap();
    assert_eq!(
        with_bearer(&stack, "GET", "/auth/me", token).status,
        200,
        "API tokens stay valid after the user's own password change"
    );
    let old_login = login_with_retry(
        &stack.client(),
        "rotate-member",
        "accounts member passphrase",
    );
    old_login.expect_error(401, "login with the old password");
    signed_in(&stack, "rotate-member", "a rotated member passphrase");
}

#[test]
fn disabling_ends_access_until_enabled() {
    let stack = Stack::start();
    let (admin, member, member_id) = org_with_member(&stack, "disable");
    let token = create_token(&member, json!({ "name": "script" }));
    let token = token["token"].as_str().unwrap();
    let path = format!("/users/{member_id}");

    let disable = admin.send(
        "PATCH",
        &path,
        &[("content-type", "application/json")],
        br#"{"disabled": true}"#,
    );
    assert_eq!(disable.status, 200, "disable: {}", disable.text());

    member
        .get("/auth/me")
        .expect_error(401, "the session of a disabled user");
    with_bearer(&stack, "GET", "/auth/me", token).expect_error(401, "a disabled user's token");
    login_with_retry(
        &stack.client(),
        "disable-member",
        "accounts member passphrase",
    )
    .expect_error(401, "login of a disabled user");

    let enable = admin.send(
        "PATCH",
        &path,
        &[("content-type", "application/json")],
        br#"{"disabled": false}"#,
    );
    assert_eq!(enable.status, 200, "enable: {}", enable.text());
    assert_eq!(with_bearer(&stack, "GET", "/auth/me", token).status, 200);
    signed_in(&stack, "disable-member", "accounts member passphrase");
}

#[test]
fn cross_site_origin_is_rejected_on_cookie_writes() {
    let stack = Stack::start();
    let (admin, _, member_id) = org_with_member(&stack, "origin");
    let token = create_token(&admin, json!({ "name": "script" }));
    let token_id = token["id"].as_str().unwrap();
    let upload = admin.upload_raw("origin.txt", b"origin check\n");
    assert_eq!(upload.status, 202, "upload: {}", upload.text());
    let file_id = upload.json()["id"].as_str().unwrap().to_owned();
    let json_type = ("content-type", "application/json");
    let requests: [(&str, String, Option<&str>, &[u8]); 5] = [
        (
            "POST",
            "/auth/tokens".to_owned(),
            Some("application/json"),
            br#"{"name":"x"}"#,
        ),
        (
            "POST",
            "/files?filename=x.txt".to_owned(),
            Some("text/plain"),
            b"x",
        ),
        (
            "PATCH",
            format!("/users/{member_id}"),
            Some("application/json"),
            br#"{"role":"admin"}"#,
        ),
        ("DELETE", format!("/files/{file_id}"), None, b""),
        ("DELETE", format!("/auth/tokens/{token_id}"), None, b""),
    ];

    for (method, path, content_type, body) in &requests {
        let mut headers = vec![("origin", EVIL_ORIGIN)];
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        let response = admin.send(method, path, &headers, body);
        let error = response.expect_error(403, &format!("{method} {path} from {EVIL_ORIGIN}"));
        assert_eq!(error["code"], "cross_site_request", "{method} {path}");
    }

    let listing = admin.get_json("/files");
    assert_eq!(listing["files"].as_array().unwrap().len(), 1, "{listing}");
    let tokens = admin.get_json("/auth/tokens");
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 1, "{tokens}");
    let users = admin.get_json("/users");
    assert!(users.to_string().contains("\"role\":\"member\""), "{users}");

    // The service's own origin passes, and so does a Bearer request from
    // any origin, because browsers do not attach tokens by themselves.
    let own_origin = stack.stowage.base_url().to_owned();
    let own = admin.send(
        "POST",
        "/auth/tokens",
        &[("origin", &own_origin), json_type],
        br#"{"name":"same origin"}"#,
    );
    assert_eq!(own.status, 201, "same-origin POST: {}", own.text());
    let bearer = stack.client().send(
        "DELETE",
        &format!("/files/{file_id}"),
        &[
            ("origin", EVIL_ORIGIN),
            (
                "authorization",
                &format!("Bearer {}", token["token"].as_str().unwrap()),
            ),
        ],
        b"",
    );
    assert_eq!(bearer.status, 204, "Bearer DELETE: {}", bearer.text());
}

#[test]
fn bearer_tokens_valid_revoked_expired() {
    let stack = Stack::start();
    let (admin, _, _) = org_with_member(&stack, "bearer");
    let valid = create_token(&admin, json!({ "name": "valid", "expires_in_days": 30 }));
    let revoked = create_token(&admin, json!({ "name": "revoked" }));
    let expired = create_token(&admin, json!({ "name": "expired", "expires_in_days": 1 }));
    let secret = |token: &Value| token["token"].as_str().unwrap().to_owned();

    let revoke = admin.delete(&format!("/auth/tokens/{}", revoked["id"].as_str().unwrap()));
    assert_eq!(revoke.status, 204, "revoke: {}", revoke.text());
    expire_token(&stack, expired["id"].as_str().unwrap());

    let me = with_bearer(&stack, "GET", "/auth/me", &secret(&valid));
    assert_eq!(me.status, 200, "a valid token: {}", me.text());
    assert_eq!(me.json()["username"], "bearer-admin");
    assert_eq!(
        with_bearer(&stack, "GET", "/files", &secret(&valid)).status,
        200
    );
    for (case, token) in [
        ("a revoked token", secret(&revoked)),
        ("an expired token", secret(&expired)),
        ("a token never issued", format!("stw_{}", "ab".repeat(32))),
        ("a malformed token", "not-a-token".to_owned()),
    ] {
        let response = with_bearer(&stack, "GET", "/files", &token);
        let error = response.expect_error(401, case);
        assert_eq!(error["code"], "unauthorized", "{case}");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "{case}"
        );
    }
}

#[test]
fn api_reference_lists_only_existing_routes() {
    let stack = Stack::shared();
    let admin = signed_in(&stack, "admin", "password");
    let token = create_token(&admin, json!({ "name": "api reference" }));
    let token = token["token"].as_str().unwrap();
    let routes = documented_routes(&repo_root().join("docs/API.md"));
    assert!(
        routes.len() >= 17,
        "docs/API.md lists only {} routes: {routes:?}",
        routes.len()
    );

    let mut missing = Vec::new();
    for (method, path) in &routes {
        let path = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let authorization = format!("Bearer {token}");
        let response = stack.client().send(
            method,
            &path,
            &[
                ("authorization", &authorization),
                ("content-type", "application/json"),
            ],
            b"{}",
        );
        let message = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let no_route = response.status == 404 && message.starts_with("no route");
        if no_route || response.status == 405 {
            missing.push(format!(
                "{method} {path}: {} {}",
                response.status,
                response.text()
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "documented routes that do not exist:\n{}",
        missing.join("\n")
    );
}

/// The `### METHOD /path` headings of the API reference.
fn documented_routes(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    text.lines()
        .filter_map(|line| line.strip_prefix("### "))
        .filter_map(|heading| heading.split_once(' '))
        .filter(|(method, route)| {
            ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) && route.starts_with('/')
        })
        .map(|(method, route)| (method.to_owned(), route.trim().to_owned()))
        .collect()
}

fn now_millis() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_millis()).unwrap()
}

fn key_value_file(stack: &Stack) -> Connection {
    let path = stack.stowage.state_dir().join("sqlite_key_value.db");
    assert!(path.is_file(), "no key-value file at {}", path.display());
    let connection = Connection::open(&path).unwrap();
    connection.busy_timeout(Duration::from_secs(10)).unwrap();
    connection
}

/// The stored sessions of `user_id`, as key and JSON record.
fn sessions_of(connection: &Connection, user_id: &str) -> Vec<(String, Value)> {
    let mut statement = connection
        .prepare("SELECT key, value FROM spin_key_value WHERE key LIKE 'session:%'")
        .unwrap();
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .unwrap();
    rows.map(Result::unwrap)
        .map(|(key, value)| (key, serde_json::from_slice::<Value>(&value).unwrap()))
        .filter(|(_, record)| record["user_id"] == user_id)
        .collect()
}

fn session_entries(stack: &Stack, user_id: &str) -> usize {
    sessions_of(&key_value_file(stack), user_id).len()
}

/// Moves the sign-in and last-seen times of every session of `user_id`.
fn set_session_times(stack: &Stack, user_id: &str, created_at: i64, last_seen_at: i64) {
    let connection = key_value_file(stack);
    let sessions = sessions_of(&connection, user_id);
    assert!(!sessions.is_empty(), "user {user_id} has no stored session");
    for (key, mut record) in sessions {
        record["created_at"] = json!(created_at);
        record["last_seen_at"] = json!(last_seen_at);
        connection
            .execute(
                "UPDATE spin_key_value SET value = ?1 WHERE key = ?2",
                params![record.to_string().into_bytes(), key],
            )
            .unwrap();
    }
}

/// Sets a token's expiry one second in the past in the host's database.
fn expire_token(stack: &Stack, token_id: &str) {
    let connection = Connection::open(stack.stowage.database_path()).unwrap();
    connection.busy_timeout(Duration::from_secs(10)).unwrap();
    let changed = connection
        .execute(
            "UPDATE api_tokens SET expires_at = ?1 WHERE id = ?2",
            params![now_millis() - 1000, token_id],
        )
        .unwrap();
    assert_eq!(changed, 1, "token {token_id} not found in the database");
}
