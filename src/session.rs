//! What a run needs, resolved from the command line and the configuration files: the session
//! (the shared options and the run's audit log), and from it a scanner, the matcher with its
//! options and the limits of the scan, built from the configuration that applies to what is
//! scanned (the work tree's, a range's base commit's, the server's). Hooks and commands start
//! here; nothing here reads what they do.

use std::path::{Path, PathBuf};

use crate::audit::AuditLog;
use crate::cli::{Cli, Common};
use crate::config::baseline::{Baseline, IGNORE_FILE};
use crate::config::{ConfigReader, DiskReader, Settings};
use crate::error::{Error, Result};
use crate::git::GitRepo;
use crate::matcher::{Matcher, ScanOptions};
use crate::rules::Rule;
use crate::scan::{Limits, Scanner, DEFAULT_MAX_FILE_SIZE};

/// One run as the command line gives it: the options every command shares and the audit log
/// that records it. Commands and hooks receive it and build from it the matcher for the
/// configuration that applies to what they scan.
pub struct Session {
    pub common: Common,
    pub audit: AuditLog,
}

impl Session {
    /// The session for a parsed command line; `scan.started` is recorded for scans and hooks.
    pub fn start(cli: &Cli) -> Result<Session> {
        Ok(Session {
            common: cli.common.clone(),
            audit: AuditLog::start(cli)?,
        })
    }
}

/// Builds the matcher from the configuration found for the current directory: `--config`, or
/// `.staunch.toml` at the repository root (the current directory outside a repository).
///
/// A command builds one scanner and uses it until the process ends, so it is never freed:
/// dropping a thousand compiled rules one allocation at a time cost a hook about a millisecond
/// (a tenth of its start-up) at exit, for memory the exit hands back anyway.
pub fn build_scanner(session: &Session) -> Result<&'static Scanner> {
    scanner_for_cwd(session, true, false).map(|scanner| &*Box::leak(Box::new(scanner)))
}

/// For `hook pre-receive`: the server's own configuration, where every line scanned is one the
/// push adds, so (as in a range scan) an inline marker on it is the change allowing itself and
/// is reported unless `[policy] honour_inline_allows_in_range` says otherwise.
pub fn build_scanner_for_pushed(session: &Session) -> Result<Scanner> {
    scanner_for_cwd(session, true, true)
}

