//! Header values with parameters, as in `Content-Type` (RFC 9110, section
//! 5.6.6) and `Content-Disposition` (RFC 6266): a main value followed by
//! `; name=value` pairs whose values are tokens or quoted strings.

/// A header value split into its lowercase main value and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterizedValue {
    /// The value before the first `;`, trimmed and lowercased, e.g.
    /// `multipart/form-data` or `attachment`.
    pub value: String,
    /// The parameters in order, names lowercased, quoted values unquoted.
    pub params: Vec<(String, String)>,
}

impl ParameterizedValue {
    /// Parses `input`. Returns a message naming the problem when a
    /// parameter has no `=`, an empty name, or an unterminated quoted string.
    pub fn parse(input: &str) -> Result<ParameterizedValue, String> {
        let (value, mut rest) = input.split_once(';').unwrap_or((input, ""));
        let mut params = Vec::new();

        loop {
            rest = rest.trim_start_matches([' ', '\t', ';']);
            if rest.is_empty() {
                break;
            }

            let Some((name, after_name)) = rest.split_once('=') else {
                return Err(format!("parameter {rest:?} has no value"));
            };
            let name = name.trim();
            if name.is_empty() || name.contains([';', '"', ' ', '\t']) {
                return Err(format!("invalid parameter name {name:?}"));
            }

            let after_name = after_name.trim_start_matches([' ', '\t']);
            let (param_value, after_value) = if let Some(quoted) = after_name.strip_prefix('"') {
                parse_quoted(quoted).ok_or_else(|| {
                    format!("parameter {name:?} has an unterminated quoted string")
                })?
            } else {
                let end = after_name.find(';').unwrap_or(after_name.len());
                let token = after_name[..end].trim_end_matches([' ', '\t']);
                (token.to_owned(), &after_name[end..])
            };

            let after_value = after_value.trim_start_matches([' ', '\t']);
            if !after_value.is_empty() && !after_value.starts_with(';') {
                return Err(format!("unexpected text after parameter {name:?}"));
            }

            params.push((name.to_ascii_lowercase(), param_value));
            rest = after_value;
        }

        Ok(ParameterizedValue {
            value: value.trim().to_ascii_lowercase(),
            params,
        })
    }

    /// Returns the value of parameter `name` (lowercase). Returns an error
    /// naming the parameter when it appears more than once, because two
    /// readers of the header could then disagree on its value.
    pub fn unique_param(&self, name: &str) -> Result<Option<&str>, String> {
        let mut values = self
            .params
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("parameter {name:?} appears more than once"));
        }
        Ok(first)
    }
}

/// Reads a quoted string after its opening quote. Returns the unquoted
/// text and the rest after the closing quote, or `None` when the closing
/// quote is missing.
///
/// Only `\"` and `\\` are escapes. Browsers do not escape a backslash in a
/// filename, so a backslash before any other character is kept; this keeps
/// Windows paths such as `C:\Users\a.txt` intact for path stripping.
fn parse_quoted(input: &str) -> Option<(String, &str)> {
    let mut text = String::new();
    let mut chars = input.char_indices();

    while let Some((index, character)) = chars.next() {
        match character {
            '"' => return Some((text, &input[index + 1..])),
            '\\' => match input[index + 1..].chars().next() {
                Some(escaped @ ('"' | '\\')) => {
                    text.push(escaped);
                    chars.next();
                }
                _ => text.push('\\'),
            },
            other => text.push(other),
        }
    }

    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_value_keeps_semicolons() {
        let parsed =
            ParameterizedValue::parse(r#"form-data; name="file"; filename="a; b; c.txt""#).unwrap();
        assert_eq!(parsed.value, "form-data");
        assert_eq!(parsed.unique_param("name").unwrap(), Some("file"));
        assert_eq!(
            parsed.unique_param("filename").unwrap(),
            Some("a; b; c.txt")
        );
    }

    #[test]
    fn names_are_case_insensitive_and_values_trimmed() {
        let parsed = ParameterizedValue::parse("Multipart/Form-Data ;  Boundary = XYZ  ").unwrap();
        assert_eq!(parsed.value, "multipart/form-data");
        assert_eq!(parsed.unique_param("boundary").unwrap(), Some("XYZ"));
    }

    #[test]
    fn escaped_quote_is_unescaped_and_other_backslashes_kept() {
        let parsed =
            ParameterizedValue::parse(r#"form-data; filename="C:\Users\say \"hi\".txt""#).unwrap();
        assert_eq!(
            parsed.unique_param("filename").unwrap(),
            Some(r#"C:\Users\say "hi".txt"#)
        );
    }

    #[test]
    fn unterminated_quote_is_rejected() {
        let error = ParameterizedValue::parse(r#"form-data; name="file"#).unwrap_err();
        assert!(error.contains("unterminated"), "{error}");
    }

    #[test]
    fn parameter_without_value_is_rejected() {
        let error = ParameterizedValue::parse("form-data; name").unwrap_err();
        assert!(error.contains("has no value"), "{error}");
    }

    #[test]
    fn text_after_quoted_value_is_rejected() {
        let error = ParameterizedValue::parse(r#"form-data; name="a"b"#).unwrap_err();
        assert!(error.contains("unexpected text"), "{error}");
    }

    #[test]
    fn repeated_parameter_is_reported() {
        let parsed =
            ParameterizedValue::parse("multipart/form-data; boundary=AAA; boundary=BBB").unwrap();
        let error = parsed.unique_param("boundary").unwrap_err();
        assert!(
            error.contains("\"boundary\" appears more than once"),
            "{error}"
        );
    }
}
