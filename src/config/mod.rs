//! Configuration: `.staunch.toml` at the repository root (or `--config FILE`), and gitleaks-format
//! files mapped onto the same settings. Parsed once, validated, then read-only. Unknown keys are
//! errors with file and line, so a typo never silently turns a check off.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::rules::{self, Rule, Severity};

mod allow;
pub mod baseline;
mod gitleaks;
mod re2;
mod reader;
mod settings;

pub use allow::{Allow, AllowSpec, RegexTarget};
pub use reader::{ConfigReader, DiskReader};
pub use settings::{ArchiveSettings, Settings};

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
    let mut settings = if gitleaks::looks_like_gitleaks(&text) {
        gitleaks::load(reader, &name, &text, &base_dir)?
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
    if gitleaks::looks_like_gitleaks(&text) {
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return gitleaks::load_pack(reader, &name, &text, &base_dir);
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
