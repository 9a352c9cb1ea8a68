//! The host's limits on slow and numerous clients. Connections that stall
//! in their headers or body are closed after the configured timeouts. A
//! client over its connection cap, or a request with no free instance,
//! gets `503 overloaded` at once, while other clients and the Redis
//! processor go on working.
//!
//! The hosts here run with timeouts of two seconds and caps of two or
//! three, so a handful of sockets shows what a thousand would.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;
use stowage_e2e::{poll_until, Stack, StowageOptions, ADMIN_PASSWORD, ADMIN_USERNAME};

/// The `--http-header-timeout` and `--http-body-timeout` of these hosts.
const TIMEOUT_SECS: u64 = 2;
/// How long a stalled connection may stay open: the timeout plus room
/// for a loaded machine.
const CLOSE_DEADLINE: Duration = Duration::from_secs(15);
/// The earliest a stalled connection may be closed: a little under the
/// timeout, because the host's timer and this test's clock start at
/// slightly different moments.
const EARLIEST_CLOSE: Duration = Duration::from_millis(1_500);

/// A second loopback address, so that one client can exceed its cap while
/// the tests' usual client, 127.0.0.1, stays under it. Linux routes all
/// of 127.0.0.0/8 to the loopback interface.
const OTHER_CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn host_address(stack: &Stack) -> SocketAddr {
    let authority = stack
        .stowage
        .base_url()
        .strip_prefix("http://")
        .expect("the host serves http://");
    authority
        .parse()
        .expect("the host listens on an IP address")
}

/// Opens a TCP connection to the host from `source`.
fn connect_from(source: Ipv4Addr, host: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .expect("failed to create a socket");
    socket
        .bind(&SocketAddr::from((source, 0)).into())
        .unwrap_or_else(|error| panic!("failed to bind {source}: {error}"));
    socket
        .connect(&host.into())
        .unwrap_or_else(|error| panic!("failed to connect from {source} to {host}: {error}"));
    socket.into()
}

/// Sends a sign-in request head that promises a 100-byte body, and no body.
fn stall_in_body(stream: &mut TcpStream) {
    stream
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nhost: localhost\r\n\
              content-type: application/json\r\ncontent-length: 100\r\n\r\n",
        )
        .expect("failed to send the request head");
}

/// Opens a connection from 127.0.0.1 that stalls in its body, and
/// returns it with the time it was opened.
fn open_stalled_body(host: SocketAddr) -> (TcpStream, Instant) {
    let mut stream = connect_from(Ipv4Addr::LOCALHOST, host);
    let opened = Instant::now();
    stall_in_body(&mut stream);
    (stream, opened)
}

/// Checks, without waiting, whether the host has sent bytes on `stream`
/// or closed it.
fn has_response(stream: &TcpStream) -> bool {
    stream
        .set_nonblocking(true)
        .expect("switching to non-blocking reads succeeds");
    let mut byte = [0u8; 1];
    let answered = match stream.peek(&mut byte) {
        Ok(_) => true,
        Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream
        .set_nonblocking(false)
        .expect("switching back to blocking reads succeeds");
    answered
}

/// Sends half a request head.
fn stall_in_headers(stream: &mut TcpStream) {
    stream
        .write_all(b"POST /auth/login HTTP/1.1\r\nhost: localhost\r\n")
        .expect("failed to send the start of the request head");
}

/// What the host sent on a connection until it closed it.
struct Closed {
    received: Vec<u8>,
    after: Duration,
}

impl Closed {
    /// Returns the status code of the response, if the host sent one.
    fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.received);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// Reads until the host closes the connection, started at `opened`.
///
/// # Panics
///
/// When the connection is still open at [`CLOSE_DEADLINE`].
fn read_until_closed(stream: &mut TcpStream, opened: Instant) -> Closed {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = CLOSE_DEADLINE.saturating_sub(opened.elapsed());
        assert!(
            !left.is_zero(),
            "the host kept a stalled connection open for {CLOSE_DEADLINE:?}; received {:?}",
            String::from_utf8_lossy(&received)
        );
        stream
            .set_read_timeout(Some(left))
            .expect("setting a read timeout succeeds");
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(error) => panic!("reading from a stalled connection failed: {error}"),
        }
    }
    Closed {
        received,
        after: opened.elapsed(),
    }
}

