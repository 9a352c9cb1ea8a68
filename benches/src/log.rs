//! Reading fields from the host's log lines, as tracing's plain format
//! writes them: `name=value` or `name="value"`.

/// Returns the value of `name=value` in `line`, without quotes. Values with spaces
/// are not supported; the fields read here have none.
pub fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let value = line[start..].split_whitespace().next()?;
    Some(value.trim_matches('"').to_string())
}

/// Selects the lines of `log` with `message` whose `component` field is
/// `component`.
pub fn component_lines<'a>(
    log: &'a str,
    message: &'a str,
    component: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    log.lines()
        .filter(move |line| line.contains(message))
        .filter(move |line| field(line, "component").as_deref() == Some(component))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "2026-01-01T00:00:00Z  INFO stowage_host::engine: compiled component \
                        component=\"auth\" source=/a/b.wasm elapsed_ms=412";

    #[test]
    fn quoted_and_plain_values_are_read() {
        assert_eq!(field(LINE, "component").as_deref(), Some("auth"));
        assert_eq!(field(LINE, "elapsed_ms").as_deref(), Some("412"));
    }

    #[test]
    fn missing_field_is_none() {
        assert_eq!(field(LINE, "peak_memory_bytes"), None);
    }

    #[test]
    fn lines_are_selected_by_message_and_component() {
        let log = format!("{LINE}\n{}\n", LINE.replace("auth", "files"));
        assert_eq!(component_lines(&log, "compiled component", "files").count(), 1);
        assert_eq!(component_lines(&log, "loaded compiled", "files").count(), 0);
    }
}
