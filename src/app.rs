//! Dispatch: each command line goes to its command; the small commands (baseline, config
//! check, rules) live in `commands`. The matcher is built by `session`, the scans driven by `scan`, the
//! run ended by `finish`; the hooks are adapters in `hooks`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, ConfigCommand, HookKind, RulesCommand, ScanArgs};
use crate::error::{Error, Result};
use crate::finish::finish;
use crate::git::GitRepo;
use crate::report::{self, Format};
use crate::scan::{
    self,
    git::{scan_commits, scan_history, scan_staged},
};
use crate::session::{build_scanner, build_scanner_for_range, Session};
use crate::source::Fragment;
use crate::Verdict;

use crate::commands;

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
    let session = Session::start(&cli)?;
    let result = match &cli.command {
        Command::Scan(args) => run_scan(&session, args),
        Command::Hook { kind } => match kind {
            _ if crate::install::skip_requested(&session, kind)? => Ok(Verdict::Clean),
            HookKind::PreCommit { files } => crate::hooks::pre_commit(&session, files),
            HookKind::PrePush { remote } => {
                crate::hooks::pre_push(&session, remote.first().map(String::as_str))
            }
            HookKind::ClaudeCode { json_output } => {
                crate::hooks::claude_code::run(&session, *json_output)
            }
            HookKind::PreReceive => crate::hooks::pre_receive::run(&session),
        },
        Command::Install(args) => crate::install::install(&session, args),
        Command::Uninstall(args) => crate::install::uninstall(&session, args),
        Command::Baseline { command } => commands::baseline::run_baseline(&session, command),
        Command::Config {
            command: ConfigCommand::Check,
        } => commands::config::config_check(&session),
        Command::Rules { command } => match command {
            RulesCommand::List {
                category,
                domain,
                provider,
                catalogue,
            } => commands::rules::rules_list(
                &session.common,
                &commands::rules::RuleFilter {
                    category: category.as_deref(),
                    domain: domain.as_deref(),
                    provider: provider.as_deref(),
                },
                *catalogue,
            ),
            RulesCommand::Test { files } => commands::rules::rules_test(files),
        },
    };
    session.audit.run_finished(result)
}
/// Runs a scan; when it fails before any report (bad configuration, bad range, no repository)
/// and a SARIF file was asked for, that file still gets written, with the error as a tool
/// execution notification: a CI upload step that runs `if: always()` finds a file.
fn run_scan(session: &Session, args: &ScanArgs) -> Result<Verdict> {
    let common = &session.common;
    let result = scan_command(session, args);
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

fn scan_command(session: &Session, args: &ScanArgs) -> Result<Verdict> {
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
        let scanner = build_scanner_for_range(session, &repo, base)?;
        let outcome = scan_commits(&scanner, &repo, &commits, &[])?;
        return finish(session, &outcome);
    }
    let scanner = build_scanner(session)?;
    let outcome = if args.staged {
        scan_staged(scanner)?
    } else if args.all {
        scan_history(scanner)?
    } else if args.stdin {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::io("<stdin>", e))?;
        let path = args.path.clone().unwrap_or_else(|| "<stdin>".to_string());
        scan::scan_fragments(
            scanner,
            vec![Fragment::file(path, data)],
            scan::NotText::Scan,
        )
    } else {
        let roots = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        scan::scan_paths(scanner, &roots)
    };
    finish(session, &outcome)
}
