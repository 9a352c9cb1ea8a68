//! Processing stays correct when Redis pub/sub does what it may: deliver a
//! message to every subscriber, or to none. Two processors never process a
//! file twice, lost messages and crashed processors are recovered without
//! an operator, damaged files fail after a bounded number of attempts, and
//! an aborted upload leaves nothing behind.
//!
//! Every test runs the real host and wasm components against a real
//! redis-server, and checks the result in the API, in the hosts' logs and
//! in the SQLite file, read-only unless a test damages a file on purpose.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use stowage_e2e::{
    fixture, poll_until, random_file, sha256sum, Client, Database, Stack, StowageOptions,
    TwoProcessors, ADMIN_PASSWORD, ADMIN_USERNAME, SESSION_COOKIE,
};

/// How long 200 small files may take to become ready on two processors.
const BULK_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a file may take to reach a final state once recovery can
/// start: the host reconnects to Redis within 5 s, and the stale age and
/// claim timeout the tests set are a few seconds.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a polling client reads a file, as a browser or script would.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Returns the log line the processor writes once per file it marks ready.
fn ready_line(file_id: &str) -> String {
    format!("processing: file {file_id} is ready")
}

/// Returns the start of the log line the processor writes for each claim
/// it wins.
fn claim_line(file_id: &str) -> String {
    format!("processing: claimed file {file_id} ")
}

