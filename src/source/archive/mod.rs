//! Archives and compressed files: zip (and the formats built on it: jar, war, apk, whl,
//! nupkg, docx, ...), tar, gzip, bzip2, xz and zstd, opened in memory and walked entry by
//! entry, so a secret is found whatever file wraps it.
//!
//! This is its own module because it is the one place where staunch runs a decompressor on
//! content an attacker chose. Everything here is bounded:
//! - nothing touches the file system: entries are read through the decompressing readers into
//!   memory, one at a time, and an entry's name (`..`, an absolute path, a symlink) is only a
//!   name in a report;
//! - an entry is read up to [`Limits::max_entry_size`] bytes; the rest is not read;
//! - all the bytes the decompressors produce for one file (its nested archives included) are
//!   metered against [`Limits::max_expanded`], so a bomb stops at the limit, never at its end;
//! - at most [`Limits::max_entries`] entries are opened per file, and archives are opened
//!   [`Limits::depth`] levels deep.
//!
//! What a limit cut short, and every entry that could not be read (encrypted, an unsupported
//! method, corrupt), is recorded in the [`Tally`], never dropped: the report says what was not
//! scanned. The decompressing itself is the ecosystem's, all pure Rust (`zip`, `tar`,
//! `flate2`, `bzip2`, `lzma-rust2`, `ruzstd`). A decoder's own window (xz's dictionary,
//! zstd's window) is capped too, at [`MAX_WINDOW`]: a header cannot make it reserve more.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Cursor, Read};

use serde::Serialize;

use super::content::{self, Archive, Kind};
use super::Fragment;

/// The largest xz dictionary or zstd window a stream may ask for (xz -9 uses 64 MiB; zstd's
/// reader refuses more than 100 MiB on its own).
pub const MAX_WINDOW: u64 = 65 * 1024 * 1024;

/// How far staunch goes into archives. The defaults are in README.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Archive levels opened: 1 opens a file's own entries, 3 (the default) an archive inside
    /// an archive inside the file; 0 opens none.
    pub depth: usize,
    /// Bytes read of one entry; the rest of a larger entry is not read.
    pub max_entry_size: u64,
    /// Bytes all decompressors together may produce for one file, nested archives included.
    pub max_expanded: u64,
    /// Entries opened in one file, nested archives included.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 3,
            max_entry_size: 10 * 1024 * 1024,
            max_expanded: 100 * 1024 * 1024,
            max_entries: 10_000,
        }
    }
}

/// Why an entry was not scanned, or not in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum SkipReason {
    /// Larger than the per-entry limit: the first bytes, up to the limit, were scanned.
    EntryTooLarge(u64),
    /// The file's expanded-bytes limit was reached here: the rest of the file was not read.
    ExpandedTooLarge(u64),
    /// The file's entry limit was reached here: later entries were not opened.
    TooManyEntries(u64),
    /// An archive nested deeper than the depth limit.
    TooDeep(usize),
    /// Encrypted: staunch never guesses a password.
    Encrypted,
    /// Corrupt, or a compression method staunch does not read.
    Unreadable(String),
}

impl SkipReason {
    /// Whether one of the [`Limits`] is the cause.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            SkipReason::EntryTooLarge(_)
                | SkipReason::ExpandedTooLarge(_)
                | SkipReason::TooManyEntries(_)
                | SkipReason::TooDeep(_)
        )
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::EntryTooLarge(limit) => write!(
                f,
                "truncated: larger than the per-entry limit of {limit} bytes; only that much was read"
            ),
            SkipReason::ExpandedTooLarge(limit) => write!(
                f,
                "truncated: the archive expands to more than {limit} bytes; the rest was not read"
            ),
            SkipReason::TooManyEntries(limit) => write!(
                f,
                "truncated: more than {limit} entries; the rest were not opened"
            ),
            SkipReason::TooDeep(limit) => {
                write!(
                    f,
                    "an archive nested deeper than {limit} levels, not opened"
                )
            }
            SkipReason::Encrypted => write!(f, "encrypted, not scanned"),
            SkipReason::Unreadable(why) => write!(f, "unreadable: {why}"),
        }
    }
}

/// An entry, or the rest of an archive, that was not scanned (in full).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedEntry {
    /// `outer.zip!inner/file`, as findings name it.
    pub path: String,
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// What opening archives gave, for the stats and the report.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Archives and compressed streams opened (nested ones included).
    pub archives: u64,
    /// Entries scanned as text.
    pub entries: u64,
    /// Entries not scanned in full because of a limit.
    pub limited: u64,
    /// Encrypted entries, not scanned.
    pub encrypted: u64,
    pub skipped: Vec<SkippedEntry>,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.archives += other.archives;
        self.entries += other.entries;
        self.limited += other.limited;
        self.encrypted += other.encrypted;
        self.skipped.extend(other.skipped);
    }

    fn skip(&mut self, path: String, reason: SkipReason) {
        if reason.is_limit() {
            self.limited += 1;
        }
        if reason == SkipReason::Encrypted {
            self.encrypted += 1;
        }
        self.skipped.push(SkippedEntry { path, reason });
    }
}

