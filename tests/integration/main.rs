//! One integration test binary (each extra binary would link everything again): every module
//! drives the real `staunch` binary on real temporary directories and git repositories.

mod util;

mod archives;
mod audit;
mod bounds;
mod claude_code;
mod config;
mod containers;
mod faults;
mod first_block;
mod first_hour;
mod git;
mod history;
mod inert;
mod install;
mod messages;
mod noise;
mod pre_receive;
mod precommit_framework;
mod properties;
mod reliability;
mod reports;
mod scan;
mod trust;
mod unscannable;
