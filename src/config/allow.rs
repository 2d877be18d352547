//! Allow entries (`[[allow]]`, gitleaks' `[allowlist]`): what the user wrote, compiled into
//! globs and regexes, and the test of whether a finding is allowed.

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::rules::compile_regex;

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
        if !self.stopwords.is_empty() {
            let lower = secret.to_ascii_lowercase();
            if !self
                .stopwords
                .iter()
                .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
            {
                return false;
            }
        }
        true
    }
}