/// Walks the archive `fragment` holds (`format`, as [`content::sniff`] found it) and calls
/// `visit` with every text entry, decoded, as a whole-file fragment named
/// `fragment.path!entry` (each nesting level adds its `!`). Never fails: what could not be
/// read is in the tally.
pub fn expand(
    fragment: &Fragment,
    format: Archive,
    limits: &Limits,
    visit: &mut dyn FnMut(Fragment),
    tally: &mut Tally,
) {
    let budget = Budget {
        bytes: Cell::new(limits.max_expanded),
        entries: Cell::new(limits.max_entries),
        stopped: Cell::new(false),
    };
    let mut walk = Walk {
        limits,
        budget: &budget,
        commit: fragment.commit.as_deref(),
        visit,
        tally,
    };
    // The readers are third-party code fed hostile bytes: a panic in one is an unreadable
    // archive, not the end of the scan.
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        walk.archive(&fragment.path, format, &fragment.data, 1)
    }));
    if opened.is_err() {
        tally.skip(
            fragment.path.clone(),
            SkipReason::Unreadable("the archive reader failed on it".into()),
        );
    }
}

/// What one file may still cost: expanded bytes and entries, shared by every nesting level.
struct Budget {
    bytes: Cell<u64>,
    entries: Cell<u64>,
    /// Set once a file-wide limit is reached: nothing more of the file is read.
    stopped: Cell<bool>,
}

/// A decompressor's output, counted against the budget. At the limit it fails with
/// [`BudgetSpent`], so a reader in the middle of a bomb stops there.
struct Metered<'a, R> {
    inner: R,
    budget: &'a Budget,
}

#[derive(Debug)]
struct BudgetSpent;

impl fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expanded-bytes limit reached")
    }
}

impl std::error::Error for BudgetSpent {}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.budget.bytes.get();
        if left == 0 {
            return Err(io::Error::other(BudgetSpent));
        }
        let room = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..room])?;
        self.budget.bytes.set(left - n as u64);
        Ok(n)
    }
}

/// ruzstd's reader with its errors as `std::io` ones.
struct ZstdReader<R>(R);

impl<R: ruzstd::io::Read> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

fn is_budget_spent(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<BudgetSpent>())
}

struct Walk<'a> {
    limits: &'a Limits,
    budget: &'a Budget,
    commit: Option<&'a str>,
    visit: &'a mut dyn FnMut(Fragment),
    tally: &'a mut Tally,
}

