//! The git sources on real temporary repositories: staged changes, ranges, history, pre-push.

use crate::util::*;

fn private_key_block() -> String {
    // A made-up body: random-looking base64 lines, built here.
    let body: Vec<String> = (0..6)
        .map(|i| format!("MIIEow{i}BAAKCAQEAx7Qz9LmV2Kp4Rt8Wn3Hc6Jd1Fs5Gb0Ya7Xe2Uq9Mo4Ni8Lk{i}Zr"))
        .collect();
    format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        body.join("\n")
    )
}

fn rule_ids(doc: &serde_json::Value) -> Vec<String> {
    findings(doc).into_iter().map(|f| f.0).collect()
}

/// Snapshot of everything under .git that a scan must not touch.
fn git_state(repo: &TestRepo) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let root = repo.path().join(".git");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(&root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn staged_scan_reports_added_lines_with_staged_line_numbers() {
    let repo = TestRepo::git_init();
    repo.commit_file("app.py", "import os\n\nDEBUG = False\n", "base");
    let key = fake_aws_key();
    repo.write(
        "app.py",
        format!("import os\nKEY = \"{key}\"\n\nDEBUG = False\n"),
    );
    repo.add("app.py");
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "app.py".into(), 2)]
    );
}

#[test]
fn first_commit_in_an_unborn_repository_is_covered() {
    let repo = TestRepo::git_init();
    repo.write(
        "config/.env",
        format!("GITHUB_TOKEN={}\n", fake_github_token()),
    );
    repo.add("config/.env");
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(rule_ids(&doc), vec!["github-classic-token"]);
}

#[test]
fn empty_repository_is_clean() {
    let repo = TestRepo::git_init();
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 0, "{doc}");
    let (code, _) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 0);
}

#[test]
fn staged_content_counts_not_the_work_tree() {
    let repo = TestRepo::git_init();
    repo.write("a.txt", format!("k = {}\n", fake_aws_key()));
    repo.add("a.txt");
    // removed from the work tree only: still in the index, still caught
    repo.write("a.txt", "k = nothing\n");
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc)[0].1, "a.txt");
    // in the work tree only: not staged, not reported
    let repo = TestRepo::git_init();
    repo.write("b.txt", "clean\n");
    repo.add("b.txt");
    repo.write("b.txt", format!("k = {}\n", fake_aws_key()));
    let (code, _) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 0);
}

#[test]
fn multi_line_private_key_is_found_when_staged() {
    let repo = TestRepo::git_init();
    repo.write("keys/deploy.pem", private_key_block());
    repo.add("keys/deploy.pem");
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1);
    let f = &doc["findings"][0];
    assert_eq!(f["rule_id"], "private-key");
    // the finding spans the key's body, below the BEGIN line
    assert_eq!(f["line"], 2);
    assert_eq!(f["end_line"], 7);
}

#[test]
fn renames_deletions_binaries_symlinks_submodules_and_lfs_add_nothing() {
    let repo = TestRepo::git_init();
    let key = fake_aws_key();
    repo.write("old/name.cfg", format!("aws = {key}\n"));
    repo.write("gone.cfg", format!("aws = {key}\n"));
    repo.add(".");
    repo.commit("legacy secrets");
    std::fs::create_dir_all(repo.path().join("new")).unwrap();
    repo.git(&["mv", "old/name.cfg", "new/name.cfg"]);
    repo.git(&["rm", "-q", "gone.cfg"]);
    repo.write(
        "blob.bin",
        [b"\0\x01\x02".as_slice(), format!("aws = {key}").as_bytes()].concat(),
    );
    repo.write(
        "big.lfs",
        format!(
            "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 12\n",
            "ab".repeat(32)
        ),
    );
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("link")).unwrap();
    repo.add(".");
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},vendored"),
    ]);
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 0, "{doc}");
    // a rename that also adds a secret reports only the addition
    repo.write(
        "new/name.cfg",
        format!("aws = {key}\nextra = {}\n", fake_github_token()),
    );
    repo.add("new/name.cfg");
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&doc),
        vec![("github-classic-token".into(), "new/name.cfg".into(), 2)]
    );
}

