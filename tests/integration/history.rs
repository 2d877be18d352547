//! What one finding means in a scan of commits: one per (rule, path, secret), at the commit
//! that introduced it, with how often it was seen and which branch tips still hold it; a
//! baseline keeps matching a secret after a rename; a new branch pushes only its own commits.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::*;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn git_in(repo: &TestRepo, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(dir);
    repo.env(&mut cmd);
    cmd.output().expect("git runs")
}

/// A repository where one secret is added, then kept while its line changes three times (so
/// every commit's diff adds it again); returns it with the introducing and the last commit.
fn secret_kept_over_commits() -> (TestRepo, String, String) {
    let repo = TestRepo::git_init();
    repo.write("README.md", "start\n");
    repo.add(".");
    repo.commit("start");
    let key = fake_aws_key();
    repo.write("deploy.env", format!("AWS_KEY={key}\n"));
    repo.add(".");
    let intro = repo.commit("add the key");
    let mut last = intro.clone();
    for i in 0..3 {
        repo.write("deploy.env", format!("AWS_KEY={key} # rev {i}\n"));
        repo.add(".");
        last = repo.commit(&format!("tune {i}"));
    }
    (repo, intro, last)
}

#[test]
fn a_secret_kept_over_commits_is_one_finding_in_all_and_range() {
    let (repo, intro, last) = secret_kept_over_commits();
    for args in [
        vec!["scan", "--all"],
        vec!["scan", "--range", "HEAD~4..HEAD"],
    ] {
        let (code, doc) = repo.json(&args);
        assert_eq!(code, 1, "{args:?}: {doc}");
        let all = doc["findings"].as_array().unwrap();
        assert_eq!(
            all.len(),
            1,
            "{args:?}: one finding, not one per version: {doc}"
        );
        let f = &all[0];
        assert_eq!(f["path"], "deploy.env");
        assert_eq!(f["commit"], intro.as_str(), "{args:?}");
        assert_eq!(f["occurrences"], 4, "{args:?}: {f}");
        assert_eq!(f["last_commit"], last.as_str(), "{args:?}");
    }
    let (_, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(
        doc["findings"][0]["present_in"],
        serde_json::json!(["main"])
    );
    // The human report says the same in words.
    let out = repo.run(&["scan", "--all"], None);
    let said = text(&out);
    assert!(said.contains("in 4 commits"), "{said}");
    assert!(said.contains("still at the tip of: main"), "{said}");
}

#[test]
fn a_removed_secret_is_present_in_no_branch_and_a_moved_one_is_found_at_its_new_path() {
    let (repo, intro, _) = secret_kept_over_commits();
    repo.git(&["checkout", "-q", "-b", "old"]);
    repo.git(&["checkout", "-q", "main"]);
    std::fs::create_dir_all(repo.path().join("deploy")).unwrap();
    repo.git(&["mv", "deploy.env", "deploy/prod.env"]);
    let moved = repo.commit("move it");
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    let mut found: Vec<(String, String, serde_json::Value)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap().to_string(),
                f["present_in"].clone(),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        found,
        vec![
            ("deploy.env".into(), intro, serde_json::json!(["old"])),
            ("deploy/prod.env".into(), moved, serde_json::json!(["main"])),
        ],
        "{doc}"
    );
    repo.git(&["branch", "-q", "-D", "old"]);
    let (_, doc) = repo.json(&["scan", "--all"]);
    let gone = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "deploy.env")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(gone["present_in"], serde_json::json!([]), "{doc}");
}

#[test]
fn a_baseline_made_with_all_keeps_covering_a_secret_after_a_rename() {
    let (repo, _, _) = secret_kept_over_commits();
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("origin.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let out = repo.run(&["baseline", "create", "--all"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");
    repo.add(".");
    repo.commit("adopt staunch");
    // What the remote has is what a range scan and the pre-push hook read the baseline from.
    repo.git(&["push", "-q", "origin", "main"]);
    std::fs::create_dir_all(repo.path().join("config")).unwrap();
    repo.git(&["mv", "deploy.env", "config/deploy.env"]);
    repo.commit("rename");
    // The renamed file holds the acknowledged secret: neither a history scan nor the push of
    // the rename blocks on it.
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0, "{doc}");
    let (code, doc) = repo.json(&["scan", "--range", "origin/main..main"]);
    assert_eq!(code, 0, "{doc}");
    let out = repo.run(&["install"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = git_in(&repo, repo.path(), &["push", "origin", "main"]);
    assert!(out.status.success(), "the push blocked: {}", text(&out));
    // A new secret in the same renamed file still blocks.
    repo.write(
        "config/deploy.env",
        format!(
            "AWS_KEY={}\nTOKEN={}\n",
            fake_aws_key(),
            fake_github_token()
        ),
    );
    repo.add(".");
    repo.commit("another");
    let out = git_in(&repo, repo.path(), &["push", "origin", "main"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("github"), "{}", text(&out));
}

#[test]
fn a_clean_branch_pushed_to_a_new_remote_scans_only_its_own_commit() {
    // Upstream has had a secret in its history for years.
    let upstream = TestRepo::git_init();
    upstream.write("old.env", format!("AWS_KEY={}\n", fake_aws_key()));
    upstream.add(".");
    upstream.commit("an old leak");
    for i in 0..5 {
        upstream.write("notes.txt", format!("note {i}\n"));
        upstream.add(".");
        upstream.commit(&format!("note {i}"));
    }
    // A clone of it, with one clean commit on a branch, pushed to a fork that is empty.
    let work = tempfile::tempdir().unwrap();
    let clone = work.path().join("clone");
    let fork = work.path().join("fork.git");
    upstream.git(&["clone", "-q", ".", clone.to_str().unwrap()]);
    upstream.git(&["init", "-q", "--bare", fork.to_str().unwrap()]);
    let run = |args: &[&str]| git_in(&upstream, &clone, args);
    assert!(run(&["remote", "add", "fork", fork.to_str().unwrap()])
        .status
        .success());
    assert!(run(&["checkout", "-q", "-b", "feature"]).status.success());
    std::fs::write(clone.join("feature.txt"), "a clean change\n").unwrap();
    assert!(run(&["add", "."]).status.success());
    assert!(run(&["commit", "-q", "-m", "feature"]).status.success());
    let mut install = Command::new(staunch_bin());
    install.arg("install").current_dir(&clone);
    upstream.env(&mut install);
    let out = install.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["push", "fork", "feature"]);
    let said = text(&out);
    assert!(out.status.success(), "the clean push blocked: {said}");
    assert!(said.contains("1 new commit(s) scanned"), "{said}");
    // A secret on the branch itself still blocks a push to the fork.
    std::fs::write(
        clone.join("feature.txt"),
        format!("token = {}\n", fake_github_token()),
    )
    .unwrap();
    assert!(run(&["commit", "-q", "--no-verify", "-am", "leak"])
        .status
        .success());
    let out = run(&["push", "fork", "feature"]);
    assert!(!out.status.success(), "{}", text(&out));
}
