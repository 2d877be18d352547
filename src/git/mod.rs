//! Every gix call lives here and nowhere else: gix's API moves between versions, and keeping it
//! in one module keeps the rest of the crate on plain types (paths, bytes, commit ids).
//!
//! Nothing here writes to the repository: no objects, no index refresh, no lock files. Blobs are
//! read as stored (no filters, no textconv), so nothing from the scanned repository runs.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use gix::bstr::{BString, ByteSlice};
use gix::odb::pack;
use gix::ObjectId;

use crate::error::{Error, Result};
use crate::source::content::{self, Kind};
use crate::source::diff::added_lines;
use crate::source::{Fragment, COMMIT_MESSAGE, TAG_MESSAGE};

mod changes;
mod commits;
mod health;
mod history;
mod hooks;
mod long_paths;
mod loose;
mod staged;
mod tips;
use changes::changes_between;
use commits::commit_files;
use health::{broken_git_file, broken_pack, with_broken_pack};
pub use history::{BlobJudgement, Changes, HistoryCandidates, PlacedBlob};
use hooks::ObjectsOverlay;
pub use tips::BranchTip;

/// Whether a blob is scanned: text in an encoding staunch reads, or an archive; not binary and
/// not a Git LFS pointer (the content lives elsewhere).
fn scannable(data: &[u8]) -> bool {
    let kind = content::sniff(data);
    kind.is_text() || matches!(kind, Kind::Archive(_) | Kind::Container(_))
}

/// Bytes of decoded objects kept per repository handle (trees are re-read across commits).
const OBJECT_CACHE: usize = 4 * 1024 * 1024;

/// Bytes of delta bases kept per thread while reading history; with blobs read in pack order
/// most bases are recent, so a small cache does the work and memory stays bounded.
const PACK_CACHE: usize = 12 * 1024 * 1024;

/// A handle for a few random reads per thread (tracing and scanning the candidates of a history
/// scan): small caches, since little is read twice.
fn light_handle(shared: &gix::ThreadSafeRepository) -> gix::Repository {
    let mut repo = shared.to_thread_local();
    repo.object_cache_size(1024 * 1024);
    repo.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
            2 * 1024 * 1024,
        ))
    });
    repo
}

/// A per-thread handle with bounded caches: history scans must not grow with the history.
fn thread_handle(shared: &gix::ThreadSafeRepository) -> gix::Repository {
    let mut repo = shared.to_thread_local();
    repo.object_cache_size(OBJECT_CACHE);
    repo.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
            PACK_CACHE,
        ))
    });
    repo
}

pub struct GitRepo {
    repo: gix::Repository,
    /// Keeps the object directory [`GitRepo::discover_receiving`] made until the repo is dropped.
    _overlay: Option<ObjectsOverlay>,
}

/// How many times `max_file_size` a changed blob may be and still have its added lines
/// scanned. With the default 10 MiB that is 100 MiB, the largest file GitHub accepts.
pub const LARGE_BLOB_FACTOR: u64 = 10;

/// What a git source gave: the fragments to scan and how many blobs were skipped on purpose.
#[derive(Default)]
pub struct GitFragments {
    pub fragments: Vec<Fragment>,
    /// Binary blobs and Git LFS pointers: not text, skipped on purpose.
    pub skipped: u64,
    /// Every path the change touches (added, changed), whether or not it adds lines.
    pub paths: HashSet<String>,
    /// Changed blobs over `max_file_size`, left for [`GitRepo::read_large`] to diff one at a
    /// time, so a change of many large files never holds more than one in memory.
    pub large: Vec<LargeChange>,
    /// What the change adds that could not be scanned ([`Error::Unscannable`]): the caller's
    /// policy decides whether that fails the scan.
    pub unscannable: Vec<Error>,
}

impl GitFragments {
    /// Adds what another part of the same scan found, after what this one holds.
    pub fn absorb(&mut self, part: GitFragments) {
        self.skipped += part.skipped;
        self.fragments.extend(part.fragments);
        self.paths.extend(part.paths);
        self.large.extend(part.large);
        self.unscannable.extend(part.unscannable);
    }

    /// Adds the message of the commit or tag `id` (`path` says which): nothing if it is empty,
    /// and an [`Error::Unscannable`] if it is over `max_size`.
    fn push_message(&mut self, path: &str, id: &str, message: &[u8], max_size: u64) {
        if message.is_empty() {
            return;
        }
        if message.len() as u64 > max_size {
            let object = if path == TAG_MESSAGE { "tag" } else { "commit" };
            self.unscannable.push(Error::Unscannable {
                what: format!("the message of {object} {id}"),
                size: message.len() as u64,
                limit: max_size,
                kind: "a message (max_file_size)",
            });
            return;
        }
        self.fragments
            .push(Fragment::message(path, id.to_string(), message.to_vec()));
    }
}

/// A changed blob over `max_file_size`, to be read by [`GitRepo::read_large`].
pub struct LargeChange {
    change: BlobChange,
    commit: Option<String>,
    size: u64,
}

impl LargeChange {
    /// The blob's path in the commit or index.
    pub fn path(&self) -> String {
        self.change.path.to_str_lossy().into_owned()
    }

    /// The path and commit, as an error names them.
    fn describe(&self) -> String {
        let path = self.change.path.to_str_lossy();
        match &self.commit {
            Some(commit) => format!("{path} in commit {commit}"),
            None => format!("{path} (staged)"),
        }
    }
}

