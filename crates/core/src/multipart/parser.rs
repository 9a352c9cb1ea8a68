//! The push parser over a `multipart/form-data` body.

use memchr::memmem;

use crate::error::ApiError;
use crate::multipart::{invalid_multipart, Boundary, ContentDisposition};

/// The maximum number of parts in one body. A browser form with a file
/// input and a few fields sends a handful; the bound stops a body of
/// millions of empty parts.
pub const MAX_PARTS: usize = 32;

/// The maximum number of header lines in one part. Browsers send two
/// (Content-Disposition and Content-Type).
pub const MAX_HEADER_LINES: usize = 16;

/// The maximum size of one part's header block in bytes, line ends and
/// the blank line included.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// The maximum transport padding (spaces and tabs) that RFC 2046 allows
/// between a delimiter and its CRLF.
const MAX_PADDING: usize = 256;

/// What a part's headers declare. Header names are case-insensitive;
/// headers other than Content-Disposition and Content-Type are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHeaders {
    /// The form field name from Content-Disposition's `name`.
    pub name: String,
    /// The client's filename as sent (`filename*` preferred), unsanitized.
    pub filename: Option<String>,
    /// The part's Content-Type value, trimmed.
    pub content_type: Option<String>,
}

/// What the parser found in the bytes fed so far, in body order.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A part begins; its content follows as [`Event::Data`].
    PartStart(PartHeaders),
    /// The next slice of the current part's content. One part's content
    /// may arrive in any number of slices.
    Data(&'a [u8]),
    /// The current part's content is complete.
    PartEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter; these bytes are ignored.
    Preamble,
    /// Right after a delimiter: `--` closes the body, CRLF starts a part.
    AfterDelimiter,
    Headers,
    Body,
    /// After the closing delimiter; the epilogue is ignored.
    Done,
    /// An error was returned; the parser accepts no more input.
    Failed,
}

/// A streaming `multipart/form-data` parser. Feed it the body with
/// [`Parser::feed`], then call [`Parser::finish`] at its end.
pub struct Parser {
    /// `CRLF--boundary`, which ends every part.
    delimiter: Vec<u8>,
    finder: memmem::Finder<'static>,
    state: State,
    /// Bytes received and not yet consumed: at most a partial delimiter
    /// or a partial header line between calls.
    buffer: Vec<u8>,
    /// How far the partial header line at the start of `buffer` has been
    /// searched for its line end, so header bytes are scanned once.
    line_scan: usize,
    header_lines: Vec<Vec<u8>>,
    header_bytes: usize,
    parts: usize,
}

impl Parser {
    pub fn new(boundary: &Boundary) -> Parser {
        let delimiter = boundary.delimiter();
        let finder = memmem::Finder::new(&delimiter).into_owned();

        // The first delimiter may open the body without a preceding CRLF
        // (RFC 2046, section 5.1.1). Starting with one lets the same
        // search find it.
        Parser {
            delimiter,
            finder,
            state: State::Preamble,
            buffer: b"\r\n".to_vec(),
            line_scan: 0,
            header_lines: Vec::new(),
            header_bytes: 0,
            parts: 0,
        }
    }

