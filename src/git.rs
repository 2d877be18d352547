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
use crate::source::diff::added_lines;
use crate::source::{is_binary, Fragment};

/// Git LFS pointers stand in for content stored elsewhere; scanning them finds nothing.
const LFS_POINTER: &[u8] = b"version https://git-lfs.github.com/spec/v1";

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

    /// The content of a blob, unless it is too large, binary or an LFS pointer. The size is
    /// read from the object header first, so a huge blob is never loaded.
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
        if is_binary(&data) || data.starts_with(LFS_POINTER) {
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

    /// The added lines of what the next commit would record: the index against HEAD's tree
    /// (the empty tree while HEAD is unborn). Reads staged blobs only, never the work tree.
    pub fn staged(&self, max_size: u64) -> Result<GitFragments> {
        let head_tree = self
            .repo
            .head_tree_id_or_empty()
            .map_err(|e| git_error("HEAD", e))?
            .detach();
        let head = self.tree_files(head_tree)?;
        // gix panics on some corrupt index files instead of returning an error; a scan must
        // fail with a message (and a hook fail closed), so the panic becomes that message.
        let index_path = self.repo.index_path();
        let silent = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.repo.index_or_empty().map_err(Box::new)
        }));
        std::panic::set_hook(silent);
        let index = match loaded {
            Ok(index) => {
                index.map_err(|e| git_error(format!("index {}", index_path.display()), e))?
            }
            Err(_) => {
                return Err(Error::Git(format!(
                    "index {}: corrupt, it could not be parsed",
                    index_path.display()
                )))
            }
        };
        let mut staged: HashMap<BString, ObjectId> = HashMap::new();
        for entry in index.entries() {
            use gix::index::entry::{Mode, Stage};
            if entry.stage() != Stage::Unconflicted {
                continue;
            }
            // Submodules (commits) and symlinks are not followed; only file content counts.
            if entry.mode != Mode::FILE && entry.mode != Mode::FILE_EXECUTABLE {
                continue;
            }
            staged.insert(entry.path(&index).to_owned(), entry.id);
        }
        let changes = changes_between(&head, &staged);
        let mut out = GitFragments::default();
        for change in changes {
            out.paths.insert(change.path.to_str_lossy().into_owned());
            Self::push_change(&self.repo, change, None, max_size, &mut out)?;
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
        let old = match change.old {
            Some(id) => match Self::read_blob(repo, id, max_size)? {
                Blob::Text(data) => data,
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

    /// A file's content in a commit's tree (for reading config from a trusted commit), or
    /// `None` when the path is not there.
    pub fn read_file_at(&self, commit: ObjectId, path: &Path) -> Result<Option<Vec<u8>>> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(|e| git_error(format!("commit {commit}"), e))?;
        let tree = commit.tree().map_err(|e| git_error("tree", e))?;
        let Some(entry) = tree
            .lookup_entry_by_path(path)
            .map_err(|e| git_error(format!("{} in {}", path.display(), commit.id), e))?
        else {
            return Ok(None);
        };
        // Configuration is small; a huge blob under that name is refused, not loaded.
        const MAX_CONFIG: u64 = 4 * 1024 * 1024;
        let id = entry.oid().to_owned();
        let header = self
            .repo
            .find_header(id)
            .map_err(|e| git_error(format!("{}", path.display()), e))?;
        if header.size() > MAX_CONFIG {
            return Err(git_error(
                format!("{} in {}", path.display(), commit.id),
                format!(
                    "{} bytes is too large for a configuration file",
                    header.size()
                ),
            ));
        }
        let object = entry
            .object()
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
            let part = part?;
            out.skipped += part.skipped;
            out.fragments.extend(part.fragments);
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

// ---- whole-history scan ----------------------------------------------------------------------

/// A blob of the history that may hold a secret, traced to where it first appeared.
pub struct PlacedBlob {
    pub blob: ObjectId,
    /// The first commit, parents before children, whose tree holds the blob.
    pub commit: String,
    /// Where that commit added it.
    pub path: BString,
}

/// What [`GitRepo::history_candidates`] found.
#[derive(Default)]
pub struct HistoryCandidates {
    pub placed: Vec<PlacedBlob>,
    /// Blobs not scanned on purpose: binary, over the size limit or a Git LFS pointer. Like the
    /// blobs scanned, counted over the object database, which may hold blobs no reference
    /// reaches any more (until `git gc` prunes them).
    pub skipped: u64,
}

/// What a pack entry is once its delta chain is followed to a whole object. A delta has its
/// base's kind (git never deltifies across kinds, and it could not decode if it did).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Unknown,
    /// A blob small enough to scan.
    Blob,
    /// A blob over the size limit, or a delta based on one: looked at one at a time, where its
    /// header says how large it is, so it is never decoded.
    Big,
    Tree,
    Other,
}

/// Where a pack's first entry starts, after its signature, version and object count.
const PACK_HEADER_LEN: u64 = 12;

/// Objects decoded by one traversal at most: the traversal holds about 50 bytes for each, so a
/// large pack is decoded a group of whole delta chains at a time.
const GROUP_OBJECTS: usize = 100_000;

/// A pack's objects as the history scan reads them (index positions, in pack order).
#[derive(Default)]
struct Classified {
    blobs: Vec<Vec<u32>>,
    big: Vec<u32>,
    trees: Vec<Vec<u32>>,
}

/// One pack of the object database.
struct Pack {
    index: pack::index::File,
    data: pack::data::File,
    /// Objects are numbered across the whole database: a pack object's number is `first` plus
    /// its position in the index, so a number is 4 bytes and no table of ids is needed.
    first: u32,
}

impl Pack {
    fn name(&self) -> String {
        self.data.path().display().to_string()
    }

    fn error(&self, err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        git_error(format!("pack {}", self.name()), err)
    }

    /// The index positions of this pack's blobs, big blobs and trees, each in pack order; blobs
    /// and trees split into groups of whole delta chains (see [`GROUP_OBJECTS`]).
    fn classify(&self, max_size: u64) -> Result<Classified> {
        use pack::data::entry::Header;
        let mut by_offset: Vec<(u64, u32)> = (0..self.index.num_objects())
            .map(|i| (self.index.pack_offset_at_index(i), i))
            .collect();
        by_offset.sort_unstable();
        let at = |offset: u64| by_offset.binary_search_by_key(&offset, |e| e.0).ok();
        let mut class = vec![Class::Unknown; by_offset.len()];
        // The first object of each one's delta chain, by its place in `by_offset`.
        let mut root: Vec<u32> = (0..by_offset.len() as u32).collect();
        // Deltas whose base comes later in the pack (only possible with ref-deltas): resolved
        // once everything else is known.
        let mut waiting: Vec<(usize, usize)> = Vec::new();
        for (i, &(offset, _)) in by_offset.iter().enumerate() {
            let entry = self.data.entry(offset).map_err(|e| self.error(e))?;
            let base = match entry.header {
                Header::Blob if entry.decompressed_size > max_size => {
                    class[i] = Class::Big;
                    continue;
                }
                Header::Blob => {
                    class[i] = Class::Blob;
                    continue;
                }
                Header::Tree => {
                    class[i] = Class::Tree;
                    continue;
                }
                Header::Commit | Header::Tag => {
                    class[i] = Class::Other;
                    continue;
                }
                Header::OfsDelta { base_distance } => offset
                    .checked_sub(base_distance)
                    .and_then(at)
                    .ok_or_else(|| self.error(format!("delta at {offset} has no base")))?,
                Header::RefDelta { base_id } => self
                    .index
                    .lookup(base_id)
                    .and_then(|pos| at(self.index.pack_offset_at_index(pos)))
                    .ok_or_else(|| {
                        self.error(format!(
                            "delta at {offset}: base {base_id} is not in the pack"
                        ))
                    })?,
            };
            match class[base] {
                Class::Unknown => waiting.push((i, base)),
                known => {
                    class[i] = known;
                    root[i] = root[base];
                }
            }
        }
        while !waiting.is_empty() {
            let before = waiting.len();
            waiting.retain(|&(i, base)| match class[base] {
                Class::Unknown => true,
                known => {
                    class[i] = known;
                    root[i] = root[base];
                    false
                }
            });
            if waiting.len() == before {
                return Err(self.error("delta chains form a cycle"));
            }
        }
        // A chain's group is its first object's rank among the class's chains.
        let mut out = Classified::default();
        for (wanted, groups) in [(Class::Blob, &mut out.blobs), (Class::Tree, &mut out.trees)] {
            let count = class.iter().filter(|&&c| c == wanted).count();
            let chains = (0..class.len())
                .filter(|&i| class[i] == wanted && root[i] as usize == i)
                .count();
            let parts = count.div_ceil(GROUP_OBJECTS).max(1);
            groups.resize_with(parts, Vec::new);
            let mut group_of = vec![0u32; if parts > 1 { class.len() } else { 0 }];
            if parts > 1 {
                let mut seen_chains = 0;
                for i in 0..class.len() {
                    if class[i] == wanted && root[i] as usize == i {
                        group_of[i] = (seen_chains * parts / chains) as u32;
                        seen_chains += 1;
                    }
                }
            }
            for (i, &(_, pos)) in by_offset.iter().enumerate() {
                if class[i] == wanted {
                    let group = if parts == 1 {
                        0
                    } else {
                        group_of[root[i] as usize] as usize
                    };
                    groups[group].push(pos);
                }
            }
        }
        for (i, &(_, pos)) in by_offset.iter().enumerate() {
            if class[i] == Class::Big {
                out.big.push(pos);
            }
        }
        Ok(out)
    }

    /// Decodes the objects at index positions `positions` (in pack order, closed under delta
    /// bases) once each, bases before deltas, on `threads` threads, and hands each to `visit`
    /// with its number. Memory is the delta tree (about 50 bytes an object) and the bases in
    /// flight.
    fn traverse<V>(&self, positions: Vec<u32>, threads: usize, visit: V) -> Result<()>
    where
        V: FnMut(u32, &[u8]) + Send + Clone,
    {
        if positions.is_empty() {
            return Ok(());
        }
        // gix reads the first entry without seeking to it, so the list must start with the pack's
        // first object; it is decoded too, and not visited.
        let mut positions = positions;
        let first_offset = PACK_HEADER_LEN;
        let mut extra = None;
        if self.index.pack_offset_at_index(positions[0]) != first_offset {
            let head = (0..self.index.num_objects())
                .find(|&i| self.index.pack_offset_at_index(i) == first_offset)
                .ok_or_else(|| self.error("no object at the start of the pack"))?;
            let entry = self.data.entry(first_offset).map_err(|e| self.error(e))?;
            if !entry.header.is_base() {
                return Err(self.error("the pack starts with a delta"));
            }
            positions.insert(0, head);
            extra = Some(head);
        }
        let stop = std::sync::atomic::AtomicBool::new(false);
        let hash = self.index.object_hash();
        let tree = pack::cache::delta::Tree::from_offsets_in_pack(
            self.data.path(),
            positions.into_iter(),
            &|pos| self.index.pack_offset_at_index(*pos),
            &|id| {
                self.index
                    .lookup(id)
                    .map(|pos| self.index.pack_offset_at_index(pos))
            },
            &mut gix::progress::Discard,
            &stop,
            hash,
        )
        .map_err(|e| self.error(e))?;
        let first = self.first;
        let mut visit = visit;
        tree.traverse(
            |range, data: &pack::data::File| data.entry_slice(range),
            &self.data,
            self.data.pack_end() as u64,
            move |pos: &mut u32, _, context| -> std::result::Result<(), std::convert::Infallible> {
                if Some(*pos) != extra {
                    visit(first + *pos, context.decompressed);
                }
                Ok(())
            },
            pack::cache::delta::traverse::Options {
                object_progress: Box::new(gix::progress::Discard),
                size_progress: &mut gix::progress::Discard,
                thread_limit: Some(threads),
                should_interrupt: &stop,
                object_hash: hash,
                alloc_limit_bytes: None,
            },
        )
        .map_err(|e| self.error(e))?;
        Ok(())
    }
}

/// Every pack and loose object of the repository and its alternates, numbered: a pack object is
/// its pack's `first` plus its index position, loose objects follow all packs.
struct ObjectDb {
    packs: Vec<Pack>,
    stores: Vec<gix::odb::loose::Store>,
    /// (store, id) of each loose object, numbered from `loose_first` in this order.
    loose: Vec<(usize, ObjectId)>,
    loose_first: u32,
}

impl ObjectDb {
    fn open(dirs: &[std::path::PathBuf], hash: gix::hash::Kind) -> Result<ObjectDb> {
        let mut db = ObjectDb {
            packs: Vec::new(),
            stores: Vec::new(),
            loose: Vec::new(),
            loose_first: 0,
        };
        let mut next: u32 = 0;
        for dir in dirs {
            let mut indexes: Vec<_> = match std::fs::read_dir(dir.join("pack")) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                    .collect(),
                Err(_) => Vec::new(),
            };
            indexes.sort();
            for idx in indexes {
                let index = pack::index::File::at(&idx, hash)
                    .map_err(|e| git_error(format!("pack index {}", idx.display()), e))?;
                let pack_path = idx.with_extension("pack");
                let data = pack::data::File::at(&pack_path, hash)
                    .map_err(|e| git_error(format!("pack {}", pack_path.display()), e))?;
                let count = index.num_objects();
                db.packs.push(Pack {
                    index,
                    data,
                    first: next,
                });
                next = next
                    .checked_add(count)
                    .ok_or_else(|| Error::Git("more than 4 billion objects".into()))?;
            }
            let store = gix::odb::loose::Store::at(dir.clone(), hash);
            for id in store.iter() {
                let id =
                    id.map_err(|e| git_error(format!("loose objects in {}", dir.display()), e))?;
                db.loose.push((db.stores.len(), id));
            }
            db.stores.push(store);
        }
        db.loose_first = next;
        Ok(db)
    }

    fn len(&self) -> usize {
        self.loose_first as usize + self.loose.len()
    }

    fn id(&self, number: u32) -> ObjectId {
        if number >= self.loose_first {
            return self.loose[(number - self.loose_first) as usize].1;
        }
        let pack = self
            .packs
            .iter()
            .rev()
            .find(|p| p.first <= number)
            .expect("pack numbers start at 0");
        pack.index.oid_at_index(number - pack.first).to_owned()
    }

    fn loose_header(&self, i: usize) -> Result<Option<(u64, gix::objs::Kind)>> {
        let (store, id) = &self.loose[i];
        self.stores[*store]
            .try_header(id)
            .map_err(|e| git_error(format!("object {id}"), e))
    }

    fn loose_data(&self, i: usize) -> Result<Vec<u8>> {
        let (store, id) = &self.loose[i];
        let mut buf = Vec::new();
        self.stores[*store]
            .try_find(id, &mut buf)
            .map_err(|e| git_error(format!("object {id}"), e))?
            .ok_or_else(|| Error::Git(format!("object {id}: not found")))?;
        Ok(buf)
    }
}

/// What the trees of the object database say, gathered while they are decoded.
#[derive(Default)]
struct TreeFacts {
    /// Subtrees as records `[tree, n, subtree 1, ..., subtree n]` by object number, in chunks
    /// (one per batch a traversal thread hands over), so nothing is copied as they grow.
    chunks: Vec<Vec<u32>>,
    /// (tree, candidate blob) for every candidate a tree holds as a regular file.
    holds: Vec<(u32, u32)>,
    /// Trees that name a missing object or do not parse: an error if a commit reaches them.
    broken: Vec<(u32, String)>,
}

/// One thread's facts in the making: the records of its current chunk, the rest as in
/// [`TreeFacts`].
#[derive(Default)]
struct LocalFacts {
    records: Vec<u32>,
    holds: Vec<(u32, u32)>,
    broken: Vec<(u32, String)>,
}

/// Records per chunk handed over at once.
const CHUNK_RECORDS: usize = 1 << 16;

impl TreeFacts {
    fn take(&mut self, local: &mut LocalFacts) {
        if !local.records.is_empty() {
            let mut records = std::mem::take(&mut local.records);
            records.shrink_to_fit();
            self.chunks.push(records);
        }
        self.holds.append(&mut local.holds);
        self.broken.append(&mut local.broken);
    }
}

/// One traversal thread's facts, moved to the shared ones a chunk at a time and when it
/// finishes (the traversal clones the visitor per thread and drops the clones at the end).
struct Gather<'a> {
    local: LocalFacts,
    into: &'a std::sync::Mutex<TreeFacts>,
}