/// `use_baseline` is false only for the baseline commands, which must see every finding;
/// `lines_untrusted` is true where every scanned line is the incoming change's.
pub fn scanner_for_cwd(
    session: &Session,
    use_baseline: bool,
    lines_untrusted: bool,
) -> Result<Scanner> {
    let root = GitRepo::discover(Path::new("."))
        .ok()
        .and_then(|repo| repo.work_dir())
        .unwrap_or_else(|| PathBuf::from("."));
    let settings = crate::config::load(
        &DiskReader,
        session.common.config.as_deref(),
        &root,
        &session.common.rule_packs,
    )?;
    let sources = AllowSources {
        settings: &DiskReader,
        repository: &DiskReader,
        root,
        range: lines_untrusted,
        baseline_required: true,
    };
    scanner_from_settings(session, settings, &sources, use_baseline)
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
pub fn build_scanner_for_range(
    session: &Session,
    repo: &GitRepo,
    base: Option<gix::ObjectId>,
) -> Result<Scanner> {
    let root = repo.work_dir().unwrap_or_else(|| PathBuf::from("."));
    let at_base = base.map(|commit| CommitReader { repo, commit });
    let at_base: &dyn ConfigReader = match &at_base {
        Some(reader) => reader,
        None => &NoFiles,
    };
    let (settings, from): (_, &dyn ConfigReader) = match &session.common.config {
        Some(explicit) => (settings_from_disk(session, explicit, &root)?, &DiskReader),
        None => (
            crate::config::load(at_base, None, Path::new(""), &session.common.rule_packs)?,
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
    scanner_from_settings(session, settings, &sources, true)
}

/// The settings of an explicit `--config FILE`, read from disk with what they name: the CI
/// script's or the agent settings' choice, not the scanned change's.
fn settings_from_disk(session: &Session, explicit: &Path, root: &Path) -> Result<Settings> {
    crate::config::load(
        &DiskReader,
        Some(explicit),
        root,
        &session.common.rule_packs,
    )
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
pub fn build_scanner_from_head(
    session: &Session,
    repo: Option<&GitRepo>,
    head: Option<gix::ObjectId>,
) -> Result<(Scanner, Vec<String>)> {
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
    let (settings, from): (_, &dyn ConfigReader) = match &session.common.config {
        // The settings file's choice, with what it names; `.gitleaksignore` is named by nobody.
        Some(explicit) => (settings_from_disk(session, explicit, &root)?, &DiskReader),
        None => {
            let mut settings =
                crate::config::load(in_head, None, Path::new(""), &session.common.rule_packs)?;
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
    let (rules, mut options, limits) = resolve_options(session, settings, &sources, true)?;
    let markers = std::mem::take(&mut options.allow_markers);
    let matcher = Matcher::new(rules, options).on_warning(|w| eprintln!("{w}"));
    Ok((Scanner { matcher, limits }, markers))
}

/// `use_baseline` is false only for the baseline commands, which must see every finding.
fn scanner_from_settings(
    session: &Session,
    settings: Settings,
    sources: &AllowSources<'_>,
    use_baseline: bool,
) -> Result<Scanner> {
    let (rules, options, limits) = resolve_options(session, settings, sources, use_baseline)?;
    let matcher = Matcher::new(rules, options).on_warning(|w| eprintln!("{w}"));
    Ok(Scanner { matcher, limits })
}

/// The rules, scan options and limits a configuration gives, with the allow files read from
/// `sources`.
fn resolve_options(
    session: &Session,
    settings: Settings,
    sources: &AllowSources<'_>,
    use_baseline: bool,
) -> Result<(Vec<Rule>, ScanOptions, Limits)> {
    let mut options = ScanOptions::default();
    let mut limits = Limits::default();
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
        limits.max_findings = max.max(1);
    }
    options.allow = settings.allow;
    if !settings.foreign_allow_markers {
        options.allow_markers = vec!["staunch:allow".into()];
    }
    options.trust_inline_markers = !sources.range || settings.honour_inline_allows_in_range;
    limits.fail_on_unscannable = settings.fail_on_unscannable;
    if let Some(block) = settings.block {
        options.block = block;
    }
    limits.max_file_size = session
        .common
        .max_file_size
        .or(settings.max_file_size)
        .unwrap_or(DEFAULT_MAX_FILE_SIZE);
    limits.archive = settings.archive.apply(limits.archive);
    if let Some(depth) = session.common.archive_depth {
        limits.archive.depth = depth;
    }
    if let Some(path) = &settings.audit_log {
        session.audit.use_configured_path(path)?;
    }
    if !use_baseline {
        // The baseline commands read no baseline, but `create` says whether the configuration
        // already names the file it writes.
        options.baseline_source = settings
            .baseline
            .as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        return Ok((settings.rules, options, limits));
    }
    if let Some(path) = &session.common.baseline {
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
                        crate::config::baseline::CREATE_HINT
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
            crate::config::baseline::parse_gitleaksignore(&String::from_utf8_lossy(&data));
        options.ignore_source = sources.repository.describe(&ignore);
    }
    Ok((settings.rules, options, limits))
}

/// Loads a baseline's fingerprints into the options; one of the old scheme still works, by
/// its old fingerprints, with a warning saying how to migrate it.
fn load_baseline(options: &mut ScanOptions, baseline: Baseline, source: String) {
    if baseline.is_legacy() {
        eprintln!(
            "staunch: warning: baseline {} uses fingerprint scheme {}, which a dictionary reverses \
             for weak secrets; rewrite it with `staunch baseline migrate`",
            crate::text::inert(&source),
            baseline.version
        );
        options.legacy_baseline = baseline.fingerprints();
    } else {
        options.baseline = baseline.fingerprints();
        options.baseline_anywhere = baseline.secret_fingerprints();
    }
    options.baseline_source = source;
}
