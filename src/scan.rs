//! Drives a scan: fragments from a source go through the matcher in parallel and come out as
//! one sorted list of findings with the counts a report needs.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Error;
use crate::finding::{Finding, Suppressed};
use crate::matcher::{FragmentResult, Matcher};
use crate::source::archive::{self, SkippedEntry, Tally};
use crate::source::content::{self, Kind};
use crate::source::files::{self, FileContent};
use crate::source::Fragment;

/// Counts that say how much was looked at, and what was not.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub files: u64,
    pub bytes: u64,
    /// Files not scanned on purpose: binary or over the size limit.
    pub skipped: u64,
    /// Files that could not be read: the scan is incomplete.
    pub errors: u64,
    /// Findings silenced by an allow mechanism (inline marker, config, baseline).
    pub allowed: u64,
    /// The same, by mechanism.
    pub allowed_by: crate::matcher::AllowedBy,
    pub duration_ms: u64,
    /// Archives and compressed files opened, nested ones included.
    pub archives: u64,
    /// Entries of those archives scanned as text.
    pub archive_entries: u64,
    /// Archive entries not scanned in full because of a limit (listed in `not_scanned`).
    pub archive_entries_skipped: u64,
    /// Encrypted archive entries: not scanned (listed in `not_scanned`).
    pub archive_entries_encrypted: u64,
}

impl Stats {
    fn add_tally(&mut self, tally: &Tally) {
        self.archives += tally.archives;
        self.archive_entries += tally.entries;
        self.archive_entries_skipped += tally.limited;
        self.archive_entries_encrypted += tally.encrypted;
    }
}

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// What an allow mechanism silenced, sorted like the findings.
    pub suppressed: Vec<Suppressed>,
    pub stats: Stats,
    /// Per-file problems: reported, counted, and they make the exit code 2.
    pub errors: Vec<Error>,
    /// Archive entries not scanned, or not in full (a limit, encryption, corruption), sorted
    /// by path: reported on stderr and in the audit log; they do not change the exit code,
    /// like files skipped for their size.
    pub not_scanned: Vec<SkippedEntry>,
}

