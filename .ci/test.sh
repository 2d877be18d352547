#!/usr/bin/env bash
# The test command (README.md): format, lints, unit and integration tests, rule examples.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings
cargo test --release
cargo run --release --quiet -- rules test
