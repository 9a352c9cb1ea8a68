use serde_json::{json, Value};

use super::handle;
use crate::auth::session::LAST_SEEN_INTERVAL_SECS;
use crate::auth::Role;
use crate::config::Secret;
use crate::http::{BytesBody, Method, Request, Response};
use crate::storage::Database;
use crate::testing::{create_org_and_user, TestDatabase, TestEnv, TEST_PASSWORD};

fn call(env: &TestEnv, request: Request, body: Option<Value>) -> Response {
    let mut body = match body {
        Some(value) => BytesBody::new(serde_json::to_vec(&value).unwrap()),
        None => BytesBody::empty(),
    };
    handle(&env.services(), &request, &mut body)
}

fn json_of(response: &Response) -> Value {
    serde_json::from_slice(response.body_bytes()).unwrap()
}

fn error_code(response: &Response) -> String {
    json_of(response)["error"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn login(env: &TestEnv, username: &str, password: &str) -> Response {
    let request = Request::new(Method::Post, "/auth/login")
        .with_header("content-type", "application/json")
        .with_header("host", "127.0.0.1:3000");
    call(
        env,
        request,
        Some(json!({ "username": username, "password": password })),
    )
}

/// Signs in and returns the `name=value` pair to send in `Cookie`.
fn sign_in(env: &TestEnv, username: &str) -> String {
    let response = login(env, username, TEST_PASSWORD);
    assert_eq!(response.status, 200, "{:?}", json_of(&response));
    cookie_pair(&response)
}

fn cookie_pair(response: &Response) -> String {
    let set_cookie = response.header("set-cookie").unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

fn with_cookie(method: Method, path: &str, cookie: &str) -> Request {
    Request::new(method, path)
        .with_header("cookie", cookie)
        .with_header("host", "127.0.0.1:3000")
}

fn me(env: &TestEnv, cookie: &str) -> Response {
    call(env, with_cookie(Method::Get, "/auth/me", cookie), None)
}

#[test]
fn login_returns_user_and_sets_cookie() {
    let env = TestEnv::new();
    let alice = create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);

    let response = login(&env, "alice", TEST_PASSWORD);

    assert_eq!(response.status, 200);
    let user = &json_of(&response)["user"];
    assert_eq!(user["id"], alice.user_id.as_str());
    assert_eq!(user["username"], "alice");
    assert_eq!(user["role"], "admin");
    assert_eq!(user["org_id"], alice.org_id.as_str());
    assert_eq!(user["org_name"], "Acme Corp");
    let set_cookie = response.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("stowage_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

#[test]
fn login_username_is_case_insensitive() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);

    assert_eq!(login(&env, "Alice", TEST_PASSWORD).status, 200);
}

#[test]
fn secure_config_sets_host_prefixed_cookie() {
    let mut env = TestEnv::new();
    env.config.cookie_secure = true;
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);

    let response = login(&env, "alice", TEST_PASSWORD);

    let set_cookie = response.header("set-cookie").unwrap();
    assert!(
        set_cookie.starts_with("__Host-stowage_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
}

#[test]
fn unknown_user_and_wrong_password_fail_alike() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);

    let wrong_password = login(&env, "alice", "not the password");
    let unknown_user = login(&env, "mallory", TEST_PASSWORD);
    let invalid_username = login(&env, "no such user!", TEST_PASSWORD);

    for response in [&wrong_password, &unknown_user, &invalid_username] {
        assert_eq!(response.status, 401);
        assert_eq!(response.header("set-cookie"), None);
    }
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(wrong_password.body, invalid_username.body);
    assert_eq!(error_code(&wrong_password), "invalid_credentials");
    assert_eq!(
        json_of(&wrong_password)["error"]["message"],
        "invalid username or password"
    );
}

#[test]
fn each_login_gets_fresh_token() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);

    let first = sign_in(&env, "alice");
    let second = sign_in(&env, "alice");

    assert_ne!(first, second);
    assert_eq!(
        env.kv
            .keys()
            .iter()
            .filter(|k| k.starts_with("session:"))
            .count(),
        2
    );
}

