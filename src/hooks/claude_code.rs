//! The Claude Code `PreToolUse` hook: scans what a tool is about to write or run, before it
//! happens, so a secret the agent read somewhere never lands in a file or a shell history.
//!
//! Claude Code sends one JSON object on stdin (`tool_name`, `tool_input`, `cwd`, ...). Exit 0
//! lets the call run; exit 2 blocks it and hands stderr to the agent, so the message is
//! written for the agent: what was found, where, and what to do instead. Every failure blocks
//! too (fail closed): a hook that cannot read its input must not wave the call through.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::app::build_matcher;
use crate::cli::Common;
use crate::error::{Error, Result};
use crate::finding::{redact, Finding};
use crate::matcher::Matcher;
use crate::source::Fragment;
use crate::Verdict;

/// The part of Claude Code's hook input staunch reads; the rest is ignored.
#[derive(Debug, Deserialize)]
struct HookInput {
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Value,
    cwd: Option<String>,
}

/// One piece of content a tool call would write or run.
struct Piece {
    /// The path findings are reported at: the target file, relative to `cwd` when inside it.
    path: String,
    text: String,
    /// For an edit, the text it replaces: used to place the new text in the file, so the
    /// message can give the file's line instead of a line of the edit.
    replaces: Option<String>,
}

pub fn run(common: &Common) -> Result<Verdict> {
    let mut input = Vec::new();
    let verdict = std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| Error::io("<stdin>", e))
        .and_then(|_| check(common, &input));
    verdict.map_err(|err| {
        Error::Usage(format!(
            "blocked this tool call: staunch could not check it for secrets: {}\n\
             (staunch fails closed; ask the user to fix the hook or its configuration)",
            chain(&err)
        ))
    })
}

/// The error and its causes on one line, since the caller flattens it into a message.
fn chain(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn check(common: &Common, input: &[u8]) -> Result<Verdict> {
    let hook: HookInput = serde_json::from_slice(input)
        .map_err(|e| Error::Usage(format!("hook input on stdin is not valid JSON: {e}")))?;
    let tool = hook.tool_name.as_deref().ok_or_else(|| {
        Error::Usage("hook input has no `tool_name`: is this a PreToolUse hook?".into())
    })?;
    let cwd = hook.cwd.as_deref().filter(|c| !c.is_empty());
    let Some(pieces) = pieces(tool, &hook.tool_input, cwd)? else {
        return Ok(Verdict::Clean);
    };
    // The session's directory decides which repository's configuration applies.
    if let Some(cwd) = cwd {
        std::env::set_current_dir(cwd).map_err(|e| Error::io(cwd, e))?;
    }
    let matcher = build_matcher(common)?;
    let mut blocked = Vec::new();
    let mut warnings = 0;
    for piece in &pieces {
        let (mut findings, placed) = scan_piece(&matcher, piece);
        // Severities the configuration does not block are left to the next scan of the file.
        let before = findings.len();
        findings.retain(|f| f.blocks);
        warnings += before - findings.len();
        if !findings.is_empty() {
            blocked.push(Blocked {
                tool,
                piece,
                findings,
                placed,
            });
        }
    }
    if blocked.is_empty() {
        if warnings > 0 {
            // Exit 0: Claude Code shows this to the user (verbose mode), not to the agent.
            eprintln!(
                "staunch: {warnings} finding(s) of a severity the configuration does not block"
            );
        }
        return Ok(Verdict::Clean);
    }
    eprint!("{}", message(tool, &blocked, common.show_secrets));
    Ok(Verdict::Failed)
}

/// What a tool call would write or run, or `None` for a tool that does neither.
fn pieces(tool: &str, input: &Value, cwd: Option<&str>) -> Result<Option<Vec<Piece>>> {
    let field = |value: &Value, name: &str| -> Result<String> {
        match value.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::Usage(format!(
                "{tool} hook input: `tool_input.{name}` is not a string"
            ))),
            None => Err(Error::Usage(format!(
                "{tool} hook input has no `tool_input.{name}`"
            ))),
        }
    };
    let path = |name: &str| field(input, name).map(|p| shown_path(&p, cwd));
    let pieces = match tool {
        "Write" => vec![Piece {
            path: path("file_path")?,
            text: field(input, "content")?,
            replaces: None,
        }],
        "Edit" => vec![Piece {
            path: path("file_path")?,
            text: field(input, "new_string")?,
            replaces: Some(field(input, "old_string").unwrap_or_default()),
        }],
        // Each edit on its own, as Claude Code applies them: a secret only appears whole in
        // the file if one edit holds it whole (or an edit completes text already there, which
        // the next scan of the file catches).
        "MultiEdit" => {
            let path = path("file_path")?;
            let edits = match input.get("edits") {
                Some(Value::Array(edits)) => edits,
                _ => {
                    return Err(Error::Usage(
                        "MultiEdit hook input has no `tool_input.edits` array".into(),
                    ))
                }
            };
            edits
                .iter()
                .map(|edit| {
                    Ok(Piece {
                        path: path.clone(),
                        text: field(edit, "new_string")?,
                        replaces: Some(field(edit, "old_string").unwrap_or_default()),
                    })
                })
                .collect::<Result<Vec<_>>>()?
        }
        "NotebookEdit" => {
            // Deleting a cell writes nothing.
            if input.get("edit_mode").and_then(Value::as_str) == Some("delete")
                && input.get("new_source").is_none()
            {
                return Ok(None);
            }
            vec![Piece {
                path: path("notebook_path")?,
                text: field(input, "new_source")?,
                replaces: None,
            }]
        }
        "Bash" => vec![Piece {
            path: "<bash command>".into(),
            text: field(input, "command")?,
            replaces: None,
        }],
        _ => return Ok(None),
    };
    Ok(Some(pieces))
}

