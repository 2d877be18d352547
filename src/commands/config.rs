//! `staunch config check`: loads the configuration as a scan would and prints what it resolved
//! to, so a mistake shows before a hook meets it.

use std::io::Write;

use crate::error::Result;
use crate::session::{build_scanner, Session};
use crate::Verdict;

pub(crate) fn config_check(session: &Session) -> Result<Verdict> {
    let scanner = build_scanner(session)?;
    let (matcher, limits) = (&scanner.matcher, &scanner.limits);
    let o = matcher.options();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "config: valid");
    let _ = writeln!(out, "rules: {}", matcher.rules().len());
    let _ = writeln!(out, "max_file_size: {}", limits.max_file_size);
    let _ = writeln!(out, "fail_on_unscannable: {}", limits.fail_on_unscannable);
    let _ = writeln!(out, "decode_depth: {}", o.decode_depth);
    let _ = writeln!(out, "min_base64_length: {}", o.min_base64_length);
    let _ = writeln!(out, "archive_depth: {}", limits.archive.depth);
    let _ = writeln!(
        out,
        "archive_max_entry_size: {}",
        limits.archive.max_entry_size
    );
    let _ = writeln!(
        out,
        "archive_max_expanded_size: {}",
        limits.archive.max_expanded
    );
    let _ = writeln!(out, "archive_max_entries: {}", limits.archive.max_entries);
    let _ = writeln!(out, "internal_domains: {:?}", o.internal_domains);
    let _ = writeln!(
        out,
        "block: {:?}",
        o.block.iter().map(|s| s.as_str()).collect::<Vec<_>>()
    );
    let _ = writeln!(out, "allow entries: {}", o.allow.len());
    let _ = writeln!(out, "inline markers: {:?}", o.allow_markers);
    let _ = writeln!(out, "baseline fingerprints: {}", o.baseline.len());
    let _ = writeln!(
        out,
        ".gitleaksignore entries: {}",
        o.ignored_locations.len()
    );
    Ok(Verdict::Clean)
}
