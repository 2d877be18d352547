//! The audit log: one JSON line per event, appended to a file a security team can collect, so
//! there is evidence of what was scanned, what was blocked and who skipped a hook.
//!
//! A line is `{"timestamp", "level", "component", "event", "result", "metadata"}`; the metadata
//! holds counts, paths, rule ids, commit ids and fingerprints, never a secret or any part of one
//! (findings' secrets are not read here, and error messages are scrubbed of long tokens).
//!
//! Hooks of several repositories, or several worktrees, may append at the same moment: each line
//! goes out in a single `write` on a file opened with `O_APPEND`, which the kernel places whole
//! at the end. The file is created 0600. A line that cannot be written is an error, never
//! silently dropped: a scan then exits 2 and a hook blocks.
//!
//! The log is one value per run, built by the session from `--audit-log` ([`AuditLog::start`])
//! and later, from the configuration ([`AuditLog::use_configured_path`]), and passed down to
//! whoever records; events recorded before a path is known wait in memory for it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::cli::{Cli, Command, HookKind};
use crate::error::{Error, Result};
use crate::finding::Outcome;
use crate::Verdict;

/// At most this many findings are listed in a `scan.finished` event (the counts stay exact).
const MAX_LISTED_FINDINGS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[derive(Default)]
struct State {
    path: Option<PathBuf>,
    /// `--audit-log` was given: it wins over the configuration.
    from_flag: bool,
    /// A write failed and was reported; later events are not attempted again.
    broken: bool,
    component: String,
    /// What the run scans (`staged`, `range`, `push`, ...), when it is a scan.
    source: Option<String>,
    started: Option<Instant>,
    scan_finished: bool,
    /// Lines recorded before the log's path is known.
    pending: Vec<Vec<u8>>,
}

/// One run's audit log. Recording takes `&self`: the state sits behind a lock, so the value
/// can be shared by reference wherever the run goes.
#[derive(Default)]
pub struct AuditLog {
    state: Mutex<State>,
}

impl AuditLog {
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// The log for this run, from the command line, with `scan.started` recorded for scans
    /// and hooks.
    pub fn start(cli: &Cli) -> Result<AuditLog> {
        let (component, source) = describe(&cli.command);
        let log = AuditLog {
            state: Mutex::new(State {
                path: cli.common.audit_log.clone(),
                from_flag: cli.common.audit_log.is_some(),
                component: component.to_string(),
                source: source.clone(),
                started: Some(Instant::now()),
                ..State::default()
            }),
        };
        let Some(source) = source else {
            return Ok(log);
        };
        let mut metadata = context();
        metadata.insert("source".into(), json!(source));
        if let Command::Scan(args) = &cli.command {
            if let Some(range) = &args.range {
                metadata.insert("range".into(), json!(scrub(range)));
            }
            if !args.paths.is_empty() {
                let paths: Vec<String> =
                    args.paths.iter().map(|p| p.display().to_string()).collect();
                metadata.insert("paths".into(), json!(paths));
            }
        }
        log.record(
            Level::Info,
            "scan.started",
            "started",
            Value::Object(metadata),
        )?;
        Ok(log)
    }

    /// The log path from the configuration: used unless `--audit-log` was given. Events
    /// recorded so far in this run are written to it now.
    pub fn use_configured_path(&self, path: &Path) -> Result<()> {
        let pending = self.with_state(|state| {
            if state.from_flag || state.path.is_some() {
                return None;
            }
            state.path = Some(path.to_path_buf());
            Some(std::mem::take(&mut state.pending))
        });
        for line in pending.unwrap_or_default() {
            append(path, &line)?;
        }
        Ok(())
    }

    /// The file events go to, if any.
    pub fn path(&self) -> Option<PathBuf> {
        self.with_state(|state| state.path.clone())
    }

    /// Appends one event. `metadata` must hold no secret: counts, ids, paths, fingerprints.
    pub fn record(&self, level: Level, event: &str, result: &str, metadata: Value) -> Result<()> {
        let (component, target, broken) =
            self.with_state(|state| (state.component.clone(), state.path.clone(), state.broken));
        if broken {
            return Ok(());
        }
        let component = if component.is_empty() {
            "staunch".to_string()
        } else {
            component
        };
        let line = format_line(&timestamp(), level, &component, event, result, metadata);
        match target {
            Some(path) => {
                append(&path, &line).inspect_err(|_| self.with_state(|s| s.broken = true))
            }
            None => {
                self.with_state(|state| state.pending.push(line));
                Ok(())
            }
        }
    }

