//! Processing end to end on real SQLite: files are stored with SQL the way
//! the upload stores them, then processed.

use sha2::{Digest, Sha256};

use super::*;
use crate::clock::Clock;
use crate::ids::new_id;
use crate::storage::{Rows, SqlValue};
use crate::testing::TestEnv;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// A minimal PNG: the signature and the start of an IHDR chunk.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
/// A JPEG start of image and JFIF APP0 segment.
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n%%EOF\n";
/// A ZIP local file header for `a.txt`, stored uncompressed.
const ZIP: &[u8] = b"PK\x03\x04\x0a\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\0\0\0\x01\0\0\0\x05\0\0\0a.txta";
/// A gzip member header: magic, deflate, no flags, mtime, xfl, OS.
const GZIP: &[u8] = b"\x1f\x8b\x08\0\0\0\0\0\0\x03\x4b\x04\0\x43\xbe\xb7\xe8\x01\0\0\0";

struct Fixture {
    env: TestEnv,
    settings: ProcessingSettings,
    user_id: String,
    org_id: String,
}

impl Fixture {
    fn new() -> Self {
        let env = TestEnv::new();
        let org_id = new_id();
        let user_id = new_id();
        let now = env.clock.now_millis();
        env.db
            .execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
                &[org_id.as_str().into(), "Acme".into(), now.into()],
            )
            .unwrap();
        env.db
            .execute(
                "INSERT INTO users (id, org_id, username, password_hash, role, created_at, \
                 password_changed_at) VALUES (?, ?, 'alice', 'x', 'member', ?, ?)",
                &[
                    user_id.as_str().into(),
                    org_id.as_str().into(),
                    now.into(),
                    now.into(),
                ],
            )
            .unwrap();

        Self {
            env,
            settings: ProcessingSettings::default(),
            user_id,
            org_id,
        }
    }

    /// Stores a completed upload (`pending`) of the given chunks.
    fn store(&self, chunks: &[&[u8]]) -> String {
        let size: usize = chunks.iter().map(|chunk| chunk.len()).sum();
        self.store_with(
            "pending",
            chunks.len() as i64,
            Some(size as i64),
            chunks.iter().enumerate(),
        )
    }

    fn store_with<'a>(
        &self,
        status: &str,
        chunk_count: i64,
        size: Option<i64>,
        chunks: impl Iterator<Item = (usize, &'a &'a [u8])>,
    ) -> String {
        let file_id = new_id();
        let now = self.env.clock.now_millis();
        self.env
            .db
            .execute(
                "INSERT INTO files (id, org_id, uploaded_by, filename, status, size, \
                 chunk_count, created_at, updated_at) VALUES (?, ?, ?, 'upload.bin', ?, ?, ?, ?, ?)",
                &[
                    file_id.as_str().into(),
                    self.org_id.as_str().into(),
                    self.user_id.as_str().into(),
                    status.into(),
                    size.into(),
                    chunk_count.into(),
                    now.into(),
                    now.into(),
                ],
            )
            .unwrap();

        for (seq, data) in chunks {
            self.env
                .db
                .execute(
                    "INSERT INTO file_chunks (file_id, seq, data) VALUES (?, ?, ?)",
                    &[
                        file_id.as_str().into(),
                        (seq as i64).into(),
                        data.to_vec().into(),
                    ],
                )
                .unwrap();
        }
        file_id
    }

    fn process(&self, file_id: &str) -> ProcessOutcome {
        process_file(&self.env.db, &self.env.clock, &self.settings, file_id).unwrap()
    }

    fn row(&self, file_id: &str) -> Rows {
        self.env
            .db
            .execute("SELECT * FROM files WHERE id = ?", &[file_id.into()])
            .unwrap()
    }

    fn column(&self, file_id: &str, column: &str) -> SqlValue {
        let rows = self.row(file_id);
        let index = rows.column_index(column).unwrap();
        rows.rows[0][index].clone()
    }

    fn status(&self, file_id: &str) -> String {
        self.column(file_id, "status").as_str().unwrap().to_owned()
    }

    fn text(&self, file_id: &str, column: &str) -> String {
        match self.column(file_id, column) {
            SqlValue::Text(text) => text,
            other => panic!("{column} is {other:?}, not text"),
        }
    }

    fn chunk_rows(&self, file_id: &str) -> i64 {
        let rows = self
            .env
            .db
            .execute(
                "SELECT COUNT(*) FROM file_chunks WHERE file_id = ?",
                &[file_id.into()],
            )
            .unwrap();
        rows.rows[0][0].as_i64().unwrap()
    }

    /// Claims the file the way another processor would.
    fn claim_elsewhere(&self, file_id: &str) -> state::Claim {
        let now = self.env.clock.now_millis();
        state::claim(
            &self.env.db,
            file_id,
            now,
            now - DEFAULT_CLAIM_TIMEOUT_MILLIS,
        )
        .unwrap()
        .unwrap()
    }
}

