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
    if value.is_empty() {
        return true;
    }
    let lower: Vec<u8> = value.to_ascii_lowercase();
    let lower = String::from_utf8_lossy(&lower);
    if PLACEHOLDER_VALUES.contains(&lower.as_ref()) {
        return true;
    }
    if PLACEHOLDER_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    // `<...>` or `[...]` stand-ins, `$VAR` and `%VAR%` references.
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
    false
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
}
