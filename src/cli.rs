//! The command line, as plain clap structs with no logic. The commands and flags are a
//! contract with users, hooks and CI scripts: add, never rename.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "staunch",
    version,
    about = "Stops secrets from leaving: scans files, staged changes, pushes and history"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments like `Cli::parse`, with each subcommand's help listing
    /// only the common options it uses (see [`focused_command`]).
    pub fn parse_focused() -> Cli {
        Self::from_matches(focused_command().get_matches())
    }

    /// [`Cli::parse_focused`] over `args`, for tests.
    pub fn try_parse_focused_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = focused_command().try_get_matches_from(args)?;
        Ok(Self::from_matches(matches))
    }

    fn from_matches(matches: clap::ArgMatches) -> Cli {
        use clap::FromArgMatches;
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// The common options each command uses, by command path; a command not listed uses them all.
/// The others are still accepted everywhere (scripts pass them: the command line is a
/// contract), only left out of that command's help.
const USES: &[(&[&str], &[&str])] = &[
    (&["install"], &["dir", "audit_log"]),
    (&["uninstall"], &["dir", "audit_log"]),
    (&["baseline"], BASELINE_USES),
    (&["baseline", "create"], BASELINE_CREATE_USES),
    (&["baseline", "check"], BASELINE_CHECK_USES),
    (&["baseline", "migrate"], BASELINE_USES),
    (&["config"], CONFIG_USES),
    (&["config", "check"], CONFIG_USES),
    (&["rules"], &["dir", "rule_packs", "format", "audit_log"]),
    (
        &["rules", "list"],
        &["dir", "rule_packs", "format", "audit_log"],
    ),
    (&["rules", "test"], &["dir", "audit_log"]),
];
const SCAN_SETTINGS: [&str; 6] = [
    "dir",
    "config",
    "rule_packs",
    "max_file_size",
    "archive_depth",
    "audit_log",
];
const BASELINE_CREATE_USES: &[&str] = &[
    SCAN_SETTINGS[0],
    SCAN_SETTINGS[1],
    SCAN_SETTINGS[2],
    SCAN_SETTINGS[3],
    SCAN_SETTINGS[4],
    SCAN_SETTINGS[5],
    "threads",
    "output",
];
const BASELINE_CHECK_USES: &[&str] = &[
    SCAN_SETTINGS[0],
    SCAN_SETTINGS[1],
    SCAN_SETTINGS[2],
    SCAN_SETTINGS[3],
    SCAN_SETTINGS[4],
    SCAN_SETTINGS[5],
    "threads",
    "baseline",
];
const BASELINE_USES: &[&str] = &[
    SCAN_SETTINGS[0],
    SCAN_SETTINGS[1],
    SCAN_SETTINGS[2],
    SCAN_SETTINGS[3],
    SCAN_SETTINGS[4],
    SCAN_SETTINGS[5],
    "threads",
    "output",
    "baseline",
];
const CONFIG_USES: &[&str] = &[
    SCAN_SETTINGS[0],
    SCAN_SETTINGS[1],
    SCAN_SETTINGS[2],
    SCAN_SETTINGS[3],
    SCAN_SETTINGS[4],
    SCAN_SETTINGS[5],
    "baseline",
];

/// The clap command with, in each subcommand, a hidden copy of every global option that
/// command does not use. clap copies a global option into a subcommand only where the
/// subcommand has none of that id, so the hidden copy is what it keeps (and passes on to its
/// own subcommands); being global too, its value still reaches [`Common`].
pub fn focused_command() -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    hide_unused(cmd, &mut Vec::new(), &globals)
}

fn hide_unused(
    mut cmd: clap::Command,
    path: &mut Vec<String>,
    globals: &[clap::Arg],
) -> clap::Command {
    for sub in cmd.get_subcommands_mut() {
        path.push(sub.get_name().to_string());
        let uses = USES
            .iter()
            .find(|(at, _)| at.iter().copied().eq(path.iter().map(String::as_str)))
            .map(|(_, uses)| *uses);
        let mut taken = std::mem::take(sub);
        if let Some(uses) = uses {
            for arg in globals {
                if !uses.contains(&arg.get_id().as_str()) {
                    taken = taken.arg(arg.clone().hide(true));
                }
            }
        }
        *sub = hide_unused(taken, path, globals);
        path.pop();
    }
    cmd
}

