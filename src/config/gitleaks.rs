//! gitleaks-format configuration, mapped onto staunch's rules and allow entries so a team's
//! existing custom rules keep working. Anything that cannot be mapped is an error naming the rule
//! and key: silently dropping part of someone's policy would be worse than refusing it.

use std::path::Path;

use toml::Value;

use super::reader::ConfigReader;
use super::settings::Settings;
use crate::error::{Error, Result};
use crate::matcher::{Allow, RegexTarget};
use crate::rules::{self, compile_regex, Category, Rule, Severity};

/// A gitleaks config has `[[rules]]`, `[extend]` or a gitleaks allowlist at the top level;
/// staunch's own format has none of these.
pub fn looks_like_gitleaks(text: &str) -> bool {
    let Ok(Value::Table(table)) = text.parse::<Value>() else {
        return false;
    };
    // staunch has a `[rules]` table; gitleaks has `[[rules]]`, an array of tables
    table.get("rules").is_some_and(Value::is_array)
        || ["extend", "allowlist", "allowlists", "title"]
            .iter()
            .any(|k| table.contains_key(*k))
}

fn fail(file: &str, message: String) -> Error {
    Error::Config {
        file: file.to_string(),
        message,
    }
}

fn strings(file: &str, context: &str, value: &Value) -> Result<Vec<String>> {
    let list = value
        .as_array()
        .ok_or_else(|| fail(file, format!("{context}: expected a list of strings")))?;
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| fail(file, format!("{context}: expected a list of strings")))
        })
        .collect()
}

/// A regex from a gitleaks config, translated from RE2 syntax (see `re2.rs`).
fn re2(file: &str, context: &str, pattern: &str) -> Result<String> {
    super::re2::translate(pattern).map_err(|e| Error::Untranslatable {
        file: file.to_string(),
        context: context.to_string(),
        construct: e.0,
    })
}

/// Whether a regex can match a line break. gitleaks runs each regex over the whole file, so
/// such a rule (a private key block, `[\s'"]{0,3}` before an `=`) must be searched past the
/// line its keyword is on to find what gitleaks finds.
fn spans_lines(pattern: &str) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    fn walk(hir: &regex_syntax::hir::Hir) -> bool {
        match hir.kind() {
            HirKind::Literal(lit) => lit.0.contains(&b'\n'),
            HirKind::Class(Class::Bytes(class)) => class
                .ranges()
                .iter()
                .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
            HirKind::Class(Class::Unicode(class)) => class
                .ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end()),
            HirKind::Repetition(rep) => walk(&rep.sub),
            HirKind::Capture(cap) => walk(&cap.sub),
            HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(walk),
            HirKind::Empty | HirKind::Look(_) => false,
        }
    }
    crate::rules::parse_regex(pattern).is_ok_and(|hir| walk(&hir))
}

fn string(file: &str, context: &str, value: &Value) -> Result<String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| fail(file, format!("{context}: expected a string")))
}

/// Loads a gitleaks config (and what it extends) into settings.
pub fn load(
    reader: &dyn ConfigReader,
    file: &str,
    text: &str,
    base_dir: &Path,
) -> Result<Settings> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::toml(file, text, &e))?;
    let mut rules: Vec<Rule> = Vec::new();
    let mut allow: Vec<Allow> = Vec::new();
    let mut disabled: Vec<String> = Vec::new();
    for (key, value) in &table {
        match key.as_str() {
            "title" | "description" | "minVersion" => {}
            "extend" => {
                let extend = value
                    .as_table()
                    .ok_or_else(|| fail(file, "[extend] must be a table".into()))?;
                for (k, v) in extend {
                    match k.as_str() {
                        "useDefault" => {
                            if v.as_bool().ok_or_else(|| {
                                fail(file, "[extend] useDefault: expected true or false".into())
                            })? {
                                rules.extend(rules::load()?);
                            }
                        }
                        "disabledRules" => {
                            disabled.extend(strings(file, "[extend] disabledRules", v)?)
                        }
                        "path" => {
                            let path = base_dir.join(string(file, "[extend] path", v)?);
                            let data = reader.read(&path)?.ok_or_else(|| {
                                fail(file, format!("[extend] path {} not found", path.display()))
                            })?;
                            let text = String::from_utf8_lossy(&data);
                            let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
                            let extended =
                                load(reader, &path.display().to_string(), &text, &parent)?;
                            rules.extend(extended.rules);
                            allow.extend(extended.allow);
                        }
                        other => {
                            return Err(fail(
                                file,
                                format!("[extend] key {other:?} is not supported"),
                            ))
                        }
                    }
                }
            }
            "rules" => {
                let list = value
                    .as_array()
                    .ok_or_else(|| fail(file, "rules must be [[rules]] tables".into()))?;
                for rule in list {
                    let Some((rule, rule_allows)) = map_rule(file, rule)? else {
                        continue;
                    };
                    // A custom rule with the id of an extended one replaces it, as in gitleaks.
                    rules.retain(|r| r.id != rule.id);
                    rules.push(rule);
                    allow.extend(rule_allows);
                }
            }
            "allowlist" => allow.extend(map_allowlist(file, "[allowlist]", value, &[])?),
            "allowlists" => {
                let list = value
                    .as_array()
                    .ok_or_else(|| fail(file, "allowlists must be [[allowlists]] tables".into()))?;
                for entry in list {
                    allow.extend(map_allowlist(file, "[[allowlists]]", entry, &[])?);
                }
            }
            other => {
                return Err(fail(
                    file,
                    format!("top-level key {other:?} is not supported"),
                ))
            }
        }
    }
    rules.retain(|r| !disabled.contains(&r.id));
    Ok(Settings {
        rules,
        max_file_size: None,
        decode_depth: None,
        min_base64_length: None,
        max_findings_per_file: None,
        max_findings: None,
        archive: Default::default(),
        internal_domains: Vec::new(),
        allow,
        block: None,
        foreign_allow_markers: true,
        honour_inline_allows_in_range: false,
        fail_on_unscannable: true,
        baseline: None,
        audit_log: None,
        source: None,
    })
}