fn ready_metadata(outcome: ProcessOutcome) -> Metadata {
    match outcome {
        ProcessOutcome::Ready(metadata) => metadata,
        other => panic!("expected ready, got {other:?}"),
    }
}

#[test]
fn magic_bytes_give_their_mime_type() {
    let fixture = Fixture::new();
    let cases: [(&[u8], &str); 5] = [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (PDF, "application/pdf"),
        (ZIP, "application/zip"),
        (GZIP, "application/gzip"),
    ];

    for (bytes, expected) in cases {
        let file_id = fixture.store(&[bytes]);
        let metadata = ready_metadata(fixture.process(&file_id));
        assert_eq!(metadata.mime_type, expected);
        assert_eq!(fixture.text(&file_id, "mime_type"), expected);
        assert_eq!(fixture.status(&file_id), "ready");
    }
}

#[test]
fn utf8_text_with_umlauts_is_text_plain() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&["Grüße aus Köln\nZeile zwei\n".as_bytes()]);

    let metadata = ready_metadata(fixture.process(&file_id));

    assert_eq!(metadata.mime_type, "text/plain");
}

#[test]
fn binary_garbage_is_octet_stream() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[&[0x00, 0x9f, 0x13, 0xfe, 0x42, 0x00, 0x07, 0x80]]);

    let metadata = ready_metadata(fixture.process(&file_id));

    assert_eq!(metadata.mime_type, "application/octet-stream");
}

#[test]
fn empty_file_becomes_ready() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[]);

    let metadata = ready_metadata(fixture.process(&file_id));

    assert_eq!(metadata.size, 0);
    assert_eq!(metadata.sha256, EMPTY_SHA256);
    assert_eq!(metadata.mime_type, "application/x-empty");
    assert_eq!(fixture.status(&file_id), "ready");
    assert_eq!(fixture.column(&file_id, "size"), SqlValue::Integer(0));
    assert_eq!(fixture.text(&file_id, "sha256"), EMPTY_SHA256);
}

#[test]
fn hash_matches_known_vector() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"he", b"llo"]);

    let metadata = ready_metadata(fixture.process(&file_id));

    assert_eq!(metadata.sha256, HELLO_SHA256);
    assert_eq!(metadata.size, 5);
}

#[test]
fn three_chunk_hash_covers_all_chunks() {
    let fixture = Fixture::new();
    let first: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let second: Vec<u8> = (0..1024 * 1024).map(|i| (i % 241) as u8).collect();
    let third = b"the last, shorter chunk".to_vec();
    let file_id = fixture.store(&[&first, &second, &third]);
    let expected = hex::encode(Sha256::digest([first, second, third].concat()));

    let metadata = ready_metadata(fixture.process(&file_id));

    assert_eq!(metadata.sha256, expected);
    assert_eq!(metadata.size, 2 * 1024 * 1024 + 23);
    assert_eq!(fixture.text(&file_id, "sha256"), expected);
    assert_eq!(
        fixture.column(&file_id, "size"),
        SqlValue::Integer(2 * 1024 * 1024 + 23)
    );
}

#[test]
fn ready_file_records_processing_time() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    fixture.env.clock.advance_secs(3);
    let now = fixture.env.clock.now_millis();

    fixture.process(&file_id);

    assert_eq!(
        fixture.column(&file_id, "processed_at"),
        SqlValue::Integer(now)
    );
    assert_eq!(
        fixture.column(&file_id, "updated_at"),
        SqlValue::Integer(now)
    );
    assert_eq!(fixture.column(&file_id, "attempts"), SqlValue::Integer(1));
    assert_eq!(fixture.column(&file_id, "status_reason"), SqlValue::Null);
}

