//! Properties of filename sanitizing over generated names: whatever a
//! client sends, the stored name is safe to show and to offer back in a
//! download, and sanitizing it again changes nothing.

use proptest::collection::vec;
use proptest::prelude::*;
use stowage_core::files::filename::{DEFAULT_FILENAME, MAX_FILENAME_BYTES};
use stowage_core::files::Filename;

/// Characters that make names interesting: separators, dots, controls,
/// bidirectional overrides, whitespace and multi-byte letters, mixed with
/// any character at all.
fn hostile_char() -> impl Strategy<Value = char> {
    let specials: Vec<char> = vec![
        '/', '\\', '.', ' ', '\t', '\0', '\r', '\n', '\u{7f}', '\u{85}', '\u{202E}', '\u{2066}',
        '\u{200F}', '\u{3000}', 'é', '报', '©', 'a', ':', '"', ';',
    ];
    prop_oneof![
        3 => proptest::sample::select(specials),
        1 => any::<char>(),
    ]
}

fn hostile_name() -> impl Strategy<Value = String> {
    vec(hostile_char(), 0..400).prop_map(|chars| chars.into_iter().collect())
}

fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn sanitized_names_have_no_path_parts_or_controls(raw in hostile_name()) {
        let name = Filename::sanitize(&raw);
        let text = name.as_str();

        prop_assert!(!text.contains('/'), "{text:?} contains /");
        prop_assert!(!text.contains('\\'), "{text:?} contains \\");
        prop_assert!(
            !text.chars().any(|c| c.is_control() || is_bidi_control(c)),
            "{text:?} contains a control character"
        );
        prop_assert!(text.len() <= MAX_FILENAME_BYTES, "{} bytes", text.len());
        prop_assert!(!text.is_empty());
        prop_assert!(text != "." && text != "..", "{text:?}");
        prop_assert_eq!(text.trim(), text);
    }

    #[test]
    fn sanitizing_is_idempotent(raw in hostile_name()) {
        let once = Filename::sanitize(&raw);
        let twice = Filename::sanitize(once.as_str());

        prop_assert_eq!(once, twice);
    }

    #[test]
    fn a_plain_name_is_kept_as_sent(
        stem in vec(proptest::sample::select(vec!['a', 'Z', '0', '-', '_', 'é', '报', ' ']), 1..60),
        extension in proptest::sample::select(vec!["txt", "pdf", "tar.gz"]),
    ) {
        let stem: String = stem.into_iter().collect();
        let raw = format!("x{}.{extension}", stem.trim_end());

        let sanitized = Filename::sanitize(&raw);
        prop_assert_eq!(sanitized.as_str(), raw.as_str());
    }
}

#[test]
fn names_with_nothing_visible_become_the_default() {
    for raw in ["", "/", "\\", "..", "./..", "\u{202E}\0", " \t "] {
        assert_eq!(Filename::sanitize(raw).as_str(), DEFAULT_FILENAME, "{raw:?}");
    }
}
