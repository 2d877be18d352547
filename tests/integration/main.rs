//! One integration test binary (each extra binary would link everything again): every module
//! drives the real `staunch` binary on real temporary directories and git repositories.

mod util;

mod git;
mod scan;
