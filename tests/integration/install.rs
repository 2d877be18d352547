//! `staunch install` / `uninstall` on real repositories, then real `git commit` and `git push`
//! through the hooks they wrote: where the hooks go, chaining, restoring, a missing binary,
//! skipping.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::*;

/// Runs git in `dir` with the repository's isolated environment, hooks enabled, without
/// asserting success; `env` adds variables.
fn git_in(repo: &TestRepo, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(dir);
    repo.env(&mut cmd);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("git runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn staunch_ok(repo: &TestRepo, dir: &Path, args: &[&str]) -> String {
    let mut cmd = repo.staunch(args);
    cmd.current_dir(dir);
    let out = run_with_stdin(cmd, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "staunch {args:?}: {}",
        text(&out)
    );
    text(&out)
}

/// name → (content, mode) of every file in a directory (none if it does not exist).
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        let content = if meta.file_type().is_symlink() {
            std::fs::read_link(entry.path())
                .unwrap()
                .to_string_lossy()
                .as_bytes()
                .to_vec()
        } else {
            std::fs::read(entry.path()).unwrap()
        };
        out.insert(
            entry.file_name().to_string_lossy().into_owned(),
            (content, meta.permissions().mode()),
        );
    }
    out
}

/// The hooks directory git itself uses, from `git rev-parse --git-path hooks` run in `dir`.
fn git_hooks_dir(repo: &TestRepo, dir: &Path) -> PathBuf {
    let out = git_in(repo, dir, &["rev-parse", "--git-path", "hooks"], &[]);
    assert!(out.status.success());
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let path = if path.is_absolute() {
        path
    } else {
        dir.join(path)
    };
    std::fs::create_dir_all(&path).unwrap();
    std::fs::canonicalize(path).unwrap()
}

fn with_base_commit() -> TestRepo {
    let repo = TestRepo::git_init();
    repo.commit_file("app.py", "import os\n\nDEBUG = False\n", "base");
    repo
}

/// Stages a file with a fake AWS key on line 2 of `rel` in `dir`.
fn stage_secret(repo: &TestRepo, dir: &Path, rel: &str) {
    std::fs::write(
        dir.join(rel),
        format!("import os\nKEY = \"{}\"\n", fake_aws_key()),
    )
    .unwrap();
    assert!(git_in(repo, dir, &["add", rel], &[]).status.success());
}

/// A commit through the hooks must fail and name the file, line and rule, redacted.
fn assert_commit_blocked(repo: &TestRepo, dir: &Path, rel: &str, env: &[(&str, &str)]) {
    let out = git_in(repo, dir, &["commit", "-q", "-m", "leak"], env);
    let all = text(&out);
    assert!(!out.status.success(), "commit went through: {all}");
    assert!(all.contains(&format!("{rel}:2")), "no file:line in {all}");
    assert!(all.contains("aws-access-key-id"), "no rule in {all}");
    assert!(
        !all.contains(&fake_aws_key()),
        "secret shown in full: {all}"
    );
}

