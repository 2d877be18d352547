//! The Claude Code hook: scans what a tool is about to write, run or send (`PreToolUse`), and
//! the prompt about to be sent to the model (`UserPromptSubmit`), before it happens, so a
//! secret never lands in a file, a shell history, an MCP server or the model provider's logs.
//!
//! Claude Code sends one JSON object on stdin (`hook_event_name`, `tool_name`, `tool_input`,
//! `prompt`, `cwd`, ...). Exit 0 lets the call run; exit 2 blocks it and hands stderr to the
//! agent (for a prompt: to the user), so the message is written for its reader: what was found,
//! where, and what to do instead. With `--json-output` the same decision is printed as Claude
//! Code's JSON hook output on exit 0. Every failure exits 2 (fail closed): a hook that cannot
//! read its input must not wave the call through.
//!
//! The agent writes the work tree, so nothing in it may decide what is allowed: configuration,
//! rule packs, baseline and `.gitleaksignore` come from HEAD (`build_scanner_from_head`), and an
//! inline allow marker counts only on a line HEAD's version of the file already has.

use std::io::{Read, Write};
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::git::GitRepo;
use crate::scan::DEFAULT_MAX_FILE_SIZE;
use crate::session::{build_scanner_from_head, Session};
use crate::source::Fragment;
use crate::Verdict;

/// The part of Claude Code's hook input staunch reads; the rest is ignored.
#[derive(Debug, Deserialize)]
struct HookInput {
    hook_event_name: Option<String>,
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Value,
    prompt: Option<String>,
    cwd: Option<String>,
}

/// What the hook was called for.
#[derive(Clone, Copy)]
enum Event<'a> {
    Tool(&'a str),
    Prompt,
}

/// How a finding's place in a piece is named in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// The whole file as it will be (a Write, or an edit applied to the file).
    File,
    /// The new text of an edit that could not be placed in its file.
    NewText,
    /// A notebook cell.
    Cell,
    /// A shell command.
    Command,
    /// One string of a tool's input (`tool_input.body`).
    Field,
    Prompt,
}

/// One piece of content a tool call would write, run or send.
#[derive(Debug)]
struct Piece {
    /// Where findings are reported, and what path rules and allow entries match: the file
    /// relative to the repository's root (else to `cwd`), or a name such as `tool_input.url`.
    path: String,
    place: Place,
    text: String,
    /// The file's path in the repository, when the piece is (part of) a file of its work tree:
    /// where a committed inline marker is looked up.
    repo_path: Option<String>,
    /// For an edit applied to its file: the byte ranges of the text the edit puts there. A
    /// finding on no line of these was in the file before the edit; the git hooks and CI deal
    /// with it, and blocking here would stop every unrelated edit of that file.
    touched: Option<Vec<Range<usize>>>,
}

/// One `old_string` → `new_string` replacement of an Edit or MultiEdit.
#[derive(Debug)]
struct Edit {
    old: String,
    new: String,
    all: bool,
}

pub fn run(session: &Session, json_output: bool) -> Result<Verdict> {
    let mut input = Vec::new();
    let verdict = std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| Error::io("<stdin>", e))
        .and_then(|_| check(session, &input, json_output));
    verdict.map_err(|err| {
        let what = match serde_json::from_slice::<Value>(&input) {
            Ok(v) if v["hook_event_name"] == "UserPromptSubmit" => "prompt",
            _ => "tool call",
        };
        Error::FailedClosed {
            message: format!("blocked this {what}: staunch could not check it for secrets"),
            cause: Box::new(err),
            hint: "(staunch fails closed; ask the user to fix the hook or its configuration)",
        }
    })
}