#[test]
fn second_claim_is_not_claimed() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    fixture.claim_elsewhere(&file_id);
    let before = fixture.row(&file_id);
    fixture.env.clock.advance_secs(10);

    let outcome = fixture.process(&file_id);

    assert_eq!(outcome, ProcessOutcome::NotClaimed);
    assert_eq!(fixture.row(&file_id), before);
}

#[test]
fn finished_file_is_not_processed_again() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    fixture.process(&file_id);
    let before = fixture.row(&file_id);
    fixture.env.clock.advance_secs(3600);

    let outcome = fixture.process(&file_id);

    assert_eq!(outcome, ProcessOutcome::NotClaimed);
    assert_eq!(fixture.row(&file_id), before);
}

#[test]
fn unknown_file_is_not_claimed() {
    let fixture = Fixture::new();

    assert_eq!(fixture.process(&new_id()), ProcessOutcome::NotClaimed);
}

#[test]
fn uploading_file_is_not_claimed() {
    let fixture = Fixture::new();
    let file_id = fixture.store_with("uploading", 0, None, std::iter::empty());

    assert_eq!(fixture.process(&file_id), ProcessOutcome::NotClaimed);
    assert_eq!(fixture.status(&file_id), "uploading");
}

#[test]
fn missing_chunk_schedules_retry() {
    let fixture = Fixture::new();
    let chunks: [&[u8]; 2] = [b"first", b"third"];
    let file_id = fixture.store_with(
        "pending",
        3,
        Some(10),
        [(0, &chunks[0]), (2, &chunks[1])].into_iter(),
    );
    let now = fixture.env.clock.now_millis();

    let outcome = fixture.process(&file_id);

    assert_eq!(
        outcome,
        ProcessOutcome::RetryScheduled {
            attempts: 1,
            next_attempt_at: now + 2_000
        }
    );
    assert_eq!(fixture.status(&file_id), "pending");
    assert_eq!(fixture.column(&file_id, "claimed_at"), SqlValue::Null);
    assert_eq!(
        fixture.column(&file_id, "next_attempt_at"),
        SqlValue::Integer(now + 2_000)
    );
    assert_eq!(
        fixture.text(&file_id, "last_error"),
        "chunk 1 of 3 is missing"
    );
}

#[test]
fn retry_waits_for_its_backoff() {
    let fixture = Fixture::new();
    let file_id = fixture.store_with("pending", 1, Some(5), std::iter::empty());
    fixture.process(&file_id);
    let before = fixture.row(&file_id);

    fixture.env.clock.advance_secs(1);
    assert_eq!(fixture.process(&file_id), ProcessOutcome::NotClaimed);
    assert_eq!(fixture.row(&file_id), before);

    fixture.env.clock.advance_secs(1);
    assert!(matches!(
        fixture.process(&file_id),
        ProcessOutcome::RetryScheduled { attempts: 2, .. }
    ));
}

#[test]
fn missing_chunk_fails_after_max_attempts() {
    let fixture = Fixture::new();
    let file_id = fixture.store_with("pending", 1, Some(5), std::iter::empty());
    let mut delays = Vec::new();

    for attempt in 1..DEFAULT_MAX_ATTEMPTS {
        let now = fixture.env.clock.now_millis();
        match fixture.process(&file_id) {
            ProcessOutcome::RetryScheduled {
                attempts,
                next_attempt_at,
            } => {
                assert_eq!(attempts, attempt);
                delays.push(next_attempt_at - now);
                fixture
                    .env
                    .clock
                    .advance_secs((next_attempt_at - now) / 1000);
            }
            other => panic!("attempt {attempt}: expected a retry, got {other:?}"),
        }
    }
    let last = fixture.process(&file_id);

    assert_eq!(delays, [2_000, 4_000, 8_000, 16_000]);
    assert_eq!(
        last,
        ProcessOutcome::Failed {
            attempts: DEFAULT_MAX_ATTEMPTS
        }
    );
    assert_eq!(fixture.status(&file_id), "failed");
    assert_eq!(
        fixture.text(&file_id, "status_reason"),
        "processing failed after 5 attempts: the stored bytes are damaged: \
         chunk 0 of 1 is missing"
    );
    assert_eq!(
        fixture.text(&file_id, "last_error"),
        "chunk 0 of 1 is missing"
    );
    assert_eq!(fixture.column(&file_id, "next_attempt_at"), SqlValue::Null);
}

