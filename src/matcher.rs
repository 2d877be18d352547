//! The one-pass matcher. A single Aho-Corasick automaton over every rule's keywords finds the
//! places worth looking at; each candidate rule's regex then runs on just that line (or window);
//! filters run last on the few matches left. Base64 runs are decoded and scanned again.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use base64::Engine;

use crate::checks::CheckContext;
use crate::filters::{entropy, has_placeholder_word, looks_like_stand_in};
use crate::finding::{
    fingerprint, keep_most_severe, legacy_fingerprint, secret_fingerprint, AllowedBy, Dropped,
    Finding, Mechanism, Suppressed,
};

/// Stands for "no path" where the matcher asks for the fingerprint of rule and secret alone: a
/// NUL is in no file name, so it cannot meet a real path's fingerprint in the memo.
const ANY_PATH: &str = "\0";
use crate::joins;
use crate::keywords::KeywordSearch;
use crate::rules::{Category, Rule, MULTILINE_WINDOW};
use crate::source::Fragment;

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
    pub allow: Vec<crate::config::Allow>,
    /// Fingerprints of known findings (a baseline): reported as allowed, not as findings.
    pub baseline: std::collections::HashSet<String>,
    /// Fingerprints of rule and secret alone of the same baseline: they match a known secret
    /// that moved to another path (see `finding::secret_fingerprint`).
    pub baseline_anywhere: std::collections::HashSet<String>,
    /// Scheme-1 fingerprints of a baseline not migrated yet (see `finding::legacy_fingerprint`).
    pub legacy_baseline: std::collections::HashSet<String>,
    /// Where the baseline was read from, for reports (`<commit>:.staunch-baseline.json` in a
    /// range scan).
    pub baseline_source: String,
    /// Locations a `.gitleaksignore` file silences: (commit, path, line).
    pub ignored_locations: std::collections::HashSet<(Option<String>, String, usize)>,
    /// Where the `.gitleaksignore` was read from, for reports.
    pub ignore_source: String,
    /// Severities whose findings block; the others are warnings.
    pub block: Vec<crate::rules::Severity>,
    /// Files and blobs over this size are skipped without being read (in change scans, a
    /// changed blob's added lines are still scanned up to 10 times this).
    pub max_file_size: u64,
    /// The most findings one fragment reports. A file crafted to match millions of times (or a
    /// rule pack whose regex matches everything) would otherwise grow memory with its matches;
    /// over the cap, blocking findings are kept first and the rest are counted as dropped.
    pub max_findings_per_file: usize,
    /// The most findings one run reports, read by the scan driver (`scan`), which holds at
    /// most this many at once.
    pub max_findings: usize,
    /// Whether content a change scan cannot scan fails the run (`[policy]
    /// fail_on_unscannable`), or is named and counted as skipped.
    pub fail_on_unscannable: bool,
    /// How far archives are opened.
    pub archive: crate::source::archive::Limits,
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
            baseline_source: crate::config::baseline::BASELINE_FILE.into(),
            ignored_locations: Default::default(),
            ignore_source: crate::config::baseline::IGNORE_FILE.into(),
            max_file_size: 10 * 1024 * 1024,
            max_findings_per_file: DEFAULT_MAX_FINDINGS_PER_FILE,
            max_findings: DEFAULT_MAX_FINDINGS,
            fail_on_unscannable: true,
            archive: Default::default(),
            block: vec![
                crate::rules::Severity::High,
                crate::rules::Severity::Medium,
                crate::rules::Severity::Low,
            ],
        }
    }
}

/// The default of [`ScanOptions::max_findings`].
pub const DEFAULT_MAX_FINDINGS: usize = 100_000;

/// The default of [`ScanOptions::max_findings_per_file`].
pub const DEFAULT_MAX_FINDINGS_PER_FILE: usize = 1000;

/// How many raw matches (before duplicates and shadowed generic matches are dropped) a fragment
/// may collect per reported finding it may keep: the bound on memory while matching.
const RAW_MATCHES_PER_FINDING: usize = 8;

/// Long lines (minified files, one-line JSON) are searched in windows around each keyword, so
/// a hundred hits on a 100 MB line cost a hundred small searches, not a hundred huge ones.
const LINE_WINDOW: usize = 4096;

/// The raw matches of one fragment, bounded: past `cap` a match is only counted, except that
/// a blocking match takes the place of a non-blocking one, so padding a file with harmless
/// matches cannot push a secret out of the report.
struct RawMatches {
    list: Vec<RawMatch>,
    cap: usize,
    /// Indices in `list` of matches that do not block: the ones a blocking match may replace.
    replaceable: Vec<usize>,
    /// Matches that passed their filters but were not kept.
    overflowed: usize,
    /// Whether one of those is of a blocking severity.
    overflow_blocks: bool,
}

