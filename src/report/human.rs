//! The report people read in a terminal: one block per finding, the secret redacted. Every
//! text that comes from the scanned data or a repository's rules goes through [`inert`](crate::text::inert).

use std::io::Write;

use owo_colors::OwoColorize;

use super::{shown_secret, ReportOptions};
use crate::finding::Outcome;
use crate::rules::Severity;
use crate::text::inert;

/// The `[policy]` key that makes range scans honour inline markers the range adds.
const POLICY_KEY: &str = "honour_inline_allows_in_range";

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
        let forbidden = crate::finding::is_forbidden_pattern(f.category);
        writeln!(
            out,
            "{}  {}  {} [{}{}]",
            paint(location, |s| s.bold().to_string()),
            severity,
            paint(inert(&f.rule_id).into_owned(), |s| s.magenta().to_string()),
            f.category,
            if forbidden { ", forbidden pattern" } else { "" },
        )?;
        if !f.blocks {
            writeln!(
                out,
                "    (warning: policy does not block {} findings)",
                f.severity
            )?;
        }
        if let Some(marker) = &f.allowed_by_change {
            writeln!(
                out,
                "    (allowed by the change itself: `{}` is on a line this range adds; \
                 not honoured, see [policy] {POLICY_KEY})",
                inert(marker)
            )?;
        }
        writeln!(out, "    {}", inert(&f.description))?;
        let shown = shown_secret(f, options);
        if forbidden {
            writeln!(out, "    value: {}", inert(&shown))?;
        } else {
            writeln!(out, "    secret: {}", inert(&shown))?;
        }
        if let Some(excerpt) = &f.excerpt {
            let line = format!("{}{shown}{}", excerpt.before, excerpt.after);
            writeln!(out, "    line {}: {}", f.line, inert(line.trim()))?;
        }
        if let Some(commit) = &f.commit {
            writeln!(out, "    commit: {}", inert(commit))?;
        }
        if let Some(history) = &f.history {
            write_history(out, history)?;
        }
        if !f.decoded.is_empty() {
            writeln!(out, "    decoded from: {}", inert(&f.decoded.join(" > ")))?;
        }
        writeln!(out, "    fingerprint: {}", f.fingerprint)?;
        writeln!(out)?;
    }
    let s = &outcome.stats;
    let by_change = outcome
        .findings
        .iter()
        .filter(|f| f.allowed_by_change.is_some())
        .count();
    let by_change = if by_change > 0 {
        format!(" ({by_change} allowed by the change itself, not honoured)")
    } else {
        String::new()
    };
    let dropped = match s.dropped {
        d if d.findings == 0 => String::new(),
        d if d.estimated => format!(" (and about {} more over the caps)", d.findings),
        d => format!(" (and {} more over the caps)", d.findings),
    };
    let summary = format!(
        "{} finding(s){dropped}{by_change} in {} file(s), {} bytes scanned, {} skipped, {}, {} error(s), {} ms",
        outcome.findings.len(),
        s.files,
        s.bytes,
        s.skipped,
        allowed(outcome),
        s.errors,
        s.duration_ms
    );
    // Only scans that met an archive say so: other summaries stay as they were.
    let summary = if s.archives > 0 || !outcome.not_scanned.is_empty() {
        format!(
            "{summary}; {} archive(s) opened, {} entries scanned, {} not scanned in full",
            s.archives,
            s.archive_entries,
            outcome.not_scanned.len()
        )
    } else {
        summary
    };
    if outcome.findings.is_empty() && outcome.errors.is_empty() && s.dropped.findings == 0 {
        writeln!(out, "{}", paint(summary, |s| s.green().to_string()))?;
    } else {
        writeln!(out, "{}", paint(summary, |s| s.red().to_string()))?;
    }
    if s.rejected_checksum > 0 {
        // A made-up token (`ghp_` and 36 random characters) fails its checksum and is rightly
        // not reported; saying so keeps a newcomer from concluding that detection is broken.
        writeln!(
            out,
            "note: {} token-shaped value(s) rejected: bad checksum or structure (not a real \
             token, so not reported; `staunch rules list` shows which rules verify one)",
            s.rejected_checksum
        )?;
    }
    Ok(())
}

/// Where else the history holds the secret: the commit count, the last one, and the branches
/// whose tip still has it (`--all` only).
fn write_history(out: &mut dyn Write, history: &crate::finding::History) -> std::io::Result<()> {
    if history.occurrences > 1 {
        let last = history.last_commit.as_deref().unwrap_or("?");
        writeln!(
            out,
            "    in {} commits, the last {}",
            history.occurrences,
            inert(last)
        )?;
    }
    match history.present_in.as_deref() {
        Some([]) => writeln!(
            out,
            "    no branch tip holds it any more (still in history)"
        ),
        Some(names) => {
            let names: Vec<String> = names.iter().map(|n| inert(n).into_owned()).collect();
            writeln!(out, "    still at the tip of: {}", names.join(", "))
        }
        None => Ok(()),
    }
}

/// `3 allowed (1 inline, 2 by baseline)`: how many findings were silenced, and by what.
fn allowed(outcome: &Outcome) -> String {
    let by = &outcome.stats.allowed_by;
    let config = match config_origin(outcome) {
        Some(origin) => format!("by {origin}"),
        None => "by config allowlists".to_string(),
    };
    let parts: Vec<String> = [
        (by.inline, "inline".to_string()),
        (by.baseline - by.gitleaksignore, "by baseline".to_string()),
        (by.gitleaksignore, "by .gitleaksignore".to_string()),
        (by.config, config),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("{count} {what}"))
    .collect();
    if parts.is_empty() {
        format!("{} allowed", outcome.stats.allowed)
    } else {
        format!("{} allowed ({})", outcome.stats.allowed, parts.join(", "))
    }
}

/// The allow entry (`[[allow]] "fixtures" in .staunch.toml`) that silenced every
/// config-allowed finding, when it was one entry; several are summed up as "config allowlists".
fn config_origin(outcome: &Outcome) -> Option<&str> {
    let mut origins = outcome
        .suppressed
        .iter()
        .filter(|s| s.mechanism == crate::finding::Mechanism::Config)
        .map(|s| s.justification.as_str());
    let first = origins.next()?;
    origins.all(|o| o == first).then_some(first)
}
