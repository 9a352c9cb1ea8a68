//! The benchmark report: tables in Markdown, written between two marker
//! lines of docs/benchmarks.md so that the text around them stays as
//! written.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

pub const BEGIN_MARKER: &str =
    "<!-- BEGIN scripts/bench output: rewritten by each full run, do not edit by hand -->";
pub const END_MARKER: &str = "<!-- END scripts/bench output -->";

/// A Markdown table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|cell| cell.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, out: &mut String) {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        out.push_str(&line(&self.header));
        out.push_str(&line(&vec!["---".to_string(); self.header.len()]));
        for row in &self.rows {
            out.push_str(&line(row));
        }
    }
}

/// One measured area: a heading, how it was measured, its table.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    /// Method and commands, as Markdown paragraphs.
    pub method: String,
    pub table: Table,
}

/// A target and whether the run met it.
#[derive(Debug, Clone)]
pub struct Target {
    pub measurement: String,
    pub result: String,
    pub reference: String,
    pub ratio: String,
    pub goal: String,
    pub met: bool,
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    pub sections: Vec<Section>,
    pub targets: Vec<Target>,
}

impl Report {
    /// Renders the generated block, markers included.
    pub fn render(&self, preamble: &str) -> String {
        let mut out = String::new();
        out.push_str(BEGIN_MARKER);
        out.push_str("\n\n");
        out.push_str(&wrap_markdown(preamble));
        out.push('\n');

        if !self.targets.is_empty() {
            out.push_str("### Targets\n\n");
            let mut table = Table::new(&["measurement", "result", "reference", "ratio", "target", "met"]);
            for target in &self.targets {
                table.row(vec![
                    target.measurement.clone(),
                    target.result.clone(),
                    target.reference.clone(),
                    target.ratio.clone(),
                    target.goal.clone(),
                    if target.met { "yes" } else { "**no**" }.to_string(),
                ]);
            }
            table.render(&mut out);
            out.push('\n');
        }

        for section in &self.sections {
            let _ = writeln!(out, "### {}\n", section.title);
            out.push_str(wrap_markdown(&section.method).trim_end());
            out.push_str("\n\n");
            section.table.render(&mut out);
            out.push('\n');
        }
        out.push_str(END_MARKER);
        out.push('\n');
        out
    }
}

/// Line width of the generated prose, as in the hand-written part.
const WIDTH: usize = 72;

/// Wraps each line of `text` at [`WIDTH`] columns between words, indenting
/// the continuation lines of a `- ` list item by two spaces. Headings and
/// table rows stay on one line.
fn wrap_markdown(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with('|') || line.len() <= WIDTH {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let indent = if line.starts_with("- ") { "  " } else { "" };
        let mut current = String::new();
        for word in line.split(' ') {
            if !current.is_empty() && current.len() + 1 + word.len() > WIDTH {
                out.push_str(&current);
                out.push('\n');
                current = indent.to_string();
            } else if !current.is_empty() && current != indent {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
    out
}

/// Replaces the generated block of the file at `path` with `block`, or
/// appends it when the file has no markers yet. Creates the file when it
/// does not exist.
pub fn write_into(path: &Path, block: &str) -> Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_string(),
        Err(error) => return Err(error).with_context(|| format!("failed to read {}", path.display())),
    };
    let updated = replace_block(&existing, block);
    std::fs::write(path, updated).with_context(|| format!("failed to write {}", path.display()))
}

fn replace_block(text: &str, block: &str) -> String {
    let begin = text.find(BEGIN_MARKER);
    let end = text
        .find(END_MARKER)
        .map(|start| start + END_MARKER.len());
    match (begin, end) {
        (Some(begin), Some(end)) if begin < end => {
            let rest = text[end..].strip_prefix('\n').unwrap_or(&text[end..]);
            format!("{}{block}{rest}", &text[..begin])
        }
        _ => format!("{}\n\n{block}", text.trim_end()),
    }
}

/// Formats a duration in the unit that suits it: µs below 1 ms, ms below
/// 10 s, else s.
pub fn duration(value: Duration) -> String {
    let seconds = value.as_secs_f64();
    if seconds < 1e-3 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 10.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{seconds:.1} s")
    }
}

/// Formats `value / reference` as `0.52×`.
pub fn ratio(value: f64, reference: f64) -> String {
    format!("{:.2}×", value / reference)
}

pub fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_replaced_between_markers() {
        let text = format!("# Benchmarks\n\nintro\n\n{BEGIN_MARKER}\nold\n{END_MARKER}\n\n## Login timing\n\nkept\n");
        let block = format!("{BEGIN_MARKER}\nnew\n{END_MARKER}\n");
        let updated = replace_block(&text, &block);
        assert_eq!(
            updated,
            format!("# Benchmarks\n\nintro\n\n{BEGIN_MARKER}\nnew\n{END_MARKER}\n\n## Login timing\n\nkept\n")
        );
    }

    #[test]
    fn block_appended_without_markers() {
        let block = format!("{BEGIN_MARKER}\nnew\n{END_MARKER}\n");
        let updated = replace_block("# Benchmarks\n\n## Login timing\n", &block);
        assert_eq!(updated, format!("# Benchmarks\n\n## Login timing\n\n{block}"));
    }

    #[test]
    fn long_lines_wrap_between_words() {
        let words = vec!["word"; 30].join(" ");
        let wrapped = wrap_markdown(&format!("{words}\n- {words}\n| {words} |\n"));
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.iter().all(|line| line.len() <= WIDTH || line.starts_with('|')));
        assert!(lines.iter().any(|line| line.starts_with("  word")), "{wrapped}");
        assert_eq!(wrapped.split_whitespace().filter(|w| *w == "word").count(), 90);
        assert_eq!(lines.last(), Some(&format!("| {words} |").as_str()));
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration(Duration::from_micros(812)), "812 µs");
        assert_eq!(duration(Duration::from_micros(12_345)), "12.35 ms");
        assert_eq!(duration(Duration::from_secs(12)), "12.0 s");
    }

    #[test]
    fn table_renders_header_separator_and_rows() {
        let mut table = Table::new(&["a", "b"]);
        table.row(vec!["1".into(), "2".into()]);
        let mut out = String::new();
        table.render(&mut out);
        assert_eq!(out, "| a | b |\n| --- | --- |\n| 1 | 2 |\n");
    }
}