/// A gitleaks-format file given as a rule pack (`--rules`, `[rules] packs`): its rules and
/// allowlists add to the configured ones. `[extend]` is refused there: a pack adds rules, the
/// config decides what they extend.
pub fn load_pack(
    reader: &dyn ConfigReader,
    file: &str,
    text: &str,
    base_dir: &Path,
) -> Result<(Vec<Rule>, Vec<Allow>)> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::toml(file, text, &e))?;
    if table.contains_key("extend") {
        return Err(fail(
            file,
            "[extend] is not allowed in a rule pack; give a config that extends others with --config".into(),
        ));
    }
    let settings = load(reader, file, text, base_dir)?;
    Ok((settings.rules, settings.allow))
}

/// One `[[rules]]` table → a staunch rule plus the allow entries scoped to it. A rule with a
/// `path` and no `regex` reports files by name alone (gitleaks' `pkcs12-file`); staunch scans
/// content, so such a rule is left out, with a warning rather than refusing the whole config.
fn map_rule(file: &str, value: &Value) -> Result<Option<(Rule, Vec<Allow>)>> {
    let table = value
        .as_table()
        .ok_or_else(|| fail(file, "each [[rules]] entry must be a table".into()))?;
    let id = table
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| fail(file, "a [[rules]] entry has no id".into()))?
        .to_string();
    let ctx = |key: &str| format!("rule {id}: {key}");
    let mut spec = rules::RuleSpec {
        id: id.to_ascii_lowercase().replace(['_', ' ', '.'], "-"),
        description: id.clone(),
        category: Category::Credential,
        severity: Severity::High,
        keywords: Vec::new(),
        no_keywords: false,
        provider: None,
        regex: String::new(),
        named: None,
        secret_group: None,
        min_entropy: None,
        check: None,
        decodes: None,
        multiline: false,
        placeholders: false,
        generic: false,
        stopwords: Vec::new(),
        allow: Vec::new(),
        examples: Vec::new(),
        counter_examples: Vec::new(),
        path: None,
    };
    let mut allows = Vec::new();
    for (key, v) in table {
        match key.as_str() {
            "id" | "tags" => {}
            "description" => spec.description = string(file, &ctx(key), v)?,
            "regex" => spec.regex = re2(file, &ctx(key), &string(file, &ctx(key), v)?)?,
            "secretGroup" => {
                let group = v
                    .as_integer()
                    .filter(|g| *g >= 0)
                    .ok_or_else(|| fail(file, format!("{}: expected a group number", ctx(key))))?;
                spec.secret_group = (group > 0).then_some(group as usize);
            }
            "entropy" => {
                spec.min_entropy = Some(
                    v.as_float()
                        .or_else(|| v.as_integer().map(|i| i as f64))
                        .ok_or_else(|| fail(file, format!("{}: expected a number", ctx(key))))?,
                )
            }
            "keywords" => spec.keywords = strings(file, &ctx(key), v)?,
            "path" => spec.path = Some(re2(file, &ctx(key), &string(file, &ctx(key), v)?)?),
            "allowlist" => allows.extend(map_allowlist(file, &ctx(key), v, &[spec.id.clone()])?),
            "allowlists" => {
                let list = v.as_array().ok_or_else(|| {
                    fail(
                        file,
                        format!("{}: expected [[rules.allowlists]] tables", ctx(key)),
                    )
                })?;
                for entry in list {
                    allows.extend(map_allowlist(file, &ctx(key), entry, &[spec.id.clone()])?);
                }
            }
            other => {
                return Err(fail(
                    file,
                    format!("rule {id}: key {other:?} cannot be mapped"),
                ))
            }
        }
    }
    if spec.regex.is_empty() {
        if spec.path.is_none() {
            return Err(fail(file, format!("rule {id}: no `regex` and no `path`")));
        }
        eprintln!("staunch: warning: {file}: rule {id} matches file names only (`path` without `regex`); staunch scans content, so it is skipped");
        return Ok(None);
    }
    spec.no_keywords = spec.keywords.is_empty();
    spec.multiline = spans_lines(&spec.regex);
    // gitleaks reports the first non-empty group when secretGroup is unset, as staunch does.
    let rule = rules::compile_spec(file, spec)?;
    Ok(Some((rule, allows)))
}

