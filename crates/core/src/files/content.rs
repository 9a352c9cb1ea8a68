//! GET /files/{id}/content: the download response and the streaming of a
//! file's chunk rows into it.

use crate::error::ApiError;
use crate::files::model::{FileRecord, FileStatus};
use crate::http::{Body, BodyWriter, FileContent, Response};
use crate::storage::Database;

/// Types served under their own name. Every other type is served as
/// `application/octet-stream`, so no stored file can be rendered as HTML,
/// SVG, XML or script by a browser that ignores `Content-Disposition`.
/// An allow-list fails safe when processing learns a new active type.
const PASSIVE_TYPES: &[&str] = &[
    "application/gzip",
    "application/json",
    "application/pdf",
    "application/zip",
    "image/avif",
    "image/bmp",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/webp",
    "text/csv",
];

/// Builds the download response of a `ready` file. Any other status is
/// 409 `file_not_ready` naming the status.
///
/// The body is [`Body::File`]; the component streams it with
/// [`write_content`]. Headers: the served type (see [`served_type`]),
/// `Content-Length`, `X-Content-Type-Options: nosniff`, a
/// `Content-Security-Policy` sandbox in case the file is opened anyway,
/// an RFC 6266 attachment disposition, and `Cache-Control: private,
/// no-store` because the content belongs to one organization and can be
/// deleted at any time.
pub fn download_response(record: &FileRecord) -> Result<Response, ApiError> {
    if record.status != FileStatus::Ready {
        return Err(ApiError::conflict(
            "file_not_ready",
            format!(
                "file is {}; only ready files can be downloaded",
                record.status.as_str()
            ),
        ));
    }
    let size = record
        .size
        .ok_or_else(|| ApiError::internal(format!("ready file {} has no size", record.id)))?;

    let mut response = Response::new(200)
        .with_header("content-type", served_type(record.mime_type.as_deref()))
        .with_header("content-length", size.to_string())
        .with_header(
            "content-disposition",
            attachment_disposition(record.filename.as_str()),
        )
        .with_header("x-content-type-options", "nosniff")
        .with_header("content-security-policy", "default-src 'none'; sandbox")
        .with_header("cache-control", "private, no-store");
    response.body = Body::File(FileContent {
        file_id: record.id.clone(),
        org_id: record.org_id.clone(),
        chunk_count: record.chunk_count,
    });
    Ok(response)
}

/// Returns the `Content-Type` of a download: `text/plain; charset=utf-8`
/// for plain text, the detected type when it is in the passive list or is
/// audio or video, and `application/octet-stream` for everything else,
/// including unknown and active types such as `text/html` and
/// `image/svg+xml`.
pub fn served_type(mime_type: Option<&str>) -> String {
    let essence = mime_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();

    if essence == "text/plain" {
        return "text/plain; charset=utf-8".to_owned();
    }
    let is_media = essence.starts_with("audio/") || essence.starts_with("video/");
    if is_media || PASSIVE_TYPES.contains(&essence.as_str()) {
        return essence;
    }
    "application/octet-stream".to_owned()
}

/// Returns `attachment; filename="..."; filename*=UTF-8''...` (RFC 6266,
/// RFC 8187). `filename` is an ASCII fallback for old clients: characters
/// outside printable ASCII, quotes, backslashes and `%` become `_`.
/// `filename*` carries the exact name, percent-encoded.
pub fn attachment_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|character| match character {
            '"' | '\\' | '%' => '_',
            ' '..='~' => character,
            _ => '_',
        })
        .collect();

    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        encode_ext_value(filename)
    )
}

