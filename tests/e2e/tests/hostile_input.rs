//! Uploads shaped the way careless or hostile clients shape them end in a
//! correct result or a clear JSON error, never a 500 or a hang.
//!
//! Requests go over a bare HTTP/1.1 connection ([`RawRequest`]) so that
//! headers and bodies reach the service exactly as written, with a
//! deadline of one second for the whole exchange: a slow response fails
//! the test as a timeout.

use std::time::Duration;

use serde_json::Value;
use stowage_e2e::{
    poll_until, sha256sum, Database, RawBody, RawRequest, Response, Stack, StackHandle,
    StowageOptions, EMPTY_SHA256, MAX_UPLOAD_BYTES, SESSION_COOKIE,
};

/// The deadline of every request but the 60 MB one.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a small upload may take to become `ready`.
const PROCESSING_TIMEOUT: Duration = Duration::from_secs(5);

/// The SHA-256 of the five bytes `hello`, a widely published test vector.
const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

const BOUNDARY: &str = "hostile-input-boundary";

/// The admin's session cookie for the shared stack.
fn session_cookie(stack: &StackHandle) -> String {
    let token = stack
        .admin()
        .cookie(SESSION_COOKIE)
        .expect("the admin client has a session cookie");
    format!("{SESSION_COOKIE}={token}")
}

/// Sends POST `path` with the admin's session, `content_type` and `body`.
fn post_files(stack: &StackHandle, path: &str, content_type: &str, body: Vec<u8>) -> Response {
    RawRequest::new("POST", path)
        .header("cookie", &session_cookie(stack))
        .header("content-type", content_type)
        .body(RawBody::Fixed(body))
        .send(stack.stowage.base_url(), REQUEST_TIMEOUT)
}

/// Sends a multipart body with [`BOUNDARY`].
fn post_form(stack: &StackHandle, body: Vec<u8>) -> Response {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    post_files(stack, "/files", &content_type, body)
}

/// One part with the given header lines and content.
fn part(header_lines: &[&str], content: &[u8]) -> Vec<u8> {
    let mut part = format!("--{BOUNDARY}\r\n").into_bytes();
    for line in header_lines {
        part.extend_from_slice(line.as_bytes());
        part.extend_from_slice(b"\r\n");
    }
    part.extend_from_slice(b"\r\n");
    part.extend_from_slice(content);
    part.extend_from_slice(b"\r\n");
    part
}

/// Joins parts and the closing delimiter into a body.
fn form(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = parts.concat();
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A form with one `file` part named by the raw Content-Disposition
/// parameter text `filename_param` (quotes included).
fn file_form(filename_param: &str, content: &[u8]) -> Vec<u8> {
    let disposition = format!("Content-Disposition: form-data; name=\"file\"; {filename_param}");
    form(&[part(&[&disposition, "Content-Type: text/plain"], content)])
}

/// Checks a 202 upload response and returns the file JSON.
fn expect_accepted(response: &Response, context: &str) -> Value {
    assert_eq!(
        response.status,
        202,
        "{context}: expected 202, got {} with body {}",
        response.status,
        response.text()
    );
    response.json()
}

/// Checks a 400 with error code `code` and returns the message.
fn expect_bad_request(response: &Response, code: &str, context: &str) -> String {
    let error = response.expect_error(400, context);
    assert_eq!(error["code"], code, "{context}: {error}");
    error["message"].as_str().unwrap_or_default().to_owned()
}

/// Runs `sha256sum` on `bytes`, the independent reference for digests.
fn sha256_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("a temporary folder can be created");
    let path = dir.path().join("content");
    std::fs::write(&path, bytes).expect("the temporary file can be written");
    sha256sum(&path)
}

