//! One integration test binary (each extra binary would link everything again): every module
//! drives the real `staunch` binary on real temporary directories and git repositories.

mod util;

mod claude_code;
mod config;
mod git;
mod properties;
mod reliability;
mod reports;
mod scan;
