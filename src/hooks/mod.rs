//! What hooks call. Every hook fails closed: when the scan cannot finish, it blocks with a
//! message saying why, because a hook that lets a secret through on an error is worse than none.

pub mod claude_code;
pub mod pre_receive;
mod ref_updates;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::finding::Outcome;
use crate::finish::finish;
use crate::git::GitRepo;
use crate::scan::git::{scan_commits, scan_named_files, scan_staged};
use crate::session::{build_scanner, Session};
use crate::Verdict;
use ref_updates::is_zero_id;

/// Says how to get past a block when the user is sure, after any failure.
const BYPASS_HINT: &str = "to skip the hook once, if you are sure: STAUNCH_SKIP=1 git commit/push \
                           (recorded in the audit log; --no-verify skips it with no record)";

/// Says why a hook blocks when the scan finished but some content could not be scanned.
fn not_scanned_hint(what: &str) -> String {
    format!(
        "staunch: {what} blocked: some of what it adds could not be scanned (named above), and \
         a hook does not let unscanned content through (`[policy] fail_on_unscannable = false` \
         lets content over the size limits through with a warning); {BYPASS_HINT}"
    )
}

fn blocked_on_error(err: Error, what: &str) -> Error {
    Error::FailedClosed {
        message: format!("{what} blocked: staunch could not finish its scan"),
        cause: Box::new(err),
        hint: BYPASS_HINT,
    }
}

pub fn pre_commit(session: &Session, files: &[PathBuf]) -> Result<Verdict> {
    let run = || -> Result<(Verdict, Outcome)> {
        let scanner = build_scanner(session)?;
        let outcome = if files.is_empty() {
            scan_staged(scanner)?
        } else {
            scan_named_files(scanner, files)?
        };
        Ok((finish(session, &outcome)?, outcome))
    };
    let (verdict, outcome) = run().map_err(|e| blocked_on_error(e, "commit"))?;
    if verdict == Verdict::Failed {
        eprintln!("{}", not_scanned_hint("commit"));
    }
    if verdict == Verdict::Blocked {
        eprint!("{}", block_advice(Blocked::Commit, &outcome));
    }
    Ok(verdict)
}

/// What a hook blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    Commit,
    Push,
}

/// How many files and fingerprints the advice names; the report above lists them all.
const ADVICE_NAMES: usize = 5;

/// `'path'` for a POSIX shell, printed inert: a file name is the change author's choice.
fn shell_quoted(path: &str) -> String {
    let quoted = format!("'{}'", path.replace('\'', r"'\''"));
    crate::text::inert(&quoted).into_owned()
}

/// What to do about a block, step by step: take the secret out, rotate it if it ever left,
/// allow a false alarm (a marker where a comment fits, an allow entry or the baseline where it
/// does not), or skip the hook once, on the record.
pub fn block_advice(what: Blocked, outcome: &Outcome) -> String {
    use crate::finding::is_forbidden_pattern;
    let blocking: Vec<&crate::finding::Finding> =
        outcome.findings.iter().filter(|f| f.blocks).collect();
    let secrets = blocking
        .iter()
        .filter(|f| !is_forbidden_pattern(f.category))
        .count();
    let patterns = blocking.len() - secrets;
    let mut counted = Vec::new();
    if secrets > 0 {
        counted.push(format!("{secrets} secret(s)"));
    }
    if patterns > 0 {
        counted.push(format!(
            "{patterns} forbidden pattern(s) (private addresses, internal URLs)"
        ));
    }
    let counted = match counted.is_empty() {
        true => "findings over the caps".to_string(),
        false => counted.join(" and "),
    };
    let mut paths: Vec<&str> = blocking
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| !p.starts_with('<'))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let more = |total: usize| match total > ADVICE_NAMES {
        true => " ...".to_string(),
        false => String::new(),
    };
    let files: Vec<String> = paths
        .iter()
        .take(ADVICE_NAMES)
        .map(|p| shell_quoted(p))
        .collect();
    let mut fingerprints: Vec<&str> = blocking.iter().map(|f| f.fingerprint.as_str()).collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    let shown_prints: Vec<&str> = fingerprints.iter().take(ADVICE_NAMES).copied().collect();
    let mut text = String::new();
    match what {
        Blocked::Commit => {
            text.push_str(&format!(
                "staunch: commit blocked: the staged changes add {counted} (above). What to do:\n"
            ));
            if !files.is_empty() {
                text.push_str(&format!(
                    "  - take it out of this commit: git restore --staged {}{}\n    then remove it \
                     from the file: read a secret at run time (an environment variable, a secret \
                     manager), keep only a placeholder in the code\n",
                    files.join(" "),
                    more(paths.len())
                ));
            }
        }
        Blocked::Push => {
            text.push_str(&format!(
                "staunch: push blocked: the commits being pushed add {counted} (above). What to do:\n  \
                 - rewrite the commits that add it (`git commit --amend` for the last one, \
                 `git rebase -i COMMIT^` for an older one): a later commit that deletes it \
                 leaves it in history\n"
            ));
        }
    }
    if secrets > 0 {
        text.push_str(
            "  - a real secret that was ever pushed, shared or pasted is exposed: rotate it \
             (revoke it, issue a new one); removing it from the code does not undo that\n",
        );
    }
    text.push_str(&format!(
        "  - a false alarm: put a `staunch:allow` comment on its line; where no comment fits (a key \
         file, test data), add an [[allow]] entry with `paths = [\"...\"]` to .staunch.toml, or \
         record it in the baseline: staunch baseline add {}{}\n",
        shown_prints.join(" "),
        more(fingerprints.len())
    ));
    let verb = match what {
        Blocked::Commit => "commit",
        Blocked::Push => "push",
    };
    text.push_str(&format!(
        "  - to {verb} anyway, once: STAUNCH_SKIP=1 git {verb} ... (staunch warns, and records the \
         skip in the audit log when there is one; --no-verify skips every hook and leaves no record)\n"
    ));
    text
}

