//! What a change can do to its own scan: in `scan --range A..B` every allow mechanism comes from
//! the base commit A, and inline markers the range adds are reported, not honoured. And a
//! baseline only records what the repository really tracks.

use std::path::Path;
use std::process::Command;

use crate::util::*;

fn allowed_by(doc: &serde_json::Value, key: &str) -> u64 {
    doc["stats"]["allowed_by"][key].as_u64().unwrap()
}

fn range(base: &str) -> String {
    format!("{base}..HEAD")
}

#[test]
fn a_range_cannot_allow_its_own_secret_with_an_ignore_file_or_a_baseline() {
    let repo = TestRepo::git_init();
    repo.write("README.md", "hi\n");
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");
    repo.write(
        ".staunch-baseline.json",
        "{\"version\": 1, \"findings\": []}\n",
    );
    repo.add(".");
    let base = repo.commit("base");
    let leak = format!("x=1\nAWS={}\n", fake_aws_key());

    // A pull request adds a secret and a `.gitleaksignore` line for it.
    repo.git(&["checkout", "-q", "-b", "pr-ignore"]);
    repo.write("deploy/app.env", &leak);
    repo.write(".gitleaksignore", "deploy/app.env:aws-access-token:2\n");
    repo.add(".");
    repo.commit("add a deploy config");
    let (code, doc) = repo.json(&["scan", "--range", &range(&base)]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "deploy/app.env".into(), 2)]
    );

    // Another adds a secret and its fingerprint to the baseline.
    repo.git(&["checkout", "-q", "-b", "pr-baseline", &base]);
    repo.write("deploy/app.env", &leak);
    repo.add(".");
    let out = repo.run(&["baseline", "create"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    repo.add(".");
    repo.commit("add a deploy config");
    // The work tree's baseline does silence it, so what follows shows where it is read from.
    let (code, doc) = repo.json(&["scan", "deploy/app.env"]);
    assert_eq!((code, allowed_by(&doc, "baseline")), (0, 1), "{doc}");
    let (code, doc) = repo.json(&["scan", "--range", &range(&base)]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "deploy/app.env".into(), 2)]
    );
}

