//! Raw matches: what the rules found in a fragment before it is tied to lines and allow lists.
//! The list is bounded (a file crafted to match millions of times must not grow memory), and a
//! generic rule's match yields to a specific rule's over the same bytes.

use std::ops::Range;

use super::Matcher;

/// The raw matches of one fragment, bounded: past `cap` a match is only counted, except that
/// a blocking match takes the place of a non-blocking one, so padding a file with harmless
/// matches cannot push a secret out of the report.
pub(super) struct RawMatches {
    pub(super) list: Vec<RawMatch>,
    pub(super) cap: usize,
    /// Indices in `list` of matches that do not block: the ones a blocking match may replace.
    pub(super) replaceable: Vec<usize>,
    /// Matches that passed their filters but were not kept.
    pub(super) overflowed: usize,
    /// Whether one of those is of a blocking severity.
    pub(super) overflow_blocks: bool,
}

impl RawMatches {
    pub(super) fn new(cap: usize) -> RawMatches {
        RawMatches {
            list: Vec::new(),
            cap,
            replaceable: Vec::new(),
            overflowed: 0,
            overflow_blocks: false,
        }
    }

    /// Keeps `m` (`blocks`: whether its severity blocks), within the cap.
    pub(super) fn push(&mut self, m: RawMatch, blocks: bool) {
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

/// The places (spans) where a token failed its checksum, each counted once.
pub(super) fn count_bad_checksums(matches: &[RawMatch]) -> usize {
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
pub(super) struct RawMatch {
    pub(super) rule: usize,
    /// Where the finding is reported in the scanned bytes (for a decoded secret: the encoded run).
    pub(super) span: Range<usize>,
    pub(super) secret: Vec<u8>,
    pub(super) decoded: Vec<&'static str>,
    /// A specific rule matched here but its filters said no (a token failing its checksum, a
    /// placeholder): kept only so generic rules do not report the same bytes.
    pub(super) vetoed: bool,
    /// Vetoed because the token's own checksum or inner structure did not verify: a made-up
    /// token, counted so the report can say why it did not block.
    pub(super) bad_checksum: bool,
}

impl Matcher {
    /// A generic rule's match yields to a specific rule's match over the same bytes, so one
    /// secret is reported once, by the rule that knows what it is; and to a specific rule that
    /// recognised the bytes and rejected them (a GitHub token with a bad checksum is a fixture,
    /// not a password). Vetoed matches are dropped here.
    pub(super) fn drop_shadowed(&self, mut matches: Vec<RawMatch>) -> Vec<RawMatch> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
