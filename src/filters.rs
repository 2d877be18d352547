//! Filters every candidate passes after its regex matched: entropy and placeholders. They are
//! what keeps documentation, templates and environment lookups from crying wolf.

/// Shannon entropy of `bytes` in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// Markers of a template variable, an environment lookup or a stand-in value.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "${",
    "{{",
    "}}",
    "$(",
    "#{",
    "%(",
    "<%",
    "process.env",
    "os.environ",
    "getenv",
    "env(",
    "env[",
    "env.",
    "environ",
    "secrets.",
    "vault(",
    "lookup(",
    "xxxx",
    "****",
    "....",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "yourpass",
    "yoursecret",
    "yourtoken",
    "yourkey",
    "example",
    "placeholder",
    "dummy",
    "redacted",
    "replace_",
    "replace-",
    "replaceme",
    "insert_",
    "insert-",
    "todo",
    "fixme",
    "<your",
    "here>",
    "_here",
    "-here",
    "notreal",
    "not_real",
    "not-real",
    "sample",
    "fake_",
    "fake-",
];

/// Whole values that are stand-ins rather than secrets.
const PLACEHOLDER_VALUES: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "secret",
    "pwd",
    "user",
    "username",
    "admin",
    "root",
    "test",
    "testing",
    "guest",
    "demo",
    "foo",
    "bar",
    "foobar",
    "none",
    "null",
    "mypassword",
    "mysecret",
    "secretpassword",
    "s3cr3t",
    "p@ssw0rd",
    "p@ssword",
    "123456",
    "12345678",
    "password123",
    "password1",
    "letmein",
    "qwerty",
    "abc123",
    "token",
    "apikey",
    "api_key",
    "opensesame",
    "open sesame",
    "hunter2",
    "secret123",
    "pass123",
    "admin123",
];

/// True when `value` is a template, reference or stand-in rather than a real secret.
pub fn looks_like_placeholder(value: &[u8]) -> bool {
    has_placeholder_word(value) || looks_like_stand_in(value)
}

/// Whether `value` holds a word that marks a stand-in (`example`, `changeme`, `your_`…), or is
/// one whole. A token whose checksum or structure verified keeps its finding even so: a real
/// token can hold `Todo` by chance.
pub fn has_placeholder_word(value: &[u8]) -> bool {
    let lower: Vec<u8> = value.to_ascii_lowercase();
    let lower = String::from_utf8_lossy(&lower);
    PLACEHOLDER_VALUES.contains(&lower.as_ref())
        || PLACEHOLDER_MARKERS.iter().any(|m| lower.contains(m))
}

/// Whether `value` is a reference or a stand-in by its shape: a template (`<...>`, `{...}`,
/// `$VAR`, `%VAR%`), one character repeated, a mask, or too regular to be random (an ascending
/// run such as `abcdefgh` or `12345678`, a short unit repeated).
pub fn looks_like_stand_in(value: &[u8]) -> bool {
    if value.is_empty() {
        return true;
    }
    let first = value[0];
    let last = value[value.len() - 1];
    if (first == b'<' && last == b'>')
        || (first == b'[' && last == b']')
        || (first == b'{' && last == b'}')
    {
        return true;
    }
    if first == b'$'
        && value[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'{' || *b == b'}')
    {
        return true;
    }
    if first == b'%' && last == b'%' {
        return true;
    }
    // One character repeated (`aaaaaaaa`, `00000000`).
    if value.len() >= 4 && value.iter().all(|&b| b == first) {
        return true;
    }
    is_low_information(value)
}

/// Sequences no random generator produces: 8 or more characters each one above (or below)
/// the one before, a mask of `#`, `*` or `x` over half the value, or a random-looking part
/// that is a unit of up to 8 characters repeated.
fn is_low_information(value: &[u8]) -> bool {
    let mut up = 1;
    let mut down = 1;
    for pair in value.windows(2) {
        let alnum = pair[0].is_ascii_alphanumeric() && pair[1].is_ascii_alphanumeric();
        up = if alnum && pair[1] == pair[0].wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if alnum && pair[1] == pair[0].wrapping_sub(1) {
            down + 1
        } else {
            1
        };
        if up >= 8 || down >= 8 {
            return true;
        }
    }
    let masked = value
        .iter()
        .filter(|&&b| matches!(b, b'#' | b'*' | b'x' | b'X'))
        .count();
    if value.len() >= 8 && masked * 2 > value.len() {
        return true;
    }
    // The part after a prefix such as `sk_live_` or `ghp_`.
    let body = match value.iter().rposition(|&b| matches!(b, b'_' | b'-' | b'.')) {
        Some(i) if i < 16 => &value[i + 1..],
        _ => value,
    };
    body.len() >= 12
        && (1..=8).any(|unit| {
            body.len() >= 2 * unit && (unit..body.len()).all(|i| body[i] == body[i - unit])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_random() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn placeholders() {
        for p in [
            "${DB_PASSWORD}",
            "{{ .Values.password }}",
            "<your-key>",
            "changeme",
            "xxxxxxxx",
            "********",
            "$DB_PASS",
            "%PASSWORD%",
            "password",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert!(looks_like_placeholder(p.as_bytes()), "{p}");
        }
        for s in ["Tr0ub4dor&3", "ghp_aB3dE5fG7hI9", "Quartz-77-river"] {
            assert!(!looks_like_placeholder(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn regular_values_are_stand_ins() {
        for p in [
            "sk_live_abcdefghijklmnopqrstuvwx",
            "tok_1234567890123456",
            "zyxwvutsrq9f",
            "ghp_abcabcabcabcabcabcabcabcabcabcabcabc",
            "api-1234123412341234",
            "sk_live_####################",
            "AKIA****************",
        ] {
            assert!(looks_like_stand_in(p.as_bytes()), "{p}");
        }
        for s in [
            "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", // staunch:allow
            "Tr0ub4dor&3",
            "sk_live_4eGh7Kq9Lm2Nx8Vr5Tz3Wb6Y", // staunch:allow
            "0123abcd",
        ] {
            assert!(!looks_like_stand_in(s.as_bytes()), "{s}");
        }
    }
}
