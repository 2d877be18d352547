//! Files as they are on disk: walks directories with the `ignore` crate (honouring .gitignore,
//! skipping `.git`) and reads each file that is small enough; what the bytes are is decided
//! by the scan (`crate::source::content`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::Error;

/// Calls `visit` with every file under `roots`, from several threads at once, as the walk finds
/// them: scanning starts with the first file instead of after the last directory is listed.
/// Explicitly named files are always visited; directory walks skip ignored files and `.git`.
/// A file may be visited twice when it is both named and under a named directory. Walk errors
/// are returned, not dropped, so the caller can report what was not scanned.
pub fn for_each_file<F>(roots: &[PathBuf], visit: F) -> Vec<Error>
where
    F: Fn(PathBuf) + Sync,
{
    let errors = Mutex::new(Vec::new());
    let mut directories = Vec::new();
    for root in roots {
        // A named symlink to a file is not followed (it may point out of the tree, as a staged
        // symlink named by the pre-commit framework does); a named directory link is walked.
        if let Ok(link) = std::fs::symlink_metadata(root) {
            if link.file_type().is_symlink() && std::fs::metadata(root).is_ok_and(|m| !m.is_dir()) {
                continue;
            }
        }
        match std::fs::metadata(root) {
            Ok(meta) if !meta.is_dir() => visit(root.clone()),
            Ok(_) => directories.push(root),
            Err(e) => errors.lock().unwrap().push(Error::io(root, e)),
        }
    }
    for root in directories {
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .git_global(false)
            .follow_links(false)
            .threads(rayon::current_num_threads())
            .filter_entry(|entry| entry.file_name() != ".git")
            .build_parallel();
        walker.run(|| {
            let errors = &errors;
            let visit = &visit;
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        if entry.file_type().is_some_and(|t| t.is_file()) {
                            visit(entry.into_path());
                        }
                    }
                    Err(err) => errors.lock().unwrap().push(walk_error(err)),
                }
                ignore::WalkState::Continue
            })
        });
    }
    errors.into_inner().unwrap()
}

fn walk_error(err: ignore::Error) -> Error {
    let path = error_path(&err).map(Path::to_path_buf).unwrap_or_default();
    Error::io(path, std::io::Error::other(err.to_string()))
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

/// What reading one file gave.
pub enum FileContent {
    Data(Vec<u8>),
    TooLarge(u64),
}

/// Reads a file unless it is over `max_size` (checked before reading). The file is
/// opened once and sized from the open handle: one path lookup per file, not three.
pub fn read(path: &Path, max_size: u64) -> Result<FileContent, Error> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    let size = meta.len();
    if size > max_size {
        return Ok(FileContent::TooLarge(size));
    }
    let mut data = Vec::new();
    if meta.is_file() {
        // A regular file is read as the size it has now: reading on to prove the end costs one
        // more system call per file, a tenth of the time spent in the kernel on a large tree.
        // `take` stops at that size without asking the kernel again.
        data.reserve_exact(size as usize);
        file.by_ref()
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| Error::io(path, e))?;
    } else {
        // A named pipe or device has no size up front: read to its end, within the limit.
        file.by_ref()
            .take(max_size + 1)
            .read_to_end(&mut data)
            .map_err(|e| Error::io(path, e))?;
        if data.len() as u64 > max_size {
            return Ok(FileContent::TooLarge(data.len() as u64));
        }
    }
    Ok(FileContent::Data(data))
}