#[test]
fn install_then_commit_blocks_a_secret_and_passes_a_clean_change() {
    let repo = with_base_commit();
    let said = staunch_ok(&repo, repo.path(), &["install"]);
    assert!(said.contains("pre-commit hook installed"), "{said}");
    assert!(said.contains("pre-push hook installed"), "{said}");
    stage_secret(&repo, repo.path(), "app.py");
    assert_commit_blocked(&repo, repo.path(), "app.py", &[]);
    repo.write("app.py", "import os\n\nDEBUG = True\n");
    repo.add("app.py");
    let out = git_in(&repo, repo.path(), &["commit", "-q", "-m", "clean"], &[]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn installed_pre_push_blocks_a_push_to_a_bare_remote() {
    let repo = with_base_commit();
    let remote = tempfile::tempdir().unwrap();
    let remote_path = remote.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote_path.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote_path.to_str().unwrap()]);
    staunch_ok(&repo, repo.path(), &["install"]);
    let out = git_in(&repo, repo.path(), &["push", "-q", "origin", "main"], &[]);
    assert!(out.status.success(), "clean push: {}", text(&out));
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.commit_file(
        "deploy/.env",
        format!("AWS_KEY={}\n", fake_aws_key()),
        "leak",
    ); // --no-verify: the commit gets through, the push must not
    let out = git_in(&repo, repo.path(), &["push", "origin", "main"], &[]);
    let all = text(&out);
    assert!(!out.status.success(), "push went through: {all}");
    assert!(all.contains("deploy/.env:1"), "{all}");
    assert!(all.contains("aws-access-key-id"), "{all}");
    assert!(!all.contains(&fake_aws_key()), "{all}");
    let mut cmd = Command::new("git");
    repo.env(&mut cmd);
    let remote_main = cmd
        .args([
            "--git-dir",
            remote_path.to_str().unwrap(),
            "rev-parse",
            "main",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&remote_main.stdout).trim(), base);
}

#[test]
fn install_is_idempotent_and_uninstall_restores_exactly() {
    let repo = with_base_commit();
    let hooks = git_hooks_dir(&repo, repo.path());
    let before = snapshot(&hooks);
    staunch_ok(&repo, repo.path(), &["install"]);
    let installed = snapshot(&hooks);
    assert_ne!(before, installed);
    let (script, mode) = &installed["pre-commit"];
    assert_eq!(mode & 0o777, 0o755);
    let script = String::from_utf8_lossy(script);
    let binary = std::fs::canonicalize(staunch_bin()).unwrap();
    assert!(
        script.contains(&format!("staunch_bin='{}'", binary.display())),
        "the hook must call the binary by its absolute path:\n{script}"
    );
    let again = staunch_ok(&repo, repo.path(), &["install"]);
    assert!(again.contains("already installed"), "{again}");
    assert_eq!(
        installed,
        snapshot(&hooks),
        "a second install changed the hooks"
    );
    staunch_ok(&repo, repo.path(), &["uninstall"]);
    assert_eq!(
        before,
        snapshot(&hooks),
        "uninstall did not restore the hooks"
    );
    let nothing = staunch_ok(&repo, repo.path(), &["uninstall"]);
    assert!(nothing.contains("nothing to remove"), "{nothing}");
    assert_eq!(before, snapshot(&hooks));
}

#[test]
fn existing_hooks_are_chained_run_first_and_restored() {
    use std::os::unix::fs::PermissionsExt;
    let repo = with_base_commit();
    let hooks = git_hooks_dir(&repo, repo.path());
    let log = repo.home().join("chained.log");
    let pre_commit = format!(
        "#!/bin/sh\necho pre-commit ran >> '{}'\nexit \"${{FAIL_CHAINED:-0}}\"\n",
        log.display()
    );
    let pre_push = format!(
        "#!/bin/sh\necho \"pre-push ran with $1\" >> '{}'\ncat >> '{}'\n",
        log.display(),
        log.display()
    );
    for (name, script) in [("pre-commit", &pre_commit), ("pre-push", &pre_push)] {
        std::fs::write(hooks.join(name), script).unwrap();
        std::fs::set_permissions(hooks.join(name), std::fs::Permissions::from_mode(0o750)).unwrap();
    }
    let before = snapshot(&hooks);
    let said = staunch_ok(&repo, repo.path(), &["install"]);
    assert!(said.contains("pre-commit.staunch-chained"), "{said}");
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit.staunch-chained")).unwrap(),
        pre_commit
    );
    // the chained hook runs, and its failure stops the commit even when staunch has nothing
    repo.write("notes.txt", "nothing secret\n");
    repo.add("notes.txt");
    let out = git_in(
        &repo,
        repo.path(),
        &["commit", "-q", "-m", "x"],
        &[("FAIL_CHAINED", "3")],
    );
    assert!(!out.status.success(), "a failing chained hook must block");
    let out = git_in(&repo, repo.path(), &["commit", "-q", "-m", "x"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("pre-commit ran")
            .count(),
        2
    );
    // the chained hook passing does not let a secret through
    stage_secret(&repo, repo.path(), "app.py");
    assert_commit_blocked(&repo, repo.path(), "app.py", &[]);
    repo.git(&["reset", "-q", "--hard"]);
    // pre-push: the chained hook gets git's arguments and the ref lines; staunch still scans
    let remote = tempfile::tempdir().unwrap();
    let remote_path = remote.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote_path.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote_path.to_str().unwrap()]);
    let out = git_in(&repo, repo.path(), &["push", "-q", "origin", "main"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("pre-push ran with origin"), "{logged}");
    assert!(logged.contains("refs/heads/main "), "{logged}");
    repo.commit_file("k.txt", format!("k = {}\n", fake_aws_key()), "leak");
    let out = git_in(&repo, repo.path(), &["push", "origin", "main"], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("aws-access-key-id"));
    // uninstall puts the original hooks back, byte for byte and mode for mode
    staunch_ok(&repo, repo.path(), &["uninstall"]);
    assert_eq!(before, snapshot(&hooks));
}

