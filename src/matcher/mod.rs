//! The one-pass matcher. A single Aho-Corasick automaton over every rule's keywords finds the
//! places worth looking at; each candidate rule's regex then runs on just that line (or window);
//! filters run last on the few matches left. Base64 runs are decoded and scanned again.

mod allow;
mod allow_entry;
mod changed;
mod confirm;
pub(crate) mod decode;
pub mod joins;
pub mod keywords;
mod lines;
mod raw;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use crate::finding::{keep_most_severe, AllowedBy, Dropped, Finding, Mechanism, Suppressed};
use crate::rules::Rule;
use crate::source::Fragment;
pub use allow_entry::{Allow, RegexTarget};
use keywords::KeywordSearch;
use lines::LineIndex;
use raw::{count_bad_checksums, RawMatches};

/// Knobs that change what a scan reports.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// How many base64 layers are peeled (0 turns decoding off).
    pub decode_depth: usize,
    /// The shortest base64 run worth decoding.
    pub min_base64_length: usize,
    /// The longest base64 run decoded; longer runs are data, not a hidden credential.
    pub max_base64_length: usize,
    /// Host suffixes the internal-URL rule treats as internal.
    pub internal_domains: Vec<String>,
    /// Inline markers that silence a finding on their line.
    pub allow_markers: Vec<String>,
    /// Whether those markers silence findings. A range scan sees only lines the range adds, so
    /// a marker there is one the change wrote about itself: the finding is reported, marked
    /// [`Finding::allowed_by_change`], unless the base commit's policy trusts such markers.
    pub trust_inline_markers: bool,
    /// Configured allow entries.
    pub allow: Vec<Allow>,
    /// Fingerprints of known findings (a baseline): reported as allowed, not as findings.
    pub baseline: std::collections::HashSet<String>,
    /// Fingerprints of rule and secret alone of the same baseline: they match a known secret
    /// that moved to another path (see `finding::secret_fingerprint`).
    pub baseline_anywhere: std::collections::HashSet<String>,
    /// Scheme-1 fingerprints of a baseline not migrated yet (see `finding::legacy_fingerprint`).
    pub legacy_baseline: std::collections::HashSet<String>,
    /// Where the baseline was read from, for reports (`<commit>:.staunch-baseline.json` in a
    /// range scan); set together with the baseline, by whoever read it.
    pub baseline_source: String,
    /// Locations a `.gitleaksignore` file silences: (commit, path, line).
    pub ignored_locations: std::collections::HashSet<(Option<String>, String, usize)>,
    /// Where the `.gitleaksignore` was read from, for reports; set with `ignored_locations`.
    pub ignore_source: String,
    /// Severities whose findings block; the others are warnings.
    pub block: Vec<crate::rules::Severity>,
    /// The most findings one fragment reports. A file crafted to match millions of times (or a
    /// rule pack whose regex matches everything) would otherwise grow memory with its matches;
    /// over the cap, blocking findings are kept first and the rest are counted as dropped.
    pub max_findings_per_file: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            decode_depth: 3,
            min_base64_length: 20,
            max_base64_length: 256 * 1024,
            internal_domains: Vec::new(),
            allow_markers: vec![
                "staunch:allow".into(),
                "gitleaks:allow".into(),
                "pragma: allowlist secret".into(),
            ],
            trust_inline_markers: true,
            allow: Vec::new(),
            baseline: Default::default(),
            baseline_anywhere: Default::default(),
            legacy_baseline: Default::default(),
            baseline_source: String::new(),
            ignored_locations: Default::default(),
            ignore_source: String::new(),
            max_findings_per_file: DEFAULT_MAX_FINDINGS_PER_FILE,
            block: vec![
                crate::rules::Severity::High,
                crate::rules::Severity::Medium,
                crate::rules::Severity::Low,
            ],
        }
    }
}

/// The default of [`ScanOptions::max_findings_per_file`].
pub const DEFAULT_MAX_FINDINGS_PER_FILE: usize = 1000;

