//! The small commands: each a short job over the configuration or the catalogue, beside the
//! scans and hooks that `app` dispatches to.

pub mod baseline;
pub mod config;
pub mod rules;
