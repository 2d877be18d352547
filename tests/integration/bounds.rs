//! Bounds whatever the findings (caps per file and per run, streamed reports) and fingerprints
//! that do not give a weak secret away (scheme 2, and migrating scheme-1 baselines).

use sha2::{Digest, Sha256};

use crate::util::*;

/// `count` private addresses, one per line: low severity, matched by a built-in rule.
fn addresses(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "host = 10.{}.{}.{}\n",
                20 + i / 62_500 % 200,
                1 + i / 250 % 250,
                1 + i % 250
            )
        })
        .collect()
}

fn dropped(doc: &serde_json::Value) -> u64 {
    doc["stats"]["dropped"]["findings"].as_u64().unwrap()
}

#[test]
fn findings_over_the_per_file_cap_are_counted_named_and_keep_the_blocking_ones() {
    let repo = TestRepo::dir();
    repo.write(
        ".staunch.toml",
        "[scan]\nmax_findings_per_file = 100\n[policy]\nblock = [\"high\"]\n",
    );
    // The key comes last: a cap that kept findings in file order would drop it.
    let text = addresses(3000) + &format!("aws_access_key_id = {}\n", fake_aws_key());
    repo.write("hosts.txt", &text);
    let (code, doc) = repo.json(&["scan", "hosts.txt"]);
    let found = doc["findings"].as_array().unwrap();
    assert_eq!(found.len(), 100, "{}", doc["stats"]);
    assert!(
        found.iter().any(|f| f["rule_id"] == "aws-access-key-id"),
        "the blocking finding is kept"
    );
    assert_eq!(dropped(&doc), 2901);
    assert_eq!(code, 1);
    let out = repo.run(&["scan", "hosts.txt"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hosts.txt: 2901 more finding(s)"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(and about 2901 more over the caps)"),
        "{stdout}"
    );
}

#[test]
fn findings_dropped_by_a_cap_still_decide_the_verdict() {
    let repo = TestRepo::dir();
    // Nothing but private addresses in the report, yet one dropped finding blocks.
    repo.write(
        ".staunch.toml",
        "[scan]\nmax_findings = 3\n[policy]\nblock = [\"high\"]\n",
    );
    repo.write("a.txt", addresses(2));
    repo.write("b.txt", addresses(2));
    repo.write("c.txt", format!("aws_access_key_id = {}\n", fake_aws_key()));
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 3);
    assert_eq!(dropped(&doc), 2);
    assert_eq!(code, 1, "the dropped or kept key blocks: {doc}");
    // Without the key the same caps let the run pass.
    std::fs::remove_file(repo.path().join("c.txt")).unwrap();
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!((code, dropped(&doc)), (0, 1), "{doc}");
}

#[test]
fn a_rule_pack_that_matches_everything_stays_bounded_and_its_report_is_valid() {
    let repo = TestRepo::git_init();
    repo.write(
        "evil.toml",
        "[[rule]]\nid = \"everything\"\ndescription = \"matches every line\"\ncategory = \"credential\"\nseverity = \"high\"\nkeywords = [\"q\"]\nregex = '''(q[A-Za-z0-9]+)'''\nexamples = [\"qAbc123Xyz\"]\n",
    );
    repo.write(".staunch.toml", "[rules]\npacks = [\"evil.toml\"]\n");
    let mut data = String::new();
    for i in 0..30_000u64 {
        // Varied letters and digits, so no placeholder or stand-in filter drops them.
        let v = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        data.push_str(&format!("q{v:x}Zk{}\n", i % 97));
    }
    repo.write("data.txt", &data);
    let (code, doc) = repo.json(&["scan", "data.txt"]);
    assert_eq!(code, 1);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1000);
    assert!(dropped(&doc) >= 29_000, "{}", doc["stats"]);
    let out = repo.run(&["scan", "--format", "sarif", "data.txt"], None);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1000);
}

/// Scheme 1: what a dictionary attack on a published fingerprint would compute per guess.
fn fast_fingerprint(rule: &str, path: &str, secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(rule)
        .chain_update([0])
        .chain_update(path)
        .chain_update([0])
        .chain_update(secret)
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

const WEAK: &str = "Tr0ub4dor&3x";

fn weak_password_repo() -> TestRepo {
    let repo = TestRepo::git_init();
    repo.commit_file("app.env", format!("DB_PASSWORD={WEAK}\n"), "config");
    repo
}

#[test]
fn a_weak_password_is_not_recovered_from_its_fingerprint_with_a_fast_hash() {
    let repo = weak_password_repo();
    let (_, doc) = repo.json(&["scan", "app.env"]);
    let f = &doc["findings"][0];
    let (rule, fingerprint) = (
        f["rule_id"].as_str().unwrap(),
        f["fingerprint"].as_str().unwrap(),
    );
    assert_eq!(fingerprint.len(), 32);
    // The guess is right, yet a fast hash of it does not reproduce the fingerprint.
    assert_ne!(fingerprint, fast_fingerprint(rule, "app.env", WEAK));
    let (_, again) = repo.json(&["scan", "app.env"]);
    assert_eq!(
        again["findings"][0]["fingerprint"], f["fingerprint"],
        "stable"
    );
}

#[test]
fn a_scheme_1_baseline_still_allows_and_migrates_to_scheme_2() {
    let repo = weak_password_repo();
    let (_, doc) = repo.json(&["scan", "app.env"]);
    let rule = doc["findings"][0]["rule_id"].as_str().unwrap().to_string();
    let old = serde_json::json!({
        "version": 1,
        "findings": [
            {"fingerprint": fast_fingerprint(&rule, "app.env", WEAK), "rule_id": rule, "path": "app.env"},
            {"fingerprint": fast_fingerprint(&rule, "gone.env", "x"), "rule_id": rule, "path": "gone.env"},
        ],
    });
    repo.write(".staunch-baseline.json", old.to_string());
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");

    let out = repo.run(&["scan", "app.env"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("staunch baseline migrate"), "{stderr}");

    let out = repo.run(&["baseline", "migrate"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("gone.env"),
        "the stale entry is named: {stderr}"
    );
    let text = std::fs::read_to_string(repo.path().join(".staunch-baseline.json")).unwrap();
    let new: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(new["version"], 2);
    let entries = new["findings"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["fingerprint"], doc["findings"][0]["fingerprint"]);

    let out = repo.run(&["scan", "app.env"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("migrate"), "{stderr}");
}