#[test]
fn login_rejects_malformed_bodies() {
    let env = TestEnv::new();
    let post = || Request::new(Method::Post, "/auth/login");
    let cases = [
        (
            post(),
            BytesBody::new("{\"username\": \"alice\""),
            400,
            "invalid_json",
        ),
        (
            post(),
            BytesBody::new("{\"username\": \"alice\"}"),
            400,
            "invalid_json",
        ),
        (
            post(),
            BytesBody::new("{\"username\": 1, \"password\": 2}"),
            400,
            "invalid_json",
        ),
        (post(), BytesBody::empty(), 400, "invalid_json"),
        (
            post().with_header("content-type", "text/plain"),
            BytesBody::new("{}"),
            415,
            "unsupported_media_type",
        ),
        (
            post(),
            BytesBody::new(vec![b' '; 64 * 1024 + 1]),
            413,
            "payload_too_large",
        ),
        (
            post().with_header("content-length", "1000000"),
            BytesBody::empty(),
            413,
            "payload_too_large",
        ),
    ];

    for (request, mut body, status, code) in cases {
        let response = handle(&env.services(), &request, &mut body);
        assert_eq!(response.status, status, "{:?}", json_of(&response));
        assert_eq!(error_code(&response), code);
    }
}

#[test]
fn invalid_json_message_does_not_echo_password() {
    let env = TestEnv::new();
    let request = Request::new(Method::Post, "/auth/login");
    let body = json!({ "username": "alice", "password": 987654321 });

    let response = call(&env, request, Some(body));

    assert_eq!(response.status, 400);
    let message = json_of(&response)["error"]["message"].to_string();
    assert!(!message.contains("987654321"), "{message}");
}

#[test]
fn json_content_type_with_charset_is_accepted() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let request = Request::new(Method::Post, "/auth/login")
        .with_header("content-type", "Application/JSON; charset=utf-8");
    let body = json!({ "username": "alice", "password": TEST_PASSWORD });

    assert_eq!(call(&env, request, Some(body)).status, 200);
}

#[test]
fn login_is_rate_limited_per_address() {
    let env = TestEnv::new();
    let attempt = |username: &str| {
        let mut request = Request::new(Method::Post, "/auth/login");
        request.client_addr = Some("203.0.113.7:50000".to_owned());
        let body = json!({ "username": username, "password": "wrong password" });
        call(&env, request, Some(body))
    };

    for index in 0..5 {
        assert_eq!(attempt(&format!("user{index}")).status, 401);
    }
    let limited = attempt("user5");

    assert_eq!(limited.status, 429);
    assert_eq!(error_code(&limited), "rate_limited");
    assert_eq!(limited.header("retry-after"), Some("60"));
}

#[test]
fn login_is_rate_limited_per_username() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    for _ in 0..5 {
        assert_eq!(login(&env, "alice", "wrong password").status, 401);
    }

    // The right password does not help once the limit is reached.
    assert_eq!(login(&env, "ALICE", TEST_PASSWORD).status, 429);

    env.clock.advance_secs(60);
    assert_eq!(login(&env, "alice", TEST_PASSWORD).status, 200);
}

#[test]
fn me_returns_signed_in_user() {
    let env = TestEnv::new();
    let alice = create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    let response = me(&env, &cookie);

    assert_eq!(response.status, 200);
    let user = json_of(&response);
    assert_eq!(user["id"], alice.user_id.as_str());
    assert_eq!(user["username"], "alice");
    assert_eq!(user["role"], "member");
    assert_eq!(user["org_id"], alice.org_id.as_str());
    assert_eq!(user["org_name"], "Acme Corp");
}

#[test]
fn me_without_session_is_unauthorized() {
    let env = TestEnv::new();

    let response = call(&env, Request::new(Method::Get, "/auth/me"), None);

    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response), "unauthorized");
}

#[test]
fn reading_requests_do_not_write_sessions() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");
    let session_key = env
        .kv
        .keys()
        .into_iter()
        .find(|k| k.starts_with("session:"))
        .unwrap();
    let stored = || crate::storage::KeyValue::get(&env.kv, &session_key).unwrap();
    let before = stored();

    env.clock.advance_secs(LAST_SEEN_INTERVAL_SECS - 1);
    for _ in 0..3 {
        assert_eq!(me(&env, &cookie).status, 200);
    }
    assert_eq!(stored(), before);

    env.clock.advance_secs(1);
    assert_eq!(me(&env, &cookie).status, 200);
    assert_ne!(stored(), before);
}

