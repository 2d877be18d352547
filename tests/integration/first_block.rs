//! A newcomer's first block, first push and first CI run (issue 16, items 3, 4 and 6): what a
//! block says to do and that its advice works (`baseline add` with the printed fingerprint),
//! forbidden patterns named as such, CI recipes (`--output` with a summary in the log, SARIF
//! written on an error, `A...B`, an all-zero base) and made-up tokens that fail their checksum.
//! Every test drives the real binary on real temporary repositories and bare remotes.

use std::process::{Command, Output};

use crate::precommit_framework::{framework, local_config, text};
use crate::util::*;

/// `git ARGS` in the repository with its hooks enabled; the output, whatever the status.
fn git_hooked(repo: &TestRepo, args: &[&str]) -> Output {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(repo.path());
    repo.env(&mut cmd);
    cmd.output().unwrap()
}

fn all_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A private address, built at run time.
fn private_ip() -> String {
    format!("192.168.{}.{}", 1, 20)
}

/// A second fake AWS key id (its account bits are those of `fake_aws_key`).
fn other_aws_key() -> String {
    format!("AKIA{}", "QX7TZ4MB2WLRN5PE")
}

/// The fingerprints the block message offers to `staunch baseline add`.
fn offered_fingerprints(message: &str) -> Vec<String> {
    let line = message
        .lines()
        .find(|l| l.contains("staunch baseline add "))
        .unwrap_or_else(|| panic!("no `baseline add` advice: {message}"));
    let after = line.split("staunch baseline add ").nth(1).unwrap();
    after
        .split_whitespace()
        .filter(|w| w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect()
}

/// A repository with staunch's git hooks installed and a bare remote `origin`.
fn hooked_repo_with_remote() -> (TestRepo, tempfile::TempDir, String) {
    let repo = TestRepo::git_init();
    let remote = tempfile::tempdir().unwrap();
    let url = remote.path().join("remote.git").display().to_string();
    repo.git(&["init", "-q", "--bare", &url]);
    repo.git(&["remote", "add", "origin", &url]);
    let out = repo.run(&["install"], None);
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    (repo, remote, url)
}

#[test]
fn a_blocked_commit_says_what_to_do_and_its_fingerprints_unblock_it() {
    let (repo, _remote, _) = hooked_repo_with_remote();
    let key = fake_aws_key();
    let ip = private_ip();
    repo.write(
        "config/settings.py",
        format!("import os\n\nAWS_KEY = \"{key}\"  # for the demo\nDB_HOST = \"{ip}\"\n"),
    );
    repo.add("config/settings.py");
    let out = git_hooked(&repo, &["commit", "-q", "-m", "leak"]);
    let said = all_text(&out);
    assert!(!out.status.success(), "not blocked: {said}");
    // the offending line, the secret redacted in it and nowhere shown in full
    assert!(
        said.contains("line 3: AWS_KEY = \"AKIA****\"  # for the demo"),
        "{said}"
    );
    assert!(!said.contains(&key), "secret shown: {said}");
    // what to do
    assert!(
        said.contains("git restore --staged 'config/settings.py'"),
        "{said}"
    );
    assert!(said.contains("rotate it"), "{said}");
    assert!(said.contains("[[allow]]"), "{said}");
    assert!(said.contains("STAUNCH_SKIP=1 git commit"), "{said}");
    assert!(
        !said.contains("to bypass once, if you are sure: git commit/push --no-verify"),
        "{said}"
    );
    // a private address is a forbidden pattern, shown with its value
    assert!(said.contains("[private-ip, forbidden pattern]"), "{said}");
    assert!(said.contains(&format!("value: {ip}")), "{said}");
    assert!(
        said.contains("1 secret(s) and 1 forbidden pattern(s)"),
        "{said}"
    );

    // the fingerprints printed are what `baseline add` takes, and then the commit goes through
    let fingerprints = offered_fingerprints(&said);
    assert_eq!(fingerprints.len(), 2, "{said}");
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");
    let mut args = vec!["baseline", "add"];
    args.extend(fingerprints.iter().map(String::as_str));
    let added = repo.run(&args, None);
    assert_eq!(added.status.code(), Some(0), "{}", all_text(&added));
    assert!(
        all_text(&added).contains("2 entr(y/ies) added"),
        "{}",
        all_text(&added)
    );
    let baseline = std::fs::read_to_string(repo.path().join(".staunch-baseline.json")).unwrap();
    for fp in &fingerprints {
        assert!(baseline.contains(fp.as_str()), "{baseline}");
    }
    assert!(!baseline.contains(&key), "{baseline}");
    repo.add(".staunch.toml");
    repo.add(".staunch-baseline.json");
    let out = git_hooked(&repo, &["commit", "-q", "-m", "leak, acknowledged"]);
    assert!(out.status.success(), "still blocked: {}", all_text(&out));
    // adding again changes nothing
    let again = repo.run(&args, None);
    assert!(
        all_text(&again).contains("0 entr(y/ies) added, 2 in all"),
        "{}",
        all_text(&again)
    );
}

#[test]
fn baseline_add_refuses_what_is_not_a_fingerprint_of_a_finding() {
    let repo = TestRepo::git_init();
    repo.commit_file("a.py", "x = 1\n", "clean");
    let out = repo.run(&["baseline", "add", "not-a-fingerprint"], None);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    assert!(all_text(&out).contains("is not a fingerprint"));
    let unknown = "0123456789abcdef0123456789abcdef";
    let out = repo.run(&["baseline", "add", unknown], None);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    assert!(all_text(&out).contains(unknown), "{}", all_text(&out));
    assert!(!repo.path().join(".staunch-baseline.json").exists());
}

#[test]
fn a_blocked_push_says_to_rewrite_and_rotate_and_baseline_add_finds_the_secret_in_history() {
    let (repo, _remote, url) = hooked_repo_with_remote();
    repo.commit_file(
        "deploy/key.env",
        format!("AWS_KEY={}\n", fake_aws_key()),
        "leak",
    ); // --no-verify: only the push hook is left
    repo.git(&["rm", "-q", "deploy/key.env"]);
    let out = git_hooked(&repo, &["commit", "-q", "-m", "remove it again"]);
    assert!(out.status.success(), "{}", all_text(&out));
    let out = git_hooked(&repo, &["push", "-q", "origin", "main"]);
    let said = all_text(&out);
    assert!(!out.status.success(), "not blocked: {said}");
    assert!(said.contains("rewrite the commits"), "{said}");
    assert!(said.contains("leaves it in history"), "{said}");
    assert!(said.contains("rotate it"), "{said}");
    assert!(said.contains("STAUNCH_SKIP=1 git push"), "{said}");
    let fingerprints = offered_fingerprints(&said);
    assert_eq!(fingerprints.len(), 1, "{said}");

    // the file is gone from the index: `baseline add` finds the finding in the history
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");
    let added = repo.run(&["baseline", "add", &fingerprints[0]], None);
    assert_eq!(added.status.code(), Some(0), "{}", all_text(&added));
    repo.add(".staunch.toml");
    repo.add(".staunch-baseline.json");
    let out = git_hooked(&repo, &["commit", "-q", "-m", "acknowledge"]);
    assert!(out.status.success(), "{}", all_text(&out));
    let out = git_hooked(&repo, &["push", "-q", "origin", "main"]);
    assert!(
        out.status.success(),
        "push still blocked: {}",
        all_text(&out)
    );
    let remote_main = repo.git(&["--git-dir", &url, "rev-parse", "main"]);
    assert_eq!(remote_main.trim(), repo.git(&["rev-parse", "HEAD"]).trim());
}

#[test]
fn the_pre_commit_framework_shows_the_same_advice() {
    let Some(fw) = framework("the_pre_commit_framework_shows_the_same_advice") else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let repo = TestRepo::git_init();
    repo.write(".pre-commit-config.yaml", local_config());
    let out = fw.pre_commit(&repo, store.path(), &["install"]);
    assert!(out.status.success(), "{}", text(&out));
    repo.write("settings.py", format!("AWS_KEY = \"{}\"\n", fake_aws_key()));
    repo.add("settings.py");
    repo.add(".pre-commit-config.yaml");
    let out = fw.git(&repo, store.path(), &["commit", "-m", "leak"]);
    let said = text(&out);
    assert!(!out.status.success(), "not blocked: {said}");
    assert!(said.contains("line 1: AWS_KEY = \"AKIA****\""), "{said}");
    assert!(
        said.contains("git restore --staged 'settings.py'"),
        "{said}"
    );
    assert!(said.contains("staunch baseline add "), "{said}");
    assert!(!said.contains(&fake_aws_key()), "{said}");
}

#[test]
fn forbidden_patterns_show_their_value_in_every_report() {
    let repo = TestRepo::dir();
    let ip = private_ip();
    repo.write("hosts.txt", format!("db = \"{ip}\"\n"));
    let out = repo.run(&["scan", "."], None);
    let said = all_text(&out);
    assert!(said.contains("forbidden pattern"), "{said}");
    assert!(!said.contains("secret: "), "{said}");
    let (_, doc) = repo.json(&["scan", "."]);
    assert_eq!(doc["findings"][0]["secret"], ip.as_str(), "{doc}");
}

/// A repository with a secret on `main` and a branch adding another, both pushed to a bare
/// remote, then cloned as CI clones it.
fn ci_clone() -> (TestRepo, TestRepo, tempfile::TempDir) {
    let dev = TestRepo::git_init();
    let remote = tempfile::tempdir().unwrap();
    let url = remote.path().join("remote.git").display().to_string();
    dev.git(&["init", "-q", "--bare", &url]);
    dev.git(&["remote", "add", "origin", &url]);
    dev.commit_file(
        "old/main.env",
        format!("AWS_KEY={}\n", fake_aws_key()),
        "an old secret, already on main",
    );
    dev.git(&["push", "-q", "--no-verify", "origin", "main"]);
    dev.git(&["checkout", "-q", "-b", "feature"]);
    // the branch tries to allow everything: its base (main) has no such entry, so it counts
    // for nothing
    dev.commit_file(
        ".staunch.toml",
        "[[allow]]\ndescription = \"everything\"\npaths = [\"**\"]\n",
        "allow all",
    );
    dev.commit_file(
        "app/token.py",
        format!("TOKEN = \"{}\"\n", fake_github_token()),
        "the branch's own secret",
    );
    dev.git(&["push", "-q", "--no-verify", "origin", "feature"]);
    let ci = TestRepo::dir();
    ci.git(&["clone", "-q", &url, "."]);
    ci.git(&["checkout", "-q", "feature"]);
    (dev, ci, remote)
}

#[test]
fn an_all_zero_base_scans_the_new_branch_own_commits() {
    let (_dev, ci, _remote) = ci_clone();
    let zero = "0".repeat(40);
    let range = format!("{zero}..feature");
    let out = ci.run(&["scan", "--range", &range, "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = findings(&doc);
    assert_eq!(
        found,
        vec![(
            "github-classic-token".to_string(),
            "app/token.py".to_string(),
            1
        )],
        "{doc}"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("2 commit(s) of its own"), "{said}");
    // three dots too
    let out = ci.run(&["scan", "--range", &format!("{zero}...feature")], None);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
}

#[test]
fn an_all_zero_base_with_no_other_ref_scans_all_of_the_history_with_the_defaults() {
    let repo = TestRepo::git_init();
    repo.commit_file("old.env", format!("AWS_KEY={}\n", fake_aws_key()), "first");
    repo.write(
        ".staunch.toml",
        "[[allow]]\ndescription = \"everything\"\npaths = [\"**\"]\n",
    );
    repo.write("new.py", format!("TOKEN = \"{}\"\n", fake_github_token()));
    repo.add(".staunch.toml");
    repo.add("new.py");
    repo.commit("second");
    let range = format!("{}..HEAD", "0".repeat(40));
    let out = repo.run(&["scan", "--range", &range, "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<String> = findings(&doc).into_iter().map(|f| f.1).collect();
    assert_eq!(
        paths,
        vec!["new.py".to_string(), "old.env".to_string()],
        "{doc}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no other ref holds its history"));
}

#[test]
fn three_dot_ranges_scan_what_the_branch_adds_since_it_left() {
    let (dev, _ci, _remote) = ci_clone();
    // main moves on after the branch left it, with a secret of its own
    dev.git(&["checkout", "-q", "main"]);
    dev.commit_file(
        "later/main.env",
        format!("AWS_KEY={}\n", other_aws_key()),
        "main moves on",
    );
    let (code, doc) = dev.json(&["scan", "--range", "main...feature"]);
    assert_eq!(code, 1, "{doc}");
    let paths: Vec<String> = findings(&doc).into_iter().map(|f| f.1).collect();
    assert_eq!(paths, vec!["app/token.py".to_string()], "{doc}");
}

#[test]
fn with_output_the_job_log_still_gets_the_human_summary() {
    let (dev, _ci, _remote) = ci_clone();
    let out = dev.run(
        &[
            "scan",
            "--range",
            "main..feature",
            "--format",
            "sarif",
            "--output",
            "staunch.sarif",
            "--show-secrets",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    assert!(out.stdout.is_empty());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("app/token.py:1:"), "{log}");
    assert!(log.contains("github-classic-token"), "{log}");
    assert!(log.contains("1 finding(s)"), "{log}");
    assert!(
        !log.contains(&fake_github_token()),
        "the log shows the secret: {log}"
    );
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dev.path().join("staunch.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
}

#[test]
fn an_error_still_writes_a_sarif_file_with_the_error_as_a_notification() {
    let repo = TestRepo::git_init();
    repo.commit_file("a.py", "x = 1\n", "one");
    repo.write(".staunch.toml", "no_such_key = 1\n");
    for args in [
        &["scan", "--range", "no-such-base..HEAD"][..],
        &["scan", "--config", ".staunch.toml", "."][..],
    ] {
        let mut all = args.to_vec();
        all.extend(["--format", "sarif", "--output", "out.sarif"]);
        let _ = std::fs::remove_file(repo.path().join("out.sarif"));
        let out = repo.run(&all, None);
        assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
        let sarif: serde_json::Value =
            serde_json::from_slice(&std::fs::read(repo.path().join("out.sarif")).unwrap()).unwrap();
        let run = &sarif["runs"][0];
        assert_eq!(sarif["version"], "2.1.0");
        assert_eq!(run["results"].as_array().unwrap().len(), 0);
        let invocation = &run["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false, "{sarif}");
        let note = &invocation["toolExecutionNotifications"][0];
        assert_eq!(note["level"], "error");
        let message = note["message"]["text"].as_str().unwrap();
        let wanted = if args[1] == "--range" {
            "no-such-base"
        } else {
            "no_such_key"
        };
        assert!(message.contains(wanted), "{message}");
    }
}

/// The first token README.md shows.
fn readme_token() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let at = readme.find("ghp_").expect("README shows a GitHub token");
    readme[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn readme_first_example_is_a_token_that_passes_its_checksum_and_blocks() {
    let token = readme_token();
    assert_eq!(token.len(), 40, "{token}");
    let (body, sum) = token["ghp_".len()..].split_at(30);
    assert_eq!(base62_crc32(body.as_bytes()), sum, "{token}");
    let repo = TestRepo::dir();
    repo.write("demo.py", format!("GITHUB_TOKEN = \"{token}\"\n"));
    let out = repo.run(&["scan", "demo.py"], None);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    assert!(all_text(&out).contains("github-classic-token"));
}

#[test]
fn a_made_up_token_does_not_block_and_the_report_says_why() {
    let repo = TestRepo::git_init();
    let install = repo.run(&["install"], None);
    assert_eq!(install.status.code(), Some(0));
    // `ghp_` and 36 characters typed at random: the last 6 are not the CRC of the rest
    let body = "Hk3Lw9Qz7Xv2Mn8Bc4Jd6Fg1Rt5Yp0Su7Ne3";
    let typed = format!("ghp_{body}");
    assert_ne!(base62_crc32(&body.as_bytes()[..30]), &body[30..]);
    repo.write("try.py", format!("token = \"{typed}\"\n"));
    let out = repo.run(&["scan", "try.py"], None);
    let said = all_text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("1 token-shaped value(s) rejected: bad checksum"),
        "{said}"
    );
    let (_, doc) = repo.json(&["scan", "try.py"]);
    assert_eq!(doc["stats"]["rejected_checksum"], 1, "{doc}");
    // the hook lets it through, and says so too
    repo.add("try.py");
    let out = git_hooked(&repo, &["commit", "-q", "-m", "try"]);
    assert!(out.status.success(), "{}", all_text(&out));
    assert!(
        all_text(&out).contains("rejected: bad checksum"),
        "{}",
        all_text(&out)
    );
    // a real one, whose checksum passes, blocks
    repo.write("real.py", format!("token = \"{}\"\n", fake_github_token()));
    let out = repo.run(&["scan", "real.py"], None);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    assert!(!all_text(&out).contains("rejected: bad checksum"));
}

#[test]
fn rules_list_shows_which_rules_verify_a_checksum() {
    let repo = TestRepo::dir();
    let out = repo.run(&["rules", "list"], None);
    let listing = String::from_utf8_lossy(&out.stdout);
    let header = listing.lines().next().unwrap();
    assert!(header.contains("VERIFIES"), "{header}");
    let github = listing
        .lines()
        .find(|l| l.starts_with("github-classic-token "))
        .unwrap();
    assert!(
        github.split_whitespace().any(|w| w == "checksum"),
        "{github}"
    );
    let password = listing
        .lines()
        .find(|l| l.starts_with("generic-password "))
        .unwrap();
    assert!(!password.contains("checksum"), "{password}");
    let (_, list) = repo.json(&["rules", "list", "--provider", "github"]);
    let classic = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "github-classic-token")
        .unwrap();
    assert_eq!(classic["checksum"], true);
}
