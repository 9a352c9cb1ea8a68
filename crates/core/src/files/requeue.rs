//! Recovery driven by clients that poll: GET /files and GET /files/{id}
//! hand the stale files they return back to processing.
//!
//! A file whose message was lost (Redis down at upload, no processor
//! subscribed, a handler that crashed) stays `pending` or `processing`
//! until something processes it. The processor sweeps stale work on each
//! message it receives, but with no new uploads no message comes. A
//! client waiting for its file keeps reading it, so the reads re-publish
//! the file's id. In Redis mode that is a publish only: GET requests do
//! not write to the database or the key-value store, and the processor's
//! atomic claim makes extra messages harmless. In inline mode there is no
//! processor, so the read processes the file itself.

use crate::config::ProcessingMode;
use crate::files::model::FileRecord;
use crate::processing::{self, is_stale, ProcessingSettings};
use crate::services::Services;

/// The maximum number of stale files one request re-publishes. A page
/// holds up to 100 files; 20 publishes keep a request that finds a page
/// of stale files fast, and the next request publishes the rest.
const MAX_PUBLISHED_PER_REQUEST: usize = 20;

/// The maximum number of stale files one request processes in inline
/// mode. Processing a 50 MiB file takes seconds, so a read pays for at
/// most one, and further reads process the rest.
const MAX_PROCESSED_PER_REQUEST: usize = 1;

/// Hands the stale files among `records` back to processing, and returns
/// the ids of those it processed inline, whose records are now out of
/// date. Failures are logged and never fail the request: the file stays
/// stale, and the next read tries again.
pub fn requeue_stale(services: &Services, records: &[FileRecord]) -> Vec<String> {
    let settings = ProcessingSettings::from_config(&services.config);
    let now = services.clock.now_millis();
    let stale = records
        .iter()
        .filter(|record| is_stale(&record.work_state(), now, &settings.limits))
        .map(|record| record.id.as_str());

    match services.config.processing_mode {
        ProcessingMode::Redis => {
            publish_all(services, stale.take(MAX_PUBLISHED_PER_REQUEST));
            Vec::new()
        }
        ProcessingMode::Inline => stale
            .take(MAX_PROCESSED_PER_REQUEST)
            .filter(|file_id| process_inline(services, &settings, file_id))
            .map(str::to_owned)
            .collect(),
    }
}

/// Publishes each id on the uploads channel. The first failure ends the
/// loop, because the others would fail the same way against the same
/// Redis server.
fn publish_all<'a>(services: &Services, file_ids: impl Iterator<Item = &'a str>) {
    let channel = &services.config.redis_channel;
    let Some(publisher) = services.publisher else {
        return;
    };

    for file_id in file_ids {
        match publisher.publish(channel, file_id.as_bytes()) {
            Ok(()) => println!("files: re-published stale file {file_id}"),
            Err(error) => {
                eprintln!(
                    "files: re-publishing stale file {file_id} on channel {channel} failed: \
                     {error}"
                );
                return;
            }
        }
    }
}

