//! Every route, called by every identity of one organization on the
//! resources of another, returns 404 and changes nothing.
//!
//! Two organizations are created with `POST /orgs` and the platform
//! token, each with an admin and a member (`POST /users`), and every user
//! signs in (session cookie) and creates an API token (Bearer). That gives
//! eight identities. Each calls every route of the API on the other
//! organization's file, users and tokens. A member calling a users-admin
//! route gets 403, because the role check comes first. Afterwards each
//! owner checks that the file downloads with the same bytes, that every
//! user still signs in and that every token still works.

use std::time::Duration;

use serde_json::{json, Value};
use stowage_e2e::{login_with_retry, percent_encode, Client, Database, Response, Stack};

const READY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Admin,
    Member,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Credential {
    Cookie,
    Bearer,
}

/// A signed-in user with an API token.
struct Account {
    username: String,
    password: String,
    user_id: String,
    role: Role,
    session: Client,
    token: String,
    token_id: String,
}

/// An organization with its two accounts and one ready file.
struct Org {
    name: String,
    admin: Account,
    member: Account,
    file_id: String,
    file_bytes: Vec<u8>,
}

impl Org {
    fn accounts(&self) -> [&Account; 2] {
        [&self.admin, &self.member]
    }
}

/// One way of calling the API: an account with one of its credentials.
struct Identity<'a> {
    org: &'a Org,
    account: &'a Account,
    credential: Credential,
}

impl Identity<'_> {
    fn label(&self) -> String {
        format!(
            "{} of {:?} by {:?}",
            self.account.username, self.org.name, self.credential
        )
    }

    fn send(&self, stack: &Stack, method: &str, path: &str, body: Option<&Value>) -> Response {
        let bytes = body.map(|body| body.to_string().into_bytes());
        let bytes = bytes.unwrap_or_default();
        let mut headers = Vec::new();
        if !bytes.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        match self.credential {
            Credential::Cookie => self.account.session.send(method, path, &headers, &bytes),
            Credential::Bearer => {
                let authorization = format!("Bearer {}", self.account.token);
                headers.push(("authorization", authorization.as_str()));
                stack.client().send(method, path, &headers, &bytes)
            }
        }
    }
}

#[test]
fn foreign_requests_are_not_found_and_change_nothing() {
    let stack = Stack::start();
    let first = create_org(&stack, "Isolation North", "north");
    let second = create_org(&stack, "Isolation South", "south");
    let unknown_file = unknown_file_error(&first.admin);
    let mut failures = Vec::new();

    for (attackers, victims) in [(&first, &second), (&second, &first)] {
        for identity in identities(attackers) {
            attack(&stack, &identity, victims, &unknown_file, &mut failures);
            check_listings(&stack, &identity, victims, &mut failures);
        }
    }

    assert!(
        failures.is_empty(),
        "{} cross-organization requests misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for org in [&first, &second] {
        verify_unchanged(&stack, org);
    }
    let database = Database::open_read_only(&stack.stowage.database_path());
    assert_eq!(database.file_rows(), 2, "file rows after the attacks");
    assert_eq!(
        database.query_i64("SELECT COUNT(*) FROM api_tokens"),
        4,
        "API token rows after the attacks"
    );
    assert_eq!(
        database.query_i64("SELECT COUNT(*) FROM users WHERE disabled = 0"),
        5,
        "enabled users after the attacks (four plus the sample admin)"
    );
}

#[test]
fn members_get_403_on_users_admin_routes() {
    let stack = Stack::start();
    let org = create_org(&stack, "Isolation Roles", "roles");
    let admin_path = format!("/users/{}", org.admin.user_id);
    let new_user = json!({ "username": "roles-extra", "password": "roles extra passphrase" });
    let disable = json!({ "disabled": true });
    let requests: [(&str, &str, Option<&Value>); 5] = [
        ("GET", "/users", None),
        ("POST", "/users", Some(&new_user)),
        ("GET", &admin_path, None),
        ("PATCH", &admin_path, Some(&disable)),
        ("DELETE", &admin_path, None),
    ];

    for credential in [Credential::Cookie, Credential::Bearer] {
        let identity = Identity {
            org: &org,
            account: &org.member,
            credential,
        };
        for (method, path, body) in requests {
            let response = identity.send(&stack, method, path, body);
            let context = format!("{method} {path} by {}", identity.label());
            let error = response.expect_error(403, &context);
            assert_eq!(error["code"], "forbidden", "{context}");
        }
    }

    let users = org.admin.session.get_json("/users");
    let listed: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["username"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["roles-admin", "roles-member"], "users: {users}");
    let admin = &users["users"][0];
    assert_eq!(admin["disabled"], false, "the admin was disabled: {admin}");
}

/// The four identities of an organization.
fn identities(org: &Org) -> Vec<Identity<'_>> {
    let mut identities = Vec::new();
    for account in org.accounts() {
        for credential in [Credential::Cookie, Credential::Bearer] {
            identities.push(Identity {
                org,
                account,
                credential,
            });
        }
    }
    identities
}

