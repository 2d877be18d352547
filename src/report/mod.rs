//! Reporters turn an outcome into text. They never scan and never see more than the findings,
//! and every one redacts secrets unless `show_secrets` is set.

mod github;
mod human;
mod json;
mod junit;
mod sarif;

use std::io::Write;

use crate::finding::{redact, Finding};
use crate::scan::Outcome;

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
pub fn shown_secret(finding: &Finding, options: &ReportOptions) -> String {
    if options.show_secrets {
        String::from_utf8_lossy(&finding.secret).into_owned()
    } else {
        redact(&finding.secret)
    }
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
