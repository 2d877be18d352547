//! `staunch install` / `uninstall`: wires the git hooks into a repository (or, with
//! `--claude-code`, the agent hook into Claude Code's settings).
//!
//! The hooks are the scripts in `hooks/`, compiled in, with the binary's absolute path at
//! install time written into them (they fall back to `staunch` on PATH, and fail closed when
//! neither exists). They go into the directory git really runs hooks from (`core.hooksPath`, the
//! common dir of linked worktrees, a submodule's git dir), found by [`GitRepo::hooks_dir`].
//!
//! A hook staunch did not write is never overwritten: it is renamed to
//! `<hook>.staunch-chained`, and staunch's hook runs it first and stops if it fails. So
//! installing never changes what already ran, and `uninstall` renames it back, leaving the
//! directory as it was. staunch's hooks are recognised by their marker line. Installing again
//! is a no-op, or refreshes staunch's own hooks (a moved binary, a new version).

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::audit::Level;
use crate::cli::{HookKind, InstallArgs};
use crate::error::{Error, Result};
use crate::git::GitRepo;
use crate::session::Session;
use crate::Verdict;

mod claude_settings;
mod json_edit;

/// The client-side hooks `install` writes, as shipped in `hooks/`.
const HOOKS: [(&str, &str); 2] = [
    ("pre-commit", include_str!("../../hooks/pre-commit")),
    ("pre-push", include_str!("../../hooks/pre-push")),
];

/// The line that marks a hook as staunch's own; written right after the shebang.
const MARKER: &str =
    "# staunch-install: written by `staunch install`; `staunch uninstall` removes it";

/// Written into a hook when `install` had to create the hooks directory, so that `uninstall`
/// removes the directory again once it is empty.
const CREATED_DIR: &str = "# staunch-install: created the hooks directory";

/// Where an existing hook goes while staunch's hook is installed.
pub const CHAINED_SUFFIX: &str = ".staunch-chained";

/// The template lines `install` fills in.
const BIN_LINE: &str = "staunch_bin=${STAUNCH_BIN:-}";
const AUDIT_LINE: &str = "audit_log=${STAUNCH_AUDIT_LOG:-}";

pub fn install(session: &Session, args: &InstallArgs) -> Result<Verdict> {
    let common = &session.common;
    if args.claude_code {
        return claude_settings::install(common, args);
    }
    let repo = GitRepo::discover(Path::new("."))?;
    let dir = clean(&repo.hooks_dir()?);
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("<staunch binary>", e))?;
    if let Some(build_dir) = build_directory(&binary) {
        let on_path = staunch_on_path();
        eprintln!(
            "staunch: warning: the hooks will run {}, which is inside the build directory {}: \
             `cargo clean` (or a rebuild) removes it, and the hooks then fall back to `staunch` \
             on PATH ({}).\n  Install the binary where it stays, `cargo install --locked --path .` \
             in staunch's source, and run `staunch install` again with that one",
            binary.display(),
            build_dir.display(),
            match &on_path {
                Some(found) => format!("now {}", found.display()),
                None => "there is none now".to_string(),
            }
        );
    }
    let audit_log = match &common.audit_log {
        Some(path) => Some(absolute(path)?),
        None => None,
    };
    // Check every hook before touching any, so a refusal leaves nothing half done.
    for (name, _) in HOOKS {
        check_installable(&dir, name, args.force)?;
    }
    let created_dir = !dir.exists();
    if created_dir {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    for (name, template) in HOOKS {
        let path = dir.join(name);
        let chained = chained_path(&dir, name);
        let existing = read_hook(&path)?;
        let keep_created =
            created_dir || existing.as_deref().is_some_and(|t| t.contains(CREATED_DIR));
        let script = render(template, &binary, audit_log.as_deref(), keep_created)?;
        let action = match existing {
            Some(text) if is_ours(&text) && text == script => {
                crate::outln!("staunch: {name} hook already installed: {}", path.display());
                continue;
            }
            Some(text) if is_ours(&text) => {
                write_hook(&path, &script)?;
                crate::outln!("staunch: {name} hook updated: {}", path.display());
                "updated"
            }
            Some(_) => {
                if exists(&chained) {
                    // Only with --force (checked above): a leftover of an earlier install that
                    // nothing runs any more.
                    std::fs::remove_file(&chained).map_err(|e| Error::io(&chained, e))?;
                }
                std::fs::rename(&path, &chained).map_err(|e| Error::io(&path, e))?;
                write_hook(&path, &script)?;
                crate::outln!(
                    "staunch: {name} hook installed: {}\n  \
                     the hook that was there is now {} and runs first",
                    path.display(),
                    chained.display()
                );
                "installed"
            }
            None => {
                write_hook(&path, &script)?;
                crate::outln!("staunch: {name} hook installed: {}", path.display());
                "installed"
            }
        };
        session.audit.record(
            Level::Info,
            "hook.installed",
            action,
            json!({
                "hook": name,
                "path": path.display().to_string(),
                "chained": exists(&chained).then(|| chained.display().to_string()),
                "binary": binary.display().to_string(),
            }),
        )?;
    }
    crate::outln!(
        "  the hooks run {} (then `staunch` on PATH if it moves; run `staunch install` again \
         after moving it)\n  skip once: STAUNCH_SKIP=1 git commit ... (or git commit --no-verify)",
        binary.display()
    );
    Ok(Verdict::Clean)
}

