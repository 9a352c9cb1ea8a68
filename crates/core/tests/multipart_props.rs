//! Properties of the streaming multipart parser over generated input:
//! how a body is cut into chunks never changes what it parses to,
//! arbitrary bytes never panic it, and work grows linearly with input.

use proptest::collection::vec;
use proptest::prelude::*;
use stowage_core::multipart::{Boundary, Event, Parser, PartHeaders, MAX_HEADER_BYTES};
use stowage_core::ApiError;

const BOUNDARY: &str = "prop-boundary";

/// What a parse produced: the events with adjacent content merged, or the
/// error code. Comparing these compares whole parses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Events(Vec<Owned>),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Start(PartHeaders),
    Data(Vec<u8>),
    End,
}

/// Parses `body` fed in pieces that end at each of `cuts` (offsets into
/// the body, in any order; out-of-range ones are clamped).
fn parse_in_pieces(body: &[u8], cuts: &[usize]) -> Outcome {
    let mut offsets: Vec<usize> = cuts.iter().map(|cut| cut % (body.len() + 1)).collect();
    offsets.push(body.len());
    offsets.sort_unstable();
    offsets.dedup();

    let mut parser = Parser::new(&Boundary::parse(BOUNDARY).unwrap());
    let mut events: Vec<Owned> = Vec::new();
    let mut start = 0;
    for end in offsets {
        let fed = parser.feed(&body[start..end], |event| {
            record(&mut events, event);
            Ok(())
        });
        if let Err(error) = fed {
            return Outcome::Error(error_code(&error));
        }
        start = end;
    }
    match parser.finish() {
        Ok(()) => Outcome::Events(events),
        Err(error) => Outcome::Error(error_code(&error)),
    }
}

fn record(events: &mut Vec<Owned>, event: Event<'_>) {
    match event {
        Event::PartStart(headers) => events.push(Owned::Start(headers)),
        Event::Data(bytes) => match events.last_mut() {
            Some(Owned::Data(previous)) => previous.extend_from_slice(bytes),
            _ => events.push(Owned::Data(bytes.to_vec())),
        },
        Event::PartEnd => events.push(Owned::End),
    }
}

fn error_code(error: &ApiError) -> String {
    format!("{} {}", error.status(), error.code())
}

/// One generated part: a field name, an optional filename and content.
#[derive(Debug, Clone)]
struct GeneratedPart {
    name: String,
    filename: Option<String>,
    content: Vec<u8>,
}

/// Content drawn mostly from bytes that build delimiters (`\r`, `\n`,
/// `-`, the boundary's letters), so near-misses of the delimiter are
/// common rather than rare.
fn tricky_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"\r\n-prop-boundary\x00\xff ".to_vec();
    vec(
        prop_oneof![
            3 => proptest::sample::select(alphabet),
            1 => any::<u8>(),
        ],
        0..max_len,
    )
}

fn field_name() -> impl Strategy<Value = String> {
    proptest::sample::select(vec!["file", "note", "description", "x"]).prop_map(str::to_owned)
}

fn filename() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::sample::select(vec!["a.txt", "a; b; c.txt", "Ünïcødé ©.txt", "../x", ""])
            .prop_map(str::to_owned),
    )
}

fn part() -> impl Strategy<Value = GeneratedPart> {
    (field_name(), filename(), tricky_bytes(300)).prop_map(|(name, filename, content)| {
        GeneratedPart {
            name,
            filename,
            content,
        }
    })
}

/// Builds a well-formed body, skipping content that happens to contain
/// the delimiter (RFC 2046 requires a boundary absent from the content).
fn build_body(parts: &[GeneratedPart]) -> Vec<u8> {
    let delimiter = format!("\r\n--{BOUNDARY}");
    let mut body = b"preamble\r\n".to_vec();
    for part in parts {
        let contains_delimiter = part
            .content
            .windows(delimiter.len())
            .any(|window| window == delimiter.as_bytes());
        let content: &[u8] = if contains_delimiter {
            b""
        } else {
            &part.content
        };
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\nepilogue").as_bytes());
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_chunking_of_a_valid_body_gives_the_same_events(
        parts in vec(part(), 1..6),
        cuts in vec(any::<usize>(), 0..40),
    ) {
        let body = build_body(&parts);

        let whole = parse_in_pieces(&body, &[]);
        let pieces = parse_in_pieces(&body, &cuts);

        prop_assert_eq!(&whole, &pieces);
        let Outcome::Events(events) = whole else {
            return Err(TestCaseError::fail(format!("a valid body failed: {whole:?}")));
        };
        let starts = events.iter().filter(|event| matches!(event, Owned::Start(_))).count();
        prop_assert_eq!(starts, parts.len());
    }

    #[test]
    fn byte_by_byte_feeding_matches_one_feed(parts in vec(part(), 1..4)) {
        let body = build_body(&parts);
        let every_byte: Vec<usize> = (0..body.len()).collect();

        prop_assert_eq!(parse_in_pieces(&body, &[]), parse_in_pieces(&body, &every_byte));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_chunking_does_not_matter(
        noise in tricky_bytes(2000),
        cuts in vec(any::<usize>(), 0..20),
    ) {
        let mut body = format!("--{BOUNDARY}\r\n").into_bytes();
        body.extend_from_slice(&noise);

        prop_assert_eq!(parse_in_pieces(&body, &[]), parse_in_pieces(&body, &cuts));
        prop_assert_eq!(parse_in_pieces(&noise, &[]), parse_in_pieces(&noise, &cuts));
    }
}

/// Content made of delimiter prefixes that never complete: each one makes
/// a naive parser hold back and rescan a growing tail.
fn near_miss_body(content_bytes: usize) -> Vec<u8> {
    let mut body = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n")
        .into_bytes();
    let near_miss = format!("\r\n--{}", &BOUNDARY[..BOUNDARY.len() - 1]);
    while body.len() < content_bytes {
        body.extend_from_slice(near_miss.as_bytes());
    }
    body
}

/// Each call to `feed` scans the held-back bytes plus the new chunk, so a
/// bound on the held-back bytes bounds the work per input byte. Counting
/// them keeps this check exact on a busy machine, where timing would not
/// be.
#[test]
fn held_back_bytes_stay_bounded_on_adversarial_input() {
    let body = near_miss_body(1024 * 1024);
    let delimiter_len = format!("\r\n--{BOUNDARY}").len();
    let bound = MAX_HEADER_BYTES + delimiter_len;

    let mut parser = Parser::new(&Boundary::parse(BOUNDARY).unwrap());
    let mut max_held = 0;
    for byte in &body {
        parser.feed(std::slice::from_ref(byte), |_| Ok(())).unwrap();
        max_held = max_held.max(parser.buffered_len());
    }

    assert!(
        max_held <= bound,
        "parser held back {max_held} bytes, more than {bound}"
    );
    assert!(
        parser.buffered_len() < delimiter_len,
        "parser held back {} bytes of content at the end, expected less than one delimiter",
        parser.buffered_len()
    );
}

#[test]
fn oversized_header_block_is_rejected_without_buffering_it() {
    let mut parser = Parser::new(&Boundary::parse(BOUNDARY).unwrap());
    parser
        .feed(format!("--{BOUNDARY}\r\n").as_bytes(), |_| Ok(()))
        .unwrap();

    // A header line with no end: the parser must give up after its header
    // bound instead of collecting the whole megabyte.
    let line = vec![b'a'; 1024 * 1024];
    let error = parser.feed(&line, |_| Ok(())).unwrap_err();

    assert_eq!(error.code(), "invalid_multipart");
}
