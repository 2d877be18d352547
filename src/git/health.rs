//! Diagnosing a repository that cannot be read: a broken `.git` file or a corrupt pack named
//! in the error, so the message says what to repair instead of a generic gix failure.

use super::*;

/// A `.git` file (a worktree or submodule link) in `dir` or above that points at a directory
/// that is not there: discovery then reports "no repository", which hides the real problem.
pub(super) fn broken_git_file(dir: &Path) -> Option<String> {
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
pub(super) fn with_broken_pack(repo: &gix::Repository, err: Error) -> Error {
    match (broken_pack(repo), err) {
        (Some(problem), Error::Git(message)) => Error::Git(format!("{problem}; {message}")),
        (_, err) => err,
    }
}

/// The first pack that does not end with the checksum its index records (a cheap check: the
/// last bytes of each file, never the whole pack).
pub(super) fn broken_pack(repo: &gix::Repository) -> Option<String> {
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