#[test]
fn session_expires_when_idle() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    env.clock.advance_secs(2 * 60 * 60);

    assert_eq!(me(&env, &cookie).status, 401);
}

#[test]
fn session_expires_after_a_day_despite_activity() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    for _ in 0..23 {
        env.clock.advance_secs(60 * 60);
        assert_eq!(me(&env, &cookie).status, 200);
    }
    env.clock.advance_secs(60 * 60);

    assert_eq!(me(&env, &cookie).status, 401);
}

#[test]
fn logout_revokes_session_and_clears_cookie() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    let response = call(
        &env,
        with_cookie(Method::Post, "/auth/logout", &cookie),
        None,
    );

    assert_eq!(response.status, 204);
    let set_cookie = response.header("set-cookie").unwrap();
    assert!(set_cookie.contains("Max-Age=0"), "{set_cookie}");
    assert_eq!(me(&env, &cookie).status, 401);
    assert!(env.kv.keys().iter().all(|key| !key.starts_with("session:")));
}

#[test]
fn logout_without_session_succeeds() {
    let env = TestEnv::new();

    let response = call(&env, Request::new(Method::Post, "/auth/logout"), None);

    assert_eq!(response.status, 204);
    assert!(response.header("set-cookie").unwrap().contains("Max-Age=0"));
}

#[test]
fn password_change_revokes_other_sessions() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let other_device = sign_in(&env, "alice");
    let this_device = sign_in(&env, "alice");
    env.clock.advance_secs(1);

    let request = with_cookie(Method::Post, "/auth/password", &this_device);
    let body =
        json!({ "current_password": TEST_PASSWORD, "new_password": "a new long passphrase" });
    let response = call(&env, request, Some(body));

    assert_eq!(response.status, 204, "{:?}", response.body);
    let rotated = cookie_pair(&response);
    assert_ne!(rotated, this_device);
    assert_eq!(me(&env, &other_device).status, 401);
    assert_eq!(me(&env, &this_device).status, 401);
    assert_eq!(me(&env, &rotated).status, 200);
    assert_eq!(login(&env, "alice", TEST_PASSWORD).status, 401);
    assert_eq!(login(&env, "alice", "a new long passphrase").status, 200);
}

#[test]
fn password_change_checks_current_and_new_password() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");
    let change = |current: &str, new: &str| {
        let request = with_cookie(Method::Post, "/auth/password", &cookie);
        let body = json!({ "current_password": current, "new_password": new });
        call(&env, request, Some(body))
    };

    let cases = [
        (
            "wrong current",
            "a new long passphrase",
            "invalid_current_password",
        ),
        (TEST_PASSWORD, "short", "password_too_short"),
        (TEST_PASSWORD, "iloveyou2", "password_too_common"),
        (TEST_PASSWORD, TEST_PASSWORD, "password_unchanged"),
    ];
    for (current, new, code) in cases {
        let response = change(current, new);
        assert_eq!(response.status, 422, "{new}");
        assert_eq!(error_code(&response), code);
    }
    assert_eq!(me(&env, &cookie).status, 200);
}

#[test]
fn cross_site_unsafe_request_is_rejected() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    let request = with_cookie(Method::Post, "/auth/tokens", &cookie)
        .with_header("origin", "https://evil.example");
    let response = call(&env, request, Some(json!({ "name": "ci" })));

    assert_eq!(response.status, 403);
    assert_eq!(error_code(&response), "cross_site_request");
}

#[test]
fn same_origin_unsafe_request_is_allowed() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    let request = with_cookie(Method::Post, "/auth/tokens", &cookie)
        .with_header("origin", "http://127.0.0.1:3000");
    let response = call(&env, request, Some(json!({ "name": "ci" })));

    assert_eq!(response.status, 201);
}

#[test]
fn cross_site_login_is_rejected() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let request = Request::new(Method::Post, "/auth/login")
        .with_header("host", "127.0.0.1:3000")
        .with_header("origin", "https://evil.example");
    let body = json!({ "username": "alice", "password": TEST_PASSWORD });

    assert_eq!(call(&env, request, Some(body)).status, 403);
}

