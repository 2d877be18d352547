//! Files as they are on disk: walks directories with the `ignore` crate (honouring .gitignore,
//! skipping `.git`) and reads each file that is small enough and not binary.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::Error;

/// Every file under `roots`, sorted so runs are reproducible. Explicitly named files are always
/// included; directory walks skip ignored files and `.git`. Walk errors are returned, not
/// dropped, so the caller can report what was not scanned.
pub fn walk(roots: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>) {
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    for root in roots {
        // A named symlink to a file is not followed (it may point out of the tree, as a staged
        // symlink named by the pre-commit framework does); a named directory link is walked.
        if let Ok(link) = std::fs::symlink_metadata(root) {
            if link.file_type().is_symlink() && std::fs::metadata(root).is_ok_and(|m| !m.is_dir()) {
                continue;
            }
        }
        match std::fs::metadata(root) {
            Ok(meta) if !meta.is_dir() => {
                files.lock().unwrap().push(root.clone());
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                errors.lock().unwrap().push(Error::io(root, e));
                continue;
            }
        }
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .git_global(false)
            .follow_links(false)
            .filter_entry(|entry| entry.file_name() != ".git")
            .build_parallel();
        walker.run(|| {
            let files = &files;
            let errors = &errors;
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        if entry.file_type().is_some_and(|t| t.is_file()) {
                            files.lock().unwrap().push(entry.into_path());
                        }
                    }
                    Err(err) => errors.lock().unwrap().push(walk_error(err)),
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut files = files.into_inner().unwrap();
    files.sort();
    files.dedup();
    (files, errors.into_inner().unwrap())
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
    Text(Vec<u8>),
    TooLarge(u64),
    Binary,
}

/// Reads a file unless it is over `max_size` (checked before reading) or binary.
pub fn read(path: &Path, max_size: u64) -> Result<FileContent, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > max_size {
        return Ok(FileContent::TooLarge(meta.len()));
    }
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if super::is_binary(&data) {
        return Ok(FileContent::Binary);
    }
    Ok(FileContent::Text(data))
}
