//! The SARIF, JUnit and GitHub Actions reports, checked for structure on real scans.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::*;

/// A directory with a high-severity finding (an AWS key) and a low one (a private address).
fn repo_with_findings() -> TestRepo {
    let repo = TestRepo::dir();
    repo.write(
        "app/settings.py",
        format!("DEBUG = True\naws_access_key_id = \"{}\"\n", fake_aws_key()),
    );
    repo.write("conf/hosts.env", "DB_HOST=10.24.61.8\n");
    repo
}

/// Runs `staunch args...` and returns (exit code, stdout, stderr).
fn report(repo: &TestRepo, args: &[&str]) -> (i32, String, String) {
    let out = repo.run(args, None);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sarif(repo: &TestRepo, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "sarif"]);
    let (code, stdout, stderr) = report(repo, &all);
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, doc)
}

#[test]
fn sarif_has_what_github_code_scanning_reads() {
    let repo = repo_with_findings();
    let (code, doc) = sarif(&repo, &["scan", "."]);
    assert_eq!(code, 1);
    assert!(doc["$schema"].as_str().unwrap().contains("sarif"));
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "staunch");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    // Only the rules with findings, each described.
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["aws-access-key-id", "private-ipv4"], "{doc}");
    for rule in rules {
        assert!(!rule["name"].as_str().unwrap().is_empty());
        assert!(!rule["shortDescription"]["text"]
            .as_str()
            .unwrap()
            .is_empty());
        assert!(!rule["fullDescription"]["text"].as_str().unwrap().is_empty());
        let severity: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&severity));
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert!(tags.iter().any(|t| t == "security"), "{rule}");
    }
    assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
    assert_eq!(rules[0]["properties"]["tags"][1], "credential");
    assert_eq!(rules[1]["defaultConfiguration"]["level"], "note");

    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let aws = &results[0];
    assert_eq!(aws["ruleId"], "aws-access-key-id");
    assert_eq!(aws["ruleIndex"], 0);
    assert_eq!(aws["level"], "error");
    let text = aws["message"]["text"].as_str().unwrap();
    assert!(text.contains("AKIA****"), "{text}");
    assert!(!text.contains(&fake_aws_key()), "secret leaked: {text}");
    let location = &aws["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "app/settings.py");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(location["region"]["startColumn"], 22);
    assert_eq!(location["region"]["endLine"], 2);
    let fingerprint = aws["partialFingerprints"]["staunch/v2"].as_str().unwrap();
    assert!(fingerprint.len() >= 16);
    assert!(aws.get("properties").is_none(), "no commit on a file scan");
    assert_eq!(results[1]["ruleIndex"], 1);
    assert_eq!(results[1]["level"], "note");

    // Asked for, the secret is shown.
    let (_, shown) = sarif(&repo, &["scan", ".", "--show-secrets"]);
    let text = shown["runs"][0]["results"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains(&fake_aws_key()), "{text}");
}

#[test]
fn sarif_of_a_clean_scan_has_an_empty_run() {
    let repo = TestRepo::dir();
    repo.write("a.txt", "nothing here\n");
    let (code, doc) = sarif(&repo, &["scan"]);
    assert_eq!(code, 0);
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        doc["runs"][0]["tool"]["driver"]["rules"],
        serde_json::json!([])
    );
}

#[test]
fn sarif_names_the_commit_of_a_history_finding() {
    let repo = TestRepo::git_init();
    repo.commit_file("README.md", "hello\n", "first");
    let commit = repo.commit_file(
        "keys.env",
        format!("AWS_ACCESS_KEY_ID={}\n", fake_aws_key()),
        "second",
    );
    let (code, doc) = sarif(&repo, &["scan", "--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1, "{doc}");
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["properties"]["commit"], commit.as_str());
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "keys.env"
    );
}