/// Waits until the file is `ready`, checks that its size and SHA-256 are
/// those of `content` and that the download returns `content`.
fn expect_stored_exactly(stack: &StackHandle, file: &Value, content: &[u8]) -> Value {
    let id = file["id"].as_str().expect("the file has an id");
    let ready = stack.admin().wait_until_ready(id, PROCESSING_TIMEOUT);
    assert_eq!(ready["size"], content.len(), "size: {ready}");
    assert_eq!(ready["sha256"], sha256_of(content), "SHA-256: {ready}");
    let download = stack.admin().get(&format!("/files/{id}/content"));
    assert_eq!(download.status, 200, "download: {}", download.text());
    assert_eq!(download.body, content, "the downloaded bytes differ");
    ready
}

#[test]
fn raw_upload_with_a_json_content_type_stores_the_exact_bytes() {
    let stack = Stack::shared();
    assert_eq!(
        sha256_of(b"hello"),
        HELLO_SHA256,
        "sha256sum disagrees with the test vector"
    );

    let response = post_files(
        &stack,
        "/files?filename=hello.json",
        "application/json",
        b"hello".to_vec(),
    );

    let file = expect_accepted(&response, "raw upload of hello");
    let ready = expect_stored_exactly(&stack, &file, b"hello");
    assert_eq!(ready["sha256"], HELLO_SHA256, "{ready}");
    assert_eq!(ready["filename"], "hello.json", "{ready}");
    assert_eq!(ready["declared_type"], "application/json", "{ready}");
}

#[test]
fn raw_upload_named_by_content_disposition_is_stored() {
    let stack = Stack::shared();
    let response = RawRequest::new("POST", "/files")
        .header("cookie", &session_cookie(&stack))
        .header("content-type", "multipart/mixed; boundary=ignored")
        .header(
            "content-disposition",
            "attachment; filename*=UTF-8''%E2%82%AC%20rates.csv",
        )
        .body(RawBody::Fixed(b"--ignored\r\nnot a form".to_vec()))
        .send(stack.stowage.base_url(), REQUEST_TIMEOUT);

    let file = expect_accepted(&response, "raw upload named by Content-Disposition");
    assert_eq!(file["filename"], "€ rates.csv", "{file}");
    expect_stored_exactly(&stack, &file, b"--ignored\r\nnot a form");
}

#[test]
fn raw_utf8_filename_is_kept_exactly() {
    let stack = Stack::shared();

    let response = post_form(&stack, file_form("filename=\"Ünïcødé ©.txt\"", b"unicode"));

    let file = expect_accepted(&response, "filename in raw UTF-8");
    assert_eq!(file["filename"], "Ünïcødé ©.txt", "{file}");
    let id = file["id"].as_str().unwrap();
    stack.admin().wait_until_ready(id, PROCESSING_TIMEOUT);
    let download = stack.admin().get(&format!("/files/{id}/content"));
    let disposition = download.header("content-disposition").unwrap_or_default();
    // The UTF-8 bytes of the name, percent-encoded as RFC 8187 requires.
    let encoded = "%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%C2%A9.txt";
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains(&format!("filename*=UTF-8''{encoded}")),
        "Content-Disposition of the download: {disposition}"
    );
}

#[test]
fn filename_with_semicolons_is_kept_and_read_as_the_file_part() {
    let stack = Stack::shared();

    let response = post_form(&stack, file_form("filename=\"a; b; c.txt\"", b"semicolons"));

    let file = expect_accepted(&response, "filename with semicolons");
    assert_eq!(file["filename"], "a; b; c.txt", "{file}");
    expect_stored_exactly(&stack, &file, b"semicolons");
}

#[test]
fn extended_filename_wins_and_parameters_may_come_in_any_order() {
    let stack = Stack::shared();
    let disposition = "Content-Disposition: form-data; filename=\"fallback.txt\"; \
                       filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt; name=\"file\"";

    let response = post_form(&stack, form(&[part(&[disposition], b"report")]));

    let file = expect_accepted(&response, "filename* before name");
    assert_eq!(file["filename"], "报告.txt", "{file}");
}

#[test]
fn two_boundary_parameters_are_rejected() {
    let stack = Stack::shared();
    let body = form(&[part(
        &["Content-Disposition: form-data; name=\"file\""],
        b"x",
    )]);

    let response = post_files(
        &stack,
        "/files",
        "multipart/form-data; boundary=AAA; boundary=BBB",
        body,
    );

    let message = expect_bad_request(&response, "invalid_multipart", "two boundaries");
    assert!(
        message.contains("boundary"),
        "the message names the parameter: {message}"
    );
}