impl Outcome {
    /// Adds another scan's results (the pre-commit framework's named files: staged and not).
    pub fn merge(&mut self, other: Outcome) {
        self.findings.extend(other.findings);
        self.findings.sort();
        self.suppressed.extend(other.suppressed);
        self.suppressed.sort();
        let (s, o) = (&mut self.stats, other.stats);
        s.files += o.files;
        s.bytes += o.bytes;
        s.skipped += o.skipped;
        s.errors += o.errors;
        s.allowed += o.allowed;
        s.allowed_by.add(o.allowed_by);
        s.archives += o.archives;
        s.archive_entries += o.archive_entries;
        s.archive_entries_skipped += o.archive_entries_skipped;
        s.archive_entries_encrypted += o.archive_entries_encrypted;
        self.errors.extend(other.errors);
        self.not_scanned.extend(other.not_scanned);
        self.not_scanned.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// Per-file result, folded into the outcome.
enum FileResult {
    Scanned {
        bytes: u64,
        result: FragmentResult,
        tally: Tally,
    },
    Skipped,
    Failed(Error),
}

/// What to do with a whole file that is neither text nor an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotText {
    /// Count it as skipped (files on disk, blobs).
    Skip,
    /// Scan its bytes anyway (standard input, which has always been scanned as given).
    Scan,
}

/// The one way content reaches the matcher. A whole file is sniffed ([`content::sniff`]):
/// text is scanned as UTF-8 (UTF-16 and byte order marks decoded, so lines and columns are
/// the decoded text's), an archive is walked within `matcher.options().archive` and each of
/// its text entries scanned, anything else is handled as `not_text` says. A fragment of
/// added lines was cut from decoded text already and is scanned as it is.
fn scan_content(matcher: &Matcher, fragment: Fragment, not_text: NotText) -> FileResult {
    let bytes = fragment.data.len() as u64;
    let mut tally = Tally::default();
    if fragment.line_numbers.is_some() {
        let result = matcher.scan_fragment(&fragment);
        return FileResult::Scanned {
            bytes,
            result,
            tally,
        };
    }
    let result = match content::sniff(&fragment.data) {
        Kind::Text => matcher.scan_fragment(&fragment),
        Kind::Archive(format) if matcher.options().archive.depth > 0 => {
            let mut result = FragmentResult::default();
            archive::expand(
                &fragment,
                format,
                &matcher.options().archive,
                &mut |entry| absorb(&mut result, matcher.scan_fragment(&entry)),
                &mut tally,
            );
            result
        }
        kind if kind.is_text() => {
            let decoded = Fragment {
                data: content::decode_owned(kind, fragment.data),
                ..fragment
            };
            matcher.scan_fragment(&decoded)
        }
        _ if not_text == NotText::Scan => matcher.scan_fragment(&fragment),
        _ => return FileResult::Skipped,
    };
    FileResult::Scanned {
        bytes,
        result,
        tally,
    }
}

/// Adds an archive entry's results to its archive's.
fn absorb(into: &mut FragmentResult, result: FragmentResult) {
    into.findings.extend(result.findings);
    into.allowed += result.allowed;
    into.allowed_by.add(result.allowed_by);
    into.suppressed.extend(result.suppressed);
}

/// Scans files on disk under `roots`.
pub fn scan_paths(matcher: &Matcher, roots: &[PathBuf], max_file_size: u64) -> Outcome {
    let started = Instant::now();
    // Files are read and scanned on the walker's threads as they are found; the results are
    // put in path order afterwards, so the report does not depend on thread timing.
    let results = Mutex::new(Vec::new());
    let walk_errors = files::for_each_file(roots, |path| {
        let result = match files::read(&path, max_file_size) {
            Ok(FileContent::Data(data)) => {
                let shown = path.to_string_lossy();
                let shown = shown.strip_prefix("./").unwrap_or(&shown);
                scan_content(matcher, Fragment::file(shown, data), NotText::Skip)
            }
            Ok(FileContent::TooLarge(_)) => FileResult::Skipped,
            Err(e) => FileResult::Failed(e),
        };
        results.lock().unwrap().push((path, result));
    });
    let mut results = results.into_inner().unwrap();
    // By bytes, not by path components: cheaper, and just as reproducible.
    results.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    results.dedup_by(|a, b| a.0 == b.0);
    let results: Vec<FileResult> = results.into_iter().map(|(_, result)| result).collect();
    let mut outcome = fold(results);
    outcome.stats.errors += walk_errors.len() as u64;
    outcome.errors.extend(walk_errors);
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    outcome
}

/// Scans fragments already in memory (stdin, git blobs); `not_text` says what becomes of a
/// whole fragment that is neither text nor an archive.
pub fn scan_fragments(matcher: &Matcher, fragments: Vec<Fragment>, not_text: NotText) -> Outcome {
    let started = Instant::now();
    let results: Vec<FileResult> = fragments
        .into_par_iter()
        .map(|fragment| scan_content(matcher, fragment, not_text))
        .collect();
    let mut outcome = fold(results);
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    outcome
}

/// Collects findings from fragments scanned on many threads as they arrive (history scans,
/// where holding every fragment at once would make memory grow with the history).
#[derive(Default)]
pub struct Collector {
    findings: std::sync::Mutex<Vec<Finding>>,
    suppressed: std::sync::Mutex<Vec<Suppressed>>,
    files: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
    allowed: std::sync::atomic::AtomicU64,
    allowed_by: std::sync::Mutex<crate::matcher::AllowedBy>,
    found: std::sync::atomic::AtomicU64,
    skipped: std::sync::atomic::AtomicU64,
    tally: std::sync::Mutex<Tally>,
}

impl Collector {
    /// Scans a blob's content as [`scan_content`] does (binary content is counted as skipped).
    pub fn scan(&self, matcher: &Matcher, fragment: Fragment) {
        use std::sync::atomic::Ordering::Relaxed;
        let (bytes, result, tally) = match scan_content(matcher, fragment, NotText::Skip) {
            FileResult::Scanned {
                bytes,
                result,
                tally,
            } => (bytes, result, tally),
            FileResult::Skipped | FileResult::Failed(_) => {
                self.skipped.fetch_add(1, Relaxed);
                return;
            }
        };
        self.files.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        self.allowed.fetch_add(result.allowed as u64, Relaxed);
        if result.allowed > 0 {
            self.allowed_by.lock().unwrap().add(result.allowed_by);
        }
        if !result.suppressed.is_empty() {
            self.suppressed.lock().unwrap().extend(result.suppressed);
        }
        if !result.findings.is_empty() {
            self.found.fetch_add(result.findings.len() as u64, Relaxed);
            self.findings.lock().unwrap().extend(result.findings);
        }
        if tally.archives > 0 || !tally.skipped.is_empty() {
            self.tally.lock().unwrap().add(tally);
        }
    }

