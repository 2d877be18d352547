//! Configuration: `.staunch.toml` at the repository root (or `--config FILE`), and gitleaks-format
//! files mapped onto the same settings. Parsed once, validated, then read-only. Unknown keys are
//! errors with file and line, so a typo never silently turns a check off.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::rules::checks::filters::holds_stopword;
use crate::rules::{self, compile_regex, Rule, Severity};

/// The config file staunch looks for at the repository root.
pub const CONFIG_FILE: &str = ".staunch.toml";

/// `.staunch.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub internal_domains: Vec<String>,
    #[serde(default)]
    pub scan: ScanSection,
    #[serde(default)]
    pub rules: RulesSection,
    #[serde(default)]
    pub policy: PolicySection,
    #[serde(default)]
    pub allow: Vec<AllowSpec>,
    /// A baseline file (see `staunch baseline create`), relative to the config file.
    pub baseline: Option<PathBuf>,
    /// Append an audit trail of every run to this file.
    pub audit_log: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSection {
    pub max_file_size: Option<u64>,
    pub decode_depth: Option<usize>,
    pub min_base64_length: Option<usize>,
    pub max_findings_per_file: Option<usize>,
    pub max_findings: Option<usize>,
    /// Archive levels opened (0: none).
    pub archive_depth: Option<usize>,
    /// Bytes read of one archive entry.
    pub archive_max_entry_size: Option<u64>,
    /// Bytes the decompressors may produce for one file, nested archives included.
    pub archive_max_expanded_size: Option<u64>,
    /// Entries opened in one file, nested archives included.
    pub archive_max_entries: Option<u64>,
}

/// The `[scan] archive_*` settings, each unset unless the file gives it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchiveSettings {
    pub depth: Option<usize>,
    pub max_entry_size: Option<u64>,
    pub max_expanded_size: Option<u64>,
    pub max_entries: Option<u64>,
}