pub fn uninstall(session: &Session, args: &InstallArgs) -> Result<Verdict> {
    let common = &session.common;
    if args.claude_code {
        return claude_settings::uninstall(common, args);
    }
    let repo = GitRepo::discover(Path::new("."))?;
    let dir = clean(&repo.hooks_dir()?);
    let mut created_dir = false;
    let mut changed = false;
    for (name, _) in HOOKS {
        let path = dir.join(name);
        let chained = chained_path(&dir, name);
        let existing = read_hook(&path)?;
        let ours = existing.as_deref().is_some_and(is_ours);
        if ours {
            created_dir |= existing.as_deref().is_some_and(|t| t.contains(CREATED_DIR));
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        } else if existing.is_some() {
            if exists(&chained) {
                eprintln!(
                    "staunch: {} is not staunch's hook: left alone, and so is {} (the hook \
                     staunch had chained); decide which one to keep",
                    path.display(),
                    chained.display()
                );
            } else {
                crate::outln!(
                    "staunch: {} is not staunch's hook: left alone",
                    path.display()
                );
            }
            continue;
        }
        let restored = exists(&chained);
        if restored {
            std::fs::rename(&chained, &path).map_err(|e| Error::io(&chained, e))?;
        }
        if !ours && !restored {
            continue;
        }
        changed = true;
        match (ours, restored) {
            (true, true) => crate::outln!(
                "staunch: {name} hook removed; restored the hook it had chained: {}",
                path.display()
            ),
            (true, false) => crate::outln!("staunch: {name} hook removed: {}", path.display()),
            _ => crate::outln!(
                "staunch: restored the {name} hook staunch had chained: {}",
                path.display()
            ),
        }
        session.audit.record(
            Level::Info,
            "hook.removed",
            if ours { "removed" } else { "restored" },
            json!({
                "hook": name,
                "path": path.display().to_string(),
                "restored": restored,
            }),
        )?;
    }
    if created_dir && std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_none()) {
        std::fs::remove_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    if !changed {
        crate::outln!(
            "staunch: no staunch hooks in {}: nothing to remove",
            dir.display()
        );
    }
    Ok(Verdict::Clean)
}