#[test]
fn scans_never_write_to_the_repository() {
    let repo = TestRepo::git_init();
    repo.commit_file("a.txt", "base\n", "base");
    repo.write("a.txt", format!("base\nkey = {}\n", fake_aws_key()));
    repo.add("a.txt");
    let before = git_state(&repo);
    for args in [
        &["scan", "--staged"][..],
        &["hook", "pre-commit"],
        &["scan", "--all"],
        &["scan", "--range", "HEAD..HEAD"],
    ] {
        let _ = repo.run(args, None);
    }
    assert!(before == git_state(&repo), "a scan changed .git");
}

#[test]
fn hook_environment_and_worktrees_are_honoured() {
    let repo = TestRepo::git_init();
    repo.commit_file("a.txt", "base\n", "base");
    // GIT_INDEX_FILE pointing at another index, as `git commit -a`/`--only` set it
    let alt = repo.path().join(".git/alt-index");
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    cmd.current_dir(repo.path())
        .env("GIT_INDEX_FILE", &alt)
        .args(["read-tree", "HEAD"]);
    assert!(cmd.status().unwrap().success());
    repo.write("b.txt", format!("k = {}\n", fake_aws_key()));
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    cmd.current_dir(repo.path())
        .env("GIT_INDEX_FILE", &alt)
        .args(["add", "b.txt"]);
    assert!(cmd.status().unwrap().success());
    let (code, _) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 0, "the default index has nothing staged");
    let mut cmd = repo.staunch(&["scan", "--staged", "--format", "json"]);
    cmd.env("GIT_INDEX_FILE", &alt);
    let out = run_with_stdin(cmd, None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // GIT_DIR set, run from elsewhere
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = repo.staunch(&["scan", "--all", "--format", "json"]);
    cmd.current_dir(elsewhere.path())
        .env("GIT_DIR", repo.path().join(".git"));
    assert_eq!(run_with_stdin(cmd, None).status.code(), Some(0));
    // a linked worktree stages into its own index
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    repo.git(&["worktree", "add", "-q", wt_path.to_str().unwrap()]);
    std::fs::write(wt_path.join("c.txt"), format!("k = {}\n", fake_aws_key())).unwrap();
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    assert!(cmd
        .current_dir(&wt_path)
        .args(["add", "c.txt"])
        .status()
        .unwrap()
        .success());
    let mut cmd = repo.staunch(&["scan", "--staged", "--format", "json"]);
    cmd.current_dir(&wt_path);
    let out = run_with_stdin(cmd, None);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&doc)[0].1, "c.txt");
}

#[test]
fn detached_head_and_merge_in_progress() {
    let repo = TestRepo::git_init();
    let first = repo.commit_file("a.txt", "one\n", "one");
    repo.git(&["checkout", "-q", "--detach", &first]);
    repo.write("d.txt", format!("k = {}\n", fake_aws_key()));
    repo.add("d.txt");
    let (code, _) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1);
    repo.git(&["reset", "-q", "--hard"]);
    repo.git(&["checkout", "-q", "main"]);
    // a merge stopped before committing: what the merge brings is staged
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.commit_file(
        "side.txt",
        format!("token = {}\n", fake_github_token()),
        "side",
    );
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_file("main.txt", "main\n", "main");
    repo.git(&["merge", "--no-commit", "--no-ff", "-q", "side"]);
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc)[0].1, "side.txt");
}

#[test]
fn range_and_history_find_a_secret_removed_later_but_staged_does_not() {
    let repo = TestRepo::git_init();
    let base = repo.commit_file("a.txt", "start\n", "start");
    let leak = repo.commit_file(
        "a.txt",
        format!("start\nkey = {}\n", fake_aws_key()),
        "leak",
    );
    repo.commit_file("a.txt", "start\n", "remove");
    let (code, doc) = repo.json(&["scan", "--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1);
    assert_eq!(doc["findings"][0]["commit"], leak);
    assert_eq!(doc["findings"][0]["line"], 2);
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1);
    assert_eq!(doc["findings"][0]["commit"], leak);
    assert_eq!(doc["findings"][0]["path"], "a.txt");
    let (code, _) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 0);
}

