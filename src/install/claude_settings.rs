//! `staunch install --claude-code` / `uninstall --claude-code`: adds or removes the staunch
//! hooks in a Claude Code settings file: `PreToolUse` (every tool that writes, runs or sends
//! data) and `UserPromptSubmit` (the prompt itself), both running the same command.
//!
//! The settings file belongs to the user: it holds permissions, environment, other hooks. So
//! the file is parsed, only staunch's own entries are added or removed, and everything else is
//! written back as it was; a file that is not valid JSON is left untouched and reported.
//! staunch's entries are recognised by their command (it contains `staunch` and
//! `hook claude-code`), so a reinstall replaces an older entry instead of adding a second one.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::cli::{Common, InstallArgs};
use crate::error::{Error, Result};
use crate::Verdict;

/// The tools whose input the hook scans (see `hooks::claude_code`): those that write files
/// or run commands, and those that send data off the machine (MCP servers, the web, subagents).
pub const MATCHER: &str = "Write|Edit|MultiEdit|NotebookEdit|Bash|WebFetch|WebSearch|Task|mcp__.*";

const HOOK_ARGS: &str = "hook claude-code";

/// How to get staunch, for the message of a machine that lacks it.
const INSTALL_HINT: &str = "cargo install --locked --git https://github.com/OWNER/staunch staunch";

/// The command Claude Code runs (through a shell). The repository's `.claude/settings.json` is
/// shared, so it names no path of the machine that installed it: it finds `staunch` on PATH
/// (or in `~/.cargo/bin`, where `cargo install` puts it, since an IDE's PATH may lack it). It
/// fails closed: Claude Code blocks only on exit 2 and runs the tool on any other failure, so a
/// missing binary (the shell's 127) or one that crashes (a panic's 101) exits 2 with a message.
pub fn hook_command() -> String {
    format!(
        "PATH=\"$PATH:$HOME/.cargo/bin\"; \
         if ! command -v staunch >/dev/null 2>&1; then \
         echo 'staunch: blocked: staunch is not installed on this machine, so nothing can be \
         checked for secrets. Install it ({INSTALL_HINT}) or remove its hooks from \
         .claude/settings.json.' >&2; exit 2; fi; \
         staunch {HOOK_ARGS}; status=$?; \
         if [ \"$status\" -ne 0 ] && [ \"$status\" -ne 2 ]; then \
         echo \"staunch: blocked: staunch failed (exit $status)\" >&2; exit 2; fi; \
         exit \"$status\""
    )
}

pub fn install(_common: &Common, args: &InstallArgs) -> Result<Verdict> {
    let file = settings_path(args.user)?;
    let command = hook_command();
    let (text, mut settings) = read(&file)?;
    if !add_hook(&mut settings, &command).map_err(|message| config_error(&file, message))? {
        crate::outln!(
            "staunch: the Claude Code hook is already in {}",
            file.display()
        );
        return Ok(Verdict::Clean);
    }
    let edited = edited(add_hook_text(&text, &command), &settings);
    write(&file, &edited, &settings)?;
    crate::outln!(
        "staunch: installed the Claude Code hooks in {}\n  \
         they scan the prompt, and {} calls before they run\n  \
         they run `staunch` from PATH, and block every call on a machine without it",
        file.display(),
        MATCHER.replace('|', ", ").replace(".*", "*")
    );
    Ok(Verdict::Clean)
}

pub fn uninstall(_common: &Common, args: &InstallArgs) -> Result<Verdict> {
    let file = settings_path(args.user)?;
    if !file.exists() {
        crate::outln!("staunch: no {}: nothing to remove", file.display());
        return Ok(Verdict::Clean);
    }
    let (text, mut settings) = read(&file)?;
    if !remove_hook(&mut settings).map_err(|message| config_error(&file, message))? {
        crate::outln!(
            "staunch: no staunch Claude Code hook in {}: nothing to remove",
            file.display()
        );
        return Ok(Verdict::Clean);
    }
    let edited = edited(remove_hook_text(&text), &settings);
    if edited.as_deref().is_some_and(|t| t.trim() == "{}") {
        // Nothing is left but what `install` makes of a missing file: there was none.
        std::fs::remove_file(&file).map_err(|e| Error::io(&file, e))?;
        if let Some(dir) = file.parent() {
            // Only if empty; a directory with anything in it stays.
            let _ = std::fs::remove_dir(dir);
        }
        crate::outln!(
            "staunch: removed the Claude Code hook, and {}, which held nothing else",
            file.display()
        );
        return Ok(Verdict::Clean);
    }
    write(&file, &edited, &settings)?;
    crate::outln!(
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

/// Whether a hook command is staunch's own.
pub fn is_staunch_command(command: &str) -> bool {
    command.contains(&format!("staunch {HOOK_ARGS}"))
        || (command.trim_end().ends_with(HOOK_ARGS) && command.contains("staunch"))
}

fn config_error(file: &Path, message: String) -> Error {
    Error::Config {
        file: file.display().to_string(),
        message,
    }
}

/// The settings' text and value; a missing or empty file is an empty object.
fn read(file: &Path) -> Result<(String, Value)> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((String::new(), json!({})))
        }
        Err(e) => return Err(Error::io(file, e)),
    };
    if text.trim().is_empty() {
        return Ok((text, json!({})));
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
    Ok((text, value))
}

