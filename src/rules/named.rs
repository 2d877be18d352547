//! Named secrets: credentials whose value has no shape of its own (32 hex, a UUID, 40 base64
//! characters) and that only the name beside them identifies. A rule says which provider names
//! and which value shape; this module writes the one regex that accepts every common way of
//! giving a value a name, so each such rule does not have to, and checks the key it matched.
//!
//! Two forms are recognised:
//! - inline: the key itself names the provider (`MAILGUN_SIGNING_KEY=…`,
//!   `"mailgunSigningKey": "…"`, `System.setProperty("MAILGUN_KEY", "…")`, `--mailgun-key …`);
//! - block: a header line a few lines above names it (`mailgun:`, `[mailgun]`, `"mailgun": {`,
//!   `<mailgun>`, `provider "mailgun" {`) and the key below says what the value is.

use serde::Deserialize;

use std::ops::Range;

use super::LazyRegex;

/// `named = { … }` as written in a pack.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedSpec {
    /// Provider words, matched case-insensitively inside the key or a block header.
    pub names: Vec<String>,
    /// The value's shape: a regex without capture groups.
    pub value: String,
    /// Words one of which the key must contain (default [`DEFAULT_KEY_WORDS`]).
    #[serde(default)]
    pub key: Vec<String>,
    /// How many lines below a block header the key may be (default 4).
    pub within: Option<usize>,
}

/// What the matcher runs for a named rule besides the rule's own (inline) regex: the block
/// header, and the key-value pair looked for on the lines below one.
#[derive(Clone, Debug)]
pub struct NamedKey {
    /// Lower-cased; the key must contain one of them.
    pub key_words: Vec<String>,
    /// Each provider name split into its words (`kit_api` → kit, api).
    pub names: Vec<Vec<String>>,
    /// A line that only names the provider and opens a block.
    pub header: LazyRegex,
    /// Any key with a value of the rule's shape: group `key`, group `value`.
    pub pair: LazyRegex,
    /// Lines below a header searched for the pair.
    pub within: usize,
}

/// A key says it holds a secret when it contains one of these.
pub const DEFAULT_KEY_WORDS: &[&str] = &[
    "secret",
    "key",
    "token",
    "password",
    "passwd",
    "pwd",
    "pass",
    "auth",
    "credential",
];

/// A key made of one of these words names something beside a secret (a digest of it, its
/// identifier, where it lives), however secret-like the rest of the key is.
const NOT_SECRET_WORDS: &[&str] = &[
    "hash",
    "hashed",
    "sha",
    "sha1",
    "sha256",
    "sha512",
    "md5",
    "digest",
    "checksum",
    "crc",
    "fingerprint",
    "id",
    "ids",
    "uuid",
    "guid",
    "url",
    "uri",
    "endpoint",
    "domain",
    "region",
    "name",
    "username",
    "version",
    "public",
    "publishable",
    "length",
    "len",
    "count",
];

/// Key characters: identifiers, dotted and dashed names, `$` for shell and PHP variables.
const KEY_CHAR: &str = r"[A-Za-z0-9_.$-]";

/// Everything between a key and its value, in every syntax the generic rules accept too: closing
/// quotes and brackets, an optional type (`var x string =`), one operator (`=`, `:`, `:=`,
/// `::=`, `?=`, `+=`, `.=`, `=>`, `<-`, `,` between call arguments, `>` closing an XML tag,
/// ` value=` in `<add key="…" value="…">`, or plain blanks for flags and `set`), a YAML block
/// scalar or heredoc marker, the value on the next line, and opening quotes, escaped or not.
pub const ASSIGNMENT: &str = r#"(?:["'`\])]|\\["'])*(?:[ \t]+(?:string|str|String|SecureString))?[ \t]*(?:::?:?=|:=|\?=|\+=|\.=|=>|<-|==?|:|,|>|[ \t]value[ \t]*=|[ \t])[ \t]*(?:[|>][-+]?[ \t]*|<<[-~]?["']?[A-Za-z_]+["']?[ \t]*)?(?:\r?\n[ \t]*)?(?:["'`(\[]|\\["']){0,3}"#;

/// After the value: not one more character of a token.
const VALUE_END: &str = r"(?:[^A-Za-z0-9_+/=-]|$)";

