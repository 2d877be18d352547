//! Dispatch: each command line goes to its command, and the small commands (baseline, config
//! check, rules) live here. The matcher is built by `session`, the scans driven by `scan`, the
//! run ended by `finish`; the hooks are adapters in `hooks`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::cli::{
    BaselineCommand, Cli, Command, Common, ConfigCommand, HookKind, RulesCommand, ScanArgs,
};
use crate::config::baseline::{Baseline, BASELINE_FILE};
use crate::config::DiskReader;
use crate::error::{Error, Result};
use crate::finding::Outcome;
use crate::finish::finish;
use crate::git::GitRepo;
use crate::matcher::{Matcher, ScanOptions};
use crate::report::{self, Format};
use crate::rules::checks::Check;
use crate::rules::{self, Rule};
use crate::scan::{
    self,
    git::{scan_commits, scan_history, scan_staged, scan_tracked},
};
use crate::session::{build_matcher, build_matcher_for_range, matcher_for_cwd};
use crate::source::Fragment;
use crate::Verdict;
pub fn run(cli: Cli) -> Result<Verdict> {
    crate::scan::run_started();
    if let Some(dir) = &cli.common.dir {
        std::env::set_current_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    if let Some(threads) = cli.common.threads {
        // Only fails if a pool was already built, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global();
    }
    crate::audit::start(&cli)?;
    let result = match &cli.command {
        Command::Scan(args) => run_scan(&cli.common, args),
        Command::Hook { kind } => match kind {
            _ if crate::install::skip_requested(kind)? => Ok(Verdict::Clean),
            HookKind::PreCommit { files } => crate::hooks::pre_commit(&cli.common, files),
            HookKind::PrePush { remote } => {
                crate::hooks::pre_push(&cli.common, remote.first().map(String::as_str))
            }
            HookKind::ClaudeCode { json_output } => {
                crate::hooks::claude_code::run(&cli.common, *json_output)
            }
            HookKind::PreReceive => crate::hooks::pre_receive::run(&cli.common),
        },
        Command::Install(args) => crate::install::install(&cli.common, args),
        Command::Uninstall(args) => crate::install::uninstall(&cli.common, args),
        Command::Baseline { command } => run_baseline(&cli.common, command),
        Command::Config {
            command: ConfigCommand::Check,
        } => config_check(&cli.common),
        Command::Rules { command } => match command {
            RulesCommand::List {
                category,
                domain,
                provider,
                catalogue,
            } => rules_list(
                &cli.common,
                &RuleFilter {
                    category: category.as_deref(),
                    domain: domain.as_deref(),
                    provider: provider.as_deref(),
                },
                *catalogue,
            ),
            RulesCommand::Test { files } => rules_test(files),
        },
    };
    crate::audit::run_finished(result)
}
/// Runs a scan; when it fails before any report (bad configuration, bad range, no repository)
/// and a SARIF file was asked for, that file still gets written, with the error as a tool
/// execution notification: a CI upload step that runs `if: always()` finds a file.
fn run_scan(common: &Common, args: &ScanArgs) -> Result<Verdict> {
    let result = scan_command(common, args);
    if let (Err(err), Some(path), Format::Sarif) = (&result, &common.output, common.format) {
        let message = crate::error::chain(err);
        let written = std::fs::File::create(path).and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            report::write_failure(&mut out, common.format, &message)?;
            out.flush()
        });
        if let Err(e) = written {
            eprintln!(
                "staunch: could not write the error report to {}: {e}",
                crate::text::inert(&path.display().to_string())
            );
        }
    }
    result
}

/// `A..B` or `A...B` whose A is git's all-zero id ("no commit": a branch new to the remote).
fn zero_base(range: &str) -> Option<&str> {
    let (from, to) = range.split_once("...").or_else(|| range.split_once(".."))?;
    let zero = from.len() >= 40 && from.bytes().all(|b| b == b'0');
    (zero && !to.starts_with('.')).then_some(to)
}

fn scan_command(common: &Common, args: &ScanArgs) -> Result<Verdict> {
    if let Some(range) = &args.range {
        let repo = GitRepo::discover(Path::new("."))?;
        let (base, commits) = match zero_base(range) {
            Some(to) => {
                let (base, commits) = repo.own_commits(to)?;
                eprintln!(
                    "staunch: {range}: the all-zero base is a new branch: {} commit(s) of its \
                     own scanned ({})",
                    commits.len(),
                    match base {
                        Some(base) => format!("allow state from {base}, where it branched off"),
                        None => "no other ref holds its history: all of it, with the built-in \
                                 defaults"
                            .to_string(),
                    }
                );
                (base, commits)
            }
            None => {
                let (base, commits) = repo.range(range)?;
                (Some(base), commits)
            }
        };
        let matcher = build_matcher_for_range(common, &repo, base)?;
        let outcome = scan_commits(&matcher, &repo, &commits, &[])?;
        return finish(common, &outcome);
    }
    let matcher = build_matcher(common)?;
    let max_file_size = matcher.options().max_file_size;
    let outcome = if args.staged {
        scan_staged(&matcher, max_file_size)?
    } else if args.all {
        scan_history(&matcher, max_file_size)?
    } else if args.stdin {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::io("<stdin>", e))?;
        let path = args.path.clone().unwrap_or_else(|| "<stdin>".to_string());
        scan::scan_fragments(
            &matcher,
            vec![Fragment::file(path, data)],
            scan::NotText::Scan,
        )
    } else {
        let roots = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        scan::scan_paths(&matcher, &roots, max_file_size)
    };
    finish(common, &outcome)
}