/// The edited text, if it says exactly what the edit of the value says: the text edit keeps
/// the user's layout, the value is the truth.
fn edited(text: Option<String>, wanted: &Value) -> Option<String> {
    text.filter(|t| serde_json::from_str::<Value>(t).ok().as_ref() == Some(wanted))
}

/// Writes `text` (the user's file, edited), or else `settings` laid out afresh (a new file),
/// through a temporary file and a rename, so an interrupted write never leaves the user with
/// half a settings file.
fn write(file: &Path, text: &Option<String>, settings: &Value) -> Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let text = match text {
        Some(text) => text.clone(),
        None => {
            let mut text = serde_json::to_string_pretty(settings).expect("a JSON value serialises");
            text.push('\n');
            text
        }
    };
    let temp = file.with_extension("json.staunch-tmp");
    std::fs::write(&temp, text).map_err(|e| Error::io(&temp, e))?;
    std::fs::rename(&temp, file).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(file, e)
    })
}

/// The hook events staunch installs into, with the matcher each entry takes (`None`: the event
/// has no matcher).
const EVENTS: [(&str, Option<&str>); 2] =
    [("PreToolUse", Some(MATCHER)), ("UserPromptSubmit", None)];

/// `hooks.<event>`, created if missing; an error names what has the wrong shape.
fn event_groups<'a>(
    settings: &'a mut Value,
    event: &str,
) -> std::result::Result<&'a mut Vec<Value>, String> {
    let root = settings.as_object_mut().ok_or("not a JSON object")?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks
        .as_object_mut()
        .ok_or("`hooks` is not an object; left untouched")?;
    hooks
        .entry(event)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| format!("`hooks.{event}` is not an array; left untouched"))
}

/// The entry staunch adds to an event's groups.
fn entry(matcher: Option<&str>, command: &str) -> Value {
    let hook = json!([{"type": "command", "command": command}]);
    match matcher {
        Some(matcher) => json!({"matcher": matcher, "hooks": hook}),
        None => json!({"hooks": hook}),
    }
}

/// Adds staunch's entries, replacing older ones. Returns false when exactly these entries are
/// already there (nothing to write).
pub fn add_hook(settings: &mut Value, command: &str) -> std::result::Result<bool, String> {
    // Check every event's shape before changing any, so a refusal leaves nothing half done.
    for (event, _) in EVENTS {
        event_groups(&mut settings.clone(), event)?;
    }
    let mut changed = false;
    for (event, matcher) in EVENTS {
        let groups = event_groups(settings, event)?;
        let wanted = entry(matcher, command);
        let ours: Vec<&Value> = groups.iter().filter(|g| has_ours(g)).collect();
        if let [only] = ours.as_slice() {
            if **only == wanted {
                continue;
            }
        }
        remove_from(groups);
        groups.push(wanted);
        changed = true;
    }
    Ok(changed)
}

/// staunch's entry as written into a file: `matcher` (where the event has one), then
/// `hooks`, each hook `type` then `command`, the order Claude Code's documentation uses.
#[derive(serde::Serialize)]
struct Group<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    matcher: Option<&'a str>,
    hooks: [Hook<'a>; 1],
}

#[derive(serde::Serialize)]
struct Hook<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    command: &'a str,
}

/// [`add_hook`] on the text: the same change, every other byte kept. `None` where the text
/// cannot be edited in place (an empty file: it is written afresh).
fn add_hook_text(text: &str, command: &str) -> Option<String> {
    use super::json_edit::{append, insert, Step};
    if text.trim().is_empty() {
        return None;
    }
    let mut text = text.to_string();
    for (event, matcher) in EVENTS {
        let group = Group {
            matcher,
            hooks: [Hook {
                kind: "command",
                command,
            }],
        };
        let value: Value = serde_json::from_str(&text).ok()?;
        let Some(hooks) = value.get("hooks") else {
            let hooks = std::collections::BTreeMap::from([(event, [&group])]);
            text = insert(&text, &[], "hooks", &hooks)?;
            continue;
        };
        let Some(groups) = hooks.get(event).and_then(Value::as_array) else {
            text = insert(&text, &[Step::Key("hooks")], event, &[&group])?;
            continue;
        };
        let wanted = entry(matcher, command);
        let ours: Vec<&Value> = groups.iter().filter(|g| has_ours(g)).collect();
        if matches!(ours.as_slice(), [only] if **only == wanted) {
            continue;
        }
        text = remove_ours_text(text, event, groups)?;
        text = append(&text, &[Step::Key("hooks"), Step::Key(event)], &group)?;
    }
    Some(text)
}

