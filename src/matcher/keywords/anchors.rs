//! The engine for up to a few hundred keywords: short anchors that every keyword contains,
//! searched with SIMD (Teddy) in a few groups over lower-cased blocks, each hit checked against
//! the keywords its anchor stands for.

use aho_corasick::packed;

use super::Hit;

/// Anchors per Teddy searcher: beyond this its false candidates cost more than a second pass.
const GROUP_SIZE: usize = 16;

/// Longest anchor taken from a keyword. Teddy looks at most at this many leading bytes.
const ANCHOR_LEN: usize = 4;

/// Bytes lower-cased and searched at a time; small enough to stay in cache.
pub(super) const BLOCK: usize = 64 * 1024;

pub(super) struct Anchored {
    /// For each anchor, the keywords containing it and where: (keyword, offset of the anchor).
    stands_for: Vec<Vec<(usize, usize)>>,
    /// Teddy searchers and the anchor number of each one's first pattern.
    pub(super) groups: Vec<(packed::Searcher, usize)>,
    longest_anchor: usize,
}

impl Anchored {
    pub(super) fn new(keywords: &[Vec<u8>]) -> Option<Anchored> {
        let anchors = choose_anchors(keywords);
        let mut stands_for = vec![Vec::new(); anchors.len()];
        for (k, keyword) in keywords.iter().enumerate() {
            // Every keyword holds at least one anchor (its own substring chose it); the first
            // one found is enough, since each anchor occurrence is checked against its keywords.
            let (a, offset) = anchors
                .iter()
                .enumerate()
                .find_map(|(a, anchor)| {
                    memchr::memmem::find(keyword, anchor).map(|offset| (a, offset))
                })
                .expect("every keyword contains an anchor");
            stands_for[a].push((k, offset));
        }
        // Anchors of one length share a searcher: Teddy compares as many leading bytes as the
        // shortest pattern has, so a short anchor among long ones would blunt them all.
        let mut order: Vec<usize> = (0..anchors.len()).collect();
        order.sort_by_key(|&a| (anchors[a].len().min(ANCHOR_LEN), a));
        let mut groups = Vec::new();
        let mut renumbered_stands_for = Vec::with_capacity(anchors.len());
        let mut renumbered = Vec::with_capacity(anchors.len());
        for &a in &order {
            renumbered.push(anchors[a].clone());
            renumbered_stands_for.push(std::mem::take(&mut stands_for[a]));
        }
        let mut start = 0;
        while start < renumbered.len() {
            let len = renumbered[start].len();
            let mut end = start;
            while end < renumbered.len() && end - start < GROUP_SIZE && renumbered[end].len() == len
            {
                end += 1;
            }
            let mut config = packed::Config::new();
            config
                .match_kind(packed::MatchKind::LeftmostFirst)
                .only_teddy(true)
                .heuristic_pattern_limits(false);
            let mut builder = config.builder();
            builder.extend(&renumbered[start..end]);
            groups.push((builder.build()?, start));
            start = end;
        }
        let longest_anchor = renumbered.iter().map(Vec::len).max().unwrap_or(1);
        Some(Anchored {
            stands_for: renumbered_stands_for,
            groups,
            longest_anchor,
        })
    }

    pub(super) fn find_all(
        &self,
        keywords: &[Vec<u8>],
        data: &[u8],
        lowered: &mut Vec<u8>,
        hits: &mut Vec<Hit>,
    ) {
        let mut block_start = 0;
        while block_start < data.len() {
            let block_end = data.len().min(block_start + BLOCK);
            // Anchors starting in this block may run into the next one.
            let read_end = data.len().min(block_end + self.longest_anchor - 1);
            lowered.clear();
            lowered.extend(
                data[block_start..read_end]
                    .iter()
                    .map(u8::to_ascii_lowercase),
            );
            let first_hit = hits.len();
            for (searcher, base) in &self.groups {
                let mut at = 0;
                while at < block_end - block_start {
                    let Some(m) = searcher.find_in(
                        lowered.as_slice(),
                        aho_corasick::Span::from(at..lowered.len()),
                    ) else {
                        break;
                    };
                    if m.start() >= block_end - block_start {
                        break;
                    }
                    // Anchors of a group are not prefixes of each other (see `choose_anchors`),
                    // so restarting one byte on finds every occurrence, overlapping ones too.
                    at = m.start() + 1;
                    let anchor_at = block_start + m.start();
                    for &(k, offset) in &self.stands_for[base + m.pattern().as_usize()] {
                        let keyword = &keywords[k];
                        let Some(start) = anchor_at.checked_sub(offset) else {
                            continue;
                        };
                        let end = start + keyword.len();
                        if end <= data.len() && data[start..end].eq_ignore_ascii_case(keyword) {
                            hits.push(Hit {
                                start,
                                end,
                                keyword: k,
                            });
                        }
                    }
                }
            }
            hits[first_hit..].sort_unstable();
            block_start = block_end;
        }
        // A keyword found from an anchor in one block can start in the previous one.
        if !hits.is_sorted() {
            hits.sort_unstable();
        }
    }
}