/// Sends a whole `GET /files` without a session from `source` and reads
/// the response until the host closes the connection.
fn list_files_from(source: Ipv4Addr, host: SocketAddr) -> Closed {
    let mut stream = connect_from(source, host);
    let opened = Instant::now();
    stream
        .write_all(b"GET /files HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .expect("failed to send the request");
    read_until_closed(&mut stream, opened)
}

/// Checks that `closed` contains the host's `503 overloaded` response.
fn assert_overloaded(closed: &Closed, context: &str) {
    assert_eq!(closed.status(), Some(503), "{context}: {}", closed.text());
    let text = closed.text().to_ascii_lowercase();
    assert!(
        text.contains("\r\nretry-after: 1\r\n"),
        "{context}: expected Retry-After: 1 in {text:?}"
    );
    let body = &text[text.find("\r\n\r\n").expect("a response head") + 4..];
    let body: Value = serde_json::from_str(body)
        .unwrap_or_else(|error| panic!("{context}: the body is not JSON ({error}): {body:?}"));
    assert_eq!(body["error"]["code"], "overloaded", "{context}: {body}");
}

/// Checks that the host closed a stalled connection because of its
/// timeout: not before it, and within [`CLOSE_DEADLINE`].
fn assert_closed_by_timeout(closed: &Closed, context: &str) {
    assert!(
        closed.after >= EARLIEST_CLOSE,
        "{context}: closed after {:?}, before the {TIMEOUT_SECS} s timeout",
        closed.after
    );
}

/// Sends one command to the Redis server on `port` with the RESP protocol
/// and returns the start of its reply, up to 16 KiB, as text.
fn redis_command(port: u16, arguments: &[&str]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("failed to connect to Redis");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("setting a read timeout succeeds");
    let mut command = format!("*{}\r\n", arguments.len());
    for argument in arguments {
        command.push_str(&format!("${}\r\n{argument}\r\n", argument.len()));
    }
    stream
        .write_all(command.as_bytes())
        .expect("failed to send a Redis command");
    let mut reply = vec![0u8; 16 * 1024];
    let read = stream
        .read(&mut reply)
        .expect("failed to read the Redis reply");
    String::from_utf8_lossy(&reply[..read]).into_owned()
}

/// Publishes `payload` on `channel` of the Redis server on `port` and
/// returns the number of subscribers it reached.
fn publish(port: u16, channel: &str, payload: &str) -> i64 {
    let reply = redis_command(port, &["PUBLISH", channel, payload]);
    reply
        .trim()
        .strip_prefix(':')
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("unexpected PUBLISH reply {reply:?}"))
}

/// Returns the number of connections the Redis server on `port` has
/// accepted since it started, this query's own included.
fn connections_received(port: u16) -> u64 {
    let reply = redis_command(port, &["INFO", "stats"]);
    reply
        .lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO stats lacks total_connections_received: {reply:?}"))
}

#[test]
fn stalled_connections_are_closed_and_capped() {
    let stack = Stack::start_with(|redis_url| {
        StowageOptions::new(redis_url)
            .host_option("--http-header-timeout", &TIMEOUT_SECS.to_string())
            .host_option("--http-body-timeout", &TIMEOUT_SECS.to_string())
            .host_option("--max-connections-per-client", "3")
    });
    let host = host_address(&stack);

    let opened = Instant::now();
    let mut in_body: Vec<TcpStream> = (0..2).map(|_| connect_from(OTHER_CLIENT, host)).collect();
    in_body.iter_mut().for_each(stall_in_body);
    let mut in_headers = connect_from(OTHER_CLIENT, host);
    stall_in_headers(&mut in_headers);

    let over_cap = list_files_from(OTHER_CLIENT, host);
    assert_overloaded(&over_cap, "a fourth connection from the stalling client");
    assert!(
        over_cap.after < Duration::from_secs(TIMEOUT_SECS),
        "the 503 should come at once, not after {:?}",
        over_cap.after
    );

    let session = stack.client().login(ADMIN_USERNAME, ADMIN_PASSWORD);
    assert!(
        session.is_object(),
        "another client signs in while the stalled connections are open: {session}"
    );

    for (number, stream) in in_body.iter_mut().enumerate() {
        let closed = read_until_closed(stream, opened);
        let context = format!("connection {number} stalled in its body");
        assert_closed_by_timeout(&closed, &context);
        assert_eq!(closed.status(), Some(400), "{context}: {}", closed.text());
    }
    let closed = read_until_closed(&mut in_headers, opened);
    assert_closed_by_timeout(&closed, "connection stalled in its headers");

    let freed = poll_until(Duration::from_secs(5), || {
        let response = list_files_from(OTHER_CLIENT, host);
        (response.status() == Some(401)).then_some(())
    });
    assert!(
        freed.is_some(),
        "the stalling client gets answers again once its connections are closed"
    );
    assert!(
        stack
            .stowage
            .log()
            .contains("HTTP connection limit reached"),
        "the host should log that it turned a connection away"
    );
}

