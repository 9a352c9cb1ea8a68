//! Verifies a password against an argon2id hash with the login's
//! parameters (m = 19456 KiB, t = 2, p = 1) natively, and prints the
//! median time of one verification. The reference for the login cost of
//! the wasm component, which runs the same `argon2` crate.
//!
//! ```text
//! cargo run --release -p stowage-bench --bin argon2-native -- --runs 10
//! {"runs":10,"median_ms":21.4}
//! ```
//!
//! With `--per-line` it verifies once per line read from stdin and prints
//! each time in milliseconds, so that a caller can interleave
//! verifications with other measurements in one warm process.

use std::io::Write as _;
use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use clap::Parser;

/// The parameters of `stowage_core::auth::password`.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

#[derive(Parser)]
#[command(about = "Time argon2id verifications with the login's parameters natively")]
struct Args {
    /// Number of timed verifications.
    #[arg(long, default_value_t = 10)]
    runs: usize,

    /// Verify once per line of stdin and print each time, instead.
    #[arg(long)]
    per_line: bool,
}

fn main() {
    let args = Args::parse();
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid parameters");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"stowage-bench-16").expect("a 16-byte salt");
    let hash = argon2
        .hash_password(b"password", &salt)
        .expect("hashing succeeds")
        .to_string();
    let parsed = PasswordHash::new(&hash).expect("the hash parses");

    let verify = || {
        let started = Instant::now();
        argon2
            .verify_password(b"password", &parsed)
            .expect("the password matches");
        started.elapsed().as_secs_f64() * 1e3
    };

    if args.per_line {
        let mut stdout = std::io::stdout().lock();
        for line in std::io::stdin().lines() {
            if line.is_err() {
                break;
            }
            if writeln!(stdout, "{:.3}", verify()).and_then(|()| stdout.flush()).is_err() {
                break;
            }
        }
        return;
    }

    let mut millis: Vec<f64> = (0..args.runs).map(|_| verify()).collect();
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    println!("{{\"runs\":{},\"median_ms\":{median:.3}}}", args.runs);
}