/// Calls every route that names a resource of `victims` and records each
/// response that is not the expected error.
fn attack(
    stack: &Stack,
    identity: &Identity,
    victims: &Org,
    unknown_file: &Value,
    failures: &mut Vec<String>,
) {
    let file = &victims.file_id;
    for (method, path) in [
        ("GET", format!("/files/{file}")),
        ("GET", format!("/files/{file}/content")),
        ("DELETE", format!("/files/{file}")),
    ] {
        let response = identity.send(stack, method, &path, None);
        // A foreign file must be indistinguishable from one never issued.
        expect(
            failures,
            identity,
            method,
            &path,
            &response,
            404,
            Some(unknown_file),
        );
    }

    let users_status = match identity.account.role {
        Role::Admin => 404,
        Role::Member => 403,
    };
    let patches = [
        json!({ "disabled": true }),
        json!({ "role": "member" }),
        json!({ "password": "taken over passphrase" }),
    ];
    for victim in victims.accounts() {
        let path = format!("/users/{}", victim.user_id);
        let response = identity.send(stack, "GET", &path, None);
        expect(
            failures,
            identity,
            "GET",
            &path,
            &response,
            users_status,
            None,
        );
        for patch in &patches {
            let response = identity.send(stack, "PATCH", &path, Some(patch));
            let method = format!("PATCH {patch}");
            expect(
                failures,
                identity,
                &method,
                &path,
                &response,
                users_status,
                None,
            );
        }
        let response = identity.send(stack, "DELETE", &path, None);
        expect(
            failures,
            identity,
            "DELETE",
            &path,
            &response,
            users_status,
            None,
        );

        let path = format!("/auth/tokens/{}", victim.token_id);
        let response = identity.send(stack, "DELETE", &path, None);
        expect(failures, identity, "DELETE", &path, &response, 404, None);
    }
}

fn expect(
    failures: &mut Vec<String>,
    identity: &Identity,
    method: &str,
    path: &str,
    response: &Response,
    status: u16,
    same_body_as: Option<&Value>,
) {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let code = body
        .as_ref()
        .and_then(|body| body["error"]["code"].as_str())
        .unwrap_or_default();
    let expected_code = if status == 404 {
        "not_found"
    } else {
        "forbidden"
    };
    let mut problem = None;
    if response.status != status || code != expected_code {
        problem = Some(format!("expected {status} {expected_code}"));
    } else if let Some(reference) = same_body_as {
        if body.as_ref() != Some(reference) {
            problem = Some(format!("expected the body of an unknown id, {reference}"));
        }
    }
    if let Some(problem) = problem {
        failures.push(format!(
            "{method} {path} by {}: {problem}, got {} {}",
            identity.label(),
            response.status,
            response.text()
        ));
    }
}

/// Checks that no listing the identity can read contains a row of
/// `victims`.
fn check_listings(stack: &Stack, identity: &Identity, victims: &Org, failures: &mut Vec<String>) {
    let files = listed_file_ids(stack, identity);
    if files.contains(&victims.file_id) {
        failures.push(format!(
            "GET /files by {} lists file {} of {:?}",
            identity.label(),
            victims.file_id,
            victims.name
        ));
    }
    if files != [identity.org.file_id.clone()] {
        failures.push(format!(
            "GET /files by {} lists {files:?}, expected only its own file {}",
            identity.label(),
            identity.org.file_id
        ));
    }

    let users = identity.send(stack, "GET", "/users", None);
    match identity.account.role {
        Role::Admin => {
            let text = users.text();
            for victim in victims.accounts() {
                if users.status != 200 || text.contains(&victim.user_id) {
                    failures.push(format!(
                        "GET /users by {} shows user {}: {} {text}",
                        identity.label(),
                        victim.username,
                        users.status
                    ));
                }
            }
        }
        Role::Member => expect(failures, identity, "GET", "/users", &users, 403, None),
    }

    let tokens = identity.send(stack, "GET", "/auth/tokens", None);
    let text = tokens.text();
    for victim in victims.accounts() {
        if tokens.status != 200 || text.contains(&victim.token_id) {
            failures.push(format!(
                "GET /auth/tokens by {} shows the token of {}: {} {text}",
                identity.label(),
                victim.username,
                tokens.status
            ));
        }
    }
}

/// Every file id in the identity's listing, following `next_cursor`.
fn listed_file_ids(stack: &Stack, identity: &Identity) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = "/files?limit=1".to_owned();
    loop {
        let response = identity.send(stack, "GET", &path, None);
        assert_eq!(
            response.status,
            200,
            "GET {path} by {}: {}",
            identity.label(),
            response.text()
        );
        let page = response.json();
        for file in page["files"].as_array().expect("a files array") {
            ids.push(file["id"].as_str().expect("a file id").to_owned());
        }
        match &page["next_cursor"] {
            Value::String(cursor) => {
                path = format!("/files?limit=1&cursor={}", percent_encode(cursor));
            }
            _ => return ids,
        }
    }
}

