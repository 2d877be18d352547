//! Built-in validators a rule can name with `check = "..."`. They answer one question: is this
//! regex match really the thing the rule is about? They see the candidate secret and the bytes
//! around it, and never allocate on the common path.

use std::net::Ipv6Addr;

use base64::Engine;

/// A validator a rule names in its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    GithubCrc32,
    Crc32Base62,
    OpenaiMarker,
    AnthropicKey,
    AzureDevopsPat,
    AwsKeyId,
    PypiMacaroon,
    Jwt,
    PrivateIpv4,
    PrivateIpv6,
    InternalHost,
    BasicAuth,
    Password,
    TokenValue,
    TokenShape,
    PasswordShape,
    UriPassword,
    UrlCredentials,
}

/// What a check may look at besides the secret itself.
pub struct CheckContext<'a> {
    /// The bytes of the line before the secret.
    pub before: &'a [u8],
    /// The bytes of the line after the secret.
    pub after: &'a [u8],
    /// Host suffixes the user declared internal (lower-case, no leading dot).
    pub internal_domains: &'a [String],
}

impl Check {
    pub fn from_name(name: &str) -> Option<Check> {
        Some(match name {
            "github-crc32" => Check::GithubCrc32,
            "crc32-base62" => Check::Crc32Base62,
            "openai-marker" => Check::OpenaiMarker,
            "anthropic-key" => Check::AnthropicKey,
            "azure-devops-pat" => Check::AzureDevopsPat,
            "aws-key-id" => Check::AwsKeyId,
            "pypi-macaroon" => Check::PypiMacaroon,
            "jwt" => Check::Jwt,
            "private-ipv4" => Check::PrivateIpv4,
            "private-ipv6" => Check::PrivateIpv6,
            "internal-host" => Check::InternalHost,
            "basic-auth" => Check::BasicAuth,
            "password" => Check::Password,
            "token-value" => Check::TokenValue,
            "uri-password" => Check::UriPassword,
            "url-credentials" => Check::UrlCredentials,
            "token-shape" => Check::TokenShape,
            "password-shape" => Check::PasswordShape,
            _ => return None,
        })
    }

    /// The name a pack uses for this check.
    pub fn name(self) -> &'static str {
        match self {
            Check::GithubCrc32 => "github-crc32",
            Check::Crc32Base62 => "crc32-base62",
            Check::OpenaiMarker => "openai-marker",
            Check::AnthropicKey => "anthropic-key",
            Check::AzureDevopsPat => "azure-devops-pat",
            Check::AwsKeyId => "aws-key-id",
            Check::PypiMacaroon => "pypi-macaroon",
            Check::Jwt => "jwt",
            Check::PrivateIpv4 => "private-ipv4",
            Check::PrivateIpv6 => "private-ipv6",
            Check::InternalHost => "internal-host",
            Check::BasicAuth => "basic-auth",
            Check::Password => "password",
            Check::TokenValue => "token-value",
            Check::UriPassword => "uri-password",
            Check::UrlCredentials => "url-credentials",
            Check::TokenShape => "token-shape",
            Check::PasswordShape => "password-shape",
        }
    }

    /// Whether the check verifies a token's own checksum or inner structure (what lets a rule
    /// reject a look-alike offline), rather than judging a value by its context.
    pub fn is_format_check(self) -> bool {
        matches!(
            self,
            Check::GithubCrc32
                | Check::Crc32Base62
                | Check::OpenaiMarker
                | Check::AnthropicKey
                | Check::AzureDevopsPat
                | Check::AwsKeyId
                | Check::PypiMacaroon
                | Check::Jwt
        )
    }

    pub fn verify(self, secret: &[u8], ctx: &CheckContext<'_>) -> bool {
        match self {
            Check::GithubCrc32 | Check::Crc32Base62 => crc32_base62(secret),
            Check::OpenaiMarker => openai_marker(secret),
            Check::AnthropicKey => anthropic_key(secret),
            Check::AzureDevopsPat => azure_devops_pat(secret),
            Check::AwsKeyId => aws_key_id(secret),
            Check::PypiMacaroon => pypi_macaroon(secret),
            Check::Jwt => jwt(secret),
            Check::PrivateIpv4 => private_ipv4(secret, ctx),
            Check::PrivateIpv6 => private_ipv6(secret, ctx),
            Check::InternalHost => internal_host(secret, ctx.internal_domains),
            Check::BasicAuth => basic_auth(secret),
            Check::Password => {
                assigned_value(secret, ctx)
                    && key_is_password(ctx.before)
                    && password(secret)
                    && !crate::filters::made_of_placeholder_words(secret)
            }
            Check::TokenValue => {
                assigned_value(secret, ctx)
                    && key_is_credential_token(ctx.before)
                    && ((token_value(secret) && !names_itself(secret))
                        || php_hex_secret(secret, ctx))
            }
            Check::UriPassword => uri_password(secret, ctx),
            Check::UrlCredentials => !stand_in_url_host(ctx.after) && uri_password(secret, ctx),
            Check::TokenShape => token_value(secret),
            Check::PasswordShape => password(secret),
        }
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Classic GitHub tokens, and npm's tokens made the same way, end in the base62 CRC32 of the
/// random characters before it, which tells a real token from a look-alike (a fixture with
/// `000000` at the end, a truncated paste). The body is what follows the prefix's `_`.
fn crc32_base62(secret: &[u8]) -> bool {
    let Some(underscore) = secret.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &secret[underscore + 1..];
    if body.len() < 7 {
        return false;
    }
    let (random, checksum) = body.split_at(body.len() - 6);
    let mut n = crc32fast::hash(random);
    let mut expected = [b'0'; 6];
    for slot in expected.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    n == 0 && expected == checksum
}

/// OpenAI keys carry `T3BlbkFJ` (base64 of "OpenAI") between their random halves; in a legacy
/// `sk-` + 48 key it sits at a fixed place, so other providers' `sk-` keys of that length fail.
fn openai_marker(secret: &[u8]) -> bool {
    const MARKER: &[u8] = b"T3BlbkFJ";
    match secret.strip_prefix(b"sk-") {
        Some(body) if body.len() == 48 && body.iter().all(u8::is_ascii_alphanumeric) => {
            &body[20..28] == MARKER
        }
        Some(_) => memchr::memmem::find(secret, MARKER).is_some(),
        None => false,
    }
}

/// Anthropic's API and admin keys end in `AA` after their random part.
fn anthropic_key(secret: &[u8]) -> bool {
    secret.starts_with(b"sk-ant-") && secret.ends_with(b"AA")
}

/// Azure DevOps' 84-character personal access tokens carry the signature `AZDO` at characters
/// 77 to 80; the older 52-character tokens are lower-case base32.
fn azure_devops_pat(secret: &[u8]) -> bool {
    match secret.len() {
        84 => &secret[76..80] == b"AZDO",
        52 => secret
            .iter()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(b)),
        _ => false,
    }
}

