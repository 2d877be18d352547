//! Properties that must hold for any input, checked on generated cases: positions point at the
//! secret, reports never show a whole secret, thread count changes nothing, and a file scanned
//! on disk or as a staged blob gives the same findings.

use std::sync::OnceLock;

use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use staunch::finding::Outcome;
use staunch::finding::{redact, Finding};
use staunch::matcher::{Matcher, ScanOptions};
use staunch::report::{Format, ReportOptions};
use staunch::source::Fragment;

use crate::util::*;

/// Library-level properties are cheap; the ones that spawn processes and git get fewer cases.
fn config(cases: u32) -> Config {
    Config {
        cases,
        // Shrunk failures are printed; nothing is written into the source tree.
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        Matcher::new(
            staunch::rules::load().expect("built-in packs load"),
            ScanOptions::default(),
        )
    })
}

/// A fake token of a known rule, made up at run time: (rule id, token).
fn fake_token() -> impl Strategy<Value = (&'static str, String)> {
    let aws = "[A-Z2-7]{16}".prop_map(|body| ("aws-access-key-id", format!("AKIA{body}")));
    let github = "[A-Za-z0-9]{30}".prop_map(|body| {
        let checksum = base62_crc32(body.as_bytes());
        ("github-classic-token", format!("ghp_{body}{checksum}"))
    });
    prop_oneof![aws, github].prop_filter("the rule's own filters would refuse it", |(_, t)| {
        staunch::rules::checks::filters::entropy(t.as_bytes()) >= 3.5
            && !staunch::rules::checks::filters::looks_like_placeholder(t.as_bytes())
            && !t.contains("EXAMPLE")
    })
}

/// Text no rule fires on: words, multi-byte characters, blank and CRLF lines, but none of the
/// `=`, `:` or `.` that assignments, URLs and addresses need.
fn filler() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            6 => "[a-z]{1,9}",
            2 => Just(" ".to_string()),
            1 => Just("\n".to_string()),
            1 => Just("\r\n".to_string()),
            1 => Just("\t".to_string()),
            1 => "[éü日本 ]{1,3}",
            1 => "[(){}\\[\\],;#/'\"-]",
        ],
        0..120,
    )
    .prop_map(|parts| parts.concat())
}

/// Filler with a token inserted at a random character boundary, set off by separators so the
/// rule's word boundaries hold: (text, byte offset of what was inserted, token, rule).
fn text_with_token() -> impl Strategy<Value = (String, usize, String, &'static str, String)> {
    (
        filler(),
        any::<prop::sample::Index>(),
        fake_token(),
        prop::sample::select(vec!["", " ", "\n", "\"", "'", "("]),
        prop::sample::select(vec!["", " ", "\n", "\r\n", "\"", "'", ")", ","]),
        any::<bool>(),
    )
        .prop_map(|(text, at, (rule, token), before, after, encode)| {
            let boundaries: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            let at = boundaries[at.index(boundaries.len())];
            // The token alone, or hidden in base64 (then it is reported at the encoded run).
            let inserted = if encode {
                base64::engine::general_purpose::STANDARD.encode(format!("key {token} end"))
            } else {
                token.clone()
            };
            let pad = |s: &str, side: &str| {
                if s.is_empty() {
                    side.to_string()
                } else {
                    s.to_string()
                }
            };
            let before = if at == 0 {
                String::new()
            } else {
                pad(before, " ")
            };
            let after = if at == text.len() {
                String::new()
            } else {
                pad(after, " ")
            };
            let mut out = text[..at].to_string();
            out.push_str(&before);
            let offset = out.len();
            out.push_str(&inserted);
            out.push_str(&after);
            out.push_str(&text[at..]);
            (out, offset, token, rule, inserted)
        })
}

/// 1-based line and byte column of `offset`.
fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, offset - line_start + 1)
}

