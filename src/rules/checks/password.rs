//! Generic values: whether the value of a `password` or `token` assignment is one a person or a
//! generator chose, rather than code, a hash, an expression or base64 of plain text.

use super::encoding::{base64, Base64};

/// `user:password` hidden in base64 (HTTP Basic, docker `auth`).
pub(super) fn basic_auth(secret: &[u8]) -> bool {
    let Some(decoded) = base64(secret, Base64::Token) else {
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
        && !super::filters::looks_like_placeholder(pass.as_bytes())
        && (pass.contains(' ') || password(pass.as_bytes()))
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
pub(super) fn password(secret: &[u8]) -> bool {
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
    if text.len() < 16
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='))
    {
        return false;
    }
    let Some(decoded) = base64(text.as_bytes(), Base64::Exact) else {
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

/// The value of a `token = ...` / `api_key: ...` assignment: long, mixed letters and digits,
/// not an identifier, not a hash of a known shape (hex of 32/40/64 is far more often a digest).
pub(super) fn token_value(secret: &[u8]) -> bool {
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
    use base64::Engine;

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
}