impl Gather<'_> {
    fn visit(&mut self, read: impl FnOnce(&mut LocalFacts)) {
        if self.local.records.capacity() == 0 {
            // Room for a chunk and the record that ends it, so it never doubles.
            self.local.records.reserve_exact(CHUNK_RECORDS + 1024);
        }
        read(&mut self.local);
        if self.local.records.len() >= CHUNK_RECORDS {
            self.into.lock().unwrap().take(&mut self.local);
        }
    }
}

impl Clone for Gather<'_> {
    fn clone(&self) -> Self {
        Gather {
            local: LocalFacts::default(),
            into: self.into,
        }
    }
}

impl Drop for Gather<'_> {
    fn drop(&mut self) {
        if let Ok(mut all) = self.into.lock() {
            all.take(&mut self.local);
        }
    }
}

/// The subtrees of each tree, from the records of [`TreeFacts`].
struct TreeGraph {
    chunks: Vec<Vec<u32>>,
    /// Where each object's record starts: (chunk << 32) | offset, or `u64::MAX`.
    at: Vec<u64>,
}

impl TreeGraph {
    fn new(chunks: Vec<Vec<u32>>, objects: usize) -> TreeGraph {
        let mut at = vec![u64::MAX; objects];
        for (c, chunk) in chunks.iter().enumerate() {
            let mut i = 0;
            while i < chunk.len() {
                at[chunk[i] as usize] = ((c as u64) << 32) | i as u64;
                i += 2 + chunk[i + 1] as usize;
            }
        }
        TreeGraph { chunks, at }
    }