fn outcome_of(findings: Vec<Finding>) -> Outcome {
    Outcome {
        findings,
        ..Outcome::default()
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn line_and_column_point_at_the_secret(
        (text, offset, token, rule, inserted) in text_with_token()
    ) {
        let data = text.as_bytes();
        let found = matcher()
            .find_in(&Fragment::file("gen.txt", data.to_vec()))
            .findings;
        prop_assert_eq!(found.len(), 1, "{:?}", found);
        let f = &found[0];
        prop_assert_eq!(&f.rule_id, rule);
        prop_assert_eq!(&f.secret, token.as_bytes());
        prop_assert_eq!((f.line, f.column), line_column(data, offset));
        // And read back from the original bytes, the position holds what was inserted.
        let line_start = data
            .split_inclusive(|&b| b == b'\n')
            .take(f.line - 1)
            .map(<[u8]>::len)
            .sum::<usize>();
        prop_assert!(data[line_start + f.column - 1..].starts_with(inserted.as_bytes()));
    }

    #[test]
    fn redaction_never_shows_the_whole_secret(
        secret in prop_oneof!["[ -~]{1,80}", "[*#a]{1,7}", "[a-z]{0,3}[*]{1,4}"]
    ) {
        let shown = redact(secret.as_bytes());
        prop_assert!(!shown.contains(&secret), "{:?} -> {:?}", secret, shown);
    }

    #[test]
    fn reports_never_show_the_whole_secret(
        (text, _offset, token, _rule, _inserted) in text_with_token()
    ) {
        let found = matcher()
            .find_in(&Fragment::file("gen.txt", text.into_bytes()))
            .findings;
        prop_assert!(!found.is_empty());
        let outcome = outcome_of(found);
        for format in [Format::Human, Format::Json, Format::Sarif, Format::Junit, Format::Github] {
            let options = ReportOptions { format, color: false, show_secrets: false };
            let mut out = Vec::new();
            staunch::report::write(&mut out, &outcome, &options).unwrap();
            let out = String::from_utf8_lossy(&out);
            prop_assert!(!out.contains(&token), "{:?} report shows {}", format, token);
        }
    }
}

/// A small tree of generated files, some holding tokens: (relative path, content).
fn tree() -> impl Strategy<Value = Vec<(String, String)>> {
    let file = (
        prop::sample::select(vec!["", "a/", "a/b/", "c/"]),
        "[a-z]{1,6}",
        filler(),
        proptest::collection::vec(fake_token(), 0..3),
    )
        .prop_map(|(dir, name, text, tokens)| {
            let mut content = text;
            for (_, token) in tokens {
                content.push_str(&format!("\nkey {token}\n"));
            }
            (format!("{dir}{name}.txt"), content)
        });
    proptest::collection::vec(file, 1..16)
}

/// The findings of a JSON report, without what may differ between runs (the timing).
fn report_findings(repo: &TestRepo, args: &[&str]) -> (i32, serde_json::Value) {
    let (code, doc) = repo.json(args);
    (code, doc["findings"].clone())
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn one_thread_and_many_give_the_same_report(files in tree()) {
        let repo = TestRepo::dir();
        for (path, content) in &files {
            repo.write(path, content);
        }
        let (code1, one) = report_findings(&repo, &["-j", "1", "scan", "."]);
        let (code4, many) = report_findings(&repo, &["-j", "4", "scan", "."]);
        prop_assert_eq!(code1, code4);
        prop_assert_eq!(one, many);
    }

    #[test]
    fn a_file_and_the_same_content_staged_give_the_same_findings(
        (text, _offset, _token, _rule, _inserted) in text_with_token()
    ) {
        let repo = TestRepo::git_init();
        repo.write("gen.txt", &text);
        repo.add("gen.txt");
        let (code_file, on_disk) = report_findings(&repo, &["scan", "gen.txt"]);
        let (code_staged, staged) = report_findings(&repo, &["scan", "--staged"]);
        prop_assert_eq!(code_file, 1);
        prop_assert_eq!(code_staged, 1);
        prop_assert_eq!(on_disk, staged);
    }
}