/// `STAUNCH_SKIP=1` before a client-side git hook: skip this one run, loudly, and record it.
/// The server-side and agent hooks do not honour it.
pub fn skip_requested(session: &Session, kind: &HookKind) -> Result<bool> {
    let hook = match kind {
        HookKind::PreCommit { .. } => "pre-commit",
        HookKind::PrePush { .. } => "pre-push",
        _ => return Ok(false),
    };
    let Some(value) = std::env::var_os("STAUNCH_SKIP") else {
        return Ok(false);
    };
    let value = value.to_string_lossy().trim().to_ascii_lowercase();
    match value.as_str() {
        "" | "0" | "false" | "no" => return Ok(false),
        "1" | "true" | "yes" => {}
        other => {
            eprintln!("staunch: STAUNCH_SKIP={other:?} not understood (use 1 to skip): scanning");
            return Ok(false);
        }
    }
    eprintln!(
        "staunch: warning: {hook} scan SKIPPED (STAUNCH_SKIP is set); nothing was checked{}",
        if session.audit.path().is_some() {
            "; recorded in the audit log"
        } else {
            ""
        }
    );
    session.audit.record(
        Level::Warn,
        "scan.skipped",
        "skipped",
        json!({
            "hook": hook,
            "via": "STAUNCH_SKIP",
            "user": std::env::var("USER").ok(),
            "cwd": std::env::current_dir().ok().map(|d| d.display().to_string()),
        }),
    )?;
    Ok(true)
}

/// Fails when installing `name` would have to overwrite a hook staunch did not write: an
/// existing foreign hook can only be chained if its `.staunch-chained` slot is free.
fn check_installable(dir: &Path, name: &str, force: bool) -> Result<()> {
    let path = dir.join(name);
    let chained = chained_path(dir, name);
    let foreign = read_hook(&path)?.is_some_and(|text| !is_ours(&text));
    if foreign && exists(&chained) && !force {
        return Err(Error::Usage(format!(
            "{} is not staunch's hook, and {} already exists (left by an earlier install), so \
             the hook cannot be chained without losing one of them.\n  Look at both and remove \
             the one you do not need, or run `staunch install --force` to delete {}",
            path.display(),
            chained.display(),
            chained.display()
        )));
    }
    Ok(())
}

/// `path` as a person would write it (`/repo/./.git/hooks`, `/repo/sub/../.git/hooks`: both
/// `/repo/.git/hooks`): the deepest part of it that exists, resolved by the file system (so a
/// `..` after a symlink goes where the kernel goes), then the rest without `.` components.
fn clean(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    for existing in path.ancestors() {
        if let Ok(resolved) = std::fs::canonicalize(existing) {
            let mut out = resolved;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match existing.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            None => break,
        }
    }
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The build directory `binary` lives in, if it does: the nearest directory above it that
/// carries a cache directory tag (`CACHEDIR.TAG` with the standard signature, which cargo
/// writes into every target directory, wherever `CARGO_TARGET_DIR` puts it, and which other
/// build tools write too). What is in there is rebuilt or deleted at will.
fn build_directory(binary: &Path) -> Option<PathBuf> {
    const SIGNATURE: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55";
    binary.ancestors().skip(1).find_map(|dir| {
        let tag = std::fs::read(dir.join("CACHEDIR.TAG")).ok()?;
        tag.starts_with(SIGNATURE).then(|| dir.to_path_buf())
    })
}

/// The `staunch` the hooks would fall back to: the first on PATH.
fn staunch_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("staunch"))
        .find(|candidate| candidate.is_file())
}

fn chained_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{CHAINED_SUFFIX}"))
}

