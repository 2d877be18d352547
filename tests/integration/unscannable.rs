//! What a change scan cannot scan is named and, by default, fails the scan: a changed file over
//! `max_file_size` still has its added lines scanned, and only past 10 x `max_file_size` (or a
//! message past `max_file_size`) is something "not scanned", exit 2, which blocks a hook.

use crate::util::*;

/// `--max-file-size 1000` for every command here: "large" is then a few kilobytes.
const MAX: &[&str] = &["--max-file-size", "1000"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = MAX.to_vec();
    all.extend_from_slice(extra);
    all
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// 3000 bytes of CSV: over the 1000-byte limit, under 10 times it.
fn large_csv() -> String {
    "a,b,c,d,e,f,g,h,i\n".repeat(166) + "j,k\n"
}

#[test]
fn a_staged_file_over_the_size_limit_has_its_added_lines_scanned() {
    let repo = TestRepo::git_init();
    repo.write(
        "data.csv",
        format!("{}key,{}\n", large_csv(), fake_aws_key()),
    );
    repo.add("data.csv");
    let (code, doc) = repo.json(&args(&["scan", "--staged"]));
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "data.csv".into(), 168)]
    );
    assert_eq!(doc["stats"]["skipped"], 0, "{doc}");
    // The pre-commit hook, with and without file names, blocks on it.
    let out = repo.run(&args(&["hook", "pre-commit"]), None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = repo.run(&args(&["hook", "pre-commit", "data.csv"]), None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_changed_large_file_reports_only_the_lines_the_change_adds() {
    let repo = TestRepo::git_init();
    // A secret already committed (say, baselined long ago) in a large file.
    let old = format!("old,{}\n{}", fake_aws_key(), large_csv());
    let base = repo.commit_file("data.csv", &old, "data");
    let change = repo.commit_file(
        "data.csv",
        format!("{old}token,{}\n", fake_github_token()),
        "more data",
    );
    let (code, doc) = repo.json(&args(&["scan", "--range", &format!("{base}..HEAD")]));
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("github-classic-token".into(), "data.csv".into(), 169)]
    );
    assert_eq!(doc["findings"][0]["commit"], change);
    // pre-push sees the same.
    let line = format!("refs/heads/main {change} refs/heads/main {base}\n");
    let out = repo.run(
        &args(&["hook", "pre-push", "origin", "url", "--format", "json"]),
        Some(line.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&doc),
        vec![("github-classic-token".into(), "data.csv".into(), 169)]
    );
}

#[test]
fn a_file_too_large_to_scan_fails_closed_naming_it() {
    let repo = TestRepo::git_init();
    // 12 000 bytes: over 10 x 1000.
    repo.write("dump.sql", "insert into t values (1);\n".repeat(460));
    repo.add("dump.sql");
    let out = repo.run(&args(&["scan", "--staged"]), None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("not scanned: dump.sql (staged): 11960 bytes, over the 10000-byte limit"),
        "{}",
        stderr(&out)
    );
    let out = repo.run(&args(&["hook", "pre-commit"]), None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("dump.sql"), "{}", stderr(&out));
    assert!(stderr(&out).contains("commit blocked"), "{}", stderr(&out));

    // Committed, it blocks the push and fails the range, naming the commit too.
    let base = repo.commit("dump");
    repo.git(&["update-ref", "refs/remotes/origin/main", &base]);
    repo.write("dump.sql", "insert into t values (2);\n".repeat(460));
    repo.add("dump.sql");
    let change = repo.commit("new dump");
    let named = format!("not scanned: dump.sql in commit {change}");
    let out = repo.run(&args(&["scan", "--range", &format!("{base}..HEAD")]), None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&named), "{}", stderr(&out));
    let line = format!("refs/heads/main {change} refs/heads/main {base}\n");
    let out = repo.run(
        &args(&["hook", "pre-push", "origin", "url"]),
        Some(line.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&named), "{}", stderr(&out));
    assert!(stderr(&out).contains("push blocked"), "{}", stderr(&out));
    // JSON and SARIF say it too.
    let (code, doc) = repo.json(&args(&["scan", "--range", &format!("{base}..HEAD")]));
    assert_eq!(code, 2, "{doc}");
    assert_eq!(doc["stats"]["errors"], 1, "{doc}");
    assert!(
        doc["errors"][0].as_str().unwrap().contains("dump.sql"),
        "{doc}"
    );
}

#[test]
fn the_policy_can_let_unscannable_content_through_named() {
    let repo = TestRepo::git_init();
    let base = repo.commit_file(
        ".staunch.toml",
        "[policy]\nfail_on_unscannable = false\n",
        "config",
    );
    repo.write("dump.sql", "insert into t values (1);\n".repeat(460));
    repo.add("dump.sql");
    let out = repo.run(&args(&["hook", "pre-commit"]), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "warning: not scanned ([policy] fail_on_unscannable = false): dump.sql (staged)"
        ),
        "{}",
        stderr(&out)
    );
    let (code, doc) = repo.json(&args(&["scan", "--staged"]));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["skipped"], 1, "{doc}");
    let out = repo.run(&["config", "check"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("fail_on_unscannable: false"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // In a range the policy is the base commit's: a range that switches it off itself still
    // fails.
    repo.commit("dump");
    let (code, _) = repo.json(&args(&["scan", "--range", &format!("{base}..HEAD")]));
    assert_eq!(code, 0);
    repo.git(&["rm", "-q", ".staunch.toml"]);
    let strict = repo.commit("strict again");
    repo.write(".staunch.toml", "[policy]\nfail_on_unscannable = false\n");
    repo.write("dump.sql", "insert into t values (3);\n".repeat(460));
    repo.add(".");
    repo.commit("loosen and dump");
    let (code, doc) = repo.json(&args(&["scan", "--range", &format!("{strict}..HEAD")]));
    assert_eq!(code, 2, "{doc}");
}

#[test]
fn a_message_over_the_size_limit_is_named() {
    let repo = TestRepo::git_init();
    let base = repo.commit_file("a.txt", "a\n", "base");
    let long = repo.commit_file("a.txt", "b\n", &"a very long message line\n".repeat(50));
    let out = repo.run(&args(&["scan", "--range", &format!("{base}..HEAD")]), None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("not scanned: the message of commit {long}")),
        "{}",
        stderr(&out)
    );
}