/// Options every command takes.
#[derive(Clone, Debug, Args)]
pub struct Common {
    /// Run as if started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Configuration file (default: .staunch.toml at the repository root)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Extra rule pack (repeatable)
    #[arg(long = "rules", global = true, value_name = "FILE")]
    pub rule_packs: Vec<PathBuf>,
    /// Report format
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output
    #[arg(long, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// When to colour human output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print secrets in full instead of redacted
    #[arg(long, global = true)]
    pub show_secrets: bool,
    /// Skip files larger than this many bytes (default 10 MiB)
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Open archives (zip, jar, tar, .tar.gz, ...) this many levels deep; 0 opens none
    /// (default 3, or `[scan] archive_depth`)
    #[arg(long, global = true, value_name = "N")]
    pub archive_depth: Option<usize>,
    /// Report only findings that are not in this baseline (see `staunch baseline create`)
    #[arg(long, global = true, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Worker threads (default: one per core)
    #[arg(long, short = 'j', global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Append a JSON line per event (scan started/finished, hooks installed/removed, skips,
    /// errors) to FILE, created 0600; never a secret
    #[arg(long, global = true, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files, staged changes, a commit range, the whole history or stdin
    Scan(ScanArgs),
    /// What git hooks and agent hooks call
    Hook {
        #[command(subcommand)]
        kind: HookKind,
    },
    /// Wire staunch into this repository's git hooks (or Claude Code's settings)
    Install(InstallArgs),
    /// Remove what `install` wrote, restoring what was there before
    Uninstall(InstallArgs),
    /// Record today's findings so that only new ones block, or list stale entries
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Validate the configuration and print the effective settings
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect and test rule packs
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum HookKind {
    /// Scan what the next commit would add (git pre-commit hook). With FILEs (as the
    /// pre-commit framework passes them): a staged file's added lines, any other file in full
    PreCommit { files: Vec<PathBuf> },
    /// Scan the commits being pushed, read from git's stdin (git pre-push hook)
    PrePush {
        /// Remote name and URL, as git passes them to the hook (unused, accepted for git)
        #[arg(num_args = 0..=2)]
        remote: Vec<String>,
    },
    /// Claude Code hook (PreToolUse, UserPromptSubmit): scan what a tool is about to write,
    /// run or send, or the prompt about to be sent; exit 2 blocks
    ClaudeCode {
        /// Answer with Claude Code's JSON hook output on stdout and exit 0 (a `deny` decision
        /// for a tool call, `block` for a prompt) instead of exit 2 and the reason on stderr;
        /// errors still exit 2
        #[arg(long)]
        json_output: bool,
    },
    /// Scan what a push brings, from git's stdin `<old> <new> <ref>` lines (server-side git
    /// pre-receive hook, bare repository)
    PreReceive,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Replace (or remove) hooks staunch did not write
    #[arg(long)]
    pub force: bool,
    /// Install the Claude Code PreToolUse hook in .claude/settings.json instead of git hooks
    #[arg(long)]
    pub claude_code: bool,
    /// With --claude-code: use ~/.claude/settings.json
    #[arg(long, requires = "claude_code")]
    pub user: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (default: .)
    pub paths: Vec<PathBuf>,
    /// Scan what the next commit would add (the index against HEAD)
    #[arg(long, conflicts_with_all = ["paths", "range", "all", "stdin"])]
    pub staged: bool,
    /// Scan the commits in a range, e.g. origin/main..HEAD (A...B: allow state read from the
    /// merge base, as a pull request compares)
    #[arg(long, value_name = "A..B", conflicts_with_all = ["paths", "all", "stdin"])]
    pub range: Option<String>,
    /// Scan every blob reachable from every ref
    #[arg(long, conflicts_with_all = ["paths", "stdin"])]
    pub all: bool,
    /// Scan standard input as if it were the file given by --path
    #[arg(long, conflicts_with = "paths")]
    pub stdin: bool,
    /// The path standard input stands for (with --stdin)
    #[arg(long, requires = "stdin", value_name = "P")]
    pub path: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan PATHs (default .) and write every finding's fingerprint to the baseline
    /// (--output FILE, default .staunch-baseline.json). In a git repository only what the
    /// index tracks is recorded, never untracked or ignored files
    Create {
        paths: Vec<PathBuf>,
        /// Record the whole history's findings instead of the tracked files
        #[arg(long, conflicts_with = "paths")]
        all: bool,
    },
    /// Add the findings with these fingerprints (as a report prints them) to the baseline
    /// (--baseline FILE, else the one the configuration names, else .staunch-baseline.json),
    /// found in what the index tracks (staged content included), else in the whole history
    Add {
        #[arg(required = true, value_name = "FINGERPRINT")]
        fingerprints: Vec<String>,
    },
    /// List baseline entries (--baseline FILE, default .staunch-baseline.json) that no longer
    /// match any finding in PATHs (default .)
    Check { paths: Vec<PathBuf> },
    /// Rewrite a baseline of the old fingerprint scheme (--baseline FILE, default
    /// .staunch-baseline.json) to the current one, by scanning again what `create` scans;
    /// entries that match nothing any more are dropped and named (--output FILE to write
    /// elsewhere)
    Migrate {
        paths: Vec<PathBuf>,
        /// Match entries against the whole history's findings
        #[arg(long, conflicts_with = "paths")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective settings
    Check,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every rule: id, pack, category, severity, offline check, description
    List {
        /// Only rules of this category (credential, connection-string, private-ip, internal-url)
        #[arg(long)]
        category: Option<String>,
        /// Only rules of this pack (cloud, payments, ai, ...: the pack file's name)
        #[arg(long)]
        domain: Option<String>,
        /// Only rules whose provider contains this (case-insensitive)
        #[arg(long)]
        provider: Option<String>,
        /// Print the catalogue table that docs/RULES.md carries
        #[arg(long)]
        catalogue: bool,
    },
    /// Check each rule's examples and counter-examples (built-in packs, or the FILEs given)
    Test { files: Vec<PathBuf> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["staunch", "scan", "src", "--format", "json", "-C", "/tmp"])
            .unwrap();
        assert_eq!(cli.common.format, Format::Json);
        assert_eq!(cli.common.dir, Some(PathBuf::from("/tmp")));
        match cli.command {
            Command::Scan(args) => assert_eq!(args.paths, vec![PathBuf::from("src")]),
            _ => panic!("not scan"),
        }
    }

    /// The help `args` (ending in `--help`) prints.
    fn help(args: &[&str]) -> String {
        let err = Cli::try_parse_focused_from(args).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        err.to_string()
    }

    #[test]
    fn help_lists_only_the_options_a_command_uses() {
        let install = help(&["staunch", "install", "--help"]);
        assert!(install.contains("--audit-log"), "{install}");
        for unused in [
            "--show-secrets",
            "--format",
            "--max-file-size",
            "--baseline",
        ] {
            assert!(!install.contains(unused), "{unused} in {install}");
        }
        let create = help(&["staunch", "baseline", "create", "--help"]);
        assert!(create.contains("--output"), "{create}");
        assert!(!create.contains("--show-secrets"), "{create}");
        let check = help(&["staunch", "baseline", "check", "--help"]);
        assert!(check.contains("--baseline"), "{check}");
        assert!(!check.contains("--output"), "{check}");
        let scan = help(&["staunch", "scan", "--help"]);
        for used in ["--show-secrets", "--format", "--baseline", "--output", "-C"] {
            assert!(scan.contains(used), "{used} not in {scan}");
        }
    }

    #[test]
    fn hidden_options_are_still_accepted_where_they_were() {
        let cli = Cli::try_parse_focused_from([
            "staunch",
            "install",
            "--show-secrets",
            "--format",
            "json",
            "-C",
            "/tmp",
        ])
        .unwrap();
        assert!(cli.common.show_secrets);
        assert_eq!(cli.common.format, Format::Json);
        assert_eq!(cli.common.dir, Some(PathBuf::from("/tmp")));
        let cli = Cli::try_parse_focused_from(["staunch", "--color", "never", "baseline", "check"])
            .unwrap();
        assert_eq!(cli.common.color, ColorChoice::Never);
        let cli = Cli::try_parse_focused_from([
            "staunch", "baseline", "create", "--output", "b.json", "--color", "never",
        ])
        .unwrap();
        assert_eq!(cli.common.output, Some(PathBuf::from("b.json")));
        assert_eq!(cli.common.color, ColorChoice::Never);
    }

    #[test]
    fn baseline_add_takes_one_fingerprint_or_more() {
        assert!(Cli::try_parse_from(["staunch", "baseline", "add"]).is_err());
        let cli = Cli::try_parse_from(["staunch", "baseline", "add", "ab", "cd"]).unwrap();
        match cli.command {
            Command::Baseline {
                command: BaselineCommand::Add { fingerprints },
            } => assert_eq!(fingerprints, ["ab", "cd"]),
            _ => panic!("not baseline add"),
        }
    }

    #[test]
    fn path_needs_stdin() {
        assert!(Cli::try_parse_from(["staunch", "scan", "--path", "x"]).is_err());
    }
}