/// How many raw matches (before duplicates and shadowed generic matches are dropped) a fragment
/// may collect per reported finding it may keep: the bound on memory while matching.
const RAW_MATCHES_PER_FINDING: usize = 8;

/// Long lines (minified files, one-line JSON) are searched in windows around each keyword, so
/// a hundred hits on a 100 MB line cost a hundred small searches, not a hundred huge ones.
const LINE_WINDOW: usize = 4096;

/// What [`Matcher::judge`] says of a text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Whether a rule may report something in it, under some path.
    pub may_report: bool,
    /// Whether it holds a keyword of a rule that reads up to
    /// [`MULTILINE_WINDOW`](crate::rules::MULTILINE_WINDOW) past it: a blob built from this
    /// one by a delta is then searched for such keywords around its changes.
    pub reads_far: bool,
}

/// What scanning one fragment gave.
#[derive(Debug, Default)]
pub struct FragmentResult {
    pub findings: Vec<Finding>,
    /// Findings silenced by any allow mechanism (the sum of `allowed_by`).
    pub allowed: usize,
    pub allowed_by: AllowedBy,
    /// The silenced findings themselves, for reports that show them as suppressed.
    pub suppressed: Vec<Suppressed>,
    /// Findings over [`ScanOptions::max_findings_per_file`], not reported.
    pub dropped: Dropped,
    /// Token-shaped values a rule recognised but rejected because their checksum or inner
    /// structure did not verify (one per place, whichever rules looked at it).
    pub rejected_checksum: usize,
}

pub struct Matcher {
    rules: Vec<Rule>,
    keywords: KeywordSearch,
    /// For each keyword pattern, the rules it wakes up.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules that said `no_keywords = true`.
    always: Vec<usize>,
    markers: Option<AhoCorasick>,
    /// How far past a change a blob judged by its changes must be read.
    reach: changed::Reach,
    options: ScanOptions,
    /// Fingerprints computed so far, by rule id, path and secret (see [`Matcher::fingerprint`]).
    fingerprints: std::sync::Mutex<std::collections::HashMap<Vec<u8>, String>>,
    /// Where warnings go as they arise (see [`Matcher::on_warning`]).
    warning_sink: Option<WarningSink>,
    /// Warnings kept for [`Matcher::take_warnings`] when there is no sink.
    warnings: std::sync::Mutex<Vec<String>>,
}

/// A caller's handler for the matcher's warnings.
type WarningSink = Box<dyn Fn(&str) + Send + Sync>;