#[test]
fn charset_before_the_boundary_is_parsed() {
    let stack = Stack::shared();
    let body =
        b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n\r\n\
                 charset first\r\n--XYZ--\r\n"
            .to_vec();

    let response = post_files(
        &stack,
        "/files",
        "multipart/form-data; charset=UTF-8; boundary=XYZ",
        body,
    );

    let file = expect_accepted(&response, "charset before boundary");
    expect_stored_exactly(&stack, &file, b"charset first");
}

#[test]
fn quoted_boundary_with_spaces_is_parsed() {
    let stack = Stack::shared();
    let body =
        b"--a b:c\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q.txt\"\r\n\r\n\
                 quoted\r\n--a b:c--"
            .to_vec();

    let response = post_files(
        &stack,
        "/files",
        "multipart/form-data; boundary=\"a b:c\"",
        body,
    );

    let file = expect_accepted(&response, "quoted boundary");
    expect_stored_exactly(&stack, &file, b"quoted");
}

#[test]
fn a_part_with_ten_thousand_header_lines_is_rejected() {
    let stack = Stack::shared();
    let lines: Vec<String> = (0..10_000)
        .map(|index| format!("X-Filler-{index}: x"))
        .collect();
    let mut headers: Vec<&str> =
        vec!["Content-Disposition: form-data; name=\"file\"; filename=\"h.txt\""];
    headers.extend(lines.iter().map(String::as_str));

    let response = post_form(&stack, form(&[part(&headers, b"never stored")]));

    let message = expect_bad_request(&response, "invalid_multipart", "10,000 header lines");
    assert!(message.contains("header"), "{message}");
}

#[test]
fn a_part_header_of_one_megabyte_is_rejected() {
    let stack = Stack::shared();
    let huge = format!(
        "Content-Disposition: form-data; name=\"file\"; filename=\"{}.txt\"",
        "a".repeat(1024 * 1024)
    );

    let response = post_form(&stack, form(&[part(&[&huge], b"never stored")]));

    let message = expect_bad_request(&response, "invalid_multipart", "a 1 MB header");
    assert!(message.contains("header"), "{message}");
}

#[test]
fn path_traversal_filenames_lose_their_path_parts() {
    let stack = Stack::shared();
    let database = Database::open_read_only(&stack.stowage.database_path());

    for (param, shown) in [
        ("filename=\"../../etc/passwd\"", "passwd"),
        ("filename=\"..\"", "upload"),
        ("filename=\"..\\\\..\\\\windows\\\\win.ini\"", "win.ini"),
        ("filename=\"/\"", "upload"),
    ] {
        let response = post_form(&stack, file_form(param, b"traversal"));

        let file = expect_accepted(&response, param);
        assert_eq!(file["filename"], shown, "{param}: {file}");
        let id = file["id"].as_str().unwrap();
        assert!(
            uuid::Uuid::try_parse(id).is_ok() && id.len() == 36,
            "{param}: the id {id:?} is not a generated UUID"
        );
        let chunks = database.chunk_rows_of(id);
        assert!(
            chunks >= 1,
            "{param}: the content is not stored under the file's id"
        );
    }

    let raw = post_files(
        &stack,
        "/files?filename=..%2F..%2Fetc%2Fpasswd",
        "text/plain",
        b"raw traversal".to_vec(),
    );
    let file = expect_accepted(&raw, "raw upload with ?filename=../../etc/passwd");
    assert_eq!(file["filename"], "passwd", "{file}");
}

#[test]
fn control_and_bidi_characters_are_removed_from_filenames() {
    let stack = Stack::shared();
    let encoded = "filename*=UTF-8''invoice%E2%80%AEgpj.exe%00%0D%0A.txt";

    let response = post_form(&stack, file_form(encoded, b"bidi"));

    let file = expect_accepted(&response, "filename with controls");
    assert_eq!(file["filename"], "invoicegpj.exe.txt", "{file}");
}