    /// `scan.finished`: the counts, the verdict and where each finding is, by rule id, path, line,
    /// commit and fingerprint.
    pub fn scan_finished(&self, outcome: &Outcome, verdict: Verdict) -> Result<()> {
        let (source, started) = self.with_state(|state| {
            state.scan_finished = true;
            (state.source.clone(), state.started)
        });
        let listed: Vec<Value> = outcome
            .findings
            .iter()
            .take(MAX_LISTED_FINDINGS)
            .map(|f| {
                json!({
                    "rule_id": f.rule_id,
                    "path": f.path,
                    "line": f.line,
                    "commit": f.commit,
                    "fingerprint": f.fingerprint,
                })
            })
            .collect();
        let mut rules: std::collections::BTreeMap<&str, u64> = Default::default();
        for finding in &outcome.findings {
            *rules.entry(finding.rule_id.as_str()).or_default() += 1;
        }
        let stats = &outcome.stats;
        let mut metadata = context();
        metadata.insert("source".into(), json!(source));
        metadata.insert("blocked".into(), json!(verdict == Verdict::Blocked));
        metadata.insert("findings".into(), json!(outcome.findings.len()));
        metadata.insert("rules".into(), json!(rules));
        metadata.insert("files".into(), json!(stats.files));
        metadata.insert("bytes".into(), json!(stats.bytes));
        metadata.insert("skipped".into(), json!(stats.skipped));
        metadata.insert("errors".into(), json!(outcome.errors.len()));
        metadata.insert("allowed".into(), json!(stats.allowed));
        metadata.insert("duration_ms".into(), json!(elapsed_ms(started)));
        metadata.insert("locations".into(), json!(listed));
        if stats.archives > 0 || !outcome.not_scanned.is_empty() {
            metadata.insert("archives".into(), json!(stats.archives));
            metadata.insert("archive_entries".into(), json!(stats.archive_entries));
            metadata.insert(
                "archive_entries_skipped".into(),
                json!(stats.archive_entries_skipped),
            );
            metadata.insert(
                "archive_entries_encrypted".into(),
                json!(stats.archive_entries_encrypted),
            );
            // What was not scanned, by path and reason; a reader's message is scrubbed like any
            // other error text.
            let not_scanned: Vec<Value> = outcome
                .not_scanned
                .iter()
                .take(MAX_LISTED_FINDINGS)
                .map(|entry| {
                    json!({
                        "path": entry.path,
                        "reason": scrub(&entry.reason.to_string()),
                    })
                })
                .collect();
            metadata.insert("not_scanned".into(), json!(not_scanned));
            if outcome.not_scanned.len() > MAX_LISTED_FINDINGS {
                metadata.insert("not_scanned_truncated".into(), json!(true));
            }
        }
        if outcome.findings.len() > MAX_LISTED_FINDINGS {
            metadata.insert("locations_truncated".into(), json!(true));
        }
        let (level, result) = verdict_result(verdict);
        self.record(level, "scan.finished", result, Value::Object(metadata))
    }

    /// Ends the run's record: an `error` event when it failed, and `scan.finished` (without
    /// counts) for a scan that ended without reporting any. An audit write failure met here is
    /// printed, since the run's own error, if any, is the one to return.
    pub fn run_finished(&self, result: Result<Verdict>) -> Result<Verdict> {
        let (scanning, started, source) = self.with_state(|state| {
            (
                state.source.is_some() && !state.scan_finished,
                state.started,
                state.source.clone(),
            )
        });
        let written = match &result {
            Err(err) => {
                let mut metadata = context();
                metadata.insert("source".into(), json!(source));
                metadata.insert("message".into(), json!(scrub(&err.to_string())));
                metadata.insert("duration_ms".into(), json!(elapsed_ms(started)));
                self.record(Level::Error, "error", "error", Value::Object(metadata))
            }
            Ok(verdict) if scanning => {
                let mut metadata = context();
                metadata.insert("source".into(), json!(source));
                metadata.insert("blocked".into(), json!(*verdict == Verdict::Blocked));
                metadata.insert("duration_ms".into(), json!(elapsed_ms(started)));
                let (level, outcome) = verdict_result(*verdict);
                self.record(level, "scan.finished", outcome, Value::Object(metadata))
            }
            Ok(_) => Ok(()),
        };
        match (result, written) {
            (Ok(_), Err(audit)) => Err(audit),
            (Err(err), Err(audit)) => {
                eprintln!("staunch: error: {audit}");
                Err(err)
            }
            (result, Ok(())) => result,
        }
    }
}

fn verdict_result(verdict: Verdict) -> (Level, &'static str) {
    match verdict {
        Verdict::Clean => (Level::Info, "clean"),
        Verdict::Blocked => (Level::Warn, "blocked"),
        Verdict::Failed => (Level::Error, "failed"),
    }
}

fn elapsed_ms(started: Option<Instant>) -> u64 {
    started.map_or(0, |s| s.elapsed().as_millis() as u64)
}

