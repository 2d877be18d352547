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

mod history;
mod long_paths;
mod tips;
pub use history::{HistoryCandidates, PlacedBlob};
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
    let mut message = format!("{context}: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Error::Git(message)
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

    /// Path → blob id of every regular file in a tree.
    fn tree_files(&self, tree_id: ObjectId) -> Result<HashMap<BString, ObjectId>> {
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|e| git_error(format!("tree {tree_id}"), e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| git_error(format!("tree {tree_id}"), e))?;
        Ok(recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob())
            .map(|e| (e.filepath, e.oid))
            .collect())
    }

    /// Path and blob of every regular file the index tracks (conflicted entries left out):
    /// what a commit made now would hold. Untracked and ignored files are never in it.
    fn index_files(&self) -> Result<Vec<(BString, ObjectId)>> {
        // gix panics on some corrupt index files instead of returning an error; a scan must
        // fail with a message (and a hook fail closed), so the panic becomes that message.
        let index_path = self.repo.index_path();
        let silent = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.repo.index_or_empty().map_err(Box::new)
        }));
        std::panic::set_hook(silent);
        // A path the reader cannot read is named, rather than blamed on a corrupt index.
        let overlong = || {
            let path = std::fs::read(&index_path)
                .ok()
                .and_then(|bytes| long_paths::overlong_path(&bytes))?;
            Some(Error::Git(format!(
                "index {}: a staged path of {} bytes is longer than the {} bytes staunch can read: {}",
                index_path.display(),
                path.len(),
                long_paths::SATURATED_LEN,
                crate::report::inert(&path.to_str_lossy())
            )))
        };
        let index = match loaded {
            Ok(Ok(index)) => index,
            Ok(Err(e)) => {
                return Err(overlong()
                    .unwrap_or_else(|| git_error(format!("index {}", index_path.display()), e)))
            }
            Err(_) => {
                return Err(overlong().unwrap_or_else(|| {
                    Error::Git(format!(
                        "index {}: corrupt, it could not be parsed",
                        index_path.display()
                    ))
                }))
            }
        };
        let mut files = Vec::new();
        for entry in index.entries() {
            use gix::index::entry::{Mode, Stage};
            if entry.stage() != Stage::Unconflicted {
                continue;
            }
            // Submodules (commits) and symlinks are not followed; only file content counts.
            if entry.mode != Mode::FILE && entry.mode != Mode::FILE_EXECUTABLE {
                continue;
            }
            files.push((entry.path(&index).to_owned(), entry.id));
        }
        Ok(files)
    }

    /// Calls `scan` with the whole content of every file the index tracks whose
    /// repository-relative path `keep` accepts, in parallel; returns how many were skipped
    /// (binary, LFS pointers, over `max_size`). What a baseline records in a repository.
    pub fn for_each_tracked_file<K, F>(&self, keep: K, max_size: u64, scan: F) -> Result<u64>
    where
        K: Fn(&str) -> bool,
        F: Fn(Fragment) + Sync,
    {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU64, Ordering};
        let files: Vec<(String, ObjectId)> = self
            .index_files()?
            .into_iter()
            .map(|(path, id)| (path.to_str_lossy().into_owned(), id))
            .filter(|(path, _)| keep(path))
            .collect();
        let shared = self.repo.clone().into_sync();
        let skipped = AtomicU64::new(0);
        files
            .par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, (path, id)| -> Result<()> {
                    match Self::read_blob(repo, *id, max_size)? {
                        Blob::Text(data) => scan(Fragment::file(path.clone(), data)),
                        Blob::Skipped | Blob::TooLarge(_) => {
                            skipped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                },
            )
            .collect::<Result<Vec<()>>>()?;
        Ok(skipped.into_inner())
    }

    /// The added lines of what the next commit would record: the index against HEAD's tree
    /// (the empty tree while HEAD is unborn). Reads staged blobs only, never the work tree.
    pub fn staged(&self, max_size: u64) -> Result<GitFragments> {
        let head_tree = self
            .repo
            .head_tree_id_or_empty()
            .map_err(|e| git_error("HEAD", e))?
            .detach();
        let head = self.tree_files(head_tree)?;
        let staged: HashMap<BString, ObjectId> = self.index_files()?.into_iter().collect();
        let changes = changes_between(&head, &staged);
        let mut out = GitFragments::default();
        for change in &changes {
            out.paths.insert(change.path.to_str_lossy().into_owned());
        }
        // Reading and diffing the blobs is most of a large commit's scan (each old blob is
        // inflated from the pack): done in parallel, in the changes' order.
        use rayon::prelude::*;
        let shared = self.repo.clone().into_sync();
        let parts: Vec<Result<GitFragments>> = changes
            .into_par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, change| {
                    let mut part = GitFragments::default();
                    Self::push_change(repo, change, None, max_size, &mut part)?;
                    Ok(part)
                },
            )
            .collect();
        for part in parts {
            out.absorb(part?);
        }
        Ok(out)
    }

    /// Turns one changed blob into a fragment of its added lines; a blob over `max_size` is
    /// left in `out.large` for [`GitRepo::read_large`].
    fn push_change(
        repo: &gix::Repository,
        change: BlobChange,
        commit: Option<&str>,
        max_size: u64,
        out: &mut GitFragments,
    ) -> Result<()> {
        let new = match Self::read_blob(repo, change.new, max_size)? {
            Blob::Text(data) => data,
            Blob::Skipped => {
                out.skipped += 1;
                return Ok(());
            }
            Blob::TooLarge(size) => {
                out.large.push(LargeChange {
                    change,
                    commit: commit.map(str::to_string),
                    size,
                });
                return Ok(());
            }
        };
        // An old version too large to read here counts as empty: every line is scanned.
        let old = Self::old_version(repo, change.old, max_size)?;
        Self::push_added(&change, commit, &old, new, out);
        Ok(())
    }

    /// The decoded text of the version a change replaces, or nothing when there is none, it is
    /// an archive or it is over `max_size` (then every line of the new version counts as added).
    fn old_version(
        repo: &gix::Repository,
        old: Option<ObjectId>,
        max_size: u64,
    ) -> Result<Vec<u8>> {
        Ok(match old {
            Some(id) => match Self::read_blob(repo, id, max_size)? {
                Blob::Text(data) => match content::sniff(&data) {
                    Kind::Archive(_) | Kind::Container(_) => Vec::new(),
                    kind => content::decode_owned(kind, data),
                },
                Blob::Skipped | Blob::TooLarge(_) => Vec::new(),
            },
            None => Vec::new(),
        })
    }

    /// Adds the lines `new` adds to `old` (decoded text) as a fragment, if there are any. An
    /// archive has no lines to add: a new or changed one is scanned whole.
    fn push_added(
        change: &BlobChange,
        commit: Option<&str>,
        old: &[u8],
        new: Vec<u8>,
        out: &mut GitFragments,
    ) {
        let kind = content::sniff(&new);
        if let Kind::Archive(_) | Kind::Container(_) = kind {
            out.fragments.push(Fragment {
                path: change.path.to_str_lossy().into_owned(),
                data: new,
                commit: commit.map(str::to_string),
                line_numbers: None,
                is_message: false,
            });
            return;
        }
        // Both versions as decoded text, so added lines and their numbers are the text's.
        let new = content::decode_owned(kind, new);
        let (data, numbers) = added_lines(old, &new);
        if numbers.is_empty() {
            return;
        }
        out.fragments.push(Fragment {
            path: change.path.to_str_lossy().into_owned(),
            data,
            commit: commit.map(str::to_string),
            line_numbers: Some(numbers),
            is_message: false,
        });
    }

    /// The added lines of a changed blob over `max_size`, as [`GitRepo::staged`] and
    /// [`GitRepo::commit_fragments`] would give them for a small one, if it is at most
    /// [`LARGE_BLOB_FACTOR`] times `max_size`; over that it is named in `out.unscannable`.
    ///
    /// Both versions are read whole and compared line by line as for any other file: gix
    /// decodes an object in one piece (a delta needs its base), so reading in chunks would save
    /// nothing. Memory is bounded by calling this for one large blob at a time: about the two
    /// versions, the added lines and a table of the old version's distinct lines.
    pub fn read_large(
        &self,
        large: &LargeChange,
        max_size: u64,
        out: &mut GitFragments,
    ) -> Result<()> {
        let limit = max_size.saturating_mul(LARGE_BLOB_FACTOR);
        if large.size > limit {
            out.unscannable.push(Error::Unscannable {
                what: large.describe(),
                size: large.size,
                limit,
                kind: "a changed file (10 x max_file_size)",
            });
            return Ok(());
        }
        let new = match Self::read_blob(&self.repo, large.change.new, limit)? {
            Blob::Text(data) => data,
            Blob::Skipped => {
                out.skipped += 1;
                return Ok(());
            }
            Blob::TooLarge(size) => {
                return Err(git_error(
                    large.describe(),
                    format!("{size} bytes, not the {} its header said", large.size),
                ))
            }
        };
        let old = Self::old_version(&self.repo, large.change.old, limit)?;
        Self::push_added(&large.change, large.commit.as_deref(), &old, new, out);
        Ok(())
    }

    /// Resolves a revision (branch, tag, id, `HEAD~2`) to a commit id, peeling tags.
    pub fn resolve_commit(&self, spec: &str) -> Result<ObjectId> {
        let id = self.repo.rev_parse_single(spec).map_err(|e| {
            if let Some(why) = self.missing_ancestor(spec) {
                return Error::Usage(why);
            }
            with_broken_pack(&self.repo, git_error(format!("revision {spec:?}"), e))
        })?;
        let object = id
            .object()
            .map_err(|e| git_error(format!("revision {spec:?}"), e))?;
        let commit = object
            .peel_to_commit()
            .map_err(|e| git_error(format!("revision {spec:?} is not a commit"), e))?;
        Ok(commit.id)
    }

    /// Why `spec` names nothing when it asks for more first-parent ancestors than there are
    /// (`HEAD~1` in a repository of one commit, where gix only says the spec is malformed), or
    /// for a commit of a branch that has none yet.
    fn missing_ancestor(&self, spec: &str) -> Option<String> {
        let mut base = spec;
        let mut steps = 0usize;
        loop {
            if let Some((rest, n)) = base.rsplit_once('~') {
                if n.bytes().all(|b| b.is_ascii_digit()) {
                    steps += if n.is_empty() { 1 } else { n.parse().ok()? };
                    base = rest;
                    continue;
                }
            }
            match base.strip_suffix('^').or_else(|| base.strip_suffix("^1")) {
                Some(rest) => {
                    steps += 1;
                    base = rest;
                }
                None => break,
            }
        }
        let head_unborn = self.repo.head().is_ok_and(|head| head.is_unborn());
        if head_unborn && (base.is_empty() || base == "HEAD") {
            return Some(format!(
                "revision {spec:?}: the repository has no commit yet, so there is nothing to \
                 scan in a range; `staunch scan --staged` scans what the first commit would add"
            ));
        }
        if steps == 0 || base.is_empty() {
            return None;
        }
        let mut commit = self
            .repo
            .rev_parse_single(base)
            .ok()?
            .object()
            .ok()?
            .peel_to_commit()
            .ok()?;
        let mut available = 0usize;
        while available < steps {
            let Some(parent) = commit.parent_ids().next() else {
                break;
            };
            commit = parent.object().ok()?.peel_to_commit().ok()?;
            available += 1;
        }
        if available == steps {
            return None;
        }
        let before = match available {
            0 => format!("{base} has no parent: it is the first commit of its history"),
            1 => format!("{base} has only 1 commit before it"),
            n => format!("{base} has only {n} commits before it"),
        };
        Some(format!(
            "revision {spec:?} does not exist: {before}. To scan every commit up to {base}, \
             use `staunch scan --all` (the whole history) or a range from an older commit"
        ))
    }

    /// Resolves a revision to the object it names, tags not peeled: a pushed annotated tag's
    /// own id, whose message is scanned.
    pub fn resolve(&self, spec: &str) -> Result<ObjectId> {
        let id = self.repo.rev_parse_single(spec).map_err(|e| {
            with_broken_pack(&self.repo, git_error(format!("revision {spec:?}"), e))
        })?;
        Ok(id.detach())
    }

    /// Commits reachable from `tips` but not from `hidden`, newest first.
    pub fn commits_between(&self, tips: &[ObjectId], hidden: &[ObjectId]) -> Result<Vec<ObjectId>> {
        let walk = self
            .repo
            .rev_walk(tips.iter().copied())
            .with_hidden(hidden.iter().copied())
            .all()
            .map_err(|e| git_error("walking commits", e))?;
        let mut commits = Vec::new();
        for info in walk {
            commits.push(info.map_err(|e| git_error("walking commits", e))?.id);
        }
        Ok(commits)
    }

    /// `A..B`: the base commit A and the commits in B not in A. `A...B` (what a pull request
    /// shows) takes the merge base of A and B as the base instead: the commits are the same,
    /// but the allow state is read from where the branch left A, not from A's newer commits.
    pub fn range(&self, spec: &str) -> Result<(ObjectId, Vec<ObjectId>)> {
        let usage = || Error::Usage(format!("--range wants A..B or A...B, got {spec:?}"));
        let (from, to, merge_base) = match spec.split_once("...") {
            Some((from, to)) => (from, to, true),
            None => {
                let (from, to) = spec.split_once("..").ok_or_else(usage)?;
                (from, to, false)
            }
        };
        if to.starts_with('.') {
            return Err(usage());
        }
        let to = self.resolve_commit(if to.is_empty() { "HEAD" } else { to })?;
        let from = self.resolve_commit(if from.is_empty() { "HEAD" } else { from })?;
        let base = if merge_base {
            self.repo
                .merge_base(from, to)
                .map_err(|e| git_error(format!("merge base of {spec:?}"), e))?
                .detach()
        } else {
            from
        };
        Ok((base, self.commits_between(&[to], &[from])?))
    }

    /// `0000…..B`, what CI is given for a branch pushed for the first time: the branch's own
    /// commits, those no other branch or remote-tracking branch reaches (a ref whose history
    /// holds B, such as B's own branch and its remote-tracking copy, hides nothing). The base
    /// is the commit the branch left, a parent of its oldest own commit that another ref holds;
    /// `None` when no other ref holds any of B's history, and then every commit of B is scanned.
    pub fn own_commits(&self, to: &str) -> Result<(Option<ObjectId>, Vec<ObjectId>)> {
        let to = self.resolve_commit(if to.is_empty() { "HEAD" } else { to })?;
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut hidden = Vec::new();
        for prefix in ["refs/heads/", "refs/remotes/"] {
            for reference in refs
                .prefixed(prefix)
                .map_err(|e| git_error("references", e))?
            {
                let mut reference = reference.map_err(|e| git_error("references", e))?;
                let Ok(id) = reference.peel_to_id() else {
                    continue;
                };
                let Ok(Ok(commit)) = id.object().map(|o| o.peel_to_commit()) else {
                    continue;
                };
                let holds_to = commit.id == to
                    || self
                        .repo
                        .merge_base(commit.id, to)
                        .is_ok_and(|base| base.detach() == to);
                if !holds_to && !hidden.contains(&commit.id) {
                    hidden.push(commit.id);
                }
            }
        }
        let commits = self.commits_between(&[to], &hidden)?;
        let own: std::collections::HashSet<ObjectId> = commits.iter().copied().collect();
        let mut base = None;
        for id in self.parents_first(&commits)? {
            let commit = self
                .repo
                .find_commit(id)
                .map_err(|e| git_error(format!("commit {id}"), e))?;
            let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
            if let Some(parent) = parents.into_iter().find(|p| !own.contains(p)) {
                base = Some(parent);
                break;
            }
        }
        Ok((base, commits))
    }

    /// Tips of remote-tracking branches (of `remote`, or of every remote): what the other side
    /// already has.
    pub fn remote_tips(&self, remote: Option<&str>) -> Result<Vec<ObjectId>> {
        let prefix = match remote {
            Some(name) => format!("refs/remotes/{name}/"),
            None => "refs/remotes/".to_string(),
        };
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut tips = Vec::new();
        for reference in refs
            .prefixed(prefix.as_str())
            .map_err(|e| git_error("references", e))?
        {
            let mut reference = reference.map_err(|e| git_error("references", e))?;
            if let Ok(id) = reference.peel_to_id() {
                if let Ok(Ok(commit)) = id.object().map(|o| o.peel_to_commit()) {
                    tips.push(commit.id);
                }
            }
        }
        Ok(tips)
    }

    /// The commit HEAD points at, or `None` while HEAD is unborn (a repository with no commit
    /// yet): the state the agent hook trusts.
    pub fn head_commit(&self) -> Result<Option<ObjectId>> {
        let head = self.repo.head().map_err(|e| git_error("HEAD", e))?;
        if head.is_unborn() {
            return Ok(None);
        }
        let commit = self.repo.head_commit().map_err(|e| git_error("HEAD", e))?;
        Ok(Some(commit.id))
    }

    /// The id and mode of what a commit's tree holds at `path`, or `None` when nothing is there.
    fn entry_at(
        &self,
        commit: ObjectId,
        path: &Path,
    ) -> Result<Option<(ObjectId, gix::object::tree::EntryMode)>> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(|e| git_error(format!("commit {commit}"), e))?;
        let tree = commit.tree().map_err(|e| git_error("tree", e))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| git_error(format!("{} in {}", path.display(), commit.id), e))?;
        Ok(entry.map(|entry| (entry.oid().to_owned(), entry.mode())))
    }

    /// A file's text in a commit's tree (decoded, see [`content::decode`]), or `None` when the
    /// path is not a text file there or the blob is larger than `max_size` (read from its
    /// header, so it is never loaded).
    pub fn file_at(&self, commit: ObjectId, path: &Path, max_size: u64) -> Result<Option<Vec<u8>>> {
        let Some((id, mode)) = self.entry_at(commit, path)? else {
            return Ok(None);
        };
        if !mode.is_blob() {
            return Ok(None);
        }
        match Self::read_blob(&self.repo, id, max_size)? {
            Blob::Text(data) => match content::sniff(&data) {
                Kind::Archive(_) | Kind::Container(_) => Ok(None),
                kind => Ok(Some(content::decode_owned(kind, data))),
            },
            Blob::Skipped | Blob::TooLarge(_) => Ok(None),
        }
    }

    /// A file's content in a commit's tree (for reading config from a trusted commit), or
    /// `None` when the path is not there.
    pub fn read_file_at(&self, commit: ObjectId, path: &Path) -> Result<Option<Vec<u8>>> {
        let Some((id, _)) = self.entry_at(commit, path)? else {
            return Ok(None);
        };
        // Configuration is small; a huge blob under that name is refused, not loaded.
        const MAX_CONFIG: u64 = 4 * 1024 * 1024;
        let header = self
            .repo
            .find_header(id)
            .map_err(|e| git_error(format!("{}", path.display()), e))?;
        if header.size() > MAX_CONFIG {
            return Err(git_error(
                format!("{} in {commit}", path.display()),
                format!(
                    "{} bytes is too large for a configuration file",
                    header.size()
                ),
            ));
        }
        let object = self
            .repo
            .find_object(id)
            .map_err(|e| git_error(format!("{}", path.display()), e))?;
        Ok(Some(object.data.clone()))
    }

    pub fn has_object(&self, id: ObjectId) -> bool {
        self.repo.has_object(id)
    }

    pub fn parse_id(&self, hex: &str) -> Result<ObjectId> {
        ObjectId::from_hex(hex.as_bytes()).map_err(|e| git_error(format!("object id {hex:?}"), e))
    }

    /// The blobs a commit adds or changes against its first parent (the empty tree for a root
    /// commit, or when a shallow clone lacks the parent).
    fn commit_changes(repo: &gix::Repository, id: ObjectId) -> Result<Vec<BlobChange>> {
        let commit = repo
            .find_commit(id)
            .map_err(|e| git_error(format!("commit {id}"), e))?;
        Self::changes_of(repo, &commit)
    }

    /// [`GitRepo::commit_changes`] of a commit already read.
    fn changes_of(repo: &gix::Repository, commit: &gix::Commit<'_>) -> Result<Vec<BlobChange>> {
        let id = commit.id;
        let tree_id = commit
            .tree_id()
            .map_err(|e| git_error(format!("commit {id}"), e))?
            .detach();
        let parent_tree = match commit.parent_ids().next() {
            Some(parent) if repo.has_object(parent) => Some(
                repo.find_commit(parent)
                    .map(|p| p.tree_id())
                    .map_err(|e| git_error(format!("commit {parent}"), e))?
                    .map_err(|e| git_error(format!("commit {parent}"), e))?
                    .detach(),
            ),
            _ => None,
        };
        let new_tree = repo
            .find_tree(tree_id)
            .map_err(|e| git_error(format!("tree {tree_id}"), e))?;
        let old_data = match parent_tree {
            Some(tid) => repo
                .find_tree(tid)
                .map_err(|e| git_error(format!("tree {tid}"), e))?
                .data
                .clone(),
            None => Vec::new(),
        };
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&old_data, repo.object_hash()),
            gix::objs::TreeRefIter::from_bytes(&new_tree.data, repo.object_hash()),
            &mut gix::diff::tree::State::default(),
            &repo.objects,
            &mut recorder,
        )
        .map_err(|e| git_error(format!("diffing commit {id}"), e))?;
        use gix::diff::tree::recorder::Change;
        let mut changes = Vec::new();
        for change in recorder.records {
            match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob() => changes.push(BlobChange {
                    path,
                    old: None,
                    new: oid,
                }),
                Change::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } if entry_mode.is_blob() => {
                    let old = previous_entry_mode.is_blob().then_some(previous_oid);
                    changes.push(BlobChange {
                        path,
                        old,
                        new: oid,
                    })
                }
                _ => {}
            }
        }
        Ok(changes)
    }

    /// Added lines and message of every commit in `commits`, each fragment naming its commit.
    /// Commits are diffed in parallel, each thread with its own repository handle; the message
    /// comes from the same read of the commit as its tree.
    pub fn commit_fragments(
        &self,
        commits: &[ObjectId],
        max_size: u64,
        read: &std::sync::atomic::AtomicU64,
    ) -> Result<GitFragments> {
        use rayon::prelude::*;
        let shared = self.repo.clone().into_sync();
        let parts: Vec<Result<GitFragments>> = commits
            .par_iter()
            .map_init(
                || thread_handle(&shared),
                |repo, &id| {
                    let mut out = GitFragments::default();
                    let hex = id.to_string();
                    let commit = repo
                        .find_commit(id)
                        .map_err(|e| git_error(format!("commit {id}"), e))?;
                    out.push_message(COMMIT_MESSAGE, &hex, commit.message_raw_sloppy(), max_size);
                    for change in Self::changes_of(repo, &commit)? {
                        Self::push_change(repo, change, Some(&hex), max_size, &mut out)?;
                    }
                    read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Ok(out)
                },
            )
            .collect();
        let mut out = GitFragments::default();
        for part in parts {
            out.absorb(part?);
        }
        Ok(out)
    }

    /// The annotated tags `id` names, outermost first (a tag can point at a tag), and the id and
    /// kind of the object the last one points at; `id` itself when it is no tag.
    pub fn peel_tags(&self, id: ObjectId) -> Result<(Vec<TagObject>, ObjectId, gix::objs::Kind)> {
        let mut tags = Vec::new();
        let mut at = id;
        loop {
            let object = self
                .repo
                .find_object(at)
                .map_err(|e| with_broken_pack(&self.repo, git_error(format!("object {at}"), e)))?;
            if object.kind != gix::objs::Kind::Tag {
                return Ok((tags, at, object.kind));
            }
            let tag = object
                .try_to_tag_ref()
                .map_err(|e| git_error(format!("tag {at}"), e))?;
            let target =
                ObjectId::from_hex(tag.target).map_err(|e| git_error(format!("tag {at}"), e))?;
            tags.push(TagObject {
                id: at,
                message: tag.message.to_vec(),
            });
            at = target;
        }
    }

    /// The messages of the annotated tags `tips` name (tags of tags followed), each under its
    /// tag's id. A tip that is no tag adds nothing.
    pub fn tag_messages(&self, tips: &[ObjectId], max_size: u64) -> Result<GitFragments> {
        let mut out = GitFragments::default();
        let mut seen = HashSet::new();
        for &tip in tips {
            for tag in self.peel_tags(tip)?.0 {
                if seen.insert(tag.id) {
                    out.push_message(TAG_MESSAGE, &tag.id.to_string(), &tag.message, max_size);
                }
            }
        }
        Ok(out)
    }

    /// Every commit reachable from any reference (branches, tags, remotes, stash), tags peeled.
    pub fn all_commits(&self) -> Result<Vec<ObjectId>> {
        let mut tips: HashSet<ObjectId> = self.ref_tips()?.into_iter().collect();
        if let Ok(head) = self.repo.head_id() {
            tips.insert(head.detach());
        }
        let tips: Vec<ObjectId> = tips.into_iter().collect();
        if tips.is_empty() {
            return Ok(Vec::new());
        }
        let walk = self
            .repo
            .rev_walk(tips)
            .all()
            .map_err(|e| git_error("walking commits", e))?;
        let mut graph = Vec::new();
        for info in walk {
            let info = info.map_err(|e| git_error("walking commits", e))?;
            graph.push((info.id, info.parent_ids.to_vec()));
        }
        Ok(parents_first(graph))
    }

    /// `commits` ordered parents before children (the walks list children first).
    pub fn parents_first(&self, commits: &[ObjectId]) -> Result<Vec<ObjectId>> {
        let graph = commits
            .iter()
            .map(|&id| {
                let commit = self
                    .repo
                    .find_commit(id)
                    .map_err(|e| git_error(format!("commit {id}"), e))?;
                Ok((id, commit.parent_ids().map(|p| p.detach()).collect()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(parents_first(graph))
    }

    /// Scans history blobs with `scan`, in parallel, reading each blob once.
    pub fn for_each_blob<F>(&self, blobs: &[PlacedBlob], max_size: u64, scan: F) -> Result<u64>
    where
        F: Fn(Fragment) + Sync,
    {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU64, Ordering};
        let shared = self.repo.clone().into_sync();
        let skipped = AtomicU64::new(0);
        blobs
            .par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, placed| -> Result<()> {
                    match Self::read_blob(repo, placed.blob, max_size)? {
                        Blob::Text(data) => scan(Fragment {
                            path: placed.path.to_str_lossy().into_owned(),
                            data,
                            commit: Some(placed.commit.clone()),
                            line_numbers: None,
                            is_message: false,
                        }),
                        Blob::Skipped | Blob::TooLarge(_) => {
                            skipped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                },
            )
            .collect::<Result<Vec<()>>>()?;
        Ok(skipped.into_inner())
    }
}

/// Orders commits so every parent comes before its children (Kahn's algorithm; ties broken by
/// id so the order, and so the reported introducing commit, is reproducible).
fn parents_first(graph: Vec<(ObjectId, Vec<ObjectId>)>) -> Vec<ObjectId> {
    let index: HashMap<ObjectId, usize> = graph
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); graph.len()];
    let mut waiting: Vec<usize> = vec![0; graph.len()];
    for (i, (_, parents)) in graph.iter().enumerate() {
        for parent in parents {
            if let Some(&p) = index.get(parent) {
                children[p].push(i);
                waiting[i] += 1;
            }
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<(ObjectId, usize)>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, &w)| w == 0)
        .map(|(i, _)| std::cmp::Reverse((graph[i].0, i)))
        .collect();
    let mut order = Vec::with_capacity(graph.len());
    while let Some(std::cmp::Reverse((id, i))) = ready.pop() {
        order.push(id);
        for &child in &children[i] {
            waiting[child] -= 1;
            if waiting[child] == 0 {
                ready.push(std::cmp::Reverse((graph[child].0, child)));
            }
        }
    }
    order
}

/// What the index adds or changes against HEAD. A path new to the index whose content left
/// another path (a rename) adds nothing if the content is the same, and only its changes if a
/// file of the same name went away.
fn changes_between(
    head: &HashMap<BString, ObjectId>,
    staged: &HashMap<BString, ObjectId>,
) -> Vec<BlobChange> {
    let removed: Vec<(&BString, &ObjectId)> = head
        .iter()
        .filter(|(path, _)| !staged.contains_key(*path))
        .collect();
    let removed_ids: HashSet<&ObjectId> = removed.iter().map(|(_, id)| *id).collect();
    let mut changes = Vec::new();
    for (path, id) in staged {
        match head.get(path) {
            Some(old) if old == id => {}
            Some(old) => changes.push(BlobChange {
                path: path.clone(),
                old: Some(*old),
                new: *id,
            }),
            None if removed_ids.contains(id) => {}
            None => {
                let name = file_name(path);
                let source = removed
                    .iter()
                    .find(|(p, _)| file_name(p) == name)
                    .map(|(_, id)| **id);
                changes.push(BlobChange {
                    path: path.clone(),
                    old: source,
                    new: *id,
                });
            }
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

fn file_name(path: &BString) -> &[u8] {
    path.rsplit_str("/").next().unwrap_or(path.as_slice())
}

/// Where hooks live and what a receiving repository can see: used by `install` and the
/// pre-receive hook.
impl GitRepo {
    /// The hooks directory git uses: `core.hooksPath` (relative to where hooks run: the work
    /// tree's root, or the git dir of a bare repository), else `hooks` in the common dir, which
    /// linked worktrees share and which is `.git/modules/<name>` for a submodule.
    pub fn hooks_dir(&self) -> Result<std::path::PathBuf> {
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(|e| git_error("core.hooksPath", e))?;
        let dir = match configured {
            Some(path) if !path.as_os_str().is_empty() => {
                let base = self.repo.workdir().unwrap_or_else(|| self.repo.git_dir());
                base.join(path)
            }
            _ => self.repo.common_dir().join("hooks"),
        };
        Ok(if dir.is_absolute() {
            dir
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io(".", e))?
                .join(dir)
        })
    }

    /// Like [`GitRepo::discover`], and also sees the objects of a push being received. During
    /// pre-receive git keeps them in a quarantine directory named by `GIT_OBJECT_DIRECTORY`, with
    /// the repository's own store in `GIT_ALTERNATE_OBJECT_DIRECTORIES`; gix reads neither
    /// variable, so this opens the objects through an empty directory of our own (in the
    /// system's temporary directory, never in the repository) whose `info/alternates` lists
    /// them all.
    pub fn discover_receiving(dir: &Path) -> Result<GitRepo> {
        let found = Self::discover(dir)?;
        let Some(quarantine) = std::env::var_os("GIT_OBJECT_DIRECTORY").filter(|v| !v.is_empty())
        else {
            return Ok(found);
        };
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut stores = vec![cwd.join(quarantine)];
        if let Some(alternates) = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
            stores.extend(
                std::env::split_paths(&alternates)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|p| cwd.join(p)),
            );
        }
        stores.push(cwd.join(found.repo.common_dir()).join("objects"));
        let overlay = ObjectsOverlay::create(&stores)?;
        let hash = found.repo.object_hash();
        let store = gix::odb::Store::at_opts(
            overlay.dir.clone(),
            hash,
            &mut std::iter::empty(),
            gix::odb::store::init::Options::default(),
        )
        .map_err(|e| git_error("objects being received", e))?;
        let mut shared = found.repo.into_sync();
        shared.objects = std::sync::Arc::new(store);
        let mut repo = shared.to_thread_local();
        repo.object_cache_size_if_unset(OBJECT_CACHE);
        Ok(GitRepo {
            repo,
            _overlay: Some(overlay),
        })
    }

    /// The commit every reference points at (tags peeled; refs to other objects left out):
    /// what a repository already holds.
    pub fn ref_tips(&self) -> Result<Vec<ObjectId>> {
        let refs = self
            .repo
            .references()
            .map_err(|e| git_error("references", e))?;
        let mut tips = HashSet::new();
        for reference in refs.all().map_err(|e| git_error("references", e))? {
            let mut reference = reference.map_err(|e| git_error("references", &*e))?;
            let Ok(id) = reference.peel_to_id() else {
                continue;
            };
            if let Ok(Ok(commit)) = id.object().map(|o| o.peel_to_commit()) {
                tips.insert(commit.id);
            }
        }
        let mut tips: Vec<ObjectId> = tips.into_iter().collect();
        tips.sort();
        Ok(tips)
    }
}

/// A temporary, empty object directory whose alternates are the real stores; removed on drop.
struct ObjectsOverlay {
    dir: std::path::PathBuf,
}

impl ObjectsOverlay {
    fn create(stores: &[std::path::PathBuf]) -> Result<ObjectsOverlay> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "staunch-objects-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let info = dir.join("info");
        std::fs::create_dir_all(&info).map_err(|e| Error::io(&info, e))?;
        let overlay = ObjectsOverlay { dir };
        let mut list = String::new();
        for store in stores {
            list.push_str(&store.to_string_lossy());
            list.push('\n');
        }
        let file = info.join("alternates");
        std::fs::write(&file, list).map_err(|e| Error::io(&file, e))?;
        Ok(overlay)
    }
}

