//! POST /files: streams the body into chunk rows, then hands the file to
//! processing.
//!
//! Two kinds of body are accepted. A `multipart/form-data` body must have
//! exactly one part named `file`, whose content is stored; other fields
//! are read and discarded. Any other body is stored as it is, named by
//! `?filename=` or a `Content-Disposition` header.

use crate::auth::Principal;
use crate::config::ProcessingMode;
use crate::error::ApiError;
use crate::files::chunks::{file_too_large, ChunkWriter, MAX_FILE_BYTES};
use crate::files::model::{FileId, FileRecord};
use crate::files::store::{self, NewFile};
use crate::files::Filename;
use crate::http::{BodyReader, Request, Response};
use crate::limits;
use crate::multipart::{self, ContentDisposition, Event, Parser};
use crate::processing::{self, ProcessingSettings};
use crate::services::Services;

/// Bytes a multipart body may carry beyond the file content: boundaries,
/// part headers, other fields, preamble and epilogue. 64 KiB is many
/// times the framing of a browser form.
pub const MULTIPART_OVERHEAD_BYTES: u64 = 64 * 1024;

/// The form field that carries the file.
pub const FILE_FIELD: &str = "file";

/// The maximum length of a stored declared type in bytes.
const MAX_DECLARED_TYPE_BYTES: usize = 255;

/// Stores the request body as a new file of the principal's organization
/// and returns 202 with the file and its `Location`.
///
/// Each call counts against the user's upload rate limit first, so a
/// limited client gets 429 before any byte of its body is read.
///
/// Oversized bodies are rejected with 413 from `Content-Length` before
/// any byte is read, and again while reading when content passes
/// [`MAX_FILE_BYTES`], whatever `Content-Length` claimed. On any error
/// the file's row and chunks are deleted before returning.
pub fn upload(
    services: &Services,
    principal: &Principal,
    request: &Request,
    body: &mut dyn BodyReader,
) -> Result<Response, ApiError> {
    limits::check_upload(services, &principal.user_id)?;

    let content_type = request.headers.get("content-type");
    let boundary = match content_type {
        Some(value) => multipart::form_data_boundary(value)?,
        None => None,
    };

    let body_limit = match boundary {
        Some(_) => MAX_FILE_BYTES + MULTIPART_OVERHEAD_BYTES,
        None => MAX_FILE_BYTES,
    };
    check_content_length(request, body_limit)?;
    let mut body = LimitedBody {
        inner: body,
        limit: body_limit,
        read: 0,
    };

    let mut upload = Upload {
        services,
        principal,
        started: None,
    };
    let result = match boundary {
        Some(boundary) => FormReader::new(&mut upload).read(&boundary, &mut body),
        None => upload.receive_raw(request, content_type, &mut body),
    };
    let file_id = match result {
        Ok(id) => id,
        Err(error) => {
            upload.delete_started();
            return Err(error);
        }
    };

    hand_to_processing(services, &file_id);

    let record = store::find_visible(services.db, &principal.org_id, &file_id)?
        .ok_or_else(|| ApiError::internal(format!("stored file {file_id} vanished")))?;
    Ok(accepted(&record))
}

/// Builds the 202 response for a stored file.
fn accepted(record: &FileRecord) -> Response {
    Response::json(202, &record.to_json()).with_header("location", format!("/files/{}", record.id))
}

/// Rejects a declared `Content-Length` over `limit` without reading the
/// body. A missing length is checked while reading instead.
fn check_content_length(request: &Request, limit: u64) -> Result<(), ApiError> {
    let Some(value) = request.headers.get("content-length") else {
        return Ok(());
    };
    let length: u64 = value.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_content_length",
            format!("Content-Length {value:?} is not a number of bytes"),
        )
    })?;

    if length > limit {
        return Err(ApiError::PayloadTooLarge {
            message: format!(
                "request body of {length} bytes is larger than the limit of {limit} bytes"
            ),
        });
    }
    Ok(())
}

/// The request body with a running count of its bytes.
struct LimitedBody<'a> {
    inner: &'a mut dyn BodyReader,
    limit: u64,
    read: u64,
}