    fn subtrees(&self, tree: u32) -> &[u32] {
        match self.at[tree as usize] {
            u64::MAX => &[],
            at => {
                let chunk = &self.chunks[(at >> 32) as usize];
                let i = (at & u64::from(u32::MAX)) as usize;
                &chunk[i + 2..i + 2 + chunk[i + 1] as usize]
            }
        }
    }
}

/// The entries of a tree object as (mode, id): the history scan needs no names, and gix's
/// parser, which builds them, was most of the cost of reading every tree of a history.
/// `None` if the tree does not parse.
fn for_each_entry(data: &[u8], hash_len: usize, mut f: impl FnMut(u32, &[u8])) -> Option<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let mut mode: u32 = 0;
        let mut i = 0;
        while i < rest.len() && rest[i] != b' ' {
            let digit = rest[i].wrapping_sub(b'0');
            if digit > 7 || i >= 7 {
                return None;
            }
            mode = mode * 8 + u32::from(digit);
            i += 1;
        }
        let name_end = i + 1 + memchr::memchr(0, rest.get(i + 1..)?)?;
        let id = rest.get(name_end + 1..name_end + 1 + hash_len)?;
        f(mode, id);
        rest = &rest[name_end + 1 + hash_len..];
    }
    Some(())
}

/// File type bits of a tree entry's mode, as git and gix read them.
const MODE_TYPE: u32 = 0o170000;
const MODE_TREE: u32 = 0o040000;
const MODE_FILE: u32 = 0o100000;

