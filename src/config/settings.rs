//! What a configuration resolves to: the rules to run and how findings are judged, whichever
//! format (ours or gitleaks') it was written in.

use std::path::PathBuf;

use super::allow::Allow;
use crate::rules::{Rule, Severity};

/// The `[scan] archive_*` settings, each unset unless the file gives it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchiveSettings {
    pub depth: Option<usize>,
    pub max_entry_size: Option<u64>,
    pub max_expanded_size: Option<u64>,
    pub max_entries: Option<u64>,
}

impl ArchiveSettings {
    /// The limits these settings give over `defaults`.
    pub fn apply(
        &self,
        defaults: crate::source::archive::Limits,
    ) -> crate::source::archive::Limits {
        crate::source::archive::Limits {
            depth: self.depth.unwrap_or(defaults.depth),
            max_entry_size: self.max_entry_size.unwrap_or(defaults.max_entry_size),
            max_expanded: self.max_expanded_size.unwrap_or(defaults.max_expanded),
            max_entries: self.max_entries.unwrap_or(defaults.max_entries),
        }
    }
}

/// Everything the config decides, resolved: the rules to run and how findings are judged.
#[derive(Debug)]
pub struct Settings {
    pub rules: Vec<Rule>,
    pub max_file_size: Option<u64>,
    pub decode_depth: Option<usize>,
    pub min_base64_length: Option<usize>,
    pub max_findings_per_file: Option<usize>,
    pub max_findings: Option<usize>,
    pub archive: ArchiveSettings,
    pub internal_domains: Vec<String>,
    pub allow: Vec<Allow>,
    pub block: Option<Vec<Severity>>,
    pub foreign_allow_markers: bool,
    pub honour_inline_allows_in_range: bool,
    pub fail_on_unscannable: bool,
    pub baseline: Option<PathBuf>,
    pub audit_log: Option<PathBuf>,
    /// Where the settings came from, for `config check`.
    pub source: Option<String>,
}