/// A gitleaks allowlist → staunch allow entries. gitleaks joins conditions with OR unless
/// `condition = "AND"`; staunch entries join kinds with AND, so an OR list becomes one entry per
/// condition. Paths are regexes in gitleaks.
fn map_allowlist(
    file: &str,
    context: &str,
    value: &Value,
    rule_ids: &[String],
) -> Result<Vec<Allow>> {
    let table = value
        .as_table()
        .ok_or_else(|| fail(file, format!("{context}: expected a table")))?;
    let mut and = false;
    let mut target = RegexTarget::Secret;
    let mut paths = Vec::new();
    let mut regexes = Vec::new();
    let mut stopwords = Vec::new();
    let mut commits = Vec::new();
    let mut rules: Vec<String> = rule_ids.to_vec();
    for (key, v) in table {
        match key.as_str() {
            "description" => {}
            "condition" => {
                and = match string(file, &format!("{context} condition"), v)?
                    .to_ascii_uppercase()
                    .as_str()
                {
                    "AND" => true,
                    "OR" => false,
                    other => {
                        return Err(fail(
                            file,
                            format!("{context}: condition {other:?} is not AND or OR"),
                        ))
                    }
                }
            }
            "regexTarget" => {
                target = match string(file, &format!("{context} regexTarget"), v)?.as_str() {
                    "secret" => RegexTarget::Secret,
                    // the whole match lies within its line; a line regex sees it too
                    "match" | "line" => RegexTarget::Line,
                    other => {
                        return Err(fail(
                            file,
                            format!("{context}: regexTarget {other:?} cannot be mapped"),
                        ))
                    }
                }
            }
            "paths" => {
                let context = format!("{context} paths");
                for p in strings(file, &context, v)? {
                    let translated = re2(file, &context, &p)?;
                    paths.push(
                        compile_regex(&translated)
                            .map_err(|e| fail(file, format!("{context}: regex {p:?}: {e}")))?,
                    );
                }
            }
            "regexes" => {
                let context = format!("{context} regexes");
                for p in strings(file, &context, v)? {
                    let translated = re2(file, &context, &p)?;
                    regexes.push(
                        compile_regex(&translated)
                            .map_err(|e| fail(file, format!("{context}: regex {p:?}: {e}")))?,
                    );
                }
            }
            "stopwords" => {
                stopwords = strings(file, &format!("{context} stopwords"), v)?
                    .iter()
                    .map(|s| s.to_ascii_lowercase())
                    .collect()
            }
            "commits" => {
                commits = strings(file, &format!("{context} commits"), v)?
                    .iter()
                    .map(|s| s.to_ascii_lowercase())
                    .collect()
            }
            "targetRules" => rules = strings(file, &format!("{context} targetRules"), v)?,
            other => {
                return Err(fail(
                    file,
                    format!("{context}: key {other:?} cannot be mapped"),
                ))
            }
        }
    }
    let base = Allow {
        paths: None,
        path_regexes: Vec::new(),
        regexes: Vec::new(),
        regex_target: target,
        stopwords: Vec::new(),
        rules,
        commits: Vec::new(),
        origin: format!("{context} in {file}"),
    };
    if and {
        return Ok(vec![Allow {
            path_regexes: paths,
            regexes,
            stopwords,
            commits,
            ..base
        }]);
    }
    let mut out = Vec::new();
    if !paths.is_empty() {
        out.push(Allow {
            path_regexes: paths,
            ..base.clone()
        });
    }
    if !regexes.is_empty() {
        out.push(Allow {
            regexes,
            ..base.clone()
        });
    }
    if !stopwords.is_empty() {
        out.push(Allow {
            stopwords,
            ..base.clone()
        });
    }
    if !commits.is_empty() {
        out.push(Allow {
            commits,
            ..base.clone()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_format() {
        assert!(looks_like_gitleaks("[extend]\nuseDefault = true\n"));
        assert!(looks_like_gitleaks("[[rules]]\nid = \"x\"\nregex = 'a'\n"));
        assert!(!looks_like_gitleaks("[scan]\nmax_file_size = 1\n"));
    }

    #[test]
    fn unmappable_keys_name_rule_and_key() {
        let text = "[[rules]]\nid = \"my-rule\"\nregex = 'abc'\nvalidate = 'x'\n";
        let err = load(
            &super::super::reader::DiskReader,
            "g.toml",
            text,
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("rule my-rule") && err.contains("validate"),
            "{err}"
        );
    }
}
