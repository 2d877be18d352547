//! A newcomer's first hour (issue 16): installing the binary and the hooks, the first scan of
//! staunch's own repository, a baseline, a range in CI, pipes and help, each through the real
//! binary on real repositories.

use std::process::Output;

use crate::util::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// Item 2: the project scans clean.

#[test]
fn the_repository_scans_clean_with_its_fixtures_allowed_by_path() {
    let here = TestRepo::dir();
    let mut cmd = here.staunch(&["scan", ".", "--format", "json"]);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    let out = run_with_stdin(cmd, None);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(findings(&doc), vec![], "{}", stderr(&out));
    // What is test data on purpose is allowed, and counted: by path, and by a marker on each
    // unit test's line in src/.
    let by = &doc["stats"]["allowed_by"];
    assert!(by["config"].as_u64().unwrap() > 100, "{by}");
    assert!(by["inline"].as_u64().unwrap() > 0, "{by}");
    assert_eq!(by["baseline"], 0, "{by}");
}
