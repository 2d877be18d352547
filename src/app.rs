//! Wires the command line to the pipeline: builds the rules and matcher once, picks the source,
//! writes the report and decides the verdict.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use crate::baseline::{Baseline, BASELINE_FILE, IGNORE_FILE};
use crate::checks::Check;
use crate::cli::{
    BaselineCommand, Cli, ColorChoice, Command, Common, ConfigCommand, HookKind, RulesCommand,
    ScanArgs,
};
use crate::config::{ConfigReader, DiskReader, Settings};
use crate::error::{Error, Result};
use crate::finding::Outcome;
use crate::git::{GitFragments, GitRepo};
use crate::matcher::{Matcher, ScanOptions};
use crate::report::{self, Format, ReportOptions};
use crate::rules::{self, Rule};
use crate::scan;
use crate::source::Fragment;
use crate::Verdict;

/// Files over this size are skipped and counted unless configured otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

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

/// Builds the matcher from the configuration found for the current directory: `--config`, or
/// `.staunch.toml` at the repository root (the current directory outside a repository).
pub fn build_matcher(common: &Common) -> Result<Matcher> {
    matcher_for_cwd(common, true, false)
}

/// For `hook pre-receive`: the server's own configuration, where every line scanned is one the
/// push adds, so (as in a range scan) an inline marker on it is the change allowing itself and
/// is reported unless `[policy] honour_inline_allows_in_range` says otherwise.
pub fn build_matcher_for_pushed(common: &Common) -> Result<Matcher> {
    matcher_for_cwd(common, true, true)
}

/// `use_baseline` is false only for the baseline commands, which must see every finding;
/// `lines_untrusted` is true where every scanned line is the incoming change's.
fn matcher_for_cwd(common: &Common, use_baseline: bool, lines_untrusted: bool) -> Result<Matcher> {
    let root = GitRepo::discover(Path::new("."))
        .ok()
        .and_then(|repo| repo.work_dir())
        .unwrap_or_else(|| PathBuf::from("."));
    let settings = crate::config::load(
        &DiskReader,
        common.config.as_deref(),
        &root,
        &common.rule_packs,
    )?;
    let sources = AllowSources {
        settings: &DiskReader,
        repository: &DiskReader,
        root,
        range: lines_untrusted,
        baseline_required: true,
    };
    matcher_from_settings(common, settings, &sources, use_baseline)
}

/// Reads configuration from a commit's tree, so a pull request cannot switch off its own scan.
struct CommitReader<'a> {
    repo: &'a GitRepo,
    commit: gix::ObjectId,
}

impl ConfigReader for CommitReader<'_> {
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        // `./x` names `x`; a path that leaves the tree (`../x`, absolute) is not in the commit.
        let mut inside = PathBuf::new();
        for component in path.components() {
            match component {
                std::path::Component::Normal(part) => inside.push(part),
                std::path::Component::CurDir => {}
                _ => return Ok(None),
            }
        }
        self.repo.read_file_at(self.commit, &inside)
    }

    fn describe(&self, path: &Path) -> String {
        format!("{}:{}", self.commit, path.display())
    }
}

/// Where the allow state that is not part of the settings is read from.
struct AllowSources<'a> {
    /// Where the settings came from: the baseline they name is read from the same place.
    settings: &'a dyn ConfigReader,
    /// Where `.gitleaksignore` is read from, at `root`.
    repository: &'a dyn ConfigReader,
    root: PathBuf,
    /// A range scan: every scanned line is one the range adds, so an inline marker on it is
    /// the change's own and silences nothing unless the policy says so.
    range: bool,
    /// Whether a baseline the settings name must be there. The agent hook reads HEAD, where a
    /// baseline kept out of git is missing: it allows nothing there instead of blocking every
    /// tool call with an error.
    baseline_required: bool,
}

