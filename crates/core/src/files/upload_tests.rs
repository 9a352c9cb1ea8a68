use super::*;
use crate::config::ProcessingMode;
use crate::files::chunks::CHUNK_BYTES;
use crate::files::test_support::*;
use crate::http::{BytesBody, FileContent, Method};
use crate::storage::Database;
use crate::testing::TestEnv;

fn json_of(response: &Response) -> serde_json::Value {
    serde_json::from_slice(response.body_bytes()).unwrap()
}

fn upload_form(env: &TestEnv, principal: &Principal, body: Vec<u8>) -> Result<Response, ApiError> {
    let request = multipart_request();
    upload(
        &env.services(),
        principal,
        &request,
        &mut BytesBody::new(body),
    )
}

/// Reads back a stored file's content through `write_content`.
fn stored_content(env: &TestEnv, principal: &Principal, id: &str) -> Vec<u8> {
    let chunk_count = env
        .db
        .execute("SELECT chunk_count FROM files WHERE id = ?", &[id.into()])
        .unwrap()
        .rows[0][0]
        .as_i64()
        .unwrap();
    let content = FileContent {
        file_id: id.to_owned(),
        org_id: principal.org_id.clone(),
        chunk_count,
    };
    let mut output = Vec::new();
    crate::files::write_content(&env.db, &content, &mut output).unwrap();
    output
}

fn assert_nothing_stored(env: &TestEnv) {
    assert_eq!(count_rows(env, "files"), 0, "files rows left behind");
    assert_eq!(
        count_rows(env, "file_chunks"),
        0,
        "file_chunks rows left behind"
    );
}

#[test]
fn multipart_upload_is_stored_pending() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[(&file_part_headers("notes.txt"), b"hello world")]);

    let response = upload_form(&env, &principal, body).unwrap();

    assert_eq!(response.status, 202);
    let file = json_of(&response);
    let id = file["id"].as_str().unwrap();
    assert_eq!(
        response.header("location"),
        Some(format!("/files/{id}").as_str())
    );
    assert_eq!(file["filename"], "notes.txt");
    assert_eq!(file["status"], "pending");
    assert_eq!(file["size"], 11);
    assert_eq!(file["declared_type"], "text/plain");
    assert_eq!(file["mime_type"], serde_json::Value::Null);
    assert_eq!(file["created_at"], "2026-01-01T00:00:00.000Z");
    assert_eq!(stored_content(&env, &principal, id), b"hello world");
}

#[test]
fn upload_is_published_on_channel() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[(&file_part_headers("a.txt"), b"x")]);

    let response = upload_form(&env, &principal, body).unwrap();

    let id = json_of(&response)["id"].as_str().unwrap().to_owned();
    let messages = env.publisher.messages.borrow();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0, "stowage-uploads");
    assert_eq!(messages[0].1, id.as_bytes());
}

#[test]
fn publish_failure_still_returns_accepted() {
    let env = TestEnv::new();
    env.publisher.fail.set(true);
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[(&file_part_headers("a.txt"), b"x")]);

    let response = upload_form(&env, &principal, body).unwrap();

    assert_eq!(response.status, 202);
    assert_eq!(json_of(&response)["status"], "pending");
    assert_eq!(count_rows(&env, "files"), 1);
}

#[test]
fn inline_mode_processes_before_responding() {
    let mut env = TestEnv::new();
    env.config.processing_mode = ProcessingMode::Inline;
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[(&file_part_headers("a.txt"), b"plain text\n")]);

    let response = upload_form(&env, &principal, body).unwrap();

    let file = json_of(&response);
    assert_eq!(file["status"], "ready", "{file}");
    assert_eq!(file["mime_type"], "text/plain");
    assert!(file["sha256"].is_string(), "{file}");
    assert!(env.publisher.messages.borrow().is_empty());
}

#[test]
fn other_fields_are_discarded() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[
        ("Content-Disposition: form-data; name=\"title\"", b"ignored"),
        (&file_part_headers("a.txt"), b"content"),
        (
            "Content-Disposition: form-data; name=\"tags\"",
            b"also ignored",
        ),
    ]);

    let response = upload_form(&env, &principal, body).unwrap();

    let id = json_of(&response)["id"].as_str().unwrap().to_owned();
    assert_eq!(stored_content(&env, &principal, &id), b"content");
}