#[test]
fn disabled_user_loses_session_and_cannot_sign_in() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    env.db
        .execute(
            "UPDATE users SET disabled = 1 WHERE username = 'alice'",
            &[],
        )
        .unwrap();

    assert_eq!(me(&env, &cookie).status, 401);
    let response = login(&env, "alice", TEST_PASSWORD);
    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response), "invalid_credentials");
}

#[test]
fn unknown_route_is_not_found() {
    let env = TestEnv::new();

    let response = call(&env, Request::new(Method::Get, "/auth/nothing"), None);

    assert_eq!(response.status, 404);
    assert_eq!(error_code(&response), "not_found");
}

#[test]
fn paths_of_no_route_skip_schema_and_authentication() {
    let mut env = TestEnv::new();
    // A database without the schema: applying it would be a write.
    env.db = TestDatabase::new();

    for path in ["/", "/health", "//files", "//auth/me", "/authx", "/files"] {
        let response = call(&env, Request::new(Method::Get, path), None);

        assert_eq!(response.status, 404, "{path}");
        assert_eq!(error_code(&response), "not_found", "{path}");
        assert_eq!(
            json_of(&response)["error"]["message"],
            format!("no route for {path}"),
            "{path}"
        );
    }
    assert!(!crate::schema::is_current(&env.db).unwrap());
}

#[test]
fn head_returns_get_status_and_headers_without_body() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let cookie = sign_in(&env, "alice");

    for path in ["/auth/me", "/auth/tokens", "/users", "/auth/nothing"] {
        let get = call(&env, with_cookie(Method::Get, path, &cookie), None);
        let head = call(&env, with_cookie(Method::Head, path, &cookie), None);

        assert_eq!(head.status, get.status, "{path}");
        assert_eq!(head.headers, get.headers, "{path}");
        assert_eq!(head.body, crate::http::Body::Omitted, "{path}");
    }
}

#[test]
fn unknown_json_fields_are_rejected() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let cookie = sign_in(&env, "alice");
    let json_post = |path: &str| {
        with_cookie(Method::Post, path, &cookie).with_header("content-type", "application/json")
    };
    let cases = [
        (
            json_post("/auth/login"),
            json!({ "username": "alice", "password": TEST_PASSWORD, "remember": true }),
        ),
        (
            json_post("/auth/password"),
            json!({
                "current_password": TEST_PASSWORD,
                "new_password": "another long passphrase",
                "logout_others": false,
            }),
        ),
        (
            json_post("/auth/tokens"),
            json!({ "name": "ci", "expires_in_days": 30, "scope": "read" }),
        ),
    ];

    for (request, body) in cases {
        let path = request.path.clone();
        let response = call(&env, request, Some(body));

        assert_eq!(response.status, 400, "{path}");
        assert_eq!(error_code(&response), "invalid_json", "{path}");
    }
    assert_eq!(login(&env, "alice", TEST_PASSWORD).status, 200);
}

#[test]
fn wrong_method_lists_allowed_methods() {
    let env = TestEnv::new();

    let response = call(&env, Request::new(Method::Get, "/auth/login"), None);

    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
    assert_eq!(error_code(&response), "method_not_allowed");
}

#[test]
fn sample_admin_can_sign_in_on_first_start() {
    let mut env = TestEnv::new();
    env.db = TestDatabase::new();
    env.config.sample_data = true;

    let response = login(&env, "admin", "password");

    assert_eq!(response.status, 200);
    assert_eq!(json_of(&response)["user"]["org_name"], "Acme Corp");
    assert_eq!(json_of(&response)["user"]["role"], "admin");
}

fn create_token(env: &TestEnv, cookie: &str, body: Value) -> Response {
    call(
        env,
        with_cookie(Method::Post, "/auth/tokens", cookie),
        Some(body),
    )
}

fn bearer(method: Method, path: &str, token: &str) -> Request {
    Request::new(method, path).with_header("authorization", format!("Bearer {token}"))
}