/// Whether a blob is scanned, judged as [`GitRepo::read_blob`] does.
fn scannable(data: &[u8]) -> bool {
    !is_binary(data) && !data.starts_with(LFS_POINTER)
}

/// The blobs present, by the first 8 bytes of their ids: the question asked of every file entry of
/// every tree is only whether its blob is there, and a full table of ids would be three times
/// the size. (A missing blob passes only if its id shares 64 bits with a blob that is there.)
struct BlobPresence {
    slots: Vec<u64>,
    zero: bool,
}

impl BlobPresence {
    fn with_capacity(n: usize) -> BlobPresence {
        BlobPresence {
            slots: vec![0; (n + n / 2 + 1).next_power_of_two()],
            zero: false,
        }
    }

    fn key(id: &gix::hash::oid) -> u64 {
        let bytes = id.as_bytes();
        u64::from_le_bytes(bytes[..8].try_into().expect("ids are longer than 8 bytes"))
    }

    /// The slot holding `key`, or the empty one where it would go (ids are uniformly random,
    /// so their low bits are a good hash).
    fn slot(&self, key: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        while self.slots[i] != 0 && self.slots[i] != key {
            i = (i + 1) & mask;
        }
        i
    }

    fn insert(&mut self, id: &gix::hash::oid) {
        match Self::key(id) {
            0 => self.zero = true,
            key => {
                let i = self.slot(key);
                self.slots[i] = key;
            }
        }
    }

