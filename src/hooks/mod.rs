//! What hooks call. Every hook fails closed: when the scan cannot finish, it blocks with a
//! message saying why, because a hook that lets a secret through on an error is worse than none.

pub mod claude_code;

use crate::cli::Common;
use crate::error::{Error, Result};
use crate::Verdict;

pub fn pre_commit(_common: &Common) -> Result<Verdict> {
    Err(Error::Usage(
        "hook pre-commit needs the git sources (not built yet)".into(),
    ))
}

pub fn pre_push(_common: &Common) -> Result<Verdict> {
    Err(Error::Usage(
        "hook pre-push needs the git sources (not built yet)".into(),
    ))
}