#[test]
fn api_token_authenticates_requests() {
    let env = TestEnv::new();
    let alice = create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    let created = create_token(
        &env,
        &cookie,
        json!({ "name": "ci", "expires_in_days": 30 }),
    );
    assert_eq!(created.status, 201);
    let token = json_of(&created)["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("stw_"), "{token}");

    let response = call(&env, bearer(Method::Get, "/auth/me", &token), None);
    assert_eq!(response.status, 200);
    assert_eq!(json_of(&response)["id"], alice.user_id.as_str());
}

#[test]
fn api_token_skips_origin_check() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");
    let created = create_token(&env, &cookie, json!({ "name": "ci" }));
    let token = json_of(&created)["token"].as_str().unwrap().to_owned();

    let path = format!("/auth/tokens/{}", json_of(&created)["id"].as_str().unwrap());
    let request =
        bearer(Method::Delete, &path, &token).with_header("origin", "https://elsewhere.example");
    let response = call(&env, request, None);

    assert_eq!(response.status, 204);
}

#[test]
fn api_token_cannot_create_tokens_or_change_password() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");
    let created = create_token(&env, &cookie, json!({ "name": "ci" }));
    let token = json_of(&created)["token"].as_str().unwrap().to_owned();

    let new_token = call(
        &env,
        bearer(Method::Post, "/auth/tokens", &token),
        Some(json!({ "name": "second" })),
    );
    let password = call(
        &env,
        bearer(Method::Post, "/auth/password", &token),
        Some(json!({ "current_password": TEST_PASSWORD, "new_password": "a new long passphrase" })),
    );

    assert_eq!(new_token.status, 403);
    assert_eq!(password.status, 403);
    assert_eq!(login(&env, "alice", TEST_PASSWORD).status, 200);
}

#[test]
fn token_list_hides_secrets() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");
    let created = create_token(&env, &cookie, json!({ "name": "ci" }));
    let token = json_of(&created)["token"].as_str().unwrap().to_owned();

    let response = call(
        &env,
        with_cookie(Method::Get, "/auth/tokens", &cookie),
        None,
    );

    assert_eq!(response.status, 200);
    let body = String::from_utf8(response.body_bytes().to_vec()).unwrap();
    assert!(!body.contains(&token));
    assert_eq!(json_of(&response)["tokens"][0]["name"], "ci");
}

#[test]
fn revoked_token_is_rejected() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");
    let created = json_of(&create_token(&env, &cookie, json!({ "name": "ci" })));
    let token = created["token"].as_str().unwrap();
    let path = format!("/auth/tokens/{}", created["id"].as_str().unwrap());

    let response = call(&env, with_cookie(Method::Delete, &path, &cookie), None);

    assert_eq!(response.status, 204);
    assert_eq!(
        call(&env, bearer(Method::Get, "/auth/me", token), None).status,
        401
    );
}

#[test]
fn token_of_other_user_cannot_be_revoked() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    create_org_and_user(&env, "Acme Corp", "bob", Role::Admin);
    let alice = sign_in(&env, "alice");
    let bob = sign_in(&env, "bob");
    let created = json_of(&create_token(&env, &alice, json!({ "name": "ci" })));
    let path = format!("/auth/tokens/{}", created["id"].as_str().unwrap());

    let response = call(&env, with_cookie(Method::Delete, &path, &bob), None);

    assert_eq!(response.status, 404);
}

#[test]
fn expired_token_is_rejected() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");
    let created = create_token(&env, &cookie, json!({ "name": "ci", "expires_in_days": 1 }));
    let token = json_of(&created)["token"].as_str().unwrap().to_owned();

    env.clock.advance_secs(24 * 60 * 60);

    assert_eq!(
        call(&env, bearer(Method::Get, "/auth/me", &token), None).status,
        401
    );
}

#[test]
fn malformed_bearer_is_unauthorized_even_with_cookie() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    let request = with_cookie(Method::Get, "/auth/me", &cookie)
        .with_header("authorization", "Bearer stw_nothex");

    assert_eq!(call(&env, request, None).status, 401);
}

#[test]
fn invalid_token_requests_are_rejected() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let cookie = sign_in(&env, "alice");

    for (body, code) in [
        (json!({ "name": "" }), "invalid_token_name"),
        (
            json!({ "name": "ci", "expires_in_days": 0 }),
            "invalid_expiry",
        ),
    ] {
        let response = create_token(&env, &cookie, body);
        assert_eq!(response.status, 422);
        assert_eq!(error_code(&response), code);
    }
}

