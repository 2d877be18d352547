//! Smaller faults found by trying hostile names and paths: each test failed before its fix.

use serde_json::Value;

use crate::util::*;

/// On Unix a backslash is an ordinary file-name byte: `hook pre-commit 'dir\x.env'` must read
/// the staged blob of that very file (not the work-tree copy) and report it under its name.
#[test]
fn pre_commit_with_a_backslash_in_a_named_file_scans_the_index() {
    let repo = TestRepo::git_init();
    let name = r"dir\x.env";
    repo.write(name, format!("TOKEN={}\n", fake_github_token()));
    repo.add(name);
    repo.write(name, "TOKEN=clean\n");
    let out = repo.run(&["hook", "pre-commit", name, "--format", "sarif"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the staged secret blocks: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let uri = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"];
    assert_eq!(uri, "dir%5Cx.env", "{doc}");
}

/// git stores a path of 4095 bytes or more with a length field of 0xFFF; the index reader
/// cannot read such an entry, and the hook must say which path is at fault, not that the
/// index is broken.
#[test]
fn staged_path_over_4_kib_fails_naming_the_path() {
    let repo = TestRepo::git_init();
    let long = format!("{}/f.env", vec!["d".repeat(200); 21].join("/"));
    assert!(long.len() > 4096);
    let blob = run_git_stdin(&repo, &["hash-object", "-w", "--stdin"], b"x=1\n");
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{},{long}", blob.trim()),
    ]);
    let out = repo.run(&["hook", "pre-commit"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&long), "names the path: {stderr}");
    assert!(stderr.contains("4095"), "says the limit: {stderr}");
    assert!(
        !stderr.contains("trailer"),
        "no misleading index error: {stderr}"
    );
}

/// An I/O error's cause is printed once, not once by the error and again by the chain.
#[test]
fn an_io_error_cause_is_printed_once() {
    let repo = TestRepo::dir();
    let out = repo.run(&["scan", ".", "--output", "no/such/dir/report.json"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("no/such/dir/report.json"), "{stderr}");
}

fn run_git_stdin(repo: &TestRepo, args: &[&str], input: &[u8]) -> String {
    let mut cmd = std::process::Command::new("git");
    cmd.args(args).current_dir(repo.path());
    repo.env(&mut cmd);
    let out = run_with_stdin(cmd, Some(input));
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