impl Drop for ObjectsOverlay {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `.git` file (a worktree or submodule link) in `dir` or above that points at a directory
/// that is not there: discovery then reports "no repository", which hides the real problem.
fn broken_git_file(dir: &Path) -> Option<String> {
    let start = std::fs::canonicalize(dir).ok()?;
    let dot_git = start
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.symlink_metadata().is_ok())?;
    if !dot_git.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.trim_end().strip_prefix("gitdir:")?.trim();
    let target_path = dot_git.parent()?.join(target);
    (!target_path.join("HEAD").exists()).then(|| {
        format!(
            "{} points to {target}, which is not a git directory",
            dot_git.display()
        )
    })
}

/// Names a truncated or overwritten pack in front of `err`. gix reports reading through such a
/// pack as "ancestor out of range" or a missing object, which hides the cause.
fn with_broken_pack(repo: &gix::Repository, err: Error) -> Error {
    match (broken_pack(repo), err) {
        (Some(problem), Error::Git(message)) => Error::Git(format!("{problem}; {message}")),
        (_, err) => err,
    }
}

/// The first pack that does not end with the checksum its index records (a cheap check: the
/// last bytes of each file, never the whole pack).
fn broken_pack(repo: &gix::Repository) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let hash_len = repo.object_hash().len_in_bytes() as u64;
    let dir = repo.common_dir().join("objects/pack");
    let mut indexes: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    indexes.sort();
    let tail = |path: &Path, from_end: u64| -> Option<Vec<u8>> {
        let mut file = std::fs::File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        file.seek(SeekFrom::Start(len.checked_sub(from_end)?))
            .ok()?;
        let mut bytes = vec![0; hash_len as usize];
        file.read_exact(&mut bytes).ok()?;
        Some(bytes)
    };
    indexes.into_iter().find_map(|idx| {
        let pack = idx.with_extension("pack");
        // An index ends with the pack's checksum, then its own.
        let expected = tail(&idx, 2 * hash_len)?;
        (tail(&pack, hash_len).as_ref() != Some(&expected)).then(|| {
            format!(
                "pack {} is truncated or corrupt (it does not end with the checksum its index records)",
                pack.display()
            )
        })
    })
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
