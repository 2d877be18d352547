//! `staunch baseline`: record the findings a repository already has, so that only new ones
//! block, and add to or show that record.

use std::path::{Path, PathBuf};

use crate::cli::{BaselineCommand, Common};
use crate::config::baseline::{Baseline, BASELINE_FILE};
use crate::config::DiskReader;
use crate::error::{Error, Result};
use crate::finding::Outcome;
use crate::git::GitRepo;

use crate::scan::{
    self,
    git::{scan_history, scan_tracked},
    Scanner,
};
use crate::session::{scanner_for_cwd, Session};
use crate::Verdict;

/// The findings a baseline records: what the index tracks in a repository (or the whole
/// history with `all`), else the files under `roots`. Refuses an incomplete scan: a baseline
/// missing a finding would make it block later for no change.
fn scan_for_baseline(scanner: &Scanner, roots: &[PathBuf], all: bool) -> Result<Outcome> {
    let repo = GitRepo::discover(Path::new("."))
        .ok()
        .filter(|repo| repo.work_dir().is_some());
    let outcome = match repo {
        _ if all => scan_history(scanner)?,
        Some(repo) => scan_tracked(scanner, &repo, roots)?,
        None => scan::scan_paths(scanner, roots),
    };
    for err in &outcome.errors {
        eprintln!(
            "staunch: not scanned: {}",
            crate::text::inert(&err.to_string())
        );
    }
    if !outcome.errors.is_empty() {
        return Err(Error::Incomplete(
            "baseline not written: some files could not be scanned".into(),
        ));
    }
    if outcome.stats.dropped.findings > 0 {
        return Err(Error::Incomplete(format!(
            "baseline not written: {} finding(s) went over the findings caps; raise \
             [scan] max_findings_per_file and max_findings to record them all",
            outcome.stats.dropped.findings
        )));
    }
    Ok(outcome)
}

fn write_baseline(path: &Path, baseline: &Baseline) -> Result<()> {
    let text = serde_json::to_string_pretty(baseline).map_err(Error::Json)?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

pub(crate) fn run_baseline(session: &Session, command: &BaselineCommand) -> Result<Verdict> {
    let common = &session.common;
    let scanner = scanner_for_cwd(session, false, false)?;
    let roots = |paths: &[PathBuf]| {
        if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.to_vec()
        }
    };
    match command {
        BaselineCommand::Create { paths, all } => {
            let outcome = scan_for_baseline(&scanner, &roots(paths), *all)?;
            let baseline = Baseline::from_findings(&outcome.findings);
            let path = common
                .output
                .clone()
                .unwrap_or_else(|| PathBuf::from(BASELINE_FILE));
            write_baseline(&path, &baseline)?;
            eprintln!(
                "staunch: baseline {} records {} finding(s)",
                crate::text::inert(&path.display().to_string()),
                baseline.findings.len()
            );
            say_how_to_use_baseline(common, &path, &scanner.matcher.options().baseline_source)?;
            Ok(Verdict::Clean)
        }
        BaselineCommand::Add { fingerprints } => baseline_add(common, &scanner, fingerprints),
        BaselineCommand::Migrate { paths, all } => {
            let path = common
                .baseline
                .clone()
                .unwrap_or_else(|| PathBuf::from(BASELINE_FILE));
            let old = Baseline::read(&path)?;
            let shown = crate::text::inert(&path.display().to_string()).into_owned();
            if !old.is_legacy() {
                eprintln!("staunch: baseline {shown} already uses the current fingerprint scheme");
                return Ok(Verdict::Clean);
            }
            let outcome = scan_for_baseline(&scanner, &roots(paths), *all)?;
            let (new, stale) = old.migrate(&outcome.findings);
            for entry in &stale {
                eprintln!(
                    "staunch: dropped (matches nothing scanned now): {} {} {}",
                    crate::text::inert(&entry.path),
                    entry.rule_id,
                    entry.fingerprint
                );
            }
            let target = common.output.clone().unwrap_or(path);
            write_baseline(&target, &new)?;
            eprintln!(
                "staunch: baseline {} migrated: {} entr(y/ies) rewritten, {} dropped",
                crate::text::inert(&target.display().to_string()),
                new.findings.len(),
                stale.len()
            );
            Ok(Verdict::Clean)
        }
        BaselineCommand::Check { paths } => {
            let path = common
                .baseline
                .clone()
                .unwrap_or_else(|| PathBuf::from(BASELINE_FILE));
            let baseline = Baseline::read(&path)?;
            let outcome = scan::scan_paths(&scanner, &roots(paths));
            let current: std::collections::HashSet<String> = outcome
                .findings
                .iter()
                .map(|f| match baseline.is_legacy() {
                    true => crate::finding::legacy_fingerprint(&f.rule_id, &f.path, &f.secret),
                    false => f.fingerprint.clone(),
                })
                .collect();
            let stale: Vec<_> = baseline
                .findings
                .iter()
                .filter(|e| !current.contains(&e.fingerprint))
                .collect();
            for entry in &stale {
                crate::outln!(
                    "stale: {} {} {}",
                    entry.path,
                    entry.rule_id,
                    entry.fingerprint
                );
            }
            crate::outln!(
                "{} of {} baseline entries no longer match anything",
                stale.len(),
                baseline.findings.len()
            );
            Ok(if stale.is_empty() {
                Verdict::Clean
            } else {
                Verdict::Blocked
            })
        }
    }
}

