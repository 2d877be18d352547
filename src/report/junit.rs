//! The JUnit XML report, for CI systems that show test results but not SARIF: each finding is a
//! failed test case named after its rule and line, grouped by file (the `classname`), so the CI
//! page lists what to fix. A clean run is one passing test case, so the run still shows up.

use std::fmt::Write as _;
use std::io::Write;

use super::{shown_secret, ReportOptions};
use crate::finding::Outcome;

pub fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    options: &ReportOptions,
) -> std::io::Result<()> {
    let failures = outcome.findings.iter().filter(|f| f.blocks).count();
    let skipped = outcome.findings.len() - failures;
    let errors = outcome.errors.len();
    let tests = (outcome.findings.len() + errors).max(1);
    let time = format!("{:.3}", outcome.stats.duration_ms as f64 / 1000.0);
    let mut xml = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(xml, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        xml,
        r#"<testsuites name="staunch" tests="{tests}" failures="{failures}" errors="{errors}" time="{time}">"#
    );
    let _ = writeln!(
        xml,
        r#"  <testsuite name="staunch" tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}" time="{time}">"#
    );
    for f in &outcome.findings {
        // As the SARIF and GitHub reports show it: relative to the checkout.
        let path = f.path.strip_prefix("./").unwrap_or(&f.path);
        let secret = shown_secret(f, options);
        let message = format!("{}: {} (secret {secret})", f.rule_id, f.description);
        let mut details = format!(
            "{}:{}:{}\nrule: {}\ncategory: {}\nseverity: {}\nsecret: {secret}\nfingerprint: {}",
            path, f.line, f.column, f.rule_id, f.category, f.severity, f.fingerprint
        );
        if let Some(commit) = &f.commit {
            let _ = write!(details, "\ncommit: {commit}");
        }
        if !f.decoded.is_empty() {
            let _ = write!(details, "\ndecoded from: {}", f.decoded.join(" > "));
        }
        if let Some(marker) = &f.allowed_by_change {
            let _ = write!(
                details,
                "\nallowed by the change itself: `{marker}`, not honoured"
            );
        }
        let _ = writeln!(
            xml,
            r#"    <testcase classname="{}" name="{}" file="{}" line="{}">"#,
            escape(path),
            escape(&format!("{} at line {}", f.rule_id, f.line)),
            escape(path),
            f.line,
        );
        // A finding the configuration does not block fails nothing: a skipped case with the
        // same details, which CI pages show apart from passes.
        let element = if f.blocks { "failure" } else { "skipped" };
        let _ = writeln!(
            xml,
            r#"      <{element} message="{}" type="{}">{}</{element}>"#,
            escape(&message),
            escape(&f.rule_id),
            escape(&details),
        );
        let _ = writeln!(xml, "    </testcase>");
    }
    for (number, err) in outcome.errors.iter().enumerate() {
        let text = format!("not scanned: {err}");
        let _ = writeln!(
            xml,
            r#"    <testcase classname="staunch" name="scan error {}">"#,
            number + 1
        );
        let _ = writeln!(
            xml,
            r#"      <error message="{}" type="scan-error">{}</error>"#,
            escape(&text),
            escape(&text)
        );
        let _ = writeln!(xml, "    </testcase>");
    }
    if outcome.findings.is_empty() && errors == 0 {
        let _ = writeln!(
            xml,
            r#"    <testcase classname="staunch" name="no secrets found in {} file(s)"/>"#,
            outcome.stats.files
        );
    }
    let _ = writeln!(xml, "  </testsuite>");
    let _ = writeln!(xml, "</testsuites>");
    out.write_all(xml.as_bytes())
}

/// Escapes text for an XML attribute or element. Characters XML 1.0 cannot carry at all, even
/// escaped (most control characters), become U+FFFD: a path may hold anything.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept as references so attribute values keep their line breaks.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("x\u{1}y\nz"), "x\u{FFFD}y&#10;z");
    }
}