/// The component a command runs as, and what it scans if it scans.
fn describe(command: &Command) -> (&'static str, Option<String>) {
    match command {
        Command::Scan(args) => {
            let source = if args.staged {
                "staged"
            } else if args.range.is_some() {
                "range"
            } else if args.all {
                "history"
            } else if args.stdin {
                "stdin"
            } else {
                "paths"
            };
            ("scan", Some(source.into()))
        }
        Command::Hook { kind } => match kind {
            HookKind::PreCommit { files } if files.is_empty() => {
                ("hook.pre-commit", Some("staged".into()))
            }
            HookKind::PreCommit { .. } => ("hook.pre-commit", Some("files".into())),
            HookKind::PrePush { .. } => ("hook.pre-push", Some("push".into())),
            HookKind::PreReceive => ("hook.pre-receive", Some("receive".into())),
            HookKind::ClaudeCode { .. } => ("hook.claude-code", Some("tool-input".into())),
        },
        Command::Install(_) => ("install", None),
        Command::Uninstall(_) => ("uninstall", None),
        _ => ("staunch", None),
    }
}

/// Who and where: enough to tie an event to a person and a repository.
fn context() -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    metadata.insert("pid".into(), json!(std::process::id()));
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    metadata.insert("user".into(), json!(user));
    // What hosting servers tell their hooks about the person pushing.
    let pusher = ["GL_USERNAME", "GITEA_PUSHER_NAME", "REMOTE_USER"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    if let Some(pusher) = pusher {
        metadata.insert("pusher".into(), json!(pusher));
    }
    if let Ok(cwd) = std::env::current_dir() {
        metadata.insert("cwd".into(), json!(cwd.display().to_string()));
    }
    metadata
}

fn format_line(
    timestamp: &str,
    level: Level,
    component: &str,
    event: &str,
    result: &str,
    metadata: Value,
) -> Vec<u8> {
    let value = json!({
        "timestamp": timestamp,
        "level": level.as_str(),
        "component": component,
        "event": event,
        "result": result,
        "metadata": metadata,
    });
    let mut line = serde_json::to_vec(&value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Now, RFC 3339 in UTC with milliseconds: `2024-05-01T12:00:00.123Z`.
fn timestamp() -> String {
    format!("{:.3}", jiff::Timestamp::now())
}

/// Appends `line` in one write. The file is created 0600; an existing file keeps its mode.
fn append(path: &Path, line: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::io(
            path,
            std::io::Error::new(e.kind(), format!("cannot append to the audit log: {e}")),
        )
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    // One write: O_APPEND positions and writes it as a unit, so concurrent writers cannot
    // interleave. A short write would leave half a line; report it rather than retry.
    let written = file.write(line).map_err(fail)?;
    if written != line.len() {
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short write ({written} of {} bytes)", line.len()),
        )));
    }
    Ok(())
}

/// Replaces long runs of token characters (what a credential looks like) in free text such as
/// an error message, keeping object ids, words and paths readable.
pub fn scrub(text: &str) -> String {
    fn token_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '=' | '~')
    }
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let hex = token.chars().all(|c| c.is_ascii_hexdigit());
        let mixed = token.chars().any(|c| c.is_ascii_digit())
            && token.chars().any(|c| c.is_ascii_alphabetic());
        if token.len() >= 16 && mixed && !hex {
            out.push_str("[redacted]");
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if token_char(c) {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_json_object_with_every_field() {
        let line = format_line(
            "2024-01-01T00:00:00.000Z",
            Level::Warn,
            "hook.pre-commit",
            "scan.finished",
            "blocked",
            json!({"findings": 1}),
        );
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(line.ends_with(b"\n"));
        let value: Value = serde_json::from_slice(&line).unwrap();
        for key in [
            "timestamp",
            "level",
            "component",
            "event",
            "result",
            "metadata",
        ] {
            assert!(value.get(key).is_some(), "{key} missing");
        }
        assert_eq!(value["level"], "warn");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let ts = timestamp();
        assert_eq!(ts.len(), "2024-01-01T00:00:00.000Z".len(), "{ts}");
        assert!(ts.ends_with('Z'));
        assert!(ts.parse::<jiff::Timestamp>().is_ok());
    }

    #[test]
    fn scrub_hides_tokens_and_keeps_ids_and_words() {
        let key = format!("AKIA{}", "QX7TZ4MB2WLRN5PD");
        let text = format!(
            "revision \"{key}\" not found; commit 0123456789abcdef0123456789abcdef01234567 in src/app.rs"
        );
        let scrubbed = scrub(&text);
        assert!(!scrubbed.contains("QX7TZ4"), "{scrubbed}");
        assert!(scrubbed.contains("0123456789abcdef0123456789abcdef01234567"));
        assert!(scrubbed.contains("src/app.rs"));
        assert!(scrubbed.contains("not found"));
    }
}
