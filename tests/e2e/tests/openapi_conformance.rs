//! docs/openapi.yaml describes the running service: schemathesis sends
//! generated requests, valid and invalid, to every operation it lists and
//! fails on any 5xx or on a response that the description does not allow.
//!
//! `scripts/test` installs schemathesis (pinned in scripts/common.sh);
//! set `SCHEMATHESIS` to use another executable.

use std::process::Command;
use std::time::Instant;

use serde_json::json;
use stowage_e2e::{repo_root, Stack};

/// Test cases per operation and phase. With about 20 operations this keeps
/// a run near a minute on two cores.
const MAX_EXAMPLES: &str = "15";

/// The time budget of the whole run, in seconds.
const MAX_TIME_SECS: &str = "60";

#[test]
fn the_service_conforms_to_its_openapi_description() {
    let stack = Stack::start();
    let admin = stack.admin();
    let created = admin.post_json("/auth/tokens", &json!({ "name": "schemathesis" }));
    assert_eq!(
        created.status,
        201,
        "creating an API token failed: {}",
        created.text()
    );
    let token = created.json()["token"]
        .as_str()
        .expect("the created token has a secret")
        .to_owned();
    // Generated requests reuse ids seen in responses, so a revocation
    // would soon hit the run's own token and leave only 401s to test.
    // Token revocation therefore runs last, on its own.
    run_schemathesis(
        &stack,
        &token,
        &[
            "--exclude-operation-id",
            "revokeToken",
            "--max-time",
            MAX_TIME_SECS,
        ],
    );
    run_schemathesis(
        &stack,
        &token,
        &["--include-operation-id", "revokeToken", "--max-time", "10"],
    );
}

/// Runs schemathesis with the shared options and `extra` against the
/// stack, authenticated by the API token, and fails on any finding.
fn run_schemathesis(stack: &Stack, token: &str, extra: &[&str]) {
    let executable = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".to_owned());
    let report_dir = tempfile::tempdir().expect("a temporary folder can be created");

    let started = Instant::now();
    let spec = repo_root().join("docs/openapi.yaml");
    // The working folder is temporary because schemathesis keeps its
    // example database in `.schemathesis/` there.
    let output = Command::new(&executable)
        .current_dir(report_dir.path())
        .arg("run")
        .arg(&spec)
        .args(["--url", stack.stowage.base_url()])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args([
            "--seed",
            "20261204",
            "--workers",
            "2",
            "--request-timeout",
            "20",
        ])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(extra)
        .arg("--report-dir")
        .arg(report_dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "failed to run {executable:?} ({error}); scripts/test installs it, or \
                 python3 -m pip install schemathesis"
            )
        });

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown with --nocapture: which operations ran and how many cases.
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis {extra:?} found responses that break docs/openapi.yaml ({:?}, \
         {:?}):\n{stdout}\n{stderr}",
        output.status,
        started.elapsed()
    );
}