/// An AWS access key id encodes its account: the 16 base32 characters after the 4-letter
/// prefix hold, in their first 6 bytes shifted by 7 bits, a 40-bit number that must be a
/// 12-digit account id.
fn aws_key_id(secret: &[u8]) -> bool {
    if secret.len() != 20 {
        return false;
    }
    let mut bits: u128 = 0;
    for &b in &secret[4..] {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'2'..=b'7' => b - b'2' + 26,
            _ => return false,
        };
        bits = (bits << 5) | u128::from(value);
    }
    // 80 bits; the first 48 of them, masked and shifted.
    let first48 = (bits >> 32) as u64;
    let account = (first48 & 0x7fff_ffff_ff80) >> 7;
    account <= 999_999_999_999
}

/// A PyPI token is a binary macaroon in base64url: version 2, a location field naming
/// pypi.org or test.pypi.org, then an identifier field.
fn pypi_macaroon(secret: &[u8]) -> bool {
    let Some(body) = secret.strip_prefix(b"pypi-") else {
        return false;
    };
    let Some(bytes) = decode_base64_any(body) else {
        return false;
    };
    let [2, 1, len, rest @ ..] = bytes.as_slice() else {
        return false;
    };
    let len = usize::from(*len);
    if rest.len() <= len {
        return false;
    }
    let location = &rest[..len];
    (location == b"pypi.org" || location == b"test.pypi.org") && rest[len] == 2
}

/// Standard or URL-safe base64, padded or not: tokens use all four.
pub(crate) fn decode_base64_any(text: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let trimmed = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .or_else(|_| STANDARD.decode(text))
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

/// A JWT's header is base64url JSON naming its algorithm, and its payload (when there is one)
/// is a JSON object too.
fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let header = parts.next().unwrap_or_default();
    let json = |part: &[u8]| {
        decode_base64_any(part).and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
    };
    let Some(serde_json::Value::Object(map)) = json(header) else {
        return false;
    };
    if !map.contains_key("alg") {
        return false;
    }
    match parts.next() {
        None | Some(b"") => true,
        Some(payload) => matches!(json(payload), Some(serde_json::Value::Object(_))),
    }
}

/// Dotted quads in the RFC 1918 ranges, refusing the look-alikes: version numbers and OIDs
/// with more parts, octets over 255, leading zeros.
fn private_ipv4(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    // Part of a longer dotted number (an OID, a 5-part version)?
    if matches!(ctx.before.last(), Some(b) if b.is_ascii_digit() || *b == b'.') {
        return false;
    }
    if ctx.after.len() >= 2 && ctx.after[0] == b'.' && ctx.after[1].is_ascii_digit() {
        return false;
    }
    if matches!(ctx.after.first(), Some(b) if b.is_ascii_digit()) {
        return false;
    }
    let mut octets = [0u16; 4];
    let mut count = 0;
    for part in secret.split(|&b| b == b'.') {
        if count == 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return false;
        }
        if !part.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let value = part.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
        if value > 255 {
            return false;
        }
        octets[count] = value;
        count += 1;
    }
    if count != 4 {
        return false;
    }
    let host_octets: &[u16] = match octets {
        [10, ..] => &octets[1..],
        [172, b, ..] if (16..=31).contains(&b) => &octets[2..],
        [192, 168, ..] => &octets[2..],
        _ => return false,
    };
    // A network written as an address (`10.0.0.0/8`, `192.168.1.0/24`) defines a range rather
    // than naming a host; hand-typed defaults and documentation stand-ins (`192.168.1.1`,
    // `10.0.0.2`, `10.10.10.10`) have only tiny or repeated host octets.
    if octets[3] == 0 && ctx.after.first() == Some(&b'/') {
        return false;
    }
    let tiny = host_octets.iter().all(|&o| o < 16);
    let repeated = octets.iter().all(|&o| o == octets[0]);
    !(tiny || repeated)
}

/// Unique local IPv6 addresses (fc00::/7), parsed for real so hex words and MAC-like strings
/// do not pass.
fn private_ipv6(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    if matches!(ctx.before.last(), Some(b) if b.is_ascii_alphanumeric() || *b == b':') {
        return false;
    }
    let Ok(text) = std::str::from_utf8(secret) else {
        return false;
    };
    let text = text.split('%').next().unwrap_or(text);
    // Needs at least three groups, so a `fd00:` label or a time `fc12:30` does not pass.
    if text.matches(':').count() < 2 {
        return false;
    }
    let Ok(addr) = text.parse::<Ipv6Addr>() else {
        return false;
    };
    let segments = addr.segments();
    if (segments[0] & 0xfe00) != 0xfc00 {
        return false;
    }
    // A real ULA prefix carries a random 40-bit global ID; `fd00::`, `fc00:1::` and friends are
    // the range itself or documentation.
    let global_id_is_trivial = (segments[0] & 0xff) == 0 || (segments[1] == 0 && segments[2] == 0);
    let network = ctx.after.first() == Some(&b'/');
    !(global_id_is_trivial || network)
}