fn check(session: &Session, input: &[u8], json_output: bool) -> Result<Verdict> {
    let common = &session.common;
    let hook: HookInput =
        serde_json::from_slice(input).map_err(|cause| Error::HookJson { cause })?;
    let event = match (hook.hook_event_name.as_deref(), hook.tool_name.as_deref()) {
        (Some("UserPromptSubmit"), _) => Event::Prompt,
        (_, Some(tool)) => Event::Tool(tool),
        _ => {
            return Err(Error::HookInput(
                "hook input has no `tool_name`: is this a PreToolUse or UserPromptSubmit hook?"
                    .into(),
            ))
        }
    };
    // The session's directory decides which repository's committed state applies.
    if let Some(cwd) = hook.cwd.as_deref().filter(|c| !c.is_empty()) {
        std::env::set_current_dir(cwd).map_err(|e| Error::io(cwd, e))?;
    }
    let repo = GitRepo::discover(Path::new(".")).ok();
    let names = Names {
        cwd: std::env::current_dir().map_err(|e| Error::io(".", e))?,
        root: repo.as_ref().and_then(GitRepo::work_dir),
    };
    let max_file_size = common.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
    let pieces = match event {
        Event::Prompt => {
            let prompt = hook.prompt.ok_or_else(|| {
                Error::HookInput("UserPromptSubmit hook input has no `prompt`".into())
            })?;
            vec![Piece {
                path: "<prompt>".into(),
                place: Place::Prompt,
                text: prompt,
                repo_path: None,
                touched: None,
            }]
        }
        Event::Tool(tool) => match pieces(tool, &hook.tool_input, &names, max_file_size)? {
            Some(pieces) => pieces,
            None => return Ok(Verdict::Clean),
        },
    };
    let head = match &repo {
        Some(repo) => repo.head_commit()?,
        None => None,
    };
    let (scanner, markers) = build_scanner_from_head(session, repo.as_ref(), head)?;
    let matcher = &scanner.matcher;
    let trusted = repo.as_ref().zip(head);
    let mut blocked = Vec::new();
    let mut warnings = 0;
    for piece in &pieces {
        let fragment = Fragment::file(piece.path.as_str(), piece.text.as_bytes().to_vec());
        let mut findings = matcher.find_in(&fragment).findings;
        if let Some(touched) = &piece.touched {
            let lines = touched_lines(&piece.text, touched);
            findings.retain(|f| {
                lines
                    .iter()
                    .any(|l| f.line <= *l.end() && f.end_line >= *l.start())
            });
        }
        drop_committed_markers(
            &mut findings,
            piece,
            &markers,
            trusted,
            scanner.limits.max_file_size,
        )?;
        // Severities the configuration does not block are left to the next scan of the file.
        let before = findings.len();
        findings.retain(|f| f.blocks);
        warnings += before - findings.len();
        if !findings.is_empty() {
            blocked.push(Blocked { piece, findings });
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
    let reason = message(event, &blocked, common.show_secrets);
    if !json_output {
        eprint!("{reason}");
        return Ok(Verdict::Failed);
    }
    // The documented JSON answers, read by Claude Code on exit 0 only.
    let answer = match event {
        Event::Prompt => json!({"decision": "block", "reason": reason}),
        Event::Tool(_) => json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }}),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{answer}")
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(Verdict::Clean)
}

/// How file paths from the hook input are named.
struct Names {
    cwd: PathBuf,
    /// The work tree's root of the session's repository, if there is one.
    root: Option<PathBuf>,
}

impl Names {
    /// The path shown and matched (relative to the repository's root, else to `cwd`, else as
    /// given), and the path in the repository when the file is in its work tree.
    fn of(&self, file_path: &str) -> (String, Option<String>) {
        let path = self.cwd.join(file_path);
        let relative_to = |base: &Path| -> Option<String> {
            let rel = path
                .strip_prefix(base)
                .ok()
                .map(Path::to_path_buf)
                .or_else(|| {
                    // The root is canonical; the path Claude Code gives may not be.
                    let parent = std::fs::canonicalize(path.parent()?).ok()?;
                    let joined = parent.join(path.file_name()?);
                    joined.strip_prefix(base).ok().map(Path::to_path_buf)
                })?;
            (!rel.as_os_str().is_empty()).then(|| rel.to_string_lossy().replace('\\', "/"))
        };
        if let Some(in_repo) = self.root.as_deref().and_then(relative_to) {
            return (in_repo.clone(), Some(in_repo));
        }
        let shown = relative_to(&self.cwd).unwrap_or_else(|| file_path.to_string());
        (shown, None)
    }
}