impl RawMatches {
    fn new(cap: usize) -> RawMatches {
        RawMatches {
            list: Vec::new(),
            cap,
            replaceable: Vec::new(),
            overflowed: 0,
            overflow_blocks: false,
        }
    }

    /// Keeps `m` (`blocks`: whether its severity blocks), within the cap.
    fn push(&mut self, m: RawMatch, blocks: bool) {
        if self.list.len() < self.cap {
            if !blocks {
                self.replaceable.push(self.list.len());
            }
            self.list.push(m);
            return;
        }
        self.overflowed += 1;
        match blocks.then(|| self.replaceable.pop()).flatten() {
            Some(at) => self.list[at] = m,
            None => self.overflow_blocks |= blocks,
        }
    }
}

/// What a rule's filters said of a candidate secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Filtered {
    Pass,
    /// It fails only the token's own checksum or inner-structure check.
    BadChecksum,
    Reject,
}

/// Whether [`Matcher::passes_filters_with`] runs the checksum and structure checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormatChecks {
    Run,
    Skip,
}

/// The places (spans) where a token failed its checksum, each counted once.
fn count_bad_checksums(matches: &[RawMatch]) -> usize {
    let mut spans: Vec<&Range<usize>> = matches
        .iter()
        .filter(|m| m.bad_checksum)
        .map(|m| &m.span)
        .collect();
    if spans.is_empty() {
        return 0;
    }
    spans.sort_by_key(|r| (r.start, r.end));
    spans.dedup();
    spans.len()
}