/// Host names that only resolve inside an organisation.
const INTERNAL_SUFFIXES: &[&str] = &[
    "internal",
    "corp",
    "local",
    "lan",
    "intranet",
    "home.arpa",
    "localdomain",
    "private",
];

/// Labels that mark an internal zone inside a public-looking name (`x.corp.example.com`).
const INTERNAL_LABELS: &[&str] = &["internal", "corp", "intranet", "intra", "lan"];

/// Short host names of common intranet services (trailing digits ignored: `build01`).
const INTRANET_SHORT_NAMES: &[&str] = &[
    "intranet",
    "intra",
    "wiki",
    "jira",
    "confluence",
    "jenkins",
    "gitlab",
    "bitbucket",
    "gerrit",
    "nexus",
    "artifactory",
    "sonar",
    "sonarqube",
    "grafana",
    "kibana",
    "prometheus",
    "vault",
    "consul",
    "nomad",
    "sharepoint",
    "portal",
    "helpdesk",
    "build",
    "ci",
    "teamcity",
    "bamboo",
    "argocd",
    "rancher",
    "harbor",
    "registry",
    "ldap",
    "ad",
    "dc",
    "fileserver",
    "nas",
    "printer",
    "mail",
    "exchange",
    "owa",
    "smtp",
    "db",
    "mysql",
    "postgres",
    "redis",
    "mongo",
    "elastic",
    "rabbitmq",
    "kafka",
    "zookeeper",
    "ops",
    "admin",
    "internal",
    "corp",
    "hr",
    "payroll",
    "crm",
    "erp",
];

/// `secret` is the host part of a URL (optionally with `:port`).
fn internal_host(secret: &[u8], internal_domains: &[String]) -> bool {
    let Ok(host) = std::str::from_utf8(secret) else {
        return false;
    };
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).trim_end_matches('.');
    let host = host.to_ascii_lowercase();
    if host.is_empty() || host.starts_with('-') || host.ends_with('-') {
        return false;
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let empty = CheckContext {
            before: b"",
            after: b"",
            internal_domains,
        };
        return private_ipv4(host.as_bytes(), &empty);
    }
    for domain in internal_domains {
        if host == *domain || ends_with_label(&host, domain) {
            return true;
        }
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return false;
    }
    if is_stand_in_host(&labels) {
        return false;
    }
    if labels.len() == 1 {
        // A single label (`http://wiki/`, `http://jenkins:8080/`) resolves only on a company // staunch:allow
        // network, but test code is full of single-label stand-ins (`http://original/a`), so
        // only the names intranets actually use count (plus the user's internal domains).
        let label = labels[0]
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .trim_end_matches('-');
        return INTRANET_SHORT_NAMES.contains(&label);
    }
    if host.ends_with(".svc.cluster.local") || host.ends_with(".svc") {
        return true;
    }
    if INTERNAL_SUFFIXES.iter().any(|s| ends_with_label(&host, s)) {
        // `.local` also names mDNS hosts, still a private network.
        return true;
    }
    // An internal zone label below a registrable domain: `grafana.corp.example.com`.
    labels.len() >= 3
        && labels[1..labels.len() - 1]
            .iter()
            .any(|l| INTERNAL_LABELS.contains(l))
}

/// Whether `host` ends with `.suffix`: a whole label (or labels), not part of one. Checked in
/// place, since every URL in a scan comes here.
fn ends_with_label(host: &str, suffix: &str) -> bool {
    host.len() > suffix.len()
        && host.ends_with(suffix)
        && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
}

/// Host labels that mark a test double or a documentation stand-in, not a real machine.
const STAND_IN_LABELS: &[&str] = &[
    "mock",
    "test",
    "fake",
    "dummy",
    "example",
    "sample",
    "foo",
    "bar",
    "baz",
    "invalid",
    "localhost",
];

fn is_stand_in_host(labels: &[&str]) -> bool {
    labels.iter().any(|l| {
        STAND_IN_LABELS.contains(l)
            || ["mock", "fake", "dummy", "example", "sample"]
                .iter()
                .any(|p| l.starts_with(p))
    })
}

/// `user:password` hidden in base64 (HTTP Basic, docker `auth`).
fn basic_auth(secret: &[u8]) -> bool {
    let Some(decoded) = decode_base64_any(secret) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&decoded) else {
        return false;
    };
    let Some((user, pass)) = text.split_once(':') else {
        return false;
    };
    // The RFC 7617 example (`Aladdin:open sesame`) and its variants are documentation.
    let documented = user.eq_ignore_ascii_case("aladdin");
    // `Basic eyJ…` is a JWT's JSON header pasted under the wrong scheme, not user:password.
    let json = text.starts_with('{');
    !documented
        && !json
        && !user.is_empty()
        && pass.len() >= 3
        && text.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !crate::filters::looks_like_placeholder(pass.as_bytes())
        && (pass.contains(' ') || password(pass.as_bytes()))
}

/// Where an assignment's value sits decides how much it takes to believe it: a quoted value is
/// a literal in any syntax, but a bare value is only a literal in configuration syntax (`.env`,
/// YAML, properties, INI, shell), where the key starts the line. In code a bare value is an
/// expression or a type (`pub token: TokenKind`, `let pass = args.pwd`).
fn assigned_value(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    let _ = secret;
    let before = ctx.before;
    if matches!(before.last(), Some(b'"' | b'\'' | b'`' | b'>')) {
        return true;
    }
    if secret.first() == Some(&b':') {
        return false;
    }
    let mut rest = trim_end(before);
    for separator in [
        b":::=".as_slice(),
        b"::=",
        b":=",
        b"?=",
        b"+=",
        b".=",
        b"=>",
        b"<-",
        b"=",
        b":",
    ] {
        if let Some(stripped) = rest.strip_suffix(separator) {
            rest = stripped;
            break;
        }
    }
    rest = trim_end(rest);
    rest = rest
        .strip_suffix(b"\"")
        .or_else(|| rest.strip_suffix(b"'"))
        .unwrap_or(rest);
    let key_len = rest
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    rest = &rest[..rest.len() - key_len];
    rest = rest
        .strip_suffix(b"\"")
        .or_else(|| rest.strip_suffix(b"'"))
        .unwrap_or(rest);
    let prefix = trim_end(rest);
    let prefix = prefix
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&prefix[..0], |i| &prefix[i..]);
    matches!(
        prefix,
        b"" | b"export" | b"-" | b"set" | b"ENV" | b"env" | b"#" | b"//" | b"--"
    ) || prefix.ends_with(b"--") && !prefix.contains(&b'(')
}

