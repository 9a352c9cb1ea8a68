use super::*;

/// An event with owned data, so tests can compare whole parses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Start(PartHeaders),
    Data(Vec<u8>),
    End,
}

/// Feeds `chunks` and returns the events, adjacent data merged, or the
/// first error including the one from `finish`.
fn parse_chunks(boundary: &str, chunks: &[&[u8]]) -> Result<Vec<Owned>, ApiError> {
    let mut parser = Parser::new(&Boundary::parse(boundary).unwrap());
    let mut events: Vec<Owned> = Vec::new();

    for chunk in chunks {
        parser.feed(chunk, |event| {
            match event {
                Event::PartStart(headers) => events.push(Owned::Start(headers)),
                Event::Data(bytes) => match events.last_mut() {
                    Some(Owned::Data(previous)) => previous.extend_from_slice(bytes),
                    _ => events.push(Owned::Data(bytes.to_vec())),
                },
                Event::PartEnd => events.push(Owned::End),
            }
            Ok(())
        })?;
    }

    parser.finish()?;
    Ok(events)
}

fn parse(boundary: &str, body: &[u8]) -> Result<Vec<Owned>, ApiError> {
    parse_chunks(boundary, &[body])
}

fn parse_bytewise(boundary: &str, body: &[u8]) -> Result<Vec<Owned>, ApiError> {
    let chunks: Vec<&[u8]> = body.chunks(1).collect();
    parse_chunks(boundary, &chunks)
}

fn file_part(name: &str, filename: &str, content_type: Option<&str>) -> Owned {
    Owned::Start(PartHeaders {
        name: name.to_owned(),
        filename: Some(filename.to_owned()),
        content_type: content_type.map(str::to_owned),
    })
}

fn field_part(name: &str) -> Owned {
    Owned::Start(PartHeaders {
        name: name.to_owned(),
        filename: None,
        content_type: None,
    })
}

/// Builds a body with a text field and a file whose content contains CRLFs,
/// dashes and near-copies of the delimiter.
fn tricky_body() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(b"preamble to ignore\r\n");
    body.extend_from_slice(b"--XyZ\r\n");
    body.extend_from_slice(b"Content-Disposition: form-data; name=\"note\"\r\n\r\n");
    body.extend_from_slice(b"hello");
    body.extend_from_slice(b"\r\n--XyZ\r\n");
    body.extend_from_slice(
        b"content-disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n",
    );
    body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(b"\r\n--Xy\r\r\n--X\r\n-\r\n--XyY--\r\n\r\n\r\r");
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    body.extend_from_slice(b"epilogue to ignore");
    body
}

fn tricky_events() -> Vec<Owned> {
    vec![
        field_part("note"),
        Owned::Data(b"hello".to_vec()),
        Owned::End,
        file_part("file", "a.bin", Some("application/octet-stream")),
        Owned::Data(b"\r\n--Xy\r\r\n--X\r\n-\r\n--XyY--\r\n\r\n\r\r".to_vec()),
        Owned::End,
    ]
}

#[test]
fn parts_are_read_in_order() {
    assert_eq!(parse("XyZ", &tricky_body()).unwrap(), tricky_events());
}

#[test]
fn byte_at_a_time_matches_whole_body() {
    assert_eq!(
        parse_bytewise("XyZ", &tricky_body()).unwrap(),
        tricky_events()
    );
}

#[test]
fn every_two_chunk_split_matches_whole_body() {
    let body = tricky_body();
    for split in 0..=body.len() {
        let (head, tail) = body.split_at(split);
        let events = parse_chunks("XyZ", &[head, tail]).unwrap();
        assert_eq!(events, tricky_events(), "split at byte {split}");
    }
}

#[test]
fn body_may_open_without_preamble() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--";
    assert_eq!(
        parse("b", body).unwrap(),
        vec![field_part("x"), Owned::Data(b"1".to_vec()), Owned::End]
    );
}

#[test]
fn empty_part_has_no_data_event() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e\"\r\n\r\n\r\n--b--\r\n";
    assert_eq!(
        parse("b", body).unwrap(),
        vec![file_part("file", "e", None), Owned::End]
    );
}

#[test]
fn padding_after_boundary_is_allowed() {
    let body = b"--b \t\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--";
    assert_eq!(parse("b", body).unwrap().len(), 3);
}

#[test]
fn boundary_with_spaces_and_punctuation_is_matched() {
    let body = b"--a b:c?\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--a b:c?--";
    assert_eq!(parse("a b:c?", body).unwrap().len(), 3);
}

#[test]
fn quoted_filename_with_semicolons_is_kept() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a; b; c.txt\"\r\n\r\nx\r\n--b--";
    let events = parse("b", body).unwrap();
    assert_eq!(events[0], file_part("file", "a; b; c.txt", None));
}

#[test]
fn raw_utf8_filename_is_kept() {
    let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Ünïcødé ©.txt\"\r\n\r\nx\r\n--b--";
    let events = parse("b", body.as_bytes()).unwrap();
    assert_eq!(events[0], file_part("file", "Ünïcødé ©.txt", None));
}