#[test]
fn a_leftover_chained_hook_makes_install_refuse_unless_forced() {
    let repo = with_base_commit();
    let hooks = git_hooks_dir(&repo, repo.path());
    std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::write(
        hooks.join("pre-commit.staunch-chained"),
        "#!/bin/sh\nexit 0\n",
    )
    .unwrap();
    let before = snapshot(&hooks);
    let out = repo.run(&["install"], None);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out);
    assert!(said.contains("pre-commit.staunch-chained"), "{said}");
    assert!(said.contains("--force"), "{said}");
    assert_eq!(
        before,
        snapshot(&hooks),
        "a refused install changed something"
    );
    staunch_ok(&repo, repo.path(), &["install", "--force"]);
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit.staunch-chained")).unwrap(),
        "#!/bin/sh\nexit 0\n"
    );
}

#[test]
fn hooks_go_where_git_runs_them() {
    // core.hooksPath, relative to the work tree: created by install, removed by uninstall
    let repo = with_base_commit();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let hooks = git_hooks_dir(&repo, repo.path());
    std::fs::remove_dir(&hooks).unwrap();
    staunch_ok(&repo, repo.path(), &["install"]);
    assert!(repo.path().join(".githooks/pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
    stage_secret(&repo, repo.path(), "app.py");
    assert_commit_blocked(&repo, repo.path(), "app.py", &[]);
    staunch_ok(&repo, repo.path(), &["uninstall"]);
    assert!(
        !repo.path().join(".githooks").exists(),
        "the directory install created stays"
    );

    // core.hooksPath, absolute
    let repo = with_base_commit();
    let shared = tempfile::tempdir().unwrap();
    repo.git(&["config", "core.hooksPath", shared.path().to_str().unwrap()]);
    staunch_ok(&repo, repo.path(), &["install"]);
    assert!(shared.path().join("pre-push").is_file());
    stage_secret(&repo, repo.path(), "app.py");
    assert_commit_blocked(&repo, repo.path(), "app.py", &[]);

    // a linked worktree shares the main repository's hooks
    let repo = with_base_commit();
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    staunch_ok(&repo, &wt, &["install"]);
    let expected = git_hooks_dir(&repo, &wt);
    assert!(
        expected.join("pre-commit").is_file(),
        "{}",
        expected.display()
    );
    assert_eq!(
        expected,
        std::fs::canonicalize(repo.path().join(".git/hooks")).unwrap()
    );
    stage_secret(&repo, &wt, "app.py");
    assert_commit_blocked(&repo, &wt, "app.py", &[]);

    // a submodule's hooks live in the superproject's .git/modules/<name>
    let lib = with_base_commit();
    let repo = with_base_commit();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        lib.path().to_str().unwrap(),
        "vendor/lib",
    ]);
    let sub = repo.path().join("vendor/lib");
    staunch_ok(&repo, &sub, &["install"]);
    let expected = git_hooks_dir(&repo, &sub);
    assert!(
        expected.starts_with(std::fs::canonicalize(repo.path().join(".git/modules")).unwrap()),
        "{}",
        expected.display()
    );
    assert!(expected.join("pre-commit").is_file());
    stage_secret(&repo, &sub, "app.py");
    assert_commit_blocked(&repo, &sub, "app.py", &[]);
}