    fn contains(&self, id: &gix::hash::oid) -> bool {
        match Self::key(id) {
            0 => self.zero,
            key => self.slots[self.slot(key)] == key,
        }
    }
}

/// The facts one tree adds: its subtrees, the candidates it holds and what it names that is not
/// there.
fn read_tree(
    number: u32,
    data: &[u8],
    hash: gix::hash::Kind,
    trees: &gix::hashtable::HashMap<ObjectId, u32>,
    blobs: &BlobPresence,
    candidates: &gix::hashtable::HashMap<ObjectId, u32>,
    out: &mut LocalFacts,
) {
    let start = out.records.len();
    out.records.extend([number, 0]);
    let mut missing = None;
    let parsed = for_each_entry(data, hash.len_in_bytes(), |mode, id| {
        let id = gix::hash::oid::from_bytes_unchecked(id);
        match mode & MODE_TYPE {
            MODE_TREE => match trees.get(id) {
                Some(&sub) => out.records.push(sub),
                None => missing = Some(format!("tree {id}: not found")),
            },
            MODE_FILE => {
                if let Some(&candidate) = candidates.get(id) {
                    out.holds.push((number, candidate));
                } else if !blobs.contains(id) {
                    missing = Some(format!("object {id}: not found"));
                }
            }
            _ => {}
        }
    });
    match out.records.len() - start - 2 {
        // A tree without subtrees needs no record.
        0 => out.records.truncate(start),
        n => out.records[start + 1] = n as u32,
    }
    if parsed.is_none() {
        out.broken.push((number, "does not parse".to_string()));
    } else if let Some(problem) = missing {
        out.broken.push((number, problem));
    }
}