/// One line of what git gives a pre-push hook on stdin.
#[derive(Debug, PartialEq, Eq)]
pub struct PushedRef {
    pub local_ref: String,
    pub local_oid: String,
    pub remote_ref: String,
    pub remote_oid: String,
}

/// Parses every line of pre-push stdin (one push can carry several refs, tags and deletions).
pub fn parse_push_lines(input: &str) -> Result<Vec<PushedRef>> {
    let lines = ref_updates::parse_fields(
        input,
        "pre-push",
        "<local ref> <local oid> <remote ref> <remote oid>",
    )?;
    Ok(lines
        .into_iter()
        .map(|[local_ref, local_oid, remote_ref, remote_oid]| PushedRef {
            local_ref,
            local_oid,
            remote_ref,
            remote_oid,
        })
        .collect())
}

pub fn pre_push(session: &Session, remote: Option<&str>) -> Result<Verdict> {
    let run = || -> Result<(Verdict, Outcome)> {
        let scanner = build_scanner(session)?;
        let repo = GitRepo::discover(Path::new("."))?;
        // Under the pre-commit framework the range comes from the environment instead.
        let from_env = (
            std::env::var("PRE_COMMIT_FROM_REF"),
            std::env::var("PRE_COMMIT_TO_REF"),
        );
        // The commits to scan, and the pushed tips: an annotated tag among them brings its
        // message.
        let (commits, tips) = if let (Ok(from), Ok(to)) = from_env {
            let tip = repo.resolve(&to)?;
            let to = repo.resolve_commit(&to)?;
            let hidden = if from.is_empty() || is_zero_id(&from) {
                repo.remote_tips(None)?
            } else {
                vec![repo.resolve_commit(&from)?]
            };
            (repo.commits_between(&[to], &hidden)?, vec![tip])
        } else if let Ok(local) = std::env::var("PRE_COMMIT_LOCAL_BRANCH") {
            // The framework gives no range for a branch new to the remote (and has already
            // consumed git's stdin): push what no remote-tracking branch holds.
            let tip = repo.resolve(&local)?;
            let to = repo.resolve_commit(&local)?;
            let hidden = repo.remote_tips(None)?;
            (repo.commits_between(&[to], &hidden)?, vec![tip])
        } else {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| Error::io("<stdin>", e))?;
            push_commits(&repo, &parse_push_lines(&input)?)?
        };
        let outcome = scan_commits(scanner, &repo, &commits, &tips)?;
        eprintln!(
            "staunch: push{}: {} new commit(s) scanned",
            remote
                .map(|r| format!(" to {}", crate::text::inert(r)))
                .unwrap_or_default(),
            commits.len()
        );
        Ok((finish(session, &outcome)?, outcome))
    };
    let (verdict, outcome) = run().map_err(|e| blocked_on_error(e, "push"))?;
    if verdict == Verdict::Failed {
        eprintln!("{}", not_scanned_hint("push"));
    }
    if verdict == Verdict::Blocked {
        eprint!("{}", block_advice(Blocked::Push, &outcome));
    }
    Ok(verdict)
}

/// The commits a push would send, over every pushed ref, and the objects the pushed refs
/// point at (an annotated tag's own id, not peeled).
fn push_commits(
    repo: &GitRepo,
    refs: &[PushedRef],
) -> Result<(Vec<gix::ObjectId>, Vec<gix::ObjectId>)> {
    let hash_len = repo.object_hash_len();
    let mut all = Vec::new();
    let mut tips = Vec::new();
    let mut remote_tips: Option<Vec<gix::ObjectId>> = None;
    for pushed in refs {
        for oid in [&pushed.local_oid, &pushed.remote_oid] {
            if oid.len() != hash_len {
                return Err(Error::HookInput(format!(
                    "pre-push: object id {oid:?} is not {hash_len} hex digits"
                )));
            }
        }
        if is_zero_id(&pushed.local_oid) {
            continue; // a deletion sends nothing
        }
        if pushed.local_oid != pushed.remote_oid {
            tips.push(repo.parse_id(&pushed.local_oid)?);
        }
        let local = repo.resolve_commit(&pushed.local_oid)?;
        let hidden = if !is_zero_id(&pushed.remote_oid)
            && repo.has_object(repo.parse_id(&pushed.remote_oid)?)
        {
            vec![repo.resolve_commit(&pushed.remote_oid)?]
        } else {
            // A new branch, or a remote tip we do not have: what no remote-tracking branch
            // of any remote already holds. Pushing a branch of a clone to a fork or to an
            // empty repository sends only its own commits in effect: the rest came from
            // somewhere, and was scanned when it left.
            if remote_tips.is_none() {
                remote_tips = Some(repo.remote_tips(None)?);
            }
            remote_tips.clone().unwrap_or_default()
        };
        all.extend(repo.commits_between(&[local], &hidden)?);
    }
    all.sort();
    all.dedup();
    Ok((all, tips))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_line_and_rejects_garbage() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let input =
            format!("refs/heads/main {a} refs/heads/main {z}\n(delete) {z} refs/heads/old {a}\n");
        let refs = parse_push_lines(&input).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].local_ref, "(delete)");
        assert!(parse_push_lines("just two\n")
            .unwrap_err()
            .to_string()
            .contains("line 1"));
        assert!(parse_push_lines("").unwrap().is_empty());
    }
}
