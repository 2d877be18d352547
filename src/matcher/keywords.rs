//! The keyword pass: every occurrence of every rule keyword, ignoring ASCII case.
//!
//! This pass reads every byte that is scanned, so its speed is the scanner's speed. A
//! case-insensitive Aho-Corasick DFA over a hundred keywords reads about half a gigabyte a second
//! on one core; the SIMD "Teddy" searcher of the aho-corasick crate reads several gigabytes a
//! second, but only for a handful of patterns. So up to a few hundred keywords are covered by a
//! small set of short *anchors* (every keyword contains one: `key` stands for `_key`, `apikey`
//! and `privatekey`), the anchors are searched with Teddy in groups small enough for it to stay
//! fast, over a lower-cased copy of the input made a block at a time, and each anchor hit is
//! checked against the few keywords it stands for. A larger set (the built-in catalogue has
//! about 1400) is searched by one DFA, walked over four parts of the text at once (see
//! [`lockstep_find_all`]).

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::packed;
use aho_corasick::{dfa, Anchored as AnchoredSearch};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::cell::RefCell;

/// Anchors per Teddy searcher: beyond this its false candidates cost more than a second pass.
const GROUP_SIZE: usize = 16;

/// Teddy passes worth making: each reads every byte, and past this many one automaton pass
/// (about half a gigabyte a second whatever the number of keywords) is cheaper.
const MAX_GROUPS: usize = 6;

/// Beyond this many keywords the automaton is used without trying anchors.
const MAX_ANCHORED_KEYWORDS: usize = 400;

/// Longest anchor taken from a keyword. Teddy looks at most at this many leading bytes.
const ANCHOR_LEN: usize = 4;

/// Bytes lower-cased and searched at a time; small enough to stay in cache.
const BLOCK: usize = 64 * 1024;

/// One keyword occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    /// Index into the keyword list given to [`KeywordSearch::new`] (after lower-casing and
    /// removing duplicates: see [`KeywordSearch::keywords`]).
    pub keyword: usize,
}

/// Finds keywords, case-insensitively, all occurrences (overlapping ones too).
pub struct KeywordSearch {
    keywords: Vec<Vec<u8>>,
    engine: Engine,
}

enum Engine {
    Anchored(Anchored),
    /// One DFA, all occurrences: the reference the tests compare the other engines with.
    #[cfg(test)]
    Automaton(AhoCorasick),
    /// Many keywords: see [`Automata`].
    Staged(Automata),
    Empty,
}

struct Anchored {
    /// For each anchor, the keywords containing it and where: (keyword, offset of the anchor).
    stands_for: Vec<Vec<(usize, usize)>>,
    /// Teddy searchers and the anchor number of each one's first pattern.
    groups: Vec<(packed::Searcher, usize)>,
    longest_anchor: usize,
}

