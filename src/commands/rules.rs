//! `staunch rules`: list the catalogue (filtered, or as the Markdown table docs/RULES.md carries)
//! and check every rule's examples and counter-examples.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::Common;
use crate::error::Result;
use crate::matcher::{Matcher, ScanOptions};
use crate::report::Format;
use crate::rules::checks::Check;
use crate::rules::{self, Rule};
use crate::source::Fragment;
use crate::Verdict;

/// Which rules `rules list` shows.
pub(crate) struct RuleFilter<'a> {
    pub(crate) category: Option<&'a str>,
    pub(crate) domain: Option<&'a str>,
    pub(crate) provider: Option<&'a str>,
}

impl RuleFilter<'_> {
    fn keeps(&self, rule: &Rule) -> bool {
        self.category.is_none_or(|c| rule.category.as_str() == c)
            && self.domain.is_none_or(|d| rule.domain == d)
            && self
                .provider
                .is_none_or(|p| rule.provider.to_lowercase().contains(&p.to_lowercase()))
    }
}

pub(crate) fn rules_list(
    common: &Common,
    filter: &RuleFilter<'_>,
    catalogue: bool,
) -> Result<Verdict> {
    let all = crate::config::load_rules(&common.rule_packs)?;
    let mut out = std::io::stdout().lock();
    if catalogue {
        let _ = write!(out, "{}", rules::catalogue::markdown(&all));
        return Ok(Verdict::Clean);
    }
    let rules: Vec<&Rule> = all.iter().filter(|r| filter.keeps(r)).collect();
    if common.format == Format::Json {
        let list: Vec<_> = rules
            .iter()
            .map(|r| serde_json::json!({"id": r.id, "provider": r.provider, "domain": r.domain, "category": r.category, "severity": r.severity, "check": r.check.map(|c| c.name()), "format_check": r.verifies_format(), "checksum": matches!(r.check, Some(Check::GithubCrc32 | Check::Crc32Base62)), "description": r.description, "pack": r.pack}))
            .collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
    } else {
        // The VERIFIES column says which rules reject a look-alike offline: `checksum` (a CRC
        // the token carries), another format check by name, or `decodes` (inner structure).
        let _ = writeln!(
            out,
            "{:<40} {:<12} {:<18} {:<8} {:<14} DESCRIPTION",
            "RULE", "DOMAIN", "CATEGORY", "SEVERITY", "VERIFIES"
        );
        for r in &rules {
            let check = match r.check {
                Some(Check::GithubCrc32 | Check::Crc32Base62) => "checksum",
                Some(c) if c.is_format_check() => c.name(),
                _ if r.decodes.is_some() => "decodes",
                _ => "-",
            };
            let _ = writeln!(
                out,
                "{:<40} {:<12} {:<18} {:<8} {:<14} {}",
                r.id, r.domain, r.category, r.severity, check, r.description
            );
        }
        let providers: std::collections::BTreeSet<String> = rules
            .iter()
            .filter(|r| r.provider != rules::catalogue::ANY_PROVIDER)
            .map(|r| r.provider.to_lowercase())
            .collect();
        let _ = writeln!(
            out,
            "{} rules from {} providers ({} verify a checksum or inner structure offline)",
            rules.len(),
            providers.len(),
            rules.iter().filter(|r| r.verifies_format()).count()
        );
    }
    Ok(Verdict::Clean)
}

/// One way a rule's own examples disagree with it.
#[derive(Debug)]
pub struct ExampleFailure {
    pub rule: String,
    pub example: String,
    pub problem: &'static str,
}

/// Checks every example and counter-example of `rules`, each scanned as a file of its own with
/// the whole rule set (so a generic rule shadowed by a specific one shows up as a failure).
pub fn test_examples(rules: &[Rule]) -> Vec<ExampleFailure> {
    let matcher =
        Matcher::new(rules.to_vec(), ScanOptions::default()).on_warning(|w| eprintln!("{w}"));
    let mut failures = Vec::new();
    for rule in rules {
        let fires = |text: &str| {
            matcher
                .find_in(&Fragment::file("example.txt", text.as_bytes().to_vec()))
                .findings
                .iter()
                .any(|f| f.rule_id == rule.id)
        };
        if rule.examples.len() < 2 {
            failures.push(ExampleFailure {
                rule: rule.id.clone(),
                example: String::new(),
                problem: "has fewer than 2 examples",
            });
        }
        if rule.counter_examples.is_empty() {
            failures.push(ExampleFailure {
                rule: rule.id.clone(),
                example: String::new(),
                problem: "has no counter-example",
            });
        }
        for example in &rule.examples {
            if !fires(example) {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    example: example.clone(),
                    problem: "example not found",
                });
            }
        }
        for counter in &rule.counter_examples {
            if fires(counter) {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    example: counter.clone(),
                    problem: "counter-example found",
                });
            }
        }
    }
    failures
}

pub(crate) fn rules_test(files: &[PathBuf]) -> Result<Verdict> {
    let rules = if files.is_empty() {
        rules::load_with_examples()?
    } else {
        let mut all = Vec::new();
        for path in files {
            let name = path.display().to_string();
            all.extend(crate::config::read_pack(&crate::config::DiskReader, &name, path)?.0);
        }
        rules::check_unique(&all)?;
        all
    };
    let failures = test_examples(&rules);
    let examples: usize = rules
        .iter()
        .map(|r| r.examples.len() + r.counter_examples.len())
        .sum();
    for f in &failures {
        let shown: String = f.example.chars().take(120).collect();
        eprintln!("rule {}: {}: {}", f.rule, f.problem, shown.escape_debug());
    }
    if failures.is_empty() {
        crate::outln!("{} rules, {} examples: all pass", rules.len(), examples);
        Ok(Verdict::Clean)
    } else {
        eprintln!(
            "{} rules, {} examples: {} failure(s)",
            rules.len(),
            examples,
            failures.len()
        );
        Ok(Verdict::Blocked)
    }
}
