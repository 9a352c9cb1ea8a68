//! Recognising markup at the start of a file: HTML, SVG and other XML.
//!
//! Such files are text, so without this step they would be typed
//! `text/plain` and pass the allow-list, although a browser that is given
//! one may render it and run its scripts. The rules follow WHATWG MIME
//! Sniffing, "identify an unknown MIME type" (section 7.1 of the living
//! standard), and go further where that algorithm lets markup through:
//!
//! - a UTF-8 byte order mark before the markup is skipped;
//! - a tag name may also end with a tab, line feed, form feed, carriage
//!   return or `/`, as in an HTML parser, not only with a space or `>`;
//! - comments, processing instructions and a document type declaration
//!   are skipped to find the root element, so an SVG document that starts
//!   with `<?xml` or `<!-- ... -->` is `image/svg+xml`.

pub const HTML_MIME_TYPE: &str = "text/html";
pub const SVG_MIME_TYPE: &str = "image/svg+xml";
pub const XHTML_MIME_TYPE: &str = "application/xhtml+xml";
pub const XML_MIME_TYPE: &str = "application/xml";

/// The element names that WHATWG MIME Sniffing's table of HTML patterns
/// lists (besides `<!DOCTYPE HTML` and `<!--`), compared ignoring ASCII
/// case.
const HTML_ELEMENTS: [&[u8]; 15] = [
    b"html", b"head", b"script", b"iframe", b"h1", b"div", b"font", b"table", b"a", b"style",
    b"title", b"b", b"body", b"br", b"p",
];

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Returns the markup type of a file that starts with `head`, or `None`
/// when it does not start with markup.
///
/// NOTE: text in UTF-16 is not decoded, so UTF-16 markup is not found
/// here; the sniffer types it `application/octet-stream`, which downloads
/// never render.
pub fn markup_type(head: &[u8]) -> Option<&'static str> {
    let start = skip_whitespace(head.strip_prefix(UTF8_BOM).unwrap_or(head));
    if !start.starts_with(b"<") {
        return None;
    }

    let prolog = Prolog::skip(start);
    let root = element_name(prolog.rest);
    let root_is = |name: &[u8]| root.is_some_and(|root| root.eq_ignore_ascii_case(name));

    if root_is(b"svg") {
        Some(SVG_MIME_TYPE)
    } else if root_is(b"html") && prolog.xml_declaration {
        Some(XHTML_MIME_TYPE)
    } else if prolog.xml_declaration {
        Some(XML_MIME_TYPE)
    } else if root.is_some_and(is_html_element) || prolog.html_doctype || prolog.comment {
        Some(HTML_MIME_TYPE)
    } else if prolog.doctype {
        Some(XML_MIME_TYPE)
    } else {
        None
    }
}

/// The part of a document before its root element: an XML declaration,
/// comments, processing instructions, a document type declaration and
/// whitespace.
struct Prolog<'a> {
    /// The bytes after the prolog, where the root element starts.
    rest: &'a [u8],
    /// Whether the file starts with `<?xml`.
    xml_declaration: bool,
    /// Whether the prolog contains a comment.
    comment: bool,
    /// Whether the prolog contains `<!DOCTYPE`.
    doctype: bool,
    /// Whether the document type is `html`.
    html_doctype: bool,
}

impl<'a> Prolog<'a> {
    fn skip(start: &'a [u8]) -> Prolog<'a> {
        let mut prolog = Prolog {
            rest: start,
            xml_declaration: starts_with_ignore_case(start, b"<?xml"),
            comment: false,
            doctype: false,
            html_doctype: false,
        };
        loop {
            let text = skip_whitespace(prolog.rest);
            let after = if text.starts_with(b"<!--") {
                prolog.comment = true;
                skip_past(&text[4..], b"-->")
            } else if text.starts_with(b"<?") {
                skip_past(&text[2..], b"?>")
            } else if starts_with_ignore_case(text, b"<!doctype") {
                prolog.doctype = true;
                let name = skip_whitespace(&text[9..]);
                prolog.html_doctype |= starts_with_ignore_case(name, b"html")
                    && name.get(4).is_none_or(|&byte| ends_tag_name(byte));
                skip_doctype(&text[9..])
            } else {
                prolog.rest = text;
                return prolog;
            };
            match after {
                Some(after) => prolog.rest = after,
                // The construct runs past the head: no root element is in view.
                None => {
                    prolog.rest = &[];
                    return prolog;
                }
            }
        }
    }
}

/// Returns the local name of the element that `text` starts with (`svg`
/// for `<svg:svg ...`), or `None` when `text` does not start with a
/// complete start tag name.
fn element_name(text: &[u8]) -> Option<&[u8]> {
    let name = text.strip_prefix(b"<")?;
    let length = name.iter().position(|&byte| ends_tag_name(byte))?;
    let name = &name[..length];
    let local = match name.iter().rposition(|&byte| byte == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    };
    (!local.is_empty() && local.iter().all(u8::is_ascii_alphanumeric)).then_some(local)
}

fn is_html_element(name: &[u8]) -> bool {
    HTML_ELEMENTS
        .iter()
        .any(|element| element.eq_ignore_ascii_case(name))
}

/// Returns whether `byte` ends a tag name: whitespace, `>` or `/`.
fn ends_tag_name(byte: u8) -> bool {
    is_whitespace(byte) || byte == b'>' || byte == b'/'
}

/// The whitespace bytes of WHATWG MIME Sniffing: tab, line feed, form
/// feed, carriage return and space.
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn skip_whitespace(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&byte| !is_whitespace(byte))
        .unwrap_or(text.len());
    &text[start..]
}

