//! Commit and tag messages, and what a tag points at without a commit: content no tree of the
//! scanned commits holds, scanned by `scan --range`, `scan --all`, `hook pre-push` (and
//! `hook pre-receive`, in pre_receive.rs). A message is reported at path `<commit message>`
//! (commit: the commit) or `<tag message>` (commit: the tag object).

use crate::util::*;

/// (path, commit, line) of every finding in a JSON report.
fn located(doc: &serde_json::Value) -> Vec<(String, String, u64)> {
    let mut all: Vec<(String, String, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

/// A repository with one clean commit, the base of the ranges below.
fn repo_with_base() -> (TestRepo, String) {
    let repo = TestRepo::git_init();
    let base = repo.commit_file("app.py", "print('hello')\n", "base");
    (repo, base)
}

#[test]
fn a_range_scans_the_messages_of_its_commits() {
    let (repo, base) = repo_with_base();
    let leak = repo.commit_file(
        "app.py",
        "print('hello, world')\n",
        &format!("Deploy fix\n\nused key {} to test it\n", fake_aws_key()),
    );
    let (code, doc) = repo.json(&["scan", "--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        located(&doc),
        vec![("<commit message>".into(), leak.clone(), 3)]
    );
    assert_eq!(doc["findings"][0]["rule_id"], "aws-access-key-id");
    assert_eq!(doc["stats"]["messages"], 1, "{doc}");
    assert_eq!(doc["stats"]["files"], 1, "{doc}");
    // The base commit's message is not part of the range.
    let (code, doc) = repo.json(&["scan", "--range", &format!("{base}..{base}")]);
    assert_eq!(code, 0, "{doc}");

    // The human report names the path and the commit, the secret redacted.
    let out = repo.run(&["scan", "--range", &format!("{base}..HEAD")], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("<commit message>:3:"), "{text}");
    assert!(text.contains(&format!("commit: {leak}")), "{text}");
    assert!(!text.contains(&fake_aws_key()), "{text}");
}

#[test]
fn a_marker_in_a_message_follows_the_mode_policy_for_markers() {
    let (repo, base) = repo_with_base();
    let marked = repo.commit_file(
        "app.py",
        "print(1)\n",
        &format!("key {} # staunch:allow\n", fake_aws_key()),
    );
    // A range wrote its own messages: the marker is reported, not honoured.
    let (code, doc) = repo.json(&["scan", "--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        located(&doc),
        vec![("<commit message>".into(), marked.clone(), 1)]
    );
    assert_eq!(doc["findings"][0]["allowed_by_change"], "staunch:allow");
    // pre-push honours markers on what it scans, messages included.
    let zero = "0".repeat(40);
    let line = format!("refs/heads/main {marked} refs/heads/main {zero}\n");
    let out = repo.run(
        &["hook", "pre-push", "origin", "url", "--format", "json"],
        Some(line.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["stats"]["allowed_by"]["inline"], 1, "{doc}");
}

#[test]
fn pre_push_scans_commit_messages_and_pushed_tag_messages() {
    let (repo, base) = repo_with_base();
    repo.git(&["update-ref", "refs/remotes/origin/main", &base]);
    let zero = "0".repeat(40);

    // A commit whose only secret is in its message.
    let leak = repo.commit_file(
        "app.py",
        "print(2)\n",
        &format!("token {}\n", fake_github_token()),
    );
    let line = format!("refs/heads/main {leak} refs/heads/main {base}\n");
    let out = repo.run(
        &["hook", "pre-push", "origin", "url", "--format", "json"],
        Some(line.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(located(&doc), vec![("<commit message>".into(), leak, 1)]);
    assert!(text(&out).contains("push blocked"), "{}", text(&out));

    // An annotated tag on a clean commit the remote already has, a token in its message.
    repo.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    let message = format!("Release 1.0\n\ndeploy token: {}\n", fake_github_token());
    repo.git(&["tag", "-a", "v1.0", "-m", &message, &base]);
    let tag = repo.git(&["rev-parse", "v1.0"]).trim().to_string();
    let line = format!("refs/tags/v1.0 {tag} refs/tags/v1.0 {zero}\n");
    let out = repo.run(
        &["hook", "pre-push", "origin", "url", "--format", "json"],
        Some(line.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        located(&doc),
        vec![("<tag message>".into(), tag.clone(), 3)]
    );
    assert_eq!(doc["findings"][0]["rule_id"], "github-classic-token");

    // A tag of that tag: both tag objects are followed, the inner one's message found.
    repo.git(&["tag", "-a", "outer", "-m", "signed off", "v1.0"]);
    let outer = repo.git(&["rev-parse", "outer"]).trim().to_string();
    let line = format!("refs/tags/outer {outer} refs/tags/outer {zero}\n");
    let (code, doc) = push_json(&repo, &line);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        located(&doc),
        vec![("<tag message>".into(), tag.clone(), 3)]
    );

    // Under the pre-commit framework the pushed tip comes from the environment.
    let mut cmd = repo.staunch(&["hook", "pre-push", "--format", "json"]);
    cmd.env("PRE_COMMIT_FROM_REF", &base)
        .env("PRE_COMMIT_TO_REF", &tag);
    let out = run_with_stdin(cmd, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // A lightweight tag has no message of its own; the remote already has its commit.
    repo.git(&["tag", "light", &base]);
    let line = format!("refs/tags/light {base} refs/tags/light {zero}\n");
    let (code, doc) = push_json(&repo, &line);
    assert_eq!(code, 0, "{doc}");
}

fn push_json(repo: &TestRepo, stdin: &str) -> (i32, serde_json::Value) {
    let out = repo.run(
        &["hook", "pre-push", "origin", "url", "--format", "json"],
        Some(stdin.as_bytes()),
    );
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out)));
    (out.status.code().unwrap_or(-1), doc)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn history_scans_messages_and_blobs_and_trees_tags_point_at() {
    let (repo, _) = repo_with_base();
    let key = fake_aws_key();
    let leak = repo.commit_file(
        "notes.txt",
        "nothing here\n",
        &format!("add notes\n\nkey={key}\n"),
    );
    repo.git(&["tag", "-a", "v1", "-m", &format!("v1 with {key}"), "HEAD"]);
    let tag = repo.git(&["rev-parse", "v1"]).trim().to_string();

    // A blob only a lightweight tag reaches, and a tree only an annotated tag reaches.
    let hidden = repo.write_blob(&format!("AWS_KEY={key}\n"));
    repo.git(&["tag", "stash-blob", &hidden]);
    let other = repo.write_blob(&format!("\n\nsecret = {}\n", fake_github_token()));
    let tree = repo.make_tree(&[("deploy.env", &other)]);
    let tree = repo.make_tree(&[("config", &tree)]);
    repo.git(&["tag", "-a", "snapshot", "-m", "a tree", &tree]);
    let snapshot = repo.git(&["rev-parse", "snapshot"]).trim().to_string();

    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        located(&doc),
        vec![
            ("<commit message>".into(), leak, 3),
            ("<tag message>".into(), tag, 1),
            ("refs/tags/snapshot:config/deploy.env".into(), snapshot, 3),
            ("refs/tags/stash-blob".into(), String::new(), 1),
        ]
    );
    // Both commits' messages and both tags'.
    assert_eq!(doc["stats"]["messages"], 4, "{doc}");

    // A blob a commit also holds is reported once, at the commit that added it.
    let added = repo.commit_file("a.env", format!("K={key}\n"), "add a.env");
    let blob = repo.git(&["rev-parse", "HEAD:a.env"]).trim().to_string();
    repo.git(&["tag", "same-blob", &blob]);
    let (_, doc) = repo.json(&["scan", "--all"]);
    let at_commit: Vec<_> = located(&doc)
        .into_iter()
        .filter(|(path, _, _)| path == "a.env" || path == "refs/tags/same-blob")
        .collect();
    assert_eq!(at_commit, vec![("a.env".into(), added, 1)]);
}

#[test]
fn a_hostile_file_name_in_a_tagged_tree_stays_inert() {
    let repo = TestRepo::git_init();
    let blob = repo.write_blob(&format!("AWS={}\n", fake_aws_key()));
    let tree = repo.make_tree(&[("\x1b[2J\n::error::x", &blob)]);
    repo.git(&["tag", "t", &tree]);
    let out = repo.run(&["scan", "--all"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(r"refs/tags/t:\x1b[2J\n::error::x:1:5"),
        "{shown}"
    );
    assert!(!shown.contains('\x1b'), "{shown}");
    assert!(!shown.lines().any(|l| l.starts_with("::")), "{shown}");
}
