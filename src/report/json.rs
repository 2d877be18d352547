//! The JSON report: a contract for scripts. Fields may be added, never removed or renamed.

use std::io::Write;

use serde_json::json;

use super::{shown_secret, write_streamed, ReportOptions, STREAMED_ARRAY};
use crate::finding::Outcome;

pub fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    options: &ReportOptions,
) -> std::io::Result<()> {
    let findings = outcome.findings.iter().map(|f| {
        let mut finding = json!({
            "rule_id": f.rule_id,
            "description": f.description,
            "category": f.category,
            "severity": f.severity,
            "path": f.path,
            "line": f.line,
            "end_line": f.end_line,
            "column": f.column,
            "commit": f.commit,
            "secret": shown_secret(f, options),
            "fingerprint": f.fingerprint,
            "blocks": f.blocks,
            "decoded": f.decoded,
        });
        // Only range scans set it; other reports stay as they were.
        if let Some(marker) = &f.allowed_by_change {
            finding["allowed_by_change"] = json!(marker);
        }
        // Only scans of commits set it: one finding stands for every commit holding the secret.
        if let Some(history) = &f.history {
            finding["occurrences"] = json!(history.occurrences);
            finding["last_commit"] = json!(history.last_commit);
            if let Some(present_in) = &history.present_in {
                finding["present_in"] = json!(present_in);
            }
        }
        finding
    });
    let errors: Vec<String> = outcome.errors.iter().map(|e| e.to_string()).collect();
    let doc = json!({
        "version": 1,
        "findings": STREAMED_ARRAY,
        "stats": outcome.stats,
        "errors": errors,
        "not_scanned": outcome.not_scanned,
    });
    write_streamed(out, &doc, findings)?;
    writeln!(out)
}
