//! A compiled allow entry (from `[[allow]]` or a gitleaks `[allowlist]`) and the test of
//! whether a finding meets it: globs and regexes over path, secret or line, stopwords, rules
//! and commits.

use globset::GlobSet;
use regex::bytes::Regex;
use serde::Deserialize;

use crate::rules::checks::filters::holds_stopword;

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
