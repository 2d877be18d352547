//! Hostile and broken input: saved fuzzer finds replayed, corrupt and odd repositories (a scan
//! exits 2 naming what is wrong, the hook blocks), repositories that try to make the scanner
//! run their code or follow links out, and hooks running side by side.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::*;

#[path = "../../fuzz/oracles.rs"]
mod oracles;

// ---- fuzz regressions ----------------------------------------------------------------------

/// Every saved input of a fuzz target, replayed through the target's own checks.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
    for input in inputs {
        let data = std::fs::read(&input).unwrap();
        let started = std::time::Instant::now();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            panic!("{}: {panic:?}", input.display());
        }
        // A hang the fuzzer found must stay fixed: each input is small and must be quick.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{} took {:?}",
            input.display(),
            started.elapsed()
        );
    }
}

#[test]
fn fuzz_regressions_rule_pack() {
    replay("rule_pack", oracles::rule_pack);
}

#[test]
fn fuzz_regressions_matcher() {
    replay("matcher", oracles::matcher);
}

#[test]
fn fuzz_regressions_added_lines() {
    replay("added_lines", oracles::added_lines_mapping);
}

#[test]
fn fuzz_regressions_archive() {
    replay("archive", oracles::archive);
}

/// Random bytes behind each archive format's magic number, through the archive target's
/// checks: what the fuzzer does, in a bounded way that runs on stable in every `cargo test`.
#[test]
fn random_bytes_behind_archive_magic_numbers() {
    let magics: [&[u8]; 7] = [
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"\x1f\x8b\x08",
        b"BZh91AY&SY",
        b"\xfd7zXZ\0",
        b"\x28\xb5\x2f\xfd",
        b"",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let magic = magics[round % magics.len()];
        let len = (next() % 2048) as usize;
        let mut data: Vec<u8> = magic.to_vec();
        data.extend((0..len).map(|_| next() as u8));
        if magic.is_empty() && data.len() > 262 {
            data[257..262].copy_from_slice(b"ustar");
        }
        oracles::archive(&data);
    }
}

/// Scans `data` with the built-in rules and checks it takes well under `limit`: work must
/// grow with the input, not with the input times the number of matches. The findings cap is
/// lifted, so the matches are all kept and the test measures what they cost.
fn scans_within(data: Vec<u8>, limit: std::time::Duration) -> usize {
    static UNCAPPED: std::sync::OnceLock<staunch::matcher::Matcher> = std::sync::OnceLock::new();
    let matcher = UNCAPPED.get_or_init(|| {
        let rules = staunch::rules::load().expect("built-in packs load");
        let options = staunch::matcher::ScanOptions {
            max_findings_per_file: 1 << 40,
            ..Default::default()
        };
        staunch::matcher::Matcher::new(rules, options)
    });
    let started = std::time::Instant::now();
    let found = matcher
        .find_in(&staunch::source::Fragment::file("big.txt", data))
        .findings
        .len();
    let took = started.elapsed();
    assert!(took < limit, "took {took:?} for {found} findings");
    found
}

#[test]
fn many_matches_on_one_long_line_stay_linear() {
    // Minified JSON: a private address in every record, no newline. Each match used to search
    // its whole line again (for allow markers and check context): minutes for a few MB.
    let mut line = String::from("[");
    let mut i = 0u32;
    while line.len() < 2_000_000 {
        line.push_str(&format!(
            "{{\"id\":{i},\"host\":\"10.12.{}.{}\",\"note\":\"minified\"}},",
            i / 250 % 250,
            i % 250 + 1
        ));
        i += 1;
    }
    let found = scans_within(line.into_bytes(), std::time::Duration::from_secs(5));
    assert!(found > 10_000, "{found}");
}

#[test]
fn many_specific_and_generic_matches_stay_linear() {
    // Every token is found by its own rule and by a generic one; deciding which wins used to
    // compare every generic match with every specific one.
    let token = fake_github_token();
    let mut text = String::new();
    for i in 0..80_000u32 {
        text.push_str(&format!(
            "github_token = \"{token}\"\nhost = \"10.{}.{}.{}\"\n",
            i / 62_500 % 250,
            i / 250 % 250,
            i % 250 + 1
        ));
    }
    let found = scans_within(text.into_bytes(), std::time::Duration::from_secs(5));
    assert!(found > 150_000, "{found}");
}

