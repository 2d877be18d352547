//! Drives git's fragments through the matcher: the staged change, named files as the index
//! holds them, the tracked files, a list of commits (a push, a range) and the whole history.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::finding::Outcome;
use crate::git::{BlobJudgement, Changes, GitFragments, GitRepo};
use crate::scan;
use crate::scan::Scanner;

/// What `scan --staged` and the pre-commit hook scan.
pub fn scan_staged(scanner: &Scanner) -> Result<Outcome> {
    let repo = GitRepo::discover(Path::new("."))?;
    let staged = repo.staged(scanner.limits.max_file_size)?;
    scan_change(scanner, &repo, staged)
}

/// Scans what a change scan (staged, pushed, received, range) found: its fragments, then each
/// blob over `scanner.limits.max_file_size` on its own, so only one is in memory at a time; then what could
/// not be scanned at all fails the scan (named, exit 2) or, if `[policy] fail_on_unscannable =
/// false`, is named on stderr and counted as skipped.
fn scan_change(scanner: &Scanner, repo: &GitRepo, found: GitFragments) -> Result<Outcome> {
    let started = crate::scan::run_started();
    let mut outcome = scan::scan_fragments(scanner, found.fragments, scan::NotText::Skip);
    outcome.stats.skipped += found.skipped;
    let mut unscannable = found.unscannable;
    for large in &found.large {
        let mut part = GitFragments::default();
        repo.read_large(large, scanner.limits.max_file_size, &mut part)?;
        outcome.merge(scan::scan_fragments(
            scanner,
            part.fragments,
            scan::NotText::Skip,
        ));
        outcome.stats.skipped += part.skipped;
        unscannable.extend(part.unscannable);
    }
    for err in unscannable {
        if scanner.limits.fail_on_unscannable {
            outcome.stats.errors += 1;
            outcome.errors.push(err);
        } else {
            eprintln!(
                "staunch: warning: not scanned ([policy] fail_on_unscannable = false): {}",
                crate::text::inert(&err.to_string())
            );
            outcome.stats.skipped += 1;
        }
    }
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
}

/// The pre-commit framework's view: of the FILEs named, a staged one contributes its added
/// lines and any other (`pre-commit run --all-files`, `--files X`) its whole content, so
/// naming a file always scans it.
pub fn scan_named_files(scanner: &Scanner, files: &[PathBuf]) -> Result<Outcome> {
    let repo = GitRepo::discover(Path::new("."))?;
    let mut staged = repo.staged(scanner.limits.max_file_size)?;
    let root = repo.work_dir().unwrap_or_else(|| PathBuf::from("."));
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let relative = |file: &PathBuf| -> String {
        let absolute = cwd.join(file);
        let rel = absolute
            .strip_prefix(&root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| file.clone());
        git_path(&rel.to_string_lossy())
            .trim_start_matches("./")
            .to_string()
    };
    let named: std::collections::HashSet<String> = files.iter().map(relative).collect();
    let unstaged: Vec<PathBuf> = files
        .iter()
        .filter(|f| !staged.paths.contains(&relative(f)))
        .cloned()
        .collect();
    staged.fragments.retain(|f| named.contains(&f.path));
    staged.large.retain(|large| named.contains(&large.path()));
    let mut outcome = scan_change(scanner, &repo, staged)?;
    if !unstaged.is_empty() {
        outcome.merge(scan::scan_paths(scanner, &unstaged));
    }
    Ok(outcome)
}