/// Source code in a language whose assignments take expressions (by the file's extension; an
/// archive member or a decoded path counts by its last component). There a bare value after
/// `password =` is a name, a call or a type, never something a person typed in: only a quoted
/// literal is, or a value written in a comment.
pub fn is_code_path(path: &str) -> bool {
    let name = path.rsplit(['/', '!', '\\']).next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "rs" | "go"
            | "py"
            | "pyi"
            | "js"
            | "jsx"
            | "mjs"
            | "cjs"
            | "ts"
            | "tsx"
            | "mts"
            | "cts"
            | "java"
            | "kt"
            | "kts"
            | "scala"
            | "groovy"
            | "c"
            | "h"
            | "cc"
            | "cpp"
            | "cxx"
            | "hpp"
            | "hh"
            | "cs"
            | "fs"
            | "vb"
            | "swift"
            | "m"
            | "mm"
            | "rb"
            | "php"
            | "dart"
            | "lua"
            | "pl"
            | "pm"
            | "ex"
            | "exs"
            | "erl"
            | "hs"
            | "ml"
            | "clj"
            | "jl"
            | "zig"
            | "nim"
            | "sol"
    )
}

/// Whether the value after `before` (the line up to the value) is a literal in code: quoted,
/// an element's text, or inside a comment.
pub fn literal_in_code(before: &[u8]) -> bool {
    if matches!(before.last(), Some(b'"' | b'\'' | b'`' | b'>')) {
        return true;
    }
    let line = &before[before
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count()..];
    [b"#".as_slice(), b"//", b"--", b"/*", b"*", b";"]
        .iter()
        .any(|comment| line.starts_with(comment))
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let keep = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    &bytes[..keep]
}

/// Words that show up as the value of a `password` key without being one.
const NOT_PASSWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "undefined",
    "required",
    "optional",
    "string",
    "str",
    "password",
    "passwd",
    "secret",
    "token",
    "hidden",
    "masked",
    "empty",
    "default",
    "bool",
    "boolean",
    "integer",
    "number",
    "object",
    "value",
    "text",
    "varchar",
    "input",
    "prompt",
];

/// The value of a `password = ...` style assignment: something a person chose, not code. Refuses
/// identifiers and member paths (`self.password`, `cfg.db_pass`), calls, numbers, paths,
/// URLs and format strings.
fn password(secret: &[u8]) -> bool {
    if secret.len() < 6 || secret.len() > 200 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(secret) else {
        return false;
    };
    let lower = text.to_ascii_lowercase();
    if NOT_PASSWORDS.contains(&lower.as_str()) {
        return false;
    }
    if text
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return false;
    }
    if is_expression(text) || is_password_hash(text) || text.ends_with(':') {
        return false;
    }
    // Base64 of a sentence or of JSON is data, not a password; the decoded text is scanned on
    // its own (a secret inside it is found there).
    if decodes_to_text(text) {
        return false;
    }
    if text.contains("://")
        || text.starts_with('/')
        || text.starts_with("./")
        || text.starts_with("~/")
    {
        return false;
    }
    if text.contains("()") || text.contains("(") && text.ends_with(')') {
        return false;
    }
    if text.starts_with('%')
        || text.starts_with('&')
        || text.starts_with('*')
        || text.starts_with('@')
    {
        // format specifiers, references, pointers, decorators / Ansible vault ids
        return false;
    }
    // Only letters (a word, an identifier): too weak a signal to block on.
    if text
        .bytes()
        .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-')
    {
        return false;
    }
    if text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return false;
    }
    // A member path or a snake_case identifier (`self.pwd`, `args.password`, `db_password_2`).
    if is_identifier_path(text) || is_symbol_chain(text) {
        return false;
    }
    // A short run of hex digits is a fragment (a colour, an abbreviated hash, a byte pattern),
    // not a chosen password; long hex is judged like any other value.
    if text.len() <= 12
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return false;
    }
    // A constant's name (`CLIENT_TRAFFIC_SECRET_0`), not its value.
    let constant = text.contains('_')
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    !constant
}

/// Whether `text` is base64 (standard or URL alphabet) of plain text: printable ASCII holding a
/// space, or a JSON object or array. Random bytes, which a base64-looking password decodes to,
/// are almost never that.
fn decodes_to_text(text: &str) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    if text.len() < 16
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='))
    {
        return false;
    }
    let decoded = STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text));
    let Ok(decoded) = decoded else {
        return false;
    };
    let printable = decoded
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t'));
    let json = matches!(decoded.first(), Some(b'{' | b'['));
    printable && decoded.len() >= 8 && (decoded.contains(&b' ') || json)
}