/// Percent-encodes every byte outside RFC 8187's `attr-char` set.
fn encode_ext_value(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        let is_attr_char = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte);
        if is_attr_char {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Writes a file's content to `writer`, reading one chunk row at a time
/// in sequence order, so at most one chunk (1 MiB) is in memory.
///
/// Each read also checks the file's organization, so content is only
/// written for the organization the response was built for. A missing
/// chunk or a failed write is an internal error; the status line has
/// been sent by then, so the component can only log it and end the body.
pub fn write_content(
    db: &dyn Database,
    content: &FileContent,
    writer: &mut dyn BodyWriter,
) -> Result<(), ApiError> {
    for seq in 0..content.chunk_count {
        let rows = db.execute(
            "SELECT file_chunks.data FROM file_chunks \
             JOIN files ON files.id = file_chunks.file_id \
             WHERE file_chunks.file_id = ? AND file_chunks.seq = ? AND files.org_id = ?",
            &[
                content.file_id.as_str().into(),
                seq.into(),
                content.org_id.as_str().into(),
            ],
        )?;
        let data = rows
            .rows
            .first()
            .and_then(|row| row.first())
            .and_then(|value| value.as_blob())
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "chunk {seq} of file {} is missing",
                    content.file_id
                ))
            })?;

        writer.write_all(data).map_err(|error| {
            ApiError::internal(format!(
                "writing chunk {seq} of file {} failed: {error}",
                content.file_id
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::model::FileId;
    use crate::files::test_support::{insert_file, insert_principal};
    use crate::files::{details, Filename};
    use crate::testing::TestEnv;

    fn ready_record(filename: &str, mime_type: Option<&str>) -> FileRecord {
        FileRecord {
            id: crate::ids::new_id(),
            org_id: crate::ids::new_id(),
            uploaded_by: crate::ids::new_id(),
            filename: Filename::sanitize(filename),
            declared_type: None,
            status: FileStatus::Ready,
            size: Some(3),
            chunk_count: 1,
            mime_type: mime_type.map(str::to_owned),
            sha256: None,
            status_reason: None,
            attempts: 1,
            last_error: None,
            created_at: 0,
            updated_at: 0,
            processed_at: Some(0),
            claimed_at: None,
            next_attempt_at: None,
        }
    }

    #[test]
    fn download_headers_encode_non_ascii_and_quotes() {
        let record = ready_record("Ünï \"quoted\" 100%.pdf", Some("application/pdf"));

        let response = download_response(&record).unwrap();

        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-disposition"),
            Some(
                "attachment; filename=\"_n_ _quoted_ 100_.pdf\"; \
                 filename*=UTF-8''%C3%9Cn%C3%AF%20%22quoted%22%20100%25.pdf"
            )
        );
        assert_eq!(response.header("content-type"), Some("application/pdf"));
        assert_eq!(response.header("content-length"), Some("3"));
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("cache-control"), Some("private, no-store"));
        assert_eq!(
            response.body,
            Body::File(FileContent {
                file_id: record.id.clone(),
                org_id: record.org_id.clone(),
                chunk_count: 1,
            })
        );
    }

    #[test]
    fn active_types_are_served_as_binary() {
        for active in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/xml",
            "text/javascript",
            "application/javascript",
            "application/x-shockwave-flash",
            "multipart/x-mixed-replace",
        ] {
            assert_eq!(
                served_type(Some(active)),
                "application/octet-stream",
                "{active}"
            );
        }
        assert_eq!(served_type(None), "application/octet-stream");
    }

    #[test]
    fn passive_types_keep_their_name() {
        assert_eq!(served_type(Some("image/png")), "image/png");
        assert_eq!(served_type(Some("Application/PDF")), "application/pdf");
        assert_eq!(served_type(Some("video/mp4")), "video/mp4");
        assert_eq!(served_type(Some("text/plain")), "text/plain; charset=utf-8");
        assert_eq!(
            served_type(Some("text/plain; charset=iso-8859-1")),
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn file_not_ready_is_a_conflict() {
        let mut record = ready_record("a.txt", Some("text/plain"));
        record.status = FileStatus::Pending;

        let error = download_response(&record).unwrap_err();

        assert_eq!(error.status(), 409);
        assert_eq!(error.code(), "file_not_ready");
        assert!(error.to_string().contains("pending"), "{error}");
    }

    #[test]
    fn content_of_another_organization_is_not_written() {
        let env = TestEnv::new();
        let owner = insert_principal(&env, "acme");
        let id = insert_file(&env, &owner, FileStatus::Ready, 1);
        let content = FileContent {
            file_id: id,
            org_id: crate::ids::new_id(),
            chunk_count: 1,
        };

        let mut output = Vec::new();
        let error = write_content(&env.db, &content, &mut output).unwrap_err();

        assert_eq!(error.status(), 500);
        assert!(output.is_empty());
    }

    #[test]
    fn download_of_ready_file_streams_its_chunks() {
        let env = TestEnv::new();
        let principal = insert_principal(&env, "acme");
        let id = insert_file(&env, &principal, FileStatus::Ready, 1);

        let response = details::download(&env.db, &principal, &id).unwrap();

        let Body::File(content) = &response.body else {
            panic!("expected a file body, got {:?}", response.body);
        };
        let mut output = Vec::new();
        write_content(&env.db, content, &mut output).unwrap();
        assert_eq!(output, b"abc");
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(FileId::parse(&content.file_id).is_ok());
    }
}