#[test]
fn exhausted_instances_answer_overloaded() {
    // A longer body timeout leaves time to observe the saturation on a
    // loaded machine before the stalled requests end.
    let body_timeout = Duration::from_secs(3 * TIMEOUT_SECS);
    let stack = Stack::start_with(|redis_url| {
        StowageOptions::new(redis_url)
            .host_option("--http-body-timeout", &body_timeout.as_secs().to_string())
            .host_option("--max-http-instances", "2")
    });
    let host = host_address(&stack);
    let client = stack.client();

    let mut stalled: Vec<(TcpStream, Instant)> = (0..2).map(|_| open_stalled_body(host)).collect();

    // A probe that the host handles before a stalled head arrives takes an
    // instance for a moment, and that stalled request may get the 503
    // instead. Such a connection is replaced until both stalled requests
    // hold their instances and a probe is refused.
    let refused = poll_until(body_timeout / 2, || {
        for entry in stalled.iter_mut() {
            if has_response(&entry.0) {
                *entry = open_stalled_body(host);
            }
        }
        let response = client.get("/files");
        (response.status == 503).then_some(response)
    })
    .expect("a request with both HTTP instances taken gets 503");
    let error = refused.expect_error(503, "GET /files with no free instance");
    assert_eq!(error["code"], "overloaded");
    assert_eq!(refused.header("retry-after"), Some("1"));

    let handled_before = stack.stowage.log().matches("Redis message").count();
    let channel = stack
        .stowage
        .options()
        .variable_value("redis_channel")
        .unwrap_or("stowage-uploads")
        .to_owned();
    let unknown_file = uuid::Uuid::new_v4().to_string();
    let subscribers = publish(stack.redis.port(), &channel, &unknown_file);
    assert_eq!(subscribers, 1, "the processor is subscribed to {channel}");
    let handled = poll_until(Duration::from_secs(10), || {
        (stack.stowage.log().matches("Redis message").count() > handled_before).then_some(())
    });
    assert!(
        handled.is_some(),
        "the processor handles a message while HTTP has no free instance"
    );

    for (number, (stream, opened)) in stalled.iter_mut().enumerate() {
        let closed = read_until_closed(stream, *opened);
        assert_closed_by_timeout(&closed, &format!("stalled connection {number}"));
    }
    let recovered = poll_until(Duration::from_secs(5), || {
        (client.get("/files").status == 401).then_some(())
    });
    assert!(
        recovered.is_some(),
        "requests get instances again once the stalled ones time out"
    );
    let log = stack.stowage.log();
    // The first 503 may have gone to a stalled request of the auth
    // component; later ones within 10 s are only counted.
    let warning = log
        .lines()
        .find(|line| line.contains("no free component instance"))
        .expect("the host should log that it sent 503");
    assert!(
        warning.contains("WARN"),
        "the 503 is logged at WARN: {warning}"
    );
    assert!(
        warning.contains("component=files") || warning.contains("component=auth"),
        "the warning names the component: {warning}"
    );
}

#[test]
fn uploads_share_one_redis_connection() {
    let stack = Stack::start();
    let admin = stack.admin();
    let first = admin.upload_multipart("first.txt", b"opens the connection\n");
    assert_eq!(first.status, 202, "{}", first.text());
    let before = connections_received(stack.redis.port());

    std::thread::scope(|scope| {
        for number in 0..8 {
            scope.spawn(move || {
                let body = format!("parallel upload {number}\n");
                let response = admin.upload_multipart(&format!("{number}.txt"), body.as_bytes());
                assert_eq!(response.status, 202, "upload {number}: {}", response.text());
            });
        }
    });
    let after = connections_received(stack.redis.port());

    // The only new connection is the second INFO query itself.
    assert_eq!(
        after - before,
        1,
        "eight uploads published over the connection the first one opened"
    );
}
