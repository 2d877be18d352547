//! What a scan produces: findings, what was silenced, the counts and the per-file problems.
//! Everything a reporter sees lives here, so reporters import this and nothing that scans;
//! findings own their data so reporters never reach back into the source.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::rules::{Category, Severity};
use crate::source::archive::SkippedEntry;

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
    /// Set by scans of commits (`--all`, `--range`, the push hooks), which report a secret once
    /// for all the commits that hold it (see `grouping`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<History>,
    /// The secret's line around it, for a person to see where it sits; reports put the secret
    /// (redacted) between the two halves. Not set for a secret found by decoding, which is
    /// not on its line as it is.
    #[serde(skip)]
    pub excerpt: Option<Excerpt>,
}

/// The text of a finding's line before and after its secret, each cut to a few dozen
/// characters (`…` marks a cut), without the line break.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Excerpt {
    pub before: String,
    pub after: String,
}

/// Characters of a line kept on each side of a secret in an excerpt.
const EXCERPT_SIDE: usize = 48;

impl Excerpt {
    /// The excerpt of the secret at `span` in `data`, on the line `line` (both byte ranges).
    pub fn around(
        data: &[u8],
        line: &std::ops::Range<usize>,
        span: &std::ops::Range<usize>,
    ) -> Excerpt {
        let from = line.start.max(span.start.saturating_sub(EXCERPT_SIDE));
        let mut before = String::from_utf8_lossy(&data[from..span.start]).into_owned();
        if from > line.start {
            before.insert(0, '…');
        }
        // A secret over several lines (a key block) shows its first line only.
        let mut after = String::new();
        if span.end <= line.end {
            let to = line.end.min(span.end + EXCERPT_SIDE);
            after = String::from_utf8_lossy(&data[span.end..to])
                .trim_end_matches('\r')
                .to_string();
            if to < line.end {
                after.push('…');
            }
        }
        Excerpt { before, after }
    }
}

/// Whether findings of this category are forbidden patterns (a private address, an internal
/// URL) rather than secrets: nothing to rotate, and shown with their value.
pub fn is_forbidden_pattern(category: Category) -> bool {
    matches!(category, Category::PrivateIp | Category::InternalUrl)
}

/// Where else in a history the secret of a finding is: the finding itself is at the commit
/// that introduced it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct History {
    /// How many commits introduced a version of the file that holds the secret (each blob
    /// version is counted at the commit that introduced it).
    pub occurrences: u64,
    /// The latest of those commits.
    pub last_commit: Option<String>,
    /// `--all` only: the branches whose tip still holds the secret at this path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub present_in: Option<Vec<String>>,
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

/// The fingerprint scheme baselines written now carry (`version` in the baseline file).
pub const FINGERPRINT_SCHEME: u32 = 2;

/// Argon2id cost of a fingerprint: 1 MiB and one pass, about 0.3 ms on one core, some 3000
/// times a SHA-256. A dictionary of ten million passwords then costs close to an hour of CPU per
/// fingerprint instead of a second, and the memory per guess blunts a GPU. Dearer settings were
/// measured: 4 MiB (1.2 ms) made a scan of git/git's tree, with its 38 credential findings,
/// 12 % slower; a scan hashes each distinct finding once, so this is its whole cost.
const SLOW_HASH_KIB: u32 = 1024;
const SLOW_HASH_PASSES: u32 = 1;

/// A stable identity for a finding that survives line moves and does not give the secret away.
///
/// Fingerprints travel where the secret does not: SARIF uploads, audit logs, baselines shown in
/// reviews. A fast hash of a weak password there is reversed by a small dictionary in
/// milliseconds, so the secret of a credential or connection string goes through Argon2id,
/// salted by rule id and path (no table serves two findings). Private addresses and internal
/// URLs are reported in the clear anyway: a plain SHA-256 is enough for them. Both are
/// deterministic, so every clone and CI run computes the same fingerprint for a baseline.
pub fn fingerprint(rule_id: &str, path: &str, category: Category, secret: &[u8]) -> String {
    let salt = Sha256::new()
        .chain_update(b"staunch fingerprint v2\0")
        .chain_update(rule_id.as_bytes())
        .chain_update([0])
        .chain_update(path.as_bytes())
        .finalize();
    salted_fingerprint(&salt, category, secret)
}

/// A fingerprint of the rule and the secret alone, salted by the rule id only: what a baseline
/// keeps beside [`fingerprint`] so that an entry still matches its secret after the file is
/// renamed or copied. (A dictionary then serves every finding of one rule, not of one rule and
/// path: still an hour of CPU per ten million guesses.)
pub fn secret_fingerprint(rule_id: &str, category: Category, secret: &[u8]) -> String {
    let salt = Sha256::new()
        .chain_update(b"staunch fingerprint v2, any path\0")
        .chain_update(rule_id.as_bytes())
        .finalize();
    salted_fingerprint(&salt, category, secret)
}

