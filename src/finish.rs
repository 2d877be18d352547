//! The end of a run, in three steps: the report is written, the outcome becomes a verdict,
//! and the audit log records it. Commands and hooks call [`finish`] for all three.

use std::io::{IsTerminal, Write};

use crate::cli::{ColorChoice, Common};
use crate::error::{Error, Result};
use crate::finding::Outcome;
use crate::report::{self, Format, ReportOptions};
use crate::session::Session;
use crate::Verdict;

/// Writes the report and the per-file errors, turns the outcome into a verdict and records
/// it in the audit log.
pub fn finish(session: &Session, outcome: &Outcome) -> Result<Verdict> {
    write_report(&session.common, outcome)?;
    let verdict = verdict(outcome);
    session.audit.scan_finished(outcome, verdict)?;
    Ok(verdict)
}

/// The report, where `--output` says, and on stderr what was not scanned or not reported.
fn write_report(common: &Common, outcome: &Outcome) -> Result<()> {
    let to_terminal = common.output.is_none() && std::io::stdout().is_terminal();
    let color = match common.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let options = ReportOptions {
        format: common.format,
        color,
        show_secrets: common.show_secrets,
    };
    // Streamed through a buffer, never built whole: a report of many findings costs their
    // count, not a copy of the report.
    match &common.output {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            let mut out = std::io::BufWriter::new(file);
            report::write(&mut out, outcome, &options)
                .and_then(|_| out.flush())
                .map_err(|e| Error::io(path, e))?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = report::write(&mut out, outcome, &options).and_then(|_| out.flush());
            crate::output::report_written(written).map_err(|e| Error::io("<stdout>", e))?;
        }
    }
    if common.output.is_some() {
        // The report went to a file (SARIF for code scanning, JUnit for a test report): the job
        // log, where people look first when a CI job fails, gets the human report on stderr,
        // redacted whatever `--show-secrets` says (a CI log is read more widely than a file).
        let human = ReportOptions {
            format: Format::Human,
            color: false,
            show_secrets: false,
        };
        let mut err = std::io::BufWriter::new(std::io::stderr().lock());
        let _ = report::write(&mut err, outcome, &human).and_then(|_| err.flush());
    }
    for err in &outcome.errors {
        eprintln!(
            "staunch: not scanned: {}",
            crate::text::inert(&err.to_string())
        );
    }
    report_dropped(outcome);
    print_not_scanned(outcome);
    Ok(())
}

/// A file that could not be read fails the run (a hook fails closed); otherwise any blocking
/// finding, reported or left out by a cap, blocks it.
fn verdict(outcome: &Outcome) -> Verdict {
    if !outcome.errors.is_empty() {
        Verdict::Failed
    } else if outcome.findings.iter().any(|f| f.blocks) || outcome.stats.dropped.blocking {
        Verdict::Blocked
    } else {
        Verdict::Clean
    }
}

/// Says on stderr what the findings caps left out of the report, naming the first files.
fn report_dropped(outcome: &Outcome) {
    let dropped = &outcome.stats.dropped;
    if dropped.findings == 0 {
        return;
    }
    for (path, count) in &outcome.capped {
        eprintln!(
            "staunch: {}: {count} more finding(s) over the per-file cap ([scan] max_findings_per_file) not reported",
            crate::text::inert(path)
        );
    }
    let about = if dropped.estimated { "about " } else { "" };
    let verdict = if dropped.blocking {
        "some of them block, so the run blocks"
    } else {
        "none of them blocks"
    };
    eprintln!(
        "staunch: {about}{} finding(s) over the findings caps were not reported ({verdict})",
        dropped.findings
    );
}

/// Archive entries listed on stderr; the JSON report and the audit log list them all.
const SHOWN_NOT_SCANNED: usize = 20;

/// Says on stderr which archive entries a limit, encryption or corruption kept from being
/// scanned in full. They do not change the exit code: like a file over the size limit, they
/// are skipped on purpose and counted.
fn print_not_scanned(outcome: &Outcome) {
    for entry in outcome.not_scanned.iter().take(SHOWN_NOT_SCANNED) {
        let line = format!("{}: {}", entry.path, entry.reason);
        eprintln!(
            "staunch: archive entry not scanned in full: {}",
            crate::text::inert(&line)
        );
    }
    if outcome.not_scanned.len() > SHOWN_NOT_SCANNED {
        eprintln!(
            "staunch: and {} more archive entries not scanned in full (--format json lists them)",
            outcome.not_scanned.len() - SHOWN_NOT_SCANNED
        );
    }
}