/// Checks, as the owners, that the organization's file, users and tokens
/// are as they were before the attacks.
fn verify_unchanged(stack: &Stack, org: &Org) {
    let owner = &org.member.session;
    let details = owner.get_json(&format!("/files/{}", org.file_id));
    assert_eq!(details["status"], "ready", "{}: file {details}", org.name);
    let download = owner.get(&format!("/files/{}/content", org.file_id));
    assert_eq!(
        download.status,
        200,
        "{}: download {}",
        org.name,
        download.text()
    );
    assert!(
        download.body == org.file_bytes,
        "{}: the downloaded bytes differ from the upload",
        org.name
    );

    for account in org.accounts() {
        let me = stack.client().send(
            "GET",
            "/auth/me",
            &[("authorization", &format!("Bearer {}", account.token))],
            b"",
        );
        assert_eq!(
            me.status,
            200,
            "{}'s token stopped working: {}",
            account.username,
            me.text()
        );
        assert_eq!(me.json()["id"], account.user_id.as_str());

        let session = account.session.get("/auth/me");
        assert_eq!(
            session.status,
            200,
            "{}'s session ended: {}",
            account.username,
            session.text()
        );

        let fresh = stack.client();
        let login = login_with_retry(&fresh, &account.username, &account.password);
        assert_eq!(
            login.status,
            200,
            "{} cannot sign in: {}",
            account.username,
            login.text()
        );
    }

    let users = org.admin.session.get_json("/users");
    let expected = [("admin", &org.admin), ("member", &org.member)];
    for (role, account) in expected {
        let user = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|user| user["id"] == account.user_id.as_str())
            .unwrap_or_else(|| panic!("{}: {} is gone: {users}", org.name, account.username));
        assert_eq!(user["role"], role, "{}: {user}", org.name);
        assert_eq!(user["disabled"], false, "{}: {user}", org.name);
    }
}

/// Creates organization `name` with `{prefix}-admin`, who creates
/// `{prefix}-member`; both sign in and create a token, and the member
/// uploads a text file that is then processed.
fn create_org(stack: &Stack, name: &str, prefix: &str) -> Org {
    let platform_token = stack
        .stowage
        .options()
        .variable_value("platform_token")
        .expect("the test stack sets a platform token");
    let admin_username = format!("{prefix}-admin");
    let admin_password = format!("{prefix} admin passphrase");
    let body = json!({
        "name": name,
        "admin_username": admin_username,
        "admin_password": admin_password,
    });
    let authorization = format!("Bearer {platform_token}");
    let created = stack.client().send(
        "POST",
        "/orgs",
        &[
            ("content-type", "application/json"),
            ("authorization", &authorization),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(
        created.status,
        201,
        "POST /orgs {name:?}: {}",
        created.text()
    );

    let admin = sign_in(stack, &admin_username, &admin_password, Role::Admin);
    let member_username = format!("{prefix}-member");
    let member_password = format!("{prefix} member passphrase");
    let body = json!({ "username": member_username, "password": member_password });
    let response = admin.session.post_json("/users", &body);
    assert_eq!(response.status, 201, "POST /users: {}", response.text());
    let member = sign_in(stack, &member_username, &member_password, Role::Member);

    let file_bytes = format!("notes of {name}, not for other organizations\n").into_bytes();
    let upload = member
        .session
        .upload_multipart(&format!("{prefix}.txt"), &file_bytes);
    assert_eq!(upload.status, 202, "upload: {}", upload.text());
    let file_id = upload.json()["id"].as_str().unwrap().to_owned();
    member.session.wait_until_ready(&file_id, READY_TIMEOUT);

    Org {
        name: name.to_owned(),
        admin,
        member,
        file_id,
        file_bytes,
    }
}

fn sign_in(stack: &Stack, username: &str, password: &str, role: Role) -> Account {
    let session = stack.client();
    let login = login_with_retry(&session, username, password);
    assert_eq!(login.status, 200, "login as {username}: {}", login.text());
    let user_id = login.json()["user"]["id"].as_str().unwrap().to_owned();

    let created = session.post_json("/auth/tokens", &json!({ "name": "isolation" }));
    assert_eq!(created.status, 201, "POST /auth/tokens: {}", created.text());
    let created = created.json();

    Account {
        username: username.to_owned(),
        password: password.to_owned(),
        user_id,
        role,
        session,
        token: created["token"].as_str().unwrap().to_owned(),
        token_id: created["id"].as_str().unwrap().to_owned(),
    }
}

/// The 404 body for a file id that was never issued.
fn unknown_file_error(account: &Account) -> Value {
    let id = uuid::Uuid::new_v4();
    let response = account.session.get(&format!("/files/{id}"));
    response.expect_error(404, "GET of an unknown file id");
    response.json()
}