    /// Parses the next chunk of the body and calls `handler` with each
    /// event it completes. An error from `handler` stops parsing and is
    /// returned; after any error the parser rejects further input.
    pub fn feed<F>(&mut self, chunk: &[u8], mut handler: F) -> Result<(), ApiError>
    where
        F: FnMut(Event<'_>) -> Result<(), ApiError>,
    {
        match self.state {
            State::Done => return Ok(()),
            State::Failed => {
                return Err(invalid_multipart("multipart body was already rejected"));
            }
            _ => {}
        }

        self.buffer.extend_from_slice(chunk);
        let result = self.parse_buffer(&mut handler);
        if result.is_err() {
            self.state = State::Failed;
            self.buffer = Vec::new();
        }
        result
    }

    /// Checks that the body ended after its closing delimiter.
    pub fn finish(&self) -> Result<(), ApiError> {
        match self.state {
            State::Done => Ok(()),
            State::Failed => Err(invalid_multipart("multipart body was already rejected")),
            _ => Err(invalid_multipart(
                "multipart body ended before its closing boundary",
            )),
        }
    }

    /// Returns the number of received bytes held back for the next call:
    /// at most a partial delimiter in content, or a partial header block.
    /// Each call rescans only these bytes plus the new chunk, which is what
    /// keeps parsing linear in the body's length.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Reports whether the closing delimiter has been read.
    pub fn is_complete(&self) -> bool {
        self.state == State::Done
    }

    fn parse_buffer(
        &mut self,
        handler: &mut dyn FnMut(Event<'_>) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let mut start = 0;

        loop {
            let step = match self.state {
                State::Preamble => self.skip_preamble(&mut start),
                State::AfterDelimiter => self.read_delimiter_end(&mut start),
                State::Headers => self.read_header_line(&mut start, handler),
                State::Body => self.read_content(&mut start, handler),
                State::Done => {
                    start = self.buffer.len();
                    Ok(Step::NeedInput)
                }
                State::Failed => unreachable!("feed returns before parsing a failed body"),
            };
            if step? == Step::NeedInput {
                break;
            }
        }

        self.buffer.drain(..start);
        Ok(())
    }

    fn skip_preamble(&mut self, start: &mut usize) -> Result<Step, ApiError> {
        let rest = &self.buffer[*start..];
        match self.finder.find(rest) {
            Some(index) => {
                *start += index + self.delimiter.len();
                self.state = State::AfterDelimiter;
                Ok(Step::Continue)
            }
            None => {
                *start += rest.len() - self.partial_delimiter_len(rest);
                Ok(Step::NeedInput)
            }
        }
    }

    fn read_delimiter_end(&mut self, start: &mut usize) -> Result<Step, ApiError> {
        let rest = &self.buffer[*start..];
        if rest.len() < 2 {
            return Ok(Step::NeedInput);
        }

        if rest.starts_with(b"--") {
            *start = self.buffer.len();
            self.state = State::Done;
            return Ok(Step::NeedInput);
        }

        let padding = rest
            .iter()
            .take_while(|&&byte| byte == b' ' || byte == b'\t')
            .count();
        if padding > MAX_PADDING {
            return Err(invalid_multipart(format!(
                "more than {MAX_PADDING} bytes of padding after a boundary"
            )));
        }
        let line_end = &rest[padding..];
        if line_end.is_empty() || line_end == b"\r" {
            return Ok(Step::NeedInput);
        }
        if !line_end.starts_with(b"\r\n") {
            return Err(invalid_multipart(
                "a boundary must be followed by CRLF or by \"--\" at the end of the body",
            ));
        }

        *start += padding + 2;
        self.parts += 1;
        if self.parts > MAX_PARTS {
            return Err(invalid_multipart(format!(
                "multipart body has more than {MAX_PARTS} parts"
            )));
        }
        self.state = State::Headers;
        Ok(Step::Continue)
    }

    fn read_header_line(
        &mut self,
        start: &mut usize,
        handler: &mut dyn FnMut(Event<'_>) -> Result<(), ApiError>,
    ) -> Result<Step, ApiError> {
        let rest = &self.buffer[*start..];
        let Some(found) = memchr::memchr(b'\n', &rest[self.line_scan..]) else {
            self.line_scan = rest.len();
            self.check_header_bytes(rest.len())?;
            return Ok(Step::NeedInput);
        };

        let newline = self.line_scan + found;
        self.header_bytes += newline + 1;
        self.check_header_bytes(0)?;
        let line = rest[..newline]
            .strip_suffix(b"\r")
            .unwrap_or(&rest[..newline]);
        let line = line.to_vec();
        *start += newline + 1;
        self.line_scan = 0;

        if line.is_empty() {
            let headers = parse_part_headers(&self.header_lines)?;
            self.header_lines.clear();
            self.header_bytes = 0;
            self.state = State::Body;
            handler(Event::PartStart(headers))?;
        } else if line.starts_with(b" ") || line.starts_with(b"\t") {
            // An obsolete folded line continues the previous header.
            let Some(previous) = self.header_lines.last_mut() else {
                return Err(invalid_multipart("part headers start with a folded line"));
            };
            previous.extend_from_slice(&line);
        } else {
            self.header_lines.push(line);
            if self.header_lines.len() > MAX_HEADER_LINES {
                return Err(invalid_multipart(format!(
                    "a part has more than {MAX_HEADER_LINES} header lines"
                )));
            }
        }
        Ok(Step::Continue)
    }

    fn check_header_bytes(&self, pending: usize) -> Result<(), ApiError> {
        if self.header_bytes + pending > MAX_HEADER_BYTES {
            return Err(invalid_multipart(format!(
                "a part's headers exceed {MAX_HEADER_BYTES} bytes"
            )));
        }
        Ok(())
    }

    fn read_content(
        &mut self,
        start: &mut usize,
        handler: &mut dyn FnMut(Event<'_>) -> Result<(), ApiError>,
    ) -> Result<Step, ApiError> {
        let rest = &self.buffer[*start..];
        match self.finder.find(rest) {
            Some(index) => {
                if index > 0 {
                    handler(Event::Data(&rest[..index]))?;
                }
                handler(Event::PartEnd)?;
                *start += index + self.delimiter.len();
                self.state = State::AfterDelimiter;
                Ok(Step::Continue)
            }
            None => {
                // Content may end in the first bytes of a delimiter that
                // the next chunk completes, so those are held back.
                let complete = rest.len() - self.partial_delimiter_len(rest);
                if complete > 0 {
                    handler(Event::Data(&rest[..complete]))?;
                }
                *start += complete;
                Ok(Step::NeedInput)
            }
        }
    }

    /// Returns the length of the longest suffix of `bytes` that is a
    /// proper prefix of the delimiter. Every delimiter starts with CR, so
    /// only CR bytes in the last `delimiter.len() - 1` bytes are tried.
    fn partial_delimiter_len(&self, bytes: &[u8]) -> usize {
        let window = bytes.len().min(self.delimiter.len() - 1);
        let tail = &bytes[bytes.len() - window..];
        memchr::memchr_iter(b'\r', tail)
            .map(|index| &tail[index..])
            .find(|suffix| self.delimiter.starts_with(suffix))
            .map_or(0, <[u8]>::len)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Continue,
    NeedInput,
}

/// Reads the Content-Disposition and Content-Type of one part. Each may
/// appear at most once, and Content-Disposition must be `form-data` with
/// a `name` (RFC 7578, section 4.2).
fn parse_part_headers(lines: &[Vec<u8>]) -> Result<PartHeaders, ApiError> {
    let mut disposition = None;
    let mut content_type = None;

    for line in lines {
        let line = String::from_utf8_lossy(line);
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid_multipart(format!(
                "part header line {:?} has no colon",
                truncate_for_message(&line)
            )));
        };
        let value = value.trim();

        if name.trim().eq_ignore_ascii_case("content-disposition") {
            if disposition.is_some() {
                return Err(invalid_multipart(
                    "a part has two Content-Disposition headers",
                ));
            }
            let parsed = ContentDisposition::parse(value).map_err(|message| {
                invalid_multipart(format!("invalid part Content-Disposition: {message}"))
            })?;
            disposition = Some(parsed);
        } else if name.trim().eq_ignore_ascii_case("content-type") {
            if content_type.is_some() {
                return Err(invalid_multipart("a part has two Content-Type headers"));
            }
            content_type = Some(value.to_owned());
        }
    }

    let disposition =
        disposition.ok_or_else(|| invalid_multipart("a part has no Content-Disposition header"))?;
    if disposition.kind != "form-data" {
        return Err(invalid_multipart(format!(
            "part Content-Disposition is {:?}, expected \"form-data\"",
            disposition.kind
        )));
    }
    let name = disposition
        .name
        .ok_or_else(|| invalid_multipart("part Content-Disposition has no name"))?;

    Ok(PartHeaders {
        name,
        filename: disposition.filename,
        content_type,
    })
}

/// Shortens client text quoted in an error message to 100 characters.
fn truncate_for_message(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
