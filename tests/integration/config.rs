//! Configuration, allow entries, baselines and gitleaks compatibility.

use crate::util::*;

fn fixture(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn stats(doc: &serde_json::Value, key: &str) -> u64 {
    doc["stats"]["allowed_by"][key].as_u64().unwrap()
}

#[test]
fn allow_entries_silence_and_are_counted() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    repo.write("tests/fixture.py", format!("k = \"{key}\"\n"));
    repo.write(
        "src/app.py",
        format!("k = \"{key}\"\npassword = \"Kestrel-Lamp-58\"\n"),
    );
    repo.write(
        ".staunch.toml",
        "[[allow]]\ndescription = \"test fixtures\"\npaths = [\"tests/**\"]\n\n[[allow]]\nrules = [\"generic-password\"]\nregexes = ['^Kestrel']\n",
    );
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "src/app.py".into(), 1)]
    );
    assert_eq!(stats(&doc, "config"), 2);
    assert_eq!(doc["stats"]["allowed"], 2);
}

#[test]
fn line_regex_and_stopword_allow_entries() {
    let repo = TestRepo::dir();
    repo.write(
        "a.py",
        format!(
            "k = \"{}\"  # rotated-2024\nsecret_key = \"Zq4Lm8Xv2Nc7Rb3Tw9Hy\"\n",
            fake_aws_key()
        ),
    );
    repo.write(".staunch.toml", "[[allow]]\nregexes = ['rotated-\\d+']\nregex_target = \"line\"\n\n[[allow]]\nstopwords = [\"zq4lm\"]\n");
    let (code, doc) = repo.json(&["scan", "a.py"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(stats(&doc, "config"), 2);
}

#[test]
fn rules_disable_only_and_extra_packs() {
    let repo = TestRepo::dir();
    repo.write(
        "a.txt",
        format!("k = {}\nhost = 10.44.61.209\n", fake_aws_key()),
    );
    repo.write(
        ".staunch.toml",
        "[rules]\ndisable = [\"aws-access-key-id\"]\n",
    );
    let (_, doc) = repo.json(&["scan", "a.txt"]);
    assert_eq!(
        findings(&doc)
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>(),
        vec!["private-ipv4"]
    );
    repo.write(".staunch.toml", "[rules]\nonly = [\"aws-access-key-id\"]\n");
    let (_, doc) = repo.json(&["scan", "a.txt"]);
    assert_eq!(
        findings(&doc)
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>(),
        vec!["aws-access-key-id"]
    );
}

#[test]
fn policy_decides_what_blocks() {
    let repo = TestRepo::dir();
    repo.write("net.yml", "upstream: http://10.44.61.209:8080/\n");
    repo.write(
        ".staunch.toml",
        "[policy]\nblock = [\"high\", \"medium\"]\n",
    );
    let (code, doc) = repo.json(&["scan", "net.yml"]);
    assert_eq!(code, 0, "low severity only warns");
    assert_eq!(doc["findings"][0]["blocks"], false);
    assert!(!findings(&doc).is_empty(), "the warning is still reported");
}

#[test]
fn internal_domains_and_scan_limits() {
    let repo = TestRepo::dir();
    repo.write("a.md", "see https://build.acme-infra.io/job/1\n");
    repo.write(
        "big.txt",
        format!("{}\nk = {}\n", "x".repeat(300), fake_aws_key()),
    );
    let (_, doc) = repo.json(&["scan", "a.md"]);
    assert!(findings(&doc).is_empty());
    repo.write(
        ".staunch.toml",
        "internal_domains = [\"acme-infra.io\"]\n[scan]\nmax_file_size = 200\ndecode_depth = 0\n",
    );
    let (_, doc) = repo.json(&["scan", "."]);
    assert_eq!(
        findings(&doc)
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>(),
        vec!["internal-url"]
    );
    assert_eq!(doc["stats"]["skipped"], 1);
}

#[test]
fn inline_markers_and_the_switch_for_foreign_ones() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    repo.write("a.py", format!("a = \"{key}\"  # staunch:allow\nb = \"{key}\"  # gitleaks:allow\nc = \"{key}\"  # pragma: allowlist secret\n"));
    let (code, doc) = repo.json(&["scan", "a.py"]);
    assert_eq!(code, 0);
    assert_eq!(stats(&doc, "inline"), 3);
    repo.write(".staunch.toml", "[policy]\nforeign_allow_markers = false\n");
    let (code, doc) = repo.json(&["scan", "a.py"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc).len(), 2);
}

#[test]
fn malformed_configs_are_errors_naming_what_is_wrong() {
    let cases = [
        (
            "[scan]\nmax_file_size = 10\nmax_fiel_size = 2\n",
            ".staunch.toml:3",
        ),
        ("[scan]\nmax_file_size = \"big\"\n", ".staunch.toml:2"),
        ("[[allow]]\npaths = [\"[unclosed\"]\n", "glob"),
        ("[[allow]]\nregexes = [\"(\"]\n", "allow regex"),
        ("[[allow]]\ndescription = \"nothing\"\n", "at least one"),
        ("[rules]\ndisable = [\"no-such-rule\"]\n", "no-such-rule"),
        ("[rules]\npacks = [\"missing.toml\"]\n", "missing.toml"),
        ("[policy]\nblock = [\"critical\"]\n", ".staunch.toml:2"),
    ];
    for (text, expected) in cases {
        let repo = TestRepo::dir();
        repo.write(".staunch.toml", text);
        let out = repo.run(&["scan", "."], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(
            err.contains(expected),
            "{text}: expected {expected:?} in {err}"
        );
        let out = repo.run(&["config", "check"], None);
        assert_eq!(out.status.code(), Some(2));
    }
    let repo = TestRepo::dir();
    let out = repo.run(&["scan", ".", "--config", "nope.toml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
}

#[test]
fn config_check_prints_the_effective_settings() {
    let repo = TestRepo::dir();
    repo.write(
        ".staunch.toml",
        "internal_domains = [\"corp.example.com\"]\n[policy]\nblock = [\"high\"]\n",
    );
    let out = repo.run(&["config", "check"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("corp.example.com") && text.contains("block: [\"high\"]"),
        "{text}"
    );
}

#[test]
fn adopting_with_a_baseline_blocks_only_new_secrets() {
    let repo = TestRepo::git_init();
    // 20 findings already in the repository
    for i in 0..20 {
        repo.write(
            &format!("legacy/service{i}.env"),
            format!("DB_PASSWORD=Old-Pass-{i}-Lantern\n"),
        );
    }
    repo.add(".");
    repo.commit("legacy");
    let out = repo.run(&["baseline", "create"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let baseline = std::fs::read_to_string(repo.path().join(".staunch-baseline.json")).unwrap();
    assert!(
        !baseline.contains("Old-Pass"),
        "the baseline must not hold secrets"
    );
    repo.write(".staunch.toml", "baseline = \".staunch-baseline.json\"\n");
    let (code, doc) = repo.json(&["scan", "."]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(stats(&doc, "baseline"), 20);
    // moving a legacy secret down some lines does not resurrect it
    repo.write(
        "legacy/service3.env",
        "# a comment\n\n\nDB_PASSWORD=Old-Pass-3-Lantern\n",
    );
    repo.add(".");
    let out = repo.run(&["hook", "pre-commit"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (code, _) = repo.json(&["scan", "."]);
    assert_eq!(code, 0);
    // a new secret blocks
    repo.write("app/new.env", format!("AWS={}\n", fake_aws_key()));
    repo.add(".");
    let out = repo.run(&["hook", "pre-commit", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&doc),
        vec![("aws-access-key-id".into(), "app/new.env".into(), 1)]
    );
    // entries whose secret is gone are listed as stale
    std::fs::remove_file(repo.path().join("legacy/service7.env")).unwrap();
    let out = repo.run(
        &["baseline", "check", "--baseline", ".staunch-baseline.json"],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("legacy/service7.env") && text.contains("1 of 20"),
        "{text}"
    );
}

#[test]
fn gitleaks_config_with_custom_rules_allowlists_and_defaults() {
    let repo = TestRepo::dir();
    let config = fixture("gitleaks/custom-rules.toml");
    let tree = fixture("gitleaks/tree");
    let (code, doc) = repo.json(&[
        "scan",
        tree.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let mut found: Vec<(String, String, u64)> = findings(&doc)
        .into_iter()
        .map(|(rule, path, line)| (rule, path.rsplit("tree/").next().unwrap().to_string(), line))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("acme-deploy-token".into(), "app.env".into(), 2),
            ("zed-api-key".into(), "app.env".into(), 4),
            ("zed-api-key".into(), "docs/setup.md".into(), 2),
        ]
    );
    assert_eq!(stats(&doc, "config"), 3);
    // useDefault keeps the built-in rules
    repo.write("k.txt", format!("k = {}\n", fake_aws_key()));
    let (code, _) = repo.json(&["scan", "k.txt", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 1);
}

#[test]
fn gitleaks_config_errors_name_rule_and_key() {
    let repo = TestRepo::dir();
    repo.write(
        "g.toml",
        "[[rules]]\nid = \"custom\"\nregex = 'abc'\nvalidate = 'x'\n",
    );
    let out = repo.run(&["scan", ".", "--config", "g.toml"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule custom") && err.contains("validate"),
        "{err}"
    );
    repo.write(
        "g.toml",
        "[[rules]]\nid = \"pem-files\"\npath = '''\\.pem$'''\n",
    );
    // a path-only rule cannot scan content: it is skipped with a warning naming it
    let out = repo.run(&["scan", ".", "--config", "g.toml"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: g.toml: rule pem-files"));
    // without useDefault only the custom rules run
    repo.write("g.toml", "[[rules]]\nid = \"only-this\"\nregex = '''onlythis_[0-9]{6}'''\nkeywords = [\"onlythis_\"]\n");
    repo.write(
        "k.txt",
        format!("k = {}\nv = onlythis_123456\n", fake_aws_key()),
    );
    let (_, doc) = repo.json(&["scan", "k.txt", "--config", "g.toml"]);
    assert_eq!(
        findings(&doc)
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>(),
        vec!["only-this"]
    );
}

#[test]
fn gitleaksignore_is_read_as_a_baseline() {
    let repo = TestRepo::dir();
    repo.write("a.env", format!("x=1\nAWS={}\n", fake_aws_key()));
    repo.write(".gitleaksignore", "a.env:aws-access-token:2\n");
    let (code, doc) = repo.json(&["scan", "a.env"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(stats(&doc, "baseline"), 1);
}

#[test]
fn range_reads_config_from_the_base_commit() {
    let repo = TestRepo::git_init();
    repo.write("README.md", "hi\n");
    repo.add(".");
    let base = repo.commit("base");
    // the pull request tries to switch its own scan off
    repo.write(
        ".staunch.toml",
        "[rules]\ndisable = [\"aws-access-key-id\"]\n[[allow]]\npaths = [\"**\"]\n",
    );
    repo.write("leak.env", format!("AWS={}\n", fake_aws_key()));
    repo.add(".");
    repo.commit("pr");
    let (code, doc) = repo.json(&["scan", "--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(findings(&doc)[0].1, "leak.env");
}

/// (rule, file name, line) of a report's findings, sorted.
fn tree_findings(doc: &serde_json::Value) -> Vec<(String, String, u64)> {
    let mut found: Vec<_> = findings(doc)
        .into_iter()
        .map(|(rule, path, line)| (rule, path.rsplit('/').next().unwrap().to_string(), line))
        .collect();
    found.sort();
    found
}

#[test]
fn gitleaks_config_in_re2_syntax_loads_and_finds() {
    let repo = TestRepo::dir();
    let config = fixture("gitleaks/re2.toml");
    let tree = fixture("gitleaks/re2-tree");
    let (code, doc) = repo.json(&[
        "scan",
        tree.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{doc}");
    let expected: Vec<(String, String, u64)> = [
        ("octal-class", "keys.txt", 2),
        ("quoted-key", "keys.txt", 1),
        ("tmpl-token", "deploy.yml", 1),
        ("unicode-key", "fr.txt", 1),
        ("zed-block", "block.txt", 2),
        ("zed-pass", "app.cfg", 2),
    ]
    .iter()
    .map(|(r, p, l)| (r.to_string(), p.to_string(), *l))
    .collect();
    assert_eq!(tree_findings(&doc), expected);
    // `zed_pass = ${ZED_PASS}`, by the global allowlist's `^\${[A-Z_]+}$`
    assert_eq!(stats(&doc, "config"), 1);

    // The same file as a rule pack beside the built-in rules: `--rules` and `[rules] packs`.
    repo.write(
        "staunch.toml",
        format!("[rules]\npacks = [{:?}]\n", config.to_str().unwrap()),
    );
    for how in [
        ["--rules", config.to_str().unwrap()],
        ["--config", "staunch.toml"],
    ] {
        let mut args = vec!["scan", tree.to_str().unwrap()];
        args.extend(how);
        let (code, doc) = repo.json(&args);
        assert_eq!(code, 1, "{doc}");
        let found = tree_findings(&doc);
        for want in &expected {
            assert!(found.contains(want), "{want:?} not in {found:?}");
        }
        assert!(!found.iter().any(|f| f.0 == "zed-pass" && f.2 == 1));
    }
}

#[test]
fn untranslatable_re2_is_an_error_naming_rule_and_construct() {
    let repo = TestRepo::dir();
    repo.write(
        "g.toml",
        "[[rules]]\nid = \"ahead\"\nregex = '''key(?=[0-9])'''\nkeywords = [\"key\"]\n",
    );
    let out = repo.run(&["scan", ".", "--config", "g.toml"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule ahead") && err.contains("look-around `(?="),
        "{err}"
    );
    repo.write(
        "g.toml",
        "[allowlist]\nregexes = ['''a\\Cb''']\n[[rules]]\nid = \"x\"\nregex = 'x'\n",
    );
    let out = repo.run(&["scan", ".", "--rules", "g.toml"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[allowlist] regexes") && err.contains(r"\C"),
        "{err}"
    );
}
