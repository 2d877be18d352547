//! Baselines: the findings a repository already had when it adopted staunch, recorded by
//! fingerprint (rule id, path and a slow hash of the secret, see `finding::fingerprint`; never the
//! secret) so that only new findings block. A fingerprint has no line number, so moving code around does not resurrect an entry.
//! `.gitleaksignore` files are read as baselines too.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::finding::{legacy_fingerprint, secret_fingerprint, Finding, FINGERPRINT_SCHEME};

/// The default baseline file name at the repository root.
pub const BASELINE_FILE: &str = ".staunch-baseline.json";

/// What to do about a baseline that is not there.
pub const CREATE_HINT: &str =
    "create it with `staunch baseline create` (it records today's findings, so only new ones block)";

/// gitleaks' ignore file, read at the repository root.
pub const IGNORE_FILE: &str = ".gitleaksignore";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    /// Where the finding was when it was recorded: for a person reviewing the baseline. The
    /// entry matches its secret at another path too, through `secret_fingerprint`.
    pub path: String,
    /// The fingerprint of rule and secret alone (`finding::secret_fingerprint`): a renamed or
    /// copied file keeps the acknowledged secret acknowledged. Entries written before it
    /// existed match at their path only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_fingerprint: Option<String>,
}

impl Baseline {
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                path: f.path.clone(),
                secret_fingerprint: Some(secret_fingerprint(&f.rule_id, f.category, &f.secret)),
            })
            .collect();
        entries.sort_by(|a, b| {
            (&a.path, &a.rule_id, &a.fingerprint).cmp(&(&b.path, &b.rule_id, &b.fingerprint))
        });
        entries.dedup();
        Baseline {
            version: FINGERPRINT_SCHEME,
            findings: entries,
        }
    }

    /// Whether the entries use an older fingerprint scheme than this build writes.
    pub fn is_legacy(&self) -> bool {
        self.version < FINGERPRINT_SCHEME
    }

    /// Rewrites a scheme-1 baseline to the current scheme. A fingerprint cannot be turned into
    /// another without the secret, so each entry is matched with a finding of `current` (a fresh
    /// scan) by its old fingerprint and takes that finding's new one; entries nothing matches
    /// any more are returned apart, to be named, and left out.
    pub fn migrate(self, current: &[Finding]) -> (Baseline, Vec<BaselineEntry>) {
        if !self.is_legacy() {
            return (self, Vec::new());
        }
        let by_old: std::collections::HashMap<String, &Finding> = current
            .iter()
            .map(|f| (legacy_fingerprint(&f.rule_id, &f.path, &f.secret), f))
            .collect();
        let (mut kept, mut stale) = (Vec::new(), Vec::new());
        for entry in self.findings {
            match by_old.get(&entry.fingerprint) {
                Some(f) => kept.push((*f).clone()),
                None => stale.push(entry),
            }
        }
        (Baseline::from_findings(&kept), stale)
    }

    pub fn read(path: &Path) -> Result<Baseline> {
        let data = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Config {
                file: path.display().to_string(),
                message: format!("no such baseline; {CREATE_HINT}"),
            },
            _ => Error::io(path, e),
        })?;
        Baseline::parse(&path.display().to_string(), &data)
    }

    /// Parses a baseline's bytes; `file` names it in errors (a path, or a path in a commit).
    pub fn parse(file: &str, data: &[u8]) -> Result<Baseline> {
        let baseline: Baseline = serde_json::from_slice(data).map_err(|e| Error::Config {
            file: file.to_string(),
            message: format!("not a staunch baseline: {e} (line {})", e.line()),
        })?;
        if baseline.version == 0 || baseline.version > FINGERPRINT_SCHEME {
            return Err(Error::Config {
                file: file.to_string(),
                message: format!(
                    "baseline version {} is not one this staunch reads (1 to {FINGERPRINT_SCHEME}); \
                     it was written by another release",
                    baseline.version
                ),
            });
        }
        Ok(baseline)
    }

    pub fn fingerprints(&self) -> HashSet<String> {
        self.findings
            .iter()
            .map(|e| e.fingerprint.clone())
            .collect()
    }

    /// The entries' fingerprints of rule and secret alone, for findings at another path.
    pub fn secret_fingerprints(&self) -> HashSet<String> {
        self.findings
            .iter()
            .filter_map(|e| e.secret_fingerprint.clone())
            .collect()
    }
}

