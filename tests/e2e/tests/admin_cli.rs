//! `stowage-admin` against a running host: creating an organization,
//! creating a user and resetting a password, and the errors it prints.
//!
//! The binary is `target/release/stowage-admin`, which `scripts/test`
//! builds with the host.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::json;
use stowage_e2e::{login_with_retry, repo_root, Client, Stack};

/// The result of one run of the command line.
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit status {:?}\nstdout: {}\nstderr: {}",
            self.status, self.stdout, self.stderr
        )
    }

    /// Returns the password the command generated and printed.
    fn printed_password(&self) -> String {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix("password: "))
            .unwrap_or_else(|| panic!("no generated password printed; {}", self.describe()))
            .to_owned()
    }
}

fn admin_binary() -> PathBuf {
    let path = repo_root().join("target/release/stowage-admin");
    assert!(
        path.is_file(),
        "{} is missing; build it with `cargo build --release -p stowage-admin` or run scripts/test",
        path.display()
    );
    path
}

/// Runs `stowage-admin --url <stack> ARGS` with `env` and `stdin`.
fn run(stack: &Stack, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let mut command = Command::new(admin_binary());
    command
        .arg("--url")
        .arg(stack.stowage.base_url())
        .args(args)
        .env_remove("STOWAGE_PLATFORM_TOKEN")
        .env_remove("STOWAGE_ADMIN_TOKEN")
        .env_remove("STOWAGE_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("stowage-admin starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("writing stdin succeeds");
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("stowage-admin finishes");
    Run {
        status: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn platform_token(stack: &Stack) -> String {
    stack
        .stowage
        .options()
        .variable_value("platform_token")
        .expect("the test stack sets a platform token")
        .to_owned()
}

fn signed_in(stack: &Stack, username: &str, password: &str) -> Client {
    let client = stack.client();
    let response = login_with_retry(&client, username, password);
    assert_eq!(
        response.status,
        200,
        "login as {username} with the password from stowage-admin: {}",
        response.text()
    );
    client
}

fn create_token(client: &Client) -> String {
    let created = client.post_json("/auth/tokens", &json!({ "name": "admin-cli test" }));
    assert_eq!(created.status, 201, "POST /auth/tokens: {}", created.text());
    created.json()["token"].as_str().unwrap().to_owned()
}

#[test]
fn create_org_prints_generated_password() {
    let stack = Stack::shared();
    let token = platform_token(&stack);

    let created = run(
        &stack,
        &["create-org", "CLI Generated", "--admin", "cli-generated"],
        &[("STOWAGE_PLATFORM_TOKEN", &token)],
        "",
    );

    assert_eq!(created.status, Some(0), "{}", created.describe());
    assert!(
        created
            .stdout
            .contains("created organization CLI Generated"),
        "{}",
        created.describe()
    );
    let password = created.printed_password();
    let admin = signed_in(&stack, "cli-generated", &password);
    let me = admin.get_json("/auth/me");
    assert_eq!(me["org_name"], "CLI Generated");
    assert_eq!(me["role"], "admin");
}

#[test]
fn create_org_reads_password_from_stdin() {
    let stack = Stack::shared();
    let token = platform_token(&stack);

    let created = run(
        &stack,
        &[
            "create-org",
            "CLI Stdin",
            "--admin",
            "cli-stdin",
            "--password-stdin",
        ],
        &[("STOWAGE_PLATFORM_TOKEN", &token)],
        "a passphrase from stdin\n",
    );

    assert_eq!(created.status, Some(0), "{}", created.describe());
    assert!(
        !created.stdout.contains("password:"),
        "a password given on stdin was printed: {}",
        created.describe()
    );
    signed_in(&stack, "cli-stdin", "a passphrase from stdin");
}

#[test]
fn create_user_and_reset_password() {
    let stack = Stack::shared();
    let token = platform_token(&stack);
    let org = run(
        &stack,
        &["create-org", "CLI Users", "--admin", "cli-boss"],
        &[("STOWAGE_PLATFORM_TOKEN", &token)],
        "",
    );
    assert_eq!(org.status, Some(0), "{}", org.describe());
    let boss = signed_in(&stack, "cli-boss", &org.printed_password());
    let boss_token = create_token(&boss);

    let user = run(
        &stack,
        &[
            "create-user",
            "--org-admin-token",
            &boss_token,
            "cli-worker",
            "--role",
            "member",
        ],
        &[],
        "",
    );
    assert_eq!(user.status, Some(0), "{}", user.describe());
    let first_password = user.printed_password();
    let worker = signed_in(&stack, "cli-worker", &first_password);
    assert_eq!(worker.get_json("/auth/me")["role"], "member");
    let worker_token = create_token(&worker);

    let reset = run(
        &stack,
        &["reset-password", "CLI-Worker"],
        &[("STOWAGE_ADMIN_TOKEN", &boss_token)],
        "",
    );
    assert_eq!(reset.status, Some(0), "{}", reset.describe());
    let second_password = reset.printed_password();
    assert_ne!(first_password, second_password);

    worker
        .get("/auth/me")
        .expect_error(401, "the worker's session after the reset");
    let with_token = stack.client().send(
        "GET",
        "/auth/me",
        &[("authorization", &format!("Bearer {worker_token}"))],
        b"",
    );
    with_token.expect_error(401, "the worker's API token after the reset");
    let old = login_with_retry(&stack.client(), "cli-worker", &first_password);
    old.expect_error(401, "login with the password from before the reset");
    signed_in(&stack, "cli-worker", &second_password);
    boss.get_json("/auth/me");
}

#[test]
fn errors_print_the_server_message() {
    let stack = Stack::shared();
    let token = platform_token(&stack);
    let wrong_token = run(
        &stack,
        &["create-org", "CLI Errors", "--admin", "cli-errors"],
        &[("STOWAGE_PLATFORM_TOKEN", "not-the-platform-token")],
        "",
    );
    let org = run(
        &stack,
        &["create-org", "CLI Errors", "--admin", "cli-errors"],
        &[("STOWAGE_PLATFORM_TOKEN", &token)],
        "",
    );
    let duplicate_org = run(
        &stack,
        &["create-org", "CLI Errors", "--admin", "cli-errors-2"],
        &[("STOWAGE_PLATFORM_TOKEN", &token)],
        "",
    );
    assert_eq!(org.status, Some(0), "{}", org.describe());
    let boss = signed_in(&stack, "cli-errors", &org.printed_password());
    let admin_token = [("STOWAGE_ADMIN_TOKEN", create_token(&boss))];
    let admin_token: Vec<(&str, &str)> = admin_token
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let short_password = run(
        &stack,
        &["create-user", "cli-short", "--password-stdin"],
        &admin_token,
        "short\n",
    );
    let taken = run(&stack, &["create-user", "cli-errors"], &admin_token, "");
    let unknown = run(&stack, &["reset-password", "nobody-here"], &admin_token, "");
    let own = run(&stack, &["reset-password", "cli-errors"], &admin_token, "");

    let cases = [
        (
            "wrong platform token",
            &wrong_token,
            "authentication required (HTTP 401",
        ),
        (
            "duplicate organization",
            &duplicate_org,
            "an organization named \"CLI Errors\" exists",
        ),
        (
            "short password",
            &short_password,
            "the password must have at least 8 characters",
        ),
        (
            "taken username",
            &taken,
            "the username cli-errors is taken (HTTP 409",
        ),
        ("unknown user", &unknown, "no user \"nobody-here\""),
        ("own password", &own, "POST /auth/password"),
    ];
    for (case, result, message) in cases {
        assert_eq!(result.status, Some(1), "{case}: {}", result.describe());
        assert!(
            result.stderr.contains(message),
            "{case}: stderr lacks {message:?}; {}",
            result.describe()
        );
        assert!(
            !result.stdout.contains("password:"),
            "{case}: a failed command printed a password; {}",
            result.describe()
        );
    }
}

#[test]
fn missing_platform_token_is_usage_error() {
    let stack = Stack::shared();

    let result = run(
        &stack,
        &["create-org", "CLI Nothing", "--admin", "cli-nothing"],
        &[],
        "",
    );

    assert_eq!(result.status, Some(2), "{}", result.describe());
    assert!(
        result.stderr.contains("--platform-token"),
        "{}",
        result.describe()
    );
}