/// A match before it is tied to a path and line.
#[derive(Clone, Debug)]
struct RawMatch {
    rule: usize,
    /// Where the finding is reported in the scanned bytes (for a decoded secret: the encoded run).
    span: Range<usize>,
    secret: Vec<u8>,
    decoded: Vec<&'static str>,
    /// A specific rule matched here but its filters said no (a token failing its checksum, a
    /// placeholder): kept only so generic rules do not report the same bytes.
    vetoed: bool,
    /// Vetoed because the token's own checksum or inner structure did not verify: a made-up
    /// token, counted so the report can say why it did not block.
    bad_checksum: bool,
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
    options: ScanOptions,
    /// Fingerprints computed so far, by rule id, path and secret (see [`Matcher::fingerprint`]).
    fingerprints: std::sync::Mutex<std::collections::HashMap<Vec<u8>, String>>,
}

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
            rules,
            keywords,
            keyword_rules,
            always,
            markers,
            options,
            fingerprints: Default::default(),
        }
    }

    /// Whether `data` holds anything a rule reports under some path, before path filters and
    /// allow lists. A history scan reads every blob once without knowing where it lived; only
    /// the blobs this says yes to are traced to a commit and path and scanned in full.
    pub fn might_report(&self, data: &[u8]) -> bool {
        let mut matches = RawMatches::new(self.raw_match_cap());
        self.scan_level(data, 0, &mut matches);
        matches.overflowed > 0
            || (!matches.list.is_empty() && !self.drop_shadowed(matches.list).is_empty())
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// Scans one fragment and returns its findings, sorted.
    pub fn scan_fragment(&self, fragment: &Fragment) -> FragmentResult {
        let mut raw = RawMatches::new(self.raw_match_cap());
        self.scan_level(&fragment.data, 0, &mut raw);
        let (mut matches, overflowed, overflow_blocks) =
            (raw.list, raw.overflowed, raw.overflow_blocks);
        matches.retain(|m| {
            self.rules[m.rule]
                .path
                .as_ref()
                .is_none_or(|re| re.is_match(fragment.path.as_bytes()))
        });
        if crate::checks::is_code_path(&fragment.path) {
            matches.retain(|m| !self.bare_value_in_code(m, &fragment.data));
        }
        if matches.is_empty() {
            return FragmentResult::default();
        }
        let rejected_checksum = count_bad_checksums(&matches);
        let matches = self.drop_shadowed(matches);
        let lines = LineIndex::new(&fragment.data);
        let mut result = FragmentResult {
            rejected_checksum,
            ..FragmentResult::default()
        };
        for m in matches {
            let rule = &self.rules[m.rule];
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

    /// The finding's fingerprint. A credential's is computed once per (rule, path, secret) in a
    /// run: its hash is slow on purpose (see [`fingerprint`]), and a history holds the same
    /// secret many times.
    fn fingerprint(&self, rule_id: &str, category: Category, path: &str, secret: &[u8]) -> String {
        let compute = || match path {
            ANY_PATH => secret_fingerprint(rule_id, category, secret),
            _ => fingerprint(rule_id, path, category, secret),
        };
        if matches!(category, Category::PrivateIp | Category::InternalUrl) {
            // A fast hash (see `finding::fingerprint`): remembering it would cost more.
            return compute();
        }
        let mut key = Vec::with_capacity(rule_id.len() + path.len() + secret.len() + 2);
        key.extend_from_slice(rule_id.as_bytes());
        key.push(0);
        key.extend_from_slice(path.as_bytes());
        key.push(0);
        key.extend_from_slice(secret);
        if let Some(known) = self.fingerprints.lock().unwrap().get(&key) {
            return known.clone();
        }
        let computed = compute();
        self.fingerprints
            .lock()
            .unwrap()
            .insert(key, computed.clone());
        computed
    }

    /// The first inline marker on `line`, as configured.
    fn allow_marker(&self, line: &[u8]) -> Option<&str> {
        let found = self.markers.as_ref()?.find(line)?;
        Some(&self.options.allow_markers[found.pattern().as_usize()])
    }

    /// The configured allow entry, baseline fingerprint or `.gitleaksignore` entry that
    /// silences `finding`, with a justification naming it. These are read with the
    /// configuration (in a range scan from the base commit), never from the scanned content.
    fn trusted_allow(
        &self,
        finding: &Finding,
        fragment: &Fragment,
        line_text: &[u8],
    ) -> Option<(Mechanism, String)> {
        let commit = fragment.commit.as_deref();
        if let Some(allow) = self.options.allow.iter().find(|a| {
            a.allows(
                &finding.rule_id,
                &fragment.path,
                commit,
                &finding.secret,
                line_text,
            )
        }) {
            return Some((Mechanism::Config, allow.origin.clone()));
        }
        let (baseline, legacy) = (&self.options.baseline, &self.options.legacy_baseline);
        let anywhere = &self.options.baseline_anywhere;
        if (!baseline.is_empty()
            && baseline.contains(&self.fingerprint(
                &finding.rule_id,
                finding.category,
                &finding.path,
                &finding.secret,
            )))
            || (!anywhere.is_empty()
                && anywhere.contains(&self.fingerprint(
                    &finding.rule_id,
                    finding.category,
                    ANY_PATH,
                    &finding.secret,
                )))
            || (!legacy.is_empty()
                && legacy.contains(&legacy_fingerprint(
                    &finding.rule_id,
                    &finding.path,
                    &finding.secret,
                )))
        {
            let source = &self.options.baseline_source;
            return Some((Mechanism::Baseline, format!("baseline {source}")));
        }
        let ignored = &self.options.ignored_locations;
        let at = |commit: Option<&str>| {
            ignored.contains(&(
                commit.map(str::to_string),
                finding.path.clone(),
                finding.line,
            ))
        };
        if !ignored.is_empty() && (at(None) || commit.is_some_and(|c| at(Some(c)))) {
            return Some((Mechanism::IgnoreFile, self.options.ignore_source.clone()));
        }
        None
    }

    /// Finds every rule match in `data`, then looks inside base64 runs.
    fn scan_level(&self, data: &[u8], depth: usize, out: &mut RawMatches) {
        let regions = self.candidate_regions(data);
        self.compile_woken(&regions);
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
            self.scan_base64(data, depth, out);
            // A multi-line secret that code wrote as concatenated literals is only whole once
            // they are joined; looked for only where a multi-line rule's keyword appears.
            if multiline_woken {
                self.scan_concatenated(data, depth, out);
            }
        }
    }

    /// Scans string literals joined over lines ([`joins::concatenated_literals`]), keeping
    /// only what crosses a seam (the rest each line's own scan finds), at the pieces' span.
    fn scan_concatenated(&self, data: &[u8], depth: usize, out: &mut RawMatches) {
        for joined in joins::concatenated_literals(data) {
            let mut inner = RawMatches::new(out.cap);
            self.scan_level(&joined.text, depth + 1, &mut inner);
            out.overflowed += inner.overflowed;
            out.overflow_blocks |= inner.overflow_blocks;
            for m in inner.list {
                if !joined.crosses_a_seam(&m.span) {
                    continue;
                }
                let blocks = !m.vetoed && self.options.block.contains(&self.rules[m.rule].severity);
                let mut chain = vec!["concatenation"];
                chain.extend(m.decoded);
                let m = RawMatch {
                    rule: m.rule,
                    span: joined.span.clone(),
                    secret: m.secret,
                    decoded: chain,
                    vetoed: m.vetoed,
                    bad_checksum: m.bad_checksum,
                };
                out.push(m, blocks);
            }
        }
    }

    /// Compiles, on all cores at once, the regexes of rules woken for the first time. A hook
    /// that scans one edit spends most of its time here, so doing it in parallel is what keeps
    /// it unnoticeable; in long scans every regex is compiled after the first few files.
    fn compile_woken(&self, regions: &[(usize, Range<usize>)]) {
        let mut cold: Vec<usize> = regions
            .iter()
            .map(|(rule, _)| *rule)
            .filter(|&rule| !self.rules[rule].regex.is_compiled())
            .collect();
        cold.sort_unstable();
        cold.dedup();
        if cold.len() > 1 {
            use rayon::prelude::*;
            cold.par_iter().for_each(|&rule| {
                self.rules[rule].regex.get();
            });
        }
    }

    /// Keyword hits turned into (rule, region) pairs, merged so each rule searches each line once.
    fn candidate_regions(&self, data: &[u8]) -> Vec<(usize, Range<usize>)> {
        let mut regions = Vec::new();
        // The region each rule is accumulating; flushed when a hit lands past its end.
        let mut open: Vec<Option<Range<usize>>> = vec![None; self.rules.len()];
        let mut line = 0..0;
        for hit in self.keywords.find_all(data) {
            let pos = hit.start;
            if !(line.start <= pos && pos < line.end) {
                let start = memchr::memrchr(b'\n', &data[..pos]).map_or(0, |i| i + 1);
                let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
                line = start..end.max(pos + 1).min(data.len());
            }
            for &rule in &self.keyword_rules[hit.keyword] {
                if matches!(&open[rule], Some(r) if pos >= r.start && hit.end <= r.end) {
                    continue;
                }
                if let Some(named) = &self.rules[rule].named {
                    if !named.hit_may_match(&data[line.clone()], pos - line.start) {
                        continue;
                    }
                }
                let region = if let Some(named) = &self.rules[rule].named {
                    // The key's line, and the lines below a header that the block form reads
                    // (a value on the next line included).
                    let mut end = line.end;
                    for _ in 0..named.within + 1 {
                        match memchr::memchr(b'\n', &data[(end + 1).min(data.len())..]) {
                            Some(i) if end < data.len() => end = end + 1 + i,
                            _ => {
                                end = data.len();
                                break;
                            }
                        }
                    }
                    line.start.max(pos.saturating_sub(LINE_WINDOW))..end.min(pos + LINE_WINDOW)
                } else if self.rules[rule].multiline {
                    line.start.max(pos.saturating_sub(LINE_WINDOW))
                        ..data.len().min(pos + MULTILINE_WINDOW)
                } else {
                    line.start.max(pos.saturating_sub(LINE_WINDOW))..line.end.min(pos + LINE_WINDOW)
                };
                match &mut open[rule] {
                    Some(current) if region.start <= current.end => {
                        current.end = current.end.max(region.end);
                    }
                    slot => {
                        if let Some(done) = slot.replace(region) {
                            regions.push((rule, done));
                        }
                    }
                }
            }
        }
        for (rule, slot) in open.into_iter().enumerate() {
            if let Some(region) = slot {
                regions.push((rule, region));
            }
        }
        regions
    }

    /// Runs one rule's regex over one region and keeps the matches that pass its filters.
    fn confirm(&self, index: usize, data: &[u8], region: Range<usize>, out: &mut RawMatches) {
        let rule = &self.rules[index];
        let haystack = &data[region.clone()];
        if let Some(named) = &rule.named {
            let mut spans = Vec::new();
            let inline = rule.regex.get().captures_iter(haystack);
            named.find_pairs(inline, true, |_, value| spans.push(value));
            named.find_in_blocks(haystack, |_, value| spans.push(value));
            for value in spans {
                let span = region.start + value.start..region.start + value.end;
                self.keep(index, data, span, out);
            }
            return;
        }
        for caps in rule.regex.get().captures_iter(haystack) {
            let group = match rule.secret_group {
                Some(g) => caps.get(g),
                // The first group that took part, so alternatives can each hold the secret.
                None => (1..caps.len())
                    .find_map(|g| caps.get(g))
                    .or_else(|| caps.get(0)),
            };
            let Some(group) = group else { continue };
            let span = region.start + group.start()..region.start + group.end();
            self.keep(index, data, span, out);
        }
    }

    /// Whether `m` is an assignment rule's value written bare in a code file: a name there, not
    /// a literal (see `checks::is_code_path`). Decided here, where the path is known; the search
    /// itself ignores paths, so `might_report` stays a superset of what a fragment reports.
    fn bare_value_in_code(&self, m: &RawMatch, data: &[u8]) -> bool {
        use crate::checks::Check;
        let assigned = matches!(
            self.rules[m.rule].check,
            Some(Check::Password | Check::TokenValue)
        );
        if !assigned || m.vetoed || !m.decoded.is_empty() {
            return false;
        }
        let from = m.span.start.saturating_sub(LINE_WINDOW);
        let line_start =
            memchr::memrchr(b'\n', &data[from..m.span.start]).map_or(from, |i| from + i + 1);
        !crate::checks::literal_in_code(&data[line_start..m.span.start])
    }

    /// Records one candidate secret of rule `index` at `span`, marked vetoed when the rule's
    /// filters reject it (a generic rule's rejects are dropped at once).
    fn keep(&self, index: usize, data: &[u8], span: Range<usize>, out: &mut RawMatches) {
        let rule = &self.rules[index];
        let secret = &data[span.clone()];
        let filtered = self.filter(rule, secret, data, &span);
        let passes = filtered == Filtered::Pass;
        if !passes && rule.generic {
            return;
        }
        // A vetoed match only shadows generic ones: it never blocks.
        let blocks = passes && self.options.block.contains(&rule.severity);
        out.push(
            RawMatch {
                rule: index,
                span,
                secret: secret.to_vec(),
                decoded: Vec::new(),
                vetoed: !passes,
                bad_checksum: filtered == Filtered::BadChecksum,
            },
            blocks,
        );
    }

    fn filter(&self, rule: &Rule, secret: &[u8], data: &[u8], span: &Range<usize>) -> Filtered {
        if self.passes_filters(rule, secret, data, span) {
            Filtered::Pass
        } else if rule.verifies_format() && self.passes_all_but_format(rule, secret, data, span) {
            Filtered::BadChecksum
        } else {
            Filtered::Reject
        }
    }

    /// Whether a rejected secret of a rule that verifies a format passed everything but that
    /// check: only then was it rejected for its checksum. Runs only on rejected matches of the
    /// few such rules, never on the path every file takes.
    fn passes_all_but_format(
        &self,
        rule: &Rule,
        secret: &[u8],
        data: &[u8],
        span: &Range<usize>,
    ) -> bool {
        self.passes_filters_with(rule, secret, data, span, FormatChecks::Skip)
    }

    fn passes_filters(&self, rule: &Rule, secret: &[u8], data: &[u8], span: &Range<usize>) -> bool {
        self.passes_filters_with(rule, secret, data, span, FormatChecks::Run)
    }

    fn passes_filters_with(
        &self,
        rule: &Rule,
        secret: &[u8],
        data: &[u8],
        span: &Range<usize>,
        format: FormatChecks,
    ) -> bool {
        if secret.is_empty() {
            return false;
        }
        if let Some(min) = rule.min_entropy {
            if entropy(secret) < min {
                return false;
            }
        }
        if !rule.stopwords.is_empty() {
            let lower = secret.to_ascii_lowercase();
            if rule
                .stopwords
                .iter()
                .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
            {
                return false;
            }
        }
        if rule.allow.iter().any(|re| re.is_match(secret)) {
            return false;
        }
        if format == FormatChecks::Run && rule.decodes.as_ref().is_some_and(|d| !d.verify(secret)) {
            return false;
        }
        // A token whose checksum or structure verifies is real even when it happens to hold a
        // placeholder word; its shape must still not be a stand-in.
        let verified = rule.verifies_format();
        if rule.placeholders
            && (looks_like_stand_in(secret) || (!verified && has_placeholder_word(secret)))
        {
            return false;
        }
        if let Some(check) = rule
            .check
            .filter(|c| format == FormatChecks::Run || !c.is_format_check())
        {
            // The line around the secret, within the search window (see `scan_fragment`).
            let from = span.start.saturating_sub(LINE_WINDOW);
            let to = data.len().min(span.end + LINE_WINDOW);
            let line_start =
                memchr::memrchr(b'\n', &data[from..span.start]).map_or(from, |i| from + i + 1);
            let line_end = memchr::memchr(b'\n', &data[span.end..to]).map_or(to, |i| span.end + i);
            let ctx = CheckContext {
                before: &data[line_start..span.start],
                after: &data[span.end..line_end],
                internal_domains: &self.options.internal_domains,
            };
            if !check.verify(secret, &ctx) {
                return false;
            }
        }
        true
    }

    /// Decodes each base64 run long enough to hide a secret and scans what it decodes to.
    /// Findings inside are reported at the run, marked as decoded.
    fn scan_base64(&self, data: &[u8], depth: usize, out: &mut RawMatches) {
        let runs = base64_runs(
            data,
            self.options.min_base64_length,
            self.options.max_base64_length,
        );
        // Base64 wrapped over lines decodes whole or not at all: a group that decodes to text
        // is scanned as one value, at its span, in place of its lines.
        let mut decoded_runs: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        for (span, text) in joins::wrapped_base64(data, &runs) {
            if let Some(decoded) = decode_text(&text) {
                decoded_runs.push((span, decoded));
            }
        }
        let mut groups = decoded_runs.iter().map(|(span, _)| span.clone()).peekable();
        let mut singles = Vec::new();
        for run in runs {
            while groups.peek().is_some_and(|g| g.end <= run.start) {
                groups.next();
            }
            if !groups
                .peek()
                .is_some_and(|g| g.start <= run.start && run.end <= g.end)
            {
                singles.push(run);
            }
        }
        for run in singles {
            let Some(decoded) = decode_text(&data[run.clone()]) else {
                continue;
            };
            decoded_runs.push((run, decoded));
        }
        for (run, decoded) in decoded_runs {
            let mut inner = RawMatches::new(out.cap);
            self.scan_level(&decoded, depth + 1, &mut inner);
            out.overflowed += inner.overflowed;
            out.overflow_blocks |= inner.overflow_blocks;
            for m in inner.list {
                let blocks = !m.vetoed && self.options.block.contains(&self.rules[m.rule].severity);
                let mut chain = vec!["base64"];
                chain.extend(m.decoded);
                let m = RawMatch {
                    rule: m.rule,
                    span: run.clone(),
                    secret: m.secret,
                    decoded: chain,
                    vetoed: m.vetoed,
                    bad_checksum: m.bad_checksum,
                };
                out.push(m, blocks);
            }
        }
    }

    /// A generic rule's match yields to a specific rule's match over the same bytes, so one
    /// secret is reported once, by the rule that knows what it is; and to a specific rule that
    /// recognised the bytes and rejected them (a GitHub token with a bad checksum is a fixture,
    /// not a password). Vetoed matches are dropped here.
    fn drop_shadowed(&self, mut matches: Vec<RawMatch>) -> Vec<RawMatch> {
        matches.sort_by_key(|m| (m.span.start, m.span.end, m.rule));
        matches.dedup_by(|a, b| {
            a.rule == b.rule && a.span == b.span && a.secret == b.secret && a.vetoed == b.vetoed
        });
        let specific: Vec<(Range<usize>, &[u8])> = matches
            .iter()
            .filter(|m| !self.rules[m.rule].generic)
            .map(|m| (m.span.clone(), m.secret.as_slice()))
            .collect();
        if specific.is_empty() {
            return matches.into_iter().filter(|m| !m.vetoed).collect();
        }
        // `specific` is sorted by start, so only the few that start within `longest` bytes
        // before a match can overlap it: checking every pair is quadratic on a file of tokens.
        let longest = specific
            .iter()
            .map(|(span, _)| span.len())
            .max()
            .unwrap_or(0);
        let keep: Vec<bool> = matches
            .iter()
            .map(|m| {
                let to = specific.partition_point(|(span, _)| span.start < m.span.end);
                let from =
                    specific.partition_point(|(span, _)| span.start + longest <= m.span.start);
                !self.rules[m.rule].generic
                    || !specific[from.min(to)..to].iter().any(|(span, secret)| {
                        let overlap = span.start < m.span.end && m.span.start < span.end;
                        overlap
                            && (m.decoded.is_empty()
                                || memchr::memmem::find(secret, &m.secret).is_some()
                                || memchr::memmem::find(&m.secret, secret).is_some())
                    })
            })
            .collect();
        matches
            .into_iter()
            .zip(keep)
            .filter_map(|(m, k)| (k && !m.vetoed).then_some(m))
            .collect()
    }
}

/// Bit flags per byte: member of the base64/base64url alphabet, and its character class.
const B64: u8 = 1;
const UPPER: u8 = 2;
const LOWER: u8 = 4;
const DIGIT: u8 = 8;

static BASE64_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_uppercase() {
            B64 | UPPER
        } else if c.is_ascii_lowercase() {
            B64 | LOWER
        } else if c.is_ascii_digit() {
            B64 | DIGIT
        } else if matches!(c, b'+' | b'/' | b'-' | b'_') {
            B64
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Runs of base64 alphabet (with trailing padding) between `min` and `max` bytes long that mix
/// upper case, lower case and digits, as encoded data does and identifiers and words rarely do.
///
/// Every scanned byte passes through here, so the alphabet is tested 64 bytes at a time into a
/// bit mask, and a mask in which no run of `min` set bits starts is skipped whole.
fn base64_runs(data: &[u8], min: usize, max: usize) -> Vec<Range<usize>> {
    let min = min.max(1);
    if min > 64 {
        return base64_runs_bytewise(data, min, max);
    }
    let steps = run_steps(min);
    let mut runs = Vec::new();
    // The next byte a run may start at (runs found so far end before it).
    let mut next = 0;
    let mut this_block = alphabet_mask(data, 0);
    let mut base = 0;
    while base < data.len() {
        let next_block = alphabet_mask(data, base + 64);
        // Bit i of `starts`: a run of at least `min` bytes starts at base + i. Each start in
        // this block has its whole `min`-byte stretch inside this block and the next.
        let mut starts = runs_of_at_least(this_block, next_block, &steps);
        if next > base {
            starts &= u64::MAX.checked_shl((next - base) as u32).unwrap_or(0);
        }
        while starts != 0 {
            let start = base + starts.trailing_zeros() as usize;
            let mut end = start + min;
            loop {
                // The mask is zero past the end of `data`, so this stops there at the latest.
                let ones = alphabet_mask(data, end).trailing_ones() as usize;
                end += ones;
                if ones < 64 {
                    break;
                }
            }
            let mut padded = end;
            while padded < data.len() && padded - end < 2 && data[padded] == b'=' {
                padded += 1;
            }
            if padded - start <= max && mixes_cases_and_digits(&data[start..end]) {
                runs.push(start..padded);
            }
            next = padded.max(end) + 1;
            if next >= base + 64 {
                break;
            }
            starts &= u64::MAX << (next - base);
        }
        this_block = next_block;
        base += 64;
    }
    runs
}

fn mixes_cases_and_digits(run: &[u8]) -> bool {
    let classes = run.iter().fold(0, |acc, &b| acc | BASE64_CLASS[b as usize]);
    classes & (UPPER | LOWER | DIGIT) == UPPER | LOWER | DIGIT
}

/// Bit i set when `data[from + i]` is in the base64 or base64url alphabet (zero past the end).
fn alphabet_mask(data: &[u8], from: usize) -> u64 {
    if let Some(block) = data.get(from..from + 64) {
        return alphabet_mask_of(block.try_into().expect("64 bytes"));
    }
    let mut block = [0u8; 64];
    if from < data.len() {
        let bytes = &data[from..data.len().min(from + 64)];
        block[..bytes.len()].copy_from_slice(bytes);
    }
    alphabet_mask_of(&block)
}

/// SSE2 is part of every x86-64 CPU, so this needs no feature detection: 16 bytes per compare.
#[cfg(target_arch = "x86_64")]
fn alphabet_mask_of(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::*;
    let mut mask = 0u64;
    for (part, chunk) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is always available on x86_64; the load reads exactly the 16 bytes of
        // `chunk` (unaligned loads are allowed).
        let bits = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr() as *const __m128i);
            let in_range = |x: __m128i, lo: u8, hi: u8| {
                // Signed compares are right here: every byte of the alphabet is below 0x80,
                // and bytes from 0x80 up are negative, so they fall outside every range.
                _mm_and_si128(
                    _mm_cmpgt_epi8(x, _mm_set1_epi8(lo as i8 - 1)),
                    _mm_cmplt_epi8(x, _mm_set1_epi8(hi as i8 + 1)),
                )
            };
            let letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
            let digit = in_range(v, b'0', b'9');
            let symbol = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'+' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'/' as i8)),
                ),
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8)),
                ),
            );
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), symbol)) as u32 as u64
        };
        mask |= (bits & 0xffff) << (part * 16);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
