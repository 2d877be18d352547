//! The pre-commit framework (<https://pre-commit.com>), the real one, running this repository's
//! `.pre-commit-hooks.yaml` the way its users do: `pre-commit install`, then `git commit`,
//! `pre-commit run --all-files`, `--files X` and `git push` to a bare remote.
//!
//! Two configurations, one scenario:
//! - `repo: local` with the hook definitions of `.pre-commit-hooks.yaml` as `language: system`,
//!   pointed at the binary under test. Needs no network; always runs.
//! - `repo: <this checkout>` at its HEAD commit with `language: rust`, exactly as users get it:
//!   pre-commit runs `cargo install` of the checkout (minutes, once: the build is kept under
//!   `target/tmp`). It needs crates.io and skips loudly when that cannot be reached.
//!
//! Both skip loudly, and only, when python3 is missing or pre-commit is neither installed nor
//! installable with pip (`.ci/run` installs it).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::*;

/// How to run pre-commit outside the tests' isolated HOME.
pub(crate) struct Framework {
    python: PathBuf,
    env: Vec<(&'static str, OsString)>,
}

fn skip(test: &str, why: &str) {
    eprintln!(
        "\n**********\n* SKIPPED {test}: {why}\n* install it with: python3 -m pip install pre-commit\n**********\n"
    );
}

fn output(cmd: &mut Command) -> Option<Output> {
    cmd.output().ok()
}

fn ok_stdout(cmd: &mut Command) -> Option<String> {
    output(cmd)
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Finds python3 and pre-commit, installing pre-commit with pip if it is missing.
pub(crate) fn framework(test: &str) -> Option<Framework> {
    let Some(python) =
        ok_stdout(Command::new("python3").args(["-c", "import sys; print(sys.executable)"]))
    else {
        skip(test, "python3 is not installed");
        return None;
    };
    let python = PathBuf::from(python);
    let has_pre_commit = || {
        output(Command::new(&python).args(["-m", "pre_commit", "--version"]))
            .is_some_and(|o| o.status.success())
    };
    if !has_pre_commit() {
        for extra in [&[][..], &["--user"]] {
            let _ = Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "pre-commit"])
                .args(extra)
                .output();
            if has_pre_commit() {
                break;
            }
        }
    }
    if !has_pre_commit() {
        skip(
            test,
            "pre-commit is not installed and pip could not install it",
        );
        return None;
    }
    // The tests run with a temporary HOME: point Python, cargo and rustup at the real ones.
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let mut env = Vec::new();
    if let Some(base) = ok_stdout(Command::new(&python).args(["-m", "site", "--user-base"])) {
        env.push(("PYTHONUSERBASE", OsString::from(base)));
    }
    env.push((
        "CARGO_HOME",
        std::env::var_os("CARGO_HOME").unwrap_or_else(|| home.join(".cargo").into()),
    ));
    env.push((
        "RUSTUP_HOME",
        std::env::var_os("RUSTUP_HOME").unwrap_or_else(|| home.join(".rustup").into()),
    ));
    Some(Framework { python, env })
}

impl Framework {
    fn prepare(&self, repo: &TestRepo, cmd: &mut Command, store: &Path) {
        cmd.current_dir(repo.path());
        repo.env(cmd);
        cmd.env("PRE_COMMIT_HOME", store)
            .env("PRE_COMMIT_COLOR", "never");
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
    }

    /// `pre-commit ARGS` in the repository.
    pub(crate) fn pre_commit(&self, repo: &TestRepo, store: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.python);
        cmd.args(["-m", "pre_commit"]).args(args);
        self.prepare(repo, &mut cmd, store);
        cmd.output().unwrap()
    }

    /// `git ARGS` in the repository, hooks (pre-commit's) enabled.
    pub(crate) fn git(&self, repo: &TestRepo, store: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new("git");
        cmd.args(args);
        self.prepare(repo, &mut cmd, store);
        cmd.output().unwrap()
    }
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_blocked_at(out: &Output, place: &str) {
    let all = text(out);
    assert!(!out.status.success(), "not blocked: {all}");
    assert!(all.contains(place), "{place} not named: {all}");
    assert!(all.contains("aws-access-key-id"), "no rule: {all}");
    assert!(
        !all.contains(&fake_aws_key()),
        "secret shown in full: {all}"
    );
}

fn assert_passed(out: &Output) {
    assert!(out.status.success(), "blocked: {}", text(out));
}

/// The scenario both configurations must pass.
fn exercise(fw: &Framework, config: &str, store: &Path) {
    let repo = TestRepo::git_init();
    let remote = tempfile::tempdir().unwrap();
    let remote_path = remote.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote_path.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote_path.to_str().unwrap()]);
    repo.write(".pre-commit-config.yaml", config);
    assert_passed(&fw.pre_commit(
        &repo,
        store,
        &[
            "install",
            "--hook-type",
            "pre-commit",
            "--hook-type",
            "pre-push",
        ],
    ));

    // a clean commit passes, and the hook really ran
    repo.write("app.py", "import os\n\nDEBUG = os.environ.get('DEBUG')\n");
    repo.add("app.py");
    repo.add(".pre-commit-config.yaml");
    let out = fw.git(&repo, store, &["commit", "-m", "clean"]);
    assert_passed(&out);
    assert!(text(&out).contains("staunch (secrets)"), "{}", text(&out));
    let clean = repo.git(&["rev-parse", "HEAD"]).trim().to_string();

    // a commit adding a secret is blocked, naming file, line and rule
    let leak = format!("import os\n\nAWS_KEY = \"{}\"\n", fake_aws_key());
    repo.write("config/settings.py", &leak);
    repo.add("config/settings.py");
    assert_blocked_at(
        &fw.git(&repo, store, &["commit", "-m", "leak"]),
        "config/settings.py:3",
    );

    // once committed anyway, `run --all-files` and `--files` scan the whole file
    repo.commit("leak");
    assert_blocked_at(
        &fw.pre_commit(&repo, store, &["run", "--all-files"]),
        "config/settings.py:3",
    );
    assert_blocked_at(
        &fw.pre_commit(
            &repo,
            store,
            &["run", "staunch", "--files", "config/settings.py"],
        ),
        "config/settings.py:3",
    );
    assert_passed(&fw.pre_commit(&repo, store, &["run", "staunch", "--files", "app.py"]));

    // pushing: the clean commit goes through, the one with the secret is blocked
    assert_passed(&fw.git(
        &repo,
        store,
        &["push", "origin", &format!("{clean}:refs/heads/main")],
    ));
    assert_blocked_at(
        &fw.git(&repo, store, &["push", "origin", "main"]),
        "config/settings.py:3",
    );
    let remote_main = repo.git(&[
        "--git-dir",
        remote_path.to_str().unwrap(),
        "rev-parse",
        "main",
    ]);
    assert_eq!(remote_main.trim(), clean);
}

