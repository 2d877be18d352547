//! Where configuration files are read from: the disk, or a commit's tree for a range scan,
//! which must not trust what the change itself brings.

use std::path::Path;

use crate::error::{Error, Result};

/// Reads a file for the config loader: from disk, or from a commit's tree for `--range`.
pub trait ConfigReader {
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>>;

    /// How messages and reports name `path` read from here: a commit's reader says which
    /// commit (`<commit>:<path>`, as git writes it), so a reviewer sees the trusted source.
    fn describe(&self, path: &Path) -> String {
        path.display().to_string()
    }
}

/// Reads from the file system.
pub struct DiskReader;

impl ConfigReader for DiskReader {
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}