fn admin_call(
    env: &TestEnv,
    cookie: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    call(env, with_cookie(method, path, cookie), body)
}

#[test]
fn admin_creates_and_lists_users() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let admin = sign_in(&env, "alice");

    let body = json!({ "username": "carol", "password": "a long passphrase" });
    let created = admin_call(&env, &admin, Method::Post, "/users", Some(body));
    assert_eq!(created.status, 201, "{:?}", json_of(&created));
    assert_eq!(json_of(&created)["user"]["role"], "member");

    let listed = admin_call(&env, &admin, Method::Get, "/users", None);
    let listed = json_of(&listed);
    let names: Vec<&str> = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "carol"]);
    assert_eq!(login(&env, "carol", "a long passphrase").status, 200);
}

#[test]
fn duplicate_username_is_conflict() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    create_org_and_user(&env, "Other Inc", "bob", Role::Member);
    let admin = sign_in(&env, "alice");

    let body = json!({ "username": "Bob", "password": "a long passphrase" });
    let response = admin_call(&env, &admin, Method::Post, "/users", Some(body));

    assert_eq!(response.status, 409);
    assert_eq!(error_code(&response), "username_taken");
}

#[test]
fn members_cannot_manage_users() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "bob", Role::Member);
    let member = sign_in(&env, "bob");

    let response = admin_call(&env, &member, Method::Get, "/users", None);

    assert_eq!(response.status, 403);
}

#[test]
fn user_of_other_org_is_not_found() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let outsider = create_org_and_user(&env, "Other Inc", "oscar", Role::Member);
    let admin = sign_in(&env, "alice");
    let path = format!("/users/{}", outsider.user_id);

    for method in [Method::Get, Method::Delete] {
        let response = admin_call(&env, &admin, method, &path, None);
        assert_eq!(response.status, 404);
    }
    let patch = admin_call(
        &env,
        &admin,
        Method::Patch,
        &path,
        Some(json!({ "disabled": true })),
    );
    assert_eq!(patch.status, 404);
}

#[test]
fn disabling_user_ends_sessions_and_tokens() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let bob = create_org_and_user(&env, "Acme Corp", "bob", Role::Member);
    let admin = sign_in(&env, "alice");
    let bob_cookie = sign_in(&env, "bob");
    let created = create_token(&env, &bob_cookie, json!({ "name": "ci" }));
    let bob_token = json_of(&created)["token"].as_str().unwrap().to_owned();

    let path = format!("/users/{}", bob.user_id);
    let response = admin_call(
        &env,
        &admin,
        Method::Patch,
        &path,
        Some(json!({ "disabled": true })),
    );

    assert_eq!(response.status, 200);
    assert_eq!(json_of(&response)["user"]["disabled"], true);
    assert_eq!(me(&env, &bob_cookie).status, 401);
    assert_eq!(
        call(&env, bearer(Method::Get, "/auth/me", &bob_token), None).status,
        401
    );
}

#[test]
fn admin_cannot_disable_themselves() {
    let env = TestEnv::new();
    let alice = create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let admin = sign_in(&env, "alice");
    let path = format!("/users/{}", alice.user_id);

    for body in [json!({ "disabled": true }), json!({ "role": "member" })] {
        let response = admin_call(&env, &admin, Method::Patch, &path, Some(body));
        assert_eq!(response.status, 409);
    }
    let response = admin_call(&env, &admin, Method::Delete, &path, None);
    assert_eq!(response.status, 409);
}

#[test]
fn deleted_user_loses_session() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let bob = create_org_and_user(&env, "Acme Corp", "bob", Role::Member);
    let admin = sign_in(&env, "alice");
    let bob_cookie = sign_in(&env, "bob");

    let path = format!("/users/{}", bob.user_id);
    let response = admin_call(&env, &admin, Method::Delete, &path, None);

    assert_eq!(response.status, 204);
    assert_eq!(me(&env, &bob_cookie).status, 401);
}

fn create_org_request(token: &str, body: Value) -> (Request, Option<Value>) {
    (bearer(Method::Post, "/orgs", token), Some(body))
}

#[test]
fn orgs_route_is_absent_without_platform_token() {
    let env = TestEnv::new();

    let response = call(&env, Request::new(Method::Post, "/orgs"), None);

    assert_eq!(response.status, 404);
}

