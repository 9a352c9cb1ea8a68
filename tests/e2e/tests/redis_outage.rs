//! An upload made while Redis is down is still accepted, and the file is
//! processed after Redis returns, without an operator.

use std::time::Duration;

use stowage_e2e::{fixture, poll_until, Client, Stack};

/// A `pending` file counts as stale, and is picked up again by the
/// recovery of later work, once it is this old (30 s in the processor's
/// rules) plus a margin.
const STALE_AFTER: Duration = Duration::from_secs(32);

const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn upload_during_redis_outage_is_processed_later() {
    let mut stack = Stack::start();
    let bytes = std::fs::read(fixture("notes.txt")).unwrap();

    stack.redis.stop();
    let stranded = upload(stack.admin(), "during-outage.txt", &bytes);
    stack.redis.start_again();

    let status = stack.admin().get_json(&format!("/files/{stranded}"))["status"].clone();
    assert_eq!(
        status, "pending",
        "a file whose message was lost should wait as pending"
    );
    let recovered_early = poll_until(STALE_AFTER, || is_ready(stack.admin(), &stranded));
    if recovered_early.is_none() {
        // The next message makes the processor look for stale files.
        let trigger = upload(stack.admin(), "after-outage.txt", &bytes);
        stack.admin().wait_until_ready(&trigger, READY_TIMEOUT);
    }
    let file = stack.admin().wait_until_ready(&stranded, READY_TIMEOUT);
    assert_eq!(
        file["size"].as_u64(),
        Some(bytes.len() as u64),
        "size of the recovered file: {file}"
    );
}

fn upload(client: &Client, filename: &str, bytes: &[u8]) -> String {
    let response = client.upload_multipart(filename, bytes);
    assert_eq!(
        response.status,
        202,
        "upload of {filename} failed: {}",
        response.text()
    );
    response.json()["id"].as_str().unwrap().to_owned()
}

fn is_ready(client: &Client, id: &str) -> Option<()> {
    let file = client.get_json(&format!("/files/{id}"));
    (file["status"] == "ready").then_some(())
}
