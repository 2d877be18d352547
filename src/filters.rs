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
        || made_of_placeholder_words(value)
}

/// The words stand-in values are built from (`VerySecretPassword`, `my-test-key`,
/// `SuperSecret2024`): vocabulary, not a list of known values.
const PLACEHOLDER_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "password",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "some",
    "very",
    "my",
    "your",
    "our",
    "test",
    "testing",
    "tests",
    "example",
    "dummy",
    "changeme",
    "change",
    "super",
    "sample",
    "fake",
    "demo",
    "default",
    "admin",
    "user",
    "foo",
    "bar",
    "baz",
    "qux",
    "mock",
    "key",
    "token",
    "api",
    "top",
    "really",
    "not",
    "real",
    "the",
    "this",
    "is",
    "it",
    "and",
    "abc",
    "xyz",
    "qwerty",
    "letmein",
    "hunter",
    "dev",
    "local",
    "temp",
    "tmp",
    "insecure",
    "unsafe",
    "value",
    "here",
    "new",
    "old",
    "one",
    "two",
    "sesame",
    "open",
    "host",
    "name",
];

/// What a leet character may stand for (`p4ssw0rd`, `s3cr3t`, `p@$$word`).
fn leet(b: u8) -> &'static [u8] {
    match b {
        b'4' | b'@' => b"a",
        b'0' => b"o",
        b'3' => b"e",
        b'1' => b"il",
        b'5' | b'$' => b"s",
        _ => b"",
    }
}

/// Whether `value`, read case-blind and with leet undone, is nothing but placeholder words,
/// digits and punctuation (`p4ssw0rd`, `SomePassword123`, `test1234`, `super_secret!`), with at
/// least one word. A random secret is never covered whole by a few common words.
pub fn made_of_placeholder_words(value: &[u8]) -> bool {
    let n = value.len();
    if !(4..=64).contains(&n) || !value.iter().any(u8::is_ascii_alphabetic) {
        return false;
    }
    let fits = |at: usize, word: &[u8]| {
        at + word.len() <= n
            && word
                .iter()
                .zip(&value[at..])
                .all(|(&w, &v)| v.to_ascii_lowercase() == w || leet(v).contains(&w))
    };
    // reach[i]: 0 unreachable, 1 reachable without a word yet, 2 reachable after a word.
    let mut reach = vec![0u8; n + 1];
    reach[0] = 1;
    for i in 0..n {
        let state = reach[i];
        if state == 0 {
            continue;
        }
        let b = value[i];
        // `@` and `$` may stand for letters (`p@ss`) or separate words (`pass@host`).
        if b.is_ascii_digit() || b.is_ascii_punctuation() {
            reach[i + 1] = reach[i + 1].max(state);
        }
        for word in PLACEHOLDER_WORDS {
            if fits(i, word.as_bytes()) {
                reach[i + word.len()] = 2;
            }
        }
    }
    reach[n] == 2
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
    body.len() >= 8
        && (1..=8).any(|unit| {
            body.len() >= 2 * unit && (unit..body.len()).all(|i| body[i] == body[i - unit])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_in_words_may_be_joined_by_at_signs() {
        assert!(made_of_placeholder_words(b"pass@host"));
        assert!(made_of_placeholder_words(b"p@ssw0rd"));
        assert!(!made_of_placeholder_words(b"Zor0pz$k3y"));
    }

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
    fn values_made_of_placeholder_words() {
        for p in [
            "p4ssw0rd",
            "secr3t",
            "VerySecretPassword",
            "SomePassword123",
            "supersecret",
            "test1234",
            "My-Dummy-Key!",
            "p@$$word",
        ] {
            assert!(made_of_placeholder_words(p.as_bytes()), "{p}");
            assert!(looks_like_placeholder(p.as_bytes()), "{p}");
        }
        for s in [
            "Winter2024",
            "Kettle-88-Vormund",
            "Tr0ub4dor&3",
            "q7Vd2LmX9sTz4KpR8wNc",
            "12345678",
            "Secret-Lantern-51",
        ] {
            assert!(!made_of_placeholder_words(s.as_bytes()), "{s}");
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