#[test]
fn two_processors_process_each_file_once() {
    let cluster = TwoProcessors::start(&[]);
    let clients = cluster.admin_clients();
    let dir = tempfile::tempdir().expect("failed to create a temporary folder");

    // Four threads upload through both hosts at once, so messages and
    // claims of different files overlap.
    let uploads: Vec<(String, std::path::PathBuf)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let client = &clients[worker % 2];
                let dir = dir.path();
                scope.spawn(move || {
                    (0..50)
                        .map(|index| {
                            let number = worker * 50 + index;
                            let path = dir.join(format!("file-{number:03}.txt"));
                            std::fs::write(&path, format!("upload number {number}\n")).unwrap();
                            (upload(client, &path), path)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    assert_eq!(uploads.len(), 200);

    let database = Database::open_read_only(&cluster.database_path());
    let ready = poll_until(BULK_TIMEOUT, || {
        let count = database.query_i64("SELECT COUNT(*) FROM files WHERE status = 'ready'");
        (count == 200).then_some(())
    });
    if ready.is_none() {
        cluster.print_log_tails();
    }
    assert!(
        ready.is_some(),
        "not every file became ready within {BULK_TIMEOUT:?}: {} of 200",
        database.query_i64("SELECT COUNT(*) FROM files WHERE status = 'ready'")
    );
    assert_eq!(
        database.query_i64("SELECT COUNT(*) FROM files WHERE attempts != 1"),
        0,
        "every file should have been claimed exactly once"
    );

    let listed = list_all(&clients[0]);
    let [first_log, second_log] = cluster.logs();
    let mut ready_per_host = [0; 2];
    for (id, path) in &uploads {
        let file = &listed[id];
        assert_eq!(file["status"], "ready", "{file}");
        assert_eq!(file["attempts"], 1, "{file}");
        assert_eq!(
            file["sha256"].as_str(),
            Some(sha256sum(path).as_str()),
            "SHA-256 of {}: {file}",
            path.display()
        );

        let line = ready_line(id);
        let per_host = [first_log.matches(&line).count(), second_log.matches(&line).count()];
        assert_eq!(
            per_host[0] + per_host[1],
            1,
            "file {id} should be marked ready once across both hosts, got {per_host:?}"
        );
        let claims = first_log.matches(&claim_line(id)).count()
            + second_log.matches(&claim_line(id)).count();
        assert_eq!(claims, 1, "file {id} should be claimed once across both hosts");
        ready_per_host[0] += per_host[0];
        ready_per_host[1] += per_host[1];
    }
    assert!(
        ready_per_host[0] > 0 && ready_per_host[1] > 0,
        "both processors should have done work, files per host: {ready_per_host:?}"
    );
}

#[test]
fn uploads_during_redis_outage_recover_by_polling() {
    let mut stack = Stack::start_with(|redis_url| {
        StowageOptions::new(redis_url).variable("processing_stale_pending_seconds", "2")
    });
    let admin = &signed_in_admin(&stack);
    let dir = tempfile::tempdir().expect("failed to create a temporary folder");

    stack.redis.stop();
    let uploads: Vec<(String, std::path::PathBuf)> = (0..20)
        .map(|number| {
            let path = dir.path().join(format!("outage-{number:02}.txt"));
            std::fs::write(&path, format!("written while Redis was down: {number}\n")).unwrap();
            (upload(admin, &path), path)
        })
        .collect();
    for (id, _) in &uploads {
        let status = admin.get_json(&format!("/files/{id}"))["status"].clone();
        assert_eq!(status, "pending", "file {id} has no processor while Redis is down");
    }
    // The first reconnect attempt comes 100 ms after the subscription
    // drops; start Redis only after one has failed, so the outage is seen.
    let reconnect_failed = poll_until(Duration::from_secs(30), || {
        stack
            .stowage
            .log()
            .contains("failed to subscribe to Redis channel")
            .then_some(())
    });
    assert!(
        reconnect_failed.is_some(),
        "the host should log a failed reconnect attempt while Redis is down"
    );
    stack.redis.start_again();

    let started = Instant::now();
    for (id, path) in &uploads {
        let file = poll_file(admin, id, RECOVERY_TIMEOUT);
        assert_eq!(file["status"], "ready", "{file}");
        assert_eq!(file["attempts"], 1, "{file}");
        assert_eq!(
            file["sha256"].as_str(),
            Some(sha256sum(path).as_str()),
            "{file}"
        );
    }
    eprintln!(
        "20 files stranded by the outage were ready {:?} after Redis returned",
        started.elapsed()
    );

    let log = stack.stowage.log();
    assert!(
        log.contains("failed to subscribe to Redis channel"),
        "the host should log its reconnect attempts"
    );
    assert!(
        log.matches("subscribed to Redis channel").count() >= 2,
        "the host should subscribe again once Redis is back"
    );
    assert!(
        log.contains("files: re-published stale file"),
        "recovery should have come from reads re-publishing stale files"
    );
}

#[test]
fn killed_processor_is_taken_over() {
    let cluster = TwoProcessors::start(&[
        ("processing_claim_timeout_seconds", "5"),
        ("processing_stale_pending_seconds", "2"),
    ]);
    let clients = cluster.admin_clients();
    let dir = tempfile::tempdir().expect("failed to create a temporary folder");
    let path = random_file(dir.path(), "large.bin", 50 * 1024 * 1024, 7);
    let database = Database::open_read_only(&cluster.database_path());
    let mut cluster = cluster;

    let id = upload(&clients[0], &path);
    let claimed = poll_until(Duration::from_secs(30), || {
        database
            .file_status(&id)
            .filter(|status| status != "pending")
    });
    assert_eq!(
        claimed.as_deref(),
        Some("processing"),
        "the kill must land while the file is being processed"
    );
    let holder = poll_until(Duration::from_secs(5), || {
        let logs = cluster.logs();
        logs.iter().position(|log| log.contains(&claim_line(&id)))
    })
    .expect("one host logs the claim");
    cluster.hosts[holder].kill();
    let status_after_kill = database.file_status(&id);
    assert_eq!(
        status_after_kill.as_deref(),
        Some("processing"),
        "the processor finished before it was killed, so nothing was taken over"
    );

    let survivor = &clients[1 - holder];
    let file = poll_file(survivor, &id, RECOVERY_TIMEOUT);

    assert_eq!(file["status"], "ready", "{file}");
    assert_eq!(file["attempts"], 2, "the survivor's claim is the second: {file}");
    assert_eq!(file["size"].as_u64(), Some(50 * 1024 * 1024), "{file}");
    assert_eq!(
        file["sha256"].as_str(),
        Some(sha256sum(&path).as_str()),
        "{file}"
    );
    let download = survivor.get(&format!("/files/{id}/content"));
    assert_eq!(download.status, 200);
    assert!(
        download.body == std::fs::read(&path).unwrap(),
        "downloaded bytes differ"
    );
}

#[test]
fn damaged_file_fails_after_attempt_limit() {
    let mut stack = Stack::start_with(|redis_url| {
        StowageOptions::new(redis_url)
            .variable("processing_stale_pending_seconds", "1")
            .variable("processing_retry_base_ms", "200")
            .variable("processing_max_attempts", "3")
    });
    let admin = &signed_in_admin(&stack);
    let dir = tempfile::tempdir().expect("failed to create a temporary folder");
    let path = random_file(dir.path(), "damaged.bin", 3 * 1024 * 1024, 9);

    // With Redis down the upload's message is lost, so the chunk can be
    // deleted before any processor reads the file.
    stack.redis.stop();
    let id = upload(admin, &path);
    let chunk_count = delete_chunk(&stack.stowage.database_path(), &id, 1);
    assert!(chunk_count > 1, "the file should span several chunks");
    stack.redis.start_again();

    let file = poll_file(admin, &id, RECOVERY_TIMEOUT);

    assert_eq!(file["status"], "failed", "{file}");
    assert_eq!(file["attempts"], 3, "{file}");
    let reason = file["status_reason"].as_str().unwrap_or_default();
    assert_eq!(
        reason,
        format!(
            "processing failed after 3 attempts: the stored bytes are damaged: \
             chunk 1 of {chunk_count} is missing"
        ),
        "{file}"
    );
    assert!(
        file["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("chunk 1"),
        "{file}"
    );
    let download = admin.get(&format!("/files/{id}/content"));
    assert_eq!(download.status, 409, "a failed file is not downloadable");

    let later = upload(admin, &fixture("notes.txt"));
    let later_file = admin.wait_until_ready(&later, Duration::from_secs(10));
    assert_eq!(later_file["attempts"], 1, "{later_file}");
}

#[test]
fn cut_off_upload_leaves_nothing() {
    let stack = Stack::start();
    let admin = stack.admin();
    let session = admin.cookie(SESSION_COOKIE).expect("signed in");
    let database = Database::open_read_only(&stack.stowage.database_path());

    for (name, content_type, prefix) in [
        ("raw", "application/octet-stream", String::new()),
        (
            "multipart",
            "multipart/form-data; boundary=CUT",
            "--CUT\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
                .to_owned(),
        ),
    ] {
        let declared = 8 * 1024 * 1024;
        let mut stream = TcpStream::connect(address_of(stack.stowage.base_url())).unwrap();
        let head = format!(
            "POST /files?filename=cut.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Cookie: {SESSION_COOKIE}={session}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {declared}\r\n\r\n{prefix}"
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&vec![b'x'; declared / 2]).unwrap();
        stream.flush().unwrap();

        let stored = poll_until(Duration::from_secs(10), || {
            (database.chunk_rows() > 0).then_some(())
        });
        assert!(
            stored.is_some(),
            "{name}: the host should store chunks before the body ends"
        );
        drop(stream);

        let cleaned = poll_until(Duration::from_secs(10), || {
            (database.file_rows() == 0 && database.chunk_rows() == 0).then_some(())
        });
        assert!(
            cleaned.is_some(),
            "{name}: the aborted upload left {} file rows and {} chunk rows",
            database.file_rows(),
            database.chunk_rows()
        );
        let listing = admin.get_json("/files");
        assert_eq!(
            listing["files"].as_array().map(Vec::len),
            Some(0),
            "{name}: {listing}"
        );
    }
}

/// Returns a new client signed in as the sample admin. Unlike
/// [`Stack::admin`] it does not borrow the stack, which the test stops and
/// starts Redis on.
fn signed_in_admin(stack: &Stack) -> Client {
    let client = stack.client();
    client.login(ADMIN_USERNAME, ADMIN_PASSWORD);
    client
}

/// Uploads the file at `path` and returns its id, after checking the 202.
fn upload(client: &Client, path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let bytes = std::fs::read(path).unwrap();

    let response = client.upload_multipart(name, &bytes);

    assert_eq!(
        response.status,
        202,
        "upload of {name}: expected 202, got {}",
        response.text()
    );
    response.json()["id"].as_str().unwrap().to_owned()
}

/// Polls GET /files/{id} the way a waiting client does, until the file
/// reaches a final status or `timeout` passes, and returns its last JSON.
fn poll_file(client: &Client, id: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let file = client.get_json(&format!("/files/{id}"));
        let status = file["status"].as_str().unwrap_or_default();
        if matches!(status, "ready" | "rejected" | "failed") || Instant::now() >= deadline {
            return file;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Returns every file of the client's organization by id, from all pages
/// of GET /files.
fn list_all(client: &Client) -> HashMap<String, Value> {
    let mut files = HashMap::new();
    let mut path = "/files?limit=100".to_owned();
    loop {
        let page = client.get_json(&path);
        for file in page["files"].as_array().unwrap() {
            files.insert(file["id"].as_str().unwrap().to_owned(), file.clone());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/files?limit=100&cursor={cursor}"),
            None => return files,
        }
    }
}

/// Deletes chunk `seq` of file `id` in the host's database, as disk damage
/// would, and returns the file's chunk count.
fn delete_chunk(database_path: &Path, id: &str, seq: i64) -> i64 {
    let connection = rusqlite::Connection::open(database_path).unwrap();
    connection.busy_timeout(Duration::from_secs(5)).unwrap();
    let deleted = connection
        .execute(
            "DELETE FROM file_chunks WHERE file_id = ?1 AND seq = ?2",
            rusqlite::params![id, seq],
        )
        .unwrap();
    assert_eq!(deleted, 1, "chunk {seq} of file {id} should exist");
    connection
        .query_row(
            "SELECT chunk_count FROM files WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .unwrap()
}

/// Returns `host:port` of a base URL such as `http://127.0.0.1:41234`.
fn address_of(base_url: &str) -> String {
    base_url.trim_start_matches("http://").to_owned()
}
