//! The staged change (what `git commit` is about to record): the index against HEAD, read as
//! stored, with only the added lines of changed files handed on.

use super::*;

impl GitRepo {
    /// Path and blob of every regular file the index tracks (conflicted entries left out):
    /// what a commit made now would hold. Untracked and ignored files are never in it.
    pub(super) fn index_files(&self) -> Result<Vec<(BString, ObjectId)>> {
        Ok(index_entries(&self.load_index()?))
    }

    /// The index as stored (an empty one when there is no index file yet), refused when its
    /// trailing checksum is wrong, as git refuses it.
    fn load_index(&self) -> Result<gix::index::File> {
        // gix panics on some corrupt index files instead of returning an error; a scan must
        // fail with a message (and a hook fail closed), so the panic becomes that message.
        let index_path = self.repo.index_path();
        let hash = self.repo.object_hash();
        // A SHA-1 repository's checksum is checked here with plain SHA-1, which uses the CPU's
        // SHA instructions: gix checks it with collision-detecting SHA-1, which took 3 of a
        // hook's 30 ms on the half-megabyte index of a large repository. Collision detection
        // guards content-addressed objects; this is the checksum of a local file.
        let verified_here = hash == gix::hash::Kind::Sha1;
        if verified_here && !index_checksum_ok(&index_path) {
            return Err(Error::Git(format!(
                "index {}: corrupt, its checksum does not match its content",
                index_path.display()
            )));
        }
        let silent = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let loaded =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match gix::index::File::at(
                &index_path,
                hash,
                verified_here,
                Default::default(),
            ) {
                Err(gix::index::file::init::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(gix::index::File::from_state(
                        gix::index::State::new(hash),
                        index_path.clone(),
                    ))
                }
                other => other.map_err(Box::new),
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
                crate::text::inert(&path.to_str_lossy())
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
        Ok(index)
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
        let index = self.load_index()?;
        // Directories the cache tree holds as HEAD has them are not read on either side.
        let (head, unchanged) = self.tree_files_but(head_tree, &written_trees(&index))?;
        let staged: HashMap<BString, ObjectId> = index_entries(&index)
            .into_iter()
            .filter(|(path, _)| !in_any(&unchanged, path))
            .collect();
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
    pub(super) fn push_change(
        repo: &gix::Repository,
        change: BlobChange,
        commit: Option<&str>,
        max_size: u64,
        out: &mut GitFragments,
    ) -> Result<()> {
        // Without a commit the change is staged, and its new blob was written loose by `git add`.
        let new = if commit.is_none() {
            Self::read_staged_blob(repo, change.new, max_size)?
        } else {
            Self::read_blob(repo, change.new, max_size)?
        };
        let new = match new {
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
    pub(super) fn old_version(
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
    pub(super) fn push_added(
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
}

impl GitRepo {
    /// Path → blob id of every regular file in a tree, except under the directories that
    /// `written` holds with the very tree id this tree has there; those directories are
    /// returned apart ("" for the whole tree).
    fn tree_files_but(
        &self,
        tree_id: ObjectId,
        written: &HashMap<BString, ObjectId>,
    ) -> Result<(HashMap<BString, ObjectId>, Directories)> {
        let mut files = HashMap::new();
        let mut unchanged = HashSet::new();
        let mut pending = vec![(BString::default(), tree_id)];
        while let Some((dir, id)) = pending.pop() {
            if written.get(&dir) == Some(&id) {
                unchanged.insert(dir.into());
                continue;
            }
            let tree = self
                .repo
                .find_tree(id)
                .map_err(|e| git_error(format!("tree {id}"), e))?;
            let decoded = tree
                .decode()
                .map_err(|e| git_error(format!("tree {id}"), e))?;
            for entry in &decoded.entries {
                let mut path = dir.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(entry.filename);
                if entry.mode.is_tree() {
                    pending.push((path, entry.oid.to_owned()));
                } else if entry.mode.is_blob() {
                    files.insert(path, entry.oid.to_owned());
                }
            }
        }
        Ok((files, unchanged))
    }
}

/// Repository-relative directory paths ("" for the root).
type Directories = HashSet<Vec<u8>>;

/// The directories that the index's cache tree (git's TREE extension) holds as written, by
/// path ("" for the root), with the tree id of each. `git commit` records these trees as they
/// are, without rebuilding them from the entries below them, so where one is the tree HEAD
/// has, the commit changes nothing below it.
fn written_trees(index: &gix::index::File) -> HashMap<BString, ObjectId> {
    let mut written = HashMap::new();
    let Some(root) = index.tree() else {
        return written;
    };
    let mut pending = vec![(BString::default(), root)];
    while let Some((dir, tree)) = pending.pop() {
        if tree.num_entries.is_some() {
            written.insert(dir.clone(), tree.id);
        }
        // Below a directory that is not written, others may be.
        for child in &tree.children {
            let mut path = dir.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&child.name);
            pending.push((path, child));
        }
    }
    written
}

/// Whether `path` lies under one of `dirs` ("" holds everything).
fn in_any(dirs: &Directories, path: &[u8]) -> bool {
    !dirs.is_empty()
        && (dirs.contains(&b""[..])
            || path
                .iter()
                .enumerate()
                .any(|(at, &b)| b == b'/' && dirs.contains(&path[..at])))
}

/// Path and blob of every regular, unconflicted file in `index`.
fn index_entries(index: &gix::index::File) -> Vec<(BString, ObjectId)> {
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
        files.push((entry.path(index).to_owned(), entry.id));
    }
    files
}

/// Whether the index file at `path` ends in the SHA-1 of the bytes before it, or in twenty
/// zero bytes (what git writes under `index.skipHash`). No file is an empty index, and a file
/// that cannot be read is left to the caller's own read, which names the fault: both `true`.
fn index_checksum_ok(path: &Path) -> bool {
    use sha1::Digest;
    let Ok(bytes) = std::fs::read(path) else {
        return true;
    };
    let Some(split) = bytes.len().checked_sub(20) else {
        // Too short for a header and a trailer: the parser says so.
        return true;
    };
    let (body, trailer) = bytes.split_at(split);
    trailer.iter().all(|&b| b == 0) || sha1::Sha1::digest(body).as_slice() == trailer
}