/// What a baseline records in a repository: the content of the files the index tracks under
/// `roots`, never the work tree. An untracked file (a token in `deploy/app.env` nobody has
/// added yet) must not become "already there": staged later, the hook would let it through.
pub fn scan_tracked(scanner: &Scanner, repo: &GitRepo, roots: &[PathBuf]) -> Result<Outcome> {
    let started = crate::scan::run_started();
    let root = repo
        .work_dir()
        .ok_or_else(|| Error::Git("the repository has no work tree".into()))?;
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    let prefixes = roots
        .iter()
        .map(|path| {
            repo_relative(&root, &cwd.join(path)).ok_or_else(|| {
                Error::Usage(format!("{} is outside the repository", path.display()))
            })
        })
        .collect::<Result<Vec<String>>>()?;
    let keep = |path: &str| {
        prefixes.iter().any(|prefix| {
            prefix.is_empty()
                || path == prefix
                || path
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    let collector = scan::Collector::new(scanner.limits.max_findings);
    let skipped = repo.for_each_tracked_file(keep, scanner.limits.max_file_size, |fragment| {
        collector.scan(scanner, fragment)
    })?;
    Ok(collector.finish(skipped, started))
}

/// `path` (absolute) relative to the work tree's `root`, with `/` separators and `.` and `..`
/// resolved as written (the path may be gone from disk yet tracked); `None` outside it.
fn repo_relative(root: &Path, path: &Path) -> Option<String> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let normal: PathBuf = parts.iter().collect();
    let root: PathBuf = root
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    let relative = normal.strip_prefix(&root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// A path as the index spells it. Only where `\` separates directories (Windows) does it
/// become `/`: elsewhere it is an ordinary file-name byte, and rewriting it would look up
/// another name, miss the staged entry and scan the work tree instead.
fn git_path(path: &str) -> String {
    if std::path::MAIN_SEPARATOR == '\\' {
        path.replace('\\', "/")
    } else {
        path.to_string()
    }
}

/// The added lines and message of each commit in `commits`, and the message of each
/// annotated tag `tips` name (a tip that is a commit adds nothing here).
pub fn scan_commits(
    scanner: &Scanner,
    repo: &GitRepo,
    commits: &[gix::ObjectId],
    tips: &[gix::ObjectId],
) -> Result<Outcome> {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let started = crate::scan::run_started();
    let read = AtomicU64::new(0);
    let total = commits.len();
    let mut outcome = with_progress(
        || match read.load(Relaxed) as usize {
            n if n < total => format!("{n}/{total} commits read"),
            _ => format!("{total} commits read, scanning what they add"),
        },
        || -> Result<Outcome> {
            let mut changed =
                repo.commit_fragments(commits, scanner.limits.max_file_size, &read)?;
            changed.absorb(repo.tag_messages(tips, scanner.limits.max_file_size)?);
            scan_change(scanner, repo, changed)
        },
    )?;
    if !outcome.findings.is_empty() || !outcome.suppressed.is_empty() {
        let order: std::collections::HashMap<String, usize> = repo
            .parents_first(commits)?
            .iter()
            .enumerate()
            .map(|(i, id)| (id.to_string(), i))
            .collect();
        group_by_secret(&mut outcome, &|commit: &str| {
            order.get(commit).copied().unwrap_or(usize::MAX)
        });
    }
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
}

/// Runs `work`; if it takes more than a moment and stderr is a terminal, shows `status` on one
/// line meanwhile, and clears it at the end. Hooks run with git's terminal, so a long push scan
/// says what it is doing instead of looking hung.
fn with_progress<R>(status: impl Fn() -> String + Sync, work: impl FnOnce() -> R) -> R {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let started = std::time::Instant::now();
            let mut shown = false;
            while !done.load(Relaxed) {
                if started.elapsed() >= std::time::Duration::from_millis(300) {
                    eprint!("\rstaunch: {}  ", status());
                    shown = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            if shown {
                eprint!("\r\x1b[K");
            }
        });
        let result = work();
        done.store(true, Relaxed);
        result
    })
}

/// Every unique blob of the whole history, once; progress on a terminal.
///
/// Every blob in the object database is looked at once with [`crate::matcher::Matcher::might_report`],
/// which needs no path; only the blobs it says yes to are traced to the commit that introduced
/// them and scanned in full with that commit and path, so path rules, allow lists and baselines
/// apply as to any other fragment.
pub fn scan_history(scanner: &Scanner) -> Result<Outcome> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let started = crate::scan::run_started();
    let repo = GitRepo::discover(Path::new("."))?;
    let collector = scan::Collector::new(scanner.limits.max_findings);
    let done = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let progress = HistoryProgress::default();
    let terminal = std::io::stderr().is_terminal();
    let show = || {
        let (files, bytes, found) = collector.progress();
        eprint!(
            "\r\x1b[Kstaunch: {}",
            progress.status(files, total.load(Relaxed), bytes, found)
        );
    };
    let skipped = std::thread::scope(|scope| {
        if terminal {
            scope.spawn(|| {
                while !done.load(Relaxed) {
                    show();
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                eprint!("\r\x1b[K");
            });
        }
        let result = (|| {
            let judge = |data: &[u8], changes: Option<Changes>| {
                let judged = match changes {
                    Some(changes) => {
                        scanner
                            .matcher
                            .judge_changed(data, changes.ranges, changes.base_reads_far)
                    }
                    None => scanner.matcher.judge(data),
                };
                if judged.may_report {
                    progress.candidates.fetch_add(1, Relaxed);
                }
                BlobJudgement {
                    may_report: judged.may_report,
                    reads_far: judged.reads_far,
                }
            };
            let found = repo.history_candidates(
                scanner.limits.max_file_size,
                &total,
                |data, changes| {
                    collector.note_scanned(data.len() as u64);
                    judge(data, changes)
                },
                |message| {
                    collector.note_message(message.len() as u64);
                    judge(message, None).may_report
                },
            )?;
            // Each phase is named as it starts, so a short one is seen too.
            progress
                .to_confirm
                .store((found.placed.len() + found.messages.len()) as u64, Relaxed);
            progress.phase.store(1, Relaxed);
            if terminal {
                show();
            }
            repo.for_each_blob(&found.placed, scanner.limits.max_file_size, |fragment| {
                collector.rescan(scanner, fragment);
                progress.confirmed.fetch_add(1, Relaxed);
            })?;
            for message in found.messages {
                collector.rescan(scanner, message);
                progress.confirmed.fetch_add(1, Relaxed);
            }
            progress.phase.store(2, Relaxed);
            if terminal {
                show();
            }
            // Annotated tags, and blobs and trees a reference points at with no commit in
            // between: no commit's tree need hold those. A blob already placed at a commit is
            // not reported again; the others were counted in the pass over every blob.
            let extras = repo.ref_extras(scanner.limits.max_file_size)?;
            for message in extras.tag_messages {
                collector.scan(scanner, message);
            }
            let placed: std::collections::HashSet<gix::ObjectId> =
                found.placed.iter().map(|p| p.blob).collect();
            let mut seen = std::collections::HashSet::new();
            for target in &extras.targets {
                repo.for_each_target_blob(
                    target,
                    scanner.limits.max_file_size,
                    &mut seen,
                    |id| placed.contains(id),
                    |fragment| collector.rescan(scanner, fragment),
                )?;
            }
            Ok((found.skipped + extras.skipped, found.placed, found.commits))
        })();
        done.store(true, Relaxed);
        result
    })?;
    let (skipped, placed, commits) = skipped;
    let mut outcome = collector.finish(skipped, started);
    let found = outcome.findings.len();
    with_progress(
        || format!("last phase: which branches still hold the {found} finding(s)  "),
        || at_branch_tips(scanner, &repo, &placed, &mut outcome),
    )?;
    let order: std::collections::HashMap<gix::ObjectId, usize> =
        commits.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    group_by_secret(&mut outcome, &|commit: &str| {
        gix::ObjectId::from_hex(commit.as_bytes())
            .ok()
            .and_then(|id| order.get(&id).copied())
            .unwrap_or(usize::MAX)
    });
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
}

/// What `scan --all` is doing, for its progress line: reading every blob (and how many may
/// hold a secret), confirming those candidates with their commit and path (findings counted as
/// they are confirmed), then the annotated tags and what refs point at directly.
#[derive(Default)]
struct HistoryProgress {
    phase: std::sync::atomic::AtomicU8,
    candidates: std::sync::atomic::AtomicU64,
    to_confirm: std::sync::atomic::AtomicU64,
    confirmed: std::sync::atomic::AtomicU64,
}

impl HistoryProgress {
    fn status(&self, files: u64, total: u64, bytes: u64, found: u64) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let candidates = self.candidates.load(Relaxed);
        match self.phase.load(Relaxed) {
            0 if total > 0 && files >= total => format!(
                "{total} blobs read, {} MiB; finding the commits that added the {candidates} \
                 that may hold a secret  ",
                bytes >> 20
            ),
            0 => format!(
                "reading blobs: {files}/{total}, {} MiB, {candidates} may hold a secret  ",
                bytes >> 20
            ),
            1 => format!(
                "confirming candidates: {}/{}, {found} finding(s)  ",
                self.confirmed.load(Relaxed),
                self.to_confirm.load(Relaxed)
            ),
            _ => format!("annotated tags and refs, {found} finding(s)  "),
        }
    }
}

/// One finding per (rule, path, secret), at the earliest commit by `order`.
fn group_by_secret(outcome: &mut Outcome, order: &dyn Fn(&str) -> usize) {
    outcome.findings =
        crate::grouping::group_findings(std::mem::take(&mut outcome.findings), order);
    outcome.suppressed =
        crate::grouping::group_suppressed(std::mem::take(&mut outcome.suppressed), order);
}

/// What the branch tips still hold of a history's findings. Each finding of a blob learns the
/// branches whose tip has that blob at its path (`present_in`). A tip that has such a blob at
/// another path (the file was renamed or copied since) has it scanned there too, at the commit
/// where it arrived on that branch: the history scan read the blob only at its first path, and
/// the current name is where a reader, and a baseline, meet it now.
fn at_branch_tips(
    scanner: &Scanner,
    repo: &GitRepo,
    placed: &[crate::git::PlacedBlob],
    outcome: &mut Outcome,
) -> Result<()> {
    use std::collections::{BTreeSet, HashMap, HashSet};
    let mut blob_at: HashMap<(String, String), gix::ObjectId> = placed
        .iter()
        .map(|p| ((p.commit.clone(), p.path.to_string()), p.blob))
        .collect();
    let blob_of = |blob_at: &HashMap<(String, String), gix::ObjectId>,
                   f: &crate::finding::Finding| {
        f.commit
            .as_ref()
            .and_then(|c| blob_at.get(&(c.clone(), f.path.clone())).copied())
    };
    let wanted: HashSet<gix::ObjectId> = outcome
        .findings
        .iter()
        .chain(outcome.suppressed.iter().map(|s| &s.finding))
        .filter_map(|f| blob_of(&blob_at, f))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    // (blob, path) -> the branches whose tip has that blob at that path.
    let mut present: HashMap<(gix::ObjectId, String), BTreeSet<String>> = HashMap::new();
    let mut tip_of: HashMap<(gix::ObjectId, String), gix::ObjectId> = HashMap::new();
    let mut files_at: HashMap<gix::ObjectId, Vec<(gix::bstr::BString, gix::ObjectId)>> =
        HashMap::new();
    for tip in repo.branch_tips()? {
        let files = match files_at.entry(tip.commit) {
            std::collections::hash_map::Entry::Occupied(held) => held.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(repo.files_holding(tip.commit, &wanted)?)
            }
        };
        for (path, blob) in files.iter() {
            let key = (*blob, path.to_string());
            tip_of.entry(key.clone()).or_insert(tip.commit);
            present.entry(key).or_default().insert(tip.name.clone());
        }
    }
    let placed_at: HashSet<(gix::ObjectId, String)> = placed
        .iter()
        .map(|p| (p.blob, p.path.to_string()))
        .collect();
    let mut moved = Vec::new();
    for ((blob, path), tip) in &tip_of {
        if placed_at.contains(&(*blob, path.clone())) {
            continue;
        }
        let path = gix::bstr::BString::from(path.as_str());
        let commit = repo.arrived_at(*tip, &path, *blob)?.to_string();
        blob_at.insert((commit.clone(), path.to_string()), *blob);
        moved.push(crate::git::PlacedBlob {
            blob: *blob,
            commit,
            path,
        });
    }
    if !moved.is_empty() {
        moved.sort_by(|a, b| (&a.commit, &a.path).cmp(&(&b.commit, &b.path)));
        let collector = scan::Collector::new(scanner.limits.max_findings);
        let skipped = repo.for_each_blob(&moved, scanner.limits.max_file_size, |fragment| {
            collector.scan(scanner, fragment)
        })?;
        outcome.merge(collector.finish(skipped, std::time::Instant::now()));
    }
    for f in &mut outcome.findings {
        if let Some(blob) = blob_of(&blob_at, f) {
            let names = present
                .get(&(blob, f.path.clone()))
                .map(|names| names.iter().cloned().collect())
                .unwrap_or_default();
            f.history = Some(crate::finding::History {
                present_in: Some(names),
                ..Default::default()
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_work_tree() {
        let root = Path::new("/repo");
        assert_eq!(repo_relative(root, Path::new("/repo")), Some(String::new()));
        assert_eq!(
            repo_relative(root, Path::new("/repo/sub/./a/../b.env")),
            Some("sub/b.env".to_string())
        );
        assert_eq!(repo_relative(root, Path::new("/repo/../other")), None);
        assert_eq!(repo_relative(root, Path::new("/repository")), None);
    }
}
