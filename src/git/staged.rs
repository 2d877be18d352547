//! The staged change (what `git commit` is about to record): the index against HEAD, read as
//! stored, with only the added lines of changed files handed on.

use super::*;

impl GitRepo {
    /// Path and blob of every regular file the index tracks (conflicted entries left out):
    /// what a commit made now would hold. Untracked and ignored files are never in it.
    pub(super) fn index_files(&self) -> Result<Vec<(BString, ObjectId)>> {
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
    pub(super) fn push_change(
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