/// A repository whose base commit allows three findings the next commit adds, each by another
/// mechanism: its `.gitleaksignore`, its baseline and an `[[allow]]` entry.
fn repo_with_trusted_allows() -> (TestRepo, String) {
    let repo = TestRepo::git_init();
    repo.write("legacy.env", "DB_PASSWORD=Old-Pass-1-Lantern\n");
    repo.write(
        ".staunch.toml",
        "baseline = \".staunch-baseline.json\"\n[[allow]]\ndescription = \"fixtures\"\npaths = [\"fixtures/**\"]\n",
    );
    repo.write(".gitleaksignore", "deploy/app.env:aws-access-token:1\n");
    repo.add(".");
    let out = repo.run(&["baseline", "create"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    repo.add(".");
    let base = repo.commit("base");
    repo.write("deploy/app.env", format!("AWS={}\n", fake_aws_key()));
    repo.write("fixtures/sample.env", format!("AWS={}\n", fake_aws_key()));
    repo.write("legacy.env", "export DB_PASSWORD=Old-Pass-1-Lantern\n");
    repo.add(".");
    repo.commit("pr");
    (repo, base)
}

#[test]
fn allows_from_the_base_commit_are_named_and_emitted_as_sarif_suppressions() {
    let (repo, base) = repo_with_trusted_allows();
    let (code, doc) = repo.json(&["scan", "--range", &range(&base)]);
    assert_eq!(code, 0, "{doc}");
    assert!(findings(&doc).is_empty(), "{doc}");
    assert_eq!(doc["stats"]["allowed"], 3, "{doc}");
    assert_eq!(allowed_by(&doc, "config"), 1);
    // `baseline` counts both files, as it always has; `gitleaksignore` says how many of those.
    assert_eq!(allowed_by(&doc, "baseline"), 2);
    assert_eq!(allowed_by(&doc, "gitleaksignore"), 1);

    // The human summary names each mechanism.
    let out = repo.run(&["scan", "--range", &range(&base)], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3 allowed (1 by baseline, 1 by .gitleaksignore, 1 by [[allow]]"),
        "{text}"
    );
    assert!(!text.contains("allowed inline"), "{text}");

    // SARIF shows them as suppressed results, saying by what.
    let out = repo.run(
        &["scan", "--range", &range(&base), "--format", "sarif"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let mut seen: Vec<(String, String, String)> = results
        .iter()
        .map(|r| {
            let suppression = &r["suppressions"][0];
            (
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                suppression["kind"].as_str().unwrap().to_string(),
                suppression["justification"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 3, "{sarif}");
    assert_eq!(seen[0].0, "deploy/app.env");
    assert!(seen[0].2.contains(".gitleaksignore"), "{seen:?}");
    assert_eq!(seen[1].0, "fixtures/sample.env");
    assert!(
        seen[1].2.contains("[[allow]]") && seen[1].2.contains(".staunch.toml"),
        "{seen:?}"
    );
    assert_eq!(seen[2].0, "legacy.env");
    assert!(seen[2].2.contains("baseline"), "{seen:?}");
    assert!(seen.iter().all(|s| s.1 == "external"), "{seen:?}");
    // Each names the commit the allow was read from.
    assert!(seen.iter().all(|s| s.2.contains(&base[..12])), "{seen:?}");
    validate_sarif(&repo, &out.stdout);
}

#[test]
fn inline_markers_a_range_adds_are_reported_unless_the_base_config_trusts_them() {
    let repo = TestRepo::git_init();
    repo.write("README.md", "hi\n");
    repo.add(".");
    let base = repo.commit("base");
    repo.write(
        "app.env",
        format!(
            "AWS={} # staunch:allow\nGH={}  # gitleaks:allow\n",
            fake_aws_key(),
            fake_github_token()
        ),
    );
    // The change's own config cannot switch the policy on.
    repo.write(
        ".staunch.toml",
        "[policy]\nhonour_inline_allows_in_range = true\n",
    );
    repo.add(".");
    repo.commit("pr");
    let (code, doc) = repo.json(&["scan", "--range", &range(&base)]);
    assert_eq!(code, 1, "{doc}");
    let marked: Vec<(u64, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["allowed_by_change"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(marked, vec![(1, "staunch:allow"), (2, "gitleaks:allow")]);
    assert_eq!(doc["stats"]["allowed"], 0);
    let out = repo.run(&["scan", "--range", &range(&base)], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("allowed by the change itself").count(),
        2 + 1, // each finding, and the summary
        "{text}"
    );
    // SARIF keeps them as open results: no suppression, the marker named.
    let out = repo.run(
        &["scan", "--range", &range(&base), "--format", "sarif"],
        None,
    );
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for result in sarif["runs"][0]["results"].as_array().unwrap() {
        assert!(result.get("suppressions").is_none(), "{result}");
        assert!(
            result["message"]["text"]
                .as_str()
                .unwrap()
                .contains("allowed by the change itself"),
            "{result}"
        );
    }

    // Once the base commit's config trusts them, they are honoured and counted.
    let trusted = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.write(
        "more.env",
        format!("AWS2={} # staunch:allow\n", fake_aws_key()),
    );
    repo.add(".");
    repo.commit("pr 2");
    let (code, doc) = repo.json(&["scan", "--range", &range(&trusted)]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(allowed_by(&doc, "inline"), 1);

    // Outside range scans nothing changes: a marker silences its line, shown as in-source.
    let (code, doc) = repo.json(&["scan", "app.env"]);
    assert_eq!((code, allowed_by(&doc, "inline")), (0, 2), "{doc}");
    let out = repo.run(&["scan", "app.env", "--format", "sarif"], None);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{sarif}");
    for result in results {
        assert_eq!(result["suppressions"][0]["kind"], "inSource", "{result}");
    }
    validate_sarif(&repo, &out.stdout);
    let out = repo.run(&["scan", "app.env"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 allowed (2 inline)"));
}

#[test]
fn baseline_create_in_a_repository_records_only_tracked_content() {
    let repo = TestRepo::git_init();
    repo.write("legacy.env", "DB_PASSWORD=Old-Pass-1-Lantern\n");
    repo.write("sub/old.env", "DB_PASSWORD=Old-Pass-2-Lantern\n");
    repo.write(".gitignore", "*.log\n");
    repo.add(".");
    repo.commit("legacy");
    // Untracked and ignored files with secrets, and a tracked file changed but not staged.
    repo.write("deploy/app.env", format!("AWS={}\n", fake_aws_key()));
    repo.write("debug.log", format!("GH={}\n", fake_github_token()));
    repo.write(
        "sub/old.env",
        format!("DB_PASSWORD=Old-Pass-2-Lantern\nAWS={}\n", fake_aws_key()),
    );
    let out = repo.run(&["baseline", "create"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recorded = |file: &str| -> Vec<(String, String)> {
        let text = std::fs::read_to_string(repo.path().join(file)).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_string(),
                    e["rule_id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let generic = |path: &str| (path.to_string(), "generic-password".to_string());
    assert_eq!(
        recorded(".staunch-baseline.json"),
        vec![generic("legacy.env"), generic("sub/old.env")]
    );
    // PATHs narrow it to tracked files under them.
    let out = repo.run(&["baseline", "create", "sub", "--output", "sub.json"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(recorded("sub.json"), vec![generic("sub/old.env")]);

    // Staging the untracked file later does not make it "already there".
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");
    repo.add("deploy/app.env");
    let out = repo.run(&["hook", "pre-commit", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "deploy/app.env".into(), 1)]
    );

    // Outside a repository the directory is scanned, as before.
    let plain = TestRepo::dir();
    plain.write("a.env", format!("AWS={}\n", fake_aws_key()));
    let out = plain.run(&["baseline", "create"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(plain.path().join(".staunch-baseline.json")).unwrap();
    assert!(text.contains("\"a.env\""), "{text}");
}

/// Validates a SARIF report against the OASIS schema with Python's `jsonschema`, when both are
/// there (as `reports::sarif_validates_against_the_oasis_schema` does; it says so when not).
fn validate_sarif(repo: &TestRepo, report: &[u8]) {
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    let has_jsonschema = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !schema.exists() || !has_jsonschema {
        eprintln!("SKIPPED SARIF schema validation: no schema or no python3 jsonschema");
        return;
    }
    let file = repo.path().join("report.sarif");
    std::fs::write(&file, report).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        doc = json.load(open(sys.argv[2]))\n\
        cls = jsonschema.validators.validator_for(schema)\n\
        errors = sorted(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(doc), key=str)\n\
        for e in errors: print(list(e.absolute_path), e.message)\n\
        sys.exit(1 if errors else 0)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(
        out.status.success(),
        "SARIF does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_three_dot_range_reads_the_allow_state_from_the_merge_base() {
    let repo = TestRepo::git_init();
    repo.write("README.md", "hi\n");
    repo.add(".");
    let fork = repo.commit("base");
    // The pull request branches off here and adds a secret.
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo.write("deploy/app.env", format!("AWS={}\n", fake_aws_key()));
    repo.add(".");
    repo.commit("add a deploy config");
    // Meanwhile main gains an allow entry for that path.
    repo.git(&["checkout", "-q", "main"]);
    repo.write(
        ".staunch.toml",
        "[[allow]]\ndescription = \"deploy\"\npaths = [\"deploy/**\"]\n",
    );
    repo.add(".");
    repo.commit("allow deploy");
    repo.git(&["checkout", "-q", "pr"]);

    // Two dots read main's newer config; three dots what the branch started from.
    let (code, doc) = repo.json(&["scan", "--range", "main..pr"]);
    assert_eq!((code, allowed_by(&doc, "config")), (0, 1), "{doc}");
    let (code, doc) = repo.json(&["scan", "--range", "main...pr"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "deploy/app.env".into(), 1)]
    );
    // The same commits either way, and the merge base is the fork point.
    let (_, doc) = repo.json(&["scan", "--range", &format!("{fork}...pr")]);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{doc}");
    let out = repo.run(&["scan", "--range", "main....pr"], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
