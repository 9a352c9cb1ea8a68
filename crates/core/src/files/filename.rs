//! Filenames as display data: what a client sent, made safe to show and
//! to offer back in a download.

use std::fmt;

/// The maximum filename length in bytes of UTF-8. ext4 allows 255 bytes
/// per name and NTFS 255 UTF-16 units, so a downloaded file can be saved
/// under its name.
pub const MAX_FILENAME_BYTES: usize = 255;

/// The name given to an upload whose filename is missing or empty after
/// sanitizing, or is `.` or `..`. A fixed word keeps names free of ids,
/// which the file's URL already carries.
pub const DEFAULT_FILENAME: &str = "upload";

/// A sanitized filename: no path parts, no control characters, no
/// surrounding whitespace, at most [`MAX_FILENAME_BYTES`] bytes, never
/// empty, `.` or `..`. Other UTF-8 is kept as sent.
///
/// Filenames are display data only. Storage is keyed by file ids, so no
/// value of this type ever reaches a path or an SQL identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filename(String);

impl Filename {
    /// Sanitizes a client's filename. Never fails: what cannot be kept is
    /// removed, and a name with nothing left becomes [`DEFAULT_FILENAME`].
    pub fn sanitize(raw: &str) -> Filename {
        // Clients on Windows may send `C:\dir\name`, others `dir/name`;
        // only the last component is the file's name.
        let last_component = raw.rsplit(['/', '\\']).next().unwrap_or(raw);

        let visible: String = last_component
            .chars()
            .filter(|&character| !is_removed(character))
            .collect();
        let bounded = truncate_to_bytes(visible.trim(), MAX_FILENAME_BYTES).trim();

        match bounded {
            "" | "." | ".." => Filename(DEFAULT_FILENAME.to_owned()),
            name => Filename(name.to_owned()),
        }
    }

    /// Wraps a name read back from the database, which was sanitized when
    /// it was stored.
    pub(crate) fn from_stored(name: String) -> Filename {
        Filename(name)
    }

    /// Returns the name with [`DEFAULT_FILENAME`] when `raw` is `None`.
    pub fn sanitize_or_default(raw: Option<&str>) -> Filename {
        Filename::sanitize(raw.unwrap_or(""))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Filename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Control characters (C0, DEL, C1, which includes NUL) and the Unicode
/// bidirectional controls, which can make `gpj.exe` display as
/// `exe.jpg`.
fn is_removed(character: char) -> bool {
    character.is_control()
        || matches!(character, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Cuts `text` to at most `max_bytes` bytes on a character boundary.
fn truncate_to_bytes(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sanitized(raw: &str) -> String {
        Filename::sanitize(raw).as_str().to_owned()
    }

    #[test]
    fn plain_name_is_kept() {
        assert_eq!(sanitized("report 2026.pdf"), "report 2026.pdf");
    }

    #[test]
    fn unix_path_parts_are_stripped() {
        assert_eq!(sanitized("../../etc/passwd"), "passwd");
    }

    #[test]
    fn windows_path_parts_are_stripped() {
        assert_eq!(sanitized(r"C:\Users\ana\My Report.docx"), "My Report.docx");
        assert_eq!(sanitized(r"..\..\boot.ini"), "boot.ini");
    }

    #[test]
    fn dot_names_become_default() {
        assert_eq!(sanitized(".."), DEFAULT_FILENAME);
        assert_eq!(sanitized("."), DEFAULT_FILENAME);
        assert_eq!(sanitized("a/.."), DEFAULT_FILENAME);
        assert_eq!(sanitized("../"), DEFAULT_FILENAME);
    }

    #[test]
    fn empty_and_blank_names_become_default() {
        assert_eq!(sanitized(""), DEFAULT_FILENAME);
        assert_eq!(sanitized("  \t "), DEFAULT_FILENAME);
        assert_eq!(sanitized("\0\u{7}"), DEFAULT_FILENAME);
        assert_eq!(
            Filename::sanitize_or_default(None).as_str(),
            DEFAULT_FILENAME
        );
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(sanitized("a\0b\r\nc\u{7f}d\u{85}.txt"), "abcd.txt");
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert_eq!(sanitized("invoice\u{202E}gpj.exe"), "invoicegpj.exe");
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(sanitized("  notes.txt \t"), "notes.txt");
    }

    #[test]
    fn unicode_is_kept() {
        assert_eq!(sanitized("Ünïcødé ©.txt"), "Ünïcødé ©.txt");
        assert_eq!(sanitized("报告.pdf"), "报告.pdf");
    }

    #[test]
    fn long_name_is_cut_on_char_boundary() {
        // 'é' is two bytes, so 200 of them are 400 bytes; 255 is odd, so
        // the cut falls inside a character and must step back.
        let name = sanitized(&"é".repeat(200));
        assert_eq!(name.len(), 254);
        assert!(name.chars().all(|character| character == 'é'));
    }

    #[test]
    fn long_ascii_name_is_cut_to_limit() {
        assert_eq!(sanitized(&"a".repeat(1000)).len(), MAX_FILENAME_BYTES);
    }
}
