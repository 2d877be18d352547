//! Noise families (issue 14): files under `fixtures/noise/quiet` are real-code shapes that
//! must not be reported (expressions, key words inside other words, stand-in passwords and
//! hosts, password hashes, non-credential tokens, names of token kinds); files under
//! `fixtures/noise/found` are the secrets next to them that must still be found, each by the
//! rule its name starts with.

use std::path::{Path, PathBuf};

use crate::util::*;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/noise")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// Scans one fixture copied into a fresh directory (outside this repository, so no
/// configuration of ours applies).
fn scan_copy(fixture: &Path) -> (i32, serde_json::Value) {
    let repo = TestRepo::dir();
    let name = fixture.file_name().unwrap().to_str().unwrap();
    repo.write(name, std::fs::read(fixture).unwrap());
    repo.json(&["scan", "."])
}

#[test]
fn quiet_fixtures_yield_nothing() {
    for fixture in fixtures("quiet") {
        let (code, doc) = scan_copy(&fixture);
        assert_eq!(doc["stats"]["files"], 1, "{}: {doc}", fixture.display());
        assert!(
            findings(&doc).is_empty(),
            "{}: {:?}",
            fixture.display(),
            findings(&doc)
        );
        assert_eq!(code, 0, "{}", fixture.display());
    }
}

#[test]
fn found_fixtures_are_reported_by_their_rule() {
    for fixture in fixtures("found") {
        let name = fixture.file_name().unwrap().to_str().unwrap().to_string();
        let rule = name.split("--").next().unwrap();
        let (code, doc) = scan_copy(&fixture);
        let found = findings(&doc);
        let rules: Vec<&str> = found.iter().map(|(r, _, _)| r.as_str()).collect();
        assert_eq!(rules, [rule], "{name}: {found:?}");
        assert_eq!(code, 1, "{name}");
    }
}

#[test]
fn the_same_values_on_stdin_in_a_longer_file_stay_quiet() {
    // All quiet fixtures as one input: no rule pairs lines of different fixtures into a finding.
    // Bare values in code are quiet because the file is code, so those go in as code.
    let code = |f: &PathBuf| matches!(f.extension().and_then(|e| e.to_str()), Some("py" | "kt"));
    let all_quiet = fixtures("quiet");
    for (name, group) in [("all.txt", false), ("all.py", true)] {
        let mut all = Vec::new();
        for fixture in all_quiet.iter().filter(|f| code(f) == group) {
            all.extend(std::fs::read(fixture).unwrap());
            all.push(b'\n');
        }
        assert!(!all.is_empty(), "no quiet fixtures for {name}");
        let repo = TestRepo::dir();
        let out = repo.run(
            &["scan", "--stdin", "--path", name, "--format", "json"],
            Some(&all),
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(findings(&doc).is_empty(), "{name}: {:?}", findings(&doc));
        assert_eq!(out.status.code(), Some(0), "{name}");
    }
}