/// The rule's own regex, the inline form: a key that names the provider, its value in group
/// `value`, the key in group `key`.
pub fn regex(spec: &NamedSpec) -> Result<String, String> {
    check_names(spec)?;
    let kc = KEY_CHAR;
    Ok(format!(
        r"(?i:(?P<key>{kc}*(?:{names}){kc}*)){ASSIGNMENT}(?P<value>{value}){VALUE_END}",
        names = names(spec),
        value = spec.value
    ))
}

/// Checks what `regex` only assumes: the value regex parses and has no groups.
pub fn validate(spec: &NamedSpec) -> Result<(), String> {
    check_names(spec)?;
    check_value(spec)
}

fn check_names(spec: &NamedSpec) -> Result<(), String> {
    if spec.names.is_empty() {
        return Err("named: `names` is empty".into());
    }
    if let Some(n) = spec.names.iter().find(|n| n.len() < 3 || !n.is_ascii()) {
        return Err(format!(
            "named: name {n:?} must be ASCII of 3 or more characters"
        ));
    }
    Ok(())
}

fn check_value(spec: &NamedSpec) -> Result<(), String> {
    let value_hir = super::compile::parse_regex(&spec.value)
        .map_err(|e| format!("named: bad value regex: {e}"))?;
    if value_hir.properties().explicit_captures_len() > 0 {
        return Err("named: the value regex must not have capture groups; use (?:…)".into());
    }
    Ok(())
}

fn names(spec: &NamedSpec) -> String {
    spec.names
        .iter()
        .map(|n| regex_syntax::escape(n))
        .collect::<Vec<_>>()
        .join("|")
}

impl NamedKey {
    pub fn new(spec: &NamedSpec) -> Result<NamedKey, String> {
        check_names(spec)?;
        let words: Vec<String> = if spec.key.is_empty() {
            DEFAULT_KEY_WORDS.iter().map(|w| w.to_string()).collect()
        } else {
            spec.key.iter().map(|w| w.to_ascii_lowercase()).collect()
        };
        let kc = KEY_CHAR;
        // `mailgun:`, `[mailgun]`, `"mailgun": {`, `<mailgun>`, `provider "mailgun" {`
        let header = format!(
            r#"(?im)^[ \t]*(?:[A-Za-z0-9_-]+[ \t]+)?[\[<"']?{kc}*(?:{names}){kc}*[\]>"']?[ \t]*[:=]?[ \t]*[{{(]?[ \t]*\r?$"#,
            names = names(spec)
        );
        let pair = format!(
            r"(?i:(?P<key>{kc}+)){ASSIGNMENT}(?P<value>{value}){VALUE_END}",
            value = spec.value
        );
        let lazy = |p: &str| Ok::<_, String>(LazyRegex::unchecked(p));
        Ok(NamedKey {
            key_words: words,
            names: spec
                .names
                .iter()
                .map(|n| key_words(n.as_bytes()).collect())
                .collect(),
            header: lazy(&header)?,
            pair: lazy(&pair)?,
            within: spec.within.unwrap_or(4),
        })
    }

    /// Whether `key` says it holds a secret: it contains one of the key words, and none of its
    /// words (other than the provider's own) names a digest, an identifier or a location.
    pub fn accepts(&self, key: &[u8]) -> bool {
        let lower = key.to_ascii_lowercase();
        if !self
            .key_words
            .iter()
            .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
        {
            return false;
        }
        let words: Vec<String> = key_words(key).collect();
        let own: Vec<&String> = self.names.iter().flatten().collect();
        !words
            .iter()
            .any(|w| NOT_SECRET_WORDS.contains(&w.as_str()) && !own.contains(&w))
    }

    /// Whether `text` names the provider starting at the start of one of its words, so
    /// `kit_api` is found in `KIT_API_KEY` and `kitApiKey` but not in `TOOLKIT_API_KEY`, nor
    /// `lark` in `CLARK_APP`. Separators and case changes do not count (`chatwork` is in
    /// `X-ChatWorkToken`, `mailgun` in `MAILGUNKEY`).
    pub fn names_in(&self, text: &[u8]) -> bool {
        let mut joined = String::new();
        let mut starts = Vec::new();
        for word in key_words(text) {
            starts.push(joined.len());
            joined.push_str(&word);
        }
        self.names.iter().any(|name| {
            let name = name.concat();
            !name.is_empty()
                && starts
                    .iter()
                    .any(|&at| joined[at..].starts_with(name.as_str()))
        })
    }

