//! `staunch scan PATH` and `scan --stdin` on plain temporary directories.

use crate::util::*;

#[test]
fn finds_a_key_with_path_line_and_redaction() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    repo.write(
        "app/settings.py",
        format!("DEBUG = True\naws_access_key_id = \"{key}\"\n"),
    );
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1);
    let found = findings(&doc);
    assert_eq!(
        found,
        vec![(
            "aws-access-key-id".to_string(),
            "app/settings.py".to_string(),
            2
        )]
    );
    let f = &doc["findings"][0];
    assert_eq!(f["column"], 22);
    assert_eq!(f["end_line"], 2);
    assert_eq!(f["commit"], serde_json::Value::Null);
    assert_eq!(f["secret"], "AKIA****");
    assert!(f["fingerprint"].as_str().unwrap().len() >= 16);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["stats"]["files"], 1);
}

#[test]
fn clean_tree_exits_zero() {
    let repo = TestRepo::dir();
    repo.write(
        "README.md",
        "nothing to see\npassword = os.environ[\"DB_PASSWORD\"]\n",
    );
    let (code, doc) = repo.json(&["scan"]);
    assert_eq!(code, 0, "{doc}");
    assert!(findings(&doc).is_empty());
}

#[test]
fn show_secrets_prints_the_secret_only_when_asked() {
    let repo = TestRepo::dir();
    let token = fake_github_token();
    repo.write("a.env", format!("GITHUB_TOKEN={token}\n"));
    let out = repo.run(&["scan", "a.env", "--color", "never"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("a.env:1:14"), "{text}");
    assert!(text.contains("github-classic-token"), "{text}");
    assert!(!text.contains(&token), "secret leaked: {text}");
    let out = repo.run(
        &["scan", "a.env", "--show-secrets", "--format", "json"],
        None,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&token));
}

#[test]
fn respects_gitignore_skips_binary_and_large_files() {
    let repo = TestRepo::git_init();
    let key = fake_aws_key();
    repo.write(".gitignore", "ignored/\n");
    repo.write("ignored/x.txt", format!("k = {key}\n"));
    repo.write("bin.dat", [b"\0\0\0".as_slice(), key.as_bytes()].concat());
    repo.write("big.txt", format!("{}\nk = {key}\n", "a".repeat(2048)));
    let (code, doc) = repo.json(&["scan", ".", "--max-file-size", "1024"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["skipped"], 2);
}

#[test]
fn output_file_receives_the_report() {
    let repo = TestRepo::dir();
    repo.write("k.txt", format!("key: {}\n", fake_aws_key()));
    let out = repo.run(
        &[
            "scan",
            "k.txt",
            "--format",
            "json",
            "--output",
            "report.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(findings(&doc).len(), 1);
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let repo = TestRepo::dir();
    let out = repo.run(&["scan", "no-such-dir"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir"));
}

#[test]
fn bad_rule_pack_names_file_and_line() {
    let repo = TestRepo::dir();
    repo.write("pack.toml", "[[rule]]\nid = \"x\"\nnot toml at all\n");
    let out = repo.run(&["scan", ".", "--rules", "pack.toml"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pack.toml:3"), "{err}");
}

#[test]
fn user_rule_pack_adds_a_rule() {
    let repo = TestRepo::dir();
    repo.write(
        "pack.toml",
        "[[rule]]\nid = \"acme-token\"\ndescription = \"ACME internal token\"\ncategory = \"credential\"\nseverity = \"high\"\nkeywords = [\"acme_\"]\nregex = '''\\b(acme_[a-z0-9]{12})\\b'''\nexamples = [\"t = acme_a1b2c3d4e5f6\", \"acme_z9y8x7w6v5u4\"]\ncounter_examples = [\"acme_short\"]\n",
    );
    repo.write("x.txt", "token acme_q1w2e3r4t5y6 here\n");
    let (code, doc) = repo.json(&["scan", "x.txt", "--rules", "pack.toml"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc)[0].0, "acme-token");
    let out = repo.run(&["rules", "test", "pack.toml"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn builtin_rules_pass_their_own_examples() {
    let repo = TestRepo::dir();
    let out = repo.run(&["rules", "test"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = repo.run(&["rules", "list"], None);
    let text = String::from_utf8_lossy(&list.stdout);
    for category in [
        "credential",
        "connection-string",
        "private-ip",
        "internal-url",
    ] {
        assert!(
            text.contains(category),
            "{category} missing from rules list"
        );
    }
}

#[test]
fn stdin_is_scanned_as_the_named_path() {
    let repo = TestRepo::dir();
    let input = format!("x = 1\nsecret_key = \"{}\"\n", fake_aws_key());
    let out = repo.run(
        &[
            "scan",
            "--stdin",
            "--path",
            "src/config.py",
            "--format",
            "json",
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "src/config.py".into(), 2)]
    );
}

#[test]
fn base64_hidden_secret_is_reported_at_the_encoded_line() {
    use std::fmt::Write as _;
    let repo = TestRepo::dir();
    // base64 of "aws_key=<fake key>", computed here
    let plain = format!("aws_key={}", fake_aws_key());
    let encoded = base64_encode(plain.as_bytes());
    let mut text = String::new();
    writeln!(text, "apiVersion: v1\ndata:\n  creds: {encoded}").unwrap();
    repo.write("secret.yaml", text);
    let (code, doc) = repo.json(&["scan", "secret.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(doc["findings"][0]["line"], 3);
    assert_eq!(doc["findings"][0]["decoded"][0], "base64");
}

#[test]
fn odd_input_does_not_panic() {
    let repo = TestRepo::dir();
    let mut long_line = vec![b'x'; 20 * 1024 * 1024];
    long_line.extend_from_slice(format!(" {} ", fake_aws_key()).as_bytes());
    repo.write("long.txt", &long_line);
    repo.write("latin1.txt", b"caf\xe9 password = \"Gr\xfcn-42-Tree\"\n");
    let (code, doc) = repo.json(&["scan", ".", "--max-file-size", "100000000"]);
    assert_eq!(code, 1, "{doc}");
    assert!(findings(&doc).iter().any(|f| f.1.ends_with("long.txt")));
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
