//! Compiled rules: a pack's specs validated once (ids, keywords, groups, checks, regexes) into
//! the [`Rule`]s the matcher runs, so a bad pack fails before any scanning starts, with the file
//! and rule id in the message.

use regex::bytes::{Regex, RegexBuilder};

use super::checks::structure::Structure;
use super::checks::Check;
use super::named::{self, NamedKey};
use super::syntax::{Category, PackSpec, RuleSpec, Severity};
use crate::error::{Error, Result};

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
    compiled: std::sync::OnceLock<Compiled>,
    /// What every match needs, read off the parsed pattern the first time it is asked for:
    /// parsing costs a fraction of compiling, so a region that fails this spares both.
    shape: std::sync::OnceLock<Shape>,
}

/// Necessary conditions for a match, from the pattern's syntax tree.
#[derive(Debug, Clone, Default)]
struct Shape {
    /// Bytes every match contains (see [`required_bytes`]).
    required: Vec<u8>,
    /// The shortest match's length.
    min_len: usize,
    /// The parsed pattern, kept so compiling does not parse it again (a third of the cost).
    /// `None` if it does not parse: compiling the text then reports why.
    hir: Option<regex_syntax::hir::Hir>,
}

/// A compiled regex, and what compiling it had to say. A pattern over the size limits compiles
/// to one that matches nothing, and the warning waits for the caller: rules never print.
#[derive(Debug)]
struct Compiled {
    regex: RuleRegex,
    warning: Option<String>,
    /// Whether [`LazyRegex::take_warning`] has handed the warning out.
    taken: std::sync::atomic::AtomicBool,
}

impl Clone for Compiled {
    fn clone(&self) -> Self {
        Compiled {
            regex: self.regex.clone(),
            warning: self.warning.clone(),
            taken: self.taken.load(std::sync::atomic::Ordering::Relaxed).into(),
        }
    }
}

impl Clone for LazyRegex {
    fn clone(&self) -> Self {
        LazyRegex {
            pattern: self.pattern.clone(),
            compiled: self.compiled.clone(),
            shape: self.shape.clone(),
        }
    }
}