    /// Whether a keyword hit at `hit` (a provider name) can start a match at all, judged from
    /// its line alone: the name starts a word, and either the identifier around it says it
    /// holds a secret (inline form) or the line is a block header. Most mentions of a provider
    /// (`github.com`, `probably`, prose) are turned away here before any regex runs.
    pub fn hit_may_match(&self, line: &[u8], hit: usize) -> bool {
        let is_key = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b'-');
        if hit > 0 {
            let (prev, cur) = (line[hit - 1], line[hit]);
            let camel =
                (prev.is_ascii_lowercase() || prev.is_ascii_digit()) && cur.is_ascii_uppercase();
            if prev.is_ascii_alphanumeric() && !camel {
                return false;
            }
        }
        let start = line[..hit]
            .iter()
            .rposition(|&b| !is_key(b))
            .map_or(0, |i| i + 1);
        let end = line[hit..]
            .iter()
            .position(|&b| !is_key(b))
            .map_or(line.len(), |i| hit + i);
        let ident = line[start..end].to_ascii_lowercase();
        if self
            .key_words
            .iter()
            .any(|w| memchr::memmem::find(&ident, w.as_bytes()).is_some())
        {
            return true;
        }
        // A header: at most a word and quotes or a bracket before, an opener after.
        let after = &line[end..];
        let after_ok = after.iter().all(|&b| {
            matches!(
                b,
                b'"' | b'\'' | b']' | b'>' | b':' | b'=' | b'{' | b'(' | b' ' | b'\t' | b'\r'
            )
        });
        let before = line[..start].trim_ascii_start();
        let before_ok = before.len() <= 40
            && before.iter().all(|&b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'_' | b'-' | b' ' | b'\t' | b'"' | b'\'' | b'[' | b'<')
            });
        after_ok && before_ok
    }

    /// Feeds `found` the (key, value) spans of `regex`'s matches in `text` whose key says it
    /// holds a secret. `inline`: the key itself must name the provider.
    pub fn find_pairs(
        &self,
        regex: &super::RuleRegex,
        text: &[u8],
        inline: bool,
        mut found: impl FnMut(Range<usize>, Range<usize>),
    ) {
        // Most texts hold no pair: the forward DFA alone says so, without capture slots.
        if !regex.is_match(text) {
            return;
        }
        for caps in regex.captures_iter(text) {
            let (Some(key), Some(value)) = (
                caps.get_group_by_name("key"),
                caps.get_group_by_name("value"),
            ) else {
                continue;
            };
            let key_text = &text[key.range()];
            if self.accepts(key_text) && (!inline || self.names_in(key_text)) {
                found(key.range(), value.range());
            }
        }
    }

    /// The block form: below each header naming the provider, the pairs on the next `within`
    /// lines. Each key is judged on its own, so an identifier of the same shape above the
    /// secret does not hide it.
    pub fn find_in_blocks(&self, text: &[u8], mut found: impl FnMut(Range<usize>, Range<usize>)) {
        for header in self.header.get().find_iter(text) {
            if !self.names_in(&text[header.range()]) {
                continue;
            }
            let start = memchr::memchr(b'\n', &text[header.end()..])
                .map_or(text.len(), |i| header.end() + i + 1);
            let mut end = start;
            for _ in 0..=self.within {
                match memchr::memchr(b'\n', &text[end..]) {
                    Some(i) => end += i + 1,
                    None => {
                        end = text.len();
                        break;
                    }
                }
            }
            let block = &text[start..end];
            self.find_pairs(self.pair.get(), block, false, |k, v| {
                found(
                    start + k.start..start + k.end,
                    start + v.start..start + v.end,
                )
            });
        }
    }
}

