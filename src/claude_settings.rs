//! `staunch install --claude-code` / `uninstall --claude-code`: adds or removes the staunch
//! `PreToolUse` hook in a Claude Code settings file.
//!
//! The settings file belongs to the user: it holds permissions, environment, other hooks. So
//! the file is parsed, only staunch's own entry is added or removed, and everything else is
//! written back as it was; a file that is not valid JSON is left untouched and reported.
//! staunch's entry is recognised by its command (it contains `staunch` and ends in
//! `hook claude-code`), so a reinstall from a moved binary replaces it instead of adding a
//! second one.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::cli::{Common, InstallArgs};
use crate::error::{Error, Result};
use crate::Verdict;

/// The tools whose input the hook scans (see `hooks::claude_code`).
pub const MATCHER: &str = "Write|Edit|MultiEdit|NotebookEdit|Bash";

const HOOK_ARGS: &str = "hook claude-code";

pub fn install(_common: &Common, args: &InstallArgs) -> Result<Verdict> {
    let file = settings_path(args.user)?;
    let command = hook_command()?;
    let mut settings = read(&file)?;
    if !add_hook(&mut settings, &command).map_err(|message| config_error(&file, message))? {
        println!(
            "staunch: the Claude Code hook is already in {}",
            file.display()
        );
        return Ok(Verdict::Clean);
    }
    write(&file, &settings)?;
    println!(
        "staunch: installed the Claude Code PreToolUse hook in {}\n  \
         it scans {} before they run: `{command}`",
        file.display(),
        MATCHER.replace('|', ", ")
    );
    Ok(Verdict::Clean)
}

pub fn uninstall(_common: &Common, args: &InstallArgs) -> Result<Verdict> {
    let file = settings_path(args.user)?;
    if !file.exists() {
        println!("staunch: no {}: nothing to remove", file.display());
        return Ok(Verdict::Clean);
    }
    let mut settings = read(&file)?;
    if !remove_hook(&mut settings).map_err(|message| config_error(&file, message))? {
        println!(
            "staunch: no staunch Claude Code hook in {}: nothing to remove",
            file.display()
        );
        return Ok(Verdict::Clean);
    }
    write(&file, &settings)?;
    println!(
        "staunch: removed the Claude Code hook from {}",
        file.display()
    );
    Ok(Verdict::Clean)
}

/// `.claude/settings.json` in the current directory (the repository, after `-C`), or the
/// user's own with `--user`.
fn settings_path(user: bool) -> Result<PathBuf> {
    let base = if user {
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home),
            None => {
                return Err(Error::Usage(
                    "--user: HOME is not set, so there is no ~/.claude/settings.json".into(),
                ))
            }
        }
    } else {
        std::env::current_dir().map_err(|e| Error::io(".", e))?
    };
    Ok(base.join(".claude").join("settings.json"))
}

/// The command Claude Code runs: this very binary, by absolute path, so the hook works whatever
/// the agent's PATH holds.
fn hook_command() -> Result<String> {
    // Not canonicalised: a package manager's symlink survives upgrades, its target does not.
    let exe = std::env::current_exe().map_err(|e| Error::io("<current executable>", e))?;
    Ok(format!(
        "{} {HOOK_ARGS}",
        shell_quote(&exe.to_string_lossy())
    ))
}

/// Claude Code runs the command through a shell: quote a path that needs it.
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Whether a hook command is staunch's own.
pub fn is_staunch_command(command: &str) -> bool {
    command.trim_end().ends_with(HOOK_ARGS) && command.contains("staunch")
}

fn config_error(file: &Path, message: String) -> Error {
    Error::Config {
        file: file.display().to_string(),
        message,
    }
}

/// The settings as JSON; a missing or empty file is an empty object.
fn read(file: &Path) -> Result<Value> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(json!({})),
        Err(e) => return Err(Error::io(file, e)),
    };
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        config_error(
            file,
            format!("not valid JSON ({e}); left untouched, fix it and run again"),
        )
    })?;
    if !value.is_object() {
        return Err(config_error(
            file,
            "not a JSON object; left untouched, fix it and run again".into(),
        ));
    }
    Ok(value)
}

/// Writes through a temporary file and a rename, so an interrupted write never leaves the user
/// with half a settings file.
fn write(file: &Path, settings: &Value) -> Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut text = serde_json::to_string_pretty(settings).expect("a JSON value serialises");
    text.push('\n');
    let temp = file.with_extension("json.staunch-tmp");
    std::fs::write(&temp, text).map_err(|e| Error::io(&temp, e))?;
    std::fs::rename(&temp, file).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(file, e)
    })
}

/// `hooks.PreToolUse`, created if missing; an error names what has the wrong shape.
fn pre_tool_use(settings: &mut Value) -> std::result::Result<&mut Vec<Value>, String> {
    let root = settings.as_object_mut().ok_or("not a JSON object")?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks
        .as_object_mut()
        .ok_or("`hooks` is not an object; left untouched")?;
    hooks
        .entry("PreToolUse")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| "`hooks.PreToolUse` is not an array; left untouched".to_string())
}

