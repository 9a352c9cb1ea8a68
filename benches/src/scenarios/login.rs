//! Login cost: POST /auth/login, whose argon2id verification runs in the
//! wasm component, beside the same verification in a native program.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use super::{Bench, ADMIN_PASSWORD, ADMIN_USERNAME};
use crate::api::Api;
use crate::report::{self, Report, Section, Table, Target};
use crate::stats::median_duration;

/// Sign-ins per run when the login rate limit can be raised.
const LOGINS: usize = 10;
/// Sign-ins per run when spin.toml has no `login_limit_per_minute` to
/// raise: the fixed limit is 5 per minute, and the run signs in once more.
const LOGINS_UNDER_FIXED_LIMIT: usize = 3;
const LOGIN_TARGET_RATIO: f64 = 1.5;

pub fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let logins = if super::stowage_declares("login_limit_per_minute") {
        LOGINS
    } else {
        LOGINS_UNDER_FIXED_LIMIT
    };
    let (host, signed_in) = bench.start_stowage(&bench.stowage_config())?;

    let mut login_times = Vec::new();
    let mut me_times = Vec::new();
    for _ in 0..logins {
        let mut client = Api::new(host.base_url());
        login_times.push(client.login(ADMIN_USERNAME, ADMIN_PASSWORD)?);

        let started = Instant::now();
        signed_in.get_json("/auth/me")?;
        me_times.push(started.elapsed());
    }
    let native = native_verification(logins)?;

    let login = median_duration(&login_times);
    let me = median_duration(&me_times);
    let hash_in_wasm = login.saturating_sub(me);
    let ratio = hash_in_wasm.as_secs_f64() / native.as_secs_f64();

    let mut table = Table::new(&["measurement", "median", "vs native"]);
    for (label, value) in [
        ("`POST /auth/login`, correct password", login),
        ("`GET /auth/me`, the same path without the hash", me),
        ("login minus `GET /auth/me`: argon2id in wasm (estimate)", hash_in_wasm),
        ("reference: argon2id verification natively (`argon2-native`)", native),
    ] {
        table.row(vec![
            label.to_string(),
            report::duration(value),
            report::ratio(value.as_secs_f64(), native.as_secs_f64()),
        ]);
    }
    report.targets.push(Target {
        measurement: "5. argon2id per login in wasm (login minus `GET /auth/me`)".into(),
        result: report::duration(hash_in_wasm),
        reference: format!("native: {}", report::duration(native)),
        ratio: format!("{ratio:.2}×"),
        goal: format!("≤ {LOGIN_TARGET_RATIO}×"),
        met: ratio <= LOGIN_TARGET_RATIO,
    });
    report.sections.push(Section {
        title: "5. Login".into(),
        method: format!(
            "{logins} sequential sign-ins as the sample admin, each on a new client, \
             against a host with the login rate limit raised; after each, one `GET \
             /auth/me` with an existing session measures the same request path without \
             the password hash. The reference is `target/release/argon2-native --runs \
             {logins}`: the `argon2` crate verifying a password against an argon2id hash \
             with m = 19456 KiB, t = 2, p = 1, the login's parameters, natively. \
             Medians of the {logins} requests of one run."
        ),
        table,
    });
    Ok(())
}

/// Runs `argon2-native` and returns its median verification time.
fn native_verification(runs: usize) -> Result<Duration> {
    let binary = crate::repo_root().join("target/release/argon2-native");
    let output = Command::new(&binary)
        .args(["--runs", &runs.to_string()])
        .output()
        .with_context(|| format!("failed to run {}; build it first", binary.display()))?;
    ensure!(output.status.success(), "argon2-native failed: {}", String::from_utf8_lossy(&output.stderr));
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("argon2-native printed invalid JSON")?;
    let millis = result["median_ms"]
        .as_f64()
        .context("argon2-native printed no median_ms")?;
    Ok(Duration::from_secs_f64(millis / 1e3))
}