/// The words of an identifier: split on non-alphanumerics and at lower-to-upper case changes
/// (`mailgunSigningKey` → mailgun, signing, key), lower-cased.
fn key_words(key: &[u8]) -> impl Iterator<Item = String> + '_ {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for &b in key {
        if !b.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if b.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
        current.push(b.to_ascii_lowercase() as char);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: &str) -> NamedSpec {
        NamedSpec {
            names: vec!["mailgun".into()],
            value: value.into(),
            key: Vec::new(),
            within: None,
        }
    }

    /// The (key, value) pairs a named rule accepts in `text`, inline or in a block.
    fn find(text: &str) -> Option<(String, String)> {
        let s = spec("[0-9a-f]{32}");
        let inline = crate::rules::compile_rule_regex(&regex(&s).unwrap()).unwrap();
        let named = NamedKey::new(&s).unwrap();
        let text = text.as_bytes();
        let mut found = Vec::new();
        named.find_pairs(&inline, text, true, |k, v| found.push((k, v)));
        named.find_in_blocks(text, |k, v| found.push((k, v)));
        found.into_iter().next().map(|(k, v)| {
            (
                String::from_utf8_lossy(&text[k]).into_owned(),
                String::from_utf8_lossy(&text[v]).into_owned(),
            )
        })
    }

    const V: &str = "3f9c2b1a0d8e7f6a5b4c3d2e1f0a9b8c";

    #[test]
    fn every_assignment_syntax_is_read() {
        for text in [
            format!("MAILGUN_SIGNING_KEY={V}"),
            format!("mailgun_signing_key := \"{V}\""),
            format!("mailgun_key ::= {V}"),
            format!("MAILGUN_KEY ?= {V}"),
            format!("$mailgun_key .= '{V}';"),
            format!("'mailgun_key' => '{V}',"),
            format!("mailgun_key <- \"{V}\""),
            format!("var mailgunKey string = \"{V}\""),
            format!("const mailgunSecret = `{V}`"),
            format!("System.setProperty(\"MAILGUN_KEY\", \"{V}\");"),
            format!("os.environ[\"MAILGUN_KEY\"] = \"{V}\""),
            format!("ENV['MAILGUN_KEY'] = '{V}'"),
            format!("export MAILGUN_KEY={V}"),
            format!("set MAILGUN_KEY={V}"),
            format!("$env:MAILGUN_KEY = \"{V}\""),
            format!("<mailgunKey>{V}</mailgunKey>"),
            format!("<mailgunKey>\n    {V}\n</mailgunKey>"),
            format!("<add key=\"MailgunKey\" value=\"{V}\" />"),
            format!("mailgun_key: |\n  {V}\n"),
            format!("mailgun_key = <<EOF\n{V}\nEOF"),
            format!("{{\"env\": \"A=1\\nMAILGUN_KEY={V}\\n\"}}"),
            format!("{{\\\"mailgun_key\\\": \\\"{V}\\\"}}"),
            format!("deploy --mailgun-key {V}"),
            format!("mailgun:\n  signing_key: {V}\n"),
            format!("[mailgun]\nregion = eu\napi_key = \"{V}\""),
            format!("\"mailgun\": {{\n  \"webhookSigningKey\": \"{V}\"\n}}"),
            format!("provider \"mailgun\" {{\n  api_key = \"{V}\"\n}}"),
            format!("mailgun:\n  app_id: {V}\n  app_secret: {V}\n"),
            format!("MAILGUNKEY={V}"),
        ] {
            assert_eq!(find(&text).map(|(_, v)| v), Some(V.to_string()), "{text}");
        }
    }

    #[test]
    fn keys_that_name_no_secret_are_refused() {
        for text in [
            format!("mailgun_key_sha = \"{V}\""),
            format!("MAILGUN_DOMAIN={V}"),
            format!("mailgunKeyId: {V}"),
            format!("mailgun:\n  webhook_id: {V}\n"),
            format!("mailgun:\n  a: 1\n  b: 2\n  c: 3\n  d: 4\n  e: 5\n  secret: {V}\n"),
            format!("MAILGUN_KEY={V}0"),
            format!("NOTMAILGUN_KEY={V}"),
            format!("mailgun:\n  app_id: {V}\n"),
        ] {
            assert_eq!(find(&text), None, "{text}");
        }
    }

    #[test]
    fn words_split_on_case_and_separators() {
        let words: Vec<String> = key_words(b"mailgunWebhook_SIGNING-key.ID").collect();
        assert_eq!(words, ["mailgun", "webhook", "signing", "key", "id"]);
    }

    #[test]
    fn value_with_groups_is_refused() {
        assert!(validate(&spec("([0-9a-f]{32})")).is_err());
    }
}