impl Walk<'_> {
    /// Opens the archive `data`, named `name`, at nesting level `level` (1 for a file's own).
    fn archive(&mut self, name: &str, format: Archive, data: &[u8], level: usize) {
        self.tally.archives += 1;
        let result = match format {
            Archive::Zip => self.zip(name, data, level),
            Archive::Tar => self.tar(name, data, level),
            Archive::Gzip => self.stream(name, flate2::read::MultiGzDecoder::new(data), level),
            Archive::Bzip2 => self.stream(name, bzip2::read::MultiBzDecoder::new(data), level),
            Archive::Xz => {
                let limit_kib = (MAX_WINDOW / 1024 + 64) as u32;
                let reader = lzma_rust2::XzReader::new_mem_limit(data, true, limit_kib);
                self.stream(name, reader, level)
            }
            Archive::Zstd => match ruzstd::decoding::StreamingDecoder::new(data) {
                Ok(reader) => self.stream(name, ZstdReader(reader), level),
                Err(err) => Err(io::Error::other(err.to_string())),
            },
        };
        if let Err(err) = result {
            self.failed(name, &err);
        }
    }

    /// Records why reading `name` stopped.
    fn failed(&mut self, name: &str, err: &io::Error) {
        if is_budget_spent(err) {
            self.spent(name);
        } else if !self.budget.stopped.get() {
            self.tally
                .skip(name.to_string(), SkipReason::Unreadable(err.to_string()));
        }
    }

    /// The expanded-bytes limit was reached while reading `name`.
    fn spent(&mut self, name: &str) {
        if !self.budget.stopped.replace(true) {
            let reason = SkipReason::ExpandedTooLarge(self.limits.max_expanded);
            self.tally.skip(name.to_string(), reason);
        }
    }

    /// Takes one entry from the budget; false (and the reason recorded once) when the file's
    /// entry limit is reached or an earlier limit stopped the walk.
    fn take_entry(&mut self, name: &str) -> bool {
        if self.budget.stopped.get() {
            return false;
        }
        let left = self.budget.entries.get();
        if left == 0 {
            self.budget.stopped.set(true);
            let reason = SkipReason::TooManyEntries(self.limits.max_entries);
            self.tally.skip(name.to_string(), reason);
            return false;
        }
        self.budget.entries.set(left - 1);
        true
    }

    fn zip(&mut self, name: &str, data: &[u8], level: usize) -> io::Result<()> {
        let mut archive = zip::ZipArchive::new(Cursor::new(data)).map_err(io::Error::other)?;
        for index in 0..archive.len() {
            let (entry_name, encrypted) = {
                let raw = archive.by_index_raw(index).map_err(io::Error::other)?;
                if !raw.is_file() || raw.is_symlink() {
                    continue;
                }
                (
                    String::from_utf8_lossy(raw.name_raw()).into_owned(),
                    raw.encrypted(),
                )
            };
            let path = format!("{name}!{entry_name}");
            if !self.take_entry(&path) {
                return Ok(());
            }
            if encrypted {
                self.tally.skip(path, SkipReason::Encrypted);
                continue;
            }
            match archive.by_index(index) {
                Ok(file) => {
                    let metered = Metered {
                        inner: file,
                        budget: self.budget,
                    };
                    // A broken entry is noted by `entry`; the others are still worth reading.
                    self.entry(path, metered, level);
                }
                Err(err) => self
                    .tally
                    .skip(path, SkipReason::Unreadable(err.to_string())),
            }
            if self.budget.stopped.get() {
                return Ok(());
            }
        }
        Ok(())
    }

    fn tar<R: Read>(&mut self, name: &str, reader: R, level: usize) -> io::Result<()> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries()? {
            let entry = entry?;
            // Links, directories and devices are names only; their targets are never followed.
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = format!("{name}!{}", String::from_utf8_lossy(&entry.path_bytes()));
            if !self.take_entry(&path) {
                return Ok(());
            }
            // After a broken entry the stream is lost: `entry` noted it, nothing more to read.
            if !self.entry(path, entry, level) || self.budget.stopped.get() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// A compressed stream: a tar inside it is walked as it is decompressed (`x.tar.gz!a/b`);
    /// anything else is one entry named after the file without its suffix (`x.sql.gz!x.sql`).
    fn stream<R: Read>(&mut self, name: &str, decoder: R, level: usize) -> io::Result<()> {
        let mut stream = Metered {
            inner: decoder,
            budget: self.budget,
        };
        let mut head = Vec::with_capacity(512);
        (&mut stream).take(512).read_to_end(&mut head)?;
        let whole = Cursor::new(head).chain(stream);
        if content::is_tar(whole.get_ref().0.get_ref()) {
            return self.tar(name, whole, level);
        }
        let path = format!("{name}!{}", inner_name(name));
        if !self.take_entry(&path) {
            return Ok(());
        }
        self.entry(path, whole, level);
        Ok(())
    }

    /// Reads one entry within the limits and scans it, or opens it if it is an archive; false
    /// when it could not be read (noted in the tally).
    fn entry(&mut self, path: String, reader: impl Read, level: usize) -> bool {
        let limit = self.limits.max_entry_size;
        let mut data = Vec::new();
        if let Err(err) = reader.take(limit.saturating_add(1)).read_to_end(&mut data) {
            if is_budget_spent(&err) {
                self.spent(&path);
            } else {
                self.tally
                    .skip(path, SkipReason::Unreadable(err.to_string()));
            }
            return false;
        }
        let truncated = data.len() as u64 > limit;
        if truncated {
            data.truncate(limit as usize);
            self.tally
                .skip(path.clone(), SkipReason::EntryTooLarge(limit));
        }
        match content::sniff(&data) {
            // A cut archive cannot be read (a zip's directory is at its end): noted above.
            Kind::Archive(_) if truncated => {}
            Kind::Archive(_) if level >= self.limits.depth => {
                self.tally
                    .skip(path, SkipReason::TooDeep(self.limits.depth));
            }
            Kind::Archive(format) => self.archive(&path, format, &data, level + 1),
            kind if kind.is_text() => {
                self.tally.entries += 1;
                (self.visit)(Fragment {
                    path,
                    data: content::decode_owned(kind, data),
                    commit: self.commit.map(str::to_string),
                    line_numbers: None,
                    is_message: false,
                });
            }
            Kind::Container(container) => {
                self.tally.entries += 1;
                (self.visit)(Fragment {
                    data: super::container::describe(container, &data),
                    path,
                    commit: self.commit.map(str::to_string),
                    line_numbers: None,
                    is_message: false,
                });
            }
            // Binary entries (class files, images) and LFS pointers hold no text to scan.
            _ => {}
        }
        true
    }
}

/// The name of what a compressed file holds: its own last path component without the
/// compression suffix (`dump.sql.gz` holds `dump.sql`), or the same name when it has none.
fn inner_name(path: &str) -> &str {
    let last = path.rsplit(['/', '!']).next().unwrap_or(path);
    for suffix in [".gz", ".gzip", ".bz2", ".bzip2", ".xz", ".zst", ".zstd"] {
        if let Some(stem) = last.strip_suffix(suffix).filter(|s| !s.is_empty()) {
            return stem;
        }
    }
    last
}

#[cfg(test)]
mod tests;