/// Whether anything, even a dangling symlink, is at `path`.
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The text of the hook at `path`: `None` if there is none, `Some("")` for something that is
/// not a readable text file (a symlink, a directory, a binary), which is never staunch's.
fn read_hook(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    if !meta.is_file() {
        return Ok(Some(String::new()));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(Some(String::from_utf8(bytes).unwrap_or_default()))
}

fn is_ours(text: &str) -> bool {
    text.lines().nth(1) == Some(MARKER)
}

/// A hook script from its template: the marker after the shebang, the binary's path and the
/// audit log filled in.
fn render(
    template: &str,
    binary: &Path,
    audit_log: Option<&Path>,
    created_dir: bool,
) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 200);
    let mut bin_lines = 0;
    for (number, line) in template.lines().enumerate() {
        if line == BIN_LINE {
            out.push_str(&format!("staunch_bin={}", shell_quote(binary)?));
            bin_lines += 1;
        } else if line == AUDIT_LINE && audit_log.is_some() {
            let log = audit_log.unwrap_or(Path::new(""));
            out.push_str(&format!("audit_log={}", shell_quote(log)?));
        } else {
            out.push_str(line);
        }
        out.push('\n');
        if number == 0 {
            out.push_str(MARKER);
            out.push('\n');
            if created_dir {
                out.push_str(CREATED_DIR);
                out.push('\n');
            }
        }
    }
    debug_assert_eq!(bin_lines, 1, "hook template without `{BIN_LINE}`");
    Ok(out)
}

/// `path` in single quotes for sh.
fn shell_quote(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{}: path is not valid UTF-8", path.display())))?;
    if text.contains('\n') {
        return Err(Error::Usage(format!("{text:?}: path contains a newline")));
    }
    Ok(format!("'{}'", text.replace('\'', r"'\''")))
}

/// Writes an executable hook atomically: a temporary file in the same directory, renamed.
fn write_hook(path: &Path, script: &str) -> Result<()> {
    let temp = path.with_file_name(format!(
        ".{}.staunch-tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&temp, script).map_err(|e| Error::io(&temp, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(&temp, e))?;
    }
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(path, e)
    })
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()
        .map_err(|e| Error::io(".", e))?
        .join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_the_lines_install_fills_in() {
        for (name, template) in HOOKS {
            assert!(template.starts_with("#!/bin/sh\n"), "{name}");
            assert_eq!(
                template.lines().filter(|l| *l == BIN_LINE).count(),
                1,
                "{name}"
            );
            assert_eq!(
                template.lines().filter(|l| *l == AUDIT_LINE).count(),
                1,
                "{name}"
            );
            assert!(
                !is_ours(template),
                "{name}: a copied template is not an installed hook"
            );
        }
    }

    #[test]
    fn clean_paths_have_no_dot_components() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        assert_eq!(
            clean(&root.join("./sub/../.git/hooks")),
            root.join(".git/hooks"),
            "a path that does not exist yet is resolved as far as it exists"
        );
        assert_eq!(clean(&root.join("sub/./")), root.join("sub"));
    }

    #[test]
    fn a_cache_directory_tag_marks_a_build_directory() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("target/release/staunch");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        assert_eq!(build_directory(&bin), None);
        std::fs::write(
            dir.path().join("target/CACHEDIR.TAG"),
            "not the signature\n",
        )
        .unwrap();
        assert_eq!(build_directory(&bin), None, "a tag needs its signature");
        std::fs::write(
            dir.path().join("target/CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n# made by a test\n",
        )
        .unwrap();
        assert_eq!(build_directory(&bin), Some(dir.path().join("target")));
    }

    #[test]
    fn rendered_hooks_carry_the_marker_the_binary_and_the_log() {
        let script = render(
            HOOKS[0].1,
            Path::new("/opt/it's here/staunch"),
            Some(Path::new("/var/log/staunch.jsonl")),
            true,
        )
        .unwrap();
        assert!(is_ours(&script));
        assert!(script.contains(CREATED_DIR));
        assert!(script.contains(r"staunch_bin='/opt/it'\''s here/staunch'"));
        assert!(script.contains("audit_log='/var/log/staunch.jsonl'"));
        let plain = render(HOOKS[1].1, Path::new("/bin/staunch"), None, false).unwrap();
        assert!(plain.contains(AUDIT_LINE));
        assert!(!plain.contains(CREATED_DIR));
    }
}