#[test]
fn empty_file_becomes_ready_with_the_empty_digest() {
    let stack = Stack::shared();
    assert_eq!(
        sha256_of(b""),
        EMPTY_SHA256,
        "sha256sum disagrees with the empty digest"
    );

    let multipart = post_form(&stack, file_form("filename=\"empty.txt\"", b""));
    let raw = post_files(
        &stack,
        "/files?filename=empty.bin",
        "application/octet-stream",
        Vec::new(),
    );

    for (response, context) in [(multipart, "empty multipart file"), (raw, "empty raw body")] {
        let file = expect_accepted(&response, context);
        let ready = expect_stored_exactly(&stack, &file, b"");
        assert_eq!(ready["size"], 0, "{context}: {ready}");
        assert_eq!(ready["sha256"], EMPTY_SHA256, "{context}: {ready}");
    }
}

#[test]
fn two_file_parts_are_rejected_naming_the_duplicate() {
    let stack = Stack::shared();
    let database = Database::open_read_only(&stack.stowage.database_path());
    let disposition = "Content-Disposition: form-data; name=\"file\"; filename=\"one.txt\"";
    let second = "Content-Disposition: form-data; name=\"file\"; filename=\"two.txt\"";
    let body = form(&[part(&[disposition], b"first"), part(&[second], b"second")]);

    let response = post_form(&stack, body);

    let message = expect_bad_request(&response, "duplicate_file_part", "two file parts");
    assert!(
        message.contains("\"file\""),
        "the message names the part: {message}"
    );
    let leftover = poll_until(Duration::from_secs(5), || {
        let count = database.query_i64("SELECT COUNT(*) FROM files WHERE filename = 'one.txt'");
        (count == 0).then_some(())
    });
    assert!(
        leftover.is_some(),
        "the first part of a rejected form was kept"
    );
}

#[test]
fn malformed_forms_are_rejected_with_a_reason() {
    let stack = Stack::shared();
    let file = "Content-Disposition: form-data; name=\"file\"; filename=\"f.txt\"";
    let unterminated = {
        let mut body = part(&[file], b"content");
        body.truncate(body.len() - 2);
        body
    };
    let too_many_parts: Vec<Vec<u8>> = (0..40)
        .map(|_| part(&["Content-Disposition: form-data; name=\"note\""], b"n"))
        .collect();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("no closing delimiter", unterminated, "invalid_multipart"),
        (
            "no file part",
            form(&[part(
                &["Content-Disposition: form-data; name=\"note\""],
                b"n",
            )]),
            "missing_file",
        ),
        (
            "a part without Content-Disposition",
            form(&[part(&["Content-Type: text/plain"], b"x")]),
            "invalid_multipart",
        ),
        (
            "a header line without a colon",
            form(&[part(&[file, "garbage"], b"x")]),
            "invalid_multipart",
        ),
        (
            "an attachment part",
            form(&[part(
                &["Content-Disposition: attachment; name=\"file\""],
                b"x",
            )]),
            "invalid_multipart",
        ),
        ("forty parts", form(&too_many_parts), "invalid_multipart"),
        (
            "no delimiter at all",
            b"just some bytes".to_vec(),
            "invalid_multipart",
        ),
        (
            "an unterminated quoted name",
            form(&[part(&["Content-Disposition: form-data; name=\"file"], b"x")]),
            "invalid_multipart",
        ),
    ];

    for (context, body, code) in cases {
        let response = post_form(&stack, body);
        expect_bad_request(&response, code, context);
    }
}