/// For `--range A..B`: the config, rule packs, baseline and `.gitleaksignore` as they are in
/// the base commit A, so nothing the range adds can allow its own findings. An explicit
/// `--config FILE` or `--baseline FILE` is the CI script's choice and is read from disk.
/// With no base (an all-zero base whose branch shares no history with any other ref), nothing
/// is trusted: the built-in defaults, as for the agent hook before the first commit.
fn build_matcher_for_range(
    common: &Common,
    repo: &GitRepo,
    base: Option<gix::ObjectId>,
) -> Result<Matcher> {
    let root = repo.work_dir().unwrap_or_else(|| PathBuf::from("."));
    let at_base = base.map(|commit| CommitReader { repo, commit });
    let at_base: &dyn ConfigReader = match &at_base {
        Some(reader) => reader,
        None => &NoFiles,
    };
    let (settings, from): (_, &dyn ConfigReader) = match &common.config {
        Some(explicit) => (
            crate::config::load(&DiskReader, Some(explicit), &root, &common.rule_packs)?,
            &DiskReader,
        ),
        None => (
            crate::config::load(at_base, None, Path::new(""), &common.rule_packs)?,
            at_base,
        ),
    };
    let sources = AllowSources {
        settings: from,
        repository: at_base,
        root: PathBuf::new(),
        range: true,
        baseline_required: true,
    };
    matcher_from_settings(common, settings, &sources, true)
}

/// Reads nothing: where there is no trusted state, a configuration reads as the defaults.
struct NoFiles;

