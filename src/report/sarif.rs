//! The SARIF 2.1.0 report, shaped for GitHub code scanning: one run, the rules that have
//! findings, one result per finding with a stable partial fingerprint so an alert survives
//! line moves and is closed when the secret goes away.
//!
//! Written with `serde_json::json!` rather than a SARIF crate: the handful of fields GitHub
//! reads is easier to check against its documentation here than through a generated model.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{json, Value};

use super::{shown_secret, write_streamed, ReportOptions, STREAMED_ARRAY};
use crate::finding::{Finding, Mechanism, Outcome};
use crate::rules::Severity;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where the project lives (`repository` in Cargo.toml); SARIF viewers link the tool name to
/// it. While Cargo.toml names none the field is left out: it is optional in SARIF.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

pub fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    options: &ReportOptions,
) -> std::io::Result<()> {
    // Rules in order of first appearance; findings are sorted, so the order is stable.
    let mut rule_index: HashMap<&str, usize> = HashMap::new();
    let mut rules: Vec<Value> = Vec::new();
    let every = outcome
        .findings
        .iter()
        .chain(outcome.suppressed.iter().map(|s| &s.finding));
    for f in every {
        rule_index.entry(&f.rule_id).or_insert_with(|| {
            rules.push(rule(f));
            rules.len() - 1
        });
    }
    let open = outcome
        .findings
        .iter()
        .map(|f| result(f, rule_index[f.rule_id.as_str()], options));
    // Silenced findings are results too, marked suppressed, so code scanning shows them (as
    // closed) with what allowed them instead of never learning they exist.
    let silenced = outcome.suppressed.iter().map(|suppressed| {
        let f = &suppressed.finding;
        let mut result = result(f, rule_index[f.rule_id.as_str()], options);
        let kind = match suppressed.mechanism {
            Mechanism::Inline => "inSource",
            Mechanism::Config | Mechanism::Baseline | Mechanism::IgnoreFile => "external",
        };
        result["suppressions"] = json!([{
            "kind": kind,
            "status": "accepted",
            "justification": format!("allowed by {}", suppressed.justification),
        }]);
        result
    });
    let mut driver = json!({
        "name": "staunch",
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if !INFORMATION_URI.is_empty() {
        driver["informationUri"] = json!(INFORMATION_URI);
    }
    let mut run = json!({
        "tool": {"driver": driver},
        "results": STREAMED_ARRAY,
    });
    if !outcome.errors.is_empty() {
        // Files that could not be scanned make the run incomplete; say so where viewers look.
        let notifications: Vec<Value> = outcome
            .errors
            .iter()
            .map(|e| json!({"level": "error", "message": {"text": format!("not scanned: {e}")}}))
            .collect();
        run["invocations"] = json!([{
            "executionSuccessful": false,
            "toolExecutionNotifications": notifications,
        }]);
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    });
    write_streamed(out, &doc, open.chain(silenced))?;
    writeln!(out)
}

/// A run that ended in an error before it could scan: no results, the invocation marked
/// unsuccessful, and the error as its tool execution notification.
pub fn write_failure(out: &mut dyn Write, message: &str) -> std::io::Result<()> {
    let mut driver = json!({
        "name": "staunch",
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": [],
    });
    if !INFORMATION_URI.is_empty() {
        driver["informationUri"] = json!(INFORMATION_URI);
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "results": [],
            "invocations": [{
                "executionSuccessful": false,
                "exitCode": 2,
                "toolExecutionNotifications": [{
                    "level": "error",
                    "message": {"text": format!("error: {message}")},
                }],
            }],
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The rule's metadata, from the first finding of that rule (every finding of a rule carries
/// the same description, category and severity).
fn rule(f: &Finding) -> Value {
    let mut rule = json!({
        "id": f.rule_id,
        "shortDescription": {"text": f.description},
        "fullDescription": {
            "text": format!("{} ({}, severity {})", f.description, f.category, f.severity),
        },
        "help": {
            "text": "Remove the secret from the code and rotate it if it is real: it has been \
                     exposed. Read it at run time from an environment variable or a secret \
                     manager instead. Mark a false alarm with a `staunch:allow` comment on its line.",
        },
        "defaultConfiguration": {"level": level(f.severity)},
        "properties": {
            // GitHub shows `security-severity` only for rules tagged `security`.
            "tags": ["security", f.category.as_str()],
            "security-severity": security_severity(f.severity),
        },
    });
    // SARIF wants a name that says more than the id; one that is the id says nothing, and
    // validators warn about it. Left out then: the field is optional.
    let name = pascal_case(&f.rule_id);
    if !name.eq_ignore_ascii_case(&f.rule_id) {
        rule["name"] = json!(name);
    }
    rule
}

fn result(f: &Finding, rule_index: usize, options: &ReportOptions) -> Value {
    let mut text = format!("{} (secret {})", f.description, shown_secret(f, options));
    if !f.decoded.is_empty() {
        text.push_str(&format!(", decoded from {}", f.decoded.join(" > ")));
    }
    if let Some(marker) = &f.allowed_by_change {
        // Not a suppression: the marker is the change's own, so the result stays open.
        text.push_str(&format!(
            "; allowed by the change itself (`{marker}` on a line the scanned range adds), \
             not honoured"
        ));
    }
    let mut result = json!({
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact_location(&f.path),
                // Columns count bytes; viewers count characters, which agree on the ASCII
                // lines secrets sit on nearly always.
                "region": {
                    "startLine": f.line,
                    "startColumn": f.column,
                    "endLine": f.end_line,
                },
            },
        }],
        "partialFingerprints": {"staunch/v2": f.fingerprint},
    });
    if let Some(commit) = &f.commit {
        result["properties"]["commit"] = json!(commit);
    }
    if !f.blocks {
        // Reported, but the configuration's severity policy lets it through.
        result["properties"]["blocks"] = json!(false);
    }
    if let Some(marker) = &f.allowed_by_change {
        result["properties"]["allowedByChange"] = json!(marker);
    }
    result
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's scale: 7.0-8.9 is high, 4.0-6.9 medium, 0.1-3.9 low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

/// A relative path against the checkout root (`%SRCROOT%`), which GitHub resolves; an absolute
/// path (a scan given one) as a `file:` URI. A `\` is a separator only on Windows; elsewhere
/// it is part of the name and stays one (as `%5C`).
fn artifact_location(path: &str) -> Value {
    let path = if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path.to_string()
    };
    if path.starts_with('/') {
        return json!({"uri": format!("file://{}", encode_uri_path(&path))});
    }
    let mut relative = path.as_str();
    while let Some(rest) = relative.strip_prefix("./") {
        relative = rest;
    }
    json!({"uri": encode_uri_path(relative), "uriBaseId": "%SRCROOT%"})
}

/// Percent-encodes everything but unreserved characters and `/`, so names with spaces, `#`,
/// `%` or a colon in the first segment (which would read as a scheme) stay one valid
/// URI reference.
fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// SARIF wants a rule `name` that reads as an identifier: `aws-access-key-id` → `AwsAccessKeyId`.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_lose_dot_slash_and_get_encoded() {
        assert_eq!(
            artifact_location("./src/a b.py"),
            json!({"uri": "src/a%20b.py", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location("c:weird\\name#1"),
            json!({"uri": if cfg!(windows) { "c%3Aweird/name%231" } else { "c%3Aweird%5Cname%231" }, "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location("/abs/x.py"),
            json!({"uri": "file:///abs/x.py"})
        );
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("aws-access-key-id"), "AwsAccessKeyId");
        assert_eq!(pascal_case("private-ipv4"), "PrivateIpv4");
    }
}
