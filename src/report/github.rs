//! GitHub Actions workflow commands: each finding becomes an `::error`/`::warning`/`::notice`
//! line, which Actions turns into an annotation on the file and line of the pull request, with
//! no upload step. Escaping follows the Actions toolkit (`@actions/core` `command.ts`).

use std::io::Write;

use super::{shown_secret, ReportOptions};
use crate::finding::Outcome;
use crate::rules::Severity;

pub fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    options: &ReportOptions,
) -> std::io::Result<()> {
    for f in &outcome.findings {
        // A finding the configuration does not block is at most a warning: it fails nothing.
        let command = match (f.severity, f.blocks) {
            (Severity::High, true) => "error",
            (Severity::High | Severity::Medium, _) => "warning",
            (Severity::Low, _) => "notice",
        };
        let path = f.path.strip_prefix("./").unwrap_or(&f.path);
        let mut message = format!("{} (secret {})", f.description, shown_secret(f, options));
        if let Some(commit) = &f.commit {
            message.push_str(&format!(" in commit {commit}"));
        }
        if !f.decoded.is_empty() {
            message.push_str(&format!(", decoded from {}", f.decoded.join(" > ")));
        }
        if let Some(marker) = &f.allowed_by_change {
            message.push_str(&format!(
                "; allowed by the change itself (`{marker}`), not honoured"
            ));
        }
        writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},title={}::{}",
            escape_property(path),
            f.line,
            f.column,
            f.end_line,
            escape_property(&f.rule_id),
            escape_data(&message),
        )?;
    }
    for err in &outcome.errors {
        writeln!(
            out,
            "::error title=staunch::{}",
            escape_data(&format!("not scanned: {err}"))
        )?;
    }
    let s = &outcome.stats;
    writeln!(
        out,
        "staunch: {} finding(s) in {} file(s), {} skipped, {} error(s)",
        outcome.findings.len(),
        s.files,
        s.skipped,
        s.errors
    )
}

/// The message after `::`: a line break would end the command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A `key=value` property: also `,` (separates properties) and `:` (ends them).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_actions_toolkit_does() {
        assert_eq!(escape_data("50% a\r\nb:c,d"), "50%25 a%0D%0Ab:c,d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
