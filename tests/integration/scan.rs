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

#[test]
fn named_rule_in_a_user_pack_finds_inline_and_block_values() {
    let repo = TestRepo::git_init();
    repo.write(
        "pack.toml",
        "[[rule]]\nid = \"acme-signing-key\"\nprovider = \"Acme\"\ndescription = \"Acme signing key\"\ncategory = \"credential\"\nseverity = \"high\"\nnamed = { names = [\"acmecorp\"], value = '''[0-9a-f]{32}''' }\nexamples = [\"ACMECORP_SIGNING_KEY=5b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e\", \"acmecorp:\\n  signing_key: 5b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e\"]\ncounter_examples = [\"acmecorp_key_sha = 5b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e\"]\n",
    );
    // Inline, in a block below a sibling id of the same shape, and not under a digest key.
    repo.write(
        "app.yaml",
        "ACMECORP_SIGNING_KEY: 9f8e7d6c5b4a39281706f5e4d3c2b1a0\nacmecorp:\n  app_id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9\n  webhook_secret: \"c3d4e5f60718293a4b5c6d7e8f90a1b2\"\nacmecorp_key_sha256: 1234abcd5678ef901234abcd5678ef90\n",
    );
    let (code, doc) = repo.json(&["scan", "app.yaml", "--rules", "pack.toml", "--show-secrets"]);
    assert_eq!(code, 1);
    let mut named: Vec<(u64, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "acme-signing-key")
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["secret"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    named.sort();
    assert_eq!(
        named,
        vec![
            (1, "9f8e7d6c5b4a39281706f5e4d3c2b1a0".to_string()),
            (4, "c3d4e5f60718293a4b5c6d7e8f90a1b2".to_string())
        ]
    );
    let out = repo.run(&["rules", "test", "pack.toml"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_token_failing_its_checksum_is_not_reported() {
    let repo = TestRepo::dir();
    let body = "Q7vX2kLm9TzR4pWn8HcY3bJd6FsG1a";
    let good = format!("npm_{body}{}", base62_crc32(body.as_bytes()));
    let bad = format!("npm_{body}000000");
    repo.write(
        ".npmrc",
        format!("//registry.npmjs.org/:_authToken={good}\n"),
    );
    repo.write(
        "old.npmrc",
        format!("//registry.npmjs.org/:_authToken={bad}\n"),
    );
    let (code, doc) = repo.json(&["scan", ".npmrc", "old.npmrc"]);
    assert_eq!(code, 1);
    let found = findings(&doc);
    assert!(
        found.iter().any(|f| f.0 == "npm-token" && f.1 == ".npmrc"),
        "{found:?}"
    );
    assert!(!found.iter().any(|f| f.1 == "old.npmrc"), "{found:?}");
}

#[test]
fn rules_list_filters_and_the_catalogue_counts_providers() {
    let repo = TestRepo::dir();
    let out = repo.run(
        &[
            "rules",
            "list",
            "--domain",
            "cloud",
            "--category",
            "credential",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("aws-access-key-id ")),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("github-classic-token ")),
        "{text}"
    );
    let (_, list) = repo.json(&["rules", "list", "--provider", "github"]);
    let list = list.as_array().unwrap();
    assert!(!list.is_empty());
    assert!(list.iter().all(|r| r["provider"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("github")));
    let catalogue = repo.run(&["rules", "list", "--catalogue"], None);
    let catalogue = String::from_utf8_lossy(&catalogue.stdout);
    let (rules, providers) = catalogue
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            let rules: usize = words.next()?.parse().ok()?;
            (words.next()? == "rules" && words.next()? == "from")
                .then(|| Some((rules, words.next()?.parse::<usize>().ok()?)))
                .flatten()
        })
        .expect("the catalogue says how many rules and providers");
    assert!(
        rules >= 400 && providers >= 300,
        "{rules} rules, {providers} providers"
    );
}
