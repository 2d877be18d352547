//! `staunch install` / `uninstall`: wires the hooks into a repository, or into Claude Code.

use crate::cli::{Common, InstallArgs};
use crate::error::{Error, Result};
use crate::Verdict;

pub fn install(_common: &Common, _args: &InstallArgs) -> Result<Verdict> {
    Err(Error::Usage("install is not built yet".into()))
}

pub fn uninstall(_common: &Common, _args: &InstallArgs) -> Result<Verdict> {
    Err(Error::Usage("uninstall is not built yet".into()))
}