/// Adds staunch's entry, replacing an older one. Returns false when exactly this entry is
/// already there (nothing to write).
pub fn add_hook(settings: &mut Value, command: &str) -> std::result::Result<bool, String> {
    let groups = pre_tool_use(settings)?;
    let ours = |group: &Value| -> Vec<String> {
        group["hooks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["command"].as_str())
            .filter(|c| is_staunch_command(c))
            .map(str::to_string)
            .collect()
    };
    let found: Vec<(Option<&str>, Vec<String>)> = groups
        .iter()
        .map(|g| (g["matcher"].as_str(), ours(g)))
        .filter(|(_, commands)| !commands.is_empty())
        .collect();
    if let [(Some(MATCHER), commands)] = found.as_slice() {
        if commands.len() == 1 && commands[0] == command {
            return Ok(false);
        }
    }
    remove_from(groups);
    groups.push(json!({
        "matcher": MATCHER,
        "hooks": [{"type": "command", "command": command}],
    }));
    Ok(true)
}

/// Removes staunch's entries, and the matcher groups, `PreToolUse` array and `hooks` object
/// that removing them leaves empty. Returns whether anything was removed.
pub fn remove_hook(settings: &mut Value) -> std::result::Result<bool, String> {
    let Some(root) = settings.as_object_mut() else {
        return Err("not a JSON object".into());
    };
    let Some(hooks) = root.get_mut("hooks") else {
        return Ok(false);
    };
    let hooks = hooks
        .as_object_mut()
        .ok_or("`hooks` is not an object; left untouched")?;
    let Some(groups) = hooks.get_mut("PreToolUse") else {
        return Ok(false);
    };
    let groups = groups
        .as_array_mut()
        .ok_or("`hooks.PreToolUse` is not an array; left untouched")?;
    if !remove_from(groups) {
        return Ok(false);
    }
    if groups.is_empty() {
        hooks.remove("PreToolUse");
        if hooks.is_empty() {
            root.remove("hooks");
        }
    }
    Ok(true)
}

/// Drops staunch's hooks from every group, and the groups left with no hook.
fn remove_from(groups: &mut Vec<Value>) -> bool {
    let mut removed = false;
    groups.retain_mut(|group| {
        let Some(hooks) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
            return true;
        };
        let before = hooks.len();
        hooks.retain(|h| !h["command"].as_str().is_some_and(is_staunch_command));
        if hooks.len() == before {
            return true;
        }
        removed = true;
        !hooks.is_empty()
    });
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/opt/bin/staunch hook claude-code";

    #[test]
    fn adds_once_and_keeps_other_hooks() {
        let mut settings = json!({
            "permissions": {"allow": ["Bash(ls:*)"]},
            "hooks": {"PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}
            ], "Stop": [{"hooks": [{"type": "command", "command": "done.sh"}]}]},
        });
        let before = settings.clone();
        assert_eq!(add_hook(&mut settings, CMD), Ok(true));
        assert_eq!(add_hook(&mut settings, CMD), Ok(false));
        let groups = settings["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1]["matcher"], MATCHER);
        assert_eq!(groups[1]["hooks"][0]["command"], CMD);
        assert_eq!(remove_hook(&mut settings), Ok(true));
        assert_eq!(settings, before);
        assert_eq!(remove_hook(&mut settings), Ok(false));
    }

    #[test]
    fn a_moved_binary_replaces_the_old_entry() {
        let mut settings = json!({});
        add_hook(&mut settings, "/old/staunch hook claude-code").unwrap();
        assert_eq!(add_hook(&mut settings, CMD), Ok(true));
        let groups = settings["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0]["hooks"][0]["command"], CMD);
        remove_hook(&mut settings).unwrap();
        assert_eq!(settings, json!({}));
    }

    #[test]
    fn removes_only_its_own_hook_from_a_shared_group() {
        let mut settings = json!({"hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [
            {"type": "command", "command": "fmt.sh"},
            {"type": "command", "command": "staunch hook claude-code"},
        ]}]}});
        assert_eq!(remove_hook(&mut settings), Ok(true));
        assert_eq!(
            settings,
            json!({"hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [
                {"type": "command", "command": "fmt.sh"}]}]}})
        );
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(add_hook(&mut json!({"hooks": []}), CMD).is_err());
        assert!(add_hook(&mut json!({"hooks": {"PreToolUse": {}}}), CMD).is_err());
        assert!(remove_hook(&mut json!({"hooks": {"PreToolUse": 1}})).is_err());
    }

    #[test]
    fn recognises_and_quotes_commands() {
        assert!(is_staunch_command(
            "/usr/local/bin/staunch hook claude-code"
        ));
        assert!(!is_staunch_command("/usr/bin/other hook claude-code"));
        assert!(!is_staunch_command("staunch hook pre-commit"));
        assert_eq!(shell_quote("/a/b/staunch"), "/a/b/staunch");
        assert_eq!(shell_quote("/my dir/it's"), r"'/my dir/it'\''s'");
    }
}