impl LazyRegex {
    /// Parses `pattern` (so a bad one is reported now, with the rule's id) without compiling it.
    /// Returns the regex and its number of capture groups, the whole match included.
    pub fn new(pattern: &str) -> std::result::Result<(LazyRegex, usize), String> {
        let hir = parse_regex(pattern)?;
        let groups = hir.properties().explicit_captures_len() + 1;
        Ok((
            LazyRegex {
                pattern: pattern.to_string(),
                compiled: std::sync::OnceLock::new(),
                shape: std::sync::OnceLock::from(Shape::of(hir)),
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
            shape: std::sync::OnceLock::new(),
        }
    }

    pub fn get(&self) -> &RuleRegex {
        &self.compiled().regex
    }

    /// Whether `haystack` is long enough for a match and holds every byte one needs. `false`
    /// means the regex cannot match there; `true` means only that it may. Most keyword hits
    /// wake a rule on a line shorter than its token, so this also decides whether the regex
    /// needs compiling at all.
    pub fn may_match(&self, haystack: &[u8]) -> bool {
        let shape = self.shape();
        haystack.len() >= shape.min_len
            && shape
                .required
                .iter()
                .all(|&b| memchr::memchr(b, haystack).is_some())
    }

    fn shape(&self) -> &Shape {
        self.shape.get_or_init(|| {
            parse_regex(&self.pattern)
                .map(Shape::of)
                .unwrap_or_default()
        })
    }

    fn compiled(&self) -> &Compiled {
        // The pattern parsed when the rule loaded; compiling can only fail on the size limits.
        self.compiled
            .get_or_init(|| match compile_parsed(&self.pattern, self.shape().hir.as_ref()) {
                Ok(regex) => Compiled {
                    regex,
                    warning: None,
                    taken: false.into(),
                },
                Err(e) => Compiled {
                    regex: compile_rule_regex("[^\\x00-\\xff]").expect("an empty class compiles"),
                    warning: Some(format!(
                        "staunch: warning: regex {:?} is too large to compile ({e}); its rule finds nothing",
                        self.pattern
                    )),
                    taken: false.into(),
                },
            })
    }

    /// The warning compiling gave (a pattern over the size limits), once: the first caller
    /// after compilation takes it, so it is reported once however many threads ask.
    pub fn take_warning(&self) -> Option<String> {
        let compiled = self.compiled.get()?;
        let warning = compiled.warning.as_ref()?;
        (!compiled
            .taken
            .swap(true, std::sync::atomic::Ordering::Relaxed))
        .then(|| warning.clone())
    }

    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// Parses a rule regex as [`compile_regex`] reads it (on bytes, ASCII semantics); the error
/// is the parser's message.
pub(crate) fn parse_regex(pattern: &str) -> std::result::Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())
}

/// A rule's compiled regex: `regex-automata`'s meta regex, which `regex` wraps, built without
/// the pieces a rule never uses (see [`compile_rule_regex`]).
pub type RuleRegex = regex_automata::meta::Regex;

/// Compiles a rule's own regex: as [`compile_regex`] does, but without a literal prefilter or a
/// one-pass DFA. A rule only runs on the short regions around its keywords, where the keyword
/// search has done the prefilter's work; extracting literals and building their searchers was
/// 35 % of compiling, and compiling a tenth of a tree scan. The one-pass DFA serves anchored
/// searches only, which rules never make. The error is the builder's message.
pub fn compile_rule_regex(pattern: &str) -> std::result::Result<RuleRegex, String> {
    rule_regex_builder()
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// [`compile_rule_regex`] from the pattern's syntax tree when it has been parsed already.
fn compile_parsed(
    pattern: &str,
    hir: Option<&regex_syntax::hir::Hir>,
) -> std::result::Result<RuleRegex, String> {
    match hir {
        Some(hir) => rule_regex_builder()
            .build_from_hir(hir)
            .map_err(|e| e.to_string()),
        None => compile_rule_regex(pattern),
    }
}

fn rule_regex_builder() -> regex_automata::meta::Builder {
    use regex_automata::{meta, util::syntax};
    let mut builder = meta::Builder::new();
    builder
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                .auto_prefilter(false)
                .onepass(false)
                .nfa_size_limit(Some(32 * 1024 * 1024))
                .dfa_size_limit(Some(32 * 1024 * 1024))
                .hybrid_cache_capacity(32 * 1024 * 1024),
        );
    builder
}

/// Compiles the other regexes rules and configurations carry (allow lists, path filters): on
/// bytes, ASCII semantics (secrets are ASCII; Unicode classes would only slow the automata
/// down), with a size cap. A rule's own pattern goes through [`compile_rule_regex`], which
/// reads it the same way.
pub fn compile_regex(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(32 * 1024 * 1024)
        .dfa_size_limit(32 * 1024 * 1024)
        .build()
}

impl Shape {
    fn of(hir: regex_syntax::hir::Hir) -> Shape {
        Shape {
            required: required_bytes(&hir),
            // `None` is a pattern that matches nothing: nothing is assumed of it.
            min_len: hir.properties().minimum_len().unwrap_or(0),
            hir: Some(hir),
        }
    }
}

/// The bytes that every match contains: the literals on the pattern's spine (the top-level
/// sequence, through groups and repetitions that must occur at least once), and those common to
/// every branch of an alternation. Letters under `(?i)` are classes, not literals, so they are
/// left out. Sorted, without repeats, at most a handful: each costs a `memchr` per region.
fn required_bytes(hir: &regex_syntax::hir::Hir) -> Vec<u8> {
    let mut bytes = spine_bytes(hir);
    bytes.sort_unstable();
    bytes.dedup();
    bytes.truncate(6);
    bytes
}

fn spine_bytes(hir: &regex_syntax::hir::Hir) -> Vec<u8> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(literal) => literal.0.to_vec(),
        HirKind::Capture(capture) => spine_bytes(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min > 0 => spine_bytes(&repetition.sub),
        HirKind::Concat(parts) => parts.iter().flat_map(spine_bytes).collect(),
        HirKind::Alternation(branches) => {
            let mut common = spine_bytes(&branches[0]);
            for branch in &branches[1..] {
                let theirs = spine_bytes(branch);
                common.retain(|b| theirs.contains(b));
            }
            common
        }
        _ => Vec::new(),
    }
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

pub(super) fn parse_pack_as(file: &str, text: &str, trust: Trust) -> Result<Vec<Rule>> {
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

pub(super) fn compile_spec_as(file: &str, mut spec: RuleSpec, trust: Trust) -> Result<Rule> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn required(pattern: &str) -> Vec<u8> {
        required_bytes(&parse_regex(pattern).unwrap())
    }

    #[test]
    fn required_bytes_are_those_no_match_can_leave_out() {
        assert_eq!(required(r"ghp_[A-Za-z0-9]{36}"), b"_ghp".to_vec());
        // Under (?i) letters are classes; the separator is still required.
        assert_eq!(required(r"(?i)key-[a-z]{4}"), b"-".to_vec());
        // Optional parts and a branch that lacks a byte require nothing of it.
        assert_eq!(required(r"a(?:b)?c*"), b"a".to_vec());
        assert_eq!(required(r"(?:x@y|z@w)"), b"@".to_vec());
        assert_eq!(required(r"(?:\b|\\[ntr])tok"), b"kot".to_vec());
        assert!(required(r"[a-z]+").is_empty());
    }

    #[test]
    fn a_haystack_without_a_required_byte_cannot_match() {
        let (regex, _) = LazyRegex::new(r"://[^:\s]+:([^@\s]+)@").unwrap();
        assert!(!regex.may_match(b"see https://example.test/path"));
        assert!(regex.may_match(b"db: postgres://user:hunter2@host/db"));
        assert!(regex.get().is_match(b"db: postgres://user:hunter2@host/db"));
    }

    #[test]
    fn a_haystack_shorter_than_any_match_cannot_match() {
        // Built-in rules parse on first use, user rules when they load: both know the length.
        for regex in [
            LazyRegex::unchecked(r"\b(tok_[a-f0-9]{20})\b"),
            LazyRegex::new(r"\b(tok_[a-f0-9]{20})\b").unwrap().0,
        ] {
            assert!(!regex.may_match(b"tok_0123456789abcdef012"));
            assert!(regex.may_match(b"tok_0123456789abcdef0123"));
            assert!(!regex.is_compiled(), "deciding compiles nothing");
        }
    }
}