#[test]
fn oversized_other_fields_are_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let filler = vec![b'f'; MULTIPART_OVERHEAD_BYTES as usize + 1];
    let body = multipart_body(&[
        (&file_part_headers("a.txt"), b"content"),
        ("Content-Disposition: form-data; name=\"filler\"", &filler),
    ]);

    let error = upload_form(&env, &principal, body).unwrap_err();

    assert_eq!(error.status(), 413);
    assert_nothing_stored(&env);
}

#[test]
fn duplicate_file_part_is_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[
        (&file_part_headers("a.txt"), b"one"),
        (&file_part_headers("b.txt"), b"two"),
    ]);

    let error = upload_form(&env, &principal, body).unwrap_err();

    assert_eq!(error.status(), 400);
    assert_eq!(error.code(), "duplicate_file_part");
    assert!(error.to_string().contains("\"file\""), "{error}");
    assert_nothing_stored(&env);
}

#[test]
fn missing_file_part_is_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[("Content-Disposition: form-data; name=\"title\"", b"x")]);

    let error = upload_form(&env, &principal, body).unwrap_err();

    assert_eq!(error.status(), 400);
    assert_eq!(error.code(), "missing_file");
    assert_nothing_stored(&env);
}

#[test]
fn truncated_body_is_rejected_and_cleaned_up() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let mut body = multipart_body(&[(&file_part_headers("a.txt"), &vec![7; 3 * CHUNK_BYTES])]);
    body.truncate(body.len() - 20);

    let error = upload_form(&env, &principal, body).unwrap_err();

    assert_eq!(error.status(), 400);
    assert_eq!(error.code(), "invalid_multipart");
    assert_nothing_stored(&env);
}

#[test]
fn read_error_is_rejected_and_cleaned_up() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let mut first = file_part_headers("a.txt").into_bytes();
    first.splice(0..0, b"--BOUNDARY\r\n".iter().copied());
    first.extend_from_slice(b"\r\n\r\n");
    first.extend(vec![1; 2 * CHUNK_BYTES]);
    let mut body = FailingBody::new(first);

    let error = upload(&env.services(), &principal, &multipart_request(), &mut body).unwrap_err();

    assert_eq!(error.status(), 400);
    assert_eq!(error.code(), "body_read_failed");
    assert_nothing_stored(&env);
}

#[test]
fn byte_at_a_time_body_is_stored_exactly() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let content = b"line one\r\n--BOUNDAR\r\n--BOUNDARY-\r\nend".to_vec();
    let body = multipart_body(&[(&file_part_headers("a.txt"), &content)]);

    let response = upload(
        &env.services(),
        &principal,
        &multipart_request(),
        &mut ChunkedBody::new(body, 1),
    )
    .unwrap_err();

    // The content above contains `\r\n--BOUNDARY-`, which is the
    // delimiter followed by a byte that is neither `-` nor CRLF.
    assert_eq!(response.code(), "invalid_multipart");

    let content = b"line one\r\n--BOUNDAR\r\n-BOUNDARY\r\nend".to_vec();
    let body = multipart_body(&[(&file_part_headers("a.txt"), &content)]);
    let response = upload(
        &env.services(),
        &principal,
        &multipart_request(),
        &mut ChunkedBody::new(body, 1),
    )
    .unwrap();
    let id = json_of(&response)["id"].as_str().unwrap().to_owned();
    assert_eq!(stored_content(&env, &principal, &id), content);
}

#[test]
fn path_in_filename_is_stripped() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[(&file_part_headers("../../etc/passwd"), b"x")]);

    let response = upload_form(&env, &principal, body).unwrap();

    assert_eq!(json_of(&response)["filename"], "passwd");
}

#[test]
fn file_part_without_filename_gets_default_name() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[("Content-Disposition: form-data; name=\"file\"", b"x")]);

    let response = upload_form(&env, &principal, body).unwrap();

    let file = json_of(&response);
    assert_eq!(file["filename"], "upload");
    assert_eq!(file["declared_type"], serde_json::Value::Null);
}

#[test]
fn exact_limit_is_accepted() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let prefix = format!("--BOUNDARY\r\n{}\r\n\r\n", file_part_headers("big.bin"));
    let mut body = GeneratedBody::new(prefix.as_bytes(), MAX_FILE_BYTES, b"\r\n--BOUNDARY--\r\n");

    let response = upload(&env.services(), &principal, &multipart_request(), &mut body).unwrap();

    assert_eq!(response.status, 202);
    assert_eq!(json_of(&response)["size"], 52_428_800);
    assert_eq!(count_rows(&env, "file_chunks"), 50);
}