#[test]
fn failed_file_is_final() {
    let fixture = Fixture::new();
    let file_id = fixture.store_with("pending", 1, Some(5), std::iter::empty());
    for _ in 0..DEFAULT_MAX_ATTEMPTS {
        fixture.process(&file_id);
        fixture.env.clock.advance_secs(60);
    }
    let before = fixture.row(&file_id);

    fixture.env.clock.advance_secs(3600);
    let stale = requeue_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 10);

    assert_eq!(fixture.status(&file_id), "failed");
    assert_eq!(stale.unwrap(), Vec::<String>::new());
    assert_eq!(fixture.process(&file_id), ProcessOutcome::NotClaimed);
    assert_eq!(fixture.row(&file_id), before);
}

#[test]
fn size_mismatch_schedules_retry() {
    let fixture = Fixture::new();
    let chunk: &[u8] = b"hello";
    let file_id = fixture.store_with("pending", 1, Some(6), [(0, &chunk)].into_iter());

    let outcome = fixture.process(&file_id);

    assert!(matches!(outcome, ProcessOutcome::RetryScheduled { .. }));
    assert_eq!(
        fixture.text(&file_id, "last_error"),
        "the chunks hold 5 bytes but the file records 6"
    );
}

#[test]
fn missing_size_schedules_retry() {
    let fixture = Fixture::new();
    let file_id = fixture.store_with("pending", 0, None, std::iter::empty());

    let outcome = fixture.process(&file_id);

    assert!(matches!(outcome, ProcessOutcome::RetryScheduled { .. }));
    assert_eq!(
        fixture.text(&file_id, "last_error"),
        "the file has no recorded size"
    );
}

#[test]
fn disallowed_type_is_rejected() {
    let mut fixture = Fixture::new();
    fixture.settings.allowed_types = MimePolicy::parse("image/*").unwrap();
    let file_id = fixture.store(&[PDF]);

    let outcome = fixture.process(&file_id);

    assert_eq!(
        outcome,
        ProcessOutcome::Rejected {
            mime_type: "application/pdf".to_owned()
        }
    );
    assert_eq!(fixture.status(&file_id), "rejected");
    assert_eq!(
        fixture.text(&file_id, "status_reason"),
        "file type application/pdf is not allowed"
    );
    assert_eq!(fixture.text(&file_id, "mime_type"), "application/pdf");
    assert_eq!(fixture.chunk_rows(&file_id), 0);
}

#[test]
fn executable_is_rejected_by_default() {
    let fixture = Fixture::new();
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.resize(64, 0);
    let file_id = fixture.store(&[&elf]);

    let outcome = fixture.process(&file_id);

    assert_eq!(
        outcome,
        ProcessOutcome::Rejected {
            mime_type: "application/x-executable".to_owned()
        }
    );
}

#[test]
fn allowed_type_keeps_chunks() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"he", b"llo"]);

    fixture.process(&file_id);

    assert_eq!(fixture.chunk_rows(&file_id), 2);
}

#[test]
fn live_claim_is_not_taken_over() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    fixture.claim_elsewhere(&file_id);

    fixture.env.clock.advance_secs(4 * 60 + 59);

    assert_eq!(fixture.process(&file_id), ProcessOutcome::NotClaimed);
    assert_eq!(fixture.status(&file_id), "processing");
}

#[test]
fn abandoned_claim_is_taken_over() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    fixture.claim_elsewhere(&file_id);

    fixture.env.clock.advance_secs(5 * 60);
    let metadata = ready_metadata(fixture.process(&file_id));

    assert_eq!(metadata.sha256, HELLO_SHA256);
    assert_eq!(fixture.status(&file_id), "ready");
    assert_eq!(fixture.column(&file_id, "attempts"), SqlValue::Integer(2));
}

#[test]
fn late_finish_of_lost_claim_writes_nothing() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    let first = fixture.claim_elsewhere(&file_id);
    fixture.env.clock.advance_secs(5 * 60);
    let second = fixture.claim_elsewhere(&file_id);
    let finished = state::Finished {
        size: 5,
        mime_type: "text/plain",
        sha256: HELLO_SHA256,
    };
    let now = fixture.env.clock.now_millis();

    let written = state::mark_ready(&fixture.env.db, &first, &finished, now).unwrap();

    assert!(!written);
    assert_eq!(fixture.status(&file_id), "processing");
    assert_eq!(
        fixture.column(&file_id, "claimed_at"),
        SqlValue::Integer(second.claimed_at)
    );
}