fn alphabet_mask_of(block: &[u8; 64]) -> u64 {
    let mut mask = 0u64;
    for (i, &b) in block.iter().enumerate() {
        mask |= ((BASE64_CLASS[b as usize] & B64) as u64) << i;
    }
    mask
}

/// The shifts that turn a bit mask into "a run of `n` set bits starts here": doubling runs of
/// 1, 2, 4, ... set bits, then one shift to make up the rest (`n` <= 64).
fn run_steps(n: usize) -> Vec<u32> {
    let mut steps = Vec::new();
    let mut covered = 1;
    while covered * 2 <= n {
        steps.push(covered as u32);
        covered *= 2;
    }
    if covered < n {
        steps.push((n - covered) as u32);
    }
    steps
}

/// Bit i set when bits i .. i + n of `low` followed by `high` are all set, for the `n` that
/// `steps` was made for. Only starts in `low` are asked for, so `high` may be cut short.
#[inline(always)]
fn runs_of_at_least(low: u64, high: u64, steps: &[u32]) -> u64 {
    let (mut low, mut high) = (low, high);
    for &step in steps {
        // Shifts are below 64: (low, high) >> step as one 128-bit number.
        low &= (low >> step) | (high << (64 - step));
        high &= high >> step;
    }
    low
}

/// The same runs found a byte at a time: for a `min` too long for the bit masks, and as the
/// reference the fast version is tested against.
fn base64_runs_bytewise(data: &[u8], min: usize, max: usize) -> Vec<Range<usize>> {
    let min = min.max(1);
    let mut runs = Vec::new();
    let mut start = 0;
    while start + min <= data.len() {
        // Is data[start..start + min] all base64? Check from the far end, and restart just past
        // the last byte that is not.
        if let Some(bad) = (start..start + min)
            .rev()
            .find(|&i| BASE64_CLASS[data[i] as usize] & B64 == 0)
        {
            start = bad + 1;
            continue;
        }
        let mut end = start + min;
        while end < data.len() && BASE64_CLASS[data[end] as usize] & B64 != 0 {
            end += 1;
        }
        let mut padded = end;
        while padded < data.len() && padded - end < 2 && data[padded] == b'=' {
            padded += 1;
        }
        if padded - start <= max && mixes_cases_and_digits(&data[start..end]) {
            runs.push(start..padded);
        }
        start = padded.max(end) + 1;
    }
    runs
}

