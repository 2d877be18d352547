//! The report people read in a terminal: one block per finding, the secret redacted. Every
//! text that comes from the scanned data or a repository's rules goes through [`inert`].

use std::io::Write;

use owo_colors::OwoColorize;

use super::{inert, shown_secret, ReportOptions};
use crate::rules::Severity;
use crate::scan::Outcome;

pub fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    options: &ReportOptions,
) -> std::io::Result<()> {
    let paint =
        |text: String, style: fn(&str) -> String| if options.color { style(&text) } else { text };
    for f in &outcome.findings {
        let location = format!("{}:{}:{}", inert(&f.path), f.line, f.column);
        let severity = match f.severity {
            Severity::High => paint(f.severity.to_string(), |s| s.red().bold().to_string()),
            Severity::Medium => paint(f.severity.to_string(), |s| s.yellow().to_string()),
            Severity::Low => paint(f.severity.to_string(), |s| s.cyan().to_string()),
        };
        writeln!(
            out,
            "{}  {}  {} [{}]",
            paint(location, |s| s.bold().to_string()),
            severity,
            paint(inert(&f.rule_id).into_owned(), |s| s.magenta().to_string()),
            f.category,
        )?;
        if !f.blocks {
            writeln!(
                out,
                "    (warning: policy does not block {} findings)",
                f.severity
            )?;
        }
        writeln!(out, "    {}", inert(&f.description))?;
        writeln!(out, "    secret: {}", inert(&shown_secret(f, options)))?;
        if let Some(commit) = &f.commit {
            writeln!(out, "    commit: {}", inert(commit))?;
        }
        if !f.decoded.is_empty() {
            writeln!(out, "    decoded from: {}", inert(&f.decoded.join(" > ")))?;
        }
        writeln!(out, "    fingerprint: {}", f.fingerprint)?;
        writeln!(out)?;
    }
    let s = &outcome.stats;
    let summary = format!(
        "{} finding(s) in {} file(s), {} bytes scanned, {} skipped, {} allowed inline, {} error(s), {} ms",
        outcome.findings.len(),
        s.files,
        s.bytes,
        s.skipped,
        s.allowed,
        s.errors,
        s.duration_ms
    );
    if outcome.findings.is_empty() && outcome.errors.is_empty() {
        writeln!(out, "{}", paint(summary, |s| s.green().to_string()))
    } else {
        writeln!(out, "{}", paint(summary, |s| s.red().to_string()))
    }
}