fn hello_metadata() -> Metadata {
    Metadata {
        size: 5,
        mime_type: "text/plain".to_owned(),
        sha256: HELLO_SHA256.to_owned(),
    }
}

#[test]
fn result_for_taken_over_claim_is_claim_lost() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    let first = fixture.claim_elsewhere(&file_id);
    fixture.env.clock.advance_secs(5 * 60);
    fixture.claim_elsewhere(&file_id);

    let outcome = finish(
        &fixture.env.db,
        &fixture.env.clock,
        &fixture.settings,
        &first,
        hello_metadata(),
    )
    .unwrap();

    assert_eq!(outcome, ProcessOutcome::ClaimLost);
    assert_eq!(fixture.status(&file_id), "processing");
}

#[test]
fn result_for_deleted_file_is_deleted() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    let claim = fixture.claim_elsewhere(&file_id);
    // What DELETE /files/{id} does while the processor reads.
    for sql in [
        "DELETE FROM file_chunks WHERE file_id = ?",
        "DELETE FROM files WHERE id = ?",
    ] {
        fixture
            .env
            .db
            .execute(sql, &[file_id.as_str().into()])
            .unwrap();
    }

    let outcome = finish(
        &fixture.env.db,
        &fixture.env.clock,
        &fixture.settings,
        &claim,
        hello_metadata(),
    )
    .unwrap();

    assert_eq!(outcome, ProcessOutcome::Deleted);
}

#[test]
fn failed_read_of_deleted_file_is_deleted() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    let claim = fixture.claim_elsewhere(&file_id);
    for sql in [
        "DELETE FROM file_chunks WHERE file_id = ?",
        "DELETE FROM files WHERE id = ?",
    ] {
        fixture
            .env
            .db
            .execute(sql, &[file_id.as_str().into()])
            .unwrap();
    }
    let error = reader::read_metadata(&fixture.env.db, &claim).unwrap_err();

    let outcome = record_failure(
        &fixture.env.db,
        &fixture.env.clock,
        &fixture.settings,
        &claim,
        &error,
    )
    .unwrap();

    assert_eq!(outcome, ProcessOutcome::Deleted);
}

#[test]
fn abandoned_last_attempt_fails() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    for _ in 0..DEFAULT_MAX_ATTEMPTS {
        fixture.claim_elsewhere(&file_id);
        fixture.env.clock.advance_secs(5 * 60);
    }

    let outcome = fixture.process(&file_id);

    assert_eq!(
        outcome,
        ProcessOutcome::Failed {
            attempts: DEFAULT_MAX_ATTEMPTS
        }
    );
    assert_eq!(fixture.status(&file_id), "failed");
    assert_eq!(
        fixture.text(&file_id, "status_reason"),
        "processing failed after 5 attempts: the last attempt did not finish \
         before its claim timed out"
    );
}

#[test]
fn message_with_file_id_is_processed() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[PNG]);
    let payload = format!("{file_id}\n");

    let outcome = handle_message(
        &fixture.env.db,
        &fixture.env.clock,
        &fixture.settings,
        payload.as_bytes(),
    )
    .unwrap();

    assert_eq!(ready_metadata(outcome).mime_type, "image/png");
}

#[test]
fn malformed_messages_are_ignored() {
    let fixture = Fixture::new();
    let payloads: [&[u8]; 4] = [
        b"",
        b"not-a-file-id",
        b"\xff\xfe\x00",
        b"'; DROP TABLE files; --",
    ];

    for payload in payloads {
        let outcome = handle_message(
            &fixture.env.db,
            &fixture.env.clock,
            &fixture.settings,
            payload,
        );
        assert_eq!(outcome, Ok(ProcessOutcome::MalformedMessage), "{payload:?}");
    }
}

#[test]
fn requeue_finds_pending_file_after_lost_message() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    let stale = |fixture: &Fixture| {
        requeue_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 10).unwrap()
    };

    assert_eq!(stale(&fixture), Vec::<String>::new());

    fixture.env.clock.advance_secs(30);
    assert_eq!(stale(&fixture), [file_id]);
}

#[test]
fn requeue_finds_due_retry() {
    let fixture = Fixture::new();
    let file_id = fixture.store_with("pending", 1, Some(5), std::iter::empty());
    fixture.process(&file_id);
    let stale = |fixture: &Fixture| {
        requeue_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 10).unwrap()
    };

    fixture.env.clock.advance_secs(1);
    assert_eq!(stale(&fixture), Vec::<String>::new());

    fixture.env.clock.advance_secs(1);
    assert_eq!(stale(&fixture), [file_id]);
}

