//! Processing of stored uploads: claim, hash, sniff the MIME type and mark
//! the file ready.
