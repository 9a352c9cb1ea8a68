//! Measures how long failed sign-ins take for an unknown username and for
//! a known username with a wrong password, which must be alike so that
//! timing does not reveal which usernames exist.
//!
//! ```text
//! cargo build --release -p stowage-host
//! cargo build --release --target wasm32-wasip2 -p stowage-auth -p stowage-files -p stowage-processor
//! cargo run --release -p stowage-e2e --example login_timing -- [ROUNDS]
//! ```
//!
//! It starts its own redis-server and stowage-host (as the end-to-end
//! tests do, with the sample user `admin`), then sends ROUNDS (default
//! 200) rounds of three requests in turn: an unknown username, the known
//! username with a wrong password, and a body that is not JSON, which is
//! rejected before any password work. It prints the median and 90th
//! percentile of each kind, the ratio of the two failed-login medians, the
//! argon2id cost inside the component (wrong password minus the baseline)
//! and the cost of one argon2id verification in native code with the same
//! parameters.

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use stowage_e2e::{Client, Stack, StowageOptions, ADMIN_USERNAME};

const DEFAULT_ROUNDS: usize = 200;

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .map(|value| value.parse().expect("ROUNDS must be a positive integer"))
        .unwrap_or(DEFAULT_ROUNDS);

    // The login limit (5 per minute by default) would stop the run after
    // five attempts, so it is raised for this host only.
    let stack = Stack::start_with(|redis_url| {
        StowageOptions::new(redis_url).variable("login_limit_per_minute", "1000000")
    });
    let client = stack.client();

    // Warm-up: the first requests instantiate and JIT-warm the component.
    for _ in 0..5 {
        login(&client, "warm-up-user", "a wrong password");
    }

    let mut unknown = Vec::with_capacity(rounds);
    let mut wrong = Vec::with_capacity(rounds);
    let mut baseline = Vec::with_capacity(rounds);
    for round in 0..rounds {
        unknown.push(login(
            &client,
            &format!("nobody-{round}"),
            "a wrong password",
        ));
        wrong.push(login(&client, ADMIN_USERNAME, "a wrong password"));
        baseline.push(not_json(&client));
    }

    let unknown_median = median(&mut unknown);
    let wrong_median = median(&mut wrong);
    let baseline_median = median(&mut baseline);
    let native = native_verify_cost(rounds.min(50));

    println!("rounds: {rounds}");
    report("unknown username", &mut unknown);
    report("wrong password", &mut wrong);
    report("not JSON (no hashing)", &mut baseline);
    println!(
        "ratio of medians, unknown / wrong: {:.3}",
        unknown_median.as_secs_f64() / wrong_median.as_secs_f64()
    );
    println!(
        "argon2id in the component (wrong password minus baseline): {:.1} ms",
        millis(wrong_median.saturating_sub(baseline_median))
    );
    println!(
        "argon2id verification in native code (m=19456, t=2, p=1): {:.1} ms",
        millis(native)
    );
}

/// Sends one login that must fail and returns its round-trip time.
fn login(client: &Client, username: &str, password: &str) -> Duration {
    let started = Instant::now();
    let response = client.try_login(username, password);
    let elapsed = started.elapsed();
    assert_eq!(
        response.status,
        401,
        "login as {username}: {}",
        response.text()
    );
    elapsed
}

fn not_json(client: &Client) -> Duration {
    let started = Instant::now();
    let response = client.post(
        "/auth/login",
        &[("content-type", "application/json")],
        b"not json",
    );
    let elapsed = started.elapsed();
    assert_eq!(
        response.status,
        400,
        "a body that is not JSON: {}",
        response.text()
    );
    elapsed
}

fn native_verify_cost(rounds: usize) -> Duration {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"login-timing-salt").expect("valid salt");
    let hash = argon2
        .hash_password(b"the stored password", &salt)
        .expect("hashing succeeds")
        .to_string();
    let hash = PasswordHash::new(&hash).expect("a valid PHC string");

    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            let result = argon2.verify_password(b"a wrong password", &hash);
            assert!(result.is_err());
            started.elapsed()
        })
        .collect();
    median(&mut times)
}

fn report(kind: &str, times: &mut [Duration]) {
    let median = median(times);
    let p90 = percentile(times, 0.9);
    println!(
        "{kind:>24}: median {:.1} ms, p90 {:.1} ms",
        millis(median),
        millis(p90)
    );
}

fn median(times: &mut [Duration]) -> Duration {
    percentile(times, 0.5)
}

fn percentile(times: &mut [Duration], fraction: f64) -> Duration {
    times.sort_unstable();
    let index = ((times.len() - 1) as f64 * fraction).round() as usize;
    times[index]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