#[test]
fn requeue_finds_abandoned_claim() {
    let fixture = Fixture::new();
    let file_id = fixture.store(&[b"hello"]);
    fixture.claim_elsewhere(&file_id);
    let stale = |fixture: &Fixture| {
        requeue_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 10).unwrap()
    };

    fixture.env.clock.advance_secs(60);
    assert_eq!(stale(&fixture), Vec::<String>::new());

    fixture.env.clock.advance_secs(4 * 60);
    assert_eq!(stale(&fixture), [file_id]);
}

#[test]
fn requeue_respects_limit_and_age_order() {
    let fixture = Fixture::new();
    let oldest = fixture.store(&[b"one"]);
    fixture.env.clock.advance_secs(1);
    let middle = fixture.store(&[b"two"]);
    fixture.env.clock.advance_secs(1);
    fixture.store(&[b"three"]);
    fixture.env.clock.advance_secs(60);

    let stale = requeue_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 2);

    assert_eq!(stale.unwrap(), [oldest, middle]);
}

#[test]
fn process_stale_finishes_lost_work() {
    let fixture = Fixture::new();
    let lost = fixture.store(&[b"hello"]);
    let abandoned = fixture.store(&[PDF]);
    fixture.claim_elsewhere(&abandoned);
    let done = fixture.store(&[b"done"]);
    fixture.process(&done);
    fixture.env.clock.advance_secs(5 * 60);

    let outcomes =
        process_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 5).unwrap();

    let ids: Vec<&str> = outcomes.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&lost.as_str()));
    assert!(ids.contains(&abandoned.as_str()));
    assert_eq!(fixture.status(&lost), "ready");
    assert_eq!(fixture.status(&abandoned), "ready");
}

#[test]
fn message_handler_also_recovers_stale_work() {
    let fixture = Fixture::new();
    let lost: Vec<String> = (0..STALE_FILES_PER_MESSAGE + 1)
        .map(|_| fixture.store(&[b"lost"]))
        .collect();
    let chunk: &[u8] = b"partial";
    let abandoned = fixture.store_with("uploading", 0, None, [(0, &chunk)].into_iter());
    fixture.env.clock.advance_secs(2 * 3600);
    let current = fixture.store(&[PNG]);

    let outcome = handle_message_and_recover(
        &fixture.env.db,
        &fixture.env.clock,
        &fixture.settings,
        current.as_bytes(),
    )
    .unwrap();

    assert_eq!(ready_metadata(outcome).mime_type, "image/png");
    let ready = lost
        .iter()
        .filter(|file_id| fixture.status(file_id) == "ready")
        .count();
    assert_eq!(ready, STALE_FILES_PER_MESSAGE);
    assert!(fixture.row(&abandoned).is_empty());
}

#[test]
fn abandoned_upload_is_collected() {
    let fixture = Fixture::new();
    let chunk: &[u8] = b"partial";
    let file_id = fixture.store_with("uploading", 0, None, [(0, &chunk)].into_iter());
    let collect =
        |fixture: &Fixture| collect_abandoned_uploads(&fixture.env.db, &fixture.env.clock).unwrap();

    fixture.env.clock.advance_secs(59 * 60);
    assert_eq!(collect(&fixture), Vec::<String>::new());
    assert_eq!(fixture.chunk_rows(&file_id), 1);

    fixture.env.clock.advance_secs(60);
    assert_eq!(collect(&fixture), std::slice::from_ref(&file_id));
    assert!(fixture.row(&file_id).is_empty());
    assert_eq!(fixture.chunk_rows(&file_id), 0);
}

#[test]
fn collection_keeps_completed_uploads() {
    let fixture = Fixture::new();
    let pending = fixture.store(&[b"hello"]);
    let ready = fixture.store(&[b"ready"]);
    fixture.process(&ready);
    fixture.env.clock.advance_secs(2 * 3600);

    let collected = collect_abandoned_uploads(&fixture.env.db, &fixture.env.clock).unwrap();

    assert_eq!(collected, Vec::<String>::new());
    assert_eq!(fixture.status(&pending), "pending");
    assert_eq!(fixture.chunk_rows(&pending), 1);
    assert_eq!(fixture.chunk_rows(&ready), 1);
}

