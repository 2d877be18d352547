//! Sources turn what is about to leave (files on disk, staged changes, commits, stdin) into
//! fragments: bytes with a path, and for partial content the file line of each fragment line.

pub mod archive;
pub mod container;
pub mod content;
pub mod diff;
pub mod files;

/// A piece of content to scan.
#[derive(Clone, Debug)]
pub struct Fragment {
    /// The path shown in reports.
    pub path: String,
    pub data: Vec<u8>,
    /// The commit the content belongs to, for history scans.
    pub commit: Option<String>,
    /// When the fragment holds only some lines of a file (the added lines of a diff): the
    /// 1-based file line of each fragment line. `None` when the fragment is the whole file.
    pub line_numbers: Option<Vec<usize>>,
    /// A commit or tag message, not a file: counted as a message in the stats.
    pub is_message: bool,
}

/// The path a finding in a commit message is reported at; its `commit` is that commit. No file
/// is meant: the brackets keep it apart from the tree's paths, as `<stdin>` is.
pub const COMMIT_MESSAGE: &str = "<commit message>";

/// The path a finding in an annotated tag's message is reported at; its `commit` is the tag
/// object's id.
pub const TAG_MESSAGE: &str = "<tag message>";

impl Fragment {
    pub fn file(path: impl Into<String>, data: Vec<u8>) -> Fragment {
        Fragment {
            path: path.into(),
            data,
            commit: None,
            line_numbers: None,
            is_message: false,
        }
    }

    /// A commit's or tag's message (`path` is [`COMMIT_MESSAGE`] or [`TAG_MESSAGE`]), under the
    /// id of the object that carries it.
    pub fn message(path: &str, id: String, data: Vec<u8>) -> Fragment {
        Fragment {
            path: path.to_string(),
            data,
            commit: Some(id),
            line_numbers: None,
            is_message: true,
        }
    }

    /// Maps a 1-based fragment line to the file's line.
    pub fn file_line(&self, fragment_line: usize) -> usize {
        match &self.line_numbers {
            Some(map) => map
                .get(fragment_line - 1)
                .or(map.last())
                .copied()
                .unwrap_or(fragment_line),
            None => fragment_line,
        }
    }
}

pub use content::is_binary;