/// PATH without any directory that holds a `staunch`.
fn path_without_staunch() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("staunch").exists())
        .collect();
    std::env::join_paths(kept)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_moved_binary_falls_back_to_path_and_fails_closed_without_one() {
    let repo = with_base_commit();
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = bin_dir.path().join("staunch");
    std::fs::copy(staunch_bin(), &copy).unwrap();
    let mut cmd = Command::new(&copy);
    cmd.arg("install").current_dir(repo.path());
    repo.env(&mut cmd);
    // A freshly copied binary can be briefly "busy" (ETXTBSY) while another test thread forks
    // with the copy's write handle inherited; retry instead of failing on that race.
    let mut attempt = 0;
    let out = loop {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(26) && attempt < 50 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_file(&copy).unwrap();

    let bare_path = path_without_staunch();
    stage_secret(&repo, repo.path(), "app.py");
    let out = git_in(
        &repo,
        repo.path(),
        &["commit", "-q", "-m", "x"],
        &[("PATH", &bare_path)],
    );
    let said = text(&out);
    assert!(!out.status.success(), "a hook without a binary must block");
    assert!(
        said.contains(&format!("{} is gone", copy.display())),
        "{said}"
    );
    assert!(said.contains("staunch install"), "{said}");
    assert!(said.contains("--no-verify"), "{said}");

    // `staunch` on PATH takes over
    let release_dir = staunch_bin().parent().unwrap().to_path_buf();
    let with_staunch = format!("{}:{bare_path}", release_dir.display());
    assert_commit_blocked(&repo, repo.path(), "app.py", &[("PATH", &with_staunch)]);
    repo.git(&["reset", "-q", "--hard"]);
    repo.write("notes.txt", "fine\n");
    repo.add("notes.txt");
    let out = git_in(
        &repo,
        repo.path(),
        &["commit", "-q", "-m", "x"],
        &[("PATH", &with_staunch)],
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn staunch_skip_skips_once_loudly_and_leaves_an_audit_trail() {
    let repo = with_base_commit();
    let log = repo.home().join("audit.jsonl");
    staunch_ok(
        &repo,
        repo.path(),
        &["install", "--audit-log", log.to_str().unwrap()],
    );
    stage_secret(&repo, repo.path(), "app.py");
    // anything but a yes scans
    assert_commit_blocked(&repo, repo.path(), "app.py", &[("STAUNCH_SKIP", "0")]);
    let out = git_in(
        &repo,
        repo.path(),
        &["commit", "-q", "-m", "skipped"],
        &[("STAUNCH_SKIP", "1")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("SKIPPED"), "{}", text(&out));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let skip = lines
        .iter()
        .find(|l| l["event"] == "scan.skipped")
        .expect("a scan.skipped event");
    assert_eq!(skip["metadata"]["hook"], "pre-commit");
    assert_eq!(skip["level"], "warn");
    let installed = lines
        .iter()
        .filter(|l| l["event"] == "hook.installed")
        .count();
    assert_eq!(installed, 2, "{lines:?}");
    assert!(lines
        .iter()
        .any(|l| l["event"] == "scan.finished" && l["result"] == "blocked"));
}