/// Decodes a base64 or base64url run and keeps it only if it decodes to text: secrets hidden in
/// base64 are text, while images, hashes and random identifiers decode to binary.
fn decode_text(run: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let trimmed = run
        .strip_suffix(b"==")
        .or_else(|| run.strip_suffix(b"="))
        .unwrap_or(run);
    let lenient = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, lenient);
    let url = GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient);
    let decoded = if trimmed.iter().any(|&b| b == b'-' || b == b'_') {
        url.decode(trimmed)
            .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
    } else {
        standard
            .decode(trimmed)
            .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
    }
    .ok()?;
    if decoded.len() < 8 {
        return None;
    }
    let text = std::str::from_utf8(&decoded).ok()?;
    let printable = text
        .bytes()
        .filter(|&b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    (printable * 100 >= decoded.len() * 95).then_some(decoded)
}

/// Byte offsets of line starts, built only for fragments that produced a match.
struct LineIndex<'a> {
    data: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(data: &'a [u8]) -> Self {
        LineIndex {
            data,
            newlines: memchr::memchr_iter(b'\n', data).collect(),
        }
    }

    /// 1-based line of byte `pos`.
    fn line_of(&self, pos: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < pos) + 1
    }

    fn line_bounds(&self, pos: usize) -> Range<usize> {
        let line = self.line_of(pos);
        let start = if line == 1 {
            0
        } else {
            self.newlines[line - 2] + 1
        };
        let end = self
            .newlines
            .get(line - 1)
            .copied()
            .unwrap_or(self.data.len());
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let m = Matcher::new(crate::rules::load(&[]).unwrap(), ScanOptions::default());
        let scan = |text: String| m.scan_fragment(&Fragment::file("app.py", text.into_bytes()));
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

    #[test]
    fn a_full_match_list_lets_blocking_matches_replace_harmless_ones() {
        let m = |rule| RawMatch {
            rule,
            span: 0..1,
            secret: Vec::new(),
            decoded: Vec::new(),
            vetoed: false,
            bad_checksum: false,
        };
        let mut list = RawMatches::new(2);
        list.push(m(0), false);
        list.push(m(1), true);
        list.push(m(2), false); // full: counted, replaces nothing
        list.push(m(3), true); // takes the place of rule 0
        list.push(m(4), true); // nothing harmless is left to replace
        let kept: Vec<usize> = list.list.iter().map(|m| m.rule).collect();
        assert_eq!(kept, [3, 1]);
        assert_eq!(list.overflowed, 3);
        assert!(list.overflow_blocks);
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
        m.scan_fragment(&Fragment::file("f.txt", text.as_bytes().to_vec()))
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
        let r = m.scan_fragment(&Fragment::file(
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
    fn base64_runs_by_mask_match_the_bytewise_search() {
        // Text dense with base64 alphabet, padding and separators, at every alignment.
        let alphabet = b"aZ09+/-_==Qx7 .:\n\"kK";
        let mut x: u32 = 7;
        let mut data = Vec::new();
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let r = (x >> 16) as usize;
            // Long stretches without separators now and then, so long runs occur.
            let pick = if r % 97 < 80 {
                r % 8
            } else {
                r % alphabet.len()
            };
            data.push(alphabet[pick]);
        }
        assert!(base64_runs_bytewise(&data, 33, 200).len() > 10);
        for min in [1, 2, 5, 16, 20, 33, 63, 64, 65, 100] {
            for skip in [0, 1, 7, 63] {
                let slice = &data[skip..];
                assert_eq!(
                    base64_runs(slice, min, 200),
                    base64_runs_bytewise(slice, min, 200),
                    "min {min} skip {skip}"
                );
            }
        }
    }

    #[test]
    fn base64_runs_are_found_whole() {
        let text = b"x = \"aGVsbG8gd29ybGQgMTIz\" and short Ab1 and dGhpcyBpcyBhIHRlc3Q9MQ==";
        let runs: Vec<&[u8]> = base64_runs(text, 16, 1000)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(
            runs,
            vec![
                b"aGVsbG8gd29ybGQgMTIz".as_slice(),
                b"dGhpcyBpcyBhIHRlc3Q9MQ==".as_slice()
            ]
        );
        assert!(base64_runs(b"only_lowercase_identifier_here", 16, 1000).is_empty());
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