impl ArchiveSettings {
    /// The limits these settings give over `defaults`.
    pub fn apply(
        &self,
        defaults: crate::source::archive::Limits,
    ) -> crate::source::archive::Limits {
        crate::source::archive::Limits {
            depth: self.depth.unwrap_or(defaults.depth),
            max_entry_size: self.max_entry_size.unwrap_or(defaults.max_entry_size),
            max_expanded: self.max_expanded_size.unwrap_or(defaults.max_expanded),
            max_entries: self.max_entries.unwrap_or(defaults.max_entries),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    #[serde(default)]
    pub packs: Vec<PathBuf>,
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub only: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// Severities that block; findings of other severities are reported as warnings.
    pub block: Option<Vec<Severity>>,
    /// Honour `gitleaks:allow` and `pragma: allowlist secret` besides `staunch:allow`.
    pub foreign_allow_markers: Option<bool>,
    /// In `scan --range`, honour inline markers on lines the range adds. Off by default: the
    /// change would be allowing its own secret; its findings are reported, marked.
    pub honour_inline_allows_in_range: Option<bool>,
    /// In change scans (staged, pre-commit, pre-push, pre-receive, range), fail (exit 2) when
    /// something the change adds cannot be scanned, such as a blob over 10 x max_file_size.
    /// On by default: a hook that lets unscanned content through is open. Off, it is named
    /// on stderr and counted as skipped.
    pub fail_on_unscannable: Option<bool>,
}

/// One `[[allow]]` entry: a finding is allowed when it matches every kind of condition the entry
/// gives (paths, regexes, stopwords, rules, commits), and any value within a kind.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowSpec {
    pub description: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    /// What `regexes` run on: the secret (default) or the whole line.
    #[serde(default)]
    pub regex_target: RegexTarget,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub rules: Vec<String>,
    #[serde(default)]
    pub commits: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegexTarget {
    #[default]
    Secret,
    Line,
}

/// A compiled allow entry.
#[derive(Clone, Debug)]
pub struct Allow {
    pub paths: Option<GlobSet>,
    /// Path regexes (gitleaks allowlists give paths as regexes, not globs).
    pub path_regexes: Vec<Regex>,
    pub regexes: Vec<Regex>,
    pub regex_target: RegexTarget,
    pub stopwords: Vec<String>,
    pub rules: Vec<String>,
    pub commits: Vec<String>,
    /// Which entry of which file this is (`[[allow]] "fixtures" in .staunch.toml`): reports
    /// name it for every finding it silences.
    pub origin: String,
}

impl Allow {
    pub fn compile(file: &str, spec: &AllowSpec) -> Result<Allow> {
        let fail = |message: String| Error::Config {
            file: file.to_string(),
            message,
        };
        let paths = if spec.paths.is_empty() {
            None
        } else {
            let mut builder = GlobSetBuilder::new();
            for glob in &spec.paths {
                builder.add(
                    Glob::new(glob).map_err(|e| fail(format!("allow path glob {glob:?}: {e}")))?,
                );
            }
            Some(
                builder
                    .build()
                    .map_err(|e| fail(format!("allow paths: {e}")))?,
            )
        };
        let mut regexes = Vec::new();
        for pattern in &spec.regexes {
            regexes.push(
                compile_regex(pattern)
                    .map_err(|e| fail(format!("allow regex {pattern:?}: {e}")))?,
            );
        }
        if spec.paths.is_empty()
            && spec.regexes.is_empty()
            && spec.stopwords.is_empty()
            && spec.rules.is_empty()
            && spec.commits.is_empty()
        {
            return Err(fail("an [[allow]] entry needs at least one of paths, regexes, stopwords, rules, commits".into()));
        }
        Ok(Allow {
            paths,
            path_regexes: Vec::new(),
            regexes,
            regex_target: spec.regex_target,
            stopwords: spec
                .stopwords
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            rules: spec.rules.clone(),
            commits: spec
                .commits
                .iter()
                .map(|c| c.to_ascii_lowercase())
                .collect(),
            origin: match &spec.description {
                Some(description) => format!("[[allow]] {description:?} in {file}"),
                None => format!("[[allow]] in {file}"),
            },
        })
    }

    /// Does this entry allow a finding of `rule` with `secret` on `line` of `path` in `commit`?
    pub fn allows(
        &self,
        rule: &str,
        path: &str,
        commit: Option<&str>,
        secret: &[u8],
        line: &[u8],
    ) -> bool {
        if let Some(paths) = &self.paths {
            if !paths.is_match(path) {
                return false;
            }
        }
        if !self.path_regexes.is_empty()
            && !self
                .path_regexes
                .iter()
                .any(|re| re.is_match(path.as_bytes()))
        {
            return false;
        }
        if !self.rules.is_empty() && !self.rules.iter().any(|r| r == rule) {
            return false;
        }
        if !self.commits.is_empty() {
            let Some(commit) = commit else { return false };
            if !self.commits.iter().any(|c| commit.starts_with(c.as_str())) {
                return false;
            }
        }
        if !self.regexes.is_empty() {
            let target = match self.regex_target {
                RegexTarget::Secret => secret,
                RegexTarget::Line => line,
            };
            if !self.regexes.iter().any(|re| re.is_match(target)) {
                return false;
            }
        }
        if !self.stopwords.is_empty() && !holds_stopword(secret, &self.stopwords) {
            return false;
        }
        true
    }
}

/// Everything the config decides, resolved: the rules to run and how findings are judged.
#[derive(Debug)]
pub struct Settings {
    pub rules: Vec<Rule>,
    pub max_file_size: Option<u64>,
    pub decode_depth: Option<usize>,
    pub min_base64_length: Option<usize>,
    pub max_findings_per_file: Option<usize>,
    pub max_findings: Option<usize>,
    pub archive: ArchiveSettings,
    pub internal_domains: Vec<String>,
    pub allow: Vec<Allow>,
    pub block: Option<Vec<Severity>>,
    pub foreign_allow_markers: bool,
    pub honour_inline_allows_in_range: bool,
    pub fail_on_unscannable: bool,
    pub baseline: Option<PathBuf>,
    pub audit_log: Option<PathBuf>,
    /// Where the settings came from, for `config check`.
    pub source: Option<String>,
}

/// Reads a file for the config loader: from disk, or from a commit's tree for `--range`.
pub trait ConfigReader {
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>>;

    /// How messages and reports name `path` read from here: a commit's reader says which
    /// commit (`<commit>:<path>`, as git writes it), so a reviewer sees the trusted source.
    fn describe(&self, path: &Path) -> String {
        path.display().to_string()
    }
}

/// Reads from the file system.
pub struct DiskReader;

impl ConfigReader for DiskReader {
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

/// Loads settings from `explicit` (`--config`, must exist) or else `root/.staunch.toml` (optional),
/// adding the `--rules` packs.
pub fn load(
    reader: &dyn ConfigReader,
    explicit: Option<&Path>,
    root: &Path,
    extra_packs: &[PathBuf],
) -> Result<Settings> {
    let (file, text) = match explicit {
        Some(path) => {
            let data = reader.read(path)?.ok_or_else(|| Error::Config {
                file: path.display().to_string(),
                message: "config file not found".into(),
            })?;
            (path.to_path_buf(), Some(data))
        }
        None => {
            let path = root.join(CONFIG_FILE);
            let data = reader.read(&path)?;
            (path, data)
        }
    };
    let name = reader.describe(&file);
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let text = match text {
        Some(data) => String::from_utf8(data).map_err(|_| Error::Config {
            file: name.clone(),
            message: "not UTF-8".into(),
        })?,
        None => String::new(),
    };
    let mut settings = if crate::gitleaks::looks_like_gitleaks(&text) {
        crate::gitleaks::load(reader, &name, &text, &base_dir)?
    } else {
        let config: ConfigFile =
            toml::from_str(&text).map_err(|e| Error::toml(&name, &text, &e))?;
        from_config(reader, &name, config, &base_dir)?
    };
    for path in extra_packs {
        let (rules, allow) = read_pack(&DiskReader, &path.display().to_string(), path)?;
        settings.rules.extend(rules);
        settings.allow.extend(allow);
    }
    rules::check_unique(&settings.rules)?;
    settings.source = Some(name).filter(|_| !text.is_empty());
    Ok(settings)
}

/// Reads a rule pack named by `file`: staunch's format, or a gitleaks config (`[[rules]]`),
/// whose allowlists come with its rules.
pub fn read_pack(
    reader: &dyn ConfigReader,
    file: &str,
    path: &Path,
) -> Result<(Vec<Rule>, Vec<Allow>)> {
    let data = reader.read(path)?.ok_or_else(|| Error::Config {
        file: file.to_string(),
        message: format!("rule pack {} not found", path.display()),
    })?;
    let text = String::from_utf8_lossy(&data);
    let name = reader.describe(path);
    if crate::gitleaks::looks_like_gitleaks(&text) {
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return crate::gitleaks::load_pack(reader, &name, &text, &base_dir);
    }
    Ok((rules::parse_pack(&name, &text)?, Vec::new()))
}

fn from_config(
    reader: &dyn ConfigReader,
    file: &str,
    config: ConfigFile,
    base_dir: &Path,
) -> Result<Settings> {
    let mut all = rules::load(&[])?;
    let mut pack_allow = Vec::new();
    for pack in &config.rules.packs {
        let (rules, allow) = read_pack(reader, file, &base_dir.join(pack))?;
        all.extend(rules);
        pack_allow.extend(allow);
    }
    let known: HashSet<&str> = all.iter().map(|r| r.id.as_str()).collect();
    for id in config.rules.disable.iter().chain(&config.rules.only) {
        if !known.contains(id.as_str()) {
            return Err(Error::Config {
                file: file.to_string(),
                message: format!("[rules] names unknown rule {id:?}"),
            });
        }
    }
    let rules: Vec<Rule> = all
        .into_iter()
        .filter(|r| !config.rules.disable.contains(&r.id))
        .filter(|r| config.rules.only.is_empty() || config.rules.only.contains(&r.id))
        .collect();
    let scan = &config.scan;
    for (key, value) in [
        ("archive_max_entry_size", scan.archive_max_entry_size),
        ("archive_max_expanded_size", scan.archive_max_expanded_size),
        ("archive_max_entries", scan.archive_max_entries),
    ] {
        if value == Some(0) {
            return Err(Error::Config {
                file: file.to_string(),
                message: format!(
                    "[scan] {key} = 0 would open archives and read nothing; \
                     to open no archives, set archive_depth = 0"
                ),
            });
        }
    }
    let archive = ArchiveSettings {
        depth: scan.archive_depth,
        max_entry_size: scan.archive_max_entry_size,
        max_expanded_size: scan.archive_max_expanded_size,
        max_entries: scan.archive_max_entries,
    };
    let mut allow = config
        .allow
        .iter()
        .map(|spec| Allow::compile(file, spec))
        .collect::<Result<Vec<_>>>()?;
    allow.extend(pack_allow);
    Ok(Settings {
        rules,
        max_file_size: config.scan.max_file_size,
        decode_depth: config.scan.decode_depth,
        min_base64_length: config.scan.min_base64_length,
        max_findings_per_file: config.scan.max_findings_per_file,
        max_findings: config.scan.max_findings,
        archive,
        internal_domains: config.internal_domains,
        allow,
        block: config.policy.block,
        foreign_allow_markers: config.policy.foreign_allow_markers.unwrap_or(true),
        honour_inline_allows_in_range: config.policy.honour_inline_allows_in_range.unwrap_or(false),
        fail_on_unscannable: config.policy.fail_on_unscannable.unwrap_or(true),
        baseline: config.baseline.map(|p| base_dir.join(p)),
        audit_log: config.audit_log.map(|p| base_dir.join(p)),
        source: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files(Vec<(&'static str, &'static str)>);

    impl ConfigReader for Files {
        fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
            Ok(self
                .0
                .iter()
                .find(|(p, _)| Path::new(p) == path)
                .map(|(_, t)| t.as_bytes().to_vec()))
        }
    }

    fn load_text(text: &'static str) -> Result<Settings> {
        load(
            &Files(vec![("r/.staunch.toml", text)]),
            None,
            Path::new("r"),
            &[],
        )
    }

    #[test]
    fn no_config_means_defaults() {
        let settings = load(&Files(vec![]), None, Path::new("r"), &[]).unwrap();
        assert!(settings.rules.len() > 20);
        assert!(settings.allow.is_empty());
        assert!(settings.source.is_none());
    }

    #[test]
    fn full_shape_parses() {
        let s = load_text(
            "internal_domains = [\"corp.example.com\"]\n[scan]\nmax_file_size = 1000\ndecode_depth = 2\nmin_base64_length = 24\n[rules]\ndisable = [\"private-ipv4\"]\n[policy]\nblock = [\"high\"]\n[[allow]]\npaths = [\"tests/**\"]\nrules = [\"generic-password\"]\n",
        )
        .unwrap();
        assert_eq!(s.max_file_size, Some(1000));
        assert!(!s.rules.iter().any(|r| r.id == "private-ipv4"));
        assert_eq!(s.block, Some(vec![Severity::High]));
        assert!(s.allow[0].allows("generic-password", "tests/a.py", None, b"x", b"x")); // staunch:allow
        assert!(!s.allow[0].allows("generic-password", "src/a.py", None, b"x", b"x")); // staunch:allow
        assert_eq!(s.allow[0].origin, "[[allow]] in r/.staunch.toml");
        assert!(!s.honour_inline_allows_in_range);
        assert!(s.fail_on_unscannable);
        let s = load_text("[policy]\nhonour_inline_allows_in_range = true\n").unwrap();
        assert!(s.honour_inline_allows_in_range);
        let s = load_text("[policy]\nfail_on_unscannable = false\n").unwrap();
        assert!(!s.fail_on_unscannable);
    }

    #[test]
    fn archive_settings_parse_and_zero_limits_are_refused() {
        let s = load_text(
            "[scan]\narchive_depth = 1\narchive_max_entry_size = 100\narchive_max_expanded_size = 1000\narchive_max_entries = 7\n",
        )
        .unwrap();
        let limits = s.archive.apply(Default::default());
        assert_eq!(limits.depth, 1);
        assert_eq!(limits.max_entry_size, 100);
        assert_eq!(limits.max_expanded, 1000);
        assert_eq!(limits.max_entries, 7);
        assert_eq!(
            load_text("").unwrap().archive.apply(Default::default()),
            crate::source::archive::Limits::default()
        );
        let err = load_text("[scan]\narchive_max_entries = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".staunch.toml") && err.contains("archive_max_entries"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = load_text("[scan]\nmax_file_size = 1\nmax_fiel_size = 2\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".staunch.toml:3") && err.contains("max_fiel_size"),
            "{err}"
        );
    }

    #[test]
    fn unknown_rule_is_an_error() {
        let err = load_text("[rules]\ndisable = [\"no-such-rule\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no-such-rule"), "{err}");
    }

    #[test]
    fn explicit_missing_config_is_an_error() {
        assert!(load(
            &Files(vec![]),
            Some(Path::new("nope.toml")),
            Path::new("."),
            &[]
        )
        .is_err());
    }
}
