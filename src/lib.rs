//! staunch finds secrets before they leave: in files, staged changes, pushed commits, history
//! and content a coding agent is about to write.
//!
//! The pipeline goes one way: a **source** (`source`) yields fragments of bytes with a path;
//! the **matcher** (`matcher`) runs every rule from the **rule packs** (`rules`) over them in one
//! keyword pass plus regex confirmation and filters (`filters`, `checks`); the resulting
//! **findings** (`finding`) are sorted and handed to a **reporter** (`report`). `app` wires the
//! command line (`cli`) to that pipeline and decides the exit code.

pub mod app;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod finding;
pub mod finish;
pub mod git;
pub mod grouping;
pub mod hooks;
pub mod install;
pub mod matcher;
pub mod output;
pub mod report;
pub mod rules;
pub mod scan;
pub mod session;
pub mod source;
pub mod text;

pub use error::{Error, Result};

/// How a run ended, mapped to the process exit code by `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing blocks: exit 0.
    Clean,
    /// Findings that block: exit 1.
    Blocked,
    /// The run could not finish or something was not scanned: exit 2.
    Failed,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Clean => 0,
            Verdict::Blocked => 1,
            Verdict::Failed => 2,
        }
    }
}
