//! The Claude Code `PreToolUse` hook: scans what a tool is about to write or run.

use crate::cli::Common;
use crate::error::{Error, Result};
use crate::Verdict;

pub fn run(_common: &Common) -> Result<Verdict> {
    Err(Error::Usage("hook claude-code is not built yet".into()))
}