impl LimitedBody<'_> {
    /// Returns the next chunk, or 413 once the body passes the limit.
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        let chunk = self.inner.read_chunk().map_err(|error| {
            ApiError::bad_request(
                "body_read_failed",
                format!("reading the request body failed: {error}"),
            )
        })?;

        if let Some(bytes) = &chunk {
            self.read += bytes.len() as u64;
            if self.read > self.limit {
                return Err(body_too_large(self.limit));
            }
        }
        Ok(chunk)
    }
}

fn body_too_large(limit: u64) -> ApiError {
    if limit == MAX_FILE_BYTES {
        return file_too_large();
    }
    ApiError::PayloadTooLarge {
        message: format!("request body is larger than the limit of {limit} bytes"),
    }
}

/// One upload in progress: remembers the file it started, so a failure
/// at any step can delete it.
struct Upload<'a> {
    services: &'a Services<'a>,
    principal: &'a Principal,
    started: Option<FileId>,
}

impl<'a> Upload<'a> {
    /// Stores the whole body as the file's content.
    fn receive_raw(
        &mut self,
        request: &Request,
        content_type: Option<&str>,
        body: &mut LimitedBody,
    ) -> Result<FileId, ApiError> {
        let filename = raw_filename(request)?;
        let mut writer = self.start_file(&filename, declared_type(content_type))?;

        while let Some(chunk) = body.next_chunk()? {
            writer.write(&chunk)?;
        }

        self.complete_file(writer)
    }

    /// Inserts the file's row in status `uploading` and returns the writer
    /// for its content.
    fn start_file(
        &mut self,
        filename: &Filename,
        declared_type: Option<String>,
    ) -> Result<ChunkWriter<'a>, ApiError> {
        let id = FileId::generate();
        let new_file = NewFile {
            id: &id,
            org_id: &self.principal.org_id,
            uploaded_by: &self.principal.user_id,
            filename,
            declared_type: declared_type.as_deref(),
            now: self.services.clock.now_millis(),
        };
        store::insert_uploading(self.services.db, &new_file)?;

        self.started = Some(id.clone());
        Ok(ChunkWriter::new(self.services.db, id))
    }

    /// Stores the last chunk and marks the file `pending`.
    fn complete_file(&self, writer: ChunkWriter) -> Result<FileId, ApiError> {
        let id = writer.file_id().clone();
        let (size, chunk_count) = writer.finish()?;

        let now = self.services.clock.now_millis();
        store::mark_pending(self.services.db, &id, size, chunk_count, now)?;
        Ok(id)
    }

    /// Deletes the row and chunks of a failed upload. A failure to delete
    /// is logged and the rows are left to the collection of abandoned
    /// uploads, so the client receives the upload's own error.
    fn delete_started(&mut self) {
        let Some(id) = self.started.take() else {
            return;
        };
        if let Err(error) = store::delete(self.services.db, &self.principal.org_id, &id) {
            eprintln!("files: deleting failed upload {id} failed: {error}");
        }
    }
}

/// Reads a `multipart/form-data` body and stores its `file` part.
struct FormReader<'u, 'a> {
    upload: &'u mut Upload<'a>,
    writer: Option<ChunkWriter<'a>>,
    in_file_part: bool,
    /// Content bytes of parts other than `file`, which are discarded.
    other_bytes: u64,
}

impl<'u, 'a> FormReader<'u, 'a> {
    fn new(upload: &'u mut Upload<'a>) -> Self {
        FormReader {
            upload,
            writer: None,
            in_file_part: false,
            other_bytes: 0,
        }
    }

    fn read(
        mut self,
        boundary: &multipart::Boundary,
        body: &mut LimitedBody,
    ) -> Result<FileId, ApiError> {
        let mut parser = Parser::new(boundary);
        while let Some(chunk) = body.next_chunk()? {
            parser.feed(&chunk, |event| self.handle(event))?;
        }
        parser.finish()?;

        let writer = self.writer.take().ok_or_else(|| {
            ApiError::bad_request(
                "missing_file",
                format!("multipart body has no part named \"{FILE_FIELD}\""),
            )
        })?;
        self.upload.complete_file(writer)
    }