/// `baseline add FINGERPRINT...`: a fingerprint hides its secret, so each is matched with a
/// finding of a fresh scan (what the index tracks, which holds what a blocked commit staged;
/// then, for any not found, the whole history, where a blocked push's commits are), and that
/// finding is recorded as `baseline create` records one.
fn baseline_add(common: &Common, scanner: &Scanner, fingerprints: &[String]) -> Result<Verdict> {
    for fp in fingerprints {
        if fp.len() != 32 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Usage(format!(
                "{:?} is not a fingerprint (32 hex digits, as a report's `fingerprint:` line \
                 prints it)",
                crate::text::inert(fp)
            )));
        }
    }
    let wanted: std::collections::HashSet<String> = fingerprints
        .iter()
        .map(|f| f.to_ascii_lowercase())
        .collect();
    let repo = GitRepo::discover(Path::new(".")).ok();
    let root = repo
        .as_ref()
        .and_then(GitRepo::work_dir)
        .unwrap_or_else(|| PathBuf::from("."));
    let settings = crate::config::load(
        &DiskReader,
        common.config.as_deref(),
        &root,
        &common.rule_packs,
    )?;
    let configured = settings.baseline.clone();
    let path = common
        .baseline
        .clone()
        .or_else(|| configured.clone())
        .unwrap_or_else(|| root.join(BASELINE_FILE));
    let mut found: Vec<crate::finding::Finding> = Vec::new();
    let matched = |outcome: Outcome, found: &mut Vec<crate::finding::Finding>| {
        let every = outcome
            .findings
            .into_iter()
            .chain(outcome.suppressed.into_iter().map(|s| s.finding));
        found.extend(every.filter(|f| wanted.contains(&f.fingerprint)));
    };
    matched(
        scan_for_baseline(scanner, std::slice::from_ref(&root), false)?,
        &mut found,
    );
    let missing = |found: &[crate::finding::Finding]| {
        wanted
            .iter()
            .filter(|w| !found.iter().any(|f| &f.fingerprint == *w))
            .cloned()
            .collect::<Vec<String>>()
    };
    if !missing(&found).is_empty() && repo.is_some() {
        matched(scan_for_baseline(scanner, &[], true)?, &mut found);
    }
    let missing = missing(&found);
    if !missing.is_empty() {
        let mut missing = missing;
        missing.sort();
        return Err(Error::Usage(format!(
            "no finding has fingerprint {} in the tracked files or the history; nothing added",
            missing.join(", ")
        )));
    }
    let mut baseline = match path.exists() {
        true => Baseline::read(&path)?,
        false => Baseline::from_findings(&[]),
    };
    let shown = crate::text::inert(&path.display().to_string()).into_owned();
    if baseline.is_legacy() {
        return Err(Error::Usage(format!(
            "baseline {shown} uses an old fingerprint scheme: run `staunch baseline migrate` first"
        )));
    }
    let before = baseline.findings.len();
    baseline
        .findings
        .extend(Baseline::from_findings(&found).findings);
    baseline.findings.sort_by(|a, b| {
        (&a.path, &a.rule_id, &a.fingerprint).cmp(&(&b.path, &b.rule_id, &b.fingerprint))
    });
    baseline.findings.dedup();
    write_baseline(&path, &baseline)?;
    eprintln!(
        "staunch: baseline {shown}: {} entr(y/ies) added, {} in all",
        baseline.findings.len() - before,
        baseline.findings.len()
    );
    if common.baseline.is_none() && configured.is_none() {
        eprintln!(
            "staunch: no configuration names this baseline yet, so the hooks do not read it: \
             put `baseline = \"{BASELINE_FILE}\"` at the top of .staunch.toml (before any [table])"
        );
    }
    Ok(Verdict::Clean)
}

/// After `baseline create`: a baseline does nothing until the configuration names it (or
/// `--baseline` does), so say so. The line to add goes to stdout on its own, so that
/// `staunch baseline create >> .staunch.toml` adds it; the explanation goes to stderr.
fn say_how_to_use_baseline(common: &Common, written: &Path, configured: &str) -> Result<()> {
    let written_abs = std::fs::canonicalize(written).map_err(|e| Error::io(written, e))?;
    if !configured.is_empty() {
        let same = std::fs::canonicalize(configured).is_ok_and(|c| c == written_abs);
        if !same {
            eprintln!(
                "staunch: note: the configuration uses the baseline {}, not this file",
                crate::text::inert(configured)
            );
        }
        return Ok(());
    }
    let config = match &common.config {
        Some(file) => std::fs::canonicalize(file).map_err(|e| Error::io(file, e))?,
        None => {
            let root = GitRepo::discover(Path::new("."))
                .ok()
                .and_then(|repo| repo.work_dir())
                .unwrap_or_else(|| PathBuf::from("."));
            std::fs::canonicalize(&root)
                .map_err(|e| Error::io(&root, e))?
                .join(crate::config::CONFIG_FILE)
        }
    };
    // The configuration reads the path relative to its own directory.
    let relative = config
        .parent()
        .and_then(|dir| written_abs.strip_prefix(dir).ok())
        .unwrap_or(&written_abs);
    let value = relative.to_string_lossy().into_owned();
    let line = format!("baseline = {}", toml::Value::String(value.clone()));
    eprintln!(
        "staunch: to use it, add this line to {} (above any [section]), or pass --baseline {}:",
        crate::text::inert(&config.display().to_string()),
        crate::text::inert(&value)
    );
    crate::outln!("{line}");
    Ok(())
}
