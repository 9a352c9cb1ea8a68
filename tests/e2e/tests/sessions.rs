//! Signing in and out with the session cookie, and requests without one.
//!
//! The tests share one stack, and login is limited to 5 attempts per
//! minute from one address, so these tests make 4 in all.

use stowage_e2e::{Stack, ADMIN_PASSWORD, ADMIN_USERNAME, SESSION_COOKIE};

#[test]
fn login_sets_session_cookie() {
    let stack = Stack::shared();
    let client = stack.client();

    let response = client.try_login(ADMIN_USERNAME, ADMIN_PASSWORD);

    assert_eq!(response.status, 200, "login failed: {}", response.text());
    let set_cookie = response
        .header_values("set-cookie")
        .into_iter()
        .find(|value| value.starts_with(&format!("{SESSION_COOKIE}=")))
        .unwrap_or_else(|| panic!("no {SESSION_COOKIE} cookie in {response:?}"));
    let attributes: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|attribute| attribute.trim().to_ascii_lowercase())
        .collect();
    for expected in ["httponly", "samesite=lax", "path=/"] {
        assert!(
            attributes.iter().any(|attribute| attribute == expected),
            "the session cookie lacks {expected}: {set_cookie}"
        );
    }
    assert!(
        !attributes.iter().any(|attribute| attribute == "secure"),
        "the session cookie is Secure although cookie_secure=false: {set_cookie}"
    );
    let me = client.get_json("/auth/me");
    assert_eq!(
        me["username"], ADMIN_USERNAME,
        "GET /auth/me after login: {me}"
    );
}

#[test]
fn wrong_password_and_unknown_user_look_alike() {
    let stack = Stack::shared();
    let client = stack.client();

    let wrong_password = client.try_login(ADMIN_USERNAME, "not the password");
    let unknown_user = client.try_login("nobody-here", "not the password");

    wrong_password.expect_error(401, "login with a wrong password");
    unknown_user.expect_error(401, "login as an unknown user");
    assert_eq!(
        wrong_password.json(),
        unknown_user.json(),
        "the two failed logins tell apart a wrong password from an unknown user"
    );
    assert!(
        client.cookie(SESSION_COOKIE).is_none(),
        "a failed login set a session cookie"
    );
}

#[test]
fn logout_revokes_session() {
    let stack = Stack::shared();
    let client = stack.client();
    client.login(ADMIN_USERNAME, ADMIN_PASSWORD);
    let old_cookie = client.cookie(SESSION_COOKIE).unwrap();

    let logout = client.post("/auth/logout", &[], b"");

    assert_eq!(logout.status, 204, "logout failed: {}", logout.text());
    let replay = stack.client();
    replay.set_cookie(SESSION_COOKIE, &old_cookie);
    replay.get("/files").expect_error(
        401,
        "GET /files with the cookie of a session that logged out",
    );
    replay.get("/auth/me").expect_error(
        401,
        "GET /auth/me with the cookie of a session that logged out",
    );
}

#[test]
fn unauthenticated_requests_get_401() {
    let stack = Stack::shared();
    let client = stack.client();
    let id = uuid::Uuid::new_v4();

    let requests = [
        ("GET /files", client.get("/files")),
        ("GET /files/{id}", client.get(&format!("/files/{id}"))),
        (
            "GET /files/{id}/content",
            client.get(&format!("/files/{id}/content")),
        ),
        ("DELETE /files/{id}", client.delete(&format!("/files/{id}"))),
        ("POST /files", client.upload_raw("notes.txt", b"hello")),
        ("GET /auth/me", client.get("/auth/me")),
    ];

    for (route, response) in requests {
        response.expect_error(401, &format!("{route} without a session"));
    }
}

#[test]
fn forged_session_cookie_gets_401() {
    let stack = Stack::shared();
    let client = stack.client();
    client.set_cookie(SESSION_COOKIE, "forged-token-that-was-never-issued");

    client
        .get("/files")
        .expect_error(401, "GET /files with a forged session cookie");
}
