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
    // Split across two edits: neither edit holds it, so neither is blocked.
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
    let repo = TestRepo::git_init();
    let key = fake_aws_key();
    repo.write(".staunch.toml", "[[allow]]\npaths = [\"fixtures/**\"]\n");
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
    // A config that does not parse blocks, naming it.
    repo.write(".staunch.toml", "[[allow]\n");
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
    let repo = TestRepo::git_init();
    repo.write(".staunch.toml", "[policy]\nblock = [\"high\"]\n");
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
    for tool in ["Read", "Grep", "WebFetch", "mcp__memory__create_entities"] {
        let run = hook(
            &repo,
            tool,
            json!({"file_path": file_in(&repo, "a.py"), "pattern": key, "content": key}),
        );
        assert_clean(&run);
    }
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
                    .is_some_and(|c| c.ends_with("hook claude-code") && c.contains("staunch"))
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
fn install_creates_settings_and_points_at_this_binary() {
    let repo = TestRepo::git_init();
    run_ok(&repo, &["install", "--claude-code"]);
    let doc = settings(&repo.path().join(".claude/settings.json"));
    let groups = staunch_groups(&doc);
    assert_eq!(groups.len(), 1, "{doc}");
    assert_eq!(
        groups[0]["matcher"],
        "Write|Edit|MultiEdit|NotebookEdit|Bash"
    );
    let hook = &groups[0]["hooks"][0];
    assert_eq!(hook["type"], "command");
    let command = hook["command"].as_str().unwrap();
    let bin = command.strip_suffix(" hook claude-code").unwrap();
    assert!(std::path::Path::new(bin).is_absolute(), "{command}");
    assert!(std::path::Path::new(bin).exists(), "{command}");
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
    assert_eq!(settings(&file), json!({}));
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
