//! The `Content-Disposition` header of a form part (RFC 7578, section 4.2)
//! or of a raw upload (RFC 6266), with `filename*` (RFC 8187) decoding.

use crate::multipart::params::ParameterizedValue;

/// A parsed `Content-Disposition` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDisposition {
    /// The disposition type, lowercased: `form-data`, `attachment`, ...
    pub kind: String,
    /// The `name` parameter: the form field a part belongs to.
    pub name: Option<String>,
    /// The client's filename as sent, before any sanitizing: `filename*`
    /// when present and decodable, otherwise `filename`.
    pub filename: Option<String>,
}

impl ContentDisposition {
    /// Parses a header value. Returns a message naming the problem when
    /// the value is malformed or repeats a parameter.
    pub fn parse(value: &str) -> Result<ContentDisposition, String> {
        let parsed = ParameterizedValue::parse(value)?;
        if parsed.value.is_empty() {
            return Err("disposition type is missing".to_owned());
        }

        let name = parsed.unique_param("name")?.map(str::to_owned);
        let plain = parsed.unique_param("filename")?;
        let extended = parsed.unique_param("filename*")?;

        // RFC 6266, section 4.3: a recipient that understands `filename*`
        // prefers it. A value it cannot decode falls back to `filename`.
        let filename = extended
            .and_then(decode_extended_value)
            .or_else(|| plain.map(str::to_owned));

        Ok(ContentDisposition {
            kind: parsed.value,
            name,
            filename,
        })
    }
}

/// Decodes an RFC 8187 extended value, `charset'language'percent-encoded`.
/// UTF-8 and ISO-8859-1 are the two charsets the RFC requires; others,
/// invalid escapes and invalid UTF-8 return `None`.
fn decode_extended_value(value: &str) -> Option<String> {
    let mut fields = value.splitn(3, '\'');
    let charset = fields.next()?;
    let _language = fields.next()?;
    let encoded = fields.next()?;

    let bytes = percent_decode_strict(encoded)?;
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// Decodes `%XX` escapes, returning `None` for a malformed escape. Unlike
/// query strings, `+` is a literal plus here.
fn percent_decode_strict(input: &str) -> Option<Vec<u8>> {
    let bytes = input.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;

    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = input.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }

    Some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_data_name_and_filename_are_read() {
        let disposition =
            ContentDisposition::parse(r#"form-data; name="file"; filename="report.pdf""#).unwrap();
        assert_eq!(disposition.kind, "form-data");
        assert_eq!(disposition.name.as_deref(), Some("file"));
        assert_eq!(disposition.filename.as_deref(), Some("report.pdf"));
    }

    #[test]
    fn quoted_filename_keeps_semicolons() {
        let disposition =
            ContentDisposition::parse(r#"form-data; name="file"; filename="a; b; c.txt""#).unwrap();
        assert_eq!(disposition.filename.as_deref(), Some("a; b; c.txt"));
    }

    #[test]
    fn raw_utf8_filename_is_kept() {
        let disposition =
            ContentDisposition::parse("form-data; name=\"file\"; filename=\"Ünïcødé ©.txt\"")
                .unwrap();
        assert_eq!(disposition.filename.as_deref(), Some("Ünïcødé ©.txt"));
    }

    #[test]
    fn extended_filename_is_preferred() {
        let disposition = ContentDisposition::parse(
            "form-data; filename*=UTF-8''%E2%82%AC%20rates.txt; name=\"file\"; filename=\"rates.txt\"",
        )
        .unwrap();
        assert_eq!(disposition.filename.as_deref(), Some("€ rates.txt"));
    }

    #[test]
    fn extended_filename_in_latin1_is_decoded() {
        let disposition =
            ContentDisposition::parse("attachment; filename*=iso-8859-1'en'%E9t%E9.txt").unwrap();
        assert_eq!(disposition.filename.as_deref(), Some("été.txt"));
    }

    #[test]
    fn undecodable_extended_filename_falls_back() {
        for header in [
            "attachment; filename=\"plain.txt\"; filename*=UTF-8''%FF%FE",
            "attachment; filename=\"plain.txt\"; filename*=UTF-8''%zz",
            "attachment; filename=\"plain.txt\"; filename*=KOI8-R''abc",
            "attachment; filename=\"plain.txt\"; filename*=no-quotes",
        ] {
            let disposition = ContentDisposition::parse(header).unwrap();
            assert_eq!(
                disposition.filename.as_deref(),
                Some("plain.txt"),
                "{header}"
            );
        }
    }

    #[test]
    fn repeated_name_is_rejected() {
        let error =
            ContentDisposition::parse(r#"form-data; name="file"; name="other""#).unwrap_err();
        assert!(error.contains("\"name\""), "{error}");
    }

    #[test]
    fn missing_type_is_rejected() {
        assert!(ContentDisposition::parse(r#"; name="file""#).is_err());
    }
}