#[test]
fn extended_filename_is_preferred() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fallback.txt\"; filename*=UTF-8''%C3%BCber.txt\r\n\r\nx\r\n--b--";
    let events = parse("b", body).unwrap();
    assert_eq!(events[0], file_part("file", "über.txt", None));
}

#[test]
fn folded_header_line_continues_previous() {
    let body = b"--b\r\nContent-Disposition: form-data;\r\n name=\"x\"\r\n\r\n1\r\n--b--";
    assert_eq!(parse("b", body).unwrap()[0], field_part("x"));
}

#[test]
fn body_ending_early_is_rejected() {
    let truncated = [
        &b""[..],
        b"--b",
        b"--b\r\nContent-Disposition: form-data; name=\"x\"",
        b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nsome content",
        b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b",
        b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b-",
    ];
    for body in truncated {
        let error = parse("b", body).unwrap_err();
        assert_eq!(error.code(), "invalid_multipart", "{body:?}");
        assert!(
            error
                .to_string()
                .contains("ended before its closing boundary"),
            "{body:?}: {error}"
        );
    }
}

#[test]
fn many_header_lines_are_rejected() {
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n".to_vec();
    for _ in 0..10_000 {
        body.extend_from_slice(b"X-Filler: 1\r\n");
    }
    body.extend_from_slice(b"\r\n1\r\n--b--");

    let error = parse("b", &body).unwrap_err();
    assert_eq!(error.status(), 400);
    assert!(error.to_string().contains("header lines"), "{error}");
}

#[test]
fn megabyte_header_is_rejected() {
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"x\"; filename=\"".to_vec();
    body.extend(std::iter::repeat_n(b'a', 1_000_000));
    body.extend_from_slice(b"\"\r\n\r\n1\r\n--b--");

    let error = parse("b", &body).unwrap_err();
    assert_eq!(error.status(), 400);
    assert!(error.to_string().contains("exceed 8192 bytes"), "{error}");
}

#[test]
fn header_limit_holds_when_fed_byte_by_byte() {
    let mut body = b"--b\r\nX-Long: ".to_vec();
    body.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES));

    let error = parse_bytewise("b", &body).unwrap_err();
    assert!(error.to_string().contains("exceed 8192 bytes"), "{error}");
}

#[test]
fn too_many_parts_are_rejected() {
    let mut body = Vec::new();
    for _ in 0..=MAX_PARTS {
        body.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n");
    }
    body.extend_from_slice(b"--b--");

    let error = parse("b", &body).unwrap_err();
    assert!(error.to_string().contains("more than 32 parts"), "{error}");
}

#[test]
fn part_without_disposition_is_rejected() {
    let body = b"--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--";
    let error = parse("b", body).unwrap_err();
    assert!(
        error.to_string().contains("no Content-Disposition"),
        "{error}"
    );
}

#[test]
fn disposition_other_than_form_data_is_rejected() {
    let body = b"--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\n1\r\n--b--";
    let error = parse("b", body).unwrap_err();
    assert!(
        error.to_string().contains("expected \"form-data\""),
        "{error}"
    );
}

#[test]
fn header_line_without_colon_is_rejected() {
    let body = b"--b\r\nnot a header\r\n\r\n1\r\n--b--";
    let error = parse("b", body).unwrap_err();
    assert!(error.to_string().contains("has no colon"), "{error}");
}

#[test]
fn text_after_boundary_is_rejected() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--bb\r\n";
    let error = parse("b", body).unwrap_err();
    assert!(
        error.to_string().contains("must be followed by CRLF"),
        "{error}"
    );
}

#[test]
fn handler_error_stops_parsing() {
    let mut parser = Parser::new(&Boundary::parse("b").unwrap());
    let body = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--";
    let error = parser
        .feed(body, |_| Err(ApiError::bad_request("stop", "stopped")))
        .unwrap_err();
    assert_eq!(error.code(), "stop");
    assert!(parser.feed(b"more", |_| Ok(())).is_err());
    assert!(parser.finish().is_err());
}

#[test]
fn epilogue_after_close_is_ignored() {
    let mut parser = Parser::new(&Boundary::parse("b").unwrap());
    parser
        .feed(
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--",
            |_| Ok(()),
        )
        .unwrap();
    assert!(parser.is_complete());
    parser
        .feed(b"\r\n--b\r\ngarbage", |_| panic!("no events after close"))
        .unwrap();
    parser.finish().unwrap();
}

#[test]
fn held_back_bytes_stay_below_delimiter_length() {
    let boundary = Boundary::parse("boundary").unwrap();
    let mut parser = Parser::new(&boundary);
    parser
        .feed(
            b"--boundary\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n",
            |_| Ok(()),
        )
        .unwrap();

    let chunk = vec![b'\r'; 64 * 1024];
    let mut delivered = 0;
    parser
        .feed(&chunk, |event| {
            if let Event::Data(bytes) = event {
                delivered += bytes.len();
            }
            Ok(())
        })
        .unwrap();

    assert_eq!(delivered, chunk.len() - 1);
    assert!(parser.buffer.len() < boundary.delimiter().len());
}
