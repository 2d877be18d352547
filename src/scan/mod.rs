//! Drives a scan: fragments from a source go through the matcher in parallel and come out as
//! one sorted list of findings with the counts a report needs.

pub mod git;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::error::Error;
use crate::finding::{AllowedBy, Dropped, Finding, Outcome, Stats, Suppressed, MAX_CAPPED_PATHS};
use crate::matcher::{FragmentResult, Matcher};
use crate::source::archive::{self, Tally};
use crate::source::container;
use crate::source::content::{self, Kind};
use crate::source::files::{self, FileContent};
use crate::source::Fragment;

/// Adds what an archive walk opened to the counts.
fn add_tally(stats: &mut Stats, tally: &Tally) {
    stats.archives += tally.archives;
    stats.archive_entries += tally.entries;
    stats.archive_entries_skipped += tally.limited;
    stats.archive_entries_encrypted += tally.encrypted;
}

/// Files over this size are skipped and counted unless configured otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The most findings a run reports unless configured otherwise.
pub const DEFAULT_MAX_FINDINGS: usize = 100_000;

/// How much a scan reads and keeps. The session resolves these from the flags and the
/// configuration; they sit beside the matcher, not in it, because the matcher never reads a
/// file or holds a run's findings.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Files and blobs over this size are skipped without being read (in change scans, a
    /// changed blob's added lines are still scanned up to 10 times this).
    pub max_file_size: u64,
    /// The most findings one run reports; the driver holds at most this many at once.
    pub max_findings: usize,
    /// Whether content a change scan cannot scan fails the run (`[policy]
    /// fail_on_unscannable`), or is named and counted as skipped.
    pub fail_on_unscannable: bool,
    /// How far archives are opened.
    pub archive: archive::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_findings: DEFAULT_MAX_FINDINGS,
            fail_on_unscannable: true,
            archive: archive::Limits::default(),
        }
    }
}

/// What a scan runs with: the matcher and the limits around it, as the session built them.
pub struct Scanner {
    pub matcher: Matcher,
    pub limits: Limits,
}

static RUN_STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// When this run began (`app::run` asks first): the duration a scan reports is the wall time
/// the user waited for it, loading the configuration and compiling the rules included, not
/// only the matching, which on a small change is a fraction of it.
pub fn run_started() -> Instant {
    *RUN_STARTED.get_or_init(Instant::now)
}