// ---- corrupt and odd repositories ----------------------------------------------------------

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `args` and checks it exits 2 with every one of `words` in its message.
fn fails_naming(repo: &TestRepo, args: &[&str], words: &[&str]) {
    let out = repo.run(args, None);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should fail\nstdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&out.stdout)
    );
    for word in words {
        assert!(err.contains(word), "{args:?}: {word:?} not in {err:?}");
    }
}

/// The pre-commit hook blocks (non-zero, says so) and names the problem.
fn hook_blocks(repo: &TestRepo, words: &[&str]) {
    let out = repo.run(&["hook", "pre-commit"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "hook did not block: {err}");
    assert!(err.contains("commit blocked"), "{err}");
    for word in words {
        assert!(err.contains(word), "{word:?} not in {err:?}");
    }
}

/// A repository with one clean commit and a staged file holding a fake key.
fn repo_with_staged_secret() -> TestRepo {
    let repo = TestRepo::git_init();
    repo.commit_file("README", "base\n", "base");
    repo.write("config.env", format!("AWS_KEY={}\n", fake_aws_key()));
    repo.add("config.env");
    repo
}

fn loose_object_path(repo: &TestRepo, id: &str) -> PathBuf {
    repo.path()
        .join(".git/objects")
        .join(&id[..2])
        .join(&id[2..])
}

#[test]
fn a_missing_object_fails_naming_it() {
    let repo = repo_with_staged_secret();
    let committed = repo.git(&["rev-parse", ":config.env"]).trim().to_string();
    repo.commit("add config");
    std::fs::remove_file(loose_object_path(&repo, &committed)).unwrap();
    fails_naming(&repo, &["scan", "--all"], &[&committed]);
    fails_naming(&repo, &["scan", "--range", "HEAD~1..HEAD"], &[&committed]);

    // A staged blob gone missing.
    repo.write("staged.env", format!("TOKEN={}\n", fake_github_token()));
    repo.add("staged.env");
    let staged = repo.git(&["rev-parse", ":staged.env"]).trim().to_string();
    std::fs::remove_file(loose_object_path(&repo, &staged)).unwrap();
    fails_naming(&repo, &["scan", "--staged"], &[&staged]);
    hook_blocks(&repo, &[&staged]);
}

#[test]
fn a_truncated_pack_fails_naming_it() {
    let repo = repo_with_staged_secret();
    repo.commit("add config");
    repo.git(&["repack", "-a", "-d", "-q"]);
    let pack_dir = repo.path().join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack");
    let len = std::fs::metadata(&pack).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&pack).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    fails_naming(&repo, &["scan", "--all"], &["pack"]);
    fails_naming(&repo, &["scan", "--range", "HEAD~1..HEAD"], &["pack"]);
    // Staging a new file on top: HEAD's tree is in the broken pack.
    repo.write("more.txt", "more\n");
    repo.add("more.txt");
    fails_naming(&repo, &["scan", "--staged"], &["pack"]);
    hook_blocks(&repo, &["pack"]);
}

#[test]
fn a_corrupt_index_fails_naming_it() {
    let repo = repo_with_staged_secret();
    let index = repo.path().join(".git/index");
    let mut bytes = std::fs::read(&index).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..].iter_mut().for_each(|b| *b ^= 0x5a);
    std::fs::write(&index, &bytes).unwrap();
    fails_naming(&repo, &["scan", "--staged"], &["index"]);
    hook_blocks(&repo, &["index"]);
    // Not even a header.
    std::fs::write(&index, b"garbage").unwrap();
    fails_naming(&repo, &["scan", "--staged"], &["index"]);
    hook_blocks(&repo, &["index"]);
}