impl GitRepo {
    /// The object directories: the repository's own, then its alternates.
    fn object_dirs(&self) -> Result<Vec<std::path::PathBuf>> {
        let own = self.repo.common_dir().join("objects");
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut dirs = vec![own.clone()];
        dirs.extend(
            gix::odb::alternate::resolve(own, &cwd)
                .map_err(|e| git_error("objects/info/alternates", e))?,
        );
        Ok(dirs)
    }

    /// Every blob of the history that `might_report` says yes to, with the first commit
    /// (parents before children) whose tree holds it and its path there; blobs no reference
    /// reaches are left out. `total` is set to the number of blobs `might_report` will see.
    ///
    /// Reading blobs one by one follows each one's delta chain from its start, and diffing every
    /// commit against its parent decodes the same trees over and over. Instead every pack is
    /// decoded once, bases before deltas (gix-pack's delta-tree traversal): first the blobs,
    /// each passed to `might_report`; then the trees, keeping only which trees hold which
    /// subtrees and which hold a candidate. A walk of the commits over that graph visits each
    /// tree once and places every candidate at the first commit that reaches it. Only those
    /// commits are then diffed, for the path.
    pub fn history_candidates<M>(
        &self,
        max_size: u64,
        total: &std::sync::atomic::AtomicU64,
        might_report: M,
    ) -> Result<HistoryCandidates>
    where
        M: Fn(&[u8]) -> bool + Sync,
    {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Mutex;
        if let Some(problem) = broken_pack(&self.repo) {
            return Err(Error::Git(problem));
        }
        let hash = self.repo.object_hash();
        let threads = rayon::current_num_threads().max(1);
        let db = ObjectDb::open(&self.object_dirs()?, hash)?;

        // Which objects are blobs and which are trees (a tree by its number: the first copy's,
        // if a tree is stored twice), sorted out on another thread while this one walks the
        // commits; both read the packs one object at a time.
        let (commits, classes) = std::thread::scope(|scope| {
            let classify = scope.spawn(|| {
                db.packs
                    .iter()
                    .map(|pack| pack.classify(max_size))
                    .collect::<Result<Vec<Classified>>>()
            });
            let commits = self.all_commits();
            let classes = classify
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (commits, classes)
        });
        let commits = commits?;
        if commits.is_empty() {
            return Ok(HistoryCandidates::default());
        }
        let mut classes = classes?;
        let mut loose_blobs = Vec::new();
        let mut loose_trees = Vec::new();
        for i in 0..db.loose.len() {
            match db.loose_header(i)? {
                Some((size, gix::objs::Kind::Blob)) => loose_blobs.push((i, size)),
                Some((_, gix::objs::Kind::Tree)) => loose_trees.push(i),
                _ => {}
            }
        }
        let blob_total = classes
            .iter()
            .map(|c| c.blobs.iter().map(Vec::len).sum::<usize>() + c.big.len())
            .sum::<usize>()
            + loose_blobs.len();
        let tree_total = classes
            .iter()
            .map(|c| c.trees.iter().map(Vec::len).sum::<usize>())
            .sum::<usize>()
            + loose_trees.len();
        let mut blob_presence = BlobPresence::with_capacity(blob_total);
        let mut tree_numbers: gix::hashtable::HashMap<ObjectId, u32> =
            gix::hashtable::HashMap::with_capacity_and_hasher(tree_total, Default::default());
        for (pack, classified) in db.packs.iter().zip(&classes) {
            for &pos in classified.blobs.iter().flatten().chain(&classified.big) {
                blob_presence.insert(pack.index.oid_at_index(pos));
            }
            for &pos in classified.trees.iter().flatten() {
                tree_numbers
                    .entry(pack.index.oid_at_index(pos).to_owned())
                    .or_insert(pack.first + pos);
            }
        }
        for &(i, _) in &loose_blobs {
            blob_presence.insert(&db.loose[i].1);
        }
        for &i in &loose_trees {
            tree_numbers
                .entry(db.loose[i].1)
                .or_insert(db.loose_first + i as u32);
        }
        total.store(blob_total as u64, Ordering::Relaxed);

        // Every blob once: could it hold a secret?
        let skipped = AtomicU64::new(0);
        let found: Mutex<Vec<u32>> = Mutex::new(Vec::new());
        let judge = |number: u32, data: &[u8]| {
            if data.len() as u64 > max_size || !scannable(data) {
                skipped.fetch_add(1, Ordering::Relaxed);
            } else if might_report(data) {
                found.lock().unwrap().push(number);
            }
        };
        let shared = self.repo.clone().into_sync();
        for (pack, classified) in db.packs.iter().zip(&mut classes) {
            for group in std::mem::take(&mut classified.blobs) {
                pack.traverse(group, threads, |number, data| judge(number, data))?;
            }
            // Over the size limit by their header, or deltas of such: one by one, by header.
            std::mem::take(&mut classified.big)
                .par_iter()
                .map_init(
                    || light_handle(&shared),
                    |repo, &pos| -> Result<()> {
                        let id = pack.index.oid_at_index(pos).to_owned();
                        match Self::read_blob(repo, id, max_size)? {
                            Blob::Text(data) => judge(pack.first + pos, &data),
                            Blob::Skipped => {
                                skipped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(())
                    },
                )
                .collect::<Result<Vec<()>>>()?;
        }
        for &(i, size) in &loose_blobs {
            if size > max_size {
                skipped.fetch_add(1, Ordering::Relaxed);
            } else {
                judge(db.loose_first + i as u32, &db.loose_data(i)?);
            }
        }
        let mut candidates: Vec<ObjectId> = found
            .into_inner()
            .unwrap()
            .into_iter()
            .map(|n| db.id(n))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let candidate_index: gix::hashtable::HashMap<ObjectId, u32> = candidates
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();

        // Every tree once: its subtrees and the candidates it holds.
        let facts = Mutex::new(TreeFacts::default());
        let read = |number: u32, data: &[u8], out: &mut LocalFacts| {
            read_tree(
                number,
                data,
                hash,
                &tree_numbers,
                &blob_presence,
                &candidate_index,
                out,
            )
        };
        for (pack, classified) in db.packs.iter().zip(&mut classes) {
            for group in std::mem::take(&mut classified.trees) {
                let mut gather = Gather {
                    local: LocalFacts::default(),
                    into: &facts,
                };
                pack.traverse(group, threads, move |number, data| {
                    gather.visit(|local| read(number, data, local))
                })?;
            }
        }
        let mut gather = Gather {
            local: LocalFacts::default(),
            into: &facts,
        };
        for &i in &loose_trees {
            let data = db.loose_data(i)?;
            gather.visit(|local| read(db.loose_first + i as u32, &data, local));
        }
        drop(gather);
        drop(classes);
        let facts = facts.into_inner().unwrap();
        drop(blob_presence);
        let placed = self
            .place(&db, &commits, tree_numbers, facts)?
            .into_iter()
            .map(|(candidate, index)| (candidates[candidate as usize], index))
            .collect();
        let placed = self.paths(&commits, placed)?;
        Ok(HistoryCandidates {
            placed,
            skipped: skipped.into_inner(),
        })
    }

    /// Walks the commits in order over the tree graph, each tree once, and gives each candidate
    /// the first commit that reaches it: (blob, index into `commits`). Fails if a commit reaches
    /// a tree that names a missing object.
    fn place(
        &self,
        db: &ObjectDb,
        commits: &[ObjectId],
        tree_numbers: gix::hashtable::HashMap<ObjectId, u32>,
        facts: TreeFacts,
    ) -> Result<Vec<(u32, usize)>> {
        use rayon::prelude::*;
        let shared = self.repo.clone().into_sync();
        let roots: Vec<u32> = commits
            .par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, &id| {
                    let commit = repo
                        .find_commit(id)
                        .map_err(|e| git_error(format!("commit {id}"), e))?;
                    let tree = commit
                        .tree_id()
                        .map_err(|e| git_error(format!("commit {id}"), e))?
                        .detach();
                    tree_numbers
                        .get(&tree)
                        .copied()
                        .ok_or_else(|| Error::Git(format!("commit {id}: tree {tree}: not found")))
                },
            )
            .collect::<Result<_>>()?;
        drop(tree_numbers);
        let TreeFacts {
            chunks,
            mut holds,
            broken,
        } = facts;
        let graph = TreeGraph::new(chunks, db.len());
        holds.sort_unstable();
        holds.dedup();
        let broken: HashMap<u32, String> = broken.into_iter().collect();
        let mut seen = vec![false; db.len()];
        let mut first: HashMap<u32, usize> = HashMap::new();
        let mut stack = Vec::new();
        for (index, &root) in roots.iter().enumerate() {
            stack.push(root);
            while let Some(tree) = stack.pop() {
                if std::mem::replace(&mut seen[tree as usize], true) {
                    continue;
                }
                if let Some(problem) = broken.get(&tree) {
                    return Err(Error::Git(format!(
                        "commit {}: tree {}: {problem}",
                        commits[index],
                        db.id(tree)
                    )));
                }
                let start = holds.partition_point(|e| e.0 < tree);
                for &(_, blob) in holds[start..].iter().take_while(|e| e.0 == tree) {
                    first.entry(blob).or_insert(index);
                }
                stack.extend_from_slice(graph.subtrees(tree));
            }
        }
        let mut placed: Vec<(u32, usize)> = first.into_iter().collect();
        placed.sort_unstable_by_key(|&(candidate, index)| (index, candidate));
        Ok(placed)
    }

    /// The path each placed blob has where its commit adds it: the first change of the commit's
    /// diff against its first parent that adds it, as a diff of every commit would find.
    fn paths(
        &self,
        commits: &[ObjectId],
        placed: Vec<(ObjectId, usize)>,
    ) -> Result<Vec<PlacedBlob>> {
        use rayon::prelude::*;
        let mut by_commit: Vec<(usize, Vec<ObjectId>)> = Vec::new();
        for (blob, index) in placed {
            match by_commit.last_mut() {
                Some((last, blobs)) if *last == index => blobs.push(blob),
                _ => by_commit.push((index, vec![blob])),
            }
        }
        let shared = self.repo.clone().into_sync();
        let found: Vec<Result<Vec<PlacedBlob>>> = by_commit
            .par_iter()
            .map_init(
                || light_handle(&shared),
                |repo, (index, blobs)| {
                    let commit = commits[*index];
                    let changes = Self::commit_changes(repo, commit)?;
                    let mut out = Vec::new();
                    for blob in blobs {
                        let path = match changes.iter().find(|c| c.new == *blob) {
                            Some(change) => change.path.clone(),
                            None => match Self::first_path(repo, commit, *blob)? {
                                Some(path) => path,
                                None => continue,
                            },
                        };
                        out.push(PlacedBlob {
                            blob: *blob,
                            commit: commit.to_string(),
                            path,
                        });
                    }
                    Ok(out)
                },
            )
            .collect();
        let mut out = Vec::new();
        for part in found {
            out.extend(part?);
        }
        Ok(out)
    }

    /// The first path (breadth first) at which `commit`'s tree holds `blob` as a regular file.
    fn first_path(
        repo: &gix::Repository,
        commit: ObjectId,
        blob: ObjectId,
    ) -> Result<Option<BString>> {
        let tree = repo
            .find_commit(commit)
            .map_err(|e| git_error(format!("commit {commit}"), e))?
            .tree()
            .map_err(|e| git_error(format!("commit {commit}"), e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| git_error(format!("commit {commit}"), e))?;
        Ok(recorder
            .records
            .into_iter()
            .find(|e| e.oid == blob && e.mode.is_blob())
            .map(|e| e.filepath))
    }
}
