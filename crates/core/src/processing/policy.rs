//! The allow-list of MIME types a processed file may have.

use std::fmt;

/// The types allowed when the `allowed_mime_types` variable is not set.
///
/// Images, audio, video, PDF, plain text, office documents, e-books and
/// archives are the files people exchange. `application/octet-stream`
/// (bytes no signature matches and that are not text) is allowed because
/// downloads are always sent as attachments with `nosniff`, so unknown data
/// is never rendered, and data files without a signature are common.
/// Executables, HTML, XML (SVG included) and shell scripts are not
/// allowed: a file store has no reason to hold them by default.
pub const DEFAULT_ALLOWED_MIME_TYPES: &str = "image/*, audio/*, video/*, \
    application/pdf, text/plain, application/rtf, \
    application/msword, application/vnd.ms-excel, application/vnd.ms-powerpoint, \
    application/vnd.openxmlformats-officedocument.*, application/vnd.oasis.opendocument.*, \
    application/epub+zip, \
    application/zip, application/gzip, application/x-tar, application/x-bzip2, \
    application/x-xz, application/zstd, application/x-7z-compressed, application/vnd.rar, \
    application/x-empty, application/octet-stream";

/// Types that an entry ending in `*` never matches: only an exact entry
/// or `*` allows them. SVG is an image type but a document in which a
/// browser runs scripts, and `image/*` is meant for pictures.
const EXACT_ENTRY_ONLY: [&str; 1] = ["image/svg+xml"];

/// A list of allowed MIME types. An entry is an exact type
/// (`application/pdf`), a prefix ending in `*` (`image/*`,
/// `application/vnd.oasis.opendocument.*`) or `*` for every type. A prefix
/// does not match the types in [`EXACT_ENTRY_ONLY`]. Matching ignores
/// ASCII case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimePolicy {
    patterns: Vec<MimePattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MimePattern {
    Any,
    Prefix(String),
    Exact(String),
}

/// An entry of an allow-list that is not a MIME type or pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMimePolicy {
    /// The list has no entries, which would reject every file.
    #[error("the list of allowed MIME types is empty")]
    Empty,
    /// One entry is not `type/subtype`, `type/prefix*` or `*`.
    #[error("invalid MIME type pattern {entry:?}: expected type/subtype, type/* or *")]
    InvalidEntry { entry: String },
}

impl MimePolicy {
    /// Parses a comma-separated list of types and patterns, such as
    /// `image/*, application/pdf`. Whitespace around entries is ignored.
    pub fn parse(list: &str) -> Result<MimePolicy, InvalidMimePolicy> {
        let patterns = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(parse_pattern)
            .collect::<Result<Vec<_>, _>>()?;

        if patterns.is_empty() {
            return Err(InvalidMimePolicy::Empty);
        }
        Ok(MimePolicy { patterns })
    }

    /// Returns whether files of `mime_type` may become ready.
    pub fn allows(&self, mime_type: &str) -> bool {
        let mime_type = mime_type.to_ascii_lowercase();
        let exact_only = EXACT_ENTRY_ONLY.contains(&mime_type.as_str());
        self.patterns.iter().any(|pattern| match pattern {
            MimePattern::Any => true,
            MimePattern::Prefix(prefix) => !exact_only && mime_type.starts_with(prefix.as_str()),
            MimePattern::Exact(exact) => mime_type == *exact,
        })
    }
}

impl Default for MimePolicy {
    fn default() -> Self {
        MimePolicy::parse(DEFAULT_ALLOWED_MIME_TYPES)
            .expect("the default list of allowed MIME types is valid")
    }
}

impl fmt::Display for MimePolicy {
    /// Writes the list in the form [`MimePolicy::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, pattern) in self.patterns.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            match pattern {
                MimePattern::Any => f.write_str("*")?,
                MimePattern::Prefix(prefix) => write!(f, "{prefix}*")?,
                MimePattern::Exact(exact) => f.write_str(exact)?,
            }
        }
        Ok(())
    }
}