    fn handle(&mut self, event: Event<'_>) -> Result<(), ApiError> {
        match event {
            Event::PartStart(headers) if headers.name == FILE_FIELD => {
                if self.writer.is_some() {
                    return Err(ApiError::bad_request(
                        "duplicate_file_part",
                        format!(
                            "multipart body has more than one part named \"{FILE_FIELD}\"; \
                             send exactly one"
                        ),
                    ));
                }
                let filename = Filename::sanitize_or_default(headers.filename.as_deref());
                let declared = declared_type(headers.content_type.as_deref());
                self.writer = Some(self.upload.start_file(&filename, declared)?);
                self.in_file_part = true;
            }
            Event::PartStart(_) | Event::PartEnd => self.in_file_part = false,
            Event::Data(bytes) if self.in_file_part => {
                if let Some(writer) = &mut self.writer {
                    writer.write(bytes)?;
                }
            }
            Event::Data(bytes) => {
                self.other_bytes += bytes.len() as u64;
                if self.other_bytes > MULTIPART_OVERHEAD_BYTES {
                    return Err(ApiError::PayloadTooLarge {
                        message: format!(
                            "form fields other than \"{FILE_FIELD}\" are larger than the limit \
                             of {MULTIPART_OVERHEAD_BYTES} bytes"
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Names a raw upload: `?filename=` first, then the `filename*` or
/// `filename` of a `Content-Disposition` header, else the default.
fn raw_filename(request: &Request) -> Result<Filename, ApiError> {
    if let Some(name) = request.query_param("filename") {
        return Ok(Filename::sanitize(&name));
    }

    let Some(header) = request.headers.get("content-disposition") else {
        return Ok(Filename::sanitize_or_default(None));
    };
    let disposition = ContentDisposition::parse(header).map_err(|message| {
        ApiError::bad_request(
            "invalid_content_disposition",
            format!("invalid Content-Disposition header: {message}"),
        )
    })?;
    Ok(Filename::sanitize_or_default(
        disposition.filename.as_deref(),
    ))
}

/// Normalizes the client's declared media type for storage: trimmed,
/// printable ASCII, at most 255 bytes. Anything else is dropped rather than rejected,
/// because the type is informational and processing sniffs the real one.
fn declared_type(value: Option<&str>) -> Option<String> {
    let value = value?.trim();
    let printable = value.bytes().all(|byte| (b' '..=b'~').contains(&byte));
    if value.is_empty() || value.len() > MAX_DECLARED_TYPE_BYTES || !printable {
        return None;
    }
    Some(value.to_owned())
}

/// Publishes the file on the uploads channel, or processes it now in
/// inline mode. Neither failure fails the upload: the file is stored and
/// `pending`, and the recovery of stale files processes it later.
///
/// Inline mode has no processor component, so the upload also does the
/// processor's recovery work: it processes a few stale files and deletes
/// abandoned uploads.
fn hand_to_processing(services: &Services, id: &FileId) {
    match services.config.processing_mode {
        ProcessingMode::Redis => publish(services, id),
        ProcessingMode::Inline => {
            let settings = ProcessingSettings::from_config(&services.config);
            let payload = id.as_str().as_bytes();
            let outcome = processing::handle_message_and_recover(
                services.db,
                services.clock,
                &settings,
                payload,
            );
            if let Err(error) = outcome {
                eprintln!("files: inline processing of file {id} failed: {error}");
            }
        }
    }
}

fn publish(services: &Services, id: &FileId) {
    let channel = &services.config.redis_channel;
    let Some(publisher) = services.publisher else {
        eprintln!("files: no Redis publisher is configured, file {id} waits for recovery");
        return;
    };
    if let Err(error) = publisher.publish(channel, id.as_str().as_bytes()) {
        eprintln!("files: publishing file {id} on channel {channel} failed: {error}");
    }
}

#[cfg(test)]
#[path = "upload_tests.rs"]
mod tests;