/// `git commit` holds `index.lock` while its hooks run, so a lock must not stop a read-only
/// scan: staunch never writes the index and reads the committed `index` as it is.
#[test]
fn a_locked_index_is_still_scanned() {
    let repo = repo_with_staged_secret();
    std::fs::write(repo.path().join(".git/index.lock"), b"another git is here").unwrap();
    let (code, doc) = repo.json(&["scan", "--staged"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(findings(&doc)[0].1, "config.env");
    let out = repo.run(&["hook", "pre-commit"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(repo.path().join(".git/index.lock")).unwrap(),
        b"another git is here",
        "the lock is someone else's: left alone"
    );
}

#[test]
fn a_git_file_pointing_nowhere_fails_naming_it() {
    let repo = TestRepo::dir();
    std::fs::write(
        repo.path().join(".git"),
        "gitdir: /nonexistent/staunch-test/.git/worktrees/gone\n",
    )
    .unwrap();
    for args in [
        &["scan", "--staged"][..],
        &["scan", "--all"],
        &["scan", "--range", "HEAD~1..HEAD"],
    ] {
        fails_naming(&repo, args, &["/nonexistent/staunch-test"]);
    }
    hook_blocks(&repo, &["/nonexistent/staunch-test"]);
}

/// Git allows any byte but NUL in a path. Such paths are scanned like any other and reported
/// with what cannot be shown escaped (JSON) or replaced (invalid UTF-8), never dropped.
#[test]
fn paths_with_newlines_and_invalid_utf8_are_scanned() {
    use std::os::unix::ffi::OsStrExt;
    let repo = TestRepo::git_init();
    let key = fake_aws_key();
    let odd = std::ffi::OsStr::from_bytes(b"bad\xffname.env");
    std::fs::write(repo.path().join("two\nlines.env"), format!("K={key}\n")).unwrap();
    std::fs::write(repo.path().join(odd), format!("OTHER={key}\n")).unwrap();
    repo.git(&["add", "-A"]);
    for args in [&["scan", "--staged"][..], &["scan", "."]] {
        let (code, doc) = repo.json(args);
        assert_eq!(code, 1, "{args:?}: {doc}");
        let mut paths: Vec<String> = findings(&doc)
            .into_iter()
            .map(|f| f.1.trim_start_matches("./").to_string())
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            vec!["bad\u{fffd}name.env", "two\nlines.env"],
            "{args:?}"
        );
    }
    let out = repo.run(&["hook", "pre-commit"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    repo.commit("odd paths");
    let (code, doc) = repo.json(&["scan", "--all"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc).len(), 2);
}

// ---- untrusted repositories ----------------------------------------------------------------

/// A script that leaves `marker` behind if anything runs it.
fn tripwire(dir: &Path, name: &str, marker: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(name);
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\ncat\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn scanning_never_runs_anything_from_the_repository() {
    let repo = TestRepo::git_init();
    let key = fake_aws_key();
    repo.commit_file("a.env", "base\n", "base");
    repo.commit_file("a.env", format!("base\nK={key}\n"), "add key");
    repo.write("b.env", format!("K2={key}\n"));
    repo.add("b.env");

    // Armed only now, so the git commands above ran none of it.
    let traps = tempfile::tempdir().unwrap();
    let marker = traps.path().join("ran");
    let script = |name: &str| tripwire(traps.path(), name, &marker).display().to_string();
    let hooks = traps.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    for hook in [
        "pre-commit",
        "post-checkout",
        "post-index-change",
        "reference-transaction",
    ] {
        tripwire(&hooks, hook, &marker);
    }
    for (key, value) in [
        ("core.fsmonitor", script("fsmonitor")),
        ("core.hooksPath", hooks.display().to_string()),
        ("filter.trap.clean", script("clean")),
        ("filter.trap.smudge", script("smudge")),
        ("filter.trap.required", "true".to_string()),
        ("diff.trap.textconv", script("textconv")),
        ("diff.external", script("external-diff")),
        ("core.pager", script("pager")),
        ("core.sshCommand", script("ssh")),
        ("credential.helper", script("credential")),
    ] {
        repo.git(&["config", key, &value]);
    }
    repo.write(".gitattributes", "* filter=trap diff=trap\n");
    // The hooks directory of the repository itself too.
    tripwire(&repo.path().join(".git/hooks"), "pre-commit", &marker);

    for args in [
        &["scan", "--staged"][..],
        &["scan", "--all"],
        &["scan", "--range", "HEAD~1..HEAD"],
        &["hook", "pre-commit"],
        &["scan", "."],
    ] {
        let out = repo.run(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            !marker.exists(),
            "{args:?} ran a command from the repository"
        );
    }
    // The trap is real: git itself springs it.
    repo.git(&["status", "--short"]);
    assert!(marker.exists(), "the tripwire works");
}

#[test]
fn a_directory_scan_never_follows_a_link_out_of_the_tree() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("creds.env"),
        format!("K={}\n", fake_aws_key()),
    )
    .unwrap();
    let repo = TestRepo::dir();
    repo.write("src/main.txt", "nothing here\n");
    std::os::unix::fs::symlink(
        outside.path().join("creds.env"),
        repo.path().join("link.env"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("src/linked-dir")).unwrap();
    for args in [&["scan"][..], &["scan", "."], &["scan", "src"]] {
        let (code, doc) = repo.json(args);
        assert_eq!(code, 0, "{args:?} followed a link: {doc}");
        assert!(findings(&doc).is_empty());
    }
}

/// Everything under `root` (path, bytes), links read as links.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_dir() {
                stack.push(path.clone());
                b"<dir>".to_vec()
            } else if meta.is_symlink() {
                std::fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(&path).unwrap()
            };
            out.push((path, content));
        }
    }
    out.sort();
    out
}

