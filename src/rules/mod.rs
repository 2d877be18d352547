//! Rule packs: the TOML syntax users write ([`RuleSpec`]) apart from the compiled form the
//! matcher runs ([`Rule`]). Compiling validates everything once, so a bad pack fails before
//! any scanning starts, with the file and rule id in the message.

use std::collections::HashSet;
use std::fmt;

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use checks::Check;

pub mod catalogue;
pub mod checks;
pub mod named;

pub use checks::structure::{Structure, StructureSpec};
pub use named::{NamedKey, NamedSpec};

/// A built-in pack: its path as messages name it, its text, and the compact JSON form without
/// examples that build.rs makes of it (what a scan loads).
macro_rules! pack {
    ($name:literal) => {
        (
            concat!("rules/", $name, ".toml"),
            include_str!(concat!("../../rules/", $name, ".toml")),
            include_str!(concat!(env!("OUT_DIR"), "/", $name, ".json")),
        )
    };
}

/// The packs compiled into the binary, so a copied binary is self-contained. One pack per
/// domain; a test checks that every file in rules/ is listed here.
pub const BUILTIN_PACKS: &[(&str, &str, &str)] = &[
    pack!("keys"),
    pack!("generic"),
    pack!("connection"),
    pack!("network"),
    pack!("ai"),
    pack!("cloud"),
    pack!("devtools"),
    pack!("messaging"),
    pack!("ops"),
    pack!("payments"),
    pack!("saas"),
    pack!("data"),
];

/// How far a multi-line rule may reach past the line its keyword is on.
pub const MULTILINE_WINDOW: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Credential,
    ConnectionString,
    PrivateIp,
    InternalUrl,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Credential => "credential",
            Category::ConnectionString => "connection-string",
            Category::PrivateIp => "private-ip",
            Category::InternalUrl => "internal-url",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule pack file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackSpec {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

/// One rule as written in a pack (see docs/RULES.md).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub description: String,
    pub category: Category,
    pub severity: Severity,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub no_keywords: bool,
    /// The provider whose credential this is, as users know it (`Mailgun`).
    pub provider: Option<String>,
    /// The regex; optional when `named` writes it.
    #[serde(default)]
    pub regex: String,
    /// A secret that only the name beside it identifies (see `named.rs`).
    pub named: Option<NamedSpec>,
    pub secret_group: Option<usize>,
    pub min_entropy: Option<f64>,
    pub check: Option<String>,
    /// What the secret decodes to (see `structure.rs`).
    pub decodes: Option<StructureSpec>,
    #[serde(default)]
    pub multiline: bool,
    #[serde(default = "yes")]
    pub placeholders: bool,
    /// A generic rule yields to a specific one that found the same secret.
    #[serde(default)]
    pub generic: bool,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub counter_examples: Vec<String>,
    /// Only run on files whose path matches this regex.
    pub path: Option<String>,
}

fn yes() -> bool {
    true
}

/// A rule ready to run: regexes compiled, keywords normalised, check resolved.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    /// Who issues the credential; for generic rules, what kind of secret it is.
    pub provider: String,
    /// The pack's file stem (`cloud`, `payments`), the catalogue's grouping.
    pub domain: String,
    pub description: String,
    pub category: Category,
    pub severity: Severity,
    pub keywords: Vec<String>,
    pub regex: LazyRegex,
    pub secret_group: Option<usize>,
    pub min_entropy: Option<f64>,
    pub check: Option<Check>,
    /// The secret's inner structure, verified offline.
    pub decodes: Option<Structure>,
    pub multiline: bool,
    /// Set for named rules: the key the regex matched must pass this.
    pub named: Option<NamedKey>,
    pub placeholders: bool,
    pub generic: bool,
    /// Lower-cased, so the filter can compare without allocating per candidate.
    pub stopwords: Vec<String>,
    pub allow: Vec<Regex>,
    pub examples: Vec<String>,
    pub counter_examples: Vec<String>,
    /// The pack file the rule came from, for messages.
    pub pack: String,
    /// Only run on paths matching this.
    pub path: Option<Regex>,
}

