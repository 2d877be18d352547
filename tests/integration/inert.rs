//! Output is inert: a file name chosen by the author of a change (an ESC sequence, a line break
//! followed by a GitHub workflow command) is printed so that it cannot drive the terminal or
//! the CI log, in every report format.

use serde_json::Value;

use crate::util::*;

/// A name that, printed raw, clears the screen and starts a `::error::` workflow command line.
const HOSTILE: &str = "evil\n::error::pwned\x1b[2J\r.env";

/// A git repository with a staged file of that name holding a (fake) GitHub token.
fn hostile_repo() -> TestRepo {
    let repo = TestRepo::git_init();
    repo.write(HOSTILE, format!("TOKEN={}\n", fake_github_token()));
    repo.add(HOSTILE);
    repo
}

fn run(repo: &TestRepo, format: &str) -> (i32, String) {
    let out = repo.run(&["scan", ".", "--format", format], None);
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 report");
    (out.status.code().unwrap_or(-1), stdout)
}

#[test]
fn human_report_escapes_control_characters_in_file_names() {
    let repo = hostile_repo();
    let (code, stdout) = run(&repo, "human");
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains('\x1b'), "raw ESC in {stdout:?}");
    assert!(!stdout.contains('\r'), "raw CR in {stdout:?}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("::")),
        "a line reads as a workflow command: {stdout:?}"
    );
    assert!(
        stdout.contains(r"evil\n::error::pwned\x1b[2J\r.env:1:"),
        "the name is shown escaped: {stdout}"
    );
}

#[test]
fn github_report_keeps_the_name_inside_its_own_annotation() {
    let repo = hostile_repo();
    let (code, stdout) = run(&repo, "github");
    assert_eq!(code, 1, "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("::error::pwned")),
        "{stdout:?}"
    );
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{stdout:?}");
    assert!(
        annotations[0].starts_with("::error file=evil%0A%3A%3Aerror%3A%3Apwned"),
        "{stdout:?}"
    );
    assert!(!stdout.contains('\r'), "{stdout:?}");
}

#[test]
fn json_report_round_trips_the_name() {
    let repo = hostile_repo();
    let (code, stdout) = run(&repo, "json");
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains('\x1b') && !stdout.contains('\r'));
    let doc: Value = serde_json::from_str(&stdout).expect("JSON");
    let paths: Vec<String> = findings(&doc).into_iter().map(|(_, p, _)| p).collect();
    assert!(
        paths.iter().any(|p| p.trim_start_matches("./") == HOSTILE),
        "{paths:?}"
    );
}

#[test]
fn sarif_report_parses_and_encodes_the_name() {
    let repo = hostile_repo();
    let (code, stdout) = run(&repo, "sarif");
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains('\x1b') && !stdout.contains('\r'));
    let doc: Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap();
    assert_eq!(uri, "evil%0A%3A%3Aerror%3A%3Apwned%1B%5B2J%0D.env");
}

#[test]
fn junit_report_holds_no_raw_control_characters() {
    let repo = hostile_repo();
    let (code, stdout) = run(&repo, "junit");
    assert_eq!(code, 1, "{stdout}");
    let raw = stdout
        .chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect::<Vec<_>>();
    assert!(raw.is_empty(), "raw controls {raw:?} in {stdout:?}");
    assert!(!stdout.lines().any(|l| l.starts_with("::")), "{stdout:?}");
    assert!(stdout.contains("evil&#10;::error::pwned"), "{stdout}");
}