#[test]
fn scans_write_nothing_but_their_output() {
    let repo = repo_with_staged_secret();
    repo.git(&["commit", "-q", "--no-verify", "-m", "two"]);
    repo.write("c.env", format!("K={}\n", fake_github_token()));
    repo.add("c.env");
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join("report.json");
    let before = (
        snapshot(repo.path()),
        snapshot(repo.home()),
        snapshot(tmp.path()),
    );
    for args in [
        &["scan", "--staged"][..],
        &["scan", "--all"],
        &["scan", "--range", "HEAD~1..HEAD"],
        &["scan", "."],
        &["hook", "pre-commit"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--format", "json", "--output", output.to_str().unwrap()]);
        let mut cmd = repo.staunch(&all);
        cmd.env("TMPDIR", tmp.path());
        let out = run_with_stdin(cmd, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "the report went to --output");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
        assert!(!findings(&report).is_empty());
        std::fs::remove_file(&output).unwrap();
        let after = (
            snapshot(repo.path()),
            snapshot(repo.home()),
            snapshot(tmp.path()),
        );
        assert!(before == after, "{args:?} wrote outside its output");
    }
}

// ---- concurrency ---------------------------------------------------------------------------

/// Two worktrees of one repository committing at the same moment: each hook sees only its own
/// index and gives its own verdict, run after run.
#[test]
fn hooks_in_two_worktrees_at_once() {
    let repo = TestRepo::git_init();
    repo.commit_file("base.txt", "base\n", "base");
    let parent = tempfile::tempdir().unwrap();
    let wt = parent.path().join("second");
    repo.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    // The main worktree stages a secret; the second a clean file, then a secret of its own.
    repo.write("leak.env", format!("K={}\n", fake_aws_key()));
    repo.add("leak.env");
    std::fs::write(wt.join("clean.txt"), "nothing to see\n").unwrap();
    repo.git(&["-C", wt.to_str().unwrap(), "add", "clean.txt"]);

    let hook = |dir: &Path| {
        let mut cmd = repo.staunch(&["hook", "pre-commit", "--format", "json"]);
        cmd.current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .stdin(std::process::Stdio::null());
        cmd.spawn().unwrap()
    };
    let verdict = |child: std::process::Child| {
        let out = child.wait_with_output().unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        let paths: Vec<String> = findings(&doc).into_iter().map(|f| f.1).collect();
        (out.status.code(), paths)
    };
    for round in 0..6 {
        if round == 3 {
            std::fs::write(wt.join("other.env"), format!("T={}\n", fake_github_token())).unwrap();
            repo.git(&["-C", wt.to_str().unwrap(), "add", "other.env"]);
        }
        let (a, b) = (hook(repo.path()), hook(&wt));
        let (a, b) = (verdict(a), verdict(b));
        assert_eq!(a, (Some(1), vec!["leak.env".to_string()]), "round {round}");
        if round < 3 {
            assert_eq!(b, (Some(0), vec![]), "round {round}");
        } else {
            assert_eq!(b, (Some(1), vec!["other.env".to_string()]), "round {round}");
        }
    }
}
