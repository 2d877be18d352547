//! The assignment around a value: the key it belongs to, read back from the line, whether that
//! key names a password or a credential token, and whether the value is a literal at all.

use super::password::password;
use super::CheckContext;

/// Where an assignment's value sits decides how much it takes to believe it: a quoted value is
/// a literal in any syntax, but a bare value is only a literal in configuration syntax (`.env`,
/// YAML, properties, INI, shell), where the key starts the line. In code a bare value is an
/// expression or a type (`pub token: TokenKind`, `let pass = args.pwd`).
pub(super) fn assigned_value(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    let _ = secret;
    let before = ctx.before;
    if opens_literal(before) {
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

/// Whether the value starts right after a quote or an element's `>`: a literal in any syntax.
fn opens_literal(before: &[u8]) -> bool {
    matches!(before.last(), Some(b'"' | b'\'' | b'`' | b'>'))
}

/// Whether the value after `before` (the line up to the value) is a literal in code: quoted,
/// an element's text, or inside a comment.
pub fn literal_in_code(before: &[u8]) -> bool {
    if opens_literal(before) {
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

/// The password of a `scheme://user:password@host` URI. A password equal to the user name
/// (`postgres:postgres`) is a local default, not a leak.
pub(super) fn uri_password(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
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
    password(&decoded) && !super::filters::looks_like_placeholder(&decoded)
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
pub(super) fn key_is_password(before: &[u8]) -> bool {
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
pub(super) fn key_is_credential_token(before: &[u8]) -> bool {
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
pub(super) fn names_itself(secret: &[u8]) -> bool {
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
pub(super) fn php_hex_secret(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::checks::network::stand_in_url_host;
    use crate::rules::checks::Check;

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
}
