//! Times what every scan pays before it reads a byte: loading the built-in rules and building
//! the matcher. `cargo run --release --example startbench [ROUNDS]`
#![allow(clippy::disallowed_macros)]
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    for _ in 0..rounds {
        let started = Instant::now();
        let rules = staunch::rules::load().unwrap();
        let loaded = started.elapsed();
        let matcher = staunch::matcher::Matcher::new(rules, Default::default());
        let built = started.elapsed() - loaded;
        std::hint::black_box(&matcher);
        eprintln!("rules loaded in {loaded:?}, matcher built in {built:?}");
    }
}