/// A value that is or holds a variable reference, so an expression rather than a literal:
/// `$x`, `\$x`, `${x}`, `$(cmd)`, `$h->{'k'}`, `%(x)s`, `{{ x }}`, `<%= x %>`, `#{x}`, or a
/// shell-style `$UPPER_SNAKE` name inside a longer value. Any other `$` inside a value
/// (`Fjord7$Nimbus`, `Orbit2$W7CRK`) is a character of a password.
fn is_expression(text: &str) -> bool {
    let bytes = text.as_bytes();
    let starts_variable = |at: usize| matches!(bytes.get(at), Some(b) if b.is_ascii_alphabetic() || matches!(b, b'_' | b'{' | b'('));
    if (bytes.first() == Some(&b'$') && starts_variable(1))
        || (bytes.starts_with(b"\\$") && starts_variable(2))
    {
        return true;
    }
    if ["${", "$(", "{{", "<%", "%(", "#{", "->{", "->["]
        .iter()
        .any(|m| text.contains(m))
    {
        return true;
    }
    bytes.iter().enumerate().any(|(i, &b)| {
        if b != b'$' {
            return false;
        }
        let name: Vec<u8> = bytes[i + 1..]
            .iter()
            .copied()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .collect();
        name.len() >= 3
            && name.contains(&b'_')
            && (name[0].is_ascii_uppercase() || name[0] == b'_')
            && name
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
    })
}

/// Password hashes given as values: modular crypt (`$1$`, `$5$`, `$6$`, `$2a$`/`$2b$`/`$2y$`,
/// `$y$`, `$argon2id$`, `$scrypt$`, `$pbkdf2-sha256$`), Django's `algorithm$…` form
/// (`pbkdf2_sha256$…`, `argon2$…`, `bcrypt_sha256$…`) and LDAP's `{SSHA}…`. What they protect is
/// not in them.
fn is_password_hash(text: &str) -> bool {
    let bytes = text.as_bytes();
    if let Some(rest) = text.strip_prefix('$') {
        let id_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
            .count();
        return id_len > 0 && rest.as_bytes().get(id_len) == Some(&b'$');
    }
    if let Some(rest) = text.strip_prefix('{') {
        let id_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-')
            .count();
        return id_len >= 3 && rest.as_bytes().get(id_len) == Some(&b'}');
    }
    let id_len = bytes
        .iter()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
        .count();
    let algorithm = &text[..id_len];
    bytes.get(id_len) == Some(&b'$')
        && [
            "pbkdf2", "argon2", "bcrypt", "scrypt", "sha1", "md5", "crypt",
        ]
        .iter()
        .any(|a| algorithm.starts_with(a))
        && text[id_len + 1..].contains('$')
}

/// Code symbols strung together (a sanitizer's `DEDUP_TOKEN: __malloc--do_xmalloc--main`, a
/// mangled path): four or more parts, each a one-case identifier or a number, most of them
/// snake_case names. Random tokens mix case within a part; passphrases have no `_` in words.
fn is_symbol_chain(text: &str) -> bool {
    let parts: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|p| !p.is_empty())
        .collect();
    let one_case = |p: &&str| {
        let b = p.as_bytes();
        b.iter().all(u8::is_ascii_digit)
            || ((b[0].is_ascii_alphabetic() || b[0] == b'_')
                && (!b.iter().any(u8::is_ascii_uppercase) || !b.iter().any(u8::is_ascii_lowercase)))
    };
    parts.len() >= 4
        && parts.iter().all(one_case)
        && parts.iter().filter(|p| p.contains('_')).count() * 2 >= parts.len()
}