impl Rule {
    /// Whether the rule verifies its token's checksum or inner structure offline.
    pub fn verifies_format(&self) -> bool {
        self.decodes.is_some() || self.check.is_some_and(|c| c.is_format_check())
    }
}

/// A rule's regex, checked when the rule is loaded but compiled the first time a keyword wakes
/// the rule up. A hook scanning one small change only pays for the few rules it needs, which is
/// most of what keeps `hook claude-code` and `scan --staged` fast.
#[derive(Debug)]
pub struct LazyRegex {
    pattern: String,
    compiled: std::sync::OnceLock<Regex>,
}

impl Clone for LazyRegex {
    fn clone(&self) -> Self {
        LazyRegex {
            pattern: self.pattern.clone(),
            compiled: self.compiled.clone(),
        }
    }
}

impl LazyRegex {
    /// Parses `pattern` (so a bad one is reported now, with the rule's id) without compiling it.
    /// Returns the regex and its number of capture groups, the whole match included.
    pub fn new(pattern: &str) -> std::result::Result<(LazyRegex, usize), String> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(pattern)
            .map_err(|e| e.to_string())?;
        let groups = hir.properties().explicit_captures_len() + 1;
        Ok((
            LazyRegex {
                pattern: pattern.to_string(),
                compiled: std::sync::OnceLock::new(),
            },
            groups,
        ))
    }

    /// A regex from a built-in pack, which the test suite has parsed and compiled: loading does
    /// not parse it again (parsing a thousand regexes would dominate a hook's run time).
    pub fn unchecked(pattern: &str) -> LazyRegex {
        LazyRegex {
            pattern: pattern.to_string(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    pub fn get(&self) -> &Regex {
        // The pattern parsed when the rule loaded; compiling can only fail on the size limits.
        self.compiled.get_or_init(|| {
            compile_regex(&self.pattern).unwrap_or_else(|e| {
                eprintln!("staunch: warning: regex {:?} is too large to compile ({e}); its rule finds nothing", self.pattern);
                compile_regex("[^\\x00-\\xff]").expect("an empty class compiles")
            })
        })
    }

    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// Compiles a regex the way every rule regex is compiled: on bytes, ASCII semantics (secrets
/// are ASCII; Unicode classes would only slow the automata down), with a size cap.
pub fn compile_regex(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(32 * 1024 * 1024)
        .dfa_size_limit(32 * 1024 * 1024)
        .build()
}

/// Parses one pack's text. `file` names it in errors.
pub fn parse_pack(file: &str, text: &str) -> Result<Vec<Rule>> {
    parse_pack_as(file, text, Trust::Validate)
}

/// Whether a pack's regexes are parsed when it loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// A user's pack: every regex is parsed now, so a bad one fails before scanning starts.
    Validate,
    /// A built-in pack: the test suite parsed and compiled every regex of it.
    BuiltIn,
}

fn parse_pack_as(file: &str, text: &str, trust: Trust) -> Result<Vec<Rule>> {
    let pack: PackSpec = toml::from_str(text).map_err(|e| Error::toml(file, text, &e))?;
    pack.rule
        .into_iter()
        .map(|spec| compile_spec_as(file, spec, trust))
        .collect()
}

/// Validates and compiles one rule; `file` names its pack in errors.
pub fn compile_spec(file: &str, spec: RuleSpec) -> Result<Rule> {
    compile_spec_as(file, spec, Trust::Validate)
}

fn compile_spec_as(file: &str, mut spec: RuleSpec, trust: Trust) -> Result<Rule> {
    let fail = |message: String| Error::Rule {
        file: file.to_string(),
        id: spec.id.clone(),
        message,
    };
    if spec.id.is_empty()
        || !spec
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(fail("id must be non-empty lower-case kebab-case".into()));
    }
    let named = match &spec.named {
        Some(named_spec) => {
            if !spec.regex.is_empty() {
                return Err(fail("has both `regex` and `named`".into()));
            }
            if spec.secret_group.is_some() {
                return Err(fail(
                    "a `named` rule's secret is its value; drop `secret_group`".into(),
                ));
            }
            if trust == Trust::Validate {
                named::validate(named_spec).map_err(fail)?;
            }
            spec.regex = named::regex(named_spec).map_err(fail)?;
            if spec.keywords.is_empty() && !spec.no_keywords {
                spec.keywords = named_spec.names.clone();
            }
            Some(NamedKey::new(named_spec).map_err(fail)?)
        }
        None => None,
    };
    if spec.regex.is_empty() {
        return Err(fail("no `regex` (or `named`)".into()));
    }
    if spec.keywords.is_empty() && !spec.no_keywords {
        return Err(fail(
            "no keywords: give `keywords` or say `no_keywords = true` explicitly".into(),
        ));
    }
    if !spec.keywords.is_empty() && spec.no_keywords {
        return Err(fail("has both `keywords` and `no_keywords = true`".into()));
    }
    if let Some(k) = spec.keywords.iter().find(|k| k.is_empty() || !k.is_ascii()) {
        return Err(fail(format!("keyword {k:?} must be non-empty ASCII")));
    }
    let pattern = escape_aware(&spec.regex);
    let regex = match trust {
        Trust::BuiltIn => LazyRegex::unchecked(&pattern),
        Trust::Validate => {
            let (regex, captures_len) =
                LazyRegex::new(&pattern).map_err(|e| fail(format!("bad regex: {e}")))?;
            check_group(spec.secret_group, captures_len).map_err(fail)?;
            regex
        }
    };
    let check = match &spec.check {
        None => None,
        Some(name) => {
            Some(Check::from_name(name).ok_or_else(|| fail(format!("unknown check {name:?}")))?)
        }
    };
    let decodes = match spec.decodes.clone() {
        Some(d) => Some(Structure::new(d).map_err(fail)?),
        None => None,
    };
    let path = match &spec.path {
        Some(pattern) => {
            Some(compile_regex(pattern).map_err(|e| fail(format!("bad path regex: {e}")))?)
        }
        None => None,
    };
    let mut allow = Vec::new();
    for pattern in &spec.allow {
        allow.push(compile_regex(pattern).map_err(|e| fail(format!("bad allow regex: {e}")))?);
    }
    let domain = std::path::Path::new(file)
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let provider = spec
        .provider
        .clone()
        .unwrap_or_else(|| spec.id.split('-').next().unwrap_or_default().to_string());
    Ok(Rule {
        provider,
        domain,
        named,
        keywords: spec
            .keywords
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect(),
        stopwords: spec
            .stopwords
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect(),
        id: spec.id,
        description: spec.description,
        category: spec.category,
        severity: spec.severity,
        regex,
        secret_group: spec.secret_group,
        min_entropy: spec.min_entropy,
        check,
        decodes,
        // A named rule's block form and next-line values span lines.
        multiline: spec.multiline || spec.named.is_some(),
        placeholders: spec.placeholders,
        generic: spec.generic,
        allow,
        examples: spec.examples,
        counter_examples: spec.counter_examples,
        pack: file.to_string(),
        path,
    })
}

/// `secret_group` must name a group the regex has (`groups` counts the whole match too).
fn check_group(secret_group: Option<usize>, groups: usize) -> std::result::Result<(), String> {
    match secret_group {
        Some(group) if group >= groups => Err(format!(
            "secret_group {group} but the regex has only {} groups",
            groups - 1
        )),
        _ => Ok(()),
    }
}

/// A token right after an escape sequence (`\n`, `\t`, `\r` in JSON strings, logs and
/// notebooks) must match: a regex that opens with `\b` sees the `n` of `\n` as a word character
/// and misses it. The opening `\b` also accepts the end of such an escape; the escape is consumed,
/// never part of the secret, and a plain boundary is still tried first.
fn escape_aware(pattern: &str) -> String {
    let mut flags = 0;
    // Leading inline flags such as `(?i)`.
    if pattern.starts_with("(?") {
        if let Some(close) = pattern.find(')') {
            let inner = &pattern[2..close];
            if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
                flags = close + 1;
            }
        }
    }
    match pattern[flags..].strip_prefix("\\b") {
        Some(rest) => format!("{}(?:\\b|\\\\[ntr]){rest}", &pattern[..flags]),
        None => pattern.to_string(),
    }
}

