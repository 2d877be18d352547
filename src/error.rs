//! The one error type. Every variant carries the context a user needs to fix the problem:
//! the file and line, the rule id or the path at fault.

use std::path::PathBuf;

/// Everything that can stop staunch from finishing a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cause is part of the message and deliberately not returned by `source()`: this
    /// error is printed alone in many places (skipped files, hook blocks), and `main`, which
    /// prints the `source()` chain, would otherwise repeat the cause.
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A rule pack or config file that is not valid TOML or has the wrong shape.
    #[error("{file}:{line}: {message}")]
    Toml {
        file: String,
        line: usize,
        message: String,
    },
    /// A rule that parsed but cannot be used (bad regex, duplicate id, no keywords...).
    #[error("{file}: rule {id}: {message}")]
    Rule {
        file: String,
        id: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    /// A gitleaks regex using an RE2 construct that has no Rust `regex` equivalent.
    #[error("{file}: {context}: RE2 construct {construct} cannot be translated")]
    Untranslatable {
        file: String,
        /// Where the regex is: `rule my-rule: regex`, `[allowlist] paths`.
        context: String,
        construct: String,
    },
    /// Content a scan was asked to cover but could not read in full because of its size: the
    /// scan is incomplete. In change scans this fails the run unless `[policy]
    /// fail_on_unscannable = false`.
    #[error("{what}: {size} bytes, over the {limit}-byte limit for {kind}")]
    Unscannable {
        /// What it is and where: `big.csv in commit 1a2b...`, `the message of commit 1a2b...`.
        what: String,
        size: u64,
        limit: u64,
        /// Which limit: `a changed file (10 x max_file_size)`, `a message (max_file_size)`.
        kind: &'static str,
    },
    /// A command line that asks for something staunch cannot do (a path outside the
    /// repository, a malformed fingerprint): the user's to fix.
    #[error("{0}")]
    Usage(String),
    /// What a hook was given on standard input is not what git or the agent sends (a line of
    /// the wrong shape, an object id of the wrong length, a missing field).
    #[error("{0}")]
    HookInput(String),
    /// An agent hook's standard input that is not JSON.
    #[error("hook input on stdin is not valid JSON")]
    HookJson {
        #[source]
        cause: serde_json::Error,
    },
    /// A ref a push updates that cannot be scanned (it names a tree or a blob, or a commit that
    /// is missing).
    #[error("{name}")]
    Ref {
        name: String,
        #[source]
        cause: Box<Error>,
    },
    /// A command that refuses to write a result it knows to be partial (a baseline of a scan
    /// that could not read every file).
    #[error("{0}")]
    Incomplete(String),
    /// JSON staunch writes and could not serialize.
    #[error(transparent)]
    Json(serde_json::Error),
    /// A hook that could not finish its scan, and so blocks: it fails closed. `message` and
    /// `hint` are staunch's own words; only `cause` (printed after the message, by the cause
    /// chain) carries text from the scanned repository.
    #[error("{message}")]
    FailedClosed {
        message: String,
        #[source]
        cause: Box<Error>,
        /// What to do about it, printed on a line of its own.
        hint: &'static str,
    },
    #[error("git: {0}")]
    Git(String),
}

impl Error {
    /// What the user can do about this error, when staunch has advice (see `FailedClosed`).
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::FailedClosed { hint, .. } => Some(hint),
            _ => None,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }

    /// Wraps a `toml` parse error, turning its byte span into a 1-based line number.
    pub fn toml(file: &str, text: &str, err: &toml::de::Error) -> Error {
        let line = err
            .span()
            .map(|span| {
                text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            })
            .unwrap_or(1);
        let message = err.message().to_string();
        Error::Toml {
            file: file.to_string(),
            line,
            message,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes on one line, `message: cause: cause`: how every error is shown
/// (on stderr by `main`, in a SARIF file when a scan fails before reporting).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
