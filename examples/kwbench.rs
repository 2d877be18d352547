//! Times the keyword pass alone over every file under a directory, with the built-in keywords.
//! `cargo run --release --example kwbench -- DIR [dump]`
#![allow(clippy::disallowed_macros)]
use staunch::matcher::keywords::KeywordSearch;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rules = staunch::rules::load().unwrap();
    let all: Vec<String> = rules
        .iter()
        .flat_map(|r| r.keywords.iter().cloned())
        .collect();
    let t = Instant::now();
    let search = KeywordSearch::new(&all);
    eprintln!(
        "{} keywords, built in {:?}",
        search.keywords().len(),
        t.elapsed()
    );
    if args.get(2).map(String::as_str) == Some("dump") {
        for k in search.keywords() {
            println!("{}", String::from_utf8_lossy(k));
        }
        return;
    }
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(&args[1]).build().flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            if let Ok(data) = std::fs::read(entry.path()) {
                files.push(data);
            }
        }
    }
    let bytes: usize = files.iter().map(Vec::len).sum();
    for _ in 0..5 {
        let t = Instant::now();
        let mut hits = 0;
        let mut check = 0usize;
        for f in &files {
            for h in search.find_all(f) {
                hits += 1;
                check = check
                    .wrapping_mul(31)
                    .wrapping_add(h.start ^ (h.keyword << 20) ^ (h.end << 40));
            }
        }
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "{bytes} bytes, {hits} hits, check {check:x}: {:.3} s, {:.0} MB/s",
            s,
            bytes as f64 / s / 1e6
        );
    }
}