#[test]
fn platform_token_creates_org_with_admin() {
    let mut env = TestEnv::new();
    env.config.platform_token = Some(Secret::new("platform-secret"));
    let body = json!({
        "name": "Globex",
        "admin_username": "hank",
        "admin_password": "a long passphrase",
    });

    let (request, wrong) = create_org_request("wrong-secret", body.clone());
    assert_eq!(call(&env, request, wrong).status, 401);

    let (request, body) = create_org_request("platform-secret", body);
    let response = call(&env, request, body.clone());
    assert_eq!(response.status, 201, "{:?}", json_of(&response));
    assert_eq!(json_of(&response)["org"]["name"], "Globex");
    assert_eq!(json_of(&response)["user"]["role"], "admin");
    assert_eq!(login(&env, "hank", "a long passphrase").status, 200);

    let (request, _) = create_org_request("platform-secret", json!({}));
    let again = call(&env, request, body);
    assert_eq!(again.status, 409);
    assert_eq!(error_code(&again), "org_name_taken");
}

#[test]
fn org_names_are_trimmed_and_unique_ignoring_case() {
    let mut env = TestEnv::new();
    env.config.platform_token = Some(Secret::new("platform-secret"));
    let create = |name: &str, admin: &str| {
        let body = json!({
            "name": name,
            "admin_username": admin,
            "admin_password": "a long passphrase",
        });
        let (request, body) = create_org_request("platform-secret", body);
        call(&env, request, body)
    };

    let created = create("  Globex ", "hank");
    assert_eq!(created.status, 201, "{:?}", json_of(&created));
    assert_eq!(json_of(&created)["org"]["name"], "Globex");

    for (name, admin) in [
        ("globex ", "ivan"),
        ("GLOBEX", "judy"),
        ("\tgLoBeX\n", "kim"),
    ] {
        let taken = create(name, admin);
        assert_eq!(taken.status, 409, "{name:?}: {:?}", json_of(&taken));
        assert_eq!(error_code(&taken), "org_name_taken", "{name:?}");
    }
    let stored = env
        .db
        .execute("SELECT COUNT(*) FROM organizations", &[])
        .unwrap();
    assert_eq!(stored.rows[0][0].as_i64(), Some(1));
    // The admins of rejected organizations were not created either.
    assert_eq!(login(&env, "ivan", "a long passphrase").status, 401);
}

#[test]
fn invalid_org_names_are_unprocessable() {
    let mut env = TestEnv::new();
    env.config.platform_token = Some(Secret::new("platform-secret"));

    for name in [
        "".to_owned(),
        "   ".to_owned(),
        "Glo\u{7}bex".to_owned(),
        "x".repeat(101),
    ] {
        let body = json!({
            "name": name,
            "admin_username": "hank",
            "admin_password": "a long passphrase",
        });
        let (request, body) = create_org_request("platform-secret", body);
        let response = call(&env, request, body);

        assert_eq!(response.status, 422, "{name:?}");
        assert_eq!(error_code(&response), "invalid_org_name", "{name:?}");
    }
    let (request, body) = create_org_request(
        "platform-secret",
        json!({
            "name": "x".repeat(100),
            "admin_username": "hank",
            "admin_password": "a long passphrase",
        }),
    );
    assert_eq!(call(&env, request, body).status, 201);
}

#[test]
fn admin_password_reset_ends_sessions_and_tokens() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let bob = create_org_and_user(&env, "Acme Corp", "bob", Role::Member);
    let admin = sign_in(&env, "alice");
    let bob_cookie = sign_in(&env, "bob");
    let created = create_token(&env, &bob_cookie, json!({ "name": "ci" }));
    let bob_token = json_of(&created)["token"].as_str().unwrap().to_owned();
    env.clock.advance_secs(1);

    let path = format!("/users/{}", bob.user_id);
    let body = json!({ "password": "a reset long passphrase" });
    let response = admin_call(&env, &admin, Method::Patch, &path, Some(body));

    assert_eq!(response.status, 200, "{:?}", json_of(&response));
    assert_eq!(me(&env, &bob_cookie).status, 401);
    let with_token = call(&env, bearer(Method::Get, "/auth/me", &bob_token), None);
    assert_eq!(with_token.status, 401);
    let token_rows = env
        .db
        .execute(
            "SELECT COUNT(*) FROM api_tokens WHERE user_id = ?",
            &[bob.user_id.as_str().into()],
        )
        .unwrap();
    assert_eq!(token_rows.rows[0][0].as_i64(), Some(0));
    assert_eq!(login(&env, "bob", TEST_PASSWORD).status, 401);
    assert_eq!(login(&env, "bob", "a reset long passphrase").status, 200);
    assert_eq!(me(&env, &admin).status, 200, "the admin's session ended");
}

