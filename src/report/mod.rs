//! Reporters turn an outcome into text. They never scan and never see more than the findings,
//! and every one redacts secrets unless `show_secrets` is set.

mod github;
mod human;
mod json;
mod junit;
mod sarif;

use std::io::Write;

use crate::finding::{Finding, Outcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML, for CI systems that show test reports.
    Junit,
    /// GitHub Actions workflow commands: annotations on the pull request.
    Github,
}

/// How to write a report.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    pub format: Format,
    pub color: bool,
    pub show_secrets: bool,
}

/// The secret as the report shows it.
/// A forbidden pattern (a private address, an internal URL) is no secret: it is shown as it is,
/// so a reader can tell which host it is.
pub fn shown_secret(finding: &Finding, options: &ReportOptions) -> String {
    let whole = options.show_secrets || crate::finding::is_forbidden_pattern(finding.category);
    crate::finding::shown(&finding.secret, whole)
}

/// Stands in a document for an array that is streamed (see [`write_streamed`]). Holds NUL,
/// which no path, rule id or message of a report can.
const STREAMED_ARRAY: &str = "\0staunch streamed array\0";

/// Writes `doc` pretty-printed exactly as `serde_json::to_writer_pretty` would, with the array
/// of `items` where `doc` holds the string [`STREAMED_ARRAY`]. Only one item is ever held as a
/// `Value`, so a report of many findings costs the findings, not a tree of every result.
fn write_streamed(
    out: &mut dyn Write,
    doc: &serde_json::Value,
    items: impl Iterator<Item = serde_json::Value>,
) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(doc)?;
    let slot = serde_json::to_string(STREAMED_ARRAY)?;
    let at = text
        .find(&slot)
        .expect("the document holds the streamed array's slot");
    let (before, after) = (&text[..at], &text[at + slot.len()..]);
    out.write_all(before.as_bytes())?;
    let indent = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let indent: String = indent.chars().take_while(|c| *c == ' ').collect();
    let inner = format!("\n{indent}  ");
    let mut item_text = Vec::new();
    let mut first = true;
    for item in items {
        out.write_all(if first { b"[" } else { b"," })?;
        first = false;
        out.write_all(inner.as_bytes())?;
        item_text.clear();
        serde_json::to_writer_pretty(&mut item_text, &item)?;
        // JSON strings hold no raw newline, so every newline here is the layout's.
        for (i, line) in item_text.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                out.write_all(inner.as_bytes())?;
            }
            out.write_all(line)?;
        }
    }
    if first {
        out.write_all(b"[]")?;
    } else {
        write!(out, "\n{indent}]")?;
    }
    out.write_all(after.as_bytes())
}

pub fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    options: &ReportOptions,
) -> std::io::Result<()> {
    match options.format {
        Format::Human => human::write(out, outcome, options),
        Format::Json => json::write(out, outcome, options),
        Format::Sarif => sarif::write(out, outcome, options),
        Format::Junit => junit::write(out, outcome, options),
        Format::Github => github::write(out, outcome, options),
    }
}

/// The report of a run that failed before it scanned anything, for formats that have a place
/// for it (SARIF: a failed invocation with the error as a notification); other formats write
/// nothing, and the error goes to stderr as always.
pub fn write_failure(out: &mut dyn Write, format: Format, message: &str) -> std::io::Result<()> {
    match format {
        Format::Sarif => sarif::write_failure(out, message),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_array_reads_as_the_whole_document_would() {
        let items = vec![
            serde_json::json!({"a": 1, "b": ["x", {"c": null}], "d": "line\nbreak"}),
            serde_json::json!([]),
            serde_json::json!("plain"),
        ];
        for items in [items.clone(), Vec::new()] {
            let whole = serde_json::json!({"k": 1, "list": items.clone(), "z": {"y": []}});
            let doc = serde_json::json!({"k": 1, "list": STREAMED_ARRAY, "z": {"y": []}});
            let mut streamed = Vec::new();
            write_streamed(&mut streamed, &doc, items.into_iter()).unwrap();
            let expected = serde_json::to_string_pretty(&whole).unwrap();
            assert_eq!(String::from_utf8(streamed).unwrap(), expected);
        }
    }
}
