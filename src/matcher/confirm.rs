//! From keyword hits to kept candidates: the hits become one region per rule and line, each
//! woken rule's regex runs on its regions, and what it captures passes the rule's filters.

use std::ops::Range;

use crate::rules::checks::filters::{
    entropy, has_placeholder_word, holds_stopword, looks_like_stand_in,
};
use crate::rules::checks::CheckContext;
use crate::rules::{Rule, MULTILINE_WINDOW};

use super::raw::{RawMatch, RawMatches};
use super::{Matcher, LINE_WINDOW};

thread_local! {
    /// The per-rule slots of [`Matcher::candidate_regions`], all empty between calls.
    static OPEN_REGIONS: std::cell::RefCell<Vec<Option<Range<usize>>>> =
        const { std::cell::RefCell::new(Vec::new()) };
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

impl Matcher {
    /// Compiles the regexes of rules woken for the first time on a region where they may match
    /// (see [`LazyRegex::may_match`]), on all cores at once when called on the thread pool. A
    /// hook that scans one edit spends most of its time here, so doing it in parallel is what
    /// keeps it unnoticeable; in long scans every regex is compiled after the first few files.
    /// What compiling had to say goes to the caller (see [`Matcher::on_warning`]).
    pub(super) fn compile_woken(&self, data: &[u8], regions: &[(usize, Range<usize>)]) {
        let woken = regions
            .iter()
            .filter(|(rule, region)| self.rules[*rule].regex.may_match(&data[region.clone()]))
            .map(|(rule, _)| *rule);
        let mut cold: Vec<usize> = woken
            .chain(self.always.iter().copied())
            .filter(|&rule| !self.rules[rule].regex.is_compiled())
            .collect();
        if cold.is_empty() {
            return;
        }
        cold.sort_unstable();
        cold.dedup();
        // On a pool thread (a hook's few fragments, a history's blobs) the other threads help
        // compile and this one works too. Anywhere else (the directory walk's threads) a
        // thread would only hand the work to the pool and wait, while the walk's other threads
        // already keep every core busy: there it compiles what it needs itself.
        if cold.len() > 1 && rayon::current_thread_index().is_some() {
            use rayon::prelude::*;
            cold.par_iter().for_each(|&rule| {
                self.rules[rule].regex.get();
            });
        } else {
            for &rule in &cold {
                self.rules[rule].regex.get();
            }
        }
        for rule in cold {
            if let Some(warning) = self.rules[rule].regex.take_warning() {
                self.warn(warning);
            }
        }
    }

    /// Keyword hits turned into (rule, region) pairs, merged so each rule searches each line once.
    pub(super) fn candidate_regions(&self, data: &[u8]) -> Vec<(usize, Range<usize>)> {
        let mut regions = Vec::new();
        // The region each rule is accumulating; flushed when a hit lands past its end. One
        // slot per rule, kept between calls: a history scan asks this for thousands of small
        // windows, and a fresh table each time cost more than the search.
        let mut open = OPEN_REGIONS.with(|slots| std::mem::take(&mut *slots.borrow_mut()));
        open.resize(open.len().max(self.rules.len()), None);
        // The rules with an open region, so only they are visited at the end.
        let mut touched = Vec::new();
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
                        if slot.is_none() {
                            touched.push(rule);
                        }
                        if let Some(done) = slot.replace(region) {
                            regions.push((rule, done));
                        }
                    }
                }
            }
        }
        // In rule order, as a walk over every slot would give them; every slot is left empty.
        touched.sort_unstable();
        for rule in touched {
            if let Some(region) = open[rule].take() {
                regions.push((rule, region));
            }
        }
        OPEN_REGIONS.with(|slots| *slots.borrow_mut() = open);
        regions
    }

    /// Runs one rule's regex over one region and keeps the matches that pass its filters.
    pub(super) fn confirm(
        &self,
        index: usize,
        data: &[u8],
        region: Range<usize>,
        out: &mut RawMatches,
    ) {
        let rule = &self.rules[index];
        let haystack = &data[region.clone()];
        if let Some(named) = &rule.named {
            let mut spans = Vec::new();
            if rule.regex.may_match(haystack) {
                named.find_pairs(rule.regex.get(), haystack, true, |_, value| {
                    spans.push(value)
                });
            }
            named.find_in_blocks(haystack, |_, value| spans.push(value));
            // The block form's regexes compile the first time a block is looked for.
            let warnings = [named.header.take_warning(), named.pair.take_warning()];
            for warning in warnings.into_iter().flatten() {
                self.warn(warning);
            }
            for value in spans {
                let span = region.start + value.start..region.start + value.end;
                self.keep(index, data, span, out);
            }
            return;
        }
        if !rule.regex.may_match(haystack) {
            return;
        }
        let regex = rule.regex.get();
        // Most regions hold no match: finding that out needs only the forward DFA, without
        // the capture slots an iterator allocates.
        if !regex.is_match(haystack) {
            return;
        }
        for caps in regex.captures_iter(haystack) {
            let group = match rule.secret_group {
                Some(g) => caps.get_group(g),
                // The first group that took part, so alternatives can each hold the secret.
                None => (1..caps.group_len())
                    .find_map(|g| caps.get_group(g))
                    .or_else(|| caps.get_group(0)),
            };
            let Some(group) = group else { continue };
            let span = region.start + group.start..region.start + group.end;
            self.keep(index, data, span, out);
        }
    }

    /// Whether `m` is an assignment rule's value written bare in a code file: a name there, not
    /// a literal (see `rules::checks::is_code_path`). Decided here, where the path is known; the
    /// search itself ignores paths, so `might_report` stays a superset of what a fragment reports.
    pub(super) fn bare_value_in_code(&self, m: &RawMatch, data: &[u8]) -> bool {
        use crate::rules::checks::Check;
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
        !crate::rules::checks::literal_in_code(&data[line_start..m.span.start])
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
        if !rule.stopwords.is_empty() && holds_stopword(secret, &rule.stopwords) {
            return false;
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
            // The line around the secret, within the search window (see `find_in`).
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
}