impl Matcher {
    pub fn new(rules: Vec<Rule>, mut options: ScanOptions) -> Matcher {
        let mut all_keywords: Vec<String> = Vec::new();
        let mut always = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                always.push(index);
            }
            all_keywords.extend(rule.keywords.iter().cloned());
        }
        let keywords = KeywordSearch::new(&all_keywords);
        let mut keyword_rules: Vec<Vec<usize>> = vec![Vec::new(); keywords.keywords().len()];
        for (index, rule) in rules.iter().enumerate() {
            for keyword in &rule.keywords {
                let lowered = keyword.to_ascii_lowercase().into_bytes();
                if let Ok(at) = keywords.keywords().binary_search(&lowered) {
                    keyword_rules[at].push(index);
                }
            }
        }
        for rules in &mut keyword_rules {
            rules.sort_unstable();
            rules.dedup();
        }
        options.internal_domains = options
            .internal_domains
            .iter()
            .map(|d| d.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        let markers = (!options.allow_markers.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&options.allow_markers)
                .expect("markers are plain literals")
        });
        Matcher {
            reach: changed::Reach::of(&rules),
            rules,
            keywords,
            keyword_rules,
            always,
            markers,
            options,
            fingerprints: Default::default(),
            warning_sink: None,
            warnings: Default::default(),
        }
    }

    /// Hands each warning to `sink` as it arises (a user's regex over the size limits, found
    /// when it is first compiled, mid-scan). The matcher never prints: a caller that shows
    /// warnings on stderr passes a sink that does, so they appear where they always did.
    pub fn on_warning(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Matcher {
        self.warning_sink = Some(Box::new(sink));
        self
    }

    /// The warnings so far that no sink took, each once.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.lock().unwrap())
    }

    fn warn(&self, warning: String) {
        match &self.warning_sink {
            Some(sink) => sink(&warning),
            None => self.warnings.lock().unwrap().push(warning),
        }
    }

    /// Whether `data` holds anything a rule reports under some path, before path filters and
    /// allow lists. A history scan reads every blob once without knowing where it lived; only
    /// the blobs this says yes to are traced to a commit and path and scanned in full.
    pub fn might_report(&self, data: &[u8]) -> bool {
        self.judge(data).may_report
    }

    /// [`Matcher::might_report`], and whether a rule that reads far past its keyword woke up
    /// (see [`Judgement::reads_far`]).
    pub fn judge(&self, data: &[u8]) -> Judgement {
        let mut matches = RawMatches::new(self.raw_match_cap());
        let reads_far = self.match_level(data, 0, &mut matches);
        Judgement {
            may_report: matches.overflowed > 0
                || (!matches.list.is_empty() && !self.drop_shadowed(matches.list).is_empty()),
            reads_far,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// Scans one fragment and returns its findings, sorted.
    pub fn find_in(&self, fragment: &Fragment) -> FragmentResult {
        let mut raw = RawMatches::new(self.raw_match_cap());
        self.match_level(&fragment.data, 0, &mut raw);
        let (mut matches, overflowed, overflow_blocks) =
            (raw.list, raw.overflowed, raw.overflow_blocks);
        matches.retain(|m| {
            self.rules[m.rule]
                .path
                .as_ref()
                .is_none_or(|re| re.is_match(fragment.path.as_bytes()))
        });
        if crate::rules::checks::is_code_path(&fragment.path) {
            matches.retain(|m| !self.bare_value_in_code(m, &fragment.data));
        }
        if matches.is_empty() {
            return FragmentResult::default();
        }
        let rejected_checksum = count_bad_checksums(&matches);
        let matches = self.drop_shadowed(matches);
        // Built for the first match that survives: most fragments with raw matches keep none
        // (each was vetoed by a filter), and indexing a file's lines costs a pass over it.
        let mut line_index = None;
        let mut result = FragmentResult {
            rejected_checksum,
            ..FragmentResult::default()
        };
        for m in matches {
            let rule = &self.rules[m.rule];
            let lines = line_index.get_or_insert_with(|| LineIndex::new(&fragment.data));
            let line_range = lines.line_bounds(m.span.start);
            // On a long line only the window around the match is its line, as in the search:
            // reading the whole line for each match is quadratic on a minified file.
            let near = line_range
                .start
                .max(m.span.start.saturating_sub(LINE_WINDOW))
                ..line_range.end.min(m.span.end.saturating_add(LINE_WINDOW));
            let line_text = &fragment.data[near];
            let first = lines.line_of(m.span.start);
            let last = lines.line_of(m.span.end.saturating_sub(1).max(m.span.start));
            let column = m.span.start - line_range.start + 1;
            let (line, end_line) = (fragment.file_line(first), fragment.file_line(last));
            let excerpt = m
                .decoded
                .is_empty()
                .then(|| crate::finding::Excerpt::around(&fragment.data, &line_range, &m.span));
            let mut finding = Finding {
                path: fragment.path.clone(),
                line,
                column,
                end_line: end_line.max(line),
                rule_id: rule.id.clone(),
                commit: fragment.commit.clone(),
                description: rule.description.clone(),
                category: rule.category,
                severity: rule.severity,
                // Filled in once the cap has chosen what is kept: the hash is slow on purpose.
                fingerprint: String::new(),
                blocks: self.options.block.contains(&rule.severity),
                secret: m.secret,
                decoded: m.decoded.iter().map(|s| s.to_string()).collect(),
                allowed_by_change: None,
                history: None,
                excerpt,
            };
            let marker = self.allow_marker(line_text);
            let allowed = match marker {
                Some(marker) if self.options.trust_inline_markers => Some((
                    Mechanism::Inline,
                    format!("inline marker `{marker}` on the line"),
                )),
                _ => self.trusted_allow(&finding, fragment, line_text),
            };
            match allowed {
                Some((mechanism, justification)) => {
                    result.allowed_by.count(mechanism);
                    result.suppressed.push(Suppressed {
                        finding,
                        mechanism,
                        justification,
                    });
                }
                None => {
                    finding.allowed_by_change = marker.map(str::to_string);
                    result.findings.push(finding);
                }
            }
        }
        result.allowed =
            result.allowed_by.inline + result.allowed_by.config + result.allowed_by.baseline;
        result.findings.sort();
        result
            .findings
            .dedup_by(|a, b| a.line == b.line && a.rule_id == b.rule_id && a.secret == b.secret);
        result.suppressed.sort();
        result.suppressed.dedup_by(|a, b| {
            let (a, b) = (&a.finding, &b.finding);
            a.line == b.line && a.rule_id == b.rule_id && a.secret == b.secret
        });
        let cap = self.options.max_findings_per_file;
        result.dropped = keep_most_severe(&mut result.findings, cap);
        if overflowed > 0 {
            // Matches past the raw cap were counted, not kept: before duplicates and allow
            // entries were applied, so the count is an upper estimate and the verdict errs
            // towards blocking.
            result.dropped.findings += overflowed;
            result.dropped.blocking |= overflow_blocks;
            result.dropped.estimated = true;
        }
        result.suppressed.truncate(cap);
        let kept = result.findings.iter_mut();
        for f in kept.chain(result.suppressed.iter_mut().map(|s| &mut s.finding)) {
            if f.fingerprint.is_empty() {
                f.fingerprint = self.fingerprint(&f.rule_id, f.category, &f.path, &f.secret);
            }
        }
        result
    }

    /// How many raw matches one fragment may collect before matching stops.
    fn raw_match_cap(&self) -> usize {
        self.options
            .max_findings_per_file
            .saturating_mul(RAW_MATCHES_PER_FINDING)
            .max(1)
    }

    /// Finds every rule match in `data`, then looks inside base64 runs. Says whether a rule
    /// that reads past its keyword's neighbourhood (a multi-line rule not named) woke up.
    fn match_level(&self, data: &[u8], depth: usize, out: &mut RawMatches) -> bool {
        let regions = self.candidate_regions(data);
        self.compile_woken(data, &regions);
        // Named rules span lines only to reach a value below its key; the few rules written to
        // span lines (key blocks) are what a join can complete.
        let multiline_woken = regions.iter().any(|&(rule, _)| {
            let rule = &self.rules[rule];
            rule.multiline && rule.named.is_none()
        });
        for (rule, region) in regions {
            self.confirm(rule, data, region, out);
        }
        for &rule in &self.always {
            self.confirm(rule, data, 0..data.len(), out);
        }
        if depth < self.options.decode_depth {
            self.match_base64(data, depth, out);
            // A multi-line secret that code wrote as concatenated literals is only whole once
            // they are joined; looked for only where a multi-line rule's keyword appears.
            if multiline_woken {
                self.match_joined(data, depth, out);
            }
        }
        multiline_woken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// A classic GitHub token body with its real base62 CRC-32, or with that checksum spoiled.
    fn github_token(valid: bool) -> String {
        const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let random = "Vb4Nq7Xz2Lm9Kd3Rt6Wy8Hs1Fg5Jc0";
        let mut n = crc32fast::hash(random.as_bytes());
        let mut sum = [b'0'; 6];
        for slot in sum.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        if !valid {
            sum[5] = if sum[5] == b'a' { b'b' } else { b'a' };
        }
        format!("ghp_{random}{}", String::from_utf8(sum.to_vec()).unwrap())
    }

    #[test]
    fn a_token_failing_its_checksum_is_counted_not_reported() {
        let m = Matcher::new(crate::rules::load().unwrap(), ScanOptions::default());
        let scan = |text: String| m.find_in(&Fragment::file("app.py", text.into_bytes()));
        let bad = scan(format!("token = \"{}\"\n", github_token(false)));
        assert!(bad.findings.is_empty(), "{:?}", bad.findings);
        assert_eq!(bad.rejected_checksum, 1);
        let good = scan(format!("token = \"{}\"\n", github_token(true)));
        assert_eq!(good.rejected_checksum, 0);
        assert!(good
            .findings
            .iter()
            .any(|f| f.rule_id == "github-classic-token"));
        // A value no rule's checksum looked at is not counted.
        assert_eq!(scan("password = \"x\"\n".into()).rejected_checksum, 0);
    }

    use crate::rules::parse_pack;

    fn matcher(pack: &str) -> Matcher {
        Matcher::new(parse_pack("t.toml", pack).unwrap(), ScanOptions::default())
    }

    const PACK: &str = r#"
[[rule]]
id = "demo-token"
description = "demo"
category = "credential"
severity = "high"
keywords = ["dmo_"]
regex = '''\b(dmo_[A-Za-z0-9]{20})\b'''
"#;

    fn scan(m: &Matcher, text: &str) -> Vec<Finding> {
        m.find_in(&Fragment::file("f.txt", text.as_bytes().to_vec()))
            .findings
    }

    #[test]
    fn finds_line_and_column() {
        let m = matcher(PACK);
        let found = scan(&m, "a\nb\n  key = dmo_Ab3De5Gh7Jk9Mn1Pq3St\n");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].line, found[0].column), (3, 9));
    }

    #[test]
    fn finds_inside_base64_and_reports_the_encoded_line() {
        let m = matcher(PACK);
        let encoded =
            base64::engine::general_purpose::STANDARD.encode("token: dmo_Ab3De5Gh7Jk9Mn1Pq3St");
        let found = scan(&m, &format!("x\nblob = \"{encoded}\"\n"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
        assert_eq!(found[0].decoded, vec!["base64".to_string()]);
    }

    #[test]
    fn allow_marker_silences() {
        let m = matcher(PACK);
        let r = m.find_in(&Fragment::file(
            "f",
            b"k = dmo_Ab3De5Gh7Jk9Mn1Pq3St # staunch:allow".to_vec(),
        ));
        assert!(r.findings.is_empty());
        assert_eq!(r.allowed, 1);
    }

    #[test]
    fn deeply_nested_base64_terminates() {
        let m = matcher(PACK);
        let mut text = "dmo_Ab3De5Gh7Jk9Mn1Pq3St".to_string();
        for _ in 0..50 {
            text = base64::engine::general_purpose::STANDARD.encode(text);
        }
        // Beyond the decode depth nothing is found, and nothing hangs.
        assert!(scan(&m, &text).is_empty());
    }

    #[test]
    fn a_regex_too_large_to_compile_is_a_warning_for_the_caller() {
        // Short matches allowed, so the line is long enough to need the regex compiled.
        let pack = PACK.replace(r"[A-Za-z0-9]{20}", r"(?:[A-Za-z0-9]{0,1000}){1000}");
        let m = matcher(&pack);
        assert!(scan(&m, "key = dmo_Ab3De5Gh7Jk9Mn1Pq3St\n").is_empty());
        let warnings = m.take_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("staunch: warning: regex "));
        assert!(warnings[0].ends_with("; its rule finds nothing"));
        // Once per regex, however often it is woken.
        scan(&m, "key = dmo_Ab3De5Gh7Jk9Mn1Pq3St\n");
        assert!(m.take_warnings().is_empty());
    }

    #[test]
    fn long_single_line_is_searched_in_windows() {
        let m = matcher(PACK);
        let mut text = "a".repeat(1_000_000);
        text.push_str(" dmo_Ab3De5Gh7Jk9Mn1Pq3St ");
        text.push_str(&"b".repeat(1_000_000));
        assert_eq!(scan(&m, &text).len(), 1);
    }
}