thread_local! {
    static LOWERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl KeywordSearch {
    /// Keywords are ASCII; case is ignored and duplicates are merged.
    pub fn new(keywords: &[String]) -> KeywordSearch {
        let mut lowered: Vec<Vec<u8>> = keywords
            .iter()
            .map(|k| k.to_ascii_lowercase().into_bytes())
            .filter(|k| !k.is_empty())
            .collect();
        lowered.sort();
        lowered.dedup();
        let engine = if lowered.is_empty() {
            Engine::Empty
        } else {
            // Choosing anchors for many keywords costs more than it can save: so many keywords
            // need more anchors than MAX_GROUPS searchers hold.
            let anchored = (lowered.len() <= MAX_ANCHORED_KEYWORDS)
                .then(|| Anchored::new(&lowered))
                .flatten();
            match anchored {
                Some(anchored) if anchored.groups.len() <= MAX_GROUPS => Engine::Anchored(anchored),
                // Too many keywords for a few SIMD passes, or no Teddy on this CPU.
                _ => Engine::Staged(Automata::new(&lowered)),
            }
        };
        KeywordSearch {
            keywords: lowered,
            engine,
        }
    }

    /// The keywords as searched: lower case, sorted, without duplicates.
    pub fn keywords(&self) -> &[Vec<u8>] {
        &self.keywords
    }

    /// Every keyword occurrence in `data`, sorted by start.
    pub fn find_all(&self, data: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        match &self.engine {
            Engine::Empty => {}
            #[cfg(test)]
            Engine::Automaton(ac) => {
                LOWERED.with(|buffer| {
                    let mut lowered = buffer.borrow_mut();
                    automaton_find_all(ac, data, &mut lowered, &mut hits);
                });
            }
            Engine::Staged(automata) => {
                LOWERED.with(|buffer| {
                    let mut lowered = buffer.borrow_mut();
                    automata.find_all(&self.keywords, data, &mut lowered, &mut hits);
                });
            }
            Engine::Anchored(anchored) => {
                LOWERED.with(|buffer| {
                    let mut buffer = buffer.borrow_mut();
                    anchored.find_all(&self.keywords, data, &mut buffer, &mut hits);
                });
            }
        }
        hits
    }
}

/// The automaton runs over a lower-cased copy of each block: with case folded beforehand it
/// needs no upper-case transitions, so its table is smaller and stays in cache.
fn automaton_find_all(ac: &AhoCorasick, data: &[u8], lowered: &mut Vec<u8>, hits: &mut Vec<Hit>) {
    lowered.clear();
    lowered.extend(data.iter().map(u8::to_ascii_lowercase));
    for m in ac.find_overlapping_iter(lowered.as_slice()) {
        hits.push(Hit {
            start: m.start(),
            end: m.end(),
            keyword: m.pattern().as_usize(),
        });
    }
    hits.sort_unstable();
}

/// For a large keyword set, the DFA reads fastest but takes longer to build (about 10 ms for the
/// built-in catalogue) than a hook spends scanning one edit. So a compact NFA, built at once,
/// answers until enough text has been searched to pay for the DFA, which is then built on a
/// thread of its own; both find the same hits.
struct Automata {
    nfa: AhoCorasick,
    dfa: std::sync::Arc<std::sync::OnceLock<dfa::DFA>>,
    keywords: Vec<Vec<u8>>,
    /// Bytes the NFA has searched so far.
    searched: std::sync::atomic::AtomicUsize,
    building: std::sync::Once,
}

/// Bytes the NFA searches before the DFA is built: a staged commit of a few files never needs
/// it, a directory tree soon does.
const DFA_AFTER: usize = 1 << 20;

/// Text this long is not left to the NFA: its search waits for the DFA.
const DFA_WAIT: usize = 4 << 20;

impl Automata {
    fn new(keywords: &[Vec<u8>]) -> Automata {
        let nfa = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .byte_classes(true)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(keywords)
            .expect("keywords are plain literals");
        Automata {
            nfa,
            dfa: std::sync::Arc::new(std::sync::OnceLock::new()),
            keywords: keywords.to_vec(),
            searched: std::sync::atomic::AtomicUsize::new(0),
            building: std::sync::Once::new(),
        }
    }

    /// The DFA once it is built, starting its build when enough text has been searched.
    fn dfa_for(&self, data: &[u8]) -> Option<&dfa::DFA> {
        if let Some(dfa) = self.dfa.get() {
            return Some(dfa);
        }
        let searched = self
            .searched
            .fetch_add(data.len(), std::sync::atomic::Ordering::Relaxed)
            + data.len();
        if searched >= DFA_AFTER {
            self.building.call_once(|| {
                let slot = self.dfa.clone();
                let keywords = self.keywords.clone();
                let spawned = std::thread::Builder::new()
                    .name("keyword-dfa".into())
                    .spawn(move || {
                        slot.get_or_init(|| lockstep_dfa(&keywords));
                    });
                if spawned.is_err() {
                    // No thread to spare: build it here.
                    self.dfa.get_or_init(|| lockstep_dfa(&self.keywords));
                }
            });
            if data.len() >= DFA_WAIT {
                // Waits for the build under way, or builds it here if it has not begun.
                return Some(self.dfa.get_or_init(|| lockstep_dfa(&self.keywords)));
            }
        }
        self.dfa.get()
    }

    fn find_all(
        &self,
        keywords: &[Vec<u8>],
        data: &[u8],
        lowered: &mut Vec<u8>,
        hits: &mut Vec<Hit>,
    ) {
        match self.dfa_for(data) {
            Some(dfa) => {
                lowered.clear();
                lowered.extend(data.iter().map(u8::to_ascii_lowercase));
                let longest = keywords.iter().map(Vec::len).max().unwrap_or(1);
                lockstep_find_all(dfa, longest, lowered, hits);
                hits.sort_unstable();
            }
            None => automaton_find_all(&self.nfa, data, lowered, hits),
        }
    }
}

/// The DFA for [`lockstep_find_all`]: unanchored only and without a prefilter, so that only
/// match states are special.
fn lockstep_dfa(keywords: &[Vec<u8>]) -> dfa::DFA {
    dfa::DFA::builder()
        .match_kind(MatchKind::Standard)
        .byte_classes(true)
        .prefilter(false)
        .start_kind(aho_corasick::StartKind::Unanchored)
        .build(keywords)
        .expect("keywords are plain literals")
}

/// Text shorter than this is walked as one stream: splitting it saves less than the overlap
/// each extra stream reads again.
const LOCKSTEP_MIN: usize = 1024;

/// Every keyword occurrence in lower-cased `text`, in no particular order.
///
/// A DFA walk is a chain of dependent table loads, one per byte, so one walk leaves the core
/// mostly waiting on memory. Four walks over four quarters of the text, advanced together,
/// are independent chains the core overlaps, which reads the text about three times as fast.
/// Each quarter's walk starts `longest - 1` bytes early, unreported: an Aho-Corasick state
/// depends only on the last `longest` bytes, so by the quarter's first byte the walk is in the
/// state a walk from the start would be in, and each match is reported by exactly one walk.
fn lockstep_find_all(dfa: &dfa::DFA, longest: usize, text: &[u8], hits: &mut Vec<Hit>) {
    const STREAMS: usize = 4;
    let start = dfa
        .start_state(AnchoredSearch::No)
        .expect("the DFA is built for unanchored search");
    if text.len() < LOCKSTEP_MIN {
        walk(dfa, start, text, 0, 0, hits);
        return;
    }
    let quarter = text.len().div_ceil(STREAMS);
    // Stream k reports matches ending in its quarter (the positions `lo..hi` of their last
    // byte) and reads from `from`.
    let bounds: [(usize, usize, usize); STREAMS] = std::array::from_fn(|k| {
        let lo = (k * quarter).min(text.len());
        let hi = ((k + 1) * quarter).min(text.len());
        (lo.saturating_sub(longest - 1), lo, hi)
    });
    let steps = bounds
        .iter()
        .map(|&(from, _, hi)| hi - from)
        .min()
        .unwrap_or(0);
    let mut states = [start; STREAMS];
    let lanes: [&[u8]; STREAMS] = std::array::from_fn(|k| &text[bounds[k].0..bounds[k].0 + steps]);
    // One index runs through the four lanes at once.
    #[allow(clippy::needless_range_loop)]
    for i in 0..steps {
        for k in 0..STREAMS {
            states[k] = dfa.next_state(AnchoredSearch::No, states[k], lanes[k][i]);
        }
        if states.iter().any(|&s| dfa.is_special(s)) {
            for k in 0..STREAMS {
                let at = bounds[k].0 + i;
                if dfa.is_special(states[k]) && at >= bounds[k].1 {
                    report(dfa, states[k], at, hits);
                }
            }
        }
    }
    // The streams' lengths differ by the overlap: each finishes alone.
    for (k, &(from, lo, hi)) in bounds.iter().enumerate() {
        let resume = from + steps;
        walk_from(dfa, states[k], text, resume, hi, lo, hits);
    }
}

/// One stream over `text[from..]`, reporting matches whose last byte is at or after `report_from`.
fn walk(
    dfa: &dfa::DFA,
    state: StateID,
    text: &[u8],
    from: usize,
    report_from: usize,
    hits: &mut Vec<Hit>,
) {
    walk_from(dfa, state, text, from, text.len(), report_from, hits);
}

fn walk_from(
    dfa: &dfa::DFA,
    mut state: StateID,
    text: &[u8],
    from: usize,
    to: usize,
    report_from: usize,
    hits: &mut Vec<Hit>,
) {
    for (at, &byte) in text.iter().enumerate().take(to).skip(from) {
        state = dfa.next_state(AnchoredSearch::No, state, byte);
        if dfa.is_special(state) && at >= report_from {
            report(dfa, state, at, hits);
        }
    }
}

/// Every keyword ending at `at` (its last byte), given the state the DFA reached there.
#[inline]
fn report(dfa: &dfa::DFA, state: StateID, at: usize, hits: &mut Vec<Hit>) {
    // Without a prefilter, a special state is a match state or the dead one, which an
    // unanchored standard search never reaches.
    for i in 0..dfa.match_len(state) {
        let keyword = dfa.match_pattern(state, i);
        let end = at + 1;
        hits.push(Hit {
            start: end - dfa.pattern_len(keyword),
            end,
            keyword: keyword.as_usize(),
        });
    }
}

#[cfg(test)]
fn automaton(keywords: &[Vec<u8>]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .byte_classes(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(keywords)
        .expect("keywords are plain literals")
}

impl Anchored {
    fn new(keywords: &[Vec<u8>]) -> Option<Anchored> {
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

    fn find_all(
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
fn choose_anchors(keywords: &[Vec<u8>]) -> Vec<Vec<u8>> {
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

/// Every occurrence by brute force, for tests.
#[cfg(test)]
fn naive(keywords: &[Vec<u8>], data: &[u8]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for start in 0..data.len() {
        for (k, keyword) in keywords.iter().enumerate() {
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
    hits.sort_unstable();
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(keywords: &[&str]) -> KeywordSearch {
        KeywordSearch::new(&keywords.iter().map(|k| k.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn finds_every_occurrence_ignoring_case_including_overlaps() {
        let s = search(&["pwd", "pwd=", "_KEY", "apikey", "key", "fc", "sk"]);
        let data = b"PWD=1 my_key ApiKey monkey fc sk keyfc";
        assert_eq!(s.find_all(data), naive(s.keywords(), data));
        assert!(s.find_all(data).len() >= 9);
    }

    #[test]
    fn matches_brute_force_across_blocks_on_many_keywords() {
        let keywords: Vec<String> = [
            "password",
            "pass",
            "pwd",
            "secret",
            "token",
            "_key",
            "-key",
            ".key",
            "apikey",
            "privatekey",
            "private key",
            "ghp_",
            "gho_",
            "github_pat_",
            "glpat-",
            "xoxb-",
            "AKIA",
            "AIza",
            "eyJ",
            "SG.",
            "sk-",
            "sk-ant-",
            "://",
            "10.",
            "172.",
            "192.168.",
            "fc",
            "fd",
            "SK",
            "jdbc:",
            "bearer",
            "basic",
            "\"auth\"",
            "hf_",
            "npm_",
            "pypi-AgE",
            "dapi",
        ]
        .iter()
        .map(|k| k.to_string())
        .collect();
        let s = KeywordSearch::new(&keywords);
        if cfg!(target_arch = "x86_64") {
            assert!(
                matches!(s.engine, Engine::Anchored(_)),
                "Teddy is used on x86-64"
            );
        }
        // Pseudo-random text built from the keywords' own letters, so hits are dense, with
        // keywords straddling the block boundaries.
        let alphabet = b"passwordTOKENsecretkeyAPI_-.:/10721968fcdskghpjabeyJxoSGnmu \n\"";
        let mut data = Vec::new();
        let mut x: u32 = 12345;
        while data.len() < 3 * BLOCK + 1000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let r = (x >> 16) as usize;
            if r % 23 == 0 {
                data.extend_from_slice(keywords[r % keywords.len()].as_bytes());
            } else {
                data.push(alphabet[r % alphabet.len()]);
            }
        }
        for (i, keyword) in [b"password".as_slice(), b"github_pat_", b"192.168."]
            .iter()
            .enumerate()
        {
            let at = (i + 1) * BLOCK - 3;
            data[at..at + keyword.len()].copy_from_slice(keyword);
        }
        assert_eq!(s.find_all(&data), naive(s.keywords(), &data));
        // The automaton used where Teddy is not available finds the same.
        let fallback = KeywordSearch {
            engine: Engine::Automaton(automaton(s.keywords())),
            keywords: s.keywords().to_vec(),
        };
        assert_eq!(fallback.find_all(&data), naive(s.keywords(), &data));
    }

    /// Keywords of one to `longest` bytes over a small alphabet, so they overlap and share
    /// prefixes, and text from the same alphabet with keywords planted across block edges and
    /// at the very end.
    fn random_case(seed: u64, count: usize, longest: usize) -> (Vec<String>, Vec<u8>) {
        let alphabet = b"abcAB_-.:/0 \n";
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as usize % n
        };
        let keywords: Vec<String> = (0..count)
            .map(|_| {
                let len = 1 + next(longest);
                (0..len)
                    .map(|_| alphabet[next(alphabet.len())] as char)
                    .collect()
            })
            .collect();
        let mut data: Vec<u8> = (0..2 * BLOCK + 300)
            .map(|_| alphabet[next(alphabet.len())])
            .collect();
        for edge in [BLOCK, 2 * BLOCK] {
            for back in [1, 2, 3, 5, 8] {
                let keyword = keywords[next(keywords.len())].as_bytes();
                let at = edge - back.min(keyword.len());
                data[at..at + keyword.len()].copy_from_slice(keyword);
            }
        }
        let end = data.len();
        let last = keywords[next(keywords.len())].as_bytes();
        data[end - last.len()..].copy_from_slice(last);
        (keywords, data)
    }

    #[test]
    fn random_keyword_sets_match_brute_force() {
        for seed in 0..24u64 {
            // Sets small enough for anchors and too large for them; one-byte keywords in a
            // third of them, long ones in some.
            let longest = [3, 4, 6, 12, 40][seed as usize % 5];
            let count = [2, 10, 40, 150, 500][seed as usize % 5];
            let (mut keywords, data) = random_case(seed, count, longest);
            if seed % 3 != 0 {
                keywords.retain(|k| k.len() > 1);
                keywords.push("ab".into());
            }
            let chosen = KeywordSearch::new(&keywords);
            let lowered = chosen.keywords().to_vec();
            let automaton = KeywordSearch {
                engine: Engine::Automaton(automaton(&lowered)),
                keywords: lowered.clone(),
            };
            let expected = naive(&lowered, &data);
            assert_eq!(chosen.find_all(&data), expected, "seed {seed}");
            assert_eq!(automaton.find_all(&data), expected, "seed {seed}");
            // Short inputs, ending inside a keyword.
            for len in [0, 1, 2, 3, 5, 63, 64, 65, 130] {
                let data = &data[BLOCK - 7..BLOCK - 7 + len];
                assert_eq!(chosen.find_all(data), naive(&lowered, data), "seed {seed}");
            }
        }
    }

    /// A large set starts with the NFA, builds the DFA once enough text was searched, and both
    /// find the same hits.
    #[test]
    fn large_sets_switch_to_the_dfa_after_a_megabyte() {
        let (keywords, data) = random_case(7, 600, 12);
        let search = KeywordSearch::new(&keywords);
        let Engine::Staged(automata) = &search.engine else {
            panic!("600 keywords are searched by automata");
        };
        let expected = naive(search.keywords(), &data);
        assert!(automata.dfa.get().is_none(), "no DFA before any search");
        for _ in 0..DFA_AFTER.div_ceil(data.len()) {
            assert_eq!(search.find_all(&data), expected);
        }
        automata
            .dfa
            .get_or_init(|| lockstep_dfa(&automata.keywords));
        assert_eq!(search.find_all(&data), expected);
    }

    /// The four-stream walk finds what brute force finds, on texts long enough to be split
    /// (quarter edges then fall inside keywords of the small alphabet) and too short to be.
    #[test]
    fn lockstep_walk_matches_brute_force() {
        for seed in 0..12u64 {
            let longest = [2, 5, 12, 40][seed as usize % 4];
            let count = [3, 30, 300][seed as usize % 3];
            let (keywords, data) = random_case(seed + 100, count, longest);
            let search = KeywordSearch::new(&keywords);
            let lowered = search.keywords().to_vec();
            let dfa = lockstep_dfa(&lowered);
            let text: Vec<u8> = data.iter().map(u8::to_ascii_lowercase).collect();
            let widest = lowered.iter().map(Vec::len).max().unwrap();
            for len in [
                0,
                1,
                7,
                LOCKSTEP_MIN - 1,
                LOCKSTEP_MIN,
                LOCKSTEP_MIN + 3,
                5001,
                text.len(),
            ] {
                let text = &text[..len];
                let mut hits = Vec::new();
                lockstep_find_all(&dfa, widest, text, &mut hits);
                hits.sort_unstable();
                assert_eq!(hits, naive(&lowered, text), "seed {seed}, length {len}");
            }
        }
    }

    #[test]
    fn anchors_cover_every_keyword_and_none_contains_another() {
        let keywords: Vec<Vec<u8>> = [
            "password",
            "pass",
            "accountkey",
            "apikey",
            "_key",
            "xoxb-",
            "xoxp-",
        ]
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .collect();
        let anchors = choose_anchors(&keywords);
        for k in &keywords {
            assert!(
                anchors.iter().any(|a| memchr::memmem::find(k, a).is_some()),
                "{k:?}"
            );
        }
        for a in &anchors {
            for b in &anchors {
                assert!(
                    a == b || memchr::memmem::find(a, b).is_none(),
                    "{a:?} contains {b:?}"
                );
            }
        }
        assert!(anchors.len() < keywords.len(), "{anchors:?}");
    }
}
