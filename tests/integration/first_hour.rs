//! A newcomer's first hour (issue 16): installing the binary and the hooks, the first scan of
//! staunch's own repository, a baseline, a range in CI, pipes and help, each through the real
//! binary on real repositories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::util::*;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A repository with one commit of a harmless file.
fn one_commit() -> TestRepo {
    let repo = TestRepo::git_init();
    repo.commit_file("app.py", "import os\n\nDEBUG = False\n", "base");
    repo
}

/// Copies the binary under test to `dir/staunch`.
fn copy_binary(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let copy = dir.join("staunch");
    std::fs::copy(staunch_bin(), &copy).unwrap();
    copy
}

/// Runs `binary` with `args` in the repository; a freshly copied binary can be briefly busy
/// (ETXTBSY) while another test thread forks with the copy's write handle inherited.
fn run_copy(repo: &TestRepo, binary: &Path, args: &[&str], path_var: Option<&str>) -> Output {
    let mut attempt = 0;
    loop {
        let mut cmd = Command::new(binary);
        cmd.args(args).current_dir(repo.path());
        repo.env(&mut cmd);
        if let Some(path) = path_var {
            cmd.env("PATH", path);
        }
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(26) && attempt < 50 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

/// PATH without any directory that holds a `staunch`, with `first` in front if given.
fn path_with(first: Option<&Path>) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept = std::env::split_paths(&path).filter(|dir| !dir.join("staunch").exists());
    std::env::join_paths(first.map(Path::to_path_buf).into_iter().chain(kept))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// `git commit` through the hooks, with PATH set.
fn commit_through_hooks(repo: &TestRepo, path_var: &str) -> Output {
    let mut cmd = Command::new("git");
    cmd.args(["commit", "-q", "-m", "change"])
        .current_dir(repo.path());
    repo.env(&mut cmd);
    cmd.env("PATH", path_var);
    cmd.output().unwrap()
}

// Item 1: installing the binary.

#[test]
fn install_from_a_build_directory_warns_and_the_hooks_then_use_staunch_on_path() {
    let repo = one_commit();
    let work = tempfile::tempdir().unwrap();
    // A cargo target directory, as `cargo build` leaves it: tagged with CACHEDIR.TAG.
    let target = work.path().join("checkout/target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(
        target.join("CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n# cargo writes this\n",
    )
    .unwrap();
    let built = copy_binary(&target.join("release"));
    let out = run_copy(&repo, &built, &["install"], Some(&path_with(None)));
    assert!(out.status.success(), "{}", text(&out));
    let said = stderr(&out);
    let target = std::fs::canonicalize(&target).unwrap();
    assert!(
        said.contains("warning") && said.contains(&format!("build directory {}", target.display())),
        "{said}"
    );
    assert!(said.contains("cargo install --locked --path ."), "{said}");
    assert!(said.contains("there is none now"), "{said}");

    // `cargo clean`: the recorded binary is gone; an installed one on PATH takes over.
    std::fs::remove_dir_all(&target).unwrap();
    let installed = copy_binary(&work.path().join("cargo-home/bin"));
    let with_staunch = path_with(installed.parent());
    repo.write("config.py", format!("KEY = \"{}\"\n", fake_aws_key()));
    repo.add("config.py");
    let out = commit_through_hooks(&repo, &with_staunch);
    assert!(
        !out.status.success(),
        "the secret got through: {}",
        text(&out)
    );
    assert!(text(&out).contains("aws-access-key-id"), "{}", text(&out));
    repo.git(&["reset", "-q", "--hard"]);
    repo.write("notes.txt", "fine\n");
    repo.add("notes.txt");
    let out = commit_through_hooks(&repo, &with_staunch);
    assert!(out.status.success(), "{}", text(&out));

    // Installed from where it stays: no warning.
    let out = run_copy(&repo, &installed, &["install"], Some(&with_staunch));
    assert!(out.status.success(), "{}", text(&out));
    assert!(!stderr(&out).contains("warning"), "{}", text(&out));
}

#[test]
fn readme_installs_the_binary_before_the_hooks() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let install = readme
        .find("cargo install --locked --path .")
        .expect("README says how to install the binary");
    let hooks = readme
        .find("staunch install")
        .expect("README says how to install the hooks");
    assert!(install < hooks, "the binary comes before the hooks");
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

// Item 7: the small ones.

/// Runs `staunch args` with its standard output a pipe nobody reads: closed before it writes.
fn with_closed_stdout(repo: &TestRepo, args: &[&str]) -> Output {
    let mut cmd = repo.staunch(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_no_command_early() {
    let repo = one_commit();
    let out = with_closed_stdout(&repo, &["install"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", text(&out));
    for hook in ["pre-commit", "pre-push"] {
        assert!(
            repo.path().join(".git/hooks").join(hook).is_file(),
            "{hook}"
        );
    }
    let out = with_closed_stdout(&repo, &["uninstall"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());

    let out = with_closed_stdout(&repo, &["rules", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).is_empty(), "{}", text(&out));

    // A scan whose report nobody reads still exits with its verdict, quietly.
    repo.write("config.py", format!("KEY = \"{}\"\n", fake_aws_key()));
    let out = with_closed_stdout(&repo, &["scan", "config.py"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!stderr(&out).contains("error"), "{}", text(&out));
    let out = with_closed_stdout(&repo, &["scan", "app.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_missing_baseline_says_how_to_create_one() {
    let repo = one_commit();
    let out = repo.run(&["scan", "--baseline", "old.json", "."], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("old.json"), "{}", text(&out));
    assert!(
        stderr(&out).contains("staunch baseline create"),
        "{}",
        text(&out)
    );

    repo.write(".staunch.toml", "baseline = \"known.json\"\n");
    let out = repo.run(&["scan", "."], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("known.json"), "{}", text(&out));
    assert!(
        stderr(&out).contains("staunch baseline create"),
        "{}",
        text(&out)
    );
}

#[test]
fn baseline_create_prints_the_line_that_puts_it_to_use() {
    let repo = one_commit();
    repo.commit_file(
        "old/settings.py",
        format!("KEY = \"{}\"\n", fake_aws_key()),
        "old key",
    );
    repo.write(
        ".staunch.toml",
        "[policy]\nblock = [\"high\", \"medium\"]\n",
    );
    let (code, _) = repo.json(&["scan", "."]);
    assert_eq!(code, 1);

    let out = repo.run(&["baseline", "create"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let line = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        line,
        "baseline = \".staunch-baseline.json\"\n",
        "{}",
        text(&out)
    );
    assert!(stderr(&out).contains(".staunch.toml"), "{}", text(&out));
    // The line goes at the top, where a key outside any section belongs.
    let config = std::fs::read_to_string(repo.path().join(".staunch.toml")).unwrap();
    repo.write(".staunch.toml", format!("{line}{config}"));
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["allowed_by"]["baseline"], 1, "{doc}");

    // Once the configuration names it, there is nothing to add.
    let out = repo.run(&["baseline", "create"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
}

#[test]
fn install_names_its_paths_without_dot_components() {
    let repo = one_commit();
    std::fs::create_dir(repo.path().join("sub")).unwrap();
    for dir in [".", "sub"] {
        let out = repo.run(&["-C", dir, "install"], None);
        assert!(out.status.success(), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        let hooks = std::fs::canonicalize(repo.path().join(".git/hooks")).unwrap();
        assert!(
            said.contains(&format!(
                "installed: {}",
                hooks.join("pre-commit").display()
            )),
            "{said}"
        );
        assert!(!said.contains("/./") && !said.contains("/../"), "{said}");
        let out = repo.run(&["-C", dir, "uninstall"], None);
        assert!(out.status.success(), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!said.contains("/./") && !said.contains("/../"), "{said}");
    }
}

#[test]
fn a_range_past_the_first_commit_says_what_is_wrong() {
    let repo = one_commit();
    let out = repo.run(&["scan", "--range", "HEAD~1..HEAD"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = stderr(&out);
    assert!(said.contains("HEAD~1"), "{said}");
    assert!(said.contains("HEAD has no parent"), "{said}");
    assert!(said.contains("staunch scan --all"), "{said}");
    assert!(!said.contains("malformed"), "{said}");

    repo.commit_file("b.txt", "two\n", "second");
    let out = repo.run(&["scan", "--range", "HEAD~3..HEAD"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("HEAD has only 1 commit before it"),
        "{}",
        text(&out)
    );
    let out = repo.run(&["scan", "--range", "HEAD~1..HEAD"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn subcommand_help_lists_the_options_that_apply() {
    let repo = one_commit();
    let out = repo.run(&["install", "--help"], None);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        help.contains("--claude-code") && help.contains("--audit-log"),
        "{help}"
    );
    for unused in ["--show-secrets", "--format", "--archive-depth", "--color"] {
        assert!(!help.contains(unused), "{unused} in install's help: {help}");
    }
    let out = repo.run(&["scan", "--help"], None);
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    for used in ["--show-secrets", "--format", "--archive-depth", "--staged"] {
        assert!(help.contains(used), "{used} not in scan's help: {help}");
    }
    // Left out of the help, still accepted: scripts that pass them keep working.
    let out = repo.run(
        &["rules", "list", "--show-secrets", "--color", "never"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_summary_gives_the_time_the_scan_took() {
    let repo = TestRepo::git_init();
    // Enough staged files that reading the index and diffing it is most of the work.
    for i in 0..3000 {
        repo.write(&format!("src/file{i}.txt"), format!("line {i}\n"));
    }
    repo.add(".");
    let started = std::time::Instant::now();
    let (code, doc) = repo.json(&["scan", "--staged"]);
    let wall = started.elapsed().as_millis() as u64;
    assert_eq!(code, 0, "{doc}");
    let reported = doc["stats"]["duration_ms"].as_u64().unwrap();
    assert!(
        reported <= wall,
        "{reported} ms reported, {wall} ms measured"
    );
    assert!(
        reported * 2 >= wall,
        "{reported} ms reported for a run of {wall} ms"
    );
}

#[test]
fn sarif_links_the_tool_and_gives_no_rule_its_id_as_name() {
    let repo = one_commit();
    repo.write(
        "config.py",
        format!(
            "KEY = \"{}\"\nTOKEN = \"{}\"\n",
            fake_aws_key(),
            fake_github_token()
        ),
    );
    let out = repo.run(&["scan", "config.py", "--format", "sarif"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let driver = &doc["runs"][0]["tool"]["driver"];
    let uri = driver["informationUri"].as_str().expect("informationUri");
    assert!(uri.starts_with("https://"), "{uri}");
    let rules = driver["rules"].as_array().unwrap();
    assert!(rules.len() >= 2, "{driver}");
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        if let Some(name) = rule["name"].as_str() {
            assert!(!name.eq_ignore_ascii_case(id), "{rule}");
        }
    }
}

// Item 5: agent settings are kept as the user wrote them.

#[test]
fn claude_code_settings_keep_their_order_and_layout_and_uninstall_restores_them() {
    let repo = one_commit();
    // Keys in the user's order (not alphabetical), four-space indent, a one-line object, a
    // hook of the user's own: all of it must survive byte for byte.
    let original = "{\n    \"model\": \"opus\",\n    \"permissions\": {\"deny\": [\"Read(./.env)\"], \"allow\": [\"Bash(npm test:*)\"]},\n    \"hooks\": {\n        \"PreToolUse\": [\n            {\n                \"matcher\": \"Bash\",\n                \"hooks\": [{\"type\": \"command\", \"command\": \"./audit.sh\"}]\n            }\n        ]\n    },\n    \"env\": {\"ZED\": \"1\", \"ALPHA\": \"2\"}\n}\n";
    repo.write(".claude/settings.json", original);
    let file = repo.path().join(".claude/settings.json");
    let out = repo.run(&["install", "--claude-code"], None);
    assert!(out.status.success(), "{}", text(&out));
    let installed = std::fs::read_to_string(&file).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&installed).unwrap();
    assert!(doc["hooks"]["UserPromptSubmit"].is_array(), "{installed}");
    assert_eq!(doc["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
    // What was there comes first, unchanged, up to where staunch's group goes.
    let users_group_end = original.find("\n        ]").unwrap();
    assert!(
        installed.starts_with(&original[..users_group_end]),
        "{installed}"
    );
    assert!(
        installed.ends_with("\n    },\n    \"env\": {\"ZED\": \"1\", \"ALPHA\": \"2\"}\n}\n"),
        "{installed}"
    );
    // staunch's own lines are laid out like their neighbours: four spaces a level.
    assert!(
        installed.contains("\n            {\n                \"matcher\": \"Write|"),
        "{installed}"
    );
    let out = repo.run(&["install", "--claude-code"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), installed);

    let out = repo.run(&["uninstall", "--claude-code"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);

    // No file before: none after.
    let fresh = one_commit();
    let out = fresh.run(&["install", "--claude-code"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(fresh.path().join(".claude/settings.json").is_file());
    let out = fresh.run(&["uninstall", "--claude-code"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!fresh.path().join(".claude").exists(), "{}", text(&out));
}

#[test]
fn the_history_progress_line_names_each_phase_and_counts_findings_as_confirmed() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is missing, so there is no terminal to test on");
        return;
    }
    let repo = one_commit();
    repo.commit_file(
        "config.py",
        format!("KEY = \"{}\"\n", fake_aws_key()),
        "key",
    );
    // The progress line is drawn only on a terminal: `script` gives the run one.
    let line = format!("'{}' scan --all --color never", staunch_bin().display());
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .current_dir(repo.path());
    repo.env(&mut cmd);
    let out = run_with_stdin(cmd, None);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("confirming candidates: "), "{shown}");
    assert!(
        shown.contains("annotated tags and refs, 1 finding(s)"),
        "{shown}"
    );
}
