//! The login and upload rate limits with spin.toml's defaults: 5 sign-in
//! attempts per minute per address and per username, 10 uploads per
//! minute per user, 429 with Retry-After beyond them, and no more admitted
//! when requests race.
//!
//! Each test starts its own stack, because the tests share one client
//! address (127.0.0.1) and would otherwise count against each other.

use std::sync::Barrier;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stowage_e2e::{
    Client, Database, Response, Stack, StowageOptions, ADMIN_PASSWORD, ADMIN_USERNAME,
};

/// spin.toml's `login_limit_per_minute`.
const LOGIN_LIMIT: usize = 5;

/// spin.toml's `upload_limit_per_minute`.
const UPLOAD_LIMIT: usize = 10;

fn stack_with_default_limits() -> Stack {
    Stack::start_with(|redis_url| StowageOptions::new(redis_url).with_default_rate_limits())
}

/// Limits count in windows aligned to wall-clock minutes. Waits until the
/// current minute has at least `needed` left, so a test's requests fall
/// in one window.
fn wait_for_window_with(needed: Duration) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    let into_minute = Duration::from_millis((now.as_millis() % 60_000) as u64);
    let left = Duration::from_secs(60) - into_minute;
    if left < needed {
        std::thread::sleep(left + Duration::from_millis(100));
    }
}

/// Checks that `response` is the rate-limit error with a Retry-After of 1
/// to 60 seconds.
fn expect_rate_limited(response: &Response, context: &str) {
    let error = response.expect_error(429, context);
    assert_eq!(error["code"], "rate_limited", "{context}: {error}");
    let retry_after = response
        .header("retry-after")
        .unwrap_or_else(|| panic!("{context}: the 429 has no Retry-After header"));
    let seconds: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("{context}: Retry-After {retry_after:?} is not seconds"));
    assert!(
        (1..=60).contains(&seconds),
        "{context}: Retry-After {seconds} is outside one minute"
    );
}

#[test]
fn sixth_login_from_one_address_in_a_minute_is_rate_limited() {
    let stack = stack_with_default_limits();
    let client = stack.client();
    wait_for_window_with(Duration::from_secs(20));

    // Distinct usernames, so only the per-address limit applies.
    for attempt in 0..LOGIN_LIMIT {
        let response = client.try_login(&format!("nobody-{attempt}"), "wrong password");
        response.expect_error(401, &format!("login attempt {}", attempt + 1));
    }
    let sixth = client.try_login(ADMIN_USERNAME, ADMIN_PASSWORD);

    expect_rate_limited(&sixth, "the sixth login in a minute");
    assert!(
        sixth.header("set-cookie").is_none(),
        "a rate-limited login set a cookie"
    );
}

#[test]
fn a_spin_client_addr_header_does_not_escape_the_address_limit() {
    let stack = stack_with_default_limits();
    let client = stack.client();
    wait_for_window_with(Duration::from_secs(20));

    // Distinct usernames and claimed addresses: only the real address,
    // which the host sets in spin-client-addr over the client's value,
    // is shared by the attempts.
    let attempt = |index: usize| {
        let claimed = format!("198.51.100.{index}:4000");
        let body = format!(r#"{{"username":"nobody-{index}","password":"wrong"}}"#);
        let headers = [
            ("content-type", "application/json"),
            ("spin-client-addr", claimed.as_str()),
        ];
        client.post("/auth/login", &headers, body.as_bytes())
    };
    for index in 0..LOGIN_LIMIT {
        attempt(index).expect_error(401, &format!("login attempt {}", index + 1));
    }

    expect_rate_limited(
        &attempt(LOGIN_LIMIT),
        "the sixth login with a claimed address",
    );
}

#[test]
fn twenty_simultaneous_logins_from_one_address_admit_at_most_five() {
    const CLIENTS: usize = 20;
    let stack = stack_with_default_limits();
    let clients: Vec<Client> = (0..CLIENTS).map(|_| stack.client()).collect();
    let start = Barrier::new(CLIENTS);
    wait_for_window_with(Duration::from_secs(30));

    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let threads: Vec<_> = clients
            .iter()
            .map(|client| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    let response = client.try_login(ADMIN_USERNAME, ADMIN_PASSWORD);
                    if response.status == 429 {
                        expect_rate_limited(&response, "a simultaneous login");
                    }
                    response.status
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a login thread panicked"))
            .collect()
    });

    let admitted = statuses.iter().filter(|&&status| status == 200).count();
    let limited = statuses.iter().filter(|&&status| status == 429).count();
    assert_eq!(
        admitted + limited,
        CLIENTS,
        "every login is admitted (200) or limited (429): {statuses:?}"
    );
    assert!(
        (1..=LOGIN_LIMIT).contains(&admitted),
        "{admitted} of {CLIENTS} simultaneous logins were admitted, expected 1 to \
         {LOGIN_LIMIT}: {statuses:?}"
    );
}

#[test]
fn eleventh_upload_in_a_minute_is_rate_limited_and_stores_nothing() {
    let stack = stack_with_default_limits();
    let client = stack.admin();
    let database = Database::open_read_only(&stack.stowage.database_path());
    wait_for_window_with(Duration::from_secs(30));

    for index in 0..UPLOAD_LIMIT {
        let response = client.upload_raw(&format!("note-{index}.txt"), b"within the limit");
        assert_eq!(
            response.status,
            202,
            "upload {} was not accepted: {}",
            index + 1,
            response.text()
        );
    }
    let files_before = database.file_rows();
    let eleventh = client.upload_raw("one-too-many.txt", b"over the limit");

    expect_rate_limited(&eleventh, "the eleventh upload in a minute");
    assert_eq!(
        database.file_rows(),
        files_before,
        "a rate-limited upload stored a file row"
    );
}

#[test]
fn reads_do_not_write_rate_limit_rows() {
    let stack = stack_with_default_limits();
    let client = stack.admin();
    let database = Database::open_read_only(&stack.stowage.database_path());
    let rows = || database.query_i64("SELECT COUNT(*) FROM rate_limits");
    let counted = || database.query_i64("SELECT COALESCE(SUM(count), 0) FROM rate_limits");
    let (rows_before, counted_before) = (rows(), counted());

    for path in ["/files", "/auth/me", "/files?limit=1"] {
        for _ in 0..10 {
            assert_eq!(client.get(path).status, 200, "GET {path}");
        }
    }

    assert_eq!(
        (rows(), counted()),
        (rows_before, counted_before),
        "GET requests changed the rate_limits table"
    );
}