#[test]
fn processing_error_is_internal_api_error() {
    let error = ProcessingError::Recovery(StorageError::new("disk I/O error"));

    let api_error = ApiError::from(error);

    assert_eq!(api_error.status(), 500);
}

#[test]
fn is_stale_agrees_with_requeue_query() {
    let fixture = Fixture::new();
    let limits = fixture.settings.limits;
    let now = fixture.env.clock.now_millis();
    let stale_age = limits.stale_pending_millis;
    let claim_age = limits.claim_timeout_millis;
    // (status, updated_at, claimed_at, next_attempt_at, expected)
    type Case = (&'static str, i64, Option<i64>, Option<i64>, bool);
    let cases: [Case; 14] = [
        ("pending", now, None, None, false),
        ("pending", now - stale_age + 1, None, None, false),
        ("pending", now - stale_age, None, None, true),
        ("pending", now, None, Some(now + 1), false),
        ("pending", now, None, Some(now), true),
        ("pending", now - 10 * stale_age, None, Some(now + 1), false),
        ("processing", now, Some(now), None, false),
        ("processing", now, Some(now - claim_age + 1), None, false),
        ("processing", now, Some(now - claim_age), None, true),
        ("processing", now - 10 * claim_age, None, None, false),
        ("uploading", now - 10 * claim_age, None, None, false),
        ("ready", now - 10 * claim_age, None, None, false),
        ("rejected", now - 10 * claim_age, None, None, false),
        ("failed", now - 10 * claim_age, None, None, false),
    ];

    let mut expected_ids = Vec::new();
    for (status, updated_at, claimed_at, next_attempt_at, expected) in cases {
        let file_id = fixture.store_with(status, 0, Some(0), std::iter::empty());
        fixture
            .env
            .db
            .execute(
                "UPDATE files SET updated_at = ?, claimed_at = ?, next_attempt_at = ? WHERE id = ?",
                &[
                    updated_at.into(),
                    claimed_at.into(),
                    next_attempt_at.into(),
                    file_id.as_str().into(),
                ],
            )
            .unwrap();
        let work = WorkState {
            status: crate::files::FileStatus::parse(status).unwrap(),
            updated_at,
            claimed_at,
            next_attempt_at,
        };
        assert_eq!(
            is_stale(&work, now, &limits),
            expected,
            "is_stale for {status}, updated {updated_at}, claimed {claimed_at:?}, \
             next attempt {next_attempt_at:?}"
        );
        if expected {
            expected_ids.push(file_id);
        }
    }

    let mut found =
        requeue_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 100).unwrap();
    found.sort();
    expected_ids.sort();
    assert_eq!(found, expected_ids, "files the SQL query finds");
}

#[test]
fn configured_limits_drive_retry_and_failure() {
    let mut fixture = Fixture::new();
    fixture.settings.limits = ProcessingLimits {
        max_attempts: 2,
        retry_base_millis: 100,
        ..ProcessingLimits::default()
    };
    let file_id = fixture.store_with("pending", 1, Some(5), std::iter::empty());
    let start = fixture.env.clock.now_millis();

    let first = fixture.process(&file_id);
    assert_eq!(
        first,
        ProcessOutcome::RetryScheduled {
            attempts: 1,
            next_attempt_at: start + 100,
        }
    );

    fixture.env.clock.advance_secs(1);
    assert_eq!(
        fixture.process(&file_id),
        ProcessOutcome::Failed { attempts: 2 }
    );
    assert_eq!(fixture.status(&file_id), "failed");
    assert!(
        fixture
            .text(&file_id, "status_reason")
            .starts_with("processing failed after 2 attempts: the stored bytes are damaged"),
        "{}",
        fixture.text(&file_id, "status_reason")
    );
}

#[test]
fn configured_stale_age_drives_requeue() {
    let mut fixture = Fixture::new();
    fixture.settings.limits.stale_pending_millis = 2_000;
    let file_id = fixture.store(&[b"hello"]);
    let stale = |fixture: &Fixture| {
        requeue_stale(&fixture.env.db, &fixture.env.clock, &fixture.settings, 10).unwrap()
    };

    fixture.env.clock.advance_secs(1);
    assert_eq!(stale(&fixture), Vec::<String>::new());

    fixture.env.clock.advance_secs(1);
    assert_eq!(stale(&fixture), [file_id]);
}