/// Picks few, rare anchors so that every keyword contains one. Greedy set cover over the
/// keywords' substrings of up to [`ANCHOR_LEN`] bytes (a keyword that short is its own
/// anchor), weighing how many keywords an anchor covers against what it costs (see
/// [`anchor_cost`]).
/// No anchor is a substring of another, which [`Anchored::find_all`] relies on.
pub(super) fn choose_anchors(keywords: &[Vec<u8>]) -> Vec<Vec<u8>> {
    // Each candidate with the keywords it covers: a candidate is a substring of a keyword
    // exactly when it is one of that keyword's windows.
    let mut covers: std::collections::HashMap<&[u8], Vec<usize>> = Default::default();
    for (k, keyword) in keywords.iter().enumerate() {
        let longest = keyword.len().min(ANCHOR_LEN);
        for n in longest.min(3)..=longest {
            for window in keyword.windows(n) {
                let covered = covers.entry(window).or_default();
                if covered.last() != Some(&k) {
                    covered.push(k);
                }
            }
        }
    }
    let mut candidates: Vec<(&[u8], Vec<usize>, f64)> = covers
        .into_iter()
        .map(|(anchor, covered)| (anchor, covered, anchor_cost(anchor)))
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(b.0));
    let mut uncovered = vec![true; keywords.len()];
    let mut left = keywords.len();
    let mut anchors: Vec<Vec<u8>> = Vec::new();
    while left > 0 {
        let score = |(_, covered, cost): &(&[u8], Vec<usize>, f64)| {
            covered.iter().filter(|&&k| uncovered[k]).count() as f64 / cost
        };
        let (best, covered, _) = candidates
            .iter()
            .max_by(|a, b| score(a).total_cmp(&score(b)).then_with(|| b.0.cmp(a.0)))
            .expect("an uncovered keyword has substrings");
        for &k in covered {
            if uncovered[k] {
                uncovered[k] = false;
                left -= 1;
            }
        }
        anchors.push(best.to_vec());
    }
    // Drop anchors that contain another: the shorter one finds all their keywords.
    let all = anchors.clone();
    anchors.retain(|a| {
        !all.iter()
            .any(|b| b.len() < a.len() && memchr::memmem::find(a, b).is_some())
    });
    anchors
}

/// What an anchor costs, in units of its share of a Teddy pass: one more pattern in a searcher,
/// plus checking each of its hits (about 1 in 10 000 bytes costs as much as the pattern).
fn anchor_cost(anchor: &[u8]) -> f64 {
    1.0 + likelihood(anchor) / 1e-4
}

/// A rough chance of seeing `bytes` at a given place in source code or prose: letters by their
/// English frequency, then digits and punctuation. Only the order matters.
fn likelihood(bytes: &[u8]) -> f64 {
    const LETTERS: &[u8] = b"etaoinshrdlcumwfgypbvkjxqz";
    bytes
        .iter()
        .map(|&b| match b {
            b'a'..=b'z' => {
                let rank = LETTERS.iter().position(|&l| l == b).unwrap_or(25);
                0.12 - 0.115 * rank as f64 / 25.0
            }
            b'0'..=b'9' => 0.02,
            b' ' => 0.15,
            b'_' | b'.' | b'(' | b')' | b',' | b';' => 0.02,
            b'-' | b'/' | b'=' | b'"' | b':' | b'\'' => 0.01,
            _ => 0.003,
        })
        .product()
}
