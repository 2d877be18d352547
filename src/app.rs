//! Wires the command line to the pipeline: builds the rules and matcher once, picks the source,
//! writes the report and decides the verdict.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, ColorChoice, Command, Common, HookKind, RulesCommand, ScanArgs};
use crate::error::{Error, Result};
use crate::git::GitRepo;
use crate::matcher::{Matcher, ScanOptions};
use crate::report::{self, Format, ReportOptions};
use crate::rules::{self, Rule};
use crate::scan::{self, Outcome};
use crate::source::Fragment;
use crate::Verdict;

/// Files over this size are skipped and counted unless configured otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

pub fn run(cli: Cli) -> Result<Verdict> {
    if let Some(dir) = &cli.common.dir {
        std::env::set_current_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    if let Some(threads) = cli.common.threads {
        // Only fails if a pool was already built, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global();
    }
    match &cli.command {
        Command::Scan(args) => run_scan(&cli.common, args),
        Command::Hook { kind } => match kind {
            HookKind::PreCommit { files } => crate::hooks::pre_commit(&cli.common, files),
            HookKind::PrePush { remote } => {
                crate::hooks::pre_push(&cli.common, remote.first().map(String::as_str))
            }
            HookKind::ClaudeCode => crate::hooks::claude_code::run(&cli.common),
        },
        Command::Install(args) => crate::install::install(&cli.common, args),
        Command::Uninstall(args) => crate::install::uninstall(&cli.common, args),
        Command::Rules { command } => match command {
            RulesCommand::List => rules_list(&cli.common),
            RulesCommand::Test { files } => rules_test(files),
        },
    }
}

pub fn build_matcher(common: &Common) -> Result<Matcher> {
    if let Some(config) = &common.config {
        return Err(Error::Config {
            file: config.display().to_string(),
            message: "configuration files are not supported yet".into(),
        });
    }
    let rules = rules::load(&common.rule_packs)?;
    Ok(Matcher::new(rules, ScanOptions::default()))
}

fn run_scan(common: &Common, args: &ScanArgs) -> Result<Verdict> {
    let matcher = build_matcher(common)?;
    let max_file_size = common.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
    let outcome = if args.staged {
        scan_staged(&matcher, max_file_size)?
    } else if let Some(range) = &args.range {
        let repo = GitRepo::discover(Path::new("."))?;
        let commits = repo.range(range)?;
        scan_commits(&matcher, &repo, &commits, max_file_size)?
    } else if args.all {
        scan_history(&matcher, max_file_size)?
    } else if args.stdin {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::io("<stdin>", e))?;
        let path = args.path.clone().unwrap_or_else(|| "<stdin>".to_string());
        scan::scan_fragments(&matcher, vec![Fragment::file(path, data)])
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
    let mut outcome = scan::scan_fragments(matcher, staged.fragments);
    outcome.stats.skipped += staged.skipped;
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
    let staged = repo.staged(max_file_size)?;
    let root = repo.work_dir().unwrap_or_else(|| PathBuf::from("."));
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let relative = |file: &PathBuf| -> String {
        let absolute = cwd.join(file);
        let rel = absolute
            .strip_prefix(&root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| file.clone());
        rel.to_string_lossy()
            .replace('\\', "/")
            .trim_start_matches("./")
            .to_string()
    };
    let named: std::collections::HashSet<String> = files.iter().map(relative).collect();
    let fragments: Vec<Fragment> = staged
        .fragments
        .into_iter()
        .filter(|f| named.contains(&f.path))
        .collect();
    let unstaged: Vec<PathBuf> = files
        .iter()
        .filter(|f| !staged.paths.contains(&relative(f)))
        .cloned()
        .collect();
    let mut outcome = scan::scan_fragments(matcher, fragments);
    if !unstaged.is_empty() {
        let on_disk = scan::scan_paths(matcher, &unstaged, max_file_size);
        outcome.findings.extend(on_disk.findings);
        outcome.findings.sort();
        outcome.stats.files += on_disk.stats.files;
        outcome.stats.bytes += on_disk.stats.bytes;
        outcome.stats.skipped += on_disk.stats.skipped;
        outcome.stats.errors += on_disk.stats.errors;
        outcome.stats.allowed += on_disk.stats.allowed;
        outcome.errors.extend(on_disk.errors);
    }
    outcome.stats.skipped += staged.skipped;
    Ok(outcome)
}

/// The added lines of each commit in `commits`.
pub fn scan_commits(
    matcher: &Matcher,
    repo: &GitRepo,
    commits: &[gix::ObjectId],
    max_file_size: u64,
) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let changed = repo.commit_fragments(commits, max_file_size)?;
    let mut outcome = scan::scan_fragments(matcher, changed.fragments);
    outcome.stats.skipped += changed.skipped;
    outcome.stats.duration_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
}

/// Every unique blob of the whole history, once; progress on a terminal.
fn scan_history(matcher: &Matcher, max_file_size: u64) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let repo = GitRepo::discover(Path::new("."))?;
    let commits = repo.all_commits()?;
    let blobs = repo.history_blobs(&commits)?;
    let collector = scan::Collector::default();
    let done = std::sync::atomic::AtomicBool::new(false);
    let total = blobs.len();
    let skipped = std::thread::scope(|scope| {
        if std::io::stderr().is_terminal() {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let (files, bytes, found) = collector.progress();
                    eprint!(
                        "\rstaunch: {files}/{total} blobs, {} MiB, {found} finding(s)  ",
                        bytes >> 20
                    );
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                eprint!("\r\x1b[K");
            });
        }
        let result = repo.for_each_blob(&blobs, max_file_size, |fragment| {
            collector.scan(matcher, &fragment)
        });
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    })?;
    Ok(collector.finish(skipped, started))
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
    let mut buffer = Vec::new();
    report::write(&mut buffer, outcome, &options).map_err(|e| Error::io("<report>", e))?;
    match &common.output {
        Some(path) => std::fs::write(path, &buffer).map_err(|e| Error::io(path, e))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&buffer)
                .and_then(|_| stdout.flush())
                .map_err(|e| Error::io("<stdout>", e))?;
        }
    }
    for err in &outcome.errors {
        eprintln!("staunch: not scanned: {err}");
    }
    Ok(if !outcome.errors.is_empty() {
        Verdict::Failed
    } else if !outcome.findings.is_empty() {
        Verdict::Blocked
    } else {
        Verdict::Clean
    })
}

fn rules_list(common: &Common) -> Result<Verdict> {
    let rules = rules::load(&common.rule_packs)?;
    let mut out = std::io::stdout().lock();
    if common.format == Format::Json {
        let list: Vec<_> = rules
            .iter()
            .map(|r| serde_json::json!({"id": r.id, "category": r.category, "severity": r.severity, "description": r.description, "pack": r.pack}))
            .collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
    } else {
        for r in &rules {
            let _ = writeln!(
                out,
                "{:<36} {:<18} {:<7} {}",
                r.id, r.category, r.severity, r.description
            );
        }
        let _ = writeln!(out, "{} rules", rules.len());
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
        rules::load(&[])?
    } else {
        let mut all = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            all.extend(rules::parse_pack(&path.display().to_string(), &text)?);
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
        println!("{} rules, {} examples: all pass", rules.len(), examples);
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
