//! Login cost: POST /auth/login, whose argon2id verification runs in the
//! wasm component, beside the same verification in a native program.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{Bench, ADMIN_PASSWORD, ADMIN_USERNAME};
use crate::api::Api;
use crate::report::{self, Report, Section, Table, Target};
use crate::stats::median_duration;

/// Sign-ins when the login rate limit can be raised.
const LOGINS: usize = 20;
/// Sign-ins when spin.toml has no `login_limit_per_minute` to
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
    let mut native = NativeVerifier::start()?;
    // The first verification of a process faults its 19 MiB in.
    native.verify()?;

    // Each sign-in is followed by its references, so that a burst of load
    // from other work on the machine meets all three alike.
    let mut login_times = Vec::new();
    let mut me_times = Vec::new();
    let mut native_times = Vec::new();
    for _ in 0..logins {
        let mut client = Api::new(host.base_url());
        login_times.push(client.login(ADMIN_USERNAME, ADMIN_PASSWORD)?);

        let started = Instant::now();
        signed_in.get_json("/auth/me")?;
        me_times.push(started.elapsed());

        native_times.push(native.verify()?);
    }

    let login = median_duration(&login_times);
    let me = median_duration(&me_times);
    let native = median_duration(&native_times);
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
             against a host with the login rate limit raised. After each, one `GET \
             /auth/me` with an existing session measures the same request path without \
             the password hash. Then one verification in `target/release/argon2-native \
             --per-line` times the reference: the `argon2` crate verifying a password \
             against an argon2id hash with m = 19456 KiB, t = 2, p = 1, the login's \
             parameters, natively, in a warm process that has verified once before. \
             Medians of the {logins} rounds."
        ),
        table,
    });
    Ok(())
}

/// A running `argon2-native --per-line`: a warm native process that
/// verifies once per request.
struct NativeVerifier {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl NativeVerifier {
    fn start() -> Result<NativeVerifier> {
        let binary = crate::repo_root().join("target/release/argon2-native");
        let mut child = Command::new(&binary)
            .arg("--per-line")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to run {}; build it first", binary.display()))?;
        let stdout = BufReader::new(child.stdout.take().context("argon2-native has no stdout")?);
        Ok(NativeVerifier { child, stdout })
    }

    /// Times one verification in the native process.
    fn verify(&mut self) -> Result<Duration> {
        let stdin = self.child.stdin.as_mut().context("argon2-native has no stdin")?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let millis: f64 = line
            .trim()
            .parse()
            .with_context(|| format!("argon2-native printed {line:?}, expected milliseconds"))?;
        Ok(Duration::from_secs_f64(millis / 1e3))
    }
}

impl Drop for NativeVerifier {
    fn drop(&mut self) {
        // Closing stdin ends the loop; kill covers a process that hangs.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