impl ConfigReader for NoFiles {
    fn read(&self, _path: &Path) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

/// For the agent hook (`hook claude-code`): the matcher as HEAD's configuration, rule packs,
/// baseline and `.gitleaksignore` make it, never the work tree's, since the agent writes the
/// work tree; with no HEAD (a repository with no commit yet) or no repository, the built-in
/// defaults. Explicit `--config` (with what it names), `--rules` and `--baseline` are the
/// settings file's choice and are read from disk; `.gitleaksignore`, which no flag names, from
/// HEAD all the same. Inline allow markers are left to the caller (returned, and switched off in
/// the matcher): a marker counts only on a line HEAD already has.
pub fn build_matcher_from_head(
    common: &Common,
    repo: Option<&GitRepo>,
    head: Option<gix::ObjectId>,
) -> Result<(Matcher, Vec<String>)> {
    let root = repo
        .and_then(GitRepo::work_dir)
        .unwrap_or_else(|| PathBuf::from("."));
    let trusted = repo
        .zip(head)
        .map(|(repo, commit)| CommitReader { repo, commit });
    let in_head: &dyn ConfigReader = match &trusted {
        Some(reader) => reader,
        None => &NoFiles,
    };
    let (settings, from): (_, &dyn ConfigReader) = match &common.config {
        // The settings file's choice, with what it names; `.gitleaksignore` is named by nobody.
        Some(explicit) => (
            crate::config::load(&DiskReader, Some(explicit), &root, &common.rule_packs)?,
            &DiskReader,
        ),
        None => {
            let mut settings =
                crate::config::load(in_head, None, Path::new(""), &common.rule_packs)?;
            // Named relative to the tree's root; the log itself is written in the work tree.
            settings.audit_log = settings.audit_log.map(|p| root.join(p));
            (settings, in_head)
        }
    };
    let sources = AllowSources {
        settings: from,
        repository: in_head,
        root: PathBuf::new(),
        range: false,
        baseline_required: false,
    };
    let (rules, mut options) = scan_options(common, settings, &sources, true)?;
    let markers = std::mem::take(&mut options.allow_markers);
    Ok((Matcher::new(rules, options), markers))
}

/// `use_baseline` is false only for the baseline commands, which must see every finding.
fn matcher_from_settings(
    common: &Common,
    settings: Settings,
    sources: &AllowSources<'_>,
    use_baseline: bool,
) -> Result<Matcher> {
    let (rules, options) = scan_options(common, settings, sources, use_baseline)?;
    Ok(Matcher::new(rules, options))
}

/// The rules and scan options a configuration gives, with the allow files read from `sources`.
fn scan_options(
    common: &Common,
    settings: Settings,
    sources: &AllowSources<'_>,
    use_baseline: bool,
) -> Result<(Vec<Rule>, ScanOptions)> {
    let mut options = ScanOptions::default();
    if let Some(depth) = settings.decode_depth {
        options.decode_depth = depth;
    }
    if let Some(min) = settings.min_base64_length {
        options.min_base64_length = min.max(8);
    }
    options.internal_domains = settings.internal_domains;
    if let Some(max) = settings.max_findings_per_file {
        options.max_findings_per_file = max.max(1);
    }
    if let Some(max) = settings.max_findings {
        options.max_findings = max.max(1);
    }
    options.allow = settings.allow;
    if !settings.foreign_allow_markers {
        options.allow_markers = vec!["staunch:allow".into()];
    }
    options.trust_inline_markers = !sources.range || settings.honour_inline_allows_in_range;
    options.fail_on_unscannable = settings.fail_on_unscannable;
    if let Some(block) = settings.block {
        options.block = block;
    }
    options.max_file_size = common
        .max_file_size
        .or(settings.max_file_size)
        .unwrap_or(DEFAULT_MAX_FILE_SIZE);
    options.archive = settings.archive.apply(options.archive);
    if let Some(depth) = common.archive_depth {
        options.archive.depth = depth;
    }
    if let Some(path) = &settings.audit_log {
        crate::audit::use_configured_path(path)?;
    }
    if !use_baseline {
        // The baseline commands read no baseline, but `create` says whether the configuration
        // already names the file it writes.
        options.baseline_source = settings
            .baseline
            .as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        return Ok((settings.rules, options));
    }
    if let Some(path) = &common.baseline {
        let source = path.display().to_string();
        load_baseline(&mut options, Baseline::read(path)?, source);
    } else if let Some(path) = &settings.baseline {
        let name = sources.settings.describe(path);
        match sources.settings.read(path)? {
            Some(data) => {
                let baseline = Baseline::parse(&name, &data)?;
                load_baseline(&mut options, baseline, name);
            }
            None if sources.baseline_required => {
                return Err(Error::Config {
                    file: name,
                    message: format!(
                        "the baseline the configuration names is not there; {}",
                        crate::baseline::CREATE_HINT
                    ),
                })
            }
            None => {}
        }
    }
    // An ignore file that cannot be read allows nothing, which is the safe direction.
    let ignore = sources.root.join(IGNORE_FILE);
    if let Ok(Some(data)) = sources.repository.read(&ignore) {
        options.ignored_locations =
            crate::baseline::parse_gitleaksignore(&String::from_utf8_lossy(&data));
        options.ignore_source = sources.repository.describe(&ignore);
    }
    Ok((settings.rules, options))
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
                report::inert(&path.display().to_string())
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

/// What `scan --staged` and the pre-commit hook scan.
pub fn scan_staged(matcher: &Matcher, max_file_size: u64) -> Result<Outcome> {
    let repo = GitRepo::discover(Path::new("."))?;
    let staged = repo.staged(max_file_size)?;
    scan_change(matcher, &repo, staged)
}

/// Scans what a change scan (staged, pushed, received, range) found: its fragments, then each
/// blob over `max_file_size` on its own, so only one is in memory at a time; then what could
/// not be scanned at all fails the scan (named, exit 2) or, if `[policy] fail_on_unscannable =
/// false`, is named on stderr and counted as skipped.
fn scan_change(matcher: &Matcher, repo: &GitRepo, found: GitFragments) -> Result<Outcome> {
    let started = crate::scan::run_started();
    let max_file_size = matcher.options().max_file_size;
    let mut outcome = scan::scan_fragments(matcher, found.fragments, scan::NotText::Skip);
    outcome.stats.skipped += found.skipped;
    let mut unscannable = found.unscannable;
    for large in &found.large {
        let mut part = GitFragments::default();
        repo.read_large(large, max_file_size, &mut part)?;
        outcome.merge(scan::scan_fragments(
            matcher,
            part.fragments,
            scan::NotText::Skip,
        ));
        outcome.stats.skipped += part.skipped;
        unscannable.extend(part.unscannable);
    }
    for err in unscannable {
        if matcher.options().fail_on_unscannable {
            outcome.stats.errors += 1;
            outcome.errors.push(err);
        } else {
            eprintln!(
                "staunch: warning: not scanned ([policy] fail_on_unscannable = false): {}",
                crate::report::inert(&err.to_string())
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
pub fn scan_named_files(
    matcher: &Matcher,
    files: &[PathBuf],
    max_file_size: u64,
) -> Result<Outcome> {
    let repo = GitRepo::discover(Path::new("."))?;
    let mut staged = repo.staged(max_file_size)?;
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
    let mut outcome = scan_change(matcher, &repo, staged)?;
    if !unstaged.is_empty() {
        outcome.merge(scan::scan_paths(matcher, &unstaged, max_file_size));
    }
    Ok(outcome)
}

/// What a baseline records in a repository: the content of the files the index tracks under
/// `roots`, never the work tree. An untracked file (a token in `deploy/app.env` nobody has
/// added yet) must not become "already there": staged later, the hook would let it through.
fn scan_tracked(
    matcher: &Matcher,
    repo: &GitRepo,
    roots: &[PathBuf],
    max_file_size: u64,
) -> Result<Outcome> {
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
    let collector = scan::Collector::new(matcher.options().max_findings);
    let skipped = repo.for_each_tracked_file(keep, max_file_size, |fragment| {
        collector.scan(matcher, fragment)
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
    matcher: &Matcher,
    repo: &GitRepo,
    commits: &[gix::ObjectId],
    tips: &[gix::ObjectId],
) -> Result<Outcome> {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let started = crate::scan::run_started();
    let max_file_size = matcher.options().max_file_size;
    let read = AtomicU64::new(0);
    let total = commits.len();
    let mut outcome = with_progress(
        || match read.load(Relaxed) as usize {
            n if n < total => format!("{n}/{total} commits read"),
            _ => format!("{total} commits read, scanning what they add"),
        },
        || -> Result<Outcome> {
            let mut changed = repo.commit_fragments(commits, max_file_size, &read)?;
            changed.absorb(repo.tag_messages(tips, max_file_size)?);
            scan_change(matcher, repo, changed)
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
pub fn scan_history(matcher: &Matcher, max_file_size: u64) -> Result<Outcome> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let started = crate::scan::run_started();
    let repo = GitRepo::discover(Path::new("."))?;
    let collector = scan::Collector::new(matcher.options().max_findings);
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
            let might_report = |data: &[u8]| {
                let maybe = matcher.might_report(data);
                if maybe {
                    progress.candidates.fetch_add(1, Relaxed);
                }
                maybe
            };
            let found = repo.history_candidates(
                max_file_size,
                &total,
                |data| {
                    collector.note_scanned(data.len() as u64);
                    might_report(data)
                },
                |message| {
                    collector.note_message(message.len() as u64);
                    might_report(message)
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
            repo.for_each_blob(&found.placed, max_file_size, |fragment| {
                collector.rescan(matcher, fragment);
                progress.confirmed.fetch_add(1, Relaxed);
            })?;
            for message in found.messages {
                collector.rescan(matcher, message);
                progress.confirmed.fetch_add(1, Relaxed);
            }
            progress.phase.store(2, Relaxed);
            if terminal {
                show();
            }
            // Annotated tags, and blobs and trees a reference points at with no commit in
            // between: no commit's tree need hold those. A blob already placed at a commit is
            // not reported again; the others were counted in the pass over every blob.
            let extras = repo.ref_extras(max_file_size)?;
            for message in extras.tag_messages {
                collector.scan(matcher, message);
            }
            let placed: std::collections::HashSet<gix::ObjectId> =
                found.placed.iter().map(|p| p.blob).collect();
            let mut seen = std::collections::HashSet::new();
            for target in &extras.targets {
                repo.for_each_target_blob(
                    target,
                    max_file_size,
                    &mut seen,
                    |id| placed.contains(id),
                    |fragment| collector.rescan(matcher, fragment),
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
        || at_branch_tips(matcher, &repo, &placed, &mut outcome),
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
    matcher: &Matcher,
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
        let collector = scan::Collector::new(matcher.options().max_findings);
        let skipped = repo.for_each_blob(&moved, matcher.options().max_file_size, |fragment| {
            collector.scan(matcher, fragment)
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

/// Writes the report and the per-file errors, and turns the outcome into a verdict.
pub fn finish(common: &Common, outcome: &Outcome) -> Result<Verdict> {
    let to_terminal = common.output.is_none() && std::io::stdout().is_terminal();
    let color = match common.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let options = ReportOptions {
        format: common.format,
        color,
        show_secrets: common.show_secrets,
    };
    // Streamed through a buffer, never built whole: a report of many findings costs their
    // count, not a copy of the report.
    match &common.output {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            let mut out = std::io::BufWriter::new(file);
            report::write(&mut out, outcome, &options)
                .and_then(|_| out.flush())
                .map_err(|e| Error::io(path, e))?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = report::write(&mut out, outcome, &options).and_then(|_| out.flush());
            crate::output::report_written(written).map_err(|e| Error::io("<stdout>", e))?;
        }
    }
    if common.output.is_some() {
        // The report went to a file (SARIF for code scanning, JUnit for a test report): the job
        // log, where people look first when a CI job fails, gets the human report on stderr,
        // redacted whatever `--show-secrets` says (a CI log is read more widely than a file).
        let human = ReportOptions {
            format: Format::Human,
            color: false,
            show_secrets: false,
        };
        let mut err = std::io::BufWriter::new(std::io::stderr().lock());
        let _ = report::write(&mut err, outcome, &human).and_then(|_| err.flush());
    }
    for err in &outcome.errors {
        eprintln!(
            "staunch: not scanned: {}",
            crate::report::inert(&err.to_string())
        );
    }
    report_dropped(outcome);
    print_not_scanned(outcome);
    let verdict = if !outcome.errors.is_empty() {
        Verdict::Failed
    } else if outcome.findings.iter().any(|f| f.blocks) || outcome.stats.dropped.blocking {
        Verdict::Blocked
    } else {
        Verdict::Clean
    };
    crate::audit::scan_finished(outcome, verdict)?;
    Ok(verdict)
}

/// Loads a baseline's fingerprints into the options; one of the old scheme still works, by
/// its old fingerprints, with a warning saying how to migrate it.
fn load_baseline(options: &mut ScanOptions, baseline: Baseline, source: String) {
    if baseline.is_legacy() {
        eprintln!(
            "staunch: warning: baseline {} uses fingerprint scheme {}, which a dictionary reverses \
             for weak secrets; rewrite it with `staunch baseline migrate`",
            report::inert(&source),
            baseline.version
        );
        options.legacy_baseline = baseline.fingerprints();
    } else {
        options.baseline = baseline.fingerprints();
        options.baseline_anywhere = baseline.secret_fingerprints();
    }
    options.baseline_source = source;
}

/// Says on stderr what the findings caps left out of the report, naming the first files.
fn report_dropped(outcome: &Outcome) {
    let dropped = &outcome.stats.dropped;
    if dropped.findings == 0 {
        return;
    }
    for (path, count) in &outcome.capped {
        eprintln!(
            "staunch: {}: {count} more finding(s) over the per-file cap ([scan] max_findings_per_file) not reported",
            crate::report::inert(path)
        );
    }
    let about = if dropped.estimated { "about " } else { "" };
    let verdict = if dropped.blocking {
        "some of them block, so the run blocks"
    } else {
        "none of them blocks"
    };
    eprintln!(
        "staunch: {about}{} finding(s) over the findings caps were not reported ({verdict})",
        dropped.findings
    );
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
            crate::report::inert(&err.to_string())
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

/// Archive entries listed on stderr; the JSON report and the audit log list them all.
const SHOWN_NOT_SCANNED: usize = 20;

/// Says on stderr which archive entries a limit, encryption or corruption kept from being
/// scanned in full. They do not change the exit code: like a file over the size limit, they
/// are skipped on purpose and counted.
fn print_not_scanned(outcome: &Outcome) {
    for entry in outcome.not_scanned.iter().take(SHOWN_NOT_SCANNED) {
        let line = format!("{}: {}", entry.path, entry.reason);
        eprintln!(
            "staunch: archive entry not scanned in full: {}",
            crate::report::inert(&line)
        );
    }
    if outcome.not_scanned.len() > SHOWN_NOT_SCANNED {
        eprintln!(
            "staunch: and {} more archive entries not scanned in full (--format json lists them)",
            outcome.not_scanned.len() - SHOWN_NOT_SCANNED
        );
    }
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
                report::inert(&path.display().to_string()),
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
            let shown = report::inert(&path.display().to_string()).into_owned();
            if !old.is_legacy() {
                eprintln!("staunch: baseline {shown} already uses the current fingerprint scheme");
                return Ok(Verdict::Clean);
            }
            let outcome = scan_for_baseline(&matcher, &roots(paths), *all)?;
            let (new, stale) = old.migrate(&outcome.findings);
            for entry in &stale {
                eprintln!(
                    "staunch: dropped (matches nothing scanned now): {} {} {}",
                    report::inert(&entry.path),
                    entry.rule_id,
                    entry.fingerprint
                );
            }
            let target = common.output.clone().unwrap_or(path);
            write_baseline(&target, &new)?;
            eprintln!(
                "staunch: baseline {} migrated: {} entr(y/ies) rewritten, {} dropped",
                report::inert(&target.display().to_string()),
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
                report::inert(fp)
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
    let shown = report::inert(&path.display().to_string()).into_owned();
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
                report::inert(configured)
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
        report::inert(&config.display().to_string()),
        report::inert(&value)
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
    let all = rules::load(&common.rule_packs)?;
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
    let matcher = Matcher::new(rules.to_vec(), ScanOptions::default());
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
