//! The boundary of a `multipart/form-data` body, taken from the request's
//! `Content-Type`.

use crate::error::ApiError;
use crate::multipart::invalid_multipart;
use crate::multipart::params::ParameterizedValue;

/// The maximum boundary length, from RFC 2046, section 5.1.1.
const MAX_BOUNDARY_LEN: usize = 70;

/// A boundary that RFC 2046 allows: 1 to 70 characters from its `bchars`
/// set, not ending in a space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary(String);

impl Boundary {
    /// Parses a boundary parameter value.
    pub fn parse(value: &str) -> Result<Boundary, ApiError> {
        let valid_chars = value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&byte));
        let valid = !value.is_empty()
            && value.len() <= MAX_BOUNDARY_LEN
            && valid_chars
            && !value.ends_with(' ');
        if !valid {
            return Err(invalid_multipart(format!(
                "invalid boundary {value:?}: expected 1 to {MAX_BOUNDARY_LEN} letters, digits \
                 or characters of '()+_,-./:=? not ending in a space"
            )));
        }
        Ok(Boundary(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the delimiter that ends a part: CRLF, `--` and the boundary.
    pub fn delimiter(&self) -> Vec<u8> {
        format!("\r\n--{}", self.0).into_bytes()
    }
}

/// Returns the boundary when `content_type` is `multipart/form-data`, and
/// `None` for any other media type. The media type and parameter names are
/// case-insensitive, parameters may come in any order, and parameters other
/// than `boundary` (such as `charset`) are ignored.
///
/// A `multipart/form-data` type without a valid boundary, or with two
/// `boundary` parameters, is a 400 `invalid_multipart`.
pub fn form_data_boundary(content_type: &str) -> Result<Option<Boundary>, ApiError> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Ok(None);
    }

    let parsed = ParameterizedValue::parse(content_type)
        .map_err(|message| invalid_multipart(format!("invalid Content-Type: {message}")))?;
    let boundary = parsed
        .unique_param("boundary")
        .map_err(|message| invalid_multipart(format!("invalid Content-Type: {message}")))?
        .ok_or_else(|| invalid_multipart("Content-Type multipart/form-data has no boundary"))?;

    Boundary::parse(boundary).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary_of(content_type: &str) -> Result<Option<String>, ApiError> {
        form_data_boundary(content_type).map(|found| found.map(|b| b.as_str().to_owned()))
    }

    #[test]
    fn unquoted_boundary_is_read() {
        let boundary = boundary_of("multipart/form-data; boundary=XYZ").unwrap();
        assert_eq!(boundary.as_deref(), Some("XYZ"));
    }

    #[test]
    fn quoted_boundary_is_read() {
        let boundary = boundary_of(r#"multipart/form-data; boundary="a b:c?""#).unwrap();
        assert_eq!(boundary.as_deref(), Some("a b:c?"));
    }

    #[test]
    fn charset_before_boundary_is_ignored() {
        let boundary = boundary_of("multipart/form-data; charset=UTF-8; boundary=XYZ").unwrap();
        assert_eq!(boundary.as_deref(), Some("XYZ"));
    }

    #[test]
    fn media_type_is_case_insensitive() {
        let boundary = boundary_of("Multipart/Form-Data; BOUNDARY=XYZ").unwrap();
        assert_eq!(boundary.as_deref(), Some("XYZ"));
    }

    #[test]
    fn other_media_types_are_not_multipart() {
        assert_eq!(boundary_of("application/pdf").unwrap(), None);
        assert_eq!(boundary_of("multipart/mixed; boundary=XYZ").unwrap(), None);
    }

    #[test]
    fn duplicate_boundary_is_rejected() {
        let error = boundary_of("multipart/form-data; boundary=AAA; boundary=BBB").unwrap_err();
        assert_eq!(error.status(), 400);
        assert_eq!(error.code(), "invalid_multipart");
        assert!(error.to_string().contains("boundary"), "{error}");
    }

    #[test]
    fn missing_boundary_is_rejected() {
        let error = boundary_of("multipart/form-data; charset=UTF-8").unwrap_err();
        assert_eq!(error.code(), "invalid_multipart");
    }

    #[test]
    fn overlong_or_invalid_boundary_is_rejected() {
        let long = format!("multipart/form-data; boundary={}", "a".repeat(71));
        assert!(boundary_of(&long).is_err());
        assert!(boundary_of("multipart/form-data; boundary=\"ab \"").is_err());
        assert!(boundary_of("multipart/form-data; boundary=a\u{e9}").is_err());
        assert!(boundary_of("multipart/form-data; boundary=\"\"").is_err());
    }
}
