//! Allow entries as users write them (`[[allow]]`), compiled into the matcher's `Allow`.

use globset::{Glob, GlobSetBuilder};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::matcher::{Allow, RegexTarget};
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
}