/// Returns the bytes after the first `end` in `text`.
fn skip_past<'a>(text: &'a [u8], end: &[u8]) -> Option<&'a [u8]> {
    let at = text.windows(end.len()).position(|window| window == end)?;
    Some(&text[at + end.len()..])
}

/// Returns the bytes after a document type declaration whose `<!DOCTYPE`
/// is already consumed. An internal subset in brackets may contain `>`.
fn skip_doctype(text: &[u8]) -> Option<&[u8]> {
    let end = text.iter().position(|&byte| byte == b'>' || byte == b'[')?;
    if text[end] == b'>' {
        return Some(&text[end + 1..]);
    }
    let subset_end = skip_past(&text[end..], b"]")?;
    skip_past(subset_end, b">")
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_starts_are_html() {
        for text in [
            "<!DOCTYPE html><html><body></body></html>",
            "<!doctype HTML>\n<title>t</title>",
            "<html><script>1</script></html>",
            "<HTML LANG=en>",
            "<head><title>t</title></head>",
            "<script>alert(1)</script>",
            "<iframe src=x></iframe>",
            "<h1>Title</h1>",
            "<div class=x>",
            "<font color=red>",
            "<table>",
            "<a href=x>link</a>",
            "<style>body{}</style>",
            "<title>t</title>",
            "<b>bold</b>",
            "<body onload=alert(1)>",
            "<br/>",
            "<p>paragraph",
            "<!-- comment -->",
            "<!--x--><p>after a comment",
        ] {
            assert_eq!(
                markup_type(text.as_bytes()),
                Some(HTML_MIME_TYPE),
                "{text:?}"
            );
        }
    }

    #[test]
    fn byte_order_mark_and_whitespace_are_skipped() {
        for text in [
            "\u{feff}<html><script>1</script></html>",
            "\u{feff}  \n\t<html>",
            " \r\n\x0c<script>1</script>",
            "\u{feff}<!DOCTYPE html>",
            "\n\n<body>",
        ] {
            assert_eq!(
                markup_type(text.as_bytes()),
                Some(HTML_MIME_TYPE),
                "{text:?}"
            );
        }
    }

    #[test]
    fn tag_name_ends_with_whitespace_angle_or_slash() {
        for text in ["<html\n>", "<body\tonload=x>", "<br/>", "<p >"] {
            assert_eq!(
                markup_type(text.as_bytes()),
                Some(HTML_MIME_TYPE),
                "{text:?}"
            );
        }
        for text in ["<htmlx>", "<bold>", "<html", "<p"] {
            assert_eq!(markup_type(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn svg_is_svg_after_any_prolog() {
        for text in [
            r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#,
            "<SVG>",
            "\u{feff}<svg/>",
            "  <svg\nxmlns='http://www.w3.org/2000/svg'>",
            r#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>"#,
            "<?xml version='1.0'?>\n<!-- Created with an editor -->\n<svg>",
            "<!-- generator --><svg/>",
            r#"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd"><svg/>"#,
            "<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY a '>'>]><svg/>",
            "<?xml version='1.0'?><?xml-stylesheet href='a.css'?><svg:svg xmlns:svg='x'/>",
        ] {
            assert_eq!(
                markup_type(text.as_bytes()),
                Some(SVG_MIME_TYPE),
                "{text:?}"
            );
        }
    }

    #[test]
    fn other_xml_is_xml() {
        for text in [
            "<?xml version=\"1.0\"?><note><to>a</to></note>",
            "\u{feff}<?xml version='1.0' encoding='UTF-8'?>\n<feed>",
            "<?XML version='1.0'?>",
            "<!DOCTYPE note SYSTEM \"note.dtd\"><note/>",
        ] {
            assert_eq!(
                markup_type(text.as_bytes()),
                Some(XML_MIME_TYPE),
                "{text:?}"
            );
        }
    }

    #[test]
    fn xhtml_is_xhtml() {
        let text = r#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">"#;

        assert_eq!(markup_type(text.as_bytes()), Some(XHTML_MIME_TYPE));
    }

    #[test]
    fn text_that_is_not_markup_is_none() {
        for text in [
            "",
            "hello <html>",
            "a < b and b > c",
            "<",
            "< html>",
            "<3 you",
            "<unknown-element>",
            "\u{feff}plain text",
        ] {
            assert_eq!(markup_type(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn unterminated_prolog_still_counts() {
        assert_eq!(markup_type(b"<!-- never closed"), Some(HTML_MIME_TYPE));
        assert_eq!(markup_type(b"<?xml version='1.0'"), Some(XML_MIME_TYPE));
    }
}