/// Validates against the OASIS schema with Python's `jsonschema`. CI machines may lack it: the
/// test then says so loudly and passes; the structural test above always runs.
#[test]
fn sarif_validates_against_the_oasis_schema() {
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    if !schema.exists() {
        eprintln!(
            "SKIPPED sarif_validates_against_the_oasis_schema: no schema at {}",
            schema.display()
        );
        return;
    }
    let has_jsonschema = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_jsonschema {
        eprintln!(
            "SKIPPED sarif_validates_against_the_oasis_schema: python3 with jsonschema is not \
             installed (pip install jsonschema)"
        );
        return;
    }
    let repo = repo_with_findings();
    // Also a name that needs URI encoding.
    repo.write("odd dir/a#b.env", format!("KEY={}\n", fake_aws_key()));
    let report = repo.path().join("report.sarif");
    let out = repo.run(
        &["scan", ".", "--format", "sarif", "--output", "report.sarif"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
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
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SARIF does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn junit_has_one_failed_case_per_finding() {
    let repo = repo_with_findings();
    let (code, xml, _) = report(&repo, &["scan", ".", "--format", "junit"]);
    assert_eq!(code, 1);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
    assert!(
        xml.contains(r#"<testsuite name="staunch" tests="2" failures="2""#),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(
        xml.contains(r#"<testcase classname="app/settings.py" name="aws-access-key-id at line 2""#),
        "{xml}"
    );
    assert!(xml.contains("AKIA****"), "{xml}");
    assert!(!xml.contains(&fake_aws_key()), "secret leaked: {xml}");
    assert_well_formed(&xml);
}

#[test]
fn junit_escapes_and_shows_a_clean_run() {
    let repo = TestRepo::dir();
    repo.write("we&ird <\"name\">.env", format!("KEY={}\n", fake_aws_key()));
    let (_, xml, _) = report(&repo, &["scan", ".", "--format", "junit"]);
    assert!(
        xml.contains(r#"classname="we&amp;ird &lt;&quot;name&quot;&gt;.env""#),
        "{xml}"
    );
    assert_well_formed(&xml);

    let clean = TestRepo::dir();
    clean.write("a.txt", "nothing\n");
    let (code, xml, _) = report(&clean, &["scan", "--format", "junit"]);
    assert_eq!(code, 0);
    assert_eq!(xml.matches("<testcase ").count(), 1, "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(xml.contains(r#"tests="1" failures="0""#), "{xml}");
    assert_well_formed(&xml);
}

/// Parses with Python's standard XML parser when python3 is there (say so when it is not).
fn assert_well_formed(xml: &str) {
    let Ok(mut child) = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.buffer.read())",
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIPPED XML well-formedness check: python3 is not installed");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not well-formed XML: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn github_annotations_per_finding_with_escaped_properties() {
    let repo = repo_with_findings();
    repo.write("odd,na:me%.env", format!("KEY={}\n", fake_aws_key()));
    let (code, text, _) = report(&repo, &["scan", ".", "--format", "github"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"::error file=app/settings.py,line=2,col=22,endLine=2,title=aws-access-key-id::AWS access key ID (AKIA long-term, ASIA temporary, ABIA/ACCA service variants) (secret AKIA****)"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::notice file=conf/hosts.env,line=1,")
                && l.contains("title=private-ipv4::")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error file=odd%2Cna%3Ame%25.env,line=1,")),
        "{text}"
    );
    assert!(!text.contains(&fake_aws_key()), "secret leaked: {text}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("::")).count(), 3);
}

#[test]
fn findings_the_policy_does_not_block_fail_nothing() {
    let repo = repo_with_findings();
    repo.write(".staunch.toml", "[policy]\nblock = [\"high\"]\n");
    let (_, xml, _) = report(&repo, &["scan", ".", "--format", "junit"]);
    assert!(
        xml.contains(r#"tests="2" failures="1" errors="0" skipped="1""#),
        "{xml}"
    );
    assert_eq!(xml.matches("<skipped ").count(), 1, "{xml}");
    assert_well_formed(&xml);
    let (_, doc) = sarif(&repo, &["scan", "."]);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(results[0].get("properties").is_none(), "{doc}");
    assert_eq!(results[1]["properties"]["blocks"], false);
    let (_, text, _) = report(&repo, &["scan", ".", "--format", "github"]);
    assert!(text.contains("::error file=app/settings.py"), "{text}");
    assert!(text.contains("::notice file=conf/hosts.env"), "{text}");
}
