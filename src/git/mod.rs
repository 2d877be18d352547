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
use crate::source::Fragment;

mod history;
mod long_paths;
pub use history::{HistoryCandidates, PlacedBlob};

/// Whether a blob is scanned: text in an encoding staunch reads, or an archive; not binary and
/// not a Git LFS pointer (the content lives elsewhere).
fn scannable(data: &[u8]) -> bool {
    let kind = content::sniff(data);
    kind.is_text() || matches!(kind, Kind::Archive(_))
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

/// What a git source gave: the fragments to scan and how many blobs were skipped on purpose.
#[derive(Default)]
pub struct GitFragments {
    pub fragments: Vec<Fragment>,
    pub skipped: u64,
    /// Every path the change touches (added, changed), whether or not it adds lines.
    pub paths: HashSet<String>,
}

impl GitFragments {
    /// Adds what another part of the same scan found, after what this one holds.
    fn absorb(&mut self, part: GitFragments) {
        self.skipped += part.skipped;
        self.fragments.extend(part.fragments);
        self.paths.extend(part.paths);
    }
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
    Skipped,
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
            return Ok(Blob::Skipped);
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
                        Blob::Skipped => {
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

    /// Turns one changed blob into a fragment of its added lines.
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
        };
        let kind = content::sniff(&new);
        if let Kind::Archive(_) = kind {
            // An archive has no lines to add: a new or changed one is scanned whole, when the
            // fragment is scanned.
            out.fragments.push(Fragment {
                path: change.path.to_str_lossy().into_owned(),
                data: new,
                commit: commit.map(str::to_string),
                line_numbers: None,
            });
            return Ok(());
        }
        // Both versions as decoded text, so added lines and their numbers are the text's.
        let new = content::decode_owned(kind, new);
        let old = match change.old {
            Some(id) => match Self::read_blob(repo, id, max_size)? {
                Blob::Text(data) => match content::sniff(&data) {
                    Kind::Archive(_) => Vec::new(),
                    kind => content::decode_owned(kind, data),
                },
                Blob::Skipped => Vec::new(),
            },
            None => Vec::new(),
        };
        let (data, numbers) = added_lines(&old, &new);
        if numbers.is_empty() {
            return Ok(());
        }
        out.fragments.push(Fragment {
            path: change.path.to_str_lossy().into_owned(),
            data,
            commit: commit.map(str::to_string),
            line_numbers: Some(numbers),
        });
        Ok(())
    }

    /// Resolves a revision (branch, tag, id, `HEAD~2`) to a commit id, peeling tags.
    pub fn resolve_commit(&self, spec: &str) -> Result<ObjectId> {
        let id = self.repo.rev_parse_single(spec).map_err(|e| {
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

    /// `A..B`: the base commit A and the commits in B not in A.
    pub fn range(&self, spec: &str) -> Result<(ObjectId, Vec<ObjectId>)> {
        let (from, to) = spec
            .split_once("..")
            .filter(|(_, to)| !to.starts_with('.'))
            .ok_or_else(|| Error::Usage(format!("--range wants A..B, got {spec:?}")))?;
        let to = self.resolve_commit(if to.is_empty() { "HEAD" } else { to })?;
        let from = self.resolve_commit(if from.is_empty() { "HEAD" } else { from })?;
        Ok((from, self.commits_between(&[to], &[from])?))
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
                Kind::Archive(_) => Ok(None),
                kind => Ok(Some(content::decode_owned(kind, data))),
            },
            Blob::Skipped => Ok(None),
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

    /// Added lines of every commit in `commits`, each fragment naming its commit. Commits are
    /// diffed in parallel, each thread with its own repository handle.
    pub fn commit_fragments(&self, commits: &[ObjectId], max_size: u64) -> Result<GitFragments> {
        use rayon::prelude::*;
        let shared = self.repo.clone().into_sync();
        let parts: Vec<Result<GitFragments>> = commits
            .par_iter()
            .map_init(
                || thread_handle(&shared),
                |repo, &id| {
                    let mut out = GitFragments::default();
                    let hex = id.to_string();
                    for change in Self::commit_changes(repo, id)? {
                        Self::push_change(repo, change, Some(&hex), max_size, &mut out)?;
                    }
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
                        }),
                        Blob::Skipped => {
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