/// Per-file result, folded into the outcome.
enum FileResult {
    Scanned {
        /// Set only when the file went over the findings cap (to name it).
        path: Option<String>,
        bytes: u64,
        is_message: bool,
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
/// the decoded text's), an archive is walked within the archive limits and each of
/// its text entries scanned, anything else is handled as `not_text` says. A fragment of
/// added lines was cut from decoded text already and is scanned as it is.
fn scan_content(scanner: &Scanner, fragment: Fragment, not_text: NotText) -> FileResult {
    let matcher = &scanner.matcher;
    let bytes = fragment.data.len() as u64;
    let is_message = fragment.is_message;
    let mut tally = Tally::default();
    // The fragment's path when its findings were capped, else nothing (no allocation per file).
    let capped = |result: &FragmentResult, path: &str| {
        (result.dropped.findings > 0).then(|| path.to_string())
    };
    if fragment.line_numbers.is_some() {
        let result = matcher.find_in(&fragment);
        return FileResult::Scanned {
            path: capped(&result, &fragment.path),
            bytes,
            is_message,
            result,
            tally,
        };
    }
    let path;
    let result = match content::sniff(&fragment.data) {
        Kind::Text => {
            let result = matcher.find_in(&fragment);
            path = capped(&result, &fragment.path);
            result
        }
        Kind::Archive(format) if scanner.limits.archive.depth > 0 => {
            let mut result = FragmentResult::default();
            archive::expand(
                &fragment,
                format,
                &scanner.limits.archive,
                &mut |entry| absorb(&mut result, matcher.find_in(&entry)),
                &mut tally,
            );
            path = capped(&result, &fragment.path);
            result
        }
        Kind::Container(container) => {
            let described = Fragment {
                data: container::describe(container, &fragment.data),
                ..fragment
            };
            let result = matcher.find_in(&described);
            path = capped(&result, &described.path);
            result
        }
        kind if kind.is_text() => {
            let decoded = Fragment {
                data: content::decode_owned(kind, fragment.data),
                ..fragment
            };
            let result = matcher.find_in(&decoded);
            path = capped(&result, &decoded.path);
            result
        }
        _ if not_text == NotText::Scan => {
            let result = matcher.find_in(&fragment);
            path = capped(&result, &fragment.path);
            result
        }
        _ => return FileResult::Skipped,
    };
    FileResult::Scanned {
        path,
        bytes,
        is_message,
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
    into.dropped.add(result.dropped);
    into.rejected_checksum += result.rejected_checksum;
}

/// Scans files on disk under `roots`.
pub fn scan_paths(scanner: &Scanner, roots: &[PathBuf]) -> Outcome {
    let started = run_started();
    // Files are read and scanned on the walker's threads as they are found; the results are
    // put in path order afterwards, so the report does not depend on thread timing.
    let results = Mutex::new(Vec::new());
    let walk_errors = files::for_each_file(roots, |path| {
        let result = match files::read(&path, scanner.limits.max_file_size) {
            Ok(FileContent::Data(data)) => {
                let shown = path.to_string_lossy();
                let shown = shown.strip_prefix("./").unwrap_or(&shown);
                scan_content(scanner, Fragment::file(shown, data), NotText::Skip)
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
    outcome.cap(scanner.limits.max_findings);
    outcome.stats.errors += walk_errors.len() as u64;
    outcome.errors.extend(walk_errors);
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    outcome
}

/// Scans fragments already in memory (stdin, git blobs); `not_text` says what becomes of a
/// whole fragment that is neither text nor an archive.
pub fn scan_fragments(scanner: &Scanner, fragments: Vec<Fragment>, not_text: NotText) -> Outcome {
    let started = run_started();
    let results: Vec<FileResult> = fragments
        .into_par_iter()
        .map(|fragment| scan_content(scanner, fragment, not_text))
        .collect();
    let mut outcome = fold(results);
    outcome.cap(scanner.limits.max_findings);
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    outcome
}

/// Collects findings from fragments scanned on many threads as they arrive (history scans,
/// where holding every fragment at once would make memory grow with the history).
pub struct Collector {
    /// The most findings kept (see [`Outcome::cap`]); past it findings are only counted.
    max_findings: usize,
    dropped: std::sync::Mutex<(Dropped, Vec<(String, usize)>)>,
    findings: std::sync::Mutex<Vec<Finding>>,
    suppressed: std::sync::Mutex<Vec<Suppressed>>,
    files: std::sync::atomic::AtomicU64,
    messages: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
    allowed: std::sync::atomic::AtomicU64,
    allowed_by: std::sync::Mutex<AllowedBy>,
    found: std::sync::atomic::AtomicU64,
    skipped: std::sync::atomic::AtomicU64,
    rejected_checksum: std::sync::atomic::AtomicU64,
    tally: std::sync::Mutex<Tally>,
}

impl Collector {
    pub fn new(max_findings: usize) -> Collector {
        Collector {
            max_findings,
            dropped: Default::default(),
            findings: Default::default(),
            suppressed: Default::default(),
            files: Default::default(),
            messages: Default::default(),
            bytes: Default::default(),
            allowed: Default::default(),
            allowed_by: Default::default(),
            found: Default::default(),
            skipped: Default::default(),
            rejected_checksum: Default::default(),
            tally: Default::default(),
        }
    }

    /// Scans a blob's content as [`scan_content`] does (binary content is counted as skipped).
    pub fn scan(&self, scanner: &Scanner, fragment: Fragment) {
        use std::sync::atomic::Ordering::Relaxed;
        let scanned = scan_content(scanner, fragment, NotText::Skip);
        let FileResult::Scanned {
            path,
            bytes,
            is_message,
            mut result,
            tally,
        } = scanned
        else {
            self.skipped.fetch_add(1, Relaxed);
            return;
        };
        if let Some(path) = path {
            let mut dropped = self.dropped.lock().unwrap();
            dropped.0.add(result.dropped);
            if dropped.1.len() < MAX_CAPPED_PATHS {
                dropped.1.push((path, result.dropped.findings));
            }
        }
        self.counter(is_message).fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        self.allowed.fetch_add(result.allowed as u64, Relaxed);
        if result.rejected_checksum > 0 {
            self.rejected_checksum
                .fetch_add(result.rejected_checksum as u64, Relaxed);
        }
        if result.allowed > 0 {
            self.allowed_by.lock().unwrap().add(result.allowed_by);
        }
        if !result.suppressed.is_empty() {
            let mut suppressed = self.suppressed.lock().unwrap();
            let room = self.max_findings.saturating_sub(suppressed.len());
            result.suppressed.truncate(room);
            suppressed.extend(result.suppressed);
        }
        if !result.findings.is_empty() {
            self.found.fetch_add(result.findings.len() as u64, Relaxed);
            let mut findings = self.findings.lock().unwrap();
            let room = self.max_findings.saturating_sub(findings.len());
            if result.findings.len() > room {
                // Which findings arrive first depends on thread timing; the count does not.
                let left_out = result.findings.split_off(room);
                let mut dropped = self.dropped.lock().unwrap();
                dropped.0.add(Dropped {
                    findings: left_out.len(),
                    blocking: left_out.iter().any(|f| f.blocks),
                    estimated: false,
                });
            }
            findings.extend(result.findings);
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

    /// Like [`Collector::note_scanned`], for a commit or tag message.
    pub fn note_message(&self, bytes: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.messages.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
    }

    /// The counter a fragment is counted in: files, or messages.
    fn counter(&self, is_message: bool) -> &std::sync::atomic::AtomicU64 {
        if is_message {
            &self.messages
        } else {
            &self.files
        }
    }

    /// Like [`Collector::scan`] for a fragment already counted with
    /// [`Collector::note_scanned`] (or [`Collector::note_message`]): a history scan looks at
    /// every blob and message once, then scans the few that may hold a secret again with their
    /// path and commit.
    pub fn rescan(&self, scanner: &Scanner, fragment: Fragment) {
        use std::sync::atomic::Ordering::Relaxed;
        self.counter(fragment.is_message).fetch_sub(1, Relaxed);
        self.bytes.fetch_sub(fragment.data.len() as u64, Relaxed);
        self.scan(scanner, fragment);
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
        let (dropped, capped) = self.dropped.into_inner().unwrap();
        let mut stats = Stats {
            files: self.files.into_inner(),
            messages: self.messages.into_inner(),
            dropped,
            bytes: self.bytes.into_inner(),
            skipped: skipped + self.skipped.into_inner(),
            errors: 0,
            allowed: self.allowed.into_inner(),
            allowed_by: self.allowed_by.into_inner().unwrap(),
            duration_ms: started.elapsed().as_millis() as u64,
            rejected_checksum: self.rejected_checksum.into_inner(),
            ..Stats::default()
        };
        add_tally(&mut stats, &tally);
        let mut not_scanned = tally.skipped;
        not_scanned.sort_by(|a, b| a.path.cmp(&b.path));
        not_scanned.dedup();
        Outcome {
            findings,
            suppressed,
            stats,
            errors: Vec::new(),
            not_scanned,
            capped,
        }
    }
}

fn fold(results: Vec<FileResult>) -> Outcome {
    let mut outcome = Outcome::default();
    for result in results {
        match result {
            FileResult::Scanned {
                path,
                bytes,
                is_message,
                result,
                tally,
            } => {
                if let Some(path) = path {
                    outcome.note_dropped(&path, result.dropped);
                }
                add_tally(&mut outcome.stats, &tally);
                outcome.not_scanned.extend(tally.skipped);
                outcome.stats.allowed_by.add(result.allowed_by);
                if is_message {
                    outcome.stats.messages += 1;
                } else {
                    outcome.stats.files += 1;
                }
                outcome.stats.bytes += bytes;
                outcome.stats.allowed += result.allowed as u64;
                outcome.stats.rejected_checksum += result.rejected_checksum as u64;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages are counted as messages, files as files, both in the bytes, wherever they are
    /// scanned.
    #[test]
    fn messages_are_counted_apart_from_files() {
        let scanner = Scanner {
            matcher: Matcher::new(Vec::new(), Default::default()),
            limits: Limits::default(),
        };
        let message = Fragment::message(crate::source::COMMIT_MESSAGE, "c".into(), b"msg".to_vec());
        let file = Fragment::file("a.txt", b"file".to_vec());
        let outcome = scan_fragments(&scanner, vec![message.clone(), file.clone()], NotText::Skip);
        let s = &outcome.stats;
        assert_eq!((s.files, s.messages, s.bytes), (1, 1, 7));

        let collector = Collector::new(usize::MAX);
        collector.note_message(3);
        collector.note_scanned(4);
        collector.rescan(&scanner, message);
        collector.scan(&scanner, file);
        let s = collector.finish(0, Instant::now()).stats;
        assert_eq!((s.files, s.messages, s.bytes), (2, 1, 11));
    }
}
