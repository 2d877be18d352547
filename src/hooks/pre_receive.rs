//! The server-side gate: `staunch hook pre-receive`, run by git in the receiving (usually bare)
//! repository before it updates any ref. A client can skip its own hooks; a server's cannot be
//! skipped, so this is where a team enforces the policy.
//!
//! git writes one `<old> <new> <ref>` line per updated ref on stdin. What a push brings is the
//! commits reachable from the new tips but from no ref the repository already has: for an update
//! that is part of `old..new` (commits already on another branch were accepted before), for a new
//! ref the commits that are new to the repository, and for a deletion nothing. Their added lines
//! are scanned. The objects are still in git's quarantine directory at that point, which
//! [`GitRepo::discover_receiving`] makes visible.
//!
//! Anything that stops the scan rejects the push (fail closed); `STAUNCH_SKIP` is not honoured
//! here, the server is the last gate.

use std::io::Read;
use std::path::Path;

use super::ref_updates::is_zero_id;
use crate::error::{Error, Result};
use crate::finish::finish;
use crate::git::GitRepo;
use crate::scan::git::scan_commits;
use crate::session::{build_scanner_for_pushed, Session};
use crate::Verdict;

/// One line of pre-receive input.
#[derive(Debug, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub name: String,
}

/// Parses every line git gives a pre-receive hook.
pub fn parse_lines(input: &str) -> Result<Vec<RefUpdate>> {
    let lines =
        super::ref_updates::parse_fields(input, "pre-receive", "<old oid> <new oid> <ref>")?;
    Ok(lines
        .into_iter()
        .map(|[old, new, name]| RefUpdate { old, new, name })
        .collect())
}

/// What the updates bring: the commits reachable from a new tip and from no existing ref, and
/// the new tips themselves (an annotated tag's own id, whose message is scanned).
pub fn received_commits(
    repo: &GitRepo,
    updates: &[RefUpdate],
) -> Result<(Vec<gix::ObjectId>, Vec<gix::ObjectId>)> {
    let hash_len = repo.object_hash_len();
    let mut tips = Vec::new();
    let mut new_objects = Vec::new();
    let mut hidden = repo.ref_tips()?;
    for update in updates {
        for oid in [&update.old, &update.new] {
            if oid.len() != hash_len || !oid.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::HookInput(format!(
                    "pre-receive: {}: object id {oid:?} is not {hash_len} hex digits",
                    update.name
                )));
            }
        }
        if is_zero_id(&update.new) {
            continue; // a deletion brings nothing
        }
        if update.new != update.old {
            new_objects.push(repo.parse_id(&update.new)?);
        }
        // A tag is scanned through the commit it points at; a ref to a tree or blob cannot be
        // scanned as commits and rejects the push (fail closed).
        tips.push(repo.resolve_commit(&update.new).map_err(|e| Error::Ref {
            name: update.name.clone(),
            cause: Box::new(e),
        })?);
        if !is_zero_id(&update.old) {
            if let Ok(old) = repo.resolve_commit(&update.old) {
                hidden.push(old);
            }
        }
    }
    if tips.is_empty() {
        return Ok((Vec::new(), new_objects));
    }
    Ok((repo.commits_between(&tips, &hidden)?, new_objects))
}

pub fn run(session: &Session) -> Result<Verdict> {
    let scan = || -> Result<Verdict> {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| Error::io("<stdin>", e))?;
        let updates = parse_lines(&input)?;
        let scanner = build_scanner_for_pushed(session)?;
        let repo = GitRepo::discover_receiving(Path::new("."))?;
        let (commits, tips) = received_commits(&repo, &updates)?;
        let outcome = scan_commits(&scanner, &repo, &commits, &tips)?;
        finish(session, &outcome)
    };
    let verdict = scan().map_err(|e| Error::FailedClosed {
        message: "push rejected: staunch could not finish its scan".into(),
        cause: Box::new(e),
        hint: "(a server-side check fails closed; ask the server's administrators)",
    })?;
    if verdict == Verdict::Failed {
        eprintln!(
            "staunch: push rejected: some of what it adds could not be scanned (named above), \
             and a server-side check does not let unscanned content through (the server's \
             `[policy] fail_on_unscannable = false` lets content over the size limits through \
             with a warning)."
        );
    }
    if verdict == Verdict::Blocked {
        eprintln!(
            "staunch: push rejected: the pushed commits add secrets (see above).\n\
             Rewrite those commits to remove them (a later commit deleting a secret leaves it in \
             history), rotate any real credential, and push again. A false alarm can be marked \
             with a `staunch:allow` comment on its line."
        );
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_updates_new_refs_and_deletions() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let input = format!("{z} {a} refs/heads/new\n{a} {z} refs/heads/gone\n\n");
        let updates = parse_lines(&input).unwrap();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0].name, "refs/heads/new");
        assert!(is_zero_id(&updates[1].new));
        assert!(parse_lines("a b\n")
            .unwrap_err()
            .to_string()
            .contains("line 1"));
    }
}
