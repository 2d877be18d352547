//! Baselines: the findings a repository already had when it adopted staunch, recorded by
//! fingerprint (rule id, path, SHA-256 of the secret; never the secret) so that only new findings
//! block. A fingerprint has no line number, so moving code around does not resurrect an entry.
//! `.gitleaksignore` files are read as baselines too.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::finding::Finding;

/// The default baseline file name at the repository root.
pub const BASELINE_FILE: &str = ".staunch-baseline.json";

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
    pub path: String,
}

impl Baseline {
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                path: f.path.clone(),
            })
            .collect();
        entries.sort_by(|a, b| {
            (&a.path, &a.rule_id, &a.fingerprint).cmp(&(&b.path, &b.rule_id, &b.fingerprint))
        });
        entries.dedup();
        Baseline {
            version: 1,
            findings: entries,
        }
    }

    pub fn read(path: &Path) -> Result<Baseline> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Baseline::parse(&path.display().to_string(), &data)
    }

    /// Parses a baseline's bytes; `file` names it in errors (a path, or a path in a commit).
    pub fn parse(file: &str, data: &[u8]) -> Result<Baseline> {
        serde_json::from_slice(data).map_err(|e| Error::Config {
            file: file.to_string(),
            message: format!("not a staunch baseline: {e} (line {})", e.line()),
        })
    }

    pub fn fingerprints(&self) -> HashSet<String> {
        self.findings
            .iter()
            .map(|e| e.fingerprint.clone())
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

    #[test]
    fn gitleaksignore_lines() {
        let c = "a".repeat(40);
        let set = parse_gitleaksignore(&format!("# comment\nconfig/app.env:generic-api-key:3\n{c}:src/a.py:aws-access-token:12\nbad line\n"));
        assert!(set.contains(&(None, "config/app.env".to_string(), 3)));
        assert!(set.contains(&(Some(c), "src/a.py".to_string(), 12)));
        assert_eq!(set.len(), 2);
    }
}