#[test]
fn one_byte_over_limit_is_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let prefix = format!("--BOUNDARY\r\n{}\r\n\r\n", file_part_headers("big.bin"));
    let mut body = GeneratedBody::new(
        prefix.as_bytes(),
        MAX_FILE_BYTES + 1,
        b"\r\n--BOUNDARY--\r\n",
    );

    let error = upload(&env.services(), &principal, &multipart_request(), &mut body).unwrap_err();

    assert_eq!(error.status(), 413);
    assert_eq!(error.code(), "payload_too_large");
    assert_nothing_stored(&env);
}

#[test]
fn raw_upload_over_limit_is_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files?filename=big.bin");
    let mut body = GeneratedBody::new(b"", MAX_FILE_BYTES + 1, b"");

    let error = upload(&env.services(), &principal, &request, &mut body).unwrap_err();

    assert_eq!(error.status(), 413);
    assert_nothing_stored(&env);
}

#[test]
fn declared_length_over_limit_is_rejected_unread() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let too_long = MAX_FILE_BYTES + MULTIPART_OVERHEAD_BYTES + 1;
    let request = multipart_request().with_header("content-length", too_long.to_string());

    let error = upload(&env.services(), &principal, &request, &mut UnreadableBody).unwrap_err();

    assert_eq!(error.status(), 413);
    assert_nothing_stored(&env);
}

#[test]
fn raw_declared_length_over_limit_is_rejected_unread() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files")
        .with_header("content-type", "application/pdf")
        .with_header("content-length", (MAX_FILE_BYTES + 1).to_string());

    let error = upload(&env.services(), &principal, &request, &mut UnreadableBody).unwrap_err();

    assert_eq!(error.status(), 413);
}

#[test]
fn understated_length_is_still_limited() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files").with_header("content-length", "10");
    let mut body = GeneratedBody::new(b"", MAX_FILE_BYTES + 1, b"");

    let error = upload(&env.services(), &principal, &request, &mut body).unwrap_err();

    assert_eq!(error.status(), 413);
    assert_nothing_stored(&env);
}

#[test]
fn invalid_content_length_is_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files").with_header("content-length", "lots");

    let error = upload(&env.services(), &principal, &request, &mut UnreadableBody).unwrap_err();

    assert_eq!(error.code(), "invalid_content_length");
}

#[test]
fn empty_file_has_no_chunks() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let body = multipart_body(&[(&file_part_headers("empty.txt"), b"")]);

    let response = upload_form(&env, &principal, body).unwrap();

    let file = json_of(&response);
    assert_eq!(file["size"], 0);
    assert_eq!(count_rows(&env, "file_chunks"), 0);
    let id = file["id"].as_str().unwrap();
    assert!(stored_content(&env, &principal, id).is_empty());
}

#[test]
fn chunk_boundaries_round_trip_exactly() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");

    for (size, expected_chunks) in [
        (CHUNK_BYTES - 1, 1),
        (CHUNK_BYTES, 1),
        (CHUNK_BYTES + 1, 2),
        (2 * CHUNK_BYTES + 3, 3),
    ] {
        let content: Vec<u8> = (0..size).map(|index| (index * 7 % 251) as u8).collect();
        let body = multipart_body(&[(&file_part_headers("data.bin"), &content)]);

        let response = upload(
            &env.services(),
            &principal,
            &multipart_request(),
            &mut ChunkedBody::new(body, 100_000),
        )
        .unwrap();

        let id = json_of(&response)["id"].as_str().unwrap().to_owned();
        let rows = env
            .db
            .execute(
                "SELECT chunk_count, size FROM files WHERE id = ?",
                &[id.as_str().into()],
            )
            .unwrap();
        assert_eq!(
            rows.rows[0][0].as_i64(),
            Some(expected_chunks),
            "size {size}"
        );
        assert_eq!(rows.rows[0][1].as_i64(), Some(size as i64), "size {size}");
        assert!(
            stored_content(&env, &principal, &id) == content,
            "size {size} differs"
        );
    }
}

#[test]
fn chunks_are_full_size_except_last() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files");
    let mut body = GeneratedBody::new(b"", 2 * CHUNK_BYTES as u64 + 10, b"");

    upload(&env.services(), &principal, &request, &mut body).unwrap();

    let rows = env
        .db
        .execute(
            "SELECT seq, length(data) FROM file_chunks ORDER BY seq",
            &[],
        )
        .unwrap();
    let lengths: Vec<(i64, i64)> = rows
        .rows
        .iter()
        .map(|row| (row[0].as_i64().unwrap(), row[1].as_i64().unwrap()))
        .collect();
    let full = CHUNK_BYTES as i64;
    assert_eq!(lengths, [(0, full), (1, full), (2, 10)]);
}