/// Loads the built-in packs (without their examples) followed by the user's, refusing
/// duplicate ids.
pub fn load(extra_packs: &[std::path::PathBuf]) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for (file, text, json) in BUILTIN_PACKS {
        let pack: PackSpec = match serde_json::from_str(json) {
            Ok(pack) => pack,
            // Only a pack build.rs could not parse: the TOML names the fault.
            Err(_) => toml::from_str(text).map_err(|e| Error::toml(file, text, &e))?,
        };
        for spec in pack.rule {
            rules.push(compile_spec_as(file, spec, Trust::BuiltIn)?);
        }
    }
    load_extra(rules, extra_packs)
}

/// The built-in packs with their examples, for `staunch rules test`.
pub fn load_with_examples() -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for (file, text, _) in BUILTIN_PACKS {
        rules.extend(parse_pack_as(file, text, Trust::BuiltIn)?);
    }
    load_extra(rules, &[])
}

fn load_extra(mut rules: Vec<Rule>, extra_packs: &[std::path::PathBuf]) -> Result<Vec<Rule>> {
    for path in extra_packs {
        let name = path.display().to_string();
        let (pack, _allow) = crate::config::read_pack(&crate::config::DiskReader, &name, path)?;
        rules.extend(pack);
    }
    check_unique(&rules)?;
    Ok(rules)
}