/// An annotated tag object: its id and its message (without a signature block).
pub struct TagObject {
    pub id: ObjectId,
    pub message: Vec<u8>,
}

/// One blob a commit added or changed, with what it replaced.
#[derive(Clone, Debug)]
struct BlobChange {
    path: BString,
    old: Option<ObjectId>,
    new: ObjectId,
}

/// gix's top-level messages are often generic ("delegate.traverse(...) failed"); the cause
/// chain is what names the broken pack or missing object, so it goes into the message.
fn git_error<'a>(
    context: impl std::fmt::Display,
    err: impl Into<Box<dyn std::error::Error + Send + Sync + 'a>>,
) -> Error {
    let err = err.into();
    Error::Git(format!("{context}: {}", crate::error::chain(&*err)))
}

enum Blob {
    Text(Vec<u8>),
    /// Binary, or a Git LFS pointer: not text, skipped on purpose.
    Skipped,
    /// Over the size asked for (its size, from the object header): never loaded.
    TooLarge(u64),
}

impl GitRepo {
    /// Finds the repository containing `dir`, honouring `GIT_DIR`, `GIT_INDEX_FILE` and the other
    /// variables git sets for hooks.
    pub fn discover(dir: &Path) -> Result<GitRepo> {
        let mut repo = gix::discover_with_environment_overrides(dir).map_err(|e| {
            match broken_git_file(dir) {
                Some(message) => Error::Git(message),
                None => git_error(format!("{}: not in a git repository", dir.display()), e),
            }
        })?;
        repo.object_cache_size_if_unset(OBJECT_CACHE);
        Ok(GitRepo {
            repo,
            _overlay: None,
        })
    }

    /// The work tree's root, if the repository has one.
    pub fn work_dir(&self) -> Option<std::path::PathBuf> {
        self.repo
            .workdir()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
    }

    pub fn object_hash_len(&self) -> usize {
        self.repo.object_hash().len_in_hex()
    }

    /// [`GitRepo::read_blob`] for a blob `git add` has just written, which is a loose object:
    /// read as a file rather than mapped (see [`loose`]), and by gix when it is anything else.
    fn read_staged_blob(repo: &gix::Repository, id: ObjectId, max_size: u64) -> Result<Blob> {
        let hex = id.to_hex().to_string();
        Ok(
            match loose::read(repo.objects.store_ref().path(), &hex, max_size) {
                Some(loose::Loose::Data(data)) if scannable(&data) => Blob::Text(data),
                Some(loose::Loose::Data(_)) => Blob::Skipped,
                Some(loose::Loose::TooLarge(size)) => Blob::TooLarge(size),
                None => Self::read_blob(repo, id, max_size)?,
            },
        )
    }

    /// The content of a blob as stored, unless it is too large, binary or an LFS pointer (see
    /// [`scannable`]). The size is read from the object header first, so a huge blob is never
    /// loaded.
    fn read_blob(repo: &gix::Repository, id: ObjectId, max_size: u64) -> Result<Blob> {
        let header = repo
            .find_header(id)
            .map_err(|e| git_error(format!("object {id}"), e))?;
        if header.size() > max_size {
            return Ok(Blob::TooLarge(header.size()));
        }
        let mut object = repo
            .find_object(id)
            .map_err(|e| git_error(format!("object {id}"), e))?;
        let data = std::mem::take(&mut object.data);
        if !scannable(&data) {
            return Ok(Blob::Skipped);
        }
        Ok(Blob::Text(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_a_fragment_unless_empty_or_too_large() {
        let mut out = GitFragments::default();
        out.push_message(COMMIT_MESSAGE, "c1", b"", 10);
        assert!(out.fragments.is_empty() && out.unscannable.is_empty());
        out.push_message(COMMIT_MESSAGE, "c1", b"fix: typo\n", 10);
        let fragment = &out.fragments[0];
        assert_eq!(fragment.path, COMMIT_MESSAGE);
        assert_eq!(fragment.commit.as_deref(), Some("c1"));
        assert!(fragment.is_message && fragment.line_numbers.is_none());
        out.push_message(TAG_MESSAGE, "t1", b"eleven byte", 10);
        assert_eq!(out.fragments.len(), 1);
        let err = out.unscannable[0].to_string();
        assert!(err.starts_with("the message of tag t1: 11 bytes"), "{err}");
    }

    #[test]
    fn a_large_change_is_named_with_its_commit_or_as_staged() {
        let change = |commit: Option<&str>| LargeChange {
            change: BlobChange {
                path: "data/big.csv".into(),
                old: None,
                new: ObjectId::null(gix::hash::Kind::Sha1),
            },
            commit: commit.map(str::to_string),
            size: 1,
        };
        assert_eq!(change(None).describe(), "data/big.csv (staged)");
        assert_eq!(change(Some("abc")).describe(), "data/big.csv in commit abc");
        assert_eq!(change(None).path(), "data/big.csv");
    }

    #[test]
    fn absorbing_keeps_large_and_unscannable_parts() {
        let mut all = GitFragments::default();
        let mut part = GitFragments::default();
        part.push_message(COMMIT_MESSAGE, "c", b"too long", 2);
        part.skipped = 2;
        all.absorb(part);
        assert_eq!((all.skipped, all.unscannable.len()), (2, 1));
    }
}