/// What a tool call would write, run or send, or `None` for a tool that does none of these.
fn pieces(
    tool: &str,
    input: &Value,
    names: &Names,
    max_file_size: u64,
) -> Result<Option<Vec<Piece>>> {
    let field = |value: &Value, name: &str| -> Result<String> {
        match value.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::HookInput(format!(
                "{tool} hook input: `tool_input.{name}` is not a string"
            ))),
            None => Err(Error::HookInput(format!(
                "{tool} hook input has no `tool_input.{name}`"
            ))),
        }
    };
    let edit = |value: &Value| -> Result<Edit> {
        Ok(Edit {
            old: field(value, "old_string").unwrap_or_default(),
            new: field(value, "new_string")?,
            all: value.get("replace_all").and_then(Value::as_bool) == Some(true),
        })
    };
    let file = |path: &str, place: Place, text: String| {
        let (shown, repo_path) = names.of(path);
        Piece {
            path: shown,
            place,
            text,
            repo_path,
            touched: None,
        }
    };
    let pieces = match tool {
        "Write" => vec![file(
            &field(input, "file_path")?,
            Place::File,
            field(input, "content")?,
        )],
        "Edit" => {
            let path = field(input, "file_path")?;
            edit_pieces(names, &path, vec![edit(input)?], max_file_size)
        }
        "MultiEdit" => {
            let path = field(input, "file_path")?;
            let edits = match input.get("edits") {
                Some(Value::Array(edits)) => edits,
                _ => {
                    return Err(Error::HookInput(
                        "MultiEdit hook input has no `tool_input.edits` array".into(),
                    ))
                }
            };
            let edits = edits.iter().map(edit).collect::<Result<Vec<_>>>()?;
            edit_pieces(names, &path, edits, max_file_size)
        }
        "NotebookEdit" => {
            // Deleting a cell writes nothing.
            if input.get("edit_mode").and_then(Value::as_str) == Some("delete")
                && input.get("new_source").is_none()
            {
                return Ok(None);
            }
            let mut cell = file(
                &field(input, "notebook_path")?,
                Place::Cell,
                field(input, "new_source")?,
            );
            // A cell's lines are not lines of the notebook's JSON, so no committed line of the
            // file can vouch for a marker in a cell.
            cell.repo_path = None;
            vec![cell]
        }
        "Bash" => vec![Piece {
            path: "<bash command>".into(),
            place: Place::Command,
            text: field(input, "command")?,
            repo_path: None,
            touched: None,
        }],
        // Tools that send their input off the machine: every string in it, whatever the
        // tool's schema, so a field added in a later version is covered too.
        "WebFetch" | "WebSearch" | "Task" => input_strings(input),
        _ if tool.starts_with("mcp__") => input_strings(input),
        _ => return Ok(None),
    };
    Ok(Some(pieces))
}

/// An Edit or MultiEdit, scanned as the file will be after it: a key completed by the new text
/// (half already in the file, or split across the edits of a MultiEdit) is whole only there.
/// When the file cannot be read (missing, too large, not UTF-8) or an edit's old text is not in
/// it (the tool call will fail), each new text is scanned on its own.
fn edit_pieces(names: &Names, file_path: &str, edits: Vec<Edit>, max_file_size: u64) -> Vec<Piece> {
    let (path, repo_path) = names.of(file_path);
    let current = std::fs::metadata(file_path)
        .ok()
        .filter(|m| m.len() <= max_file_size)
        .and_then(|_| std::fs::read_to_string(file_path).ok());
    if let Some((text, touched)) = current.and_then(|text| apply_edits(text, &edits)) {
        return vec![Piece {
            path,
            place: Place::File,
            text,
            repo_path,
            touched: Some(touched),
        }];
    }
    edits
        .into_iter()
        .map(|edit| Piece {
            path: path.clone(),
            place: Place::NewText,
            text: edit.new,
            repo_path: repo_path.clone(),
            touched: None,
        })
        .collect()
}