fn parse_pattern(entry: &str) -> Result<MimePattern, InvalidMimePolicy> {
    let invalid = || InvalidMimePolicy::InvalidEntry {
        entry: entry.to_owned(),
    };
    let lowercase = entry.to_ascii_lowercase();

    if lowercase == "*" || lowercase == "*/*" {
        return Ok(MimePattern::Any);
    }

    let (kind, subtype) = lowercase.split_once('/').ok_or_else(invalid)?;
    if !is_token(kind) {
        return Err(invalid());
    }

    match subtype.strip_suffix('*') {
        Some(prefix) if prefix.is_empty() || is_token(prefix) => {
            Ok(MimePattern::Prefix(format!("{kind}/{prefix}")))
        }
        Some(_) => Err(invalid()),
        None if is_token(subtype) => Ok(MimePattern::Exact(lowercase)),
        None => Err(invalid()),
    }
}

/// Checks the characters RFC 6838 allows in a type or subtype name.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|byte| {
            byte.is_ascii_alphanumeric()
                || matches!(
                    byte,
                    b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_allows_common_documents() {
        let policy = MimePolicy::default();
        for allowed in [
            "image/png",
            "image/jpeg",
            "application/pdf",
            "text/plain",
            "application/zip",
            "application/gzip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/x-empty",
            "application/octet-stream",
        ] {
            assert!(policy.allows(allowed), "{allowed} should be allowed");
        }
    }

    #[test]
    fn default_policy_rejects_executables_and_markup() {
        let policy = MimePolicy::default();
        for rejected in [
            "application/vnd.microsoft.portable-executable",
            "application/x-executable",
            "application/x-mach-binary",
            "application/wasm",
            "text/html",
            "text/x-shellscript",
            "image/svg+xml",
            "application/xml",
            "text/xml",
            "application/xhtml+xml",
        ] {
            assert!(!policy.allows(rejected), "{rejected} should be rejected");
        }
    }

    #[test]
    fn wildcard_matches_whole_type() {
        let policy = MimePolicy::parse("image/*").unwrap();
        assert!(policy.allows("image/webp"));
        assert!(!policy.allows("imagex/webp"));
        assert!(!policy.allows("application/pdf"));
    }

    #[test]
    fn svg_needs_an_exact_entry() {
        for list in ["image/*", "image/svg*", "image/svg+xml*"] {
            let policy = MimePolicy::parse(list).unwrap();
            assert!(!policy.allows("image/svg+xml"), "{list}");
        }
        assert!(MimePolicy::parse("image/png, image/svg+xml")
            .unwrap()
            .allows("IMAGE/SVG+XML"));
        assert!(MimePolicy::parse("*").unwrap().allows("image/svg+xml"));
    }

    #[test]
    fn subtype_prefix_matches() {
        let policy = MimePolicy::parse("application/vnd.oasis.opendocument.*").unwrap();
        assert!(policy.allows("application/vnd.oasis.opendocument.text"));
        assert!(!policy.allows("application/vnd.ms-excel"));
    }

    #[test]
    fn star_allows_everything() {
        let policy = MimePolicy::parse("*").unwrap();
        assert!(policy.allows("application/x-executable"));
    }

    #[test]
    fn matching_ignores_case_and_spaces() {
        let policy = MimePolicy::parse("  Application/PDF ,text/plain,").unwrap();
        assert!(policy.allows("application/pdf"));
        assert!(policy.allows("TEXT/PLAIN"));
        assert_eq!(policy.to_string(), "application/pdf, text/plain");
    }

    #[test]
    fn empty_list_is_rejected() {
        assert_eq!(MimePolicy::parse(" , "), Err(InvalidMimePolicy::Empty));
    }

    #[test]
    fn malformed_entries_are_rejected() {
        for entry in [
            "image",
            "/png",
            "image/",
            "image/p ng",
            "ima*ge/png",
            "image/*png",
        ] {
            let error = MimePolicy::parse(entry).unwrap_err();
            assert_eq!(
                error,
                InvalidMimePolicy::InvalidEntry {
                    entry: entry.to_owned()
                },
                "{entry:?} should be rejected"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        let policy = MimePolicy::default();
        assert_eq!(MimePolicy::parse(&policy.to_string()).unwrap(), policy);
    }
}
