//! MIME type detection from a file's bytes, fed while they stream by.

use crate::processing::compound::CompoundProbe;
use crate::processing::markup::markup_type;

/// The number of leading bytes kept for detection. `infer` reads
/// signatures near the start, but recognising OOXML documents (docx, xlsx,
/// pptx) scans for up to three ZIP entry headers within 6,000 bytes of each
/// other, so 8 KiB is not always enough and 16 KiB is.
pub const HEAD_LEN: usize = 16 * 1024;

/// The type given to a file of zero bytes. `text/plain` would also be
/// true, but `application/x-empty` (libmagic's name) shows a client that
/// there is nothing to open.
pub const EMPTY_MIME_TYPE: &str = "application/x-empty";

/// The type of text in UTF-8 (which includes ASCII) that no signature
/// matched.
pub const TEXT_MIME_TYPE: &str = "text/plain";

/// The type of bytes that are neither a known format nor text.
pub const BINARY_MIME_TYPE: &str = "application/octet-stream";

/// Detects the MIME type of a stream of bytes, keeping only its head.
#[derive(Debug, Default)]
pub struct Sniffer {
    head: Vec<u8>,
    total: u64,
    compound: CompoundProbe,
}

impl Sniffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        let room = HEAD_LEN.saturating_sub(self.head.len());
        let kept = bytes.len().min(room);
        self.head.extend_from_slice(&bytes[..kept]);

        self.compound.read_header(&self.head);
        self.compound.update(self.total, bytes);
        self.total += bytes.len() as u64;
    }

    /// Returns the MIME type of all bytes fed so far.
    pub fn mime_type(&self) -> String {
        if self.total == 0 {
            return EMPTY_MIME_TYPE.to_owned();
        }
        // Before `infer`, whose HTML and XML matchers skip no byte order
        // mark and know no SVG. No binary signature starts with `<`.
        if let Some(mime_type) = markup_type(&self.head) {
            return mime_type.to_owned();
        }
        if let Some(kind) = infer::get(&self.head) {
            let mime_type = match kind.mime_type() {
                "application/x-ole-storage" => self.compound.office_type(),
                _ => None,
            };
            return mime_type.unwrap_or(kind.mime_type()).to_owned();
        }

        let truncated = self.total > self.head.len() as u64;
        if is_text(&self.head, truncated) {
            TEXT_MIME_TYPE.to_owned()
        } else {
            BINARY_MIME_TYPE.to_owned()
        }
    }
}

/// Returns whether `head` is UTF-8 text without control characters other
/// than tab, line feed, carriage return and form feed. When the head was
/// cut from a longer file (`truncated`), a multi-byte character cut at its
/// end is allowed.
fn is_text(head: &[u8], truncated: bool) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // `error_len() == None` means the input ended inside a character.
        Err(error) if truncated && error.error_len().is_none() => {
            match std::str::from_utf8(&head[..error.valid_up_to()]) {
                Ok(text) => text,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };

    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processing::compound;

    fn sniff(bytes: &[u8]) -> String {
        let mut sniffer = Sniffer::new();
        sniffer.update(bytes);
        sniffer.mime_type()
    }

    #[test]
    fn empty_input_is_x_empty() {
        assert_eq!(Sniffer::new().mime_type(), "application/x-empty");
    }

    #[test]
    fn ascii_and_umlauts_are_text() {
        assert_eq!(sniff(b"hello\r\nworld\t!\n"), "text/plain");
        assert_eq!(
            sniff("Grüße aus Köln, naïve café\n".as_bytes()),
            "text/plain"
        );
    }

    #[test]
    fn nul_byte_is_binary() {
        assert_eq!(sniff(b"hello\0world"), "application/octet-stream");
    }

    #[test]
    fn control_characters_are_binary() {
        assert_eq!(sniff(b"abc\x07def"), "application/octet-stream");
        assert_eq!(sniff(b"abc\x7fdef"), "application/octet-stream");
        assert_eq!(sniff("abc\u{85}def".as_bytes()), "application/octet-stream");
    }

    #[test]
    fn invalid_utf8_is_binary() {
        assert_eq!(sniff(&[b'a', 0xff, 0xfe, b'b']), "application/octet-stream");
    }

    #[test]
    fn character_cut_at_head_end_is_text() {
        // 'ü' is two bytes (0xc3 0xbc); the head ends after the first one.
        let mut bytes = vec![b'a'; HEAD_LEN - 1];
        bytes.extend_from_slice("üb".as_bytes());
        assert_eq!(sniff(&bytes), "text/plain");
    }

    #[test]
    fn character_cut_at_file_end_is_binary() {
        let mut bytes = b"abc".to_vec();
        bytes.push(0xc3);
        assert_eq!(sniff(&bytes), "application/octet-stream");
    }

    #[test]
    fn head_keeps_only_leading_bytes() {
        let mut sniffer = Sniffer::new();
        sniffer.update(&vec![b'a'; HEAD_LEN + 10]);
        sniffer.update(b"\0\0\0");
        assert_eq!(sniffer.head.len(), HEAD_LEN);
        assert_eq!(sniffer.total, HEAD_LEN as u64 + 13);
        assert_eq!(sniffer.mime_type(), "text/plain");
    }

    #[test]
    fn large_word_document_is_msword() {
        let bytes = compound::test_compound_file(40, compound::WORD_CLSID, 24 * 1024);
        let mut sniffer = Sniffer::new();

        for chunk in bytes.chunks(1000) {
            sniffer.update(chunk);
        }

        assert_eq!(sniffer.mime_type(), "application/msword");
    }

    #[test]
    fn compound_file_of_unknown_kind_is_ole_storage() {
        let bytes = compound::test_compound_file(40, [7; 16], 24 * 1024);

        assert_eq!(sniff(&bytes), "application/x-ole-storage");
    }

    #[test]
    fn markup_in_text_is_not_plain_text() {
        let cases: [(&[u8], &str); 6] = [
            (b"\xef\xbb\xbf<html><script>1</script></html>", "text/html"),
            (b"  <!DOCTYPE html>\n<p>hi", "text/html"),
            (
                b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
                "image/svg+xml",
            ),
            (b"<?xml version=\"1.0\"?>\n<svg/>", "image/svg+xml"),
            (b"<?xml version=\"1.0\"?>\n<note/>", "application/xml"),
            (b"plain text that mentions <html>", "text/plain"),
        ];

        for (bytes, expected) in cases {
            assert_eq!(
                sniff(bytes),
                expected,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn signature_split_across_updates_is_found() {
        let mut sniffer = Sniffer::new();
        sniffer.update(b"%P");
        sniffer.update(b"DF-1.7\n");
        assert_eq!(sniffer.mime_type(), "application/pdf");
    }
}
