//! `--audit-log FILE`: JSON lines with the agreed fields, created 0600, no secret in them,
//! intact under concurrent writers, and a write failure that is reported.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`
fn is_rfc3339_utc(ts: &str) -> bool {
    let b = ts.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit())
}

#[test]
fn lines_are_json_with_the_fields_and_never_the_secret() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    let token = fake_github_token();
    repo.write("config/app.env", format!("AWS={key}\nGH={token}\n"));
    let log = repo.home().join("audit.jsonl");
    let out = repo.run(&["scan", ".", "--audit-log", log.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let lines = read_log(&log);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        for key in [
            "timestamp",
            "level",
            "component",
            "event",
            "result",
            "metadata",
        ] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
        assert!(
            is_rfc3339_utc(line["timestamp"].as_str().unwrap()),
            "{line}"
        );
        assert_eq!(line["component"], "scan");
    }
    assert_eq!(lines[0]["event"], "scan.started");
    assert_eq!(lines[0]["metadata"]["source"], "paths");
    let done = &lines[1];
    assert_eq!(done["event"], "scan.finished");
    assert_eq!(done["result"], "blocked");
    assert_eq!(done["level"], "warn");
    let meta = &done["metadata"];
    assert_eq!(meta["blocked"], true);
    assert_eq!(meta["findings"], 2);
    assert_eq!(meta["files"], 1);
    assert!(meta["duration_ms"].is_u64());
    assert_eq!(meta["rules"]["aws-access-key-id"], 1);
    assert_eq!(meta["locations"][0]["path"], "config/app.env");
    assert!(meta["locations"][0]["fingerprint"].is_string());

    // not the secret, not any 6 characters of what follows the well-known prefixes
    let text = std::fs::read_to_string(&log).unwrap();
    for secret in [&key[4..], &token[4..]] {
        for window in secret.as_bytes().windows(6) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!text.contains(window), "{window:?} of a secret in the log");
        }
    }

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&log).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");

    // a clean run appends, and says so
    let clean = TestRepo::dir();
    clean.write("a.txt", "nothing\n");
    let out = clean.run(&["scan", ".", "--audit-log", log.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let lines = read_log(&log);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3]["result"], "clean");
    assert_eq!(lines[3]["level"], "info");
}

#[test]
fn hooks_installs_and_errors_are_recorded() {
    let repo = TestRepo::git_init();
    repo.commit_file("a.txt", "a\n", "a");
    let log = repo.home().join("audit.jsonl");
    let log_arg = log.to_str().unwrap();
    let out = repo.run(&["install", "--audit-log", log_arg], None);
    assert!(out.status.success());
    let out = repo.run(&["uninstall", "--audit-log", log_arg], None);
    assert!(out.status.success());
    repo.write("b.txt", format!("k = {}\n", fake_aws_key()));
    repo.add("b.txt");
    let out = repo.run(&["hook", "pre-commit", "--audit-log", log_arg], None);
    assert_eq!(out.status.code(), Some(1));
    let out = repo.run(
        &[
            "scan",
            "--range",
            "no-such-ref..HEAD",
            "--audit-log",
            log_arg,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));

    let lines = read_log(&log);
    let events: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["component"].as_str().unwrap().to_string(),
                l["event"].as_str().unwrap().to_string(),
                l["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = |component: &str, event: &str, result: &str| {
        (component.to_string(), event.to_string(), result.to_string())
    };
    assert_eq!(
        events,
        vec![
            expect("install", "hook.installed", "installed"),
            expect("install", "hook.installed", "installed"),
            expect("uninstall", "hook.removed", "removed"),
            expect("uninstall", "hook.removed", "removed"),
            expect("hook.pre-commit", "scan.started", "started"),
            expect("hook.pre-commit", "scan.finished", "blocked"),
            expect("scan", "scan.started", "started"),
            expect("scan", "error", "error"),
        ]
    );
    assert_eq!(lines[4]["metadata"]["source"], "staged");
    assert_eq!(lines[5]["metadata"]["locations"][0]["path"], "b.txt");
    assert_eq!(lines[7]["level"], "error");
    assert!(lines[7]["metadata"]["message"]
        .as_str()
        .unwrap()
        .contains("no-such-ref"));
    assert!(lines[0]["metadata"]["path"]
        .as_str()
        .unwrap()
        .ends_with("pre-commit"));
}

#[test]
fn a_log_that_cannot_be_written_is_an_error_not_ignored() {
    let repo = TestRepo::git_init();
    repo.write("a.txt", "fine\n");
    // a directory where the log should be
    let log = repo.home().join("audit-dir");
    std::fs::create_dir(&log).unwrap();
    let out = repo.run(
        &["scan", "a.txt", "--audit-log", log.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "a clean scan must not exit 0");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("audit log"), "{stderr}");
    assert!(stderr.contains("audit-dir"), "{stderr}");
    // a hook blocks instead of passing unrecorded
    repo.add("a.txt");
    let out = repo.run(
        &["hook", "pre-commit", "--audit-log", log.to_str().unwrap()],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn concurrent_writers_leave_every_line_intact() {
    let repo = TestRepo::dir();
    // many findings make each scan.finished line tens of kilobytes, far over PIPE_BUF
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut fake_key = || -> String {
        let tail: String = (0..16)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ALPHABET[(state % 32) as usize] as char
            })
            .collect();
        format!("AKIA{tail}")
    };
    for i in 0..60 {
        let body: String = (0..5)
            .map(|j| format!("aws_{j} = \"{}\"\n", fake_key()))
            .collect();
        repo.write(&format!("leaks/file_{i}.env"), body);
    }
    let log = repo.home().join("audit.jsonl");
    let runs_per_writer = 8;
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..runs_per_writer {
                    let out = repo.run(
                        &[
                            "scan",
                            "leaks",
                            "-j",
                            "1",
                            "--audit-log",
                            log.to_str().unwrap(),
                        ],
                        None,
                    );
                    assert_eq!(out.status.code(), Some(1));
                }
            });
        }
    });
    let lines = read_log(&log);
    assert_eq!(lines.len(), 2 * runs_per_writer * 2);
    let finished: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "scan.finished")
        .collect();
    assert_eq!(finished.len(), 2 * runs_per_writer);
    let findings = finished[0]["metadata"]["findings"].as_u64().unwrap();
    assert!(findings > 100, "{findings}");
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(
        size > 16 * 4096,
        "lines too short to test interleaving: {size}"
    );
}
