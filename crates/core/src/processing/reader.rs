//! Reading a stored file chunk by chunk, hashing and sniffing as it goes.

use sha2::{Digest, Sha256};

use crate::processing::sniff::Sniffer;
use crate::processing::state::Claim;
use crate::storage::{Database, StorageError};

/// The size, MIME type and SHA-256 computed from a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub size: i64,
    pub mime_type: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
}

/// A reason the stored bytes could not be read in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The database failed while reading a chunk.
    #[error("reading chunk {seq} failed: {source}")]
    Storage { seq: i64, source: StorageError },
    /// A chunk below the file's chunk count has no row.
    #[error("chunk {seq} of {chunk_count} is missing")]
    MissingChunk { seq: i64, chunk_count: i64 },
    /// A chunk's `data` column is not a blob.
    #[error("chunk {seq} holds no bytes")]
    NotBlob { seq: i64 },
    /// The upload completed without recording the file's size.
    #[error("the file has no recorded size")]
    MissingSize,
    /// The chunks add up to another size than the one recorded.
    #[error("the chunks hold {actual} bytes but the file records {expected}")]
    SizeMismatch { expected: i64, actual: i64 },
}

impl ReadError {
    /// Describes the error for the file's owner: the detail of a storage
    /// failure stays in the logs and `last_error`.
    pub fn public_message(&self) -> String {
        match self {
            ReadError::Storage { .. } => "the stored bytes could not be read".to_owned(),
            other => format!("the stored bytes are damaged: {other}"),
        }
    }
}

/// Reads the chunks of the claimed file in order, one row in memory at a
/// time, and returns its size, MIME type and SHA-256.
pub fn read_metadata(db: &dyn Database, claim: &Claim) -> Result<Metadata, ReadError> {
    let expected_size = claim.size.ok_or(ReadError::MissingSize)?;
    let mut hasher = Sha256::new();
    let mut sniffer = Sniffer::new();
    let mut size: i64 = 0;

    for seq in 0..claim.chunk_count {
        let chunk = read_chunk(db, &claim.file_id, seq, claim.chunk_count)?;
        hasher.update(&chunk);
        sniffer.update(&chunk);
        size = size.saturating_add(chunk.len() as i64);
    }

    if size != expected_size {
        return Err(ReadError::SizeMismatch {
            expected: expected_size,
            actual: size,
        });
    }
    Ok(Metadata {
        size,
        mime_type: sniffer.mime_type(),
        sha256: hex::encode(hasher.finalize()),
    })
}

fn read_chunk(
    db: &dyn Database,
    file_id: &str,
    seq: i64,
    chunk_count: i64,
) -> Result<Vec<u8>, ReadError> {
    let rows = db
        .execute(
            "SELECT data FROM file_chunks WHERE file_id = ? AND seq = ?",
            &[file_id.into(), seq.into()],
        )
        .map_err(|source| ReadError::Storage { seq, source })?;

    let row = rows
        .rows
        .into_iter()
        .next()
        .ok_or(ReadError::MissingChunk { seq, chunk_count })?;
    match row.into_iter().next() {
        Some(crate::storage::SqlValue::Blob(data)) => Ok(data),
        _ => Err(ReadError::NotBlob { seq }),
    }
}