/// `file_path` relative to the session's directory when it lies inside it, as a scan of that
/// directory would show it.
fn shown_path(file_path: &str, cwd: Option<&str>) -> String {
    cwd.and_then(|cwd| Path::new(file_path).strip_prefix(cwd).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(|rel| rel.to_string_lossy().into_owned())
        .unwrap_or_else(|| file_path.to_string())
}

/// The findings in one piece, and whether their lines are the file's (an edit placed in its
/// file) rather than lines of the piece itself.
fn scan_piece(matcher: &Matcher, piece: &Piece) -> (Vec<Finding>, bool) {
    let fragment = Fragment::file(piece.path.as_str(), piece.text.as_bytes().to_vec());
    let mut findings = matcher.scan_fragment(&fragment).findings;
    if findings.is_empty() {
        return (findings, piece.replaces.is_none());
    }
    // Only when blocking: say where in the file an edit lands (one read of the file).
    let Some(old) = &piece.replaces else {
        return (findings, true);
    };
    match lines_before(&piece.path, old) {
        Some(before) => {
            for f in &mut findings {
                f.line += before;
                f.end_line += before;
            }
            (findings, true)
        }
        None => (findings, false),
    }
}

/// How many lines of the file come before the text an edit replaces, if the file can be read
/// and holds it.
fn lines_before(path: &str, old: &str) -> Option<usize> {
    if old.is_empty() {
        return None;
    }
    let file = std::fs::read(path).ok()?;
    let at = memchr::memmem::find(&file, old.as_bytes())?;
    Some(memchr::memchr_iter(b'\n', &file[..at]).count())
}

/// The findings of one piece, and how to name where they are.
struct Blocked<'a> {
    tool: &'a str,
    piece: &'a Piece,
    findings: Vec<Finding>,
    /// The lines are the file's; otherwise they count from the start of the piece.
    placed: bool,
}

impl Blocked<'_> {
    fn place(&self, line: usize) -> String {
        let path = &self.piece.path;
        match (self.tool, self.placed) {
            ("Bash", _) => format!("in the command, line {line}"),
            ("NotebookEdit", _) => format!("in {path}, line {line} of the cell"),
            // Earlier edits of the same call may move it a little.
            ("MultiEdit", true) => format!("in {path}, near line {line}"),
            (_, true) => format!("in {path}, line {line}"),
            (_, false) => format!("in {path}, line {line} of the new text"),
        }
    }
}

/// The message the agent reads. It names each finding and says what to do instead, and it
/// never repeats the secret (the agent's transcript is stored and may be shared).
fn message(tool: &str, blocked: &[Blocked], show_secrets: bool) -> String {
    let count: usize = blocked.iter().map(|b| b.findings.len()).sum();
    let what = if tool == "Bash" {
        "this Bash command contains".to_string()
    } else {
        format!("this {tool} would write")
    };
    let mut text = format!("staunch blocked this tool call: {what} {count} secret(s):\n");
    for b in blocked {
        for f in &b.findings {
            let secret = if show_secrets {
                String::from_utf8_lossy(&f.secret).into_owned()
            } else {
                redact(&f.secret)
            };
            text.push_str(&format!(
                "- {} {}: {}; secret {secret}\n",
                f.rule_id,
                b.place(f.line),
                f.description
            ));
        }
    }
    text.push_str(if tool == "Bash" {
        "Do not put the literal value in the command. Read it from an environment variable \
         (\"$NAME\") or a secret manager at run time; if it is needed and not available, \
         ask the user to provide it that way.\n"
    } else {
        "Do not write the literal value. Read it at run time from an environment variable or a \
         secret manager (for example os.environ[\"NAME\"], process.env.NAME), and use a \
         placeholder in examples and documentation.\n"
    });
    text.push_str(
        "If you are sure this is not a real secret, tell the user; do not try to get around \
         this check.\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_cwd_become_relative() {
        assert_eq!(shown_path("/repo/src/a.py", Some("/repo")), "src/a.py");
        assert_eq!(shown_path("/other/a.py", Some("/repo")), "/other/a.py");
        assert_eq!(shown_path("/repo", Some("/repo")), "/repo");
        assert_eq!(shown_path("rel.py", None), "rel.py");
    }

    #[test]
    fn unknown_tools_write_nothing_and_known_ones_need_their_fields() {
        let input = serde_json::json!({"file_path": "/r/a.py"});
        assert!(pieces("Read", &input, None).unwrap().is_none());
        let err = pieces("Write", &input, None).err().unwrap().to_string();
        assert!(err.contains("tool_input.content"), "{err}");
        let edits = serde_json::json!({"file_path": "/r/a", "edits": [
            {"old_string": "a", "new_string": "b"}, {"old_string": "c", "new_string": "d"}]});
        let got = pieces("MultiEdit", &edits, Some("/r")).unwrap().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].path, "a");
        assert_eq!(got[1].text, "d");
    }
}