/// This checkout's `.pre-commit-hooks.yaml` as a `repo: local` configuration running the
/// binary under test.
pub(crate) fn local_config() -> String {
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    assert_eq!(hooks.matches("language: rust").count(), 2, "{hooks}");
    let binary = staunch_bin().display().to_string();
    assert!(!binary.contains(['\'', '"', '\\']), "{binary}");
    let mut config = String::from("repos:\n- repo: local\n  hooks:\n");
    for line in hooks.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let line = line
            .replace("language: rust", "language: system")
            .replace("entry: staunch ", "entry: ");
        let line = match line.split_once("entry: ") {
            Some((indent, command)) => format!("{indent}entry: \"'{binary}' {command}\""),
            None => line,
        };
        config.push_str("    ");
        config.push_str(&line);
        config.push('\n');
    }
    assert!(config.contains("id: staunch-push"), "{config}");
    config
}

#[test]
fn framework_with_the_hook_definitions_as_system_hooks() {
    let Some(fw) = framework("framework_with_the_hook_definitions_as_system_hooks") else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    exercise(&fw, &local_config(), store.path());
}

/// Error text of a build that failed for want of a network, not for a fault of ours.
fn offline(text: &str) -> bool {
    [
        "failed to download",
        "Could not resolve host",
        "Couldn't resolve host",
        "failed to query replaced source registry",
        "failed to get successful HTTP response",
        "spurious network error",
        "failed to fetch",
        "Network is unreachable",
        "download of config.json failed",
    ]
    .iter()
    .any(|pattern| text.contains(pattern))
}

#[test]
fn framework_builds_this_checkout_with_language_rust() {
    let test = "framework_builds_this_checkout_with_language_rust";
    let Some(fw) = framework(test) else {
        return;
    };
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(rev) = ok_stdout(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(checkout),
    ) else {
        skip(test, "this checkout is not a git repository");
        return;
    };
    let committed = Command::new("git")
        .args(["cat-file", "-e", &format!("{rev}:.pre-commit-hooks.yaml")])
        .current_dir(checkout)
        .status()
        .unwrap();
    assert!(
        committed.success(),
        "HEAD has no .pre-commit-hooks.yaml: commit it (pre-commit builds the committed HEAD)"
    );
    // Kept between runs: the store caches the build by commit, the target dir the crates.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit");
    let store = cache.join("home");
    std::fs::create_dir_all(&store).unwrap();
    let config = format!(
        "repos:\n- repo: '{}'\n  rev: {rev}\n  hooks:\n  - id: staunch\n  - id: staunch-push\n",
        checkout.display()
    );
    let fw = Framework {
        env: fw
            .env
            .into_iter()
            .chain([("CARGO_TARGET_DIR", cache.join("cargo-target").into())])
            .collect(),
        ..fw
    };
    // Build first, alone, to tell a missing network from a failure.
    let probe = TestRepo::git_init();
    probe.write(".pre-commit-config.yaml", &config);
    let out = fw.pre_commit(&probe, &store, &["install-hooks"]);
    if !out.status.success() {
        let all = format!(
            "{}{}",
            text(&out),
            std::fs::read_to_string(store.join("pre-commit.log")).unwrap_or_default()
        );
        if offline(&all) {
            skip(
                test,
                &format!("crates.io cannot be reached to build the hook:\n{all}"),
            );
            return;
        }
        panic!("pre-commit could not build the hook: {all}");
    }
    exercise(&fw, &config, &store);
}

/// pre-commit hands a pre-push hook no range when the pushed branch's root commit is new to
/// the remote (its "all files" case), and nothing on stdin.
#[test]
fn framework_push_of_a_new_root_commit_with_a_secret_is_blocked() {
    let Some(fw) = framework("framework_push_of_a_new_root_commit_with_a_secret_is_blocked") else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let repo = TestRepo::git_init();
    let remote = tempfile::tempdir().unwrap();
    let remote_path = remote.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote_path.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote_path.to_str().unwrap()]);
    repo.write(".pre-commit-config.yaml", local_config());
    assert_passed(&fw.pre_commit(&repo, store.path(), &["install", "--hook-type", "pre-push"]));
    repo.write("k.env", format!("AWS_KEY={}\n", fake_aws_key()));
    repo.add("k.env");
    repo.add(".pre-commit-config.yaml");
    repo.commit("root with a secret");
    assert_blocked_at(
        &fw.git(&repo, store.path(), &["push", "origin", "main"]),
        "k.env:1",
    );
}