fn salted_fingerprint(salt: &[u8], category: Category, secret: &[u8]) -> String {
    let digest: [u8; 16] = match category {
        Category::Credential | Category::ConnectionString => slow_hash(secret, &salt[..16]),
        Category::PrivateIp | Category::InternalUrl => {
            let digest = Sha256::new()
                .chain_update(salt)
                .chain_update(secret)
                .finalize();
            digest[..16]
                .try_into()
                .expect("a SHA-256 digest has 32 bytes")
        }
    };
    hex(&digest)
}

fn slow_hash(secret: &[u8], salt: &[u8]) -> [u8; 16] {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(SLOW_HASH_KIB, SLOW_HASH_PASSES, 1, Some(16))
        .expect("the fingerprint's Argon2 parameters are valid");
    let mut out = [0u8; 16];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(secret, salt, &mut out)
        .expect("Argon2 takes any password and a 16-byte salt");
    out
}

/// Scheme 1, read only to migrate old baselines: SHA-256 over rule id, path and secret, which
/// a dictionary reverses quickly for a weak secret.
pub fn legacy_fingerprint(rule_id: &str, path: &str, secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(rule_id.as_bytes())
        .chain_update([0])
        .chain_update(path.as_bytes())
        .chain_update([0])
        .chain_update(secret)
        .finalize();
    hex(&digest[..16])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(32), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A secret as a reader is shown it: whole when `whole` (asked for with `--show-secrets`, or no
/// secret at all, such as a private address), else redacted. Reports and the agent guard both
/// show secrets through here.
pub fn shown(secret: &[u8], whole: bool) -> String {
    if whole {
        String::from_utf8_lossy(secret).into_owned()
    } else {
        redact(secret)
    }
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

/// Counts that say how much was looked at, and what was not.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub files: u64,
    /// Bytes scanned, of files and messages.
    pub bytes: u64,
    /// Commit and tag messages scanned (git scans); not counted in `files`.
    pub messages: u64,
    /// Files not scanned on purpose: binary or over the size limit.
    pub skipped: u64,
    /// Files that could not be read: the scan is incomplete.
    pub errors: u64,
    /// Findings silenced by an allow mechanism (inline marker, config, baseline).
    pub allowed: u64,
    /// The same, by mechanism.
    pub allowed_by: AllowedBy,
    /// Findings over the per-file or per-run cap, counted but not reported.
    pub dropped: Dropped,
    pub duration_ms: u64,
    /// Archives and compressed files opened, nested ones included.
    pub archives: u64,
    /// Entries of those archives scanned as text.
    pub archive_entries: u64,
    /// Archive entries not scanned in full because of a limit (listed in `not_scanned`).
    pub archive_entries_skipped: u64,
    /// Encrypted archive entries: not scanned (listed in `not_scanned`).
    pub archive_entries_encrypted: u64,
    /// Token-shaped values a rule recognised but rejected because their checksum or inner
    /// structure does not verify (made-up tokens): not findings, counted so a report can say
    /// why such a token did not block. History scans (`--all`) count only the blobs they scan
    /// in full.
    pub rejected_checksum: u64,
}

impl Stats {
    /// Adds another scan's counts (not its duration: the runs overlap in time, and the report
    /// gives the wall time of the whole run).
    pub fn merge(&mut self, other: &Stats) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.messages += other.messages;
        self.skipped += other.skipped;
        self.errors += other.errors;
        self.allowed += other.allowed;
        self.allowed_by.add(other.allowed_by);
        self.dropped.add(other.dropped);
        self.archives += other.archives;
        self.archive_entries += other.archive_entries;
        self.archive_entries_skipped += other.archive_entries_skipped;
        self.archive_entries_encrypted += other.archive_entries_encrypted;
        self.rejected_checksum += other.rejected_checksum;
    }
}

/// How many capped files an outcome names; the rest are only counted.
pub(crate) const MAX_CAPPED_PATHS: usize = 20;

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// What an allow mechanism silenced, sorted like the findings.
    pub suppressed: Vec<Suppressed>,
    pub stats: Stats,
    /// Per-file problems: reported, counted, and they make the exit code 2.
    pub errors: Vec<Error>,
    /// Archive entries not scanned, or not in full (a limit, encryption, corruption), sorted
    /// by path: reported on stderr and in the audit log; they do not change the exit code,
    /// like files skipped for their size.
    pub not_scanned: Vec<SkippedEntry>,
    /// Files whose findings went over the per-file cap, with how many were left out (the first
    /// few files only; `stats.dropped` counts them all).
    pub capped: Vec<(String, usize)>,
}

impl Outcome {
    /// Adds another scan's results (the pre-commit framework's named files: staged and not).
    pub fn merge(&mut self, other: Outcome) {
        self.findings.extend(other.findings);
        self.findings.sort();
        self.suppressed.extend(other.suppressed);
        self.suppressed.sort();
        self.stats.merge(&other.stats);
        self.errors.extend(other.errors);
        self.not_scanned.extend(other.not_scanned);
        self.not_scanned.sort_by(|a, b| a.path.cmp(&b.path));
        self.capped.extend(other.capped);
        self.capped.truncate(MAX_CAPPED_PATHS);
    }