#[test]
fn admin_cannot_reset_own_password_with_patch() {
    let env = TestEnv::new();
    let alice = create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let admin = sign_in(&env, "alice");
    let path = format!("/users/{}", alice.user_id);

    let body = json!({ "password": "a reset long passphrase" });
    let response = admin_call(&env, &admin, Method::Patch, &path, Some(body));

    assert_eq!(response.status, 409);
    assert_eq!(error_code(&response), "cannot_change_own_access");
    assert_eq!(login(&env, "alice", TEST_PASSWORD).status, 200);
}

#[test]
fn invalid_patch_changes_nothing() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let bob = create_org_and_user(&env, "Acme Corp", "bob", Role::Member);
    let admin = sign_in(&env, "alice");
    let path = format!("/users/{}", bob.user_id);

    // A valid role with an invalid password: neither is applied.
    let body = json!({ "role": "admin", "password": "short" });
    let response = admin_call(&env, &admin, Method::Patch, &path, Some(body));

    assert_eq!(response.status, 422);
    assert_eq!(error_code(&response), "password_too_short");
    let user = json_of(&admin_call(&env, &admin, Method::Get, &path, None));
    assert_eq!(user["user"]["role"], "member");
}

#[test]
fn cross_site_origin_is_rejected_on_cookie_writes() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let bob = create_org_and_user(&env, "Acme Corp", "bob", Role::Member);
    let admin = sign_in(&env, "alice");
    let bob_path = format!("/users/{}", bob.user_id);
    let cases = [
        (
            Method::Post,
            "/users".to_owned(),
            Some(json!({ "username": "carol", "password": "a long passphrase" })),
        ),
        (
            Method::Patch,
            bob_path.clone(),
            Some(json!({ "disabled": true })),
        ),
        (Method::Delete, bob_path.clone(), None),
        (
            Method::Post,
            "/auth/tokens".to_owned(),
            Some(json!({ "name": "ci" })),
        ),
    ];

    for (method, path, body) in cases {
        let request = with_cookie(method.clone(), &path, &admin)
            .with_header("origin", "https://evil.example");
        let response = call(&env, request, body);
        assert_eq!(response.status, 403, "{method:?} {path}");
        assert_eq!(
            error_code(&response),
            "cross_site_request",
            "{method:?} {path}"
        );
    }
    let user = json_of(&admin_call(&env, &admin, Method::Get, &bob_path, None));
    assert_eq!(user["user"]["disabled"], false);
    let users = json_of(&admin_call(&env, &admin, Method::Get, "/users", None));
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
}

#[test]
fn cross_site_origin_is_allowed_on_cookie_reads() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Admin);
    let admin = sign_in(&env, "alice");

    // GET changes nothing, and SameSite=Lax sends the cookie on top-level
    // cross-site navigations, which must keep working.
    let request =
        with_cookie(Method::Get, "/auth/me", &admin).with_header("origin", "https://evil.example");

    assert_eq!(call(&env, request, None).status, 200);
}

#[test]
fn session_of_moved_user_is_rejected() {
    let env = TestEnv::new();
    create_org_and_user(&env, "Acme Corp", "alice", Role::Member);
    let other = create_org_and_user(&env, "Other Inc", "oscar", Role::Member);
    let cookie = sign_in(&env, "alice");

    // A session names its organization; if the user row says another one,
    // the session must not act in either.
    env.db
        .execute(
            "UPDATE users SET org_id = ? WHERE username = 'alice'",
            &[other.org_id.as_str().into()],
        )
        .unwrap();

    assert_eq!(me(&env, &cookie).status, 401);
}