/// Processes one stale file and returns whether its row may have changed.
fn process_inline(services: &Services, settings: &ProcessingSettings, file_id: &str) -> bool {
    println!("files: processing stale file {file_id} inline");
    match processing::process_file(services.db, services.clock, settings, file_id) {
        Ok(_) => true,
        Err(error) => {
            eprintln!("files: inline processing of stale file {file_id} failed: {error}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::clock::Clock;
    use crate::config::ProcessingMode;
    use crate::files::test_support::{insert_file, insert_principal};
    use crate::files::{details, list, FileStatus};
    use crate::http::{Method, Request, Response};
    use crate::storage::Database;
    use crate::testing::TestEnv;

    /// The stale age of the default settings, in seconds.
    const STALE_SECS: i64 = 30;

    fn published_ids(env: &TestEnv) -> Vec<String> {
        env.publisher
            .messages
            .borrow()
            .iter()
            .map(|(_, payload)| String::from_utf8(payload.clone()).unwrap())
            .collect()
    }

    /// Counts the rows changed through the test's database connection.
    fn total_changes(env: &TestEnv) -> i64 {
        let rows = env.db.execute("SELECT total_changes()", &[]).unwrap();
        rows.rows[0][0].as_i64().unwrap()
    }

    fn json(response: &Response) -> Value {
        serde_json::from_slice(response.body_bytes()).unwrap()
    }

    fn get_list(env: &TestEnv, principal: &crate::auth::Principal) -> Response {
        let request = Request::new(Method::Get, "/files");
        list(&env.services(), principal, &request).unwrap()
    }

    #[test]
    fn details_of_fresh_pending_file_publishes_nothing() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());

        details(&env.services(), &principal, &id).unwrap();

        assert_eq!(published_ids(&env), Vec::<String>::new());
    }

    #[test]
    fn details_of_stale_pending_file_publishes_its_id() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());
        env.clock.advance_secs(STALE_SECS);

        let response = details(&env.services(), &principal, &id).unwrap();

        assert_eq!(response.status, 200);
        assert_eq!(published_ids(&env), std::slice::from_ref(&id));
        assert_eq!(env.publisher.messages.borrow()[0].0, env.config.redis_channel);
        assert_eq!(json(&response)["status"], "pending");
    }

    #[test]
    fn details_in_redis_mode_writes_nothing() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());
        env.clock.advance_secs(STALE_SECS);
        let before = total_changes(&env);

        details(&env.services(), &principal, &id).unwrap();
        get_list(&env, &principal);

        assert_eq!(published_ids(&env).len(), 2);
        assert_eq!(total_changes(&env), before);
    }

    #[test]
    fn final_files_are_never_published() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        for status in [FileStatus::Ready, FileStatus::Rejected, FileStatus::Failed] {
            insert_file(&env, &principal, status, 0);
        }

        get_list(&env, &principal);

        assert_eq!(published_ids(&env), Vec::<String>::new());
    }

    #[test]
    fn list_publishes_only_stale_files() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let stale = insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());
        env.clock.advance_secs(STALE_SECS);
        insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());
        insert_file(&env, &principal, FileStatus::Ready, 0);

        let response = get_list(&env, &principal);

        assert_eq!(response.status, 200);
        assert_eq!(json(&response)["files"].as_array().unwrap().len(), 3);
        assert_eq!(published_ids(&env), [stale]);
    }

    #[test]
    fn abandoned_claim_is_published_after_claim_timeout() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Processing, 0);
        let claimed_at = env.clock.now_millis();
        env.db
            .execute(
                "UPDATE files SET claimed_at = ?, attempts = 1 WHERE id = ?",
                &[claimed_at.into(), id.as_str().into()],
            )
            .unwrap();

        env.clock.advance_secs(60);
        details(&env.services(), &principal, &id).unwrap();
        assert_eq!(published_ids(&env), Vec::<String>::new());

        env.clock.advance_secs(4 * 60);
        let response = details(&env.services(), &principal, &id).unwrap();
        assert_eq!(published_ids(&env), [id]);
        assert!(json(&response)["claimed_at"].is_string());
    }

    #[test]
    fn failed_publish_still_answers() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let first = insert_file(&env, &principal, FileStatus::Pending, 0);
        insert_file(&env, &principal, FileStatus::Pending, 1);
        env.publisher.fail.set(true);

        let single = details(&env.services(), &principal, &first).unwrap();
        let page = get_list(&env, &principal);

        assert_eq!(single.status, 200);
        assert_eq!(page.status, 200);
        assert_eq!(json(&page)["files"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn one_request_publishes_at_most_twenty() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        for created_at in 0..30 {
            insert_file(&env, &principal, FileStatus::Pending, created_at);
        }

        let request = Request::new(Method::Get, "/files?limit=100");
        list(&env.services(), &principal, &request).unwrap();

        assert_eq!(published_ids(&env).len(), super::MAX_PUBLISHED_PER_REQUEST);
    }

    #[test]
    fn inline_mode_processes_stale_file_on_read() {
        let mut env = TestEnv::new();
        env.config.processing_mode = ProcessingMode::Inline;
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());
        env.clock.advance_secs(STALE_SECS);

        let response = details(&env.services(), &principal, &id).unwrap();

        let file = json(&response);
        assert_eq!(file["status"], "ready", "{file}");
        assert_eq!(file["attempts"], 1, "{file}");
        // SHA-256 of "abc", the bytes insert_file stores (FIPS 180-2 example).
        assert_eq!(
            file["sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(published_ids(&env), Vec::<String>::new());
    }

    #[test]
    fn inline_mode_list_shows_processed_file() {
        let mut env = TestEnv::new();
        env.config.processing_mode = ProcessingMode::Inline;
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());
        env.clock.advance_secs(STALE_SECS);

        let page = json(&get_list(&env, &principal));

        assert_eq!(page["files"][0]["id"], id.as_str());
        assert_eq!(page["files"][0]["status"], "ready", "{page}");
    }

    #[test]
    fn inline_mode_leaves_fresh_file_alone() {
        let mut env = TestEnv::new();
        env.config.processing_mode = ProcessingMode::Inline;
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Pending, env.clock.now_millis());

        let response = details(&env.services(), &principal, &id).unwrap();

        assert_eq!(json(&response)["status"], "pending");
    }
}