/// The findings a baseline records: what the index tracks in a repository (or the whole
/// history with `all`), else the files under `roots`. Refuses an incomplete scan: a baseline
/// missing a finding would make it block later for no change.
fn scan_for_baseline(matcher: &Matcher, roots: &[PathBuf], all: bool) -> Result<Outcome> {
    let max = matcher.options().max_file_size;
    let repo = GitRepo::discover(Path::new("."))
        .ok()
        .filter(|repo| repo.work_dir().is_some());
    let outcome = match repo {
        _ if all => scan_history(matcher, max)?,
        Some(repo) => scan_tracked(matcher, &repo, roots, max)?,
        None => scan::scan_paths(matcher, roots, max),
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

fn run_baseline(common: &Common, command: &BaselineCommand) -> Result<Verdict> {
    let matcher = matcher_for_cwd(common, false, false)?;
    let max = matcher.options().max_file_size;
    let roots = |paths: &[PathBuf]| {
        if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.to_vec()
        }
    };
    match command {
        BaselineCommand::Create { paths, all } => {
            let outcome = scan_for_baseline(&matcher, &roots(paths), *all)?;
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
            say_how_to_use_baseline(common, &path, &matcher.options().baseline_source)?;
            Ok(Verdict::Clean)
        }
        BaselineCommand::Add { fingerprints } => baseline_add(common, &matcher, fingerprints),
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
            let outcome = scan_for_baseline(&matcher, &roots(paths), *all)?;
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
            let outcome = scan::scan_paths(&matcher, &roots(paths), max);
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
fn baseline_add(common: &Common, matcher: &Matcher, fingerprints: &[String]) -> Result<Verdict> {
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
        scan_for_baseline(matcher, std::slice::from_ref(&root), false)?,
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
        matched(scan_for_baseline(matcher, &[], true)?, &mut found);
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

fn config_check(common: &Common) -> Result<Verdict> {
    let matcher = build_matcher(common)?;
    let o = matcher.options();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "config: valid");
    let _ = writeln!(out, "rules: {}", matcher.rules().len());
    let _ = writeln!(out, "max_file_size: {}", o.max_file_size);
    let _ = writeln!(out, "fail_on_unscannable: {}", o.fail_on_unscannable);
    let _ = writeln!(out, "decode_depth: {}", o.decode_depth);
    let _ = writeln!(out, "min_base64_length: {}", o.min_base64_length);
    let _ = writeln!(out, "archive_depth: {}", o.archive.depth);
    let _ = writeln!(out, "archive_max_entry_size: {}", o.archive.max_entry_size);
    let _ = writeln!(out, "archive_max_expanded_size: {}", o.archive.max_expanded);
    let _ = writeln!(out, "archive_max_entries: {}", o.archive.max_entries);
    let _ = writeln!(out, "internal_domains: {:?}", o.internal_domains);
    let _ = writeln!(
        out,
        "block: {:?}",
        o.block.iter().map(|s| s.as_str()).collect::<Vec<_>>()
    );
    let _ = writeln!(out, "allow entries: {}", o.allow.len());
    let _ = writeln!(out, "inline markers: {:?}", o.allow_markers);
    let _ = writeln!(out, "baseline fingerprints: {}", o.baseline.len());
    let _ = writeln!(
        out,
        ".gitleaksignore entries: {}",
        o.ignored_locations.len()
    );
    Ok(Verdict::Clean)
}

/// Which rules `rules list` shows.
struct RuleFilter<'a> {
    category: Option<&'a str>,
    domain: Option<&'a str>,
    provider: Option<&'a str>,
}

impl RuleFilter<'_> {
    fn keeps(&self, rule: &Rule) -> bool {
        self.category.is_none_or(|c| rule.category.as_str() == c)
            && self.domain.is_none_or(|d| rule.domain == d)
            && self
                .provider
                .is_none_or(|p| rule.provider.to_lowercase().contains(&p.to_lowercase()))
    }
}

fn rules_list(common: &Common, filter: &RuleFilter<'_>, catalogue: bool) -> Result<Verdict> {
    let all = crate::config::load_rules(&common.rule_packs)?;
    let mut out = std::io::stdout().lock();
    if catalogue {
        let _ = write!(out, "{}", rules::catalogue::markdown(&all));
        return Ok(Verdict::Clean);
    }
    let rules: Vec<&Rule> = all.iter().filter(|r| filter.keeps(r)).collect();
    if common.format == Format::Json {
        let list: Vec<_> = rules
            .iter()
            .map(|r| serde_json::json!({"id": r.id, "provider": r.provider, "domain": r.domain, "category": r.category, "severity": r.severity, "check": r.check.map(|c| c.name()), "format_check": r.verifies_format(), "checksum": matches!(r.check, Some(Check::GithubCrc32 | Check::Crc32Base62)), "description": r.description, "pack": r.pack}))
            .collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
    } else {
        // The VERIFIES column says which rules reject a look-alike offline: `checksum` (a CRC
        // the token carries), another format check by name, or `decodes` (inner structure).
        let _ = writeln!(
            out,
            "{:<40} {:<12} {:<18} {:<8} {:<14} DESCRIPTION",
            "RULE", "DOMAIN", "CATEGORY", "SEVERITY", "VERIFIES"
        );
        for r in &rules {
            let check = match r.check {
                Some(Check::GithubCrc32 | Check::Crc32Base62) => "checksum",
                Some(c) if c.is_format_check() => c.name(),
                _ if r.decodes.is_some() => "decodes",
                _ => "-",
            };
            let _ = writeln!(
                out,
                "{:<40} {:<12} {:<18} {:<8} {:<14} {}",
                r.id, r.domain, r.category, r.severity, check, r.description
            );
        }
        let providers: std::collections::BTreeSet<String> = rules
            .iter()
            .filter(|r| r.provider != rules::catalogue::ANY_PROVIDER)
            .map(|r| r.provider.to_lowercase())
            .collect();
        let _ = writeln!(
            out,
            "{} rules from {} providers ({} verify a checksum or inner structure offline)",
            rules.len(),
            providers.len(),
            rules.iter().filter(|r| r.verifies_format()).count()
        );
    }
    Ok(Verdict::Clean)
}

/// One way a rule's own examples disagree with it.
#[derive(Debug)]
pub struct ExampleFailure {
    pub rule: String,
    pub example: String,
    pub problem: &'static str,
}

/// Checks every example and counter-example of `rules`, each scanned as a file of its own with
/// the whole rule set (so a generic rule shadowed by a specific one shows up as a failure).
pub fn test_examples(rules: &[Rule]) -> Vec<ExampleFailure> {
    let matcher =
        Matcher::new(rules.to_vec(), ScanOptions::default()).on_warning(|w| eprintln!("{w}"));
    let mut failures = Vec::new();
    for rule in rules {
        let fires = |text: &str| {
            matcher
                .scan_fragment(&Fragment::file("example.txt", text.as_bytes().to_vec()))
                .findings
                .iter()
                .any(|f| f.rule_id == rule.id)
        };
        if rule.examples.len() < 2 {
            failures.push(ExampleFailure {
                rule: rule.id.clone(),
                example: String::new(),
                problem: "has fewer than 2 examples",
            });
        }
        if rule.counter_examples.is_empty() {
            failures.push(ExampleFailure {
                rule: rule.id.clone(),
                example: String::new(),
                problem: "has no counter-example",
            });
        }
        for example in &rule.examples {
            if !fires(example) {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    example: example.clone(),
                    problem: "example not found",
                });
            }
        }
        for counter in &rule.counter_examples {
            if fires(counter) {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    example: counter.clone(),
                    problem: "counter-example found",
                });
            }
        }
    }
    failures
}

fn rules_test(files: &[PathBuf]) -> Result<Verdict> {
    let rules = if files.is_empty() {
        rules::load_with_examples()?
    } else {
        let mut all = Vec::new();
        for path in files {
            let name = path.display().to_string();
            all.extend(crate::config::read_pack(&crate::config::DiskReader, &name, path)?.0);
        }
        rules::check_unique(&all)?;
        all
    };
    let failures = test_examples(&rules);
    let examples: usize = rules
        .iter()
        .map(|r| r.examples.len() + r.counter_examples.len())
        .sum();
    for f in &failures {
        let shown: String = f.example.chars().take(120).collect();
        eprintln!("rule {}: {}: {}", f.rule, f.problem, shown.escape_debug());
    }
    if failures.is_empty() {
        crate::outln!("{} rules, {} examples: all pass", rules.len(), examples);
        Ok(Verdict::Clean)
    } else {
        eprintln!(
            "{} rules, {} examples: {} failure(s)",
            rules.len(),
            examples,
            failures.len()
        );
        Ok(Verdict::Blocked)
    }
}