#[test]
fn history_reports_the_introducing_commit_of_a_blob_seen_many_times() {
    let repo = TestRepo::git_init();
    repo.write("first/creds.env", format!("AWS_KEY={}\n", fake_aws_key()));
    repo.add(".");
    let intro = repo.commit("intro");
    repo.git(&["checkout", "-q", "-b", "copy"]);
    repo.write("second/creds.env", format!("AWS_KEY={}\n", fake_aws_key()));
    repo.add(".");
    let copied = repo.commit("copy the same file");
    repo.git(&["tag", "-a", "v1", "-m", "annotated"]);
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1);
    // One unique blob, scanned once, reported where it first appeared, and again at the path
    // the copy gave it (a new exposure), at the commit that made the copy.
    assert_eq!(
        findings(&doc),
        vec![
            ("aws-access-key-id".into(), "first/creds.env".into(), 1),
            ("aws-access-key-id".into(), "second/creds.env".into(), 1)
        ]
    );
    assert_eq!(doc["findings"][0]["commit"], intro);
    assert_eq!(
        doc["findings"][0]["present_in"],
        serde_json::json!(["copy", "main"])
    );
    assert_eq!(doc["findings"][1]["commit"], copied);
    assert_eq!(
        doc["findings"][1]["present_in"],
        serde_json::json!(["copy"])
    );
}

#[test]
fn merge_commits_are_diffed_against_their_first_parent() {
    let repo = TestRepo::git_init();
    let base = repo.commit_file("a.txt", "a\n", "a");
    repo.git(&["checkout", "-q", "-b", "side"]);
    let side = repo.commit_file("s.txt", format!("key = {}\n", fake_aws_key()), "side");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_file("m.txt", "m\n", "m");
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge", "side"]);
    let (code, doc) = repo.json(&["scan", "--range", &format!("{base}..main")]);
    assert_eq!(code, 1);
    let commits: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["commit"].as_str().unwrap())
        .collect();
    assert!(commits.contains(&side.as_str()), "{doc}");
}