/// `text` after `edits`, applied in order as Claude Code applies them (`replace_all` replaces
/// every occurrence, otherwise the first), and the byte ranges the new texts occupy in the
/// result. `None` when an edit's old text is empty or not there.
fn apply_edits(mut text: String, edits: &[Edit]) -> Option<(String, Vec<Range<usize>>)> {
    let mut touched: Vec<Range<usize>> = Vec::new();
    for edit in edits {
        if edit.old.is_empty() {
            return None;
        }
        let limit = if edit.all { usize::MAX } else { 1 };
        let starts: Vec<usize> = text
            .match_indices(edit.old.as_str())
            .map(|(at, _)| at)
            .take(limit)
            .collect();
        if starts.is_empty() {
            return None;
        }
        let (old, new) = (edit.old.len(), edit.new.len());
        // Where a position of the text before this edit is after it; a position inside a
        // replaced span moves to the start (range starts) or end (range ends) of its new text.
        let moved = |pos: usize, end: bool| -> usize {
            let mut delta = 0isize;
            for &at in &starts {
                let inside = if end {
                    pos > at && pos <= at + old
                } else {
                    pos >= at && pos < at + old
                };
                if inside {
                    let begin = (at as isize + delta) as usize;
                    return if end { begin + new } else { begin };
                }
                if pos < at + old {
                    break;
                }
                delta += new as isize - old as isize;
            }
            (pos as isize + delta) as usize
        };
        for range in &mut touched {
            let start = moved(range.start, false);
            *range = start..moved(range.end, true).max(start);
        }
        let mut out = String::with_capacity(text.len() + starts.len() * new);
        let mut last = 0;
        for &at in &starts {
            out.push_str(&text[last..at]);
            touched.push(out.len()..out.len() + new);
            out.push_str(&edit.new);
            last = at + old;
        }
        out.push_str(&text[last..]);
        text = out;
    }
    Some((text, touched))
}

/// The 1-based lines each byte range covers; an empty range (a deletion) covers the line it is
/// on, which the deletion may have joined to the next.
fn touched_lines(text: &str, ranges: &[Range<usize>]) -> Vec<RangeInclusive<usize>> {
    let bytes = text.as_bytes();
    let line_at = |pos: usize| 1 + memchr::memchr_iter(b'\n', &bytes[..pos]).count();
    ranges
        .iter()
        .map(|r| line_at(r.start)..=line_at(r.end.saturating_sub(1).max(r.start)))
        .collect()
}

