//! What a scan produces. Findings own their data so reporters never reach back into the source.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rules::{Category, Severity};

/// One secret found at one place. Field order is the sort order: path, then position.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub rule_id: String,
    pub commit: Option<String>,
    pub description: String,
    pub category: Category,
    pub severity: Severity,
    /// The secret in full. Reporters redact it unless asked not to; never log it.
    #[serde(skip)]
    pub secret: Vec<u8>,
    pub fingerprint: String,
    /// Whether policy makes this finding block (its severity is in `[policy] block`).
    pub blocks: bool,
    /// The decodings applied to reach the secret, outermost first (`["base64"]`).
    pub decoded: Vec<String>,
    /// The inline marker (`staunch:allow`, `gitleaks:allow`...) on this finding's line that was
    /// not honoured because the change being scanned added it: a range scan reports such
    /// findings, marked, so a reviewer sees that the change tried to allow its own secret.
    pub allowed_by_change: Option<String>,
}

/// The allow mechanisms, as reports name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mechanism {
    /// A marker on the finding's line.
    Inline,
    /// An `[[allow]]` entry, a gitleaks allowlist or a rule pack's allowlist.
    Config,
    /// A baseline file's fingerprint.
    Baseline,
    /// A `.gitleaksignore` entry.
    IgnoreFile,
}

/// A finding an allow mechanism silenced: it does not block and is not a finding, but reports
/// that can show suppressed results (SARIF) show it, with what silenced it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Suppressed {
    pub finding: Finding,
    pub mechanism: Mechanism,
    /// What allowed it, for a person: `[[allow]] "fixtures" in .staunch.toml`,
    /// `baseline 1a2b...:.staunch-baseline.json` (a range scan names the base commit).
    pub justification: String,
}

/// A stable identity for a finding that survives line moves and never reveals the secret:
/// SHA-256 over rule id, path and secret.
pub fn fingerprint(rule_id: &str, path: &str, secret: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(secret);
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The secret cut down to a prefix that lets a person recognise it without being able to use
/// it: the first 4 characters of long secrets, fewer of short ones.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let chars = text.chars().count();
    // Up to 5 characters show no prefix, and a secret with a star gets another mask: then the
    // output can never hold the whole secret ("a***" would otherwise show as "a****").
    let keep = match chars {
        16.. => 4,
        6.. => chars / 4,
        _ => 0,
    };
    let mask = if keep == 0 && text.contains('*') {
        "####"
    } else {
        "****"
    };
    let prefix: String = text.chars().take(keep).collect();
    format!("{prefix}{mask}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_never_shows_the_whole_secret() {
        assert_eq!(redact(b"AKIAABCDEFGHIJKLMNOP"), "AKIA****");
        assert_eq!(redact(b"hunter22"), "hu****");
        assert_eq!(redact(b"abc"), "****");
    }

    #[test]
    fn fingerprint_is_stable_and_hides_the_secret() {
        let a = fingerprint("r", "p", b"s3cret");
        assert_eq!(a, fingerprint("r", "p", b"s3cret"));
        assert_ne!(a, fingerprint("r", "q", b"s3cret"));
        assert!(!a.contains("s3cret"));
    }
}