#[test]
fn raw_upload_takes_query_filename_and_type() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files?filename=r%C3%A9sum%C3%A9.pdf")
        .with_header("content-type", "application/pdf");

    let response = upload(
        &env.services(),
        &principal,
        &request,
        &mut BytesBody::new(b"%PDF-1.7".to_vec()),
    )
    .unwrap();

    let file = json_of(&response);
    assert_eq!(file["filename"], "résumé.pdf");
    assert_eq!(file["declared_type"], "application/pdf");
    let id = file["id"].as_str().unwrap();
    assert_eq!(stored_content(&env, &principal, id), b"%PDF-1.7");
}

#[test]
fn raw_upload_takes_disposition_filename() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files").with_header(
        "content-disposition",
        "attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC.txt",
    );

    let response = upload(
        &env.services(),
        &principal,
        &request,
        &mut BytesBody::new(b"x".to_vec()),
    )
    .unwrap();

    let file = json_of(&response);
    assert_eq!(file["filename"], "€.txt");
    assert_eq!(file["declared_type"], serde_json::Value::Null);
}

#[test]
fn raw_upload_without_name_is_named_upload() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files").with_header("content-type", "text/plain");

    let response = upload(
        &env.services(),
        &principal,
        &request,
        &mut BytesBody::new(b"x".to_vec()),
    )
    .unwrap();

    assert_eq!(json_of(&response)["filename"], "upload");
}

#[test]
fn invalid_disposition_header_is_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files")
        .with_header("content-disposition", "attachment; filename=\"open");

    let error = upload(
        &env.services(),
        &principal,
        &request,
        &mut BytesBody::new(b"x".to_vec()),
    )
    .unwrap_err();

    assert_eq!(error.code(), "invalid_content_disposition");
    assert_nothing_stored(&env);
}

#[test]
fn invalid_multipart_content_type_is_rejected() {
    let env = TestEnv::new();
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files").with_header(
        "content-type",
        "multipart/form-data; boundary=AAA; boundary=BBB",
    );

    let error = upload(&env.services(), &principal, &request, &mut UnreadableBody).unwrap_err();

    assert_eq!(error.status(), 400);
    assert_eq!(error.code(), "invalid_multipart");
}

#[test]
fn declared_type_with_control_characters_is_dropped() {
    assert_eq!(
        declared_type(Some(" text/plain ")).as_deref(),
        Some("text/plain")
    );
    assert_eq!(declared_type(Some("text/plain\u{1}")), None);
    assert_eq!(declared_type(Some("")), None);
    assert_eq!(declared_type(Some(&"a".repeat(256))), None);
}

#[test]
fn inline_upload_processes_stale_files() {
    let mut env = TestEnv::new();
    env.config.processing_mode = ProcessingMode::Inline;
    let principal = insert_principal(&env, "acme");
    let stale = insert_file(&env, &principal, crate::files::FileStatus::Pending, 0);
    let body = multipart_body(&[(&file_part_headers("a.txt"), b"text\n")]);

    upload_form(&env, &principal, body).unwrap();

    let rows = env
        .db
        .execute(
            "SELECT status FROM files WHERE id = ?",
            &[stale.as_str().into()],
        )
        .unwrap();
    assert_eq!(rows.rows[0][0].as_str(), Some("ready"));
}

/// A body that fails the test if the upload reads it.
struct UnreadBody;

impl BodyReader for UnreadBody {
    fn read_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        panic!("the body of a rate-limited upload was read");
    }
}

#[test]
fn rate_limited_upload_is_rejected_before_reading_the_body() {
    let mut env = TestEnv::new();
    env.config.upload_limit_per_minute = 1;
    let principal = insert_principal(&env, "acme");
    let request = Request::new(Method::Post, "/files?filename=a.txt");
    upload(
        &env.services(),
        &principal,
        &request,
        &mut BytesBody::new(b"one".to_vec()),
    )
    .unwrap();

    let error = upload(&env.services(), &principal, &request, &mut UnreadBody).unwrap_err();

    assert_eq!(error.status(), 429);
    assert_eq!(error.code(), "rate_limited");
    assert_eq!(
        count_rows(&env, "files"),
        1,
        "the limited upload stored a row"
    );
}