#[test]
fn bad_content_types_and_lengths_are_client_errors() {
    let stack = Stack::shared();
    let no_boundary = post_files(&stack, "/files", "multipart/form-data", b"x".to_vec());
    expect_bad_request(
        &no_boundary,
        "invalid_multipart",
        "multipart without a boundary",
    );

    let long_boundary = format!("multipart/form-data; boundary={}", "b".repeat(71));
    let response = post_files(&stack, "/files", &long_boundary, b"x".to_vec());
    expect_bad_request(&response, "invalid_multipart", "a 71-character boundary");

    let declared_too_large = RawRequest::new("POST", "/files?filename=big.bin")
        .header("cookie", &session_cookie(&stack))
        .header("content-type", "application/octet-stream")
        .header("content-length", &(MAX_UPLOAD_BYTES + 1).to_string())
        .body(RawBody::Fixed(b"short".to_vec()))
        .send(stack.stowage.base_url(), REQUEST_TIMEOUT);
    let error = declared_too_large.expect_error(413, "Content-Length over 50 MiB");
    assert_eq!(error["code"], "payload_too_large", "{error}");
}

#[test]
fn a_60_megabyte_chunked_body_is_refused_in_bounded_memory() {
    const MIB: usize = 1024 * 1024;
    let stack = Stack::start();
    let admin = stack.admin();
    let cookie = format!("{SESSION_COOKIE}={}", admin.cookie(SESSION_COOKIE).unwrap());
    let database = Database::open_read_only(&stack.stowage.database_path());
    let (files_before, chunks_before) = (database.file_rows(), database.chunk_rows());

    // 60 chunks of 1 MiB, generated as the connection takes them.
    let chunks = (0..60).map(|index| vec![b'a' + (index % 26) as u8; MIB]);
    let response = RawRequest::new("POST", "/files?filename=sixty.bin")
        .header("cookie", &cookie)
        .header("content-type", "application/octet-stream")
        .body(RawBody::Chunked(Box::new(chunks)))
        .send(stack.stowage.base_url(), Duration::from_secs(60));

    let error = response.expect_error(413, "60 MB chunked body");
    assert_eq!(error["code"], "payload_too_large", "{error}");
    let cleaned = poll_until(Duration::from_secs(5), || {
        let counts = (database.file_rows(), database.chunk_rows());
        (counts == (files_before, chunks_before)).then_some(())
    });
    assert!(
        cleaned.is_some(),
        "the refused upload left file or chunk rows behind"
    );

    let peak = peak_resident_mib(stack.stowage.pid());
    assert!(
        peak < 200,
        "the host's peak resident memory reached {peak} MiB while refusing a 60 MB body"
    );
}

/// Reads `VmHWM`, the peak resident set size, of process `pid` in MiB.
fn peak_resident_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|error| panic!("reading /proc/{pid}/status failed: {error}"));
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("/proc/{pid}/status has no VmHWM line:\n{status}"));
    kib / 1024
}

/// Waits until file `id` reaches a final status and returns its JSON.
fn wait_until_final(stack: &Stack, id: &str) -> Value {
    let mut last = Value::Null;
    let done = poll_until(PROCESSING_TIMEOUT, || {
        last = stack.admin().get_json(&format!("/files/{id}"));
        let status = last["status"].as_str().unwrap_or_default();
        matches!(status, "ready" | "rejected" | "failed").then_some(())
    });
    assert!(done.is_some(), "file {id} was not processed: {last}");
    last
}

#[test]
fn an_executable_declared_as_png_is_rejected_naming_its_real_type() {
    let stack = Stack::shared();
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.resize(128, 0);

    let response = post_files(&stack, "/files?filename=cat.png", "image/png", elf);

    let file = expect_accepted(&response, "ELF declared as PNG");
    let id = file["id"].as_str().unwrap();
    let done = wait_until_final(&stack, id);
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["mime_type"], "application/x-executable", "{done}");
    let reason = done["status_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("application/x-executable"),
        "the reason names the detected type: {done}"
    );
    assert_eq!(done["declared_type"], "image/png", "{done}");
    assert_eq!(done["type_mismatch"], true, "{done}");
    let download = stack.admin().get(&format!("/files/{id}/content"));
    download.expect_error(409, "download of a rejected file");
}