/// [`remove_hook`] on the text.
fn remove_hook_text(text: &str) -> Option<String> {
    use super::json_edit::{remove, Step};
    let mut text = text.to_string();
    let mut removed = false;
    for (event, _) in EVENTS {
        let value: Value = serde_json::from_str(&text).ok()?;
        let Some(groups) = value["hooks"].get(event).and_then(Value::as_array) else {
            continue;
        };
        if !groups.iter().any(has_ours) {
            continue;
        }
        removed = true;
        text = remove_ours_text(text, event, groups)?;
        let value: Value = serde_json::from_str(&text).ok()?;
        if value["hooks"][event].as_array().is_some_and(Vec::is_empty) {
            text = remove(&text, &[Step::Key("hooks")], 0, Some(event))?;
        }
    }
    let value: Value = serde_json::from_str(&text).ok()?;
    if removed && value["hooks"].as_object().is_some_and(|h| h.is_empty()) {
        text = remove(&text, &[], 0, Some("hooks"))?;
    }
    Some(text)
}

/// Removes staunch's hooks from the event's `groups` (as the text holds them), and the groups
/// left with none, last first so the indexes still hold.
fn remove_ours_text(mut text: String, event: &str, groups: &[Value]) -> Option<String> {
    use super::json_edit::{remove, Step};
    for (i, group) in groups.iter().enumerate().rev() {
        let Some(hooks) = group.get("hooks").and_then(Value::as_array) else {
            continue;
        };
        let ours = |h: &Value| h["command"].as_str().is_some_and(is_staunch_command);
        if !hooks.iter().any(ours) {
            continue;
        }
        if hooks.iter().all(ours) {
            text = remove(&text, &[Step::Key("hooks"), Step::Key(event)], i, None)?;
            continue;
        }
        for (j, _) in hooks.iter().enumerate().rev().filter(|(_, h)| ours(h)) {
            let path = [
                Step::Key("hooks"),
                Step::Key(event),
                Step::Index(i),
                Step::Key("hooks"),
            ];
            text = remove(&text, &path, j, None)?;
        }
    }
    Some(text)
}

/// Whether a matcher group holds one of staunch's hooks.
fn has_ours(group: &Value) -> bool {
    group["hooks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|h| h["command"].as_str().is_some_and(is_staunch_command))
}

/// Removes staunch's entries, and the matcher groups, event arrays and `hooks` object that
/// removing them leaves empty. Returns whether anything was removed.
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
    for (event, _) in EVENTS {
        if hooks.get(event).is_some_and(|g| !g.is_array()) {
            return Err(format!("`hooks.{event}` is not an array; left untouched"));
        }
    }
    let mut removed = false;
    for (event, _) in EVENTS {
        let Some(groups) = hooks.get_mut(event).and_then(Value::as_array_mut) else {
            continue;
        };
        if remove_from(groups) {
            removed = true;
            if groups.is_empty() {
                hooks.remove(event);
            }
        }
    }
    if removed && hooks.is_empty() {
        root.remove("hooks");
    }
    Ok(removed)
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
        let prompt = settings["hooks"]["UserPromptSubmit"].as_array().unwrap();
        assert_eq!(
            prompt,
            &vec![json!({"hooks": [{"type": "command", "command": CMD}]})]
        );
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
    fn the_text_edit_keeps_order_and_layout_and_undoes_itself() {
        let text = "{\n    \"model\": \"opus\",\n    \"hooks\": {\n        \"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"done.sh\"}]}],\n        \"PreToolUse\": [\n            {\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"audit.sh\"}]}\n        ]\n    },\n    \"env\": {\"B\": \"1\", \"A\": \"2\"}\n}\n";
        let added = add_hook_text(text, CMD).unwrap();
        let mut wanted: Value = serde_json::from_str(text).unwrap();
        add_hook(&mut wanted, CMD).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&added).unwrap(), wanted);
        // Everything that was there is still there, in its place, byte for byte: staunch's
        // group follows the last PreToolUse group, UserPromptSubmit follows PreToolUse.
        let before_ours = &text[..text.find("\n        ]").unwrap()];
        assert!(added.starts_with(before_ours), "{added}");
        assert!(
            added.ends_with("\"env\": {\"B\": \"1\", \"A\": \"2\"}\n}\n"),
            "{added}"
        );
        assert_eq!(add_hook_text(&added, CMD).as_deref(), Some(added.as_str()));
        assert_eq!(remove_hook_text(&added).unwrap(), text);
        let alone = add_hook_text("{\"a\": 1}", CMD).unwrap();
        assert_eq!(remove_hook_text(&alone).unwrap(), "{\"a\": 1}");
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(add_hook(&mut json!({"hooks": []}), CMD).is_err());
        assert!(add_hook(&mut json!({"hooks": {"PreToolUse": {}}}), CMD).is_err());
        assert!(remove_hook(&mut json!({"hooks": {"PreToolUse": 1}})).is_err());
    }

    #[test]
    fn recognises_its_commands_old_and_new() {
        assert!(is_staunch_command(&hook_command()));
        assert!(is_staunch_command(
            "/usr/local/bin/staunch hook claude-code"
        ));
        assert!(is_staunch_command("'/my dir/staunch' hook claude-code"));
        assert!(!is_staunch_command("/usr/bin/other hook claude-code"));
        assert!(!is_staunch_command("staunch hook pre-commit"));
    }
}