pub fn check_unique(rules: &[Rule]) -> Result<()> {
    let mut seen = HashSet::new();
    for rule in rules {
        if !seen.insert(rule.id.as_str()) {
            return Err(Error::Rule {
                file: rule.pack.clone(),
                id: rule.id.clone(),
                message: "duplicate rule id".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Vec<Rule>> {
        parse_pack("test.toml", text)
    }

    #[test]
    fn missing_keywords_is_an_error_naming_the_rule() {
        let err = one(
            "[[rule]]\nid = \"x\"\ndescription = \"d\"\ncategory = \"credential\"\nseverity = \"high\"\nregex = 'a'\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("rule x"), "{err}");
        assert!(err.to_string().contains("keywords"), "{err}");
    }

    #[test]
    fn bad_regex_names_the_rule() {
        let err = one("[[rule]]\nid = \"bad\"\ndescription = \"d\"\ncategory = \"credential\"\nseverity = \"high\"\nkeywords=[\"a\"]\nregex = '(a'\n").unwrap_err();
        assert!(err.to_string().contains("rule bad: bad regex"), "{err}");
    }

    #[test]
    fn toml_error_names_file_and_line() {
        let err = one("[[rule]]\nid = \"x\"\nthis is not toml\n").unwrap_err();
        assert!(err.to_string().starts_with("test.toml:3:"), "{err}");
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = one("[[rule]]\nid = \"x\"\ndescription = \"d\"\ncategory = \"credential\"\nseverity = \"high\"\nkeywords=[\"a\"]\nregex = 'a'\nsecretgroup = 1\n").unwrap_err();
        assert!(err.to_string().contains("secretgroup"), "{err}");
    }

    #[test]
    fn every_pack_in_rules_is_built_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") {
                let path = format!("rules/{name}");
                assert!(
                    BUILTIN_PACKS.iter().any(|(file, _, _)| *file == path),
                    "{path} is not in BUILTIN_PACKS"
                );
            }
        }
    }

    /// What loading skips for built-in packs: every regex parses, every group exists, and
    /// every regex (the named rules' block and pair regexes too) compiles within the limits.
    #[test]
    fn builtin_packs_validate_and_compile() {
        for (file, text, _) in BUILTIN_PACKS {
            let rules = parse_pack(file, text).unwrap();
            for rule in &rules {
                compile_regex(rule.regex.as_str())
                    .unwrap_or_else(|e| panic!("{file}: rule {}: {e}", rule.id));
                if let Some(named) = &rule.named {
                    for re in [&named.header, &named.pair] {
                        compile_regex(re.as_str())
                            .unwrap_or_else(|e| panic!("{file}: rule {}: {e}", rule.id));
                    }
                }
            }
        }
    }

    #[test]
    fn builtin_packs_load() {
        let rules = load(&[]).unwrap();
        assert!(rules.len() > 20);
    }
}