#[test]
fn markup_disguised_as_text_is_rejected() {
    let stack = Stack::shared();
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "bom.txt",
            b"\xef\xbb\xbf<html><script>1</script></html>",
            "text/html",
        ),
        (
            "image.txt",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "image/svg+xml",
        ),
        (
            "data.txt",
            b"\n  <?xml version=\"1.0\"?><note>hi</note>",
            "application/xml",
        ),
    ];

    for (filename, bytes, mime_type) in cases {
        let path = format!("/files?filename={filename}");
        let response = post_files(&stack, &path, "text/plain", bytes.to_vec());

        let file = expect_accepted(&response, filename);
        let done = wait_until_final(&stack, file["id"].as_str().unwrap());
        assert_eq!(done["status"], "rejected", "{filename}: {done}");
        assert_eq!(done["mime_type"], mime_type, "{filename}: {done}");
    }
}

#[test]
fn text_declared_as_html_is_served_as_plain_text() {
    let stack = Stack::shared();
    let text = b"plain words, declared as HTML".to_vec();

    let response = post_files(
        &stack,
        "/files?filename=page.html",
        "text/html",
        text.clone(),
    );

    let file = expect_accepted(&response, "text declared as HTML");
    let ready = expect_stored_exactly(&stack, &file, &text);
    assert_eq!(ready["mime_type"], "text/plain", "{ready}");
    assert_eq!(ready["declared_type"], "text/html", "{ready}");
    assert_eq!(ready["type_mismatch"], true, "{ready}");
    let download = stack
        .admin()
        .get(&format!("/files/{}/content", ready["id"].as_str().unwrap()));
    assert_eq!(
        download.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    assert!(
        download
            .header("content-disposition")
            .unwrap_or_default()
            .starts_with("attachment;"),
        "{:?}",
        download.header("content-disposition")
    );

    // `hello` declared as JSON is detected as plain text, so it is
    // flagged too.
    let hello = post_files(
        &stack,
        "/files?filename=h.json",
        "application/json",
        b"hello".to_vec(),
    );
    let hello = expect_stored_exactly(&stack, &expect_accepted(&hello, "hello as JSON"), b"hello");
    assert_eq!(hello["type_mismatch"], true, "{hello}");
}

#[test]
fn html_allowed_by_policy_is_still_never_served_as_html() {
    let stack = Stack::start_with(|redis_url| {
        StowageOptions::new(redis_url).variable("allowed_mime_types", "text/*")
    });
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let response = stack.admin().upload_raw("page.html", html);
    assert_eq!(response.status, 202, "upload of HTML: {}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_owned();

    let ready = stack.admin().wait_until_ready(&id, PROCESSING_TIMEOUT);
    assert_eq!(ready["mime_type"], "text/html", "{ready}");
    let download = stack.admin().get(&format!("/files/{id}/content"));

    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(
        download.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    let disposition = download.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let policy = download
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(policy.contains("sandbox"), "{policy}");
    assert_eq!(download.body, html);
}

/// Sends GET /files with the admin's session and `headers`, and returns
/// the response. The host's HTTP layer rejects oversized header sections
/// before a component runs, so its response need not be JSON.
fn get_files_with_headers(stack: &StackHandle, headers: &[(String, String)]) -> Response {
    let mut request = RawRequest::new("GET", "/files").header("cookie", &session_cookie(stack));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send(stack.stowage.base_url(), REQUEST_TIMEOUT)
}

#[test]
fn oversized_http_header_sections_are_rejected_and_service_continues() {
    let stack = Stack::shared();
    let many_lines: Vec<(String, String)> = (0..10_000)
        .map(|index| (format!("x-filler-{index}"), "x".to_owned()))
        .collect();
    let one_megabyte = vec![("x-big".to_owned(), "a".repeat(1024 * 1024))];

    for (context, headers) in [
        ("10,000 header lines", many_lines),
        ("a 1 MB header", one_megabyte),
    ] {
        let response = get_files_with_headers(&stack, &headers);
        assert!(
            matches!(response.status, 400 | 431),
            "{context}: expected 400 or 431, got {} with body {}",
            response.status,
            response.text()
        );
    }

    let after = get_files_with_headers(&stack, &[]);
    assert_eq!(
        after.status,
        200,
        "the service stopped serving: {}",
        after.text()
    );
}