/// One `.gitleaksignore` line: `[commit:]path:rule-id:line`. The rule ids differ between tools,
/// so an entry silences any finding at that path and line (and commit, when given).
pub fn parse_gitleaksignore(text: &str) -> HashSet<(Option<String>, String, usize)> {
    let mut out = HashSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((rest, number)) = line.rsplit_once(':') else {
            continue;
        };
        let Ok(number) = number.parse::<usize>() else {
            continue;
        };
        let Some((rest, _rule)) = rest.rsplit_once(':') else {
            continue;
        };
        let (commit, path) = match rest.split_once(':') {
            Some((commit, path))
                if commit.len() >= 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                (Some(commit.to_ascii_lowercase()), path)
            }
            _ => (None, rest),
        };
        out.insert((commit, path.to_string(), number));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Category;

    fn finding(rule: &str, path: &str, secret: &[u8]) -> Finding {
        Finding {
            path: path.into(),
            line: 1,
            column: 1,
            end_line: 1,
            rule_id: rule.into(),
            commit: None,
            description: String::new(),
            category: crate::rules::Category::Credential,
            severity: crate::rules::Severity::High,
            secret: secret.to_vec(),
            fingerprint: crate::finding::fingerprint(
                rule,
                path,
                crate::rules::Category::Credential,
                secret,
            ),
            blocks: true,
            decoded: Vec::new(),
            allowed_by_change: None,
            history: None,
            excerpt: None,
        }
    }

    #[test]
    fn migration_maps_old_entries_to_new_fingerprints_and_sets_aside_stale_ones() {
        let present = finding("generic-password", "app.env", b"hunter22");
        let old = Baseline {
            version: 1,
            findings: vec![
                BaselineEntry {
                    fingerprint: legacy_fingerprint("generic-password", "app.env", b"hunter22"),
                    rule_id: "generic-password".into(),
                    path: "app.env".into(),
                    secret_fingerprint: None,
                },
                BaselineEntry {
                    fingerprint: legacy_fingerprint("generic-password", "gone.env", b"x"),
                    rule_id: "generic-password".into(),
                    path: "gone.env".into(),
                    secret_fingerprint: None,
                },
            ],
        };
        let (new, stale) = old.migrate(std::slice::from_ref(&present));
        assert_eq!(new.version, FINGERPRINT_SCHEME);
        assert_eq!(new.findings.len(), 1);
        assert_eq!(new.findings[0].fingerprint, present.fingerprint);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].path, "gone.env");
    }

    #[test]
    fn an_entry_matches_its_secret_at_another_path_by_its_secret_fingerprint() {
        let recorded = finding("generic-password", "old-name.env", b"hunter22"); // staunch:allow
        let baseline = Baseline::from_findings(std::slice::from_ref(&recorded));
        let renamed = secret_fingerprint("generic-password", Category::Credential, b"hunter22");
        assert!(baseline.secret_fingerprints().contains(&renamed));
        // The path-bound fingerprint stays what it was: old readers match by it alone.
        assert!(baseline.fingerprints().contains(&recorded.fingerprint));
        let other = secret_fingerprint("generic-password", Category::Credential, b"hunter23");
        assert!(!baseline.secret_fingerprints().contains(&other));
        let other_rule = secret_fingerprint("generic-secret", Category::Credential, b"hunter22");
        assert!(!baseline.secret_fingerprints().contains(&other_rule));
    }

    #[test]
    fn versions_this_build_does_not_know_are_refused_by_name() {
        let err = Baseline::parse("b.json", br#"{"version": 9, "findings": []}"#).unwrap_err();
        assert!(err.to_string().contains("b.json"), "{err}");
        assert!(err.to_string().contains("version 9"), "{err}");
        assert!(
            Baseline::parse("b.json", br#"{"version": 1, "findings": []}"#)
                .unwrap()
                .is_legacy()
        );
    }

    #[test]
    fn gitleaksignore_lines() {
        let c = "a".repeat(40);
        let set = parse_gitleaksignore(&format!("# comment\nconfig/app.env:generic-api-key:3\n{c}:src/a.py:aws-access-token:12\nbad line\n"));
        assert!(set.contains(&(None, "config/app.env".to_string(), 3)));
        assert!(set.contains(&(Some(c), "src/a.py".to_string(), 12)));
        assert_eq!(set.len(), 2);
    }
}
