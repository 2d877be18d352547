//! What each fuzz target checks, shared by the fuzz targets (`fuzz/fuzz_targets/`) and the
//! regression test that replays `fuzz/regressions/` in `cargo test`
//! (`tests/integration/reliability.rs`), so a saved crash is replayed through exactly the calls
//! and assertions that found it. Each function panics when the product misbehaves.

#![allow(dead_code)]

use std::sync::OnceLock;

use staunch::finding::Finding;
use staunch::matcher::{Matcher, ScanOptions};
use staunch::rules::parse_pack;
use staunch::source::diff::added_lines;
use staunch::source::Fragment;

/// The matcher with the built-in rules, built once per process.
pub fn builtin_matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let rules = staunch::rules::load().expect("built-in packs load");
        Matcher::new(rules, ScanOptions::default())
    })
}

/// Rule-pack loading from arbitrary TOML: parsing either fails with a message or gives rules
/// that a matcher can be built from and run over the pack's own examples.
pub fn rule_pack(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = match parse_pack("fuzz.toml", text) {
        Ok(rules) => rules,
        Err(err) => {
            assert!(!err.to_string().is_empty());
            return;
        }
    };
    let examples: Vec<String> = rules
        .iter()
        .flat_map(|r| r.examples.iter().chain(&r.counter_examples).cloned())
        .collect();
    let matcher = Matcher::new(rules, ScanOptions::default());
    for example in examples.iter().chain([&text.to_string()]) {
        let fragment = Fragment::file("example.txt", example.as_bytes().to_vec());
        let result = matcher.find_in(&fragment);
        check_positions(&fragment.data, &result.findings);
    }
}

/// The matcher and base64 decoder on arbitrary bytes, with the built-in rules: no panic, and
/// every finding points at real bytes of the input.
pub fn matcher(data: &[u8]) {
    let fragment = Fragment::file("fuzz.txt", data.to_vec());
    let result = builtin_matcher().find_in(&fragment);
    check_positions(data, &result.findings);
    for finding in &result.findings {
        let shown = staunch::finding::redact(&finding.secret);
        assert!(
            !contains(shown.as_bytes(), &finding.secret),
            "redaction {shown:?} shows the whole secret"
        );
    }
}

/// The diff-to-added-lines mapping on arbitrary old/new pairs (split at the first NUL byte):
/// every added line is a line of `new` at the number given, the lines not reported are all
/// available in `old`, and findings in the added lines map back to added line numbers.
pub fn added_lines_mapping(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let old = &data[..split];
    let new = data.get(split + 1..).unwrap_or_default();
    let (added, numbers) = added_lines(old, new);

    let new_lines = lines(new);
    let added_lines: Vec<&[u8]> = if numbers.is_empty() {
        assert!(added.is_empty(), "data without line numbers");
        Vec::new()
    } else {
        added.split(|&b| b == b'\n').collect()
    };
    assert_eq!(
        added_lines.len(),
        numbers.len(),
        "one number per added line"
    );
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "line numbers increase"
    );
    for (line, &number) in added_lines.iter().zip(&numbers) {
        assert!(
            number >= 1 && number <= new_lines.len(),
            "line {number} out of range"
        );
        assert_eq!(
            *line,
            new_lines[number - 1],
            "line {number} is not the new line"
        );
    }
    // What was not reported must be matched by as many copies in the old version.
    let mut available = std::collections::HashMap::<&[u8], isize>::new();
    for line in lines(old) {
        *available.entry(line).or_default() += 1;
    }
    for (index, line) in new_lines.iter().enumerate() {
        if numbers.binary_search(&(index + 1)).is_err() {
            let count = available.entry(line).or_default();
            *count -= 1;
            assert!(*count >= 0, "line {} dropped but not in old", index + 1);
        }
    }

    let fragment = Fragment {
        path: "fuzz.txt".into(),
        data: added,
        commit: None,
        line_numbers: Some(numbers.clone()),
        is_message: false,
    };
    for finding in builtin_matcher().find_in(&fragment).findings {
        assert!(
            numbers.contains(&finding.line) && numbers.contains(&finding.end_line),
            "finding at line {} is not on an added line",
            finding.line
        );
    }
}

/// Lines as the product counts them: split on `\n`, a final `\n` ends the last line, `\r\n`
/// counts as `\n`.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    body.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect()
}

/// Every finding's line and column land inside `data`; a finding that was not decoded has its
/// secret at exactly that place.
pub fn check_positions(data: &[u8], findings: &[Finding]) {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(memchr_iter(data).map(|i| i + 1))
        .collect();
    for f in findings {
        assert!(
            f.line >= 1 && f.line <= starts.len(),
            "line {} of {}",
            f.line,
            starts.len()
        );
        assert!(f.end_line >= f.line, "end line {} < {}", f.end_line, f.line);
        assert!(f.column >= 1, "column 0");
        let offset = starts[f.line - 1] + f.column - 1;
        assert!(offset < data.len(), "column past the end");
        if f.decoded.is_empty() {
            assert!(
                data[offset..].starts_with(&f.secret),
                "{} at {}:{} does not point at its secret",
                f.rule_id,
                f.line,
                f.column
            );
        }
    }
}

fn memchr_iter(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    data.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Archive reading on arbitrary bytes, within small limits: no panic in any reader (a caught
/// one is reported as "the archive reader failed"), every entry named under the archive, and
/// what comes out bounded by the limits, whatever the input claims.
pub fn archive(data: &[u8]) {
    use staunch::source::archive::{expand, Limits, SkipReason, Tally};
    use staunch::source::content::{sniff, Kind};
    let Kind::Archive(format) = sniff(data) else {
        return;
    };
    let limits = Limits {
        depth: 3,
        max_entry_size: 1 << 20,
        max_expanded: 8 << 20,
        max_entries: 500,
    };
    let fragment = Fragment::file("fuzz", data.to_vec());
    let mut entries = 0u64;
    let mut tally = Tally::default();
    expand(
        &fragment,
        format,
        &limits,
        &mut |entry| {
            entries += 1;
            assert!(entry.path.starts_with("fuzz!"), "{}", entry.path);
            assert!(entry.line_numbers.is_none());
            // UTF-16 decoded to UTF-8 takes at most 3 bytes for every 2.
            assert!(
                entry.data.len() as u64 <= limits.max_entry_size / 2 * 3 + 3,
                "{} bytes",
                entry.data.len()
            );
            let result = builtin_matcher().find_in(&entry);
            check_positions(&entry.data, &result.findings);
        },
        &mut tally,
    );
    assert_eq!(entries, tally.entries);
    assert!(entries <= limits.max_entries);
    for skipped in &tally.skipped {
        assert!(skipped.path.starts_with("fuzz"), "{}", skipped.path);
        if let SkipReason::Unreadable(why) = &skipped.reason {
            assert!(
                !why.contains("reader failed"),
                "a reader panicked on {}",
                skipped.path
            );
        }
    }
}