    /// Counts a blob of `bytes` that was looked at in full and holds nothing any rule reports.
    pub fn note_scanned(&self, bytes: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.files.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
    }

    /// Like [`Collector::scan`] for a fragment already counted with
    /// [`Collector::note_scanned`]: a history scan looks at every blob once, then scans the few
    /// that may hold a secret again with their path and commit.
    pub fn rescan(&self, matcher: &Matcher, fragment: Fragment) {
        use std::sync::atomic::Ordering::Relaxed;
        self.files.fetch_sub(1, Relaxed);
        self.bytes.fetch_sub(fragment.data.len() as u64, Relaxed);
        self.scan(matcher, fragment);
    }

    /// (files, bytes, findings) so far, for progress display.
    pub fn progress(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.files.load(Relaxed),
            self.bytes.load(Relaxed),
            self.found.load(Relaxed),
        )
    }

    pub fn finish(self, skipped: u64, started: Instant) -> Outcome {
        let mut findings = self.findings.into_inner().unwrap();
        findings.sort();
        findings.dedup();
        let mut suppressed = self.suppressed.into_inner().unwrap();
        suppressed.sort();
        suppressed.dedup();
        let tally = self.tally.into_inner().unwrap();
        let mut stats = Stats {
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
            skipped: skipped + self.skipped.into_inner(),
            errors: 0,
            allowed: self.allowed.into_inner(),
            allowed_by: self.allowed_by.into_inner().unwrap(),
            duration_ms: started.elapsed().as_millis() as u64,
            ..Stats::default()
        };
        stats.add_tally(&tally);
        let mut not_scanned = tally.skipped;
        not_scanned.sort_by(|a, b| a.path.cmp(&b.path));
        not_scanned.dedup();
        Outcome {
            findings,
            suppressed,
            stats,
            errors: Vec::new(),
            not_scanned,
        }
    }
}

fn fold(results: Vec<FileResult>) -> Outcome {
    let mut outcome = Outcome::default();
    for result in results {
        match result {
            FileResult::Scanned {
                bytes,
                result,
                tally,
            } => {
                outcome.stats.add_tally(&tally);
                outcome.not_scanned.extend(tally.skipped);
                outcome.stats.allowed_by.add(result.allowed_by);
                outcome.stats.files += 1;
                outcome.stats.bytes += bytes;
                outcome.stats.allowed += result.allowed as u64;
                outcome.findings.extend(result.findings);
                outcome.suppressed.extend(result.suppressed);
            }
            FileResult::Skipped => outcome.stats.skipped += 1,
            FileResult::Failed(e) => {
                outcome.stats.errors += 1;
                outcome.errors.push(e);
            }
        }
    }
    outcome.findings.sort();
    outcome.findings.dedup();
    outcome.suppressed.sort();
    outcome.suppressed.dedup();
    outcome.not_scanned.sort_by(|a, b| a.path.cmp(&b.path));
    outcome.not_scanned.dedup();
    outcome
}