    /// Keeps at most `max` findings (and as many suppressed ones), the blocking and most severe
    /// first, counting the rest as dropped: the bound on what a run holds and reports.
    pub fn cap(&mut self, max: usize) {
        let dropped = keep_most_severe(&mut self.findings, max);
        self.stats.dropped.add(dropped);
        self.suppressed.truncate(max);
    }

    /// Notes what a fragment's cap left out.
    pub(crate) fn note_dropped(&mut self, path: &str, dropped: Dropped) {
        if dropped.findings == 0 {
            return;
        }
        self.stats.dropped.add(dropped);
        if self.capped.len() < MAX_CAPPED_PATHS {
            self.capped.push((path.to_string(), dropped.findings));
        }
    }
}

/// Findings a cap left out of the report: counted, and whether any of them would have blocked,
/// so a file padded with harmless matches cannot push a secret out of the verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// How many were left out.
    pub findings: usize,
    /// Whether a finding left out blocks by policy.
    pub blocking: bool,
    /// Part of the count are raw matches counted before duplicates were merged and allow
    /// entries applied: an upper estimate.
    pub estimated: bool,
}

impl Dropped {
    pub fn add(&mut self, other: Dropped) {
        self.findings += other.findings;
        self.blocking |= other.blocking;
        self.estimated |= other.estimated;
    }
}

/// Cuts `findings` (sorted by position) down to `cap`, keeping the blocking and most severe
/// ones, so padding a file with harmless matches cannot push a secret out of the report;
/// what is left stays in position order.
pub(crate) fn keep_most_severe(findings: &mut Vec<Finding>, cap: usize) -> Dropped {
    if findings.len() <= cap {
        return Dropped::default();
    }
    findings.sort_by(|a, b| {
        (b.blocks, b.severity)
            .cmp(&(a.blocks, a.severity))
            .then_with(|| a.cmp(b))
    });
    let left_out = findings.split_off(cap);
    findings.sort();
    Dropped {
        findings: left_out.len(),
        blocking: left_out.iter().any(|f| f.blocks),
        estimated: false,
    }
}

/// Findings silenced, by mechanism, so nothing is hidden without a count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AllowedBy {
    /// `staunch:allow` and the markers teams migrate from.
    pub inline: usize,
    /// `[[allow]]` entries and gitleaks allowlists.
    pub config: usize,
    /// A baseline or `.gitleaksignore` (both, as this count always has).
    pub baseline: usize,
    /// Of `baseline`, those a `.gitleaksignore` entry silenced.
    pub gitleaksignore: usize,
}

impl AllowedBy {
    pub fn add(&mut self, other: AllowedBy) {
        self.inline += other.inline;
        self.config += other.config;
        self.baseline += other.baseline;
        self.gitleaksignore += other.gitleaksignore;
    }

    pub(crate) fn count(&mut self, mechanism: Mechanism) {
        match mechanism {
            Mechanism::Inline => self.inline += 1,
            Mechanism::Config => self.config += 1,
            Mechanism::Baseline => self.baseline += 1,
            Mechanism::IgnoreFile => {
                self.baseline += 1;
                self.gitleaksignore += 1;
            }
        }
    }
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
    fn shown_is_whole_only_when_asked() {
        assert_eq!(shown(b"AKIAABCDEFGHIJKLMNOP", false), "AKIA****");
        assert_eq!(shown(b"10.0.0.1", true), "10.0.0.1");
    }

    #[test]
    fn fingerprint_is_stable_and_hides_the_secret() {
        let a = fingerprint("r", "p", Category::Credential, b"s3cret");
        assert_eq!(a, fingerprint("r", "p", Category::Credential, b"s3cret"));
        assert_ne!(a, fingerprint("r", "q", Category::Credential, b"s3cret"));
        assert_ne!(a, fingerprint("s", "p", Category::Credential, b"s3cret"));
        assert!(!a.contains("s3cret"));
        assert_eq!(a.len(), 32);
        let ip = fingerprint("r", "p", Category::PrivateIp, b"10.0.0.1");
        assert_eq!(ip.len(), 32);
        assert_ne!(ip, fingerprint("r", "p", Category::Credential, b"10.0.0.1"));
    }

    #[test]
    fn a_credential_fingerprint_is_not_a_fast_hash_of_the_secret() {
        // What a dictionary attack on scheme 1 computed per guess; scheme 2 must not match it.
        let secret = b"hunter22";
        let fast = legacy_fingerprint("generic-password", "app.env", secret);
        let slow = fingerprint("generic-password", "app.env", Category::Credential, secret);
        assert_ne!(fast, slow);
        // Known values pin both schemes: a change here breaks every baseline.
        assert_eq!(fast, "78f406a0a2124eb344300a2c776c3cbf");
        assert_eq!(slow, "85dee07abee7b1a8e19c515f216ee65a");
    }
}