/// Every string in a tool's input, each a piece named by where it is (`tool_input.body`,
/// `tool_input.blocks[0].text`). A string under a key is scanned as `key: value`, so rules
/// that recognise a secret by its name (`password: ...`) see the name.
fn input_strings(input: &Value) -> Vec<Piece> {
    fn walk(value: &Value, at: String, key: Option<&str>, out: &mut Vec<Piece>) {
        match value {
            Value::String(s) => out.push(Piece {
                path: at,
                place: Place::Field,
                text: match key {
                    Some(key) => format!("{key}: {s}"),
                    None => s.clone(),
                },
                repo_path: None,
                touched: None,
            }),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{at}[{i}]"), None, out);
                }
            }
            Value::Object(fields) => {
                for (name, item) in fields {
                    walk(item, format!("{at}.{name}"), Some(name), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(input, "tool_input".into(), None, &mut out);
    out
}

/// Removes the findings an inline allow marker silences, which it does only when HEAD's version
/// of the file already has that very line (whitespace at either end aside): the marker was then
/// committed, so a person put it there, not the agent writing this call.
fn drop_committed_markers(
    findings: &mut Vec<Finding>,
    piece: &Piece,
    markers: &[String],
    head: Option<(&GitRepo, gix::ObjectId)>,
    max_file_size: u64,
) -> Result<()> {
    let line_of = |f: &Finding| {
        piece
            .text
            .lines()
            .nth(f.line.saturating_sub(1))
            .unwrap_or("")
    };
    let marked = |line: &str| {
        let line = line.to_ascii_lowercase();
        markers
            .iter()
            .any(|m| line.contains(&m.to_ascii_lowercase()))
    };
    let (Some((repo, commit)), Some(repo_path)) = (head, &piece.repo_path) else {
        return Ok(());
    };
    if !findings.iter().any(|f| marked(line_of(f))) {
        return Ok(());
    }
    let Some(committed) = repo.file_at(commit, Path::new(repo_path), max_file_size)? else {
        return Ok(());
    };
    let committed: std::collections::HashSet<&[u8]> = committed
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .collect();
    findings.retain(|f| {
        let line = line_of(f);
        !(marked(line) && committed.contains(line.trim_ascii().as_bytes()))
    });
    Ok(())
}

/// The findings of one piece.
struct Blocked<'a> {
    piece: &'a Piece,
    findings: Vec<Finding>,
}

impl Blocked<'_> {
    fn place(&self, line: usize) -> String {
        let path = &self.piece.path;
        match self.piece.place {
            Place::Command => format!("in the command, line {line}"),
            Place::Prompt => format!("in the prompt, line {line}"),
            Place::Cell => format!("in {path}, line {line} of the cell"),
            Place::File | Place::Field => format!("in {path}, line {line}"),
            Place::NewText => format!("in {path}, line {line} of the new text"),
        }
    }
}

/// The message the agent (for a prompt, the user) reads. It names each finding and says what
/// to do instead, and it never repeats the secret (the transcript is stored and may be shared).
fn message(event: Event, blocked: &[Blocked], show_secrets: bool) -> String {
    let count: usize = blocked.iter().map(|b| b.findings.len()).sum();
    let what = match event {
        Event::Prompt => "prompt: it contains".to_string(),
        Event::Tool("Bash") => "tool call: this Bash command contains".to_string(),
        Event::Tool(tool @ ("Write" | "Edit" | "MultiEdit" | "NotebookEdit")) => {
            format!("tool call: this {tool} would write")
        }
        Event::Tool(tool) => format!("tool call: this {tool} call would send"),
    };
    let mut text = format!("staunch blocked this {what} {count} secret(s):\n");
    for b in blocked {
        for f in &b.findings {
            // Unlike a report, a private address is redacted too: this text goes to the model.
            let secret = crate::finding::shown(&f.secret, show_secrets);
            text.push_str(&format!(
                "- {} {}: {}; secret {secret}\n",
                f.rule_id,
                b.place(f.line),
                f.description
            ));
        }
    }
    text.push_str(match event {
        Event::Prompt => {
            "The prompt was not sent: it would have gone to the model's provider. Remove the \
             secret and send it again; if the agent needs it, keep it in an environment \
             variable or a secret manager and name that instead.\n"
        }
        Event::Tool("Bash") => {
            "Do not put the literal value in the command. Read it from an environment variable \
             (\"$NAME\") or a secret manager at run time; if it is needed and not available, \
             ask the user to provide it that way.\n"
        }
        Event::Tool("Write" | "Edit" | "MultiEdit" | "NotebookEdit") => {
            "Do not write the literal value. Read it at run time from an environment variable \
             or a secret manager (for example os.environ[\"NAME\"], process.env.NAME), and use \
             a placeholder in examples and documentation.\n"
        }
        Event::Tool(_) => {
            "Do not send the literal value: what this tool sends leaves the machine. Refer to \
             the secret by the environment variable or secret manager entry that holds it.\n"
        }
    });
    if let Event::Tool(_) = event {
        text.push_str(
            "If you are sure this is not a real secret, tell the user; do not try to get \
             around this check.\n",
        );
    }
    text
}

#[cfg(test)]
mod tests;