#[test]
fn bare_and_shallow_repositories() {
    let repo = TestRepo::git_init();
    let first = repo.commit_file("a.txt", "a\n", "a");
    repo.commit_file("b.txt", format!("key = {}\n", fake_aws_key()), "b");
    let bare = tempfile::tempdir().unwrap();
    let bare_path = bare.path().join("r.git");
    repo.git(&["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()]);
    for args in [
        vec!["scan", "--all"],
        vec!["scan", "--range", &format!("{first}..main")[..]],
    ] {
        let mut all = vec!["-C", bare_path.to_str().unwrap()];
        all.extend(args.iter().copied());
        let (code, doc) = repo.json(&all);
        assert_eq!(code, 1, "{args:?}: {doc}");
    }
    let shallow = tempfile::tempdir().unwrap();
    let shallow_path = shallow.path().join("s");
    let url = format!("file://{}", repo.path().display());
    repo.git(&[
        "clone",
        "-q",
        "--depth",
        "1",
        &url,
        shallow_path.to_str().unwrap(),
    ]);
    let (code, doc) = repo.json(&["-C", shallow_path.to_str().unwrap(), "scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
}

#[test]
fn pre_push_scans_every_pushed_ref() {
    let repo = TestRepo::git_init();
    let base = repo.commit_file("a.txt", "a\n", "a");
    repo.git(&["update-ref", "refs/remotes/origin/main", &base]);
    let leak = repo.commit_file("b.txt", format!("key = {}\n", fake_aws_key()), "b");
    let zero = "0".repeat(40);
    // existing branch: remote..local
    let line = format!("refs/heads/main {leak} refs/heads/main {base}\n");
    let out = repo.run(
        &["hook", "pre-push", "origin", "url", "--format", "json"],
        Some(line.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["commit"], leak);
    // a new branch (zero remote id) pushed after a clean deletion line: still found
    let lines = format!("(delete) {zero} refs/heads/old {base}\nrefs/heads/feature {leak} refs/heads/feature {zero}\n");
    let out = repo.run(
        &["hook", "pre-push", "origin", "url"],
        Some(lines.as_bytes()),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a remote id we do not have: falls back to what the remote-tracking refs hold
    let unknown = "1234567".repeat(5) + "12345";
    let line = format!("refs/heads/main {leak} refs/heads/main {unknown}\n");
    assert_eq!(
        repo.run(
            &["hook", "pre-push", "origin", "url"],
            Some(line.as_bytes())
        )
        .status
        .code(),
        Some(1)
    );
    // an annotated tag is peeled to its commit
    repo.git(&["tag", "-a", "v1", "-m", "t", &leak]);
    let tag = repo.git(&["rev-parse", "v1"]).trim().to_string();
    let line = format!("refs/tags/v1 {tag} refs/tags/v1 {zero}\n");
    assert_eq!(
        repo.run(
            &["hook", "pre-push", "origin", "url"],
            Some(line.as_bytes())
        )
        .status
        .code(),
        Some(1)
    );
    // pushing only what the remote has, deletions and empty input are clean
    let line = format!(
        "refs/heads/main {base} refs/heads/main {base}\n(delete) {zero} refs/heads/x {leak}\n"
    );
    assert_eq!(
        repo.run(
            &["hook", "pre-push", "origin", "url"],
            Some(line.as_bytes())
        )
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        repo.run(&["hook", "pre-push", "origin", "url"], Some(b""))
            .status
            .code(),
        Some(0)
    );
    // malformed input fails closed with a message naming the line
    let out = repo.run(&["hook", "pre-push", "origin", "url"], Some(b"garbage\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

#[test]
fn pre_push_honours_the_pre_commit_framework_range() {
    let repo = TestRepo::git_init();
    let base = repo.commit_file("a.txt", "a\n", "a");
    let leak = repo.commit_file("b.txt", format!("key = {}\n", fake_aws_key()), "b");
    let mut cmd = repo.staunch(&["hook", "pre-push"]);
    cmd.env("PRE_COMMIT_FROM_REF", &base)
        .env("PRE_COMMIT_TO_REF", &leak);
    assert_eq!(run_with_stdin(cmd, None).status.code(), Some(1));
    let mut cmd = repo.staunch(&["hook", "pre-push"]);
    cmd.env("PRE_COMMIT_FROM_REF", &base)
        .env("PRE_COMMIT_TO_REF", &base);
    assert_eq!(run_with_stdin(cmd, None).status.code(), Some(0));
}

#[test]
fn pre_commit_hook_fails_closed_outside_a_repository() {
    let dir = TestRepo::dir();
    let out = dir.run(&["hook", "pre-commit"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("commit blocked") && err.contains("not in a git repository"),
        "{err}"
    );
}

#[test]
fn pre_commit_with_named_files_scans_them_really() {
    let repo = TestRepo::git_init();
    repo.write("old.cfg", format!("key = {}\n", fake_aws_key()));
    repo.write("clean.txt", "nothing\n");
    repo.add(".");
    repo.commit("legacy");
    // committed long ago, named by `pre-commit run --files old.cfg`: scanned in full
    let out = repo.run(&["hook", "pre-commit", "old.cfg"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = repo.run(&["hook", "pre-commit", "clean.txt"], None);
    assert_eq!(out.status.code(), Some(0));
    // a staged file contributes only its added lines
    repo.write("old.cfg", format!("key = {}\nmore = 1\n", fake_aws_key()));
    repo.add("old.cfg");
    let out = repo.run(&["hook", "pre-commit", "old.cfg"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn pre_commit_with_a_named_symlink_does_not_follow_it() {
    let outside = TestRepo::dir();
    outside.write("secret.env", format!("AWS={}\n", fake_aws_key()));
    let repo = TestRepo::git_init();
    repo.commit_file("a.txt", "a\n", "a");
    std::os::unix::fs::symlink(
        outside.path().join("secret.env"),
        repo.path().join("link.env"),
    )
    .unwrap();
    repo.add("link.env");
    let out = repo.run(&["hook", "pre-commit", "link.env"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The introducing commit and path of every reported blob, sorted.
fn placed(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn history_reads_packs_and_loose_objects_and_leaves_unreachable_blobs_out() {
    let repo = TestRepo::git_init();
    repo.write("base.txt", "base\n");
    repo.add(".");
    repo.commit("base");
    repo.write("deploy/aws.env", format!("AWS_KEY={}\n", fake_aws_key()));
    repo.add(".");
    let packed = repo.commit("key");
    // A secret on a branch that is then deleted: still in the pack, reachable from nothing.
    repo.git(&["checkout", "-q", "-b", "gone"]);
    repo.write("gone.env", format!("TOKEN={}\n", fake_github_token()));
    repo.add(".");
    repo.commit("soon unreachable");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["repack", "-adq"]);
    repo.git(&["branch", "-q", "-D", "gone"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    // After the pack: loose objects, one of them the same secret again under another name.
    repo.write("later/token.txt", format!("t = {}\n", fake_github_token()));
    repo.write("copy/aws.env", format!("AWS_KEY={}\n", fake_aws_key()));
    repo.add(".");
    let loose = repo.commit("token");
    assert!(std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .unwrap()
        .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "pack")));
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        placed(&doc),
        vec![
            // The same blob under a second name at the tip: found there too.
            (
                "aws-access-key-id".into(),
                "copy/aws.env".into(),
                loose.clone()
            ),
            ("aws-access-key-id".into(), "deploy/aws.env".into(), packed),
            (
                "github-classic-token".into(),
                "later/token.txt".into(),
                loose
            ),
        ]
    );
    // One thread or many: the same report.
    let (_, single) = repo.json(&["scan", "--all", "-j", "1"]);
    assert_eq!(placed(&single), placed(&doc));
    // The loose objects in a second pack, as `git gc --auto` leaves them: the same report.
    repo.git(&["repack", "-dq"]);
    let packs = std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pack")
        })
        .count();
    assert_eq!(packs, 2);
    let (_, repacked) = repo.json(&["scan", "--all"]);
    assert_eq!(placed(&repacked), placed(&doc));
}

#[test]
fn history_in_a_pack_reports_where_a_blob_first_appeared() {
    let repo = TestRepo::git_init();
    repo.write("a.txt", "start\n");
    repo.add(".");
    repo.commit("start");
    repo.write("a.txt", format!("start\nkey = {}\n", fake_aws_key()));
    repo.add(".");
    let leak = repo.commit("leak");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write(
        "nested/dir/a.txt",
        format!("start\nkey = {}\n", fake_aws_key()),
    );
    repo.add(".");
    let elsewhere = repo.commit("same content elsewhere");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("a.txt", "start\n");
    repo.add(".");
    repo.commit("remove");
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge", "side"]);
    repo.git(&["gc", "-q", "--aggressive"]);
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    // Where the blob first appeared (main removed it, the side branch still has it); and the
    // path the merge brought to main, at the commit on the side branch that wrote it there.
    assert_eq!(
        placed(&doc),
        vec![
            ("aws-access-key-id".into(), "a.txt".into(), leak),
            (
                "aws-access-key-id".into(),
                "nested/dir/a.txt".into(),
                elsewhere
            ),
        ]
    );
    assert_eq!(doc["findings"][0]["line"], 2);
    assert_eq!(
        doc["findings"][0]["present_in"],
        serde_json::json!(["side"])
    );
    assert_eq!(
        doc["findings"][1]["present_in"],
        serde_json::json!(["main", "side"])
    );
}

#[test]
fn history_skips_packed_blobs_over_the_size_limit() {
    let repo = TestRepo::git_init();
    let key = fake_aws_key();
    repo.write("small.env", format!("K={key}\n"));
    repo.write("large.env", format!("K={key}\n{}", "x".repeat(4000)));
    repo.add(".");
    repo.commit("both");
    // A delta of the large one, also over the limit.
    repo.write("large.env", format!("K={key}\n{}y\n", "x".repeat(4000)));
    repo.add(".");
    repo.commit("grow");
    repo.git(&["repack", "-adq"]);
    let (code, doc) = repo.json(&["scan", "--all", "--max-file-size", "1000"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "small.env".into(), 1)]
    );
    assert_eq!(doc["stats"]["skipped"], 2, "{doc}");
    assert_eq!(doc["stats"]["files"], 1, "{doc}");
}

#[test]
fn history_reads_objects_through_alternates() {
    let repo = TestRepo::git_init();
    repo.write("a.env", format!("K={}\n", fake_aws_key()));
    repo.add(".");
    let leak = repo.commit("leak");
    repo.git(&["repack", "-adq"]);
    let shared = tempfile::tempdir().unwrap();
    let clone = shared.path().join("c");
    repo.git(&["clone", "-q", "--shared", ".", clone.to_str().unwrap()]);
    let (code, doc) = repo.json(&["-C", clone.to_str().unwrap(), "scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        placed(&doc),
        vec![("aws-access-key-id".into(), "a.env".into(), leak)]
    );
}

#[test]
fn history_fails_naming_a_missing_blob_next_to_a_pack() {
    let repo = TestRepo::git_init();
    repo.write("a.txt", "a\n");
    repo.add(".");
    repo.commit("a");
    repo.git(&["repack", "-adq"]);
    repo.write("b.txt", "b\n");
    repo.add(".");
    repo.commit("b");
    let blob = repo.git(&["rev-parse", "HEAD:b.txt"]).trim().to_string();
    std::fs::remove_file(
        repo.path()
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]),
    )
    .unwrap();
    let out = repo.run(&["scan", "--all"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&blob), "{err}");
}

/// Many lines of plain code, numbered so that every line is different.
fn code_lines(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| format!("    let value_{i} = compute({i}, \"label\");\n"))
        .collect()
}

#[test]
fn history_finds_secrets_added_inside_deltas_of_a_large_file() {
    // A large file over many versions, packed so that most versions are deltas of others: a
    // version judged only around what its delta changed must still report what it added, on
    // the right line and at the commit that added it.
    let repo = TestRepo::git_init();
    let head = code_lines(0..1500);
    let tail = code_lines(1500..3000);
    let mut placed_at = Vec::new();
    for version in 0..10 {
        let extra = code_lines(3000..3000 + version);
        let middle = match version {
            4 => format!("aws_key = \"{}\"\n", fake_aws_key()),
            7 => {
                "mailgun:\n  region: eu\n  webhook_signing_key: 071182c1387e516370c90e96dec597a8\n"
                    .to_string()
            }
            _ => String::new(),
        };
        repo.write("src/big.rs", format!("{head}{middle}{tail}{extra}"));
        repo.add(".");
        let commit = repo.commit(&format!("version {version}"));
        if !middle.is_empty() {
            placed_at.push(commit);
        }
    }
    repo.git(&["gc", "-q", "--aggressive"]);
    let pack = std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .unwrap();
    let listing = repo.git(&["verify-pack", "-v", pack.to_str().unwrap()]);
    let deltas = listing
        .lines()
        .filter(|l| l.contains(" blob ") && l.split_whitespace().count() == 7)
        .count();
    assert!(deltas >= 8, "most versions must be deltas:\n{listing}");
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1, "{doc}");
    let mut found: Vec<(String, u64, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["commit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort_by_key(|f| f.1);
    let rules: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(found.len(), 2, "{doc}");
    assert_eq!(rules[0], "aws-access-key-id", "{doc}");
    assert!(rules[1].starts_with("mailgun"), "{doc}");
    assert_eq!(found[0].1, 1501);
    assert_eq!(found[1].1, 1503);
    assert_eq!(found[0].2, placed_at[0]);
    assert_eq!(found[1].2, placed_at[1]);
    // Packed whole, with no deltas at all: the same report.
    repo.git(&["repack", "-adfq", "--depth=0", "--window=0"]);
    let (_, whole) = repo.json(&["scan", "--all"]);
    assert_eq!(placed(&whole), placed(&doc));
    // A small repository's blob pass runs during its commit walk, a large one's after it: the
    // large repositories' order gives the same report.
    for packing in [&["repack", "-adfq"][..], &["gc", "-q", "--aggressive"]] {
        repo.git(packing);
        let out = repo
            .staunch(&["scan", "--all", "--format", "json"])
            .env("STAUNCH_OVERLAP_WALK_BELOW", "0")
            .output()
            .unwrap();
        let after_walk: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(placed(&after_walk), placed(&doc), "{after_walk}");
    }
}

/// The staged scan skips the directories the index's cache tree holds as HEAD has them. Every
/// way git changes the index must still show what it changes: `add` in a deep directory next
/// to untouched ones, `update-index --cacheinfo` without a work-tree file, `read-tree` of
/// another tree, a move between directories, and `rm`.
#[test]
fn staged_scan_sees_every_change_beside_directories_the_cache_tree_skips() {
    let repo = TestRepo::git_init();
    for dir in ["a", "a/deep/er", "b", "c"] {
        repo.write(&format!("{dir}/keep.txt"), "nothing here\n");
    }
    repo.write("b/old.env", format!("TOKEN={}\n", fake_github_token()));
    repo.git(&["add", "-A"]);
    repo.commit("base");
    // After a commit the cache tree is whole: nothing is staged, nothing is read.
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!((code, findings(&doc)), (0, vec![]), "{doc}");

    repo.write("a/deep/er/new.env", format!("KEY={}\n", fake_aws_key()));
    repo.add("a/deep/er/new.env");
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "a/deep/er/new.env".into(), 1)]
    );

    // A blob put in the index directly, in a directory nothing else touched.
    let blob = repo.write_blob(&format!("aws = {}\n", fake_aws_key()));
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{blob},c/direct.txt"),
    ]);
    let (_, doc) = repo.json(&["scan", "--staged"]);
    let paths: Vec<String> = findings(&doc).into_iter().map(|f| f.1).collect();
    assert_eq!(paths, ["a/deep/er/new.env", "c/direct.txt"], "{doc}");

    // The whole index replaced by another tree, its cache tree written anew.
    let blob = repo.write_blob(&format!("gh = {}\n", fake_github_token()));
    let dir = repo.make_tree(&[("token.txt", blob.trim())]);
    let tree = repo.make_tree(&[("e", dir.trim())]);
    repo.git(&["read-tree", tree.trim()]);
    let (_, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(
        findings(&doc),
        vec![("github-classic-token".into(), "e/token.txt".into(), 1)],
        "{doc}"
    );

    // Back to HEAD, then a secret moved from one directory to another: a pure move adds
    // nothing; the same move with the secret edited adds its new line.
    repo.git(&["read-tree", "HEAD"]);
    let (code, _) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 0);
    repo.git(&["mv", "b/old.env", "c/old.env"]);
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!((code, findings(&doc)), (0, vec![]), "{doc}");
    repo.write(
        "c/old.env",
        format!("TOKEN={}\nKEY={}\n", fake_github_token(), fake_aws_key()),
    );
    repo.add("c/old.env");
    repo.git(&["rm", "-q", "a/keep.txt"]);
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "c/old.env".into(), 2)]
    );
}

/// An index whose checksum does not match its content is refused, as git refuses it, even
/// where the damage still parses (one byte of a path changed).
#[test]
fn an_index_with_a_wrong_checksum_is_refused() {
    let repo = TestRepo::git_init();
    repo.write("config.env", format!("KEY={}\n", fake_aws_key()));
    repo.add("config.env");
    let index = repo.path().join(".git/index");
    let mut bytes = std::fs::read(&index).unwrap();
    let at = bytes
        .windows(10)
        .position(|w| w == b"config.env")
        .expect("the path is in the index");
    bytes[at] = b'k';
    std::fs::write(&index, &bytes).unwrap();
    let out = repo.run(&["scan", "--staged"], None);
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("index") && message.contains("checksum"),
        "{message}"
    );
    // A trailer of zeros is git's index.skipHash: no checksum to check.
    let end = bytes.len() - 20;
    bytes[end..].fill(0);
    std::fs::write(&index, &bytes).unwrap();
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(findings(&doc)[0].1, "konfig.env");
}