fn is_identifier_path(text: &str) -> bool {
    let parts_ok = text
        .split(['.', ':'])
        .filter(|p| !p.is_empty())
        .all(|part| {
            let mut bytes = part.bytes();
            matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'$')
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    if !parts_ok {
        return false;
    }
    // Mixed letters and digits without separators, like `Winter2024`, may be a password; a
    // lower-case snake identifier or a dotted path is code.
    text.contains('.')
        || text.contains("::")
        || (text.contains('_') && !text.bytes().any(|b| b.is_ascii_uppercase()))
        || text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// The password of a `scheme://user:password@host` URI. A password equal to the user name
/// (`postgres:postgres`) is a local default, not a leak.
fn uri_password(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    let Some(user) = ctx.before.strip_suffix(b":") else {
        return true;
    };
    let user = match memchr::memmem::rfind(user, b"://") {
        Some(at) => &user[at + 3..],
        None => user,
    };
    if secret.eq_ignore_ascii_case(user) {
        return false;
    }
    // The same checks as a `password = ...` assignment, on what the URL means.
    let decoded = percent_decode(secret);
    password(&decoded) && !crate::filters::looks_like_placeholder(&decoded)
}

/// `%XX` escapes undone; a `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%' && i + 2 < text.len() {
            if let (Some(h), Some(l)) = (hex(text[i + 1]), hex(text[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

/// Whether the host after a URL's `@` (`after` starts at the `@`) is a stand-in: the reserved
/// documentation and test names (`example.com`, `*.example`, `*.test`, `*.invalid`,
/// `localhost`) and hosts labelled as doubles (`mock`, `fake`, `dummy`…). URLs with such hosts
/// are documentation and URL-parser test vectors.
fn stand_in_url_host(after: &[u8]) -> bool {
    let after = after.strip_prefix(b"@").unwrap_or(after);
    let end = after
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
        .unwrap_or(after.len());
    let Ok(host) = std::str::from_utf8(&after[..end]) else {
        return false;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let last = labels[labels.len() - 1];
    let reserved_second_level = labels.len() >= 2
        && labels[labels.len() - 2] == "example"
        && matches!(last, "com" | "net" | "org");
    reserved_second_level
        || matches!(last, "example" | "test" | "invalid" | "localhost")
        || is_stand_in_host(&labels)
}

/// The words of an identifier: split at anything not a letter or digit, at a lower-case letter
/// or digit followed by an upper-case one (`dbPassword`, `pkcs15Token`), and between letters
/// and digits (`pass2`). Lower-cased.
pub(crate) fn words(text: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev: Option<u8> = None;
    for &b in text {
        if !b.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let camel = (p.is_ascii_lowercase() || p.is_ascii_digit()) && b.is_ascii_uppercase();
            let digit_edge = p.is_ascii_digit() != b.is_ascii_digit();
            if (camel || digit_edge) && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        }
        current.push(b.to_ascii_lowercase() as char);
        prev = Some(b);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The key an assignment's value belongs to, read back from the bytes before the value: past
/// the value's opening quote, the operator, the key's closing quote or bracket. Empty when
/// there is none to read (an XML element, a call).
fn key_before(before: &[u8]) -> &[u8] {
    let junk = |r: &[u8]| -> usize {
        r.iter()
            .rev()
            .take_while(|b| {
                b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'\\' | b']')
            })
            .count()
    };
    let mut rest = &before[..before.len() - junk(before)];
    for separator in [
        b":::=".as_slice(),
        b"::=",
        b":=",
        b"?=",
        b"+=",
        b".=",
        b"=>",
        b"<-",
        b"=",
        b":",
        b",",
    ] {
        if let Some(stripped) = rest.strip_suffix(separator) {
            rest = stripped;
            break;
        }
    }
    rest = &rest[..rest.len() - junk(rest)];
    let len = rest
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'$'))
        .count();
    &rest[rest.len() - len..]
}

/// Whether the key names a password on word boundaries: `db_password`, `smtpPass`,
/// `PGPASSWORD`, `pass2`, but not `askpass`, `bypass`, `compass` or `userpass` in a URL name. A
/// key that does not hold the word at all (the rule matched an XML element, say) is not judged.
fn key_is_password(before: &[u8]) -> bool {
    let key = key_before(before);
    let lower = key.to_ascii_lowercase();
    let holds = |w: &[u8]| memchr::memmem::find(&lower, w).is_some();
    if !holds(b"pass") && !holds(b"pwd") {
        return true;
    }
    words(key).iter().any(|w| {
        matches!(
            w.as_str(),
            "pass" | "pwd" | "passwd" | "password" | "passwords" | "passphrase"
        ) || w.ends_with("password")
            || w.ends_with("passwd")
            || w.ends_with("passphrase")
    })
}

/// Token kinds that are not credentials: a page or a cursor in a listing, an idempotency or
/// change marker, a form's CSRF token, a verification code sent to a user.
const NOT_CREDENTIAL_TOKENS: &[&str] = &[
    "next",
    "page",
    "pagination",
    "continuation",
    "cursor",
    "idempotency",
    "change",
    "verification",
    "csrf",
    "xsrf",
    "sync",
    "resume",
    "start",
    "end",
];

/// Whether the key is a credential rather than a token of a kind that is not one
/// (`next_page_token`, `continuationToken`, `csrf-token`).
fn key_is_credential_token(before: &[u8]) -> bool {
    let words = words(key_before(before));
    !words
        .windows(2)
        .any(|pair| pair[1] == "token" && NOT_CREDENTIAL_TOKENS.contains(&pair[0].as_str()))
        && !words.iter().any(|w| {
            w.strip_suffix("token")
                .is_some_and(|k| NOT_CREDENTIAL_TOKENS.contains(&k))
        })
}

/// An identifier whose own words say what it is (`pkcs15Token`, `uddiv3ServiceKey`,
/// `reset-password-secret`): the name of a token kind, not a token.
fn names_itself(secret: &[u8]) -> bool {
    secret
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && words(secret).iter().any(|w| {
            matches!(
                w.as_str(),
                "token" | "key" | "secret" | "password" | "passwd" | "pass"
            )
        })
}

/// A PHP variable named for a secret or key (`$wgSecretKey = "…"`, `$app_key = '…'`) assigned
/// a quoted 64-hex literal: the way PHP applications store their secret, where elsewhere a
/// 64-hex value is far more often a digest.
fn php_hex_secret(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    if secret.len() != 64 || !secret.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    if !matches!(ctx.before.last(), Some(b'"' | b'\'')) {
        return false;
    }
    let key = key_before(ctx.before);
    key.first() == Some(&b'$')
        && words(key)
            .iter()
            .any(|w| matches!(w.as_str(), "secret" | "key"))
}

/// The value of a `token = ...` / `api_key: ...` assignment: long, mixed letters and digits,
/// not an identifier, not a hash of a known shape (hex of 32/40/64 is far more often a digest).
fn token_value(secret: &[u8]) -> bool {
    if secret.len() < 16 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(secret) else {
        return false;
    };
    if !password(secret) {
        return false;
    }
    let digits = secret.iter().filter(|b| b.is_ascii_digit()).count();
    let letters = secret.iter().filter(|b| b.is_ascii_alphabetic()).count();
    if digits == 0 || letters == 0 {
        return false;
    }
    let is_hex = secret.iter().all(u8::is_ascii_hexdigit);
    if is_hex && matches!(secret.len(), 32 | 40 | 56 | 64 | 96 | 128) {
        return false;
    }
    // UUIDs identify things; they are not credentials on their own.
    if text.len() == 36
        && text.bytes().filter(|&b| b == b'-').count() == 4
        && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_files_take_only_literals_and_comments() {
        assert!(is_code_path("src/db/connect.py"));
        assert!(is_code_path("app.jar!com/acme/Login.KT"));
        assert!(!is_code_path("deploy/.env"));
        assert!(!is_code_path("scripts/setup.sh"));
        assert!(!is_code_path("Makefile"));
        assert!(literal_in_code(b"    password = \""));
        assert!(literal_in_code(b"    # password = "));
        assert!(literal_in_code(b"  // token: "));
        assert!(!literal_in_code(b"    password = "));
        assert!(!literal_in_code(b"  token: "));
    }

    #[test]
    fn symbol_chains_and_hex_fragments_are_not_passwords() {
        assert!(is_symbol_chain(
            "__interceptor_malloc--do_xmalloc--cmd_clone--main--__libc_start_main@GLIBC_2.2.5"
        ));
        assert!(!is_symbol_chain("correct-horse-battery-staple"));
        assert!(!is_symbol_chain("aB3-xY9_kL2-Qw7_pR4-zT8_mN1"));
        assert!(!password(b"ff00ff00ff"));
        assert!(!password(b"c0ffee42"));
        assert!(password(b"deadbeef42aa99"));
        assert!(password(b"Xk9mQ2vLz7"));
    }

    fn ctx() -> CheckContext<'static> {
        CheckContext {
            before: b" ",
            after: b" ",
            internal_domains: &[],
        }
    }

    #[test]
    fn github_checksum() {
        // Built here: random part and its base62 CRC32.
        let random = b"abcdefghijABCDEFGHIJ0123456789";
        let mut n = crc32fast::hash(random);
        let mut sum = [b'0'; 6];
        for slot in sum.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let token = [b"ghp_".as_slice(), random, &sum].concat();
        assert!(crc32_base62(&token));
        let mut bad = token.clone();
        bad[39] = if bad[39] == b'a' { b'b' } else { b'a' };
        assert!(!crc32_base62(&bad));
    }

    #[test]
    fn format_checks_tell_tokens_from_look_alikes() {
        let legacy_openai = format!(
            "sk-{}T3BlbkFJ{}",
            "a1B2c3D4e5F6g7H8i9J0", "k1L2m3N4o5P6q7R8s9T0"
        );
        assert!(openai_marker(legacy_openai.as_bytes()));
        assert!(!openai_marker(
            b"sk-a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4"
        ));
        assert!(anthropic_key(b"sk-ant-api03-xYz123AA"));
        assert!(!anthropic_key(b"sk-ant-api03-xYz123Ab"));
        let azdo = format!("{}AZDO{}", "a".repeat(76), "b1c2");
        assert!(azure_devops_pat(azdo.as_bytes()));
        assert!(!azure_devops_pat(
            format!("{}AZDX{}", "a".repeat(76), "b1c2").as_bytes()
        ));
        assert!(azure_devops_pat(
            b"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
        ));
        // Account ids computed by hand for these two made-up key ids.
        assert!(aws_key_id(b"AKIAUJZDEGXDNCF32EPF")); // staunch:allow
        assert!(!aws_key_id(b"AKIAPFT7V4SEH2KVJ72C")); // staunch:allow
        assert!(pypi_macaroon(b"pypi-AgEIcHlwaS5vcmcCEDcuWcGpL6PzDPyuLN5IoosAAAYg1aIcN6o7heV7n1S4Httr2iLMtkBo8hgntQgdgHTIGOM")); // staunch:allow
        assert!(!pypi_macaroon(
            b"pypi-AgEHcHlwaS5jbwIQ6fQJMAN72cYUgaENCw3_HA"
        ));
        // header {"alg":"HS256"}; payload {"sub":"1"} or not JSON
        assert!(jwt(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!jwt(b"eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"));
    }

    #[test]
    fn ipv4_ranges() {
        for ok in [
            "10.40.3.17",    // staunch:allow
            "172.16.5.44",   // staunch:allow
            "172.31.200.25", // staunch:allow
            "192.168.77.21", // staunch:allow
        ] {
            assert!(private_ipv4(ok.as_bytes(), &ctx()), "{ok}");
        }
        // out of range, malformed, public, loopback, and documentation-style stand-ins
        for no in [
            "172.32.0.1",
            "192.169.1.1",
            "10.256.0.1",
            "10.01.2.3",
            "8.8.8.8",
            "127.0.0.1",
            "192.168.1.1",
            "10.0.0.2",
            "10.10.10.10",
        ] {
            assert!(!private_ipv4(no.as_bytes(), &ctx()), "{no}");
        }
        let oid = CheckContext {
            before: b"1.3.",
            after: b".4",
            internal_domains: &[],
        };
        assert!(!private_ipv4(b"10.1.2.3", &oid));
    }

    #[test]
    fn ipv6_ula() {
        assert!(private_ipv6(b"fd12:3456:789a::1", &ctx())); // staunch:allow
        assert!(private_ipv6(b"fc9e:41b2:7c0d:1::20", &ctx())); // staunch:allow
        assert!(!private_ipv6(b"fc00::1", &ctx()));
        assert!(!private_ipv6(b"fd00:1234::1", &ctx()));
        assert!(!private_ipv6(b"fe80::1", &ctx()));
        assert!(!private_ipv6(b"fd00:", &ctx()));
    }

    #[test]
    fn internal_hosts() {
        for ok in [
            "jira.corp",
            "wiki.internal:8443",
            "api.svc.cluster.local",
            "intranet",
            "grafana.corp.acme.com",
            "10.61.2.37", // staunch:allow
            "nas.home.arpa",
        ] {
            assert!(internal_host(ok.as_bytes(), &[]), "{ok}");
        }
        for no in [
            "github.com",
            "localhost",
            "example",
            "docs.python.org",
            "8.8.8.8",
            "127.0.0.1",
            "mock.local",
            "mocked",
        ] {
            assert!(!internal_host(no.as_bytes(), &[]), "{no}");
        }
        let domains = vec!["acme.io".to_string()];
        assert!(internal_host(b"build.acme.io", &domains));
    }

    #[test]
    fn passwords_versus_code() {
        for ok in ["Tr0ub4dor&3", "hunter22!", "Winter2024", "s3cr3t-Value"] {
            assert!(password(ok.as_bytes()), "{ok}");
        }
        for no in [
            "self.password",
            "password",
            "db_password",
            "get_pass()",
            "12345678",
            "/etc/secret",
            "%s",
            "required",
            "args.pwd",
        ] {
            assert!(!password(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn bare_values_count_only_in_configuration_syntax() {
        let at = |before: &'static [u8]| CheckContext {
            before,
            after: b"",
            internal_domains: &[],
        };
        assert!(assigned_value(b"Winter2024", &at(b"DB_PASSWORD=")));
        assert!(assigned_value(b"Winter2024", &at(b"  password: ")));
        assert!(assigned_value(b"Winter2024", &at(b"export PGPASSWORD=")));
        assert!(assigned_value(
            b"Winter2024",
            &at(b"let x = f(password = \"")
        ));
        assert!(!assigned_value(
            b"WIN32_ERROR",
            &at(b"pub const ERROR_INVALID_PASSWORD: ")
        ));
        assert!(!assigned_value(
            b"Curve25519",
            &at(b"let raw_private_key: ")
        ));
    }

    #[test]
    fn basic_auth_needs_user_and_password() {
        use base64::engine::general_purpose::STANDARD;
        assert!(basic_auth(STANDARD.encode("deploy:Pa55word!x").as_bytes()));
        assert!(!basic_auth(STANDARD.encode("no colon here").as_bytes()));
        assert!(!basic_auth(STANDARD.encode("user:").as_bytes()));
    }

    #[test]
    fn base64_of_plain_text_is_not_a_password() {
        use base64::engine::general_purpose::STANDARD;
        for plain in [
            "this is only a test value",
            "{\"user\":\"ci\",\"scope\":\"read\"}",
        ] {
            let encoded = STANDARD.encode(plain);
            assert!(decodes_to_text(&encoded), "{plain}");
            assert!(!password(encoded.as_bytes()), "{plain}");
        }
        // A random password that happens to be valid base64 decodes to bytes, not text.
        assert!(!decodes_to_text("Qm9vb3Z4K7pLm2ZqT9sWc1Rx"));
        assert!(password(b"Qm9vb3Z4K7pLm2ZqT9sWc1Rx"));
    }

    #[test]
    fn expressions_and_hashes_are_not_passwords() {
        for no in [
            "$cred->{'password'}",
            "\\$smtp_authpass",
            "$HTTPD_PASSWORD",
            "$PWD/askpass",
            "pre-${SUFFIX}-post",
            "x-$(cat key)",
            "%(password)s",
            "{{ .Values.pw }}",
            "<%= @pw %>",
            "base/$HTTPD_URL_USER/x",
            "$6$rounds=5000$salt$Kq9zL2vX7mR3tN8cB5yW1",
            "$2b$12$Kq9zL2vX7mR3tN8cB5yWuO3hT6pD1sF4gJ7kL0",
            "$argon2id$v=19$m=65536$c2FsdA$Kq9zL2vX7mR3",
            "pbkdf2_sha256$600000$Kq9zL2vX$7mR3tN8cB5yW1",
            "{SSHA}Kq9zL2vX7mR3tN8cB5yW1sF4",
            "Username:",
        ] {
            assert!(!password(no.as_bytes()), "{no}");
        }
        for ok in ["Fjord7$Nimbus", "Orbit283$W7CRK", "a$b{c}Q9x"] {
            assert!(password(ok.as_bytes()), "{ok}");
        }
    }

    #[test]
    fn key_words_on_boundaries() {
        assert_eq!(words(b"dbPassword_2"), ["db", "password", "2"]);
        assert_eq!(words(b"pkcs15Token"), ["pkcs", "15", "token"]);
        for ok in [
            "db_password = \"",
            "smtpPass: ",
            "export PGPASSWORD=",
            "$db_pass .= '",
            "ENV['SMTP_PASS'] = '",
            "<password>",
        ] {
            assert!(key_is_password(ok.as_bytes()), "{ok}");
        }
        for no in [
            "GIT_ASKPASS=\"",
            "git-gui--askpass: ",
            "bypass = \"",
            "compass: ",
            "url_userpass=",
        ] {
            assert!(!key_is_password(no.as_bytes()), "{no}");
        }
        for no in [
            "next_page_token = \"",
            "\"continuationToken\": \"",
            "csrf-token: ",
        ] {
            assert!(!key_is_credential_token(no.as_bytes()), "{no}");
        }
        assert!(key_is_credential_token(b"refresh_token = \""));
        assert!(names_itself(b"uddiv3ServiceKey"));
        assert!(!names_itself(b"q7Vd2LmX9sTz4KpR8wNc"));
    }

    #[test]
    fn url_passwords_are_judged_like_assignments() {
        let at = |before: &'static [u8], after: &'static [u8]| CheckContext {
            before,
            after,
            internal_domains: &[],
        };
        let url = at(b"https://ci:", b"@code.northwind.io/x");
        assert!(uri_password(b"Sl%40te-Owl9", &url));
        assert!(!uri_password(b"pass%20word", &url));
        assert!(!uri_password(b"p4ssw0rd", &url));
        assert!(!uri_password(b"%42", &url));
        assert_eq!(percent_decode(b"a%40b%zz%4"), b"a@b%zz%4");
        for host in [
            "@example.com/x",
            "@docs.example.org",
            "@git.test:8080",
            "@x.invalid",
            "@mock-server.local",
            "@localhost",
        ] {
            assert!(stand_in_url_host(host.as_bytes()), "{host}");
        }
        assert!(!stand_in_url_host(b"@code.northwind.io/x"));
        assert!(!stand_in_url_host(b"@orders-db.prod.northwind.com"));
    }

    #[test]
    fn php_secret_key_of_64_hex() {
        let hex = b"3f9c1a7e5b2d8064c4e1f7a9d3b6c2085e7f1a4d9c3b6e2f8a5d1c7b4e9f3a60";
        let at = |before: &'static [u8]| CheckContext {
            before,
            after: b"\";",
            internal_domains: &[],
        };
        assert!(Check::TokenValue.verify(hex, &at(b"$wgSecretKey = \"")));
        assert!(!Check::TokenValue.verify(hex, &at(b"checksum_key = \"")));
        assert!(!Check::TokenValue.verify(hex, &at(b"$wgVersionHash = \"")));
    }

    #[test]
    fn jwt_header() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        assert!(jwt(format!("{header}.eyJzdWIiOiIxIn0.abc").as_bytes()));
        assert!(!jwt(b"eyJub3RoaW5nIjoxfQ.eyJzdWIiOiIxIn0.abc"));
    }
}
